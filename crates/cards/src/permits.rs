//! Zones, permits and access decisions (issue 5 §6).
//!
//! A permit is granted only when the register decides, inside itself, that
//! the person's vetting meets the zone; the requester learns yes or no and
//! a reason code, never the level. Door decisions are audited with their
//! reason, and the zones a person holds go into the `zones` claim so an
//! offline door controller can decide from the card alone.

use lanyard_audit::{Event, Outcome};
use lanyard_core::{CardState, PersonId, VettingLevel};
use lanyard_credential::Verdict;
use lanyard_register::{Operator, VettingDecision};
use lanyard_store::{PermitRow, ZoneRow};
use serde::Serialize;
use uuid::Uuid;

use crate::error::CardError;
use crate::service::Cards;

/// What a door asks about: a card by id, or the QR text read from it.
#[derive(Clone, Copy, Debug)]
pub enum AccessSubject<'a> {
    /// A card id.
    Card(&'a str),
    /// An `LY1:` QR text.
    Qr(&'a str),
}

/// A door's answer.
#[derive(Clone, Debug, Serialize)]
pub struct AccessDecision {
    /// Open or not.
    pub allow: bool,
    /// A stable reason code: `permit`, `unknown_zone`, `card_<verdict>`,
    /// `card_not_issued`, `no_permit`, `vetting_insufficient`,
    /// `vetting_expired`, `not_vetted`.
    pub reason: String,
    /// The card, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
}

fn deny(reason: impl Into<String>, card: Option<String>) -> AccessDecision {
    AccessDecision { allow: false, reason: reason.into(), card }
}

/// Parses `SC,MV` into levels; refuses an empty or unknown list.
pub fn parse_levels(text: &str) -> Result<Vec<VettingLevel>, CardError> {
    let levels: Vec<VettingLevel> = text
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().map_err(|e: lanyard_core::ValidationError| CardError::Invalid(e.to_string())))
        .collect::<Result<_, _>>()?;
    if levels.is_empty() {
        return Err(CardError::Invalid("a zone must accept at least one vetting level".into()));
    }
    Ok(levels)
}

fn check_zone_code(code: &str) -> Result<(), CardError> {
    let ok = (1..=16).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(()) } else { Err(CardError::Invalid("a zone code is 1 to 16 of A-Z, 0-9 and -".into())) }
}

fn vetting_reason(d: VettingDecision) -> &'static str {
    match d {
        VettingDecision::Satisfied => "permit",
        VettingDecision::Insufficient => "vetting_insufficient",
        VettingDecision::Expired => "vetting_expired",
        VettingDecision::NotVetted => "not_vetted",
    }
}

fn today(now_ms: i64) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(now_ms / 1000).map(|t| t.date()).unwrap_or(time::Date::MIN)
}

/// A zone a permit can open, and the vetting it accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Zone {
    /// Short code, as on the credential.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Minimum levels accepted, comma-separated (one per ladder).
    pub accepts: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<ZoneRow> for Zone {
    fn from(r: ZoneRow) -> Self {
        Zone { code: r.code, name: r.name, accepts: r.accepts, created_at: r.created_at }
    }
}

/// A person's permit for a zone over a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Permit {
    /// Permit id.
    pub id: Uuid,
    /// Whose.
    pub person_id: PersonId,
    /// Zone code.
    pub zone: String,
    /// Unix seconds.
    pub valid_from: i64,
    /// Unix seconds.
    pub valid_to: i64,
    /// Actor who granted it.
    pub granted_by: String,
    /// Unix seconds, when withdrawn.
    pub revoked_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<PermitRow> for Permit {
    fn from(r: PermitRow) -> Self {
        Permit {
            id: r.id,
            person_id: PersonId::from_uuid(r.person_id),
            zone: r.zone,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
            granted_by: r.granted_by,
            revoked_at: r.revoked_at,
            created_at: r.created_at,
        }
    }
}

impl Cards {
    fn audit(
        &self,
        op: &Operator,
        now_ms: i64,
        action: &str,
        outcome: Outcome,
        people: Vec<PersonId>,
        detail: serde_json::Value,
    ) -> Event {
        let mut e = Event::new(now_ms, op.actor.clone(), action, outcome);
        e.request_id = Some(op.request_id.clone());
        e.people = people;
        e.detail = Some(detail);
        e
    }

