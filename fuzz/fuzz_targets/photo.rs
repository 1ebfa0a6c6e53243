//! Fuzz photo intake: decoding untrusted images within the size limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lanyard_register::normalise_photo(data);
});
