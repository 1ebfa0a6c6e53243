//! A witness for transparency logs (C2SP `tlog-witness` and
//! `tlog-cosignature` v1), and the log's side of the protocol.
//!
//! A witness keeps, for each log it is configured with, the size and root
//! of the latest checkpoint it cosigned. It cosigns a new checkpoint only
//! if the log's signature verifies and a consistency proof from that size
//! holds, so it never cosigns two views of a log that disagree, nor a
//! smaller tree after a larger one. Run at another force or with the
//! data-protection officer, it is what makes a store put back from an
//! older copy, or a log with its tail cut off, visible: the log can no
//! longer show the witness a history consistent with what it cosigned.
//!
//! - [`state`]: the witness's data folder (key, logs, one state file each).
//! - [`Witness`]: `add-checkpoint`, checked and persisted atomically.
//! - [`server`]: the HTTP endpoint, `POST /add-checkpoint`.
//! - [`client`]: submitting a checkpoint with its proof, as the log does.

pub mod client;
pub mod server;
pub mod state;
mod witness;

pub use witness::{AddError, Witness, parse_request};
