//! Errors of the supplier exchange. They name suppliers, batches and cards
//! by id, never a person.

use lanyard_cards::CardError;
use lanyard_register::RegisterError;
use lanyard_store::StoreError;

use crate::package::PackageError;

/// Why a supplier or batch operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum SupplyError {
    /// No supplier by that name.
    #[error("no supplier {0}")]
    NoSupplier(String),
    /// The supplier is disabled.
    #[error("supplier {0} is disabled")]
    SupplierDisabled(String),
    /// No batch with that id.
    #[error("no batch {0}")]
    NoBatch(String),
    /// The batch belongs to another supplier.
    #[error("batch {0} is not for this supplier")]
    NotYours(String),
    /// The batch was confirmed, expired or destroyed: its file is gone.
    #[error("batch {batch} is gone ({state}); its file was destroyed")]
    Gone {
        /// Batch id.
        batch: String,
        /// Why: `confirmed`, `expired` or `destroyed`.
        state: lanyard_core::BatchState,
    },
    /// The batch was confirmed already.
    #[error("batch {0} was confirmed already")]
    AlreadyConfirmed(String),
    /// Nothing waits to be batched.
    #[error("no approved cards wait for printing")]
    NothingToBatch,
    /// Input refused; says what and where.
    #[error("{0}")]
    Invalid(String),
    /// Packing, sealing or opening a batch file failed.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// Rendering artwork failed.
    #[error("artwork: {0}")]
    Render(String),
    /// A batch's stored file does not add up to its record (short,
    /// altered, or destroyed while it was read); nothing more was used.
    #[error("{0}")]
    FileBroken(String),
    /// The cards service refused.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The register refused (reads, audit log).
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The audit log refused a write's events: as the register reports it.
/// A supplier or card row changed outside lanyard: as the register reports
/// it (503, exit 2), naming the table and the row's id.
impl From<lanyard_audit::IntegrityError> for SupplyError {
    fn from(e: lanyard_audit::IntegrityError) -> Self {
        SupplyError::Register(e.into())
    }
}

impl From<lanyard_audit::log::LogError> for SupplyError {
    fn from(e: lanyard_audit::log::LogError) -> Self {
        SupplyError::Register(e.into())
    }
}

impl SupplyError {
    /// An optimistic-concurrency conflict: someone changed the row since
    /// it was read; trying again may succeed.
    pub fn is_conflict(&self) -> bool {
        match self {
            SupplyError::Store(s) => s.is_conflict(),
            SupplyError::Card(c) => c.is_conflict(),
            _ => false,
        }
    }
}
