//! The [`Cards`] service.

use std::sync::Arc;

use lanyard_audit::{Event, Ledger, Outcome};
use lanyard_core::{CardAction, CardState, CardType, Compartment, PersonId, PersonStatus, Reason};
use lanyard_credential::claims::StatusRef;
use lanyard_credential::{
    CardClaims, CardStatus, IssuerSigner, ListTimes, StatusList, StatusListToken, TrustBundle, Verdict, Verification,
    Verifier, issue_qr, key_id,
};
use lanyard_register::{Lookup, Operator, Register};
use lanyard_store::{CardFilter, CardRow};
use rand::RngExt;
use serde::Serialize;

use crate::error::CardError;

/// The signing key name of the card issuer.
const ISSUER_KEY: &str = "issuer";
/// Crockford's base32: no I, L, O or U, so an id read out over a radio is
/// not misheard.
const ID_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Who the force is to verifiers.
#[derive(Clone, Debug)]
pub struct IssuerConfig {
    /// `iss` of every credential.
    pub issuer: String,
    /// The status list URI cards name (served at `/v1/status-lists/1`).
    pub status_list_uri: String,
    /// How long verifiers may cache the list, in seconds.
    pub list_ttl_s: u64,
    /// How long a signed list stays acceptable, in seconds.
    pub list_validity_s: i64,
    /// The force's name, printed on every card.
    pub force_name: String,
    /// Printed on the back of every card.
    pub return_address: Vec<String>,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        IssuerConfig {
            issuer: "lanyard.local".into(),
            status_list_uri: "https://lanyard.local/v1/status-lists/1".into(),
            list_ttl_s: 300,
            list_validity_s: 24 * 3600,
            force_name: "Lanyard Demo Constabulary".into(),
            return_address: vec![
                "ID Card Office".into(),
                "Lanyard Demo Constabulary".into(),
                "PO Box 0000".into(),
                "Exampletown EX1 1AA".into(),
            ],
        }
    }
}

/// Which person a request is for.
#[derive(Clone, Copy, Debug)]
pub enum PersonRef<'a> {
    /// By id.
    Id(PersonId),
    /// By service number (looked up through the blind index).
    ServiceNumber(&'a str),
}

/// A card as callers see it: no personal data, only ids and states.
#[derive(Clone, Debug, Serialize)]
pub struct Card {
    /// Card id.
    pub id: String,
    /// Whose card.
    pub person: String,
    /// Card type.
    pub card_type: String,
    /// State.
    pub state: CardState,
    /// Printed card number.
    pub number: String,
    /// Status list index.
    pub status_idx: i64,
    /// Who asked for it.
    pub requested_by: String,
    /// Who approved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// The card it replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// Issuer key version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_version: Option<i64>,
    /// Valid from (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<i64>,
    /// Valid until (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Reason code of the last move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    // The row this card was read as. A move is staged from it, not from the
    // public fields above, so a caller that edits a `Card` changes nothing
    // that is written back, and only this crate builds one.
    #[serde(skip)]
    stored: CardRow,
}

impl Card {
    /// Whose card, typed.
    pub fn person_id(&self) -> PersonId {
        PersonId::from_uuid(self.stored.person_id)
    }

    /// When it last moved (unix seconds): how long it has waited.
    pub fn updated_at(&self) -> i64 {
        self.stored.updated_at
    }

    fn from_row(r: CardRow) -> Self {
        Card {
            stored: r.clone(),
            id: r.id,
            person: r.person_id.to_string(),
            card_type: r.card_type,
            state: r.state,
            number: r.number,
            status_idx: r.status_idx,
            requested_by: r.requested_by,
            approved_by: r.approved_by,
            supersedes: r.supersedes,
            key_version: r.key_version,
            valid_from: r.issued_at,
            expires_at: r.expires_at,
            reason: r.reason,
        }
    }
}

/// A signed credential and the claims in it (personal data: for the card
/// and its holder's own eyes, never a log).
#[derive(Clone, Debug)]
pub struct Credential {
    /// The `LY1:` QR text.
    pub qr_text: String,
    /// What it says.
    pub claims: CardClaims,
}

