//! Fuzz the stored field-map decoder, which reads bytes an attacker with
//! database access controls.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(fields) = lanyard_register::decode_fields(data) {
        let again = lanyard_register::encode_fields(&fields);
        assert_eq!(lanyard_register::decode_fields(&again).ok(), Some(fields));
    }
});
