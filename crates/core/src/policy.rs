//! Roles and the one place that decides what each may do (DESIGN §3).
//!
//! Every access rule lives here: [`decide`] (who may do what), [`may_reveal`]
//! (protected persons), [`own_supplier`] (a supplier's token acts for its
//! own batches only) and [`token_subject`] (what a service token is for).
//! The matrix is small enough to read in full below.
//!
//! Who asks:
//! - **HTTP**: the server's gate (`crates/server/src/gate.rs`) decides every
//!   route before its handler runs; a route cannot exist without a declared
//!   action, and a test walks every route in the router.
//! - **The register**: asks [`may_reveal`] for every compartment it reveals,
//!   whoever the caller.
//! - **The CLI** runs on the register host with the root passphrase, as its
//!   operator. It asks [`token_subject`] when making tokens, and the services
//!   below it apply dual control, purposes and [`may_reveal`]; it does not
//!   ask [`decide`], because the operator's role is not authenticated there
//!   (`--operator` is a name, not a sign-in). Until the CLI signs in as a
//!   user (issue 17), command-line access is the host's access.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::compartment::Compartment;
use crate::error::{ValidationError, ValidationErrorKind};

/// What a user or token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// ID-card office: identity and photo, card requests.
    IdOfficer,
    /// Approves card requests (never their own); reads identity and photo.
    Approver,
    /// Vetting: reads identity, reads and writes vetting.
    VettingOfficer,
    /// HR and payroll: reads identity, reads and writes pay.
    HrPayroll,
    /// Data protection and security: the log, breach scoping, people by id only.
    Auditor,
    /// Users, zones, card types, suppliers; never personal data.
    Admin,
    /// A print supplier's service token: its own print batches only.
    PrintSupplier,
    /// A gate or door device's token: status lists and access checks.
    Verifier,
    /// Freedom of Information and other release officers: the disclosure
    /// guard only (DESIGN names them as users but gives them no role; any
    /// role above would give them more than they need).
    DisclosureOfficer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 9] = [
        Role::IdOfficer,
        Role::Approver,
        Role::VettingOfficer,
        Role::HrPayroll,
        Role::Auditor,
        Role::Admin,
        Role::PrintSupplier,
        Role::Verifier,
        Role::DisclosureOfficer,
    ];

    /// The stable name, as in DESIGN §3.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::IdOfficer => "id_officer",
            Role::Approver => "approver",
            Role::VettingOfficer => "vetting_officer",
            Role::HrPayroll => "hr_payroll",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::PrintSupplier => "print_supplier",
            Role::Verifier => "verifier",
            Role::DisclosureOfficer => "disclosure_officer",
        }
    }

    /// Roles held by service tokens rather than people.
    pub fn is_service(self) -> bool {
        matches!(self, Role::PrintSupplier | Role::Verifier)
    }

    /// Whether the role can read any personal data, which makes a second
    /// factor mandatory for its users.
    pub fn reads_personal_data(self) -> bool {
        Compartment::ALL.iter().any(|c| may_read(self, *c)) || self == Role::Auditor
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::new(None, ValidationErrorKind::UnknownRole(s.to_owned())))
    }
}