/// What a card's artwork needs: its credential and the holder's photo.
#[derive(Clone, Debug)]
pub struct Printable {
    /// The signed credential and its claims.
    pub credential: Credential,
    /// The photo, JPEG, if the holder has one.
    pub photo: Option<Vec<u8>>,
}

/// Whether two actors are the same person: `operator:alice` at the CLI and
/// `user:alice` at the server are, whatever roles they hold.
pub fn same_person(a: &str, b: &str) -> bool {
    fn name(id: &str) -> &str {
        ["operator:", "user:", "os:"].iter().find_map(|p| id.strip_prefix(p)).unwrap_or(id)
    }
    name(a).eq_ignore_ascii_case(name(b))
}

/// A card move worked out but not yet written (see [`Cards::stage`]).
#[derive(Clone, Debug)]
pub struct StagedMove {
    // The card as it will be.
    row: CardRow,
    // The version it must still have in the store.
    expected_version: i64,
    // The move's audit event.
    event: Event,
}

/// A signed status list and when it was signed (unix ms).
type SignedList = (i64, Vec<u8>);

/// The cards service.
#[derive(Clone)]
pub struct Cards {
    register: Arc<Register>,
    // The cards', zones' and permits' tables, and the log they write to.
    pub(crate) ledger: Ledger,
    config: IssuerConfig,
    /// The last signed status list and when it was signed (unix ms). The
    /// list is served publicly, so it is rebuilt once per TTL, or sooner
    /// when this instance changes a card, not on every request.
    list_cache: Arc<std::sync::Mutex<Option<SignedList>>>,
}

/// A new 10-character Crockford base32 id (cards; print batches add a `B`).
pub fn new_id() -> String {
    // 50 random bits; a clash is refused by the primary key, never merged.
    let mut rng = rand::rng();
    let bits: u64 = rng.random::<u64>() >> 14;
    (0..10).rev().filter_map(|i| ID_ALPHABET.get(((bits >> (5 * i)) & 31) as usize).map(|b| char::from(*b))).collect()
}

impl Cards {
    /// The service: people's identities and vetting through `register`,
    /// its own tables and their events through `ledger`.
    pub fn new(register: Arc<Register>, ledger: Ledger, config: IssuerConfig) -> Self {
        Cards { register, ledger, config, list_cache: Arc::default() }
    }

    /// The issuer configuration.
    pub fn config(&self) -> &IssuerConfig {
        &self.config
    }

    pub(crate) fn register(&self) -> &Register {
        &self.register
    }

    fn event(op: &Operator, now_ms: i64, action: &str, row: &CardRow, detail: serde_json::Value) -> Event {
        let mut e = Event::new(now_ms, op.actor.clone(), action, Outcome::Ok);
        e.request_id = Some(op.request_id.clone());
        e.people = vec![PersonId::from_uuid(row.person_id)];
        e.detail = Some(detail);
        e
    }

    /// One card.
    /// A card row that fails its integrity check is refused (`now_ms` is
    /// the time of that refusal's event).
    pub async fn card(&self, id: &str, now_ms: i64) -> Result<Card, CardError> {
        self.row(id, now_ms).await.map(Card::from_row)
    }

    pub(crate) async fn row(&self, id: &str, now_ms: i64) -> Result<CardRow, CardError> {
        let row = self.ledger.store().card(id).await?;
        self.ledger.check_opt(row, now_ms).await?.ok_or_else(|| CardError::NotFound(short(id)))
    }

    /// Cards of a person, or in a state; refused whole if any row fails
    /// its integrity check.
    pub async fn list(
        &self,
        person: Option<PersonId>,
        state: Option<CardState>,
        now_ms: i64,
    ) -> Result<Vec<Card>, CardError> {
        let filter = CardFilter { person: person.map(|p| *p.as_uuid()), state };
        let rows = self.ledger.check_all(self.ledger.store().cards(&filter).await?, now_ms).await?;
        Ok(rows.into_iter().map(Card::from_row).collect())
    }

