//! What `audit verify` and the start check can find wrong: one type, named
//! by the log's checks (`verify.rs`) and the tables' reconciliation
//! (`rowlog.rs`) alike.

use lanyard_core::{Compartment, PersonId};
use serde::Serialize;

/// One thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// A stored event's bytes do not hash to its stored leaf hash.
    EventAltered {
        /// Event index.
        index: u64,
    },
    /// An event is missing from the middle of the log.
    EventMissing {
        /// Event index.
        index: u64,
    },
    /// A stored event is not a readable event.
    EventUnreadable {
        /// Event index.
        index: u64,
    },
    /// The stored tree nodes do not give the root the leaves give.
    TreeNodesAltered,
    /// A stored checkpoint's signature does not verify.
    CheckpointBadSignature {
        /// Its size.
        size: u64,
    },
    /// A stored checkpoint's root is not the root of the log at its size.
    CheckpointRootMismatch {
        /// Its size.
        size: u64,
    },
    /// A person's rows differ from what the log says was last written.
    RowChanged {
        /// Whose.
        person: PersonId,
    },
    /// A compartment the log wrote for a person is gone from the store
    /// (deleted outside lanyard: the South Yorkshire loss).
    CompartmentMissing {
        /// Whose.
        person: PersonId,
        /// Which.
        compartment: Compartment,
    },
    /// A person the log wrote has no row any more.
    RowDeleted {
        /// Whose.
        person: PersonId,
    },
    /// A person's row exists that no event in the log wrote.
    RowInserted {
        /// Whose.
        person: PersonId,
    },
    /// A row of a table that decides who may do what (users, sessions,
    /// service tokens, suppliers, cards) carries no valid tag: it was
    /// changed, inserted or copied outside lanyard.
    RowTagInvalid {
        /// Table.
        table: String,
        /// The row's id.
        id: String,
        /// `carries no tag` or `does not match its tag`.
        found: String,
    },
    /// A tagged row is not as the log last wrote it: an earlier version put
    /// back, a row put back after its removal, one no logged write made,
    /// or one deleted.
    RowNotAsLogged {
        /// Table.
        table: String,
        /// The row's id.
        id: String,
        /// What differs.
        found: String,
    },
    /// The rows were recorded as they stood more than once: deleting the
    /// marker that says a store's row writes are logged, to have rolled
    /// back rows recorded as they stand, would show as this.
    RowBaselineAgain {
        /// Baselines found in the log.
        baselines: u64,
    },
    /// The redacted events (old free-text purposes sealed into notes) are
    /// not the set the migration's event committed to: a redaction added,
    /// removed or changed outside lanyard.
    RedactionsNotAsLogged,
    /// Rows were tagged anew after the register already had its
    /// row-integrity key: deleting the key to have changed rows tagged as
    /// they stand would show as this.
    RowKeyEnrolledAgain {
        /// Enrolments found in the log.
        enrolments: u64,
    },
    /// The log holds fewer events than the watch's last pass read: its
    /// tail was cut.
    LogShorterThanWatched {
        /// Events the watch had read.
        watched: u64,
        /// Events in the log now.
        size: u64,
    },
    /// The watch's saved replay of the log failed its tag: the file in the
    /// data directory was changed outside lanyard (the pass read the whole
    /// log instead).
    WatchStateRejected,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::EventAltered { index } => write!(f, "audit event {index}: bytes do not match its leaf hash"),
            Finding::EventMissing { index } => write!(f, "audit event {index}: missing"),
            Finding::EventUnreadable { index } => write!(f, "audit event {index}: not a readable event"),
            Finding::TreeNodesAltered => f.write_str("audit tree: stored nodes do not match the events"),
            Finding::CheckpointBadSignature { size } => write!(f, "checkpoint {size}: bad signature"),
            Finding::CheckpointRootMismatch { size } => write!(f, "checkpoint {size}: root does not match the log"),
            Finding::RowChanged { person } => write!(f, "person {person}: changed outside lanyard"),
            Finding::RowDeleted { person } => write!(f, "person {person}: deleted outside lanyard"),
            Finding::CompartmentMissing { person, compartment } => {
                write!(f, "person {person}: {compartment} compartment deleted outside lanyard")
            }
            Finding::RowInserted { person } => write!(f, "person {person}: inserted outside lanyard"),
            Finding::RowTagInvalid { table, id, found } => {
                write!(f, "{table} row {id}: {found} (changed outside lanyard)")
            }
            Finding::RowNotAsLogged { table, id, found } => {
                write!(f, "{table} row {id}: {found} (changed outside lanyard)")
            }
            Finding::RowBaselineAgain { baselines } => write!(
                f,
                "row integrity: the rows were recorded as they stood {baselines} times (once at most, at upgrade)"
            ),
            Finding::RedactionsNotAsLogged => {
                f.write_str("audit redactions: not the set the purpose migration recorded (changed outside lanyard)")
            }
            Finding::LogShorterThanWatched { watched, size } => write!(
                f,
                "audit log: {size} events, where the watch had already read {watched} (the tail was cut)"
            ),
            Finding::WatchStateRejected => f.write_str(
                "watch: its saved replay of the log does not match its tag (changed outside lanyard); the whole log was read"
            ),
            Finding::RowKeyEnrolledAgain { enrolments } => write!(
                f,
                "row integrity: the rows were tagged anew ({enrolments} enrolment(s) where the register already had its key)"
            ),
        }
    }
}