/// For rows that store a role by name: an unknown name is refused, so a
/// role written outside lanyard is never taken for one of ours.
impl TryFrom<String> for Role {
    type Error = ValidationError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Something a principal asks to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read these compartments of people.
    ReadPeople(Vec<Compartment>),
    /// Create or change these compartments of people.
    WritePeople(Vec<Compartment>),
    /// List or look up people by id and status, decrypting nothing.
    ListPeople,
    /// Erase a person (crypto-shred).
    ErasePerson,
    /// Read audit events, checkpoints and proofs.
    ReadAudit,
    /// Open the sealed note of an audit event (the free text of a
    /// purpose, which may name people).
    ReadAuditNotes,
    /// Scope a breach from the log.
    ScopeBreach,
    /// Manage users and tokens.
    ManageUsers,
    /// Read register statistics and key status (no personal data).
    ReadStatus,
    /// Ask for a new card or a reissue.
    RequestCard,
    /// Approve or reject a card request (dual control is checked against
    /// the request itself, by the cards service).
    ApproveCard,
    /// Move a card on: print, issue, suspend, resume, revoke, destroy.
    ManageCard,
    /// List and show cards (states and ids, no personal data).
    ReadCards,
    /// Sign a card's credential or render its artwork (reads identity).
    RenderCard,
    /// Rotate the issuer key, export the trust bundle.
    ManageIssuer,
    /// Fetch status lists and verify credentials (devices at doors).
    VerifyCards,
    /// Define zones and the vetting they accept.
    ManageZones,
    /// List zones and what they accept (no personal data).
    ReadZones,
    /// List permits: which person id may enter which zone, when.
    ReadPermits,
    /// Check a file before release (the disclosure guard). It reveals
    /// nothing: reports carry masked samples only.
    ScanFiles,
    /// Grant or revoke a person's permit for a zone.
    GrantPermit,
    /// Ask whether a card opens a zone (doors).
    CheckAccess,
    /// Register, disable and rekey print suppliers.
    ManageSuppliers,
    /// Batch approved cards for a supplier, list batches, export one for
    /// out-of-band delivery.
    ManageBatches,
    /// A supplier's own exchange: list its pending batches, download one,
    /// confirm it. Which batches are its own is checked by the service.
    SupplierExchange,
    /// Run the supplier-compromise drill (lists exposed people by id).
    DrillSupplier,
    /// Add a compartment key version and re-wrap person keys (no data is
    /// decrypted: only the keys that wrap it).
    RotateKeys,
    /// Ask who the current session or token is (its own actor and role).
    ReadSession,
}

/// The answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused, with a stable reason code for the audit event and the error.
    Deny(&'static str),
}

/// Who may read which compartment.
pub fn may_read(role: Role, c: Compartment) -> bool {
    use Compartment::*;
    use Role::*;
    matches!(
        (role, c),
        (IdOfficer, Identity | Photo)
            | (Approver, Identity | Photo)
            | (VettingOfficer, Identity | Vetting)
            | (HrPayroll, Identity | Pay)
    )
}

/// Who may write which compartment.
pub fn may_write(role: Role, c: Compartment) -> bool {
    use Compartment::*;
    use Role::*;
    matches!((role, c), (IdOfficer, Identity | Photo) | (VettingOfficer, Vetting) | (HrPayroll, Pay))
}

/// The decision for `role` asking for `action`.
pub fn decide(role: Role, action: &Action) -> Decision {
    use Role::*;
    let allowed = match action {
        Action::ReadPeople(cs) => !cs.is_empty() && cs.iter().all(|c| may_read(role, *c)),
        Action::WritePeople(cs) => !cs.is_empty() && cs.iter().all(|c| may_write(role, *c)),
        Action::ListPeople => matches!(role, IdOfficer | Approver | VettingOfficer | HrPayroll | Auditor),
        Action::ErasePerson => role == IdOfficer,
        Action::ReadAudit => matches!(role, Auditor | Admin),
        // Admin reads the log but never personal data; a note may hold some.
        Action::ReadAuditNotes => role == Auditor,
        Action::ScopeBreach => role == Auditor,
        Action::ManageUsers => role == Admin,
        Action::ReadStatus => matches!(role, Auditor | Admin),
        Action::RequestCard | Action::ManageCard | Action::RenderCard => role == IdOfficer,
        Action::ApproveCard => role == Approver,
        Action::ReadCards => matches!(role, IdOfficer | Approver | Auditor),
        Action::ManageIssuer => role == Admin,
        Action::VerifyCards => matches!(role, Verifier | IdOfficer | Approver | Auditor),
        Action::ManageZones => role == Admin,
        Action::ReadZones => matches!(role, Admin | IdOfficer | Auditor),
        Action::ReadPermits => matches!(role, IdOfficer | Auditor),
        Action::ScanFiles => !role.is_service(),
        Action::GrantPermit => role == IdOfficer,
        Action::CheckAccess => matches!(role, Verifier | IdOfficer),
        Action::ManageSuppliers => role == Admin,
        Action::ManageBatches => role == IdOfficer,
        Action::SupplierExchange => role == PrintSupplier,
        Action::DrillSupplier => role == Auditor,
        Action::RotateKeys => role == Admin,
        Action::ReadSession => true,
    };
    if allowed { Decision::Allow } else { Decision::Deny(deny_code(action)) }
}