    async fn resolve(&self, op: &Operator, person: PersonRef<'_>, now_ms: i64) -> Result<PersonId, CardError> {
        let id = match person {
            PersonRef::Id(id) => id,
            PersonRef::ServiceNumber(sn) => {
                let found =
                    self.register.find(op, Lookup::ServiceNumber(sn), &[], Some("card_request"), now_ms).await?;
                match found.as_slice() {
                    [one] => one.id,
                    [] => return Err(CardError::Missing("no person has that service number".into())),
                    _ => return Err(CardError::Person("several people share that service number".into())),
                }
            }
        };
        let summary = self.register.summary(id).await?;
        if summary.status != PersonStatus::Active {
            return Err(CardError::Person(format!("person {id} was erased and cannot have a card")));
        }
        Ok(id)
    }

    /// Asks for a new card; it waits for a second person's approval.
    pub async fn request(
        &self,
        op: &Operator,
        person: PersonRef<'_>,
        card_type: CardType,
        now_ms: i64,
    ) -> Result<Card, CardError> {
        let person = self.resolve(op, person, now_ms).await?;
        retry_conflicts(|| self.request_once(op, person, card_type, now_ms)).await
    }

    async fn request_once(
        &self,
        op: &Operator,
        person: PersonId,
        card_type: CardType,
        now_ms: i64,
    ) -> Result<Card, CardError> {
        let mut tx = self.ledger.begin().await?;
        // One card maker at a time, from here to commit: the live-card
        // check and the next number are then read by this request alone.
        tx.tx().lock_card_making().await?;
        // A live row whose tag fails refuses the request too.
        if let Some(live) = tx.tx().live_card(*person.as_uuid(), card_type.as_str()).await? {
            let live = self.ledger.check(live, now_ms).await?;
            return Err(CardError::AlreadyLive { card: live.id, card_type: live.card_type, state: live.state });
        }
        let mut row = self.new_row(&mut tx, op, person, card_type, None, now_ms).await?;
        let ev = Self::event(
            op,
            now_ms,
            "card.request",
            &row,
            serde_json::json!({
                "card": row.id, "type": row.card_type, "to": "requested",
            }),
        );
        self.ledger.tag(&mut row)?;
        tx.tx().insert_card(&row).await?;
        tx.append(&[ev]).await?;
        tx.commit().await?;
        self.forget_status_list();
        Ok(Card::from_row(row))
    }

    async fn new_row(
        &self,
        tx: &mut lanyard_audit::Write,
        op: &Operator,
        person: PersonId,
        card_type: CardType,
        supersedes: Option<String>,
        now_ms: i64,
    ) -> Result<CardRow, CardError> {
        let idx = tx.tx().next_status_idx().await?;
        Ok(CardRow {
            id: new_id(),
            person_id: *person.as_uuid(),
            card_type: card_type.as_str().to_owned(),
            state: CardState::Requested,
            number: format!("{:08}", idx + 1),
            status_idx: idx,
            requested_by: op.actor.id.clone(),
            approved_by: None,
            supersedes,
            key_version: None,
            issued_at: None,
            expires_at: None,
            reason: None,
            created_at: now_ms / 1000,
            updated_at: now_ms / 1000,
            row_version: 1,
            mac: None,
        })
    }

    /// Moves a card on. Approval checks dual control and fixes the
    /// credential's validity and signing key.
    pub async fn transition(
        &self,
        op: &Operator,
        id: &str,
        action: CardAction,
        reason: Option<Reason>,
        now_ms: i64,
    ) -> Result<Card, CardError> {
        let mut row = self.row(id, now_ms).await?;
        if action == CardAction::Approve {
            let from = row.state;
            if from.after(action).is_none() {
                return Err(CardError::illegal(&row.id, from, action));
            }
            // Break-glass holds the root passphrase and no signed-in
            // identity: it can never be the second person.
            if op.actor.break_glass {
                self.record_refusal(op, &row, action, "break_glass", now_ms).await?;
                return Err(CardError::BreakGlassApproval(row.id));
            }
            if same_person(&op.actor.id, &row.requested_by) {
                self.record_refusal(op, &row, action, "dual_control", now_ms).await?;
                return Err(CardError::DualControl(row.id));
            }
            let card_type: CardType =
                row.card_type.parse().map_err(|_| CardError::Invalid("unknown card type in the store".into()))?;
            let signer_version = self.current_issuer(op, now_ms).await?.0;
            let now_s = now_ms / 1000;
            row.approved_by = Some(op.actor.id.clone());
            row.key_version = Some(i64::from(signer_version));
            row.issued_at = Some(now_s);
            row.expires_at = Some(now_s + card_type.validity_days() * 86_400);
        }
        let staged = Self::stage_row(op, row, action, reason, now_ms)?;
        let mut tx = self.ledger.begin().await?;
        let row = self.apply_in(&mut tx, staged).await?;
        tx.commit().await?;
        self.forget_status_list();
        Ok(row)
    }

