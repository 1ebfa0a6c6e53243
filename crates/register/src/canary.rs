//! Canary records (DESIGN §7): one made-up person per recipient, planted in
//! what that recipient is sent (`person export --recipient`). If the canary
//! turns up in a file, the disclosure guard names the recipient, and so the
//! source of the leak.
//!
//! A canary must look like everyone else in the export, so the store keeps
//! only a nonce: the record is generated from `canary_seed(nonce)`, a keyed
//! function of the register's index key, and someone holding the database
//! alone cannot tell which exported row is the canary. For the same reason
//! the generation below is part of the format: the lists and the order of
//! the draws must never change (a changed canary would no longer be
//! recognised). A new generation is a new template version.
//!
//! When it is planted, the canary's service number, email and surname are
//! checked against the register's blind indexes, so it names no real person
//! and no real person's name. Someone registered later with the same
//! identifier wins: the fingerprints drop a canary's identifier that is
//! also a person's.

use lanyard_audit::{Event, Outcome};
use lanyard_core::{Field, PersonId, PersonRecord, PersonStatus, RankTable, normalise_email, normalise_name};
use lanyard_store::{CanaryRow, IndexColumn};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ErrorKind, RegisterError};
use crate::register::{Operator, Register, Revealed};

/// The shape of a canary's made-up values, kept with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryTemplate {
    /// Generation version (1).
    pub v: u32,
    /// Service-number pattern: `#` a digit, `@` a capital letter, anything
    /// else as written (`P######`).
    pub service_number: String,
    /// Mail domain of the force; without it the canary has no email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domain: Option<String>,
}

impl Default for CanaryTemplate {
    fn default() -> Self {
        CanaryTemplate { v: 1, service_number: "P######".into(), email_domain: None }
    }
}

