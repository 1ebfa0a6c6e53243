//! The force's batch-signing key: an Ed25519 key from the key provider (in
//! the HSM under PKCS#11, else a seed wrapped by the root key), made on
//! first use and recorded by `key.create`. Every batch's manifest is signed
//! with it (`lanyard_package::signature`), and the supplier pins its
//! verifier key string at enrolment (`lanyard batch signing-key`, then
//! `lanyard-agent trust --key`).

use std::sync::Arc;

use lanyard_crypto::SigningKey;
use lanyard_register::Operator;

use crate::error::SupplyError;
use crate::package::{Signer, Verifier};
use crate::service::Supply;

/// The key's name in the store and the HSM.
const BATCH_KEY: &str = "batch-signing";

/// The batch key as the package signs with it: named after the force's log
/// (`lanyard.example/print-batches` beside `lanyard.example/force-audit`),
/// so a supplier sees whose key it pins.
pub(crate) struct BatchSigner {
    name: String,
    key: Arc<dyn SigningKey>,
}

impl Signer for BatchSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn public_key(&self) -> [u8; 32] {
        self.key.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], String> {
        self.key.sign(message).map_err(|e| e.to_string())
    }
}

impl BatchSigner {
    /// The verifier key string a supplier pins.
    pub(crate) fn verifier(&self) -> Result<Verifier, SupplyError> {
        Verifier::new(&self.name, &self.key.public_key())
            .map_err(|e| SupplyError::Invalid(format!("the batch key's name: {e}")))
    }
}

/// `force.example/force-audit` → `force.example/print-batches`.
fn key_name(origin: &str) -> String {
    let host = origin.split('/').next().filter(|h| !h.is_empty()).unwrap_or("lanyard.local");
    format!("{host}/print-batches")
}

impl Supply {
    /// The batch-signing key, made (and recorded) on first use.
    pub(crate) async fn batch_signer(&self, op: &Operator, now_ms: i64) -> Result<BatchSigner, SupplyError> {
        let register = self.register();
        let key = match register.signing_key(BATCH_KEY, 1, now_ms).await? {
            Some(key) => key,
            None => register.create_signing_key(op, now_ms, BATCH_KEY, 1).await?,
        };
        Ok(BatchSigner { name: key_name(&register.audit_origin().await?), key })
    }

    /// The verifier key string of the batch-signing key, for the supplier
    /// to pin (`lanyard-agent trust --key`). Makes the key on first use.
    pub async fn batch_key(&self, op: &Operator, now_ms: i64) -> Result<Verifier, SupplyError> {
        self.batch_signer(op, now_ms).await?.verifier()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_named_after_the_force() {
        assert_eq!(key_name("met.example/force-audit"), "met.example/print-batches");
        assert_eq!(key_name("lanyard.local"), "lanyard.local/print-batches");
        assert_eq!(key_name(""), "lanyard.local/print-batches");
    }
}