    /// Works out a move without writing it, so that a caller can apply
    /// several in one transaction (a print batch queues all its cards or
    /// none). Approval goes through [`Cards::transition`], which checks dual
    /// control first.
    pub fn stage(
        op: &Operator,
        card: Card,
        action: CardAction,
        reason: Option<Reason>,
        now_ms: i64,
    ) -> Result<StagedMove, CardError> {
        Self::stage_row(op, card.stored, action, reason, now_ms)
    }

    fn stage_row(
        op: &Operator,
        mut row: CardRow,
        action: CardAction,
        reason: Option<Reason>,
        now_ms: i64,
    ) -> Result<StagedMove, CardError> {
        let from = row.state;
        let to = from.after(action).ok_or_else(|| CardError::illegal(&row.id, from, action))?;
        let expected_version = row.row_version;
        row.state = to;
        row.reason = reason.map(|r| r.as_str().to_owned());
        row.updated_at = now_ms / 1000;
        row.row_version += 1;
        let event = Self::event(
            op,
            now_ms,
            &format!("card.{}", action.as_str()),
            &row,
            serde_json::json!({
                "card": row.id, "from": from.as_str(), "to": to.as_str(), "reason": row.reason,
            }),
        );
        Ok(StagedMove { row, expected_version, event })
    }

    /// Writes a staged move and its audit event in `tx`; a card changed
    /// since it was staged is a conflict and nothing is written.
    pub async fn apply_in(&self, tx: &mut lanyard_audit::Write, mut staged: StagedMove) -> Result<Card, CardError> {
        self.ledger.tag(&mut staged.row)?;
        tx.tx().update_card(&staged.row, staged.expected_version).await?;
        tx.append(&[staged.event]).await?;
        Ok(Card::from_row(staged.row))
    }

    async fn record_refusal(
        &self,
        op: &Operator,
        row: &CardRow,
        action: CardAction,
        code: &str,
        now_ms: i64,
    ) -> Result<(), CardError> {
        let mut ev = Self::event(
            op,
            now_ms,
            &format!("card.{}", action.as_str()),
            row,
            serde_json::json!({
                "card": row.id, "refused": code,
            }),
        );
        ev.outcome = Outcome::Denied;
        self.register.record(&[ev]).await?;
        Ok(())
    }

    /// Replaces a card: the old one is revoked with `reason` (at once, for a
    /// lost or stolen card) and a new card, with a new id, is requested in
    /// the same transaction. The new card needs approval like any other.
    pub async fn reissue(
        &self,
        op: &Operator,
        id: &str,
        reason: Reason,
        now_ms: i64,
    ) -> Result<(Card, Card), CardError> {
        retry_conflicts(|| self.reissue_once(op, id, reason, now_ms)).await
    }