/// DESIGN §2: a protected person's identity (and, by the same reasoning,
/// photo) is revealed only to a reader with the `protected` clearance;
/// their other compartments follow the role alone.
pub fn may_reveal(person_protected: bool, reader_cleared: bool, c: Compartment) -> bool {
    !(person_protected && !reader_cleared && matches!(c, Compartment::Identity | Compartment::Photo))
}

/// The supplier a `print_supplier` principal acts for: exactly the one its
/// token names, and only its own batches (the service checks the batch's
/// owner against this name). Any other principal has none.
pub fn own_supplier(role: Role, subject: Option<&str>) -> Result<&str, &'static str> {
    match (role, subject) {
        (Role::PrintSupplier, Some(s)) if !s.is_empty() => Ok(s),
        _ => Err("supplier_exchange_only"),
    }
}

/// What a new service token is for: a `print_supplier` token names a
/// supplier and no device, a `verifier` token a device and no supplier;
/// no other role is held by a token. The answer is the token's subject.
pub fn token_subject<'a>(
    role: Role,
    supplier: Option<&'a str>,
    device: Option<&'a str>,
) -> Result<&'a str, &'static str> {
    match (role, supplier, device) {
        (Role::PrintSupplier, Some(s), None) | (Role::Verifier, None, Some(s)) if !s.trim().is_empty() => Ok(s),
        (Role::PrintSupplier, _, _) => Err("a print_supplier token names a supplier (--supplier) and no device"),
        (Role::Verifier, _, _) => Err("a verifier token names a device (--device) and no supplier"),
        _ => Err("service tokens are for print_supplier or verifier; people sign in as users"),
    }
}

