//! Errors of the cards service. They name cards by id and states by name,
//! never a holder's details.

use lanyard_core::{CardAction, CardState};
use lanyard_credential::CredentialError;
use lanyard_register::RegisterError;
use lanyard_store::StoreError;

/// Why a card operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// No card with this id.
    #[error("no card {0}")]
    NotFound(String),
    /// What was to be made exists already (a zone code); says which.
    #[error("{0}")]
    Exists(String),
    /// Something else named is not there (a person by service number, a
    /// zone); says what.
    #[error("{0}")]
    Missing(String),
    /// The move is not legal from the card's state.
    #[error("card {card} is {state}; it cannot {action}{}", next_step(*state, action))]
    IllegalTransition {
        /// Card id.
        card: String,
        /// Its current state.
        state: CardState,
        /// The verb refused.
        action: &'static str,
    },
    /// The person already holds a card of this type that is still in
    /// service: one per person and type, replaced only by `reissue`.
    #[error("this person already has a {card_type} in service, card {card} ({state}); reissue that card to replace it")]
    AlreadyLive {
        /// The live card's id.
        card: String,
        /// Its type.
        card_type: String,
        /// Its state.
        state: CardState,
    },
    /// The approver asked for the card themselves.
    #[error(
        "dual control: card {0} was requested by the same person who is approving it; another approver must decide"
    )]
    DualControl(String),
    /// Approval was tried in break-glass mode, which never counts as the
    /// second person of dual control.
    #[error(
        "card {0} cannot be approved in break-glass mode (--local): dual control needs a second signed-in person; sign in with 'lanyard login' as an approver"
    )]
    BreakGlassApproval(String),
    /// The person cannot have a card (erased, or not found).
    #[error("{0}")]
    Person(String),
    /// The person's vetting does not meet the zone; a reason code only.
    #[error("permit refused: {0}")]
    PermitRefused(&'static str),
    /// Input refused (a card type, a reason); says which.
    #[error("{0}")]
    Invalid(String),
    /// The register refused (reads, keys, audit log).
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing or encoding a credential failed.
    #[error("credential: {0}")]
    Credential(#[from] CredentialError),
}

/// The audit log refused a write's events: as the register reports it, so
/// an unavailable log reads the same whichever service met it.
impl From<lanyard_audit::log::LogError> for CardError {
    fn from(e: lanyard_audit::log::LogError) -> Self {
        CardError::Register(e.into())
    }
}

/// A card row changed outside lanyard: as the register reports it (503,
/// exit 2), naming the table and the card id.
impl From<lanyard_audit::IntegrityError> for CardError {
    fn from(e: lanyard_audit::IntegrityError) -> Self {
        CardError::Register(e.into())
    }
}

impl CardError {
    /// An optimistic-concurrency conflict: the card changed since it was
    /// read (another request moved it first); nothing was written, and
    /// trying again may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(self, CardError::Store(s) if s.is_conflict())
    }

    pub(crate) fn illegal(card: &str, state: CardState, action: CardAction) -> Self {
        CardError::IllegalTransition { card: card.to_owned(), state, action: action.as_str() }
    }
}

/// What to do instead, for a move refused in `state`.
fn next_step(state: CardState, action: &str) -> &'static str {
    match (state, action) {
        (CardState::Requested, _) => ": approve it first (another person must)",
        (CardState::Approved, "issue") => ": print it first",
        (CardState::Suspended, _) => ": resume it first, or revoke it",
        (CardState::Revoked | CardState::Expired | CardState::Destroyed | CardState::Rejected, _) => {
            ": request a new card (or reissue a revoked one)"
        }
        _ => "",
    }
}