    async fn reissue_once(
        &self,
        op: &Operator,
        id: &str,
        reason: Reason,
        now_ms: i64,
    ) -> Result<(Card, Card), CardError> {
        let mut old = self.row(id, now_ms).await?;
        let from = old.state;
        let card_type: CardType =
            old.card_type.parse().map_err(|_| CardError::Invalid("unknown card type in the store".into()))?;
        let mut events = Vec::new();
        let expected = old.row_version;
        if from.after(CardAction::Revoke).is_some() {
            old.state = CardState::Revoked;
            old.reason = Some(reason.as_str().to_owned());
            old.updated_at = now_ms / 1000;
            old.row_version += 1;
            events.push(Self::event(
                op,
                now_ms,
                "card.revoke",
                &old,
                serde_json::json!({
                    "card": old.id, "from": from.as_str(), "to": "revoked", "reason": reason.as_str(),
                }),
            ));
        } else if !matches!(from, CardState::Revoked | CardState::Expired | CardState::Destroyed) {
            return Err(CardError::illegal(&old.id, from, CardAction::Revoke));
        }
        let mut tx = self.ledger.begin().await?;
        tx.tx().lock_card_making().await?;
        let mut new = self
            .new_row(&mut tx, op, PersonId::from_uuid(old.person_id), card_type, Some(old.id.clone()), now_ms)
            .await?;
        events.push(Self::event(op, now_ms, "card.request", &new, serde_json::json!({
            "card": new.id, "type": new.card_type, "to": "requested", "supersedes": old.id, "reason": reason.as_str(),
        })));
        if old.row_version != expected {
            self.ledger.tag(&mut old)?;
            tx.tx().update_card(&old, expected).await?;
        }
        self.ledger.tag(&mut new)?;
        tx.tx().insert_card(&new).await?;
        tx.append(&events).await?;
        tx.commit().await?;
        self.forget_status_list();
        Ok((Card::from_row(old), Card::from_row(new)))
    }