fn deny_code(action: &Action) -> &'static str {
    match action {
        Action::ReadPeople(_) => "compartment_not_readable",
        Action::WritePeople(_) => "compartment_not_writable",
        Action::ListPeople => "people_not_listable",
        Action::ErasePerson => "erase_not_allowed",
        Action::ReadAudit => "audit_not_readable",
        Action::ReadAuditNotes => "audit_notes_not_readable",
        Action::ScopeBreach => "breach_scope_not_allowed",
        Action::ManageUsers => "users_not_manageable",
        Action::ReadStatus => "status_not_readable",
        Action::RequestCard => "card_request_not_allowed",
        Action::ApproveCard => "card_approval_not_allowed",
        Action::ManageCard => "card_change_not_allowed",
        Action::ReadCards => "cards_not_readable",
        Action::RenderCard => "card_render_not_allowed",
        Action::ManageIssuer => "issuer_not_manageable",
        Action::VerifyCards => "verify_not_allowed",
        Action::ManageZones => "zones_not_manageable",
        Action::ReadZones => "zones_not_readable",
        Action::ReadPermits => "permits_not_readable",
        Action::ScanFiles => "scan_not_allowed",
        Action::GrantPermit => "permit_grant_not_allowed",
        Action::CheckAccess => "access_check_not_allowed",
        Action::ManageSuppliers => "suppliers_not_manageable",
        Action::ManageBatches => "batches_not_manageable",
        Action::SupplierExchange => "supplier_exchange_only",
        Action::DrillSupplier => "drill_not_allowed",
        Action::RotateKeys => "keys_not_rotatable",
        Action::ReadSession => "session_not_readable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_of_design_section_3() {
        use Compartment::*;
        // (role, identity, photo, vetting, pay) as r/w/rw/-.
        let table = [
            (Role::IdOfficer, "rw", "rw", "-", "-"),
            (Role::Approver, "r", "r", "-", "-"),
            (Role::VettingOfficer, "r", "-", "rw", "-"),
            (Role::HrPayroll, "r", "-", "-", "rw"),
            (Role::Auditor, "-", "-", "-", "-"),
            (Role::Admin, "-", "-", "-", "-"),
            (Role::PrintSupplier, "-", "-", "-", "-"),
            (Role::Verifier, "-", "-", "-", "-"),
            (Role::DisclosureOfficer, "-", "-", "-", "-"),
        ];
        for (role, identity, photo, vetting, pay) in table {
            for (c, cell) in [(Identity, identity), (Photo, photo), (Vetting, vetting), (Pay, pay)] {
                assert_eq!(may_read(role, c), cell.contains('r'), "{role} read {c:?}");
                assert_eq!(may_write(role, c), cell.contains('w'), "{role} write {c:?}");
                let read = decide(role, &Action::ReadPeople(vec![c]));
                assert_eq!(read == Decision::Allow, cell.contains('r'), "{role} {c:?}");
            }
        }
    }

    #[test]
    fn the_cards_column_of_design_section_3() {
        // (action, roles allowed); every other role is denied.
        let table: [(Action, &[Role]); 15] = [
            (Action::RotateKeys, &[Role::Admin]),
            (Action::ManageSuppliers, &[Role::Admin]),
            (Action::ManageBatches, &[Role::IdOfficer]),
            (Action::SupplierExchange, &[Role::PrintSupplier]),
            (Action::DrillSupplier, &[Role::Auditor]),
            (Action::ManageZones, &[Role::Admin]),
            (Action::GrantPermit, &[Role::IdOfficer]),
            (Action::CheckAccess, &[Role::Verifier, Role::IdOfficer]),
            (Action::RequestCard, &[Role::IdOfficer]),
            (Action::ApproveCard, &[Role::Approver]),
            (Action::ManageCard, &[Role::IdOfficer]),
            (Action::RenderCard, &[Role::IdOfficer]),
            (Action::ReadCards, &[Role::IdOfficer, Role::Approver, Role::Auditor]),
            (Action::ManageIssuer, &[Role::Admin]),
            (Action::VerifyCards, &[Role::Verifier, Role::IdOfficer, Role::Approver, Role::Auditor]),
        ];
        for (action, allowed) in table {
            for role in Role::ALL {
                assert_eq!(decide(role, &action) == Decision::Allow, allowed.contains(&role), "{role} {action:?}");
            }
        }
    }

    #[test]
    fn a_read_is_allowed_only_if_every_compartment_is() {
        let mixed = Action::ReadPeople(vec![Compartment::Identity, Compartment::Pay]);
        assert_eq!(decide(Role::IdOfficer, &mixed), Decision::Deny("compartment_not_readable"));
        assert_eq!(decide(Role::HrPayroll, &mixed), Decision::Allow);
        assert_ne!(decide(Role::HrPayroll, &Action::ReadPeople(vec![])), Decision::Allow);
    }

    #[test]
    fn admin_never_reads_personal_data_and_services_read_nothing_here() {
        for c in Compartment::ALL {
            for role in [Role::Admin, Role::Auditor, Role::PrintSupplier, Role::Verifier, Role::DisclosureOfficer] {
                assert!(!may_read(role, c) && !may_write(role, c), "{role} {c:?}");
            }
        }
        assert_eq!(decide(Role::Admin, &Action::ManageUsers), Decision::Allow);
        assert!(!Role::Admin.reads_personal_data());
        assert!(Role::Auditor.reads_personal_data(), "ids of exposed people are personal data too");
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn protected_people_and_supplier_and_token_rules() {
        use Compartment::*;
        for c in Compartment::ALL {
            assert!(may_reveal(false, false, c), "{c:?} of an unprotected person");
            assert!(may_reveal(true, true, c), "{c:?} with the clearance");
        }
        assert!(!may_reveal(true, false, Identity) && !may_reveal(true, false, Photo));
        assert!(may_reveal(true, false, Vetting) && may_reveal(true, false, Pay));

        assert_eq!(own_supplier(Role::PrintSupplier, Some("acme")), Ok("acme"));
        assert!(own_supplier(Role::PrintSupplier, None).is_err());
        assert!(own_supplier(Role::PrintSupplier, Some("")).is_err());
        assert!(own_supplier(Role::Admin, Some("acme")).is_err(), "only a supplier's token acts for it");

        assert_eq!(token_subject(Role::PrintSupplier, Some("acme"), None), Ok("acme"));
        assert_eq!(token_subject(Role::Verifier, None, Some("gate-1")), Ok("gate-1"));
        assert!(token_subject(Role::PrintSupplier, Some("acme"), Some("gate-1")).is_err());
        assert!(token_subject(Role::Verifier, Some("acme"), None).is_err());
        assert!(token_subject(Role::PrintSupplier, Some(" "), None).is_err());
        for role in Role::ALL.into_iter().filter(|r| !r.is_service()) {
            assert!(token_subject(role, Some("x"), None).is_err(), "{role} is a person's role");
        }
    }
}
