//! The cards service (issue 5, DESIGN §5 and §8): card requests and their
//! lifecycle under dual control, the issuer's signing keys, the signed
//! credential each card carries, the status list and the trust bundle.
//!
//! - Every transition and its audit event (`card.<verb>`, with reason code,
//!   card id and person id, never a name) commit in one transaction.
//! - A credential is signed on demand from the identity compartment, through
//!   an audited read with a purpose; the store keeps no signed copy, so
//!   nothing printed sits readable at rest.
//! - Issuer keys are versioned signing keys of the register: in the HSM when
//!   PKCS#11 is configured. A retired key stays in the trust bundle until the
//!   last card it signed has expired.

mod error;
mod permits;
mod service;

pub use error::CardError;
pub use permits::{AccessDecision, AccessSubject, Permit, Zone, parse_levels};
pub use service::{Card, Cards, Credential, IssuerConfig, PersonRef, Printable, StagedMove, new_id, same_person};
