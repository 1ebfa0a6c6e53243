//! Fuzz the register CSV parser: any bytes must give rows or errors, never a panic.
#![no_main]

use lanyard_core::RankTable;
use lanyard_register::import::{parse, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ranks = RankTable::default_ranks();
    let _ = parse(data, &ranks, Options { photos_dir: None, ignore_unknown: data.first() == Some(&b'i') });
});