impl CanaryTemplate {
    fn check(&self) -> Result<(), RegisterError> {
        let pattern = &self.service_number;
        let free = pattern.chars().filter(|c| matches!(c, '#' | '@')).count();
        if self.v != 1 {
            return Err(canary_error(format!("canary template version {} is not known", self.v)));
        }
        if pattern.len() > 20 || free < 5 || !pattern.chars().all(|c| c.is_ascii_alphanumeric() || "#@/-".contains(c)) {
            return Err(canary_error(
                "the service-number pattern must be at most 20 letters, digits, '/' or '-', with at least five \
                 '#' (digit) or '@' (letter) places"
                    .into(),
            ));
        }
        if let Some(domain) = &self.email_domain
            && (domain.len() > 200
                || !domain.contains('.')
                || !domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        {
            return Err(canary_error("the mail domain must be a domain name such as police.example".into()));
        }
        Ok(())
    }
}

/// A canary as listed: no values.
#[derive(Clone, Debug, Serialize)]
pub struct CanarySummary {
    /// Who it is planted for.
    pub recipient: String,
    /// Its person id, as exports show it.
    pub id: PersonId,
    /// The shape of its values.
    pub template: CanaryTemplate,
    /// Who planted it.
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A canary with its made-up record.
#[derive(Clone, Debug)]
pub struct Canary {
    /// Who it is planted for, and when.
    pub summary: CanarySummary,
    /// Its record: every field of identity, vetting and pay; no photo.
    pub record: PersonRecord,
}

/// A recipient's name: short, lower case, no spaces (it is written in audit
/// events and reports, so it must not become a place for personal data).
pub fn check_recipient(recipient: &str) -> Result<(), RegisterError> {
    let ok = (1..=64).contains(&recipient.len())
        && recipient.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && recipient.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(canary_error(
            "a recipient is 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
                .into(),
        ))
    }
}

fn canary_error(why: String) -> RegisterError {
    RegisterError::new(ErrorKind::Canary(why))
}

// Part of the format (see the module doc): never edit these lists.
const FORENAMES: &[&str] = &[
    "Adam",
    "Alice",
    "Andrew",
    "Anna",
    "Anthony",
    "Beth",
    "Carl",
    "Caroline",
    "Catherine",
    "Christopher",
    "Claire",
    "Craig",
    "Darren",
    "David",
    "Dean",
    "Donna",
    "Elaine",
    "Emily",
    "Emma",
    "Gemma",
    "Graham",
    "Helen",
    "Ian",
    "James",
    "Jason",
    "Jennifer",
    "Jonathan",
    "Julie",
    "Karen",
    "Kelly",
    "Kevin",
    "Kirsty",
    "Laura",
    "Lee",
    "Lisa",
    "Louise",
    "Mark",
    "Martin",
    "Matthew",
    "Michelle",
    "Natalie",
    "Neil",
    "Nicola",
    "Paul",
    "Peter",
    "Philip",
    "Rachel",
    "Richard",
    "Robert",
    "Samantha",
    "Sarah",
    "Scott",
    "Simon",
    "Stephen",
    "Stuart",
    "Susan",
    "Victoria",
    "Wayne",
    "Zoe",
];
const SURNAMES: &[&str] = &[
    "Ashworth",
    "Barlow",
    "Bateman",
    "Birch",
    "Blackwell",
    "Bradshaw",
    "Brennan",
    "Burrows",
    "Cartwright",
    "Chadwick",
    "Clayton",
    "Colley",
    "Corbett",
    "Crossley",
    "Dawes",
    "Dixon",
    "Eccles",
    "Fairclough",
    "Farrell",
    "Fenton",
    "Garside",
    "Gillespie",
    "Greenhalgh",
    "Hadley",
    "Halliwell",
    "Hartley",
    "Haworth",
    "Hesketh",
    "Holden",
    "Horrocks",
    "Howarth",
    "Ingham",
    "Kenyon",
    "Kershaw",
    "Lomax",
    "Lythgoe",
    "Marsden",
    "Mather",
    "McAllister",
    "Molyneux",
    "Nuttall",
    "Ogden",
    "Openshaw",
    "Pickup",
    "Pilling",
    "Prescott",
    "Ramsbottom",
    "Rawcliffe",
    "Rigby",
    "Rushton",
    "Sharples",
    "Shuttleworth",
    "Slater",
    "Stansfield",
    "Sutcliffe",
    "Tattersall",
    "Threlfall",
    "Tomlinson",
    "Unsworth",
    "Wadsworth",
    "Whitehead",
    "Whittaker",
    "Worsley",
    "Yates",
];
const UNITS: &[&str] = &[
    "Response",
    "Neighbourhood Policing",
    "CID",
    "Roads Policing",
    "Custody",
    "Public Protection",
    "Intelligence",
    "Operations Support",
    "Criminal Justice",
    "Contact Centre",
];
/// Rank, vetting levels that fit it, salary range in pounds.
const RANKS: &[(&str, &[&str], (u32, u32))] = &[
    ("Police Constable", &["RV", "MV", "CTC"], (28_000, 46_000)),
    ("Police Sergeant", &["MV", "SC"], (47_000, 51_000)),
    ("Detective Constable", &["MV", "SC"], (28_000, 46_000)),
    ("Police Community Support Officer", &["RV", "NPPV2F"], (26_000, 31_000)),
    ("Police Staff Band D", &["NPPV2F", "NPPV3"], (30_000, 36_000)),
];

/// Draws from a seed: each value from its own label, so a draw never
/// depends on how many came before it.
struct Draws<'a> {
    seed: &'a [u8; 32],
}

impl Draws<'_> {
    fn bytes(&self, label: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(label.as_bytes());
        h.finalize().into()
    }

    fn below(&self, label: &str, n: usize) -> usize {
        let b = self.bytes(label);
        let mut x = [0u8; 8];
        x.copy_from_slice(b.get(..8).unwrap_or(&[0; 8]));
        // 64 bits over a few hundred choices: the bias is negligible.
        usize::try_from(u64::from_be_bytes(x) % (n.max(1) as u64)).unwrap_or(0)
    }

    fn pick<'s>(&self, label: &str, from: &[&'s str]) -> &'s str {
        from.get(self.below(label, from.len())).copied().unwrap_or("")
    }
}

