//! Row authentication: an HMAC-SHA256 tag over a stored row, so a row that
//! decides who may do what (a user's role, a token's expiry, a supplier's
//! recipient, a card's state) cannot be changed, inserted or copied by
//! someone who can write to the database but holds no key.
//!
//! Each table gets its own HKDF subkey of the row-integrity key, so a tag
//! made for one table never verifies for another. The caller passes the
//! row's canonical bytes (every column that matters, the primary key among
//! them, length-prefixed), so a tag moved to another row fails too.

use std::collections::HashMap;
use std::sync::Mutex;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{CryptoError, CryptoErrorKind};
use crate::secret::Key32;

type HmacSha256 = Hmac<Sha256>;

/// The length of a row tag.
pub const ROW_TAG_LEN: usize = 32;

/// Tags and checks rows under one row-integrity key.
pub struct RowAuth {
    key: Key32,
    // Per-table keyed HMAC states, derived on first use: a handful of
    // tables, each derived once per process.
    tables: Mutex<HashMap<String, HmacSha256>>,
}

impl std::fmt::Debug for RowAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowAuth([redacted])")
    }
}

impl RowAuth {
    /// Row authentication under `key` (the row-integrity key, unwrapped by
    /// the key provider).
    pub fn new(key: Key32) -> Self {
        RowAuth { key, tables: Mutex::new(HashMap::new()) }
    }

    fn keyed(&self, table: &str) -> Result<HmacSha256, CryptoError> {
        let malformed = || CryptoError::new(CryptoErrorKind::Malformed("row-integrity subkey"));
        let mut tables = self.tables.lock().map_err(|_| malformed())?;
        if let Some(mac) = tables.get(table) {
            return Ok(mac.clone());
        }
        let hk = Hkdf::<Sha256>::new(Some(b"lanyard/row-integrity/v1"), self.key.expose());
        let mut okm = Zeroizing::new([0u8; 32]);
        hk.expand(table.as_bytes(), okm.as_mut()).map_err(|_| malformed())?;
        let mac = HmacSha256::new_from_slice(okm.as_ref()).map_err(|_| malformed())?;
        tables.insert(table.to_owned(), mac.clone());
        Ok(mac)
    }

    /// The tag of a row of `table` whose canonical bytes are `row`.
    pub fn tag(&self, table: &str, row: &[u8]) -> Result<[u8; ROW_TAG_LEN], CryptoError> {
        let mut mac = self.keyed(table)?;
        mac.update(row);
        Ok(mac.finalize().into_bytes().into())
    }

    /// Whether `tag` is the tag of `row` in `table` (compared in constant
    /// time). A missing or short tag is simply not valid.
    pub fn verify(&self, table: &str, row: &[u8], tag: &[u8]) -> Result<bool, CryptoError> {
        let mut mac = self.keyed(table)?;
        mac.update(row);
        Ok(mac.verify_slice(tag).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn auth() -> RowAuth {
        RowAuth::new(Key32::from_bytes([7; 32]))
    }

    #[test]
    fn a_tag_is_bound_to_its_table_and_key() {
        let a = auth();
        let t = a.tag("users", b"row").unwrap();
        assert!(a.verify("users", b"row", &t).unwrap());
        assert!(!a.verify("service_tokens", b"row", &t).unwrap());
        assert!(!RowAuth::new(Key32::from_bytes([8; 32])).verify("users", b"row", &t).unwrap());
        assert!(!a.verify("users", b"row", &t[..16]).unwrap());
        assert!(!a.verify("users", b"row", &[]).unwrap());
        assert_eq!(format!("{a:?}"), "RowAuth([redacted])");
    }

    proptest! {
        #[test]
        fn any_change_to_the_row_or_the_tag_is_refused(
            row in proptest::collection::vec(any::<u8>(), 0..64),
            flip in any::<usize>(),
            bit in 0u8..8,
        ) {
            let a = auth();
            let tag = a.tag("cards", &row).unwrap();
            prop_assert!(a.verify("cards", &row, &tag).unwrap());
            if !row.is_empty() {
                let mut changed = row.clone();
                let i = flip % changed.len();
                changed[i] ^= 1 << bit;
                prop_assert!(!a.verify("cards", &changed, &tag).unwrap());
            }
            let mut bad = tag;
            bad[flip % ROW_TAG_LEN] ^= 1 << bit;
            prop_assert!(!a.verify("cards", &row, &bad).unwrap());
        }
    }
}
