//! Row types, one per table. Opaque bytes stay opaque here.

use uuid::Uuid;

/// A person's clear metadata and blind indexes.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PersonRow {
    /// Person id.
    pub id: Uuid,
    /// Live or erased; a name lanyard does not know fails to decode.
    #[sqlx(try_from = "String")]
    pub status: lanyard_core::PersonStatus,
    /// Whether the identity compartment is shielded.
    pub protected: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// Incremented on every write.
    pub row_version: i64,
    /// Blind index of the service number.
    pub sn_index: Option<Vec<u8>>,
    /// Blind index of the surname.
    pub surname_index: Option<Vec<u8>>,
    /// Blind index of the email.
    pub email_index: Option<Vec<u8>>,
}

/// One sealed compartment of one person.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SealedRow {
    /// Person id.
    pub person_id: Uuid,
    /// Compartment name.
    pub compartment: String,
    /// Version of the compartment key wrapping the person key.
    pub ck_version: i64,
    /// Version of the person key.
    pub key_version: i64,
    /// The wrapped person key.
    pub wrapped_key: Vec<u8>,
    /// The field ciphertexts, encoded by the register.
    pub fields: Vec<u8>,
}

/// A key wrapped by the key provider.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct WrappedKeyRow {
    /// `compartment`, `blind-index`, …
    pub purpose: String,
    /// Which key of that purpose.
    pub name: String,
    /// Version.
    pub version: i64,
    /// The wrapped bytes.
    pub wrapped: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
    /// Row tag (see [`crate::Authenticated`]).
    pub mac: Option<Vec<u8>>,
}

impl crate::Authenticated for WrappedKeyRow {
    const TABLE: &'static str = "wrapped_keys";
    fn row_id(&self) -> String {
        format!("{}/{}/v{}", self.purpose, self.name, self.version)
    }
    fn canonical(&self) -> Vec<u8> {
        crate::Canon::new()
            .str(&self.purpose)
            .str(&self.name)
            .int(self.version)
            .bytes(&self.wrapped)
            .int(self.created_at)
            .finish()
    }
    crate::authenticated::tag_in_mac_field!();
}

/// One audit event as stored: its bytes and their RFC 9162 leaf hash.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    /// Position in the log, from 0.
    pub idx: i64,
    /// Canonical event bytes.
    pub event: Vec<u8>,
    /// SHA-256(0x00 ‖ event).
    pub leaf_hash: Vec<u8>,
}
