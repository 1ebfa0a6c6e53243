//! The stored form of one sealed compartment's field ciphertexts: a CBOR map
//! from field name to ciphertext bytes. Decoding treats the bytes as
//! untrusted: anything unexpected is an error, never a panic.

use ciborium::Value;
use lanyard_core::Field;

/// Encodes `(field, ciphertext)` pairs.
pub fn encode_fields(fields: &[(Field, Vec<u8>)]) -> Vec<u8> {
    let map = Value::Map(
        fields.iter().map(|(f, ct)| (Value::Text(f.as_str().to_owned()), Value::Bytes(ct.clone()))).collect(),
    );
    let mut out = Vec::with_capacity(fields.iter().map(|(_, c)| c.len() + 16).sum());
    // Writing to a Vec cannot fail.
    let _ = ciborium::into_writer(&map, &mut out);
    out
}

/// Decodes what [`encode_fields`] wrote.
pub fn decode_fields(bytes: &[u8]) -> Result<Vec<(Field, Vec<u8>)>, String> {
    let value: Value = ciborium::from_reader(bytes).map_err(|_| "field map is not CBOR".to_owned())?;
    let Value::Map(entries) = value else {
        return Err("field map is not a map".to_owned());
    };
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let (Value::Text(name), Value::Bytes(ct)) = (k, v) else {
            return Err("field map entry has the wrong types".to_owned());
        };
        let field: Field = name.parse().map_err(|_| "unknown field name in field map".to_owned())?;
        if out.iter().any(|(f, _)| *f == field) {
            return Err("field map repeats a field".to_owned());
        }
        out.push((field, ct));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn round_trip() {
        let fields = vec![(Field::Surname, vec![1, 2, 3]), (Field::Email, vec![])];
        assert_eq!(decode_fields(&encode_fields(&fields)).unwrap(), fields);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_fields(&bytes);
        }
    }
}
