//! Backups of a lanyard store: one consistent snapshot of every table, in
//! a backend-neutral form (a SQLite backup restores into PostgreSQL and
//! back), sealed with age to one or more recipients, with a manifest
//! signed by the log's key.
//!
//! - [`format`]: the lines inside the age file, and the manifest.
//! - [`create`]: snapshot, stream, seal, sign; memory holds one row.
//! - [`verify`] (a restore too): decrypt, load into a store, check every
//!   hash, the signature (with the log key the backup's own key rows give
//!   under this force's root key, so a backup of another log, or one made
//!   by whoever knows a recipient, is refused), the tree's root, and
//!   `audit verify` there.
//!
//! Personal data stays sealed inside, exactly as in the store; root keys
//! are not in it (the manifest names the key provider the rows need).

mod check;
pub mod format;
mod make;

pub use check::{Checked, verify};
pub use format::{BackupError, Manifest, TableSum};
pub use make::create;