/// The canary a seed makes: its id (a UUIDv7 of `created_at`) and record.
pub(crate) fn generate(
    seed: &[u8; 32],
    template: &CanaryTemplate,
    created_at: i64,
    ranks: &RankTable,
) -> Result<(PersonId, PersonRecord), RegisterError> {
    let d = Draws { seed };
    let mut sn = String::new();
    for (i, c) in template.service_number.chars().enumerate() {
        match c {
            '#' => sn.push(char::from(b'0' + d.below(&format!("sn{i}"), 10) as u8)),
            '@' => sn.push(char::from(b'A' + d.below(&format!("sn{i}"), 26) as u8)),
            c => sn.push(c),
        }
    }
    let forename = d.pick("forename", FORENAMES);
    let surname = d.pick("surname", SURNAMES);
    let Some(&(rank, levels, (lo, hi))) = RANKS.get(d.below("rank", RANKS.len())) else {
        return Err(RegisterError::new(ErrorKind::Internal("canary rank draw out of range")));
    };
    let salary = lo + u32::try_from(d.below("salary", (hi - lo) as usize / 100)).unwrap_or(0) * 100;
    let expiry = format!(
        "{}-{:02}-{:02}",
        2027 + d.below("expiry-y", 5),
        1 + d.below("expiry-m", 12),
        1 + d.below("expiry-d", 28)
    );
    let mut record = PersonRecord::default();
    let mut texts = vec![
        (Field::ServiceNumber, sn),
        (Field::Forenames, forename.to_owned()),
        (Field::Surname, surname.to_owned()),
        (Field::Rank, rank.to_owned()),
        (Field::Unit, d.pick("unit", UNITS).to_owned()),
        (Field::VettingLevel, d.pick("vetting", levels).to_owned()),
        (Field::VettingExpiry, expiry),
        (Field::Salary, salary.to_string()),
        (Field::PayGrade, format!("G{}", 1 + d.below("grade", 8))),
    ];
    if let Some(domain) = &template.email_domain {
        let n = 10 + d.below("email-n", 90);
        texts.push((Field::Email, format!("{}.{}{n}@{domain}", forename.to_lowercase(), surname.to_lowercase())));
    }
    for (field, text) in texts {
        // A force whose rank table lacks one of these ranks gets its first.
        if field == Field::Rank && ranks.canonical(&text).is_err() {
            let first = ranks.ranks().first().cloned().unwrap_or_default();
            record.set_from_text(field, &first, ranks)?;
            continue;
        }
        record.set_from_text(field, &text, ranks)?;
    }
    let ms = u64::try_from(created_at).unwrap_or(0);
    let tail = d.bytes("id");
    let mut random = [0u8; 10];
    random.copy_from_slice(tail.get(..10).unwrap_or(&[0; 10]));
    let id = uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid();
    Ok((PersonId::from_uuid(id), record))
}

impl Register {
    /// Plants a canary for `recipient`. Its service number, email and
    /// surname are unlike every person's now; a recipient has one canary.
    pub async fn plant_canary(
        &self,
        op: &Operator,
        recipient: &str,
        template: CanaryTemplate,
        now_ms: i64,
    ) -> Result<CanarySummary, RegisterError> {
        check_recipient(recipient)?;
        template.check()?;
        if self.store().canary(recipient).await?.is_some() {
            return Err(canary_error(format!("recipient {recipient} already has a canary")));
        }
        let others = self.all_canaries().await?;
        let template_json = serde_json::to_string(&template)
            .map_err(|_| RegisterError::new(ErrorKind::Internal("canary template does not encode")))?;
        for _attempt in 0..32 {
            let nonce: [u8; 16] = *uuid::Uuid::new_v4().as_bytes();
            let seed = self.vault()?.indexer().canary_seed(&nonce);
            let (id, record) = generate(&seed, &template, now_ms, self.ranks())?;
            if self.names_anyone(&record).await? || others.iter().any(|o| shares_identifier(&o.record, &record)) {
                continue;
            }
            let mut row = CanaryRow {
                recipient: recipient.to_owned(),
                nonce: nonce.to_vec(),
                template: template_json.clone(),
                created_by: op.actor.id.clone(),
                created_at: now_ms,
                mac: None,
            };
            self.ledger.tag(&mut row)?;
            let mut event = Event::new(now_ms, op.actor.clone(), "canary.plant", Outcome::Ok);
            event.request_id = Some(op.request_id.clone());
            event.detail = Some(serde_json::json!({ "recipient": recipient }));
            let mut tx = self.ledger.begin().await?;
            tx.tx().insert_canary(&row).await?;
            tx.append(&[event]).await?;
            tx.commit().await?;
            return Ok(CanarySummary {
                recipient: row.recipient,
                id,
                template,
                created_by: row.created_by,
                created_at: now_ms,
            });
        }
        Err(canary_error(
            "no canary unlike every registered person could be made: widen the service-number pattern".into(),
        ))
    }

    /// Every canary, without values.
    pub async fn canary_list(&self) -> Result<Vec<CanarySummary>, RegisterError> {
        Ok(self.all_canaries().await?.into_iter().map(|c| c.summary).collect())
    }

