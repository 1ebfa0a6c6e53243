//! Bearer secrets (session cookies, service tokens): 256 random bits, shown
//! once, stored as SHA-256. A hash suffices (no salt, no slow KDF): the
//! secret has full entropy, so there is nothing to guess.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A new secret with its prefix (`lys_` sessions, `lyt_` tokens, so a leaked
/// one is recognisable to secret scanners), and its hash.
pub fn new_token(prefix: &str) -> (Zeroizing<String>, [u8; 32]) {
    let raw: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
    let secret = Zeroizing::new(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(raw.as_slice())));
    let hash = hash_token(&secret);
    (secret, hash)
}

/// SHA-256 of a presented secret.
pub fn hash_token(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_prefixed_and_hashed() {
        let (a, ha) = new_token("lyt_");
        let (b, hb) = new_token("lyt_");
        assert!(a.starts_with("lyt_") && a.len() == 4 + 43);
        assert_ne!(*a, *b);
        assert_ne!(ha, hb);
        assert_eq!(hash_token(&a), ha);
    }
}
