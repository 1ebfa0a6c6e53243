//! Persistence for lanyard behind one interface, with two real backends:
//! SQLite (WAL, the embedded default) and PostgreSQL (several servers, one
//! store). Both get versioned migrations from `migrations/<backend>/`.
//!
//! This crate knows rows, not people: it stores ids, clear metadata, opaque
//! ciphertexts and blind indexes, and never sees a key or a plaintext value.
//! Every write that must be atomic goes through a [`Tx`].
//!
//! SQL is written once, with `$n` placeholders that both backends accept; the
//! `on_pool!` and `on_tx!` macros expand each body once per backend.

/// Expands `$body` once per backend with `$pool` bound to that backend's pool.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}

/// Expands `$body` once per backend with `$conn` bound to the transaction's
/// connection.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match &mut $tx.inner {
            $crate::tx::TxInner::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::tx::TxInner::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

mod access;
mod authenticated;
mod canary;
mod cards;
mod cosignatures;
mod dump;
mod error;
mod notes;
mod permits;
mod redactions;
mod rows;
mod scan;
mod store;
mod supply;
mod tx;

pub use access::{SessionRow, TokenRow, UserRow};
pub use authenticated::{Authenticated, Canon, RowStamp, session_stamp_id};
pub use canary::CanaryRow;
pub use cards::{CardFilter, CardRow};
pub use dump::{Snapshot, TABLES, Value};
pub use error::{StoreError, StoreErrorKind};
pub use notes::NoteKeyRow;
pub use permits::{PermitRow, ZoneRow};
pub use redactions::RedactionRow;
pub use rows::{AuditRow, PersonRow, SealedRow, WrappedKeyRow};
pub use scan::{AuditPages, PeoplePages, PersonWithSealed};
pub use store::{Backend, IndexColumn, Store};
pub use supply::{BatchCardRow, BatchRow, SupplierRow};
pub use tx::{AuditEntry, Tx};