    /// Every canary with its record, for the disclosure guard's
    /// fingerprints. Audited: whoever holds the values can strip them.
    pub async fn canaries(
        &self,
        op: &Operator,
        purpose: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<Canary>, RegisterError> {
        let purpose = self.purpose(purpose)?;
        // What the guard will blame a leak on: each row must match its tag.
        let rows = self.ledger.check_all(self.store().canaries().await?, now_ms).await?;
        let all = rows.into_iter().map(|row| self.canary_of(row)).collect::<Result<Vec<_>, _>>()?;
        let mut event = Event::new(now_ms, op.actor.clone(), "canary.read", Outcome::Ok);
        event.request_id = Some(op.request_id.clone());
        event.detail = Some(serde_json::json!({ "canaries": all.len() }));
        let note = self.stamp(&mut event, &purpose, now_ms)?;
        self.record_stamped(&event, note).await?;
        Ok(all)
    }

    /// The canary of `recipient`, or an error naming the missing canary.
    /// Its row must match its tag: a nonce moved from another recipient
    /// would plant that recipient's canary and blame them for a leak.
    pub(crate) async fn canary_for(&self, recipient: &str, now_ms: i64) -> Result<Canary, RegisterError> {
        check_recipient(recipient)?;
        let row = self.ledger.check_opt(self.store().canary(recipient).await?, now_ms).await?.ok_or_else(|| {
            RegisterError::new(ErrorKind::CanaryMissing(format!(
                "no canary is planted for recipient {recipient}; plant one first (lanyard canary plant --recipient \
                 {recipient})"
            )))
        })?;
        self.canary_of(row)
    }

    async fn all_canaries(&self) -> Result<Vec<Canary>, RegisterError> {
        self.store().canaries().await?.into_iter().map(|row| self.canary_of(row)).collect()
    }

    fn canary_of(&self, row: CanaryRow) -> Result<Canary, RegisterError> {
        let template: CanaryTemplate = serde_json::from_str(&row.template)
            .map_err(|_| canary_error(format!("the canary of {} has an unreadable template", row.recipient)))?;
        let seed = self.vault()?.indexer().canary_seed(&row.nonce);
        let (id, record) = generate(&seed, &template, row.created_at, self.ranks())?;
        Ok(Canary {
            summary: CanarySummary {
                recipient: row.recipient,
                id,
                template,
                created_by: row.created_by,
                created_at: row.created_at,
            },
            record,
        })
    }

    /// Whether a person has the record's service number, email or surname.
    async fn names_anyone(&self, record: &PersonRecord) -> Result<bool, RegisterError> {
        let vault = self.vault()?;
        let ix = vault.indexer();
        let probes = [
            (IndexColumn::ServiceNumber, Field::ServiceNumber, record.service_number.clone()),
            (IndexColumn::Email, Field::Email, record.email.as_deref().map(normalise_email)),
            (IndexColumn::Surname, Field::Surname, record.surname.as_deref().map(normalise_name)),
        ];
        for (column, field, value) in probes {
            let Some(index) = value.and_then(|v| ix.index(field, &v)) else { continue };
            if !self.store().find(column, &index).await?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn shares_identifier(a: &PersonRecord, b: &PersonRecord) -> bool {
    a.service_number == b.service_number || a.surname == b.surname || (a.email.is_some() && a.email == b.email)
}

/// The canary as an exported row: the fields of the compartments asked for.
pub(crate) fn revealed(canary: &Canary, compartments: &[lanyard_core::Compartment]) -> Revealed {
    let mut record = PersonRecord::default();
    for c in compartments {
        for f in c.fields() {
            if let Some(bytes) = canary.record.field_bytes(*f) {
                // The canary's own values always decode.
                let _ = record.set_field_bytes(*f, bytes);
            }
        }
    }
    Revealed { id: canary.summary.id, status: PersonStatus::Active, protected: false, record, withheld: Vec::new() }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lanyard_audit::Actor;
    use lanyard_core::{Compartment, RankTable};
    use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};

    use super::*;

    fn op() -> Operator {
        Operator::local(Actor::operator("dpo"), false)
    }

    fn person(sn: &str, surname: &str) -> PersonRecord {
        let ranks = RankTable::default_ranks();
        let mut p = PersonRecord::default();
        for (f, v) in [(Field::ServiceNumber, sn), (Field::Forenames, "Alex"), (Field::Surname, surname)] {
            p.set_from_text(f, v, &ranks).unwrap();
        }
        p.set_from_text(Field::Rank, "Inspector", &ranks).unwrap();
        p
    }

    /// The generation is part of the format: a canary planted last year
    /// must come out the same today, or scans stop recognising it.
    #[test]
    fn the_generation_is_pinned() {
        let template = CanaryTemplate { email_domain: Some("police.example".into()), ..CanaryTemplate::default() };
        let (id, r) = generate(&[7; 32], &template, 1_767_225_600_000, &RankTable::default_ranks()).unwrap();
        let text = |f: Field| r.field_text(f).unwrap_or_default();
        let got: Vec<String> = Field::ALL.iter().filter(|f| **f != Field::Photo).map(|f| text(*f)).collect();
        assert_eq!(got, PINNED.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "canary generation changed: {got:?}");
        assert_eq!(id.to_string(), PINNED_ID);
        assert_eq!(id.as_uuid().get_version_num(), 7);
    }

    const PINNED: [&str; 10] = [
        "P753140",
        "Mark",
        "Corbett",
        "Police Community Support Officer",
        "CID",
        "mark.corbett90@police.example",
        "NPPV2F",
        "2027-08-23",
        "26000.00",
        "G2",
    ];
    const PINNED_ID: &str = "019b76da-a800-7bde-ae50-0ced93bf6669";

    #[tokio::test]
    async fn planted_once_regenerated_the_same_and_unlike_everyone() {
        for t in lanyard_testkit::stores().await {
            let provider: Arc<dyn KeyProvider> = Arc::new(
                KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests())
                    .unwrap(),
            );
            let reg = Register::init(lanyard_audit::Ledger::new(t.store.clone()), provider.clone(), &op(), 1_000)
                .await
                .unwrap();
            // Everyone already has one of the canary surnames: no canary can
            // be unlike them all, and none is planted.
            for (i, surname) in SURNAMES.iter().enumerate() {
                reg.add(&op(), person(&format!("X{i:04}"), surname), false, 2_000).await.unwrap();
            }
            let err = reg.plant_canary(&op(), "hr", CanaryTemplate::default(), 3_000).await.unwrap_err();
            assert!(err.to_string().contains("no canary unlike every registered person"), "{}: {err}", t.name);
            assert!(reg.canary_list().await.unwrap().is_empty());

            let fresh = lanyard_testkit::stores().await.into_iter().find(|s| s.name == t.name).unwrap();
            let reg = Register::init(lanyard_audit::Ledger::new(fresh.store.clone()), provider.clone(), &op(), 1_000)
                .await
                .unwrap();
            let a = reg.add(&op(), person("X0001", "Smith"), false, 2_000).await.unwrap();
            // Person ids are UUIDv7 of the clock; the canary's is of the time
            // it is planted, so it sorts between the two.
            std::thread::sleep(std::time::Duration::from_millis(3));
            let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
            let planted =
                reg.plant_canary(&op(), "hr", CanaryTemplate::default(), i64::try_from(wall).unwrap()).await.unwrap();
            std::thread::sleep(std::time::Duration::from_millis(3));
            let b = reg.add(&op(), person("X0002", "Jones"), false, 4_000).await.unwrap();
            for bad in [
                CanaryTemplate { service_number: "P##".into(), ..CanaryTemplate::default() },
                CanaryTemplate { email_domain: Some("not a domain".into()), ..CanaryTemplate::default() },
            ] {
                assert!(reg.plant_canary(&op(), "other", bad, 5_000).await.is_err());
            }
            let all = reg.canaries(&op(), Some("fingerprints"), 5_000).await.unwrap();
            assert_eq!(all.len(), 1);
            assert_eq!(all[0].summary.id, planted.id);
            assert_eq!(reg.canaries(&op(), Some("again"), 6_000).await.unwrap()[0].record, all[0].record);
            assert!(reg.canaries(&op(), None, 6_000).await.is_err(), "reading canaries needs a purpose");

            // In an export, the canary sorts by its id among the people.
            let mut ids = Vec::new();
            let n = reg
                .export_to(&op(), &[Compartment::Identity], Some("feed"), Some("hr"), 7_000, &mut |p| {
                    ids.push(p.id);
                    Ok(())
                })
                .await
                .unwrap();
            assert_eq!(n, 2, "{}: the count is of people", t.name);
            assert_eq!(ids, vec![a, planted.id, b], "{}", t.name);
            let err = reg
                .export_to(&op(), &[Compartment::Identity], Some("feed"), Some("nobody"), 7_000, &mut |_| Ok(()))
                .await
                .unwrap_err();
            assert!(matches!(err.kind(), ErrorKind::CanaryMissing(_)));
        }
    }
}