    /// Adds a zone accepting `accepts` (minimum levels, one per ladder).
    pub async fn add_zone(
        &self,
        op: &Operator,
        code: &str,
        name: &str,
        accepts: &str,
        now_ms: i64,
    ) -> Result<Zone, CardError> {
        check_zone_code(code)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(CardError::Invalid("a zone name is 1 to 64 printable characters".into()));
        }
        let levels = parse_levels(accepts)?;
        let mut row = ZoneRow {
            code: code.to_owned(),
            name: name.to_owned(),
            accepts: levels.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(","),
            created_at: now_ms / 1000,
            mac: None,
        };
        self.ledger.tag(&mut row)?;
        let ev = self.audit(
            op,
            now_ms,
            "zone.create",
            Outcome::Ok,
            vec![],
            serde_json::json!({ "zone": row.code, "accepts": row.accepts }),
        );
        let mut tx = self.ledger.begin().await?;
        tx.tx().insert_zone(&row).await.map_err(|e| match e.is_conflict() {
            true => CardError::Exists(format!("zone {code} already exists")),
            false => e.into(),
        })?;
        tx.append(&[ev]).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// Every zone.
    pub async fn zones(&self, now_ms: i64) -> Result<Vec<Zone>, CardError> {
        Ok(self
            .ledger
            .check_all(self.ledger.store().zones().await?, now_ms)
            .await?
            .into_iter()
            .map(Zone::from)
            .collect())
    }

    async fn zone_levels(&self, code: &str, now_ms: i64) -> Result<Option<Vec<VettingLevel>>, CardError> {
        let row = self.ledger.store().zone(code).await?;
        match self.ledger.check_opt(row, now_ms).await? {
            Some(z) => Ok(Some(parse_levels(&z.accepts)?)),
            None => Ok(None),
        }
    }