    /// Expires every issued or suspended card past its expiry; returns how
    /// many. Run before each status list is signed.
    pub async fn expire_due(&self, op: &Operator, now_ms: i64) -> Result<usize, CardError> {
        let now_s = now_ms / 1000;
        let mut n = 0;
        for state in [CardState::Issued, CardState::Suspended] {
            for row in self.list(None, Some(state), now_ms).await? {
                if row.expires_at.is_some_and(|e| e <= now_s) {
                    self.transition(op, &row.id, CardAction::Expire, None, now_ms).await?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// The current issuer key and its version, made on first use.
    async fn current_issuer(&self, op: &Operator, now_ms: i64) -> Result<(u32, IssuerSigner), CardError> {
        let versions = self.register.signing_key_versions(ISSUER_KEY).await?;
        let version = match versions.last() {
            Some((v, _)) => *v,
            None => {
                self.register.create_signing_key(op, now_ms, ISSUER_KEY, 1).await?;
                1
            }
        };
        Ok((version, self.signer(version, now_ms).await?))
    }

    async fn signer(&self, version: u32, now_ms: i64) -> Result<IssuerSigner, CardError> {
        let key = self
            .register
            .signing_key(ISSUER_KEY, version, now_ms)
            .await?
            .ok_or_else(|| CardError::Invalid(format!("issuer key version {version} is missing")))?;
        Ok(IssuerSigner { kid: key_id(version), key })
    }

    /// Adds a new issuer key; new approvals sign with it. Returns its version.
    pub async fn rotate_issuer(&self, op: &Operator, now_ms: i64) -> Result<u32, CardError> {
        let next = self.register.signing_key_versions(ISSUER_KEY).await?.last().map_or(1, |(v, _)| v + 1);
        self.register.create_signing_key(op, now_ms, ISSUER_KEY, next).await?;
        self.forget_status_list();
        Ok(next)
    }

    /// The trust bundle: the current key, and every older key that signed a
    /// card not yet expired.
    pub async fn trust_bundle(&self, op: &Operator, now_ms: i64) -> Result<TrustBundle, CardError> {
        let (current, _) = self.current_issuer(op, now_ms).await?;
        let horizons = self.ledger.store().issuer_key_horizons().await?;
        let now_s = now_ms / 1000;
        let mut keys = Vec::new();
        for (version, _) in self.register.signing_key_versions(ISSUER_KEY).await? {
            let still_needed = horizons.iter().any(|(v, exp)| *v == i64::from(version) && *exp > now_s);
            if version == current || still_needed {
                keys.push(self.signer(version, now_ms).await?.jwk());
            }
        }
        Ok(TrustBundle {
            issuer: self.config.issuer.clone(),
            keys,
            status_list_uri: self.config.status_list_uri.clone(),
        })
    }

    /// Signs a card's credential from its holder's identity compartment and
    /// live permits. The identity read is audited with `purpose`.
    pub async fn credential(
        &self,
        op: &Operator,
        id: &str,
        purpose: Option<&str>,
        now_ms: i64,
    ) -> Result<Credential, CardError> {
        Ok(self.printed(op, id, purpose, false, now_ms).await?.credential)
    }

    /// The credential and the photo, in one audited read of identity and
    /// photo: what a card's artwork is made from.
    pub async fn printable(
        &self,
        op: &Operator,
        id: &str,
        purpose: Option<&str>,
        now_ms: i64,
    ) -> Result<Printable, CardError> {
        self.printed(op, id, purpose, true, now_ms).await
    }

    async fn printed(
        &self,
        op: &Operator,
        id: &str,
        purpose: Option<&str>,
        with_photo: bool,
        now_ms: i64,
    ) -> Result<Printable, CardError> {
        let row = self.row(id, now_ms).await?;
        let state = row.state;
        let (Some(version), Some(issued_at), Some(expires_at)) = (row.key_version, row.issued_at, row.expires_at)
        else {
            return Err(CardError::illegal(&row.id, state, CardAction::Print));
        };
        if !state.has_credential() {
            return Err(CardError::illegal(&row.id, state, CardAction::Print));
        }
        let card_type: CardType =
            row.card_type.parse().map_err(|_| CardError::Invalid("unknown card type in the store".into()))?;
        let person = PersonId::from_uuid(row.person_id);
        let compartments: &[Compartment] =
            if with_photo { &[Compartment::Identity, Compartment::Photo] } else { &[Compartment::Identity] };
        let revealed = self.register.show(op, person, compartments, purpose, now_ms).await?;
        if !revealed.withheld.is_empty() {
            return Err(CardError::Person(format!(
                "person {person} is protected; their card needs an operator with the protected clearance"
            )));
        }
        let r = revealed.record;
        let zones = self.live_zones(person, now_ms / 1000).await?;
        let name = [r.forenames.as_deref(), r.surname.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        let claims = CardClaims {
            issuer: self.config.issuer.clone(),
            card_id: row.id.clone(),
            issued_at,
            not_before: issued_at,
            expires_at,
            name,
            rank: if card_type.shows_rank() { r.rank } else { None },
            number: r.service_number.unwrap_or_default(),
            card_type: row.card_type.clone(),
            zones,
            status: Some(StatusRef {
                idx: u64::try_from(row.status_idx).unwrap_or_default(),
                uri: self.config.status_list_uri.clone(),
            }),
        };
        let version = u32::try_from(version).map_err(|_| CardError::Invalid("bad key version".into()))?;
        let qr_text = issue_qr(&claims, &self.signer(version, now_ms).await?)?;
        Ok(Printable { credential: Credential { qr_text, claims }, photo: r.photo })
    }

    /// Verifies a QR text for a verifier device and records the verdict
    /// (`card.verify`: the card id and the verdict, nothing printed on it),
    /// so a check over HTTP and one from any other front end are audited
    /// alike. Door decisions use [`Cards::verify_online`] inside their own
    /// audited decision instead.
    pub async fn verify_recorded(
        &self,
        op: &Operator,
        text: &str,
        at_s: i64,
        now_ms: i64,
    ) -> Result<Verification, CardError> {
        let v = self.verify_online(op, text, at_s, now_ms).await?;
        let mut event = Event::new(now_ms, op.actor.clone(), "card.verify", Outcome::Ok);
        event.request_id = Some(op.request_id.clone());
        event.detail = Some(serde_json::json!({
            "card": v.claims.as_ref().map(|c| c.card_id.clone()),
            "verdict": v.verdict.as_str(),
        }));
        self.ledger.record(std::slice::from_ref(&event)).await.map_err(lanyard_register::RegisterError::from)?;
        Ok(v)
    }

    /// Verifies a QR text online: signature, issuer and time window against
    /// the current trust bundle, then the card's live state from the store
    /// in place of a status list (fresher, and no list is signed per
    /// request).
    pub async fn verify_online(
        &self,
        op: &Operator,
        text: &str,
        at_s: i64,
        now_ms: i64,
    ) -> Result<Verification, CardError> {
        let bundle = self.trust_bundle(op, now_ms).await?;
        let mut v = Verifier::new(&bundle).verify(text, None, at_s)?;
        // The register answers for the status here, in place of a list.
        if v.verdict == Verdict::StatusUnknown {
            v.verdict = Verdict::Valid;
            v.reason = None;
        }
        let Some(claims) = &v.claims else { return Ok(v) };
        // A card whose credential verifies but which the register does not
        // know, or knows as withdrawn, is not valid, whatever its window.
        let row = self.ledger.store().card(&claims.card_id).await?;
        let row = self.ledger.check_opt(row, now_ms).await?;
        let row_state = row.as_ref().map(|r| r.state);
        let status = row_state.map_or(CardStatus::Invalid, CardState::list_status);
        v.status_checked = true;
        match status {
            CardStatus::Valid => {}
            CardStatus::Invalid => {
                v.verdict = Verdict::Revoked;
                v.reason = Some("the register marks it invalid".into());
            }
            CardStatus::Suspended => {
                v.verdict = Verdict::Suspended;
                v.reason = Some(match row_state {
                    Some(CardState::Suspended) => "the register marks it suspended".into(),
                    _ => "the register has not issued it to its holder yet".into(),
                });
            }
        }
        Ok(v)
    }

    /// Drops the cached status list: a card changed here.
    pub(crate) fn forget_status_list(&self) {
        if let Ok(mut cache) = self.list_cache.lock() {
            *cache = None;
        }
    }

    /// The signed status list: the cached one while it is younger than its
    /// TTL and no card changed here since, else a fresh one. Other servers'
    /// changes show within one TTL, as the list's own TTL promises.
    pub async fn status_list(&self, op: &Operator, now_ms: i64) -> Result<Vec<u8>, CardError> {
        let ttl_ms = i64::try_from(self.config.list_ttl_s).unwrap_or(i64::MAX).saturating_mul(1000);
        if let Ok(cache) = self.list_cache.lock()
            && let Some((signed_at, bytes)) = cache.as_ref()
            && (*signed_at..signed_at.saturating_add(ttl_ms)).contains(&now_ms)
        {
            return Ok(bytes.clone());
        }
        let bytes = self.sign_status_list(op, now_ms).await?;
        if let Ok(mut cache) = self.list_cache.lock() {
            *cache = Some((now_ms, bytes.clone()));
        }
        Ok(bytes)
    }

    /// Expires due cards, then signs the status list of every card.
    async fn sign_status_list(&self, op: &Operator, now_ms: i64) -> Result<Vec<u8>, CardError> {
        self.expire_due(op, now_ms).await?;
        // Every row's tag is checked: no list is signed over a state
        // written outside lanyard.
        let rows = self.ledger.check_all(self.ledger.store().cards_by_status_idx().await?, now_ms).await?;
        let mut list = StatusList::new(rows.last().map_or(0, |r| u64::try_from(r.status_idx + 1).unwrap_or(0)));
        for r in rows {
            list.set(u64::try_from(r.status_idx).unwrap_or_default(), r.state.list_status());
        }
        let (_, signer) = self.current_issuer(op, now_ms).await?;
        let now_s = now_ms / 1000;
        let times = ListTimes {
            issued_at: now_s,
            expires_at: now_s + self.config.list_validity_s,
            ttl: self.config.list_ttl_s,
        };
        Ok(StatusListToken::sign(&list, &self.config.status_list_uri, &times, &signer)?)
    }
}

/// A card id as echoed in errors: ids are ours, but input may be anything.
fn short(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric()).take(16).collect()
}

/// Runs `attempt` again when it lost a race: card making is serialised
/// (`lock_card_making`), but a reissue's old card may still be moved by
/// another request meanwhile. Each attempt is its own transaction, rolled
/// back whole before the next, and reads afresh.
async fn retry_conflicts<T, F, Fut>(mut attempt: F) -> Result<T, CardError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CardError>>,
{
    const ATTEMPTS: u32 = 8;
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(e) if e.is_conflict() && tried < ATTEMPTS => tried += 1,
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_ids_are_crockford_base32() {
        let id = new_id();
        assert_eq!(id.len(), 10);
        assert!(id.bytes().all(|b| ID_ALPHABET.contains(&b)));
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn dual_control_compares_people_not_roles() {
        assert!(same_person("operator:alice", "user:alice"));
        assert!(same_person("operator:Alice", "operator:alice"));
        assert!(!same_person("operator:alice", "operator:bob"));
    }
}
