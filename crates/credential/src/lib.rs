//! Card credentials (DESIGN §5): what goes in the QR code on a card, and how
//! anyone holding the force's trust bundle checks it offline.
//!
//! - [`claims`]: the CWT claims of a card (RFC 8392), only what is printed.
//! - [`cose`]: COSE_Sign1 (RFC 9052) with EdDSA, `kid` in the protected
//!   header. Signing goes through [`lanyard_crypto::SigningKey`], so the
//!   issuer key may live in an HSM.
//! - [`qr`]: the `LY1:` + base45(zlib(COSE)) text and its QR symbol.
//! - [`status`]: the IETF Token Status List in CWT form, 2 bits per card.
//! - [`bundle`]: the trust bundle a verifier needs, keys as JWK.
//! - [`verify`]: the offline verdict.
//!
//! This crate has no store and no clock of its own: callers pass `now`.

pub mod bundle;
pub mod claims;
pub mod cose;
mod error;
pub mod qr;
pub mod status;
pub mod verify;

pub use bundle::{IssuerKey, IssuerSigner, TrustBundle, key_id};
pub use claims::{CardClaims, StatusRef};
pub use error::CredentialError;
pub use status::{CardStatus, ListTimes, StatusList, StatusListToken};
pub use verify::{Verdict, Verification, Verifier, issue_qr, verify_qr};