    /// Grants `person` the zone from `from_s` to `to_s`, if their vetting
    /// meets it. A refusal is audited and answered with a reason code only.
    pub async fn grant_permit(
        &self,
        op: &Operator,
        person: PersonId,
        zone: &str,
        from_s: i64,
        to_s: i64,
        now_ms: i64,
    ) -> Result<Permit, CardError> {
        if to_s <= from_s {
            return Err(CardError::Invalid("a permit must end after it starts".into()));
        }
        let levels = self.zone_levels(zone, now_ms).await?.ok_or_else(|| CardError::Missing("no such zone".into()))?;
        // The zone is named by the permit event; the purpose is a code alone.
        let purpose = "access_check";
        let decision =
            self.register().vetting_satisfies(op, person, &levels, today(to_s * 1000), purpose, now_ms).await?;
        if decision != VettingDecision::Satisfied {
            let reason = vetting_reason(decision);
            let ev = self.audit(
                op,
                now_ms,
                "permit.grant",
                Outcome::Denied,
                vec![person],
                serde_json::json!({ "zone": zone, "refused": reason }),
            );
            self.register().record(&[ev]).await?;
            return Err(CardError::PermitRefused(reason));
        }
        let mut row = PermitRow {
            id: Uuid::now_v7(),
            person_id: *person.as_uuid(),
            zone: zone.to_owned(),
            valid_from: from_s,
            valid_to: to_s,
            granted_by: op.actor.id.clone(),
            revoked_at: None,
            created_at: now_ms / 1000,
            mac: None,
        };
        self.ledger.tag(&mut row)?;
        let ev = self.audit(
            op,
            now_ms,
            "permit.grant",
            Outcome::Ok,
            vec![person],
            serde_json::json!({
                "permit": row.id, "zone": zone, "from": from_s, "to": to_s,
            }),
        );
        let mut tx = self.ledger.begin().await?;
        tx.tx().insert_permit(&row).await?;
        tx.append(&[ev]).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// Revokes a permit.
    pub async fn revoke_permit(&self, op: &Operator, id: Uuid, now_ms: i64) -> Result<(), CardError> {
        let row = self.ledger.store().permit(id).await?;
        let mut row = self.ledger.check_opt(row, now_ms).await?.ok_or_else(|| CardError::NotFound(id.to_string()))?;
        let ev = self.audit(
            op,
            now_ms,
            "permit.revoke",
            Outcome::Ok,
            vec![PersonId::from_uuid(row.person_id)],
            serde_json::json!({ "permit": id, "zone": row.zone }),
        );
        row.revoked_at = Some(now_ms / 1000);
        self.ledger.tag(&mut row)?;
        let mut tx = self.ledger.begin().await?;
        if !tx.tx().revoke_permit(&row).await? {
            return Err(CardError::Invalid("that permit is already revoked".into()));
        }
        tx.append(&[ev]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Permits, of one person or all.
    pub async fn permits(&self, person: Option<PersonId>, now_ms: i64) -> Result<Vec<Permit>, CardError> {
        let rows = self.ledger.store().permits(person.map(|p| *p.as_uuid()), None).await?;
        Ok(self.ledger.check_all(rows, now_ms).await?.into_iter().map(Permit::from).collect())
    }

    /// Zone codes of the person's live permits at `now_s`: the credential's
    /// `zones` claim.
    pub(crate) async fn live_zones(&self, person: PersonId, now_s: i64) -> Result<Vec<String>, CardError> {
        let rows = self.ledger.store().permits(Some(*person.as_uuid()), None).await?;
        let mut zones: Vec<String> = self
            .ledger
            .check_all(rows, now_s * 1000)
            .await?
            .into_iter()
            .filter(|p| p.revoked_at.is_none() && p.valid_to > now_s)
            .map(|p| p.zone)
            .collect();
        zones.sort();
        zones.dedup();
        Ok(zones)
    }

    /// May this card open `zone` at `at_s`? Every answer is audited.
    pub async fn check_access(
        &self,
        op: &Operator,
        subject: AccessSubject<'_>,
        zone: &str,
        at_s: i64,
        now_ms: i64,
    ) -> Result<AccessDecision, CardError> {
        let (decision, person) = self.decide(op, subject, zone, at_s, now_ms).await?;
        let ev = self.audit(
            op,
            now_ms,
            "access.check",
            Outcome::Ok,
            person.into_iter().collect(),
            serde_json::json!({
                "card": decision.card, "zone": zone, "at": at_s, "allow": decision.allow, "reason": decision.reason,
            }),
        );
        self.register().record(&[ev]).await?;
        Ok(decision)
    }

    async fn decide(
        &self,
        op: &Operator,
        subject: AccessSubject<'_>,
        zone: &str,
        at_s: i64,
        now_ms: i64,
    ) -> Result<(AccessDecision, Option<PersonId>), CardError> {
        let card_id = match subject {
            AccessSubject::Card(id) => id.to_owned(),
            AccessSubject::Qr(text) => {
                let v = self.verify_online(op, text, at_s, now_ms).await?;
                let card = v.claims.map(|c| c.card_id);
                if v.verdict != Verdict::Valid {
                    return Ok((deny(format!("card_{}", v.verdict.as_str()), card), None));
                }
                card.unwrap_or_default()
            }
        };
        let Some(levels) = self.zone_levels(zone, now_ms).await? else {
            return Ok((deny("unknown_zone", Some(card_id)), None));
        };
        let row = self.ledger.store().card(&card_id).await?;
        let Some(card) = self.ledger.check_opt(row, now_ms).await? else {
            return Ok((deny("card_unknown", None), None));
        };
        let person = PersonId::from_uuid(card.person_id);
        let card_ok = card.state == CardState::Issued && card.expires_at.is_some_and(|e| at_s < e);
        if !card_ok {
            return Ok((deny("card_not_issued", Some(card_id)), Some(person)));
        }
        let rows = self.ledger.store().permits(Some(card.person_id), Some(zone)).await?;
        let has_permit = self
            .ledger
            .check_all(rows, now_ms)
            .await?
            .iter()
            .any(|p| p.revoked_at.is_none() && p.valid_from <= at_s && at_s < p.valid_to);
        if !has_permit {
            return Ok((deny("no_permit", Some(card_id)), Some(person)));
        }
        // Vetting may have lapsed since the permit was granted.
        let purpose = "access_check";
        let d = self.register().vetting_satisfies(op, person, &levels, today(at_s * 1000), purpose, now_ms).await?;
        let decision = AccessDecision {
            allow: d == VettingDecision::Satisfied,
            reason: vetting_reason(d).into(),
            card: Some(card_id),
        };
        Ok((decision, Some(person)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_levels_and_codes_are_checked() {
        assert_eq!(parse_levels("SC, MV").unwrap(), vec![VettingLevel::Sc, VettingLevel::Mv]);
        assert!(parse_levels("").is_err());
        assert!(parse_levels("SC,XX").is_err());
        assert!(check_zone_code("NSY-L5").is_ok());
        assert!(check_zone_code("nsy").is_err());
        assert!(check_zone_code("").is_err());
    }
}
