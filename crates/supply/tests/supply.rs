//! The supplier exchange on every backend (SQLite always, PostgreSQL when
//! `LANYARD_TEST_PG` is set), with time passed in: batching, download,
//! confirmation, expiry, withdrawal, the failures the issue names, and the
//! compromise test against the drill.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::sync::Arc;

use age::secrecy::ExposeSecret;
use lanyard_audit::{Actor, Event, Outcome};
use lanyard_cards::{Cards, IssuerConfig, PersonRef};
use lanyard_core::{CardAction, CardType, Field, PersonId, PersonRecord, RankTable};
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{Operator, Register};
use lanyard_supply::package::{self, Limits, Package};
use lanyard_supply::{Supply, SupplyConfig, SupplyError};

const T0: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

struct Env {
    name: &'static str,
    register: Arc<Register>,
    store: lanyard_store::Store,
    cards: Cards,
    supply: Supply,
    t: lanyard_testkit::TestStore,
}

type Identities = Vec<Box<dyn age::Identity + Send + Sync>>;

async fn envs() -> Vec<Env> {
    let mut out = Vec::new();
    for t in lanyard_testkit::stores().await {
        let provider: Arc<dyn KeyProvider> = Arc::new(
            KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
        );
        let ledger = lanyard_audit::Ledger::new(t.store.clone());
        let register = Arc::new(Register::init(ledger.clone(), provider, &op("setup"), T0).await.unwrap());
        let cards = Cards::new(Arc::clone(&register), ledger.clone(), IssuerConfig::default());
        let supply = Supply::new(Arc::clone(&register), ledger, cards.clone(), SupplyConfig::default());
        out.push(Env { name: t.name, register, store: t.store.clone(), cards, supply, t });
    }
    out
}

fn op(name: &str) -> Operator {
    Operator::local(Actor::operator(name), false)
}

fn supplier_op(name: &str) -> Operator {
    Operator::local(Actor::supplier_token(name, "t1"), false)
}

fn keys() -> (Identities, String) {
    let (text, recipient) = package::keygen("test");
    (package::parse_identities(text.expose_secret().as_bytes()).unwrap(), recipient)
}

/// A person's values, all distinct, so that a scan can tell whose leaked.
#[derive(Clone, Debug)]
struct Known {
    id: PersonId,
    service_number: String,
    surname: String,
    unit: String,
    email: String,
    vetting: String,
    salary: String,
    pay_grade: String,
    photo: bool,
}

fn tiny_jpeg(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(90, 120, |x, y| image::Rgb([x as u8 ^ seed, y as u8, seed]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg).encode_image(&img).unwrap();
    jpeg
}

async fn person(reg: &Register, i: usize, protected: bool) -> Known {
    let ranks = RankTable::default_ranks();
    let vetting = ["SC", "DV", "CTC", "NPPV3"][i % 4];
    let k = Known {
        id: PersonId::new(),
        service_number: format!("SN{:04}", 7000 + i),
        surname: format!("Zorbrook{}", ["a", "e", "i", "o", "u", "y"][i % 6].repeat(i / 6 + 1)),
        unit: format!("Covert Unit {}", 40 + i),
        email: format!("agent{i}@secret.example"),
        vetting: vetting.into(),
        salary: format!("{}", 61_000 + 37 * i),
        pay_grade: format!("PGX{}", 300 + i),
        photo: i % 3 != 2,
    };
    let mut p = PersonRecord::default();
    for (f, v) in [
        (Field::ServiceNumber, k.service_number.as_str()),
        (Field::Forenames, "Quill"),
        (Field::Surname, k.surname.as_str()),
        (Field::Rank, "Inspector"),
        (Field::Unit, k.unit.as_str()),
        (Field::Email, k.email.as_str()),
        (Field::VettingLevel, k.vetting.as_str()),
        (Field::Salary, k.salary.as_str()),
        (Field::PayGrade, k.pay_grade.as_str()),
    ] {
        p.set_from_text(f, v, &ranks).unwrap();
    }
    if k.photo {
        p.photo = Some(tiny_jpeg(i as u8));
    }
    let id = reg.add(&op("clerk"), p, protected, T0).await.unwrap();
    Known { id, ..k }
}

/// Requests (alice) and approves (bob) a card of `kind`; returns its id.
async fn approved(env: &Env, who: PersonId, kind: CardType) -> String {
    let card = env.cards.request(&op("alice"), PersonRef::Id(who), kind, T0).await.unwrap();
    env.cards.transition(&op("bob"), &card.id, CardAction::Approve, None, T0).await.unwrap();
    card.id
}

async fn events(store: &lanyard_store::Store) -> Vec<Event> {
    let rows = store.audit_rows(0, 100_000).await.unwrap();
    rows.iter().map(|r| Event::from_bytes(&r.event).unwrap()).collect()
}

/// Opens a batch as the supplier's agent does: decrypted, and unpacked only
/// under the force's batch key.
async fn open(env: &Env, file: lanyard_supply::BatchFile, ids: &Identities) -> Package {
    let key = env.supply.batch_key(&op("admin"), T0).await.unwrap();
    let mut sealed = Vec::new();
    file.write_to(&mut sealed).await.unwrap();
    let plain = package::open(&sealed, ids, &Limits::default()).unwrap();
    let pkg = package::unpack(&plain, &Limits::default(), std::slice::from_ref(&key)).unwrap();
    assert_eq!(pkg.signed_by, key, "signed by the force's batch key");
    pkg
}

async fn state_of(env: &Env, card: &str) -> String {
    env.cards.card(card, T0).await.unwrap().state.as_str().to_owned()
}

#[tokio::test]
async fn batch_download_confirm_and_gone() {
    for env in envs().await {
        let n = env.name;
        let (ids, recipient) = keys();
        env.supply.add_supplier(&op("admin"), "acme", &recipient, T0).await.unwrap();
        let mut cards = Vec::new();
        let mut people = BTreeSet::new();
        for i in 0..3 {
            let k = person(&env.register, i, false).await;
            people.insert(k.id);
            let kind = if i == 2 { CardType::VisitorPass } else { CardType::WarrantCard };
            cards.push(approved(&env, k.id, kind).await);
        }
        let created = env.supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap();
        assert_eq!(created.cards.len(), 3, "{n}");
        assert_eq!(created.batch.state.as_str(), "pending");
        assert_eq!(created.batch.expires_at, T0 / 1000 + 72 * 3600, "72 h by default");
        for c in &cards {
            assert_eq!(state_of(&env, c).await, "queued", "{n}");
        }
        // Nothing more to batch.
        assert!(matches!(
            env.supply.create_batch(&op("alice"), "acme", None, T0).await,
            Err(SupplyError::NothingToBatch)
        ));

        let id = created.batch.id.clone();
        let sealed = env.supply.download(&supplier_op("acme"), "acme", &id, T0 + HOUR).await.unwrap();
        let pkg = open(&env, sealed, &ids).await;
        assert_eq!(pkg.manifest.batch, id);
        assert_eq!(pkg.manifest.cards.len(), 3);
        assert_eq!(pkg.files.len(), 9, "front PNG, back PNG and PDF per card");
        for card in &pkg.manifest.cards {
            for f in &card.files {
                let bytes = &pkg.files[&f.name];
                // Each file names its batch: PNG tEXt, PDF info.
                assert!(bytes.windows(id.len()).any(|w| w == id.as_bytes()), "{n}: {} carries the batch id", f.name);
            }
        }
        let manifest = serde_json::to_string(&pkg.manifest).unwrap();
        assert!(!manifest.contains("Zorbrook") && !manifest.contains("SN700"), "the manifest holds ids only");

        // The download event names every person in the batch, before the bytes left.
        let evs = events(&env.store).await;
        let download = evs.iter().find(|e| e.action == "batch.download").unwrap();
        assert_eq!(download.people.iter().copied().collect::<BTreeSet<_>>(), people, "{n}");
        let create = evs.iter().find(|e| e.action == "batch.create").unwrap();
        assert_eq!(create.people.len(), 3);

        // The receipt: two printed, one spoiled (back to the queue).
        let (printed, spoiled) = (vec![cards[0].clone(), cards[1].clone()], vec![cards[2].clone()]);
        let receipt =
            env.supply.confirm(&supplier_op("acme"), "acme", &id, &printed, &spoiled, T0 + 2 * HOUR).await.unwrap();
        assert_eq!((receipt.printed.len(), receipt.spoiled.len()), (2, 1), "{n}");
        assert_eq!(state_of(&env, &cards[0]).await, "printed");
        assert_eq!(state_of(&env, &cards[2]).await, "approved", "a spoiled card waits for the next batch");
        let batch = env.supply.batch(&id, T0).await.unwrap();
        assert_eq!(batch.state.as_str(), "confirmed");
        assert!(env.store.batch_file(&id).await.unwrap().is_none(), "{n}: the file is destroyed");

        // Gone, and a second receipt is refused.
        let err = env.supply.download(&supplier_op("acme"), "acme", &id, T0 + 3 * HOUR).await.unwrap_err();
        assert!(matches!(err, SupplyError::Gone { .. }), "{n}: {err}");
        let err =
            env.supply.confirm(&supplier_op("acme"), "acme", &id, &printed, &spoiled, T0 + 3 * HOUR).await.unwrap_err();
        assert!(matches!(err, SupplyError::AlreadyConfirmed(_)), "{n}: {err}");

        // The spoiled card goes into the next batch.
        let next = env.supply.create_batch(&op("alice"), "acme", None, T0 + 4 * HOUR).await.unwrap();
        assert_eq!(next.cards, vec![cards[2].clone()]);
    }
}

#[tokio::test]
async fn refusals_wrong_supplier_bad_receipts_expiry() {
    for env in envs().await {
        let n = env.name;
        let (_, r1) = keys();
        let (_, r2) = keys();
        env.supply.add_supplier(&op("admin"), "acme", &r1, T0).await.unwrap();
        env.supply.add_supplier(&op("admin"), "rival", &r2, T0).await.unwrap();
        let err = env.supply.add_supplier(&op("admin"), "bad", "age1notarecipient", T0).await.unwrap_err();
        assert!(err.to_string().contains("age X25519 recipient"), "{err}");
        let err = env.supply.add_supplier(&op("admin"), "has space", &r1, T0).await.unwrap_err();
        assert!(matches!(err, SupplyError::Invalid(_)));

        let a = person(&env.register, 0, false).await;
        let b = person(&env.register, 1, false).await;
        let ca = approved(&env, a.id, CardType::WarrantCard).await;
        let cb = approved(&env, b.id, CardType::StaffPass).await;
        let batch = env.supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap().batch.id;

        // The wrong supplier: refused and audited.
        let err = env.supply.download(&supplier_op("rival"), "rival", &batch, T0).await.unwrap_err();
        assert!(matches!(err, SupplyError::NotYours(_)), "{n}: {err}");
        let err = env
            .supply
            .confirm(&supplier_op("rival"), "rival", &batch, std::slice::from_ref(&ca), &[], T0)
            .await
            .unwrap_err();
        assert!(matches!(err, SupplyError::NotYours(_)));
        let denied: Vec<_> = events(&env.store).await.into_iter().filter(|e| e.outcome == Outcome::Denied).collect();
        assert_eq!(denied.len(), 2, "{n}");
        assert!(
            denied.iter().all(|e| e.people.is_empty() && e.detail.as_ref().unwrap()["refused"] == "not_your_batch")
        );
        assert!(env.supply.pending_for(&supplier_op("rival"), "rival", T0).await.unwrap().is_empty());

        // Bad receipts change nothing.
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        for (printed, spoiled, says) in [
            (s(&[&ca, &cb, "ZZZZZZZZZZ"]), s(&[]), "is not in batch"),
            (s(&[&ca]), s(&[]), "missing"),
            (s(&[&ca, &cb]), s(&[&cb]), "named twice"),
        ] {
            let err =
                env.supply.confirm(&supplier_op("acme"), "acme", &batch, &printed, &spoiled, T0).await.unwrap_err();
            assert!(err.to_string().contains(says), "{n}: {err}");
        }
        assert_eq!(env.supply.batch(&batch, T0).await.unwrap().state.as_str(), "pending");
        assert_eq!(state_of(&env, &ca).await, "queued");

        // 72 hours on, unconfirmed: expired and destroyed, cards back in the queue.
        let later = T0 + 72 * HOUR;
        let err = env.supply.download(&supplier_op("acme"), "acme", &batch, later).await.unwrap_err();
        assert!(matches!(err, SupplyError::Gone { ref state, .. } if state.as_str() == "expired"), "{n}: {err}");
        assert_eq!(state_of(&env, &ca).await, "approved");
        assert!(env.store.batch_file(&batch).await.unwrap().is_none());
        let expire = events(&env.store).await.into_iter().find(|e| e.action == "batch.expire").unwrap();
        assert_eq!(expire.people.len(), 2, "{n}: the expiry names the people");
        let err = env.supply.confirm(&supplier_op("acme"), "acme", &batch, &[ca.clone(), cb.clone()], &[], later).await;
        assert!(matches!(err, Err(SupplyError::Gone { .. })), "{n}");
        // A sweep finds nothing more.
        assert!(env.supply.expire_due(&op("sweeper"), later).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn protected_people_are_held_back_and_withdrawal_requeues() {
    for env in envs().await {
        let n = env.name;
        let (_, r1) = keys();
        let (_, r2) = keys();
        env.supply.add_supplier(&op("admin"), "acme", &r1, T0).await.unwrap();
        let open_person = person(&env.register, 0, false).await;
        let covert = person(&env.register, 1, true).await;
        let c1 = approved(&env, open_person.id, CardType::WarrantCard).await;
        let c2 = {
            let clerk = Operator::local(Actor::operator("alice"), true);
            let card = env.cards.request(&clerk, PersonRef::Id(covert.id), CardType::WarrantCard, T0).await.unwrap();
            env.cards.transition(&op("bob"), &card.id, CardAction::Approve, None, T0).await.unwrap();
            card.id
        };
        let created = env.supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap();
        assert_eq!(created.cards, vec![c1.clone()], "{n}");
        assert_eq!(created.held_back, vec![c2.clone()], "{n}: protected persons are never sent to a contractor");

        // A new recipient: the batch sealed to the old one is destroyed.
        let (_, withdrawn) = env.supply.rotate_recipient(&op("admin"), "acme", &r2, T0).await.unwrap();
        assert_eq!(withdrawn, vec![created.batch.id.clone()]);
        let err = env.supply.download(&supplier_op("acme"), "acme", &created.batch.id, T0).await.unwrap_err();
        assert!(matches!(err, SupplyError::Gone { ref state, .. } if state.as_str() == "destroyed"), "{n}: {err}");
        assert_eq!(state_of(&env, &c1).await, "approved");
        let again = env.supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap();
        assert_eq!(env.supply.batch(&again.batch.id, T0).await.unwrap().recipient, r2);

        // Disabled: its batch is destroyed, and it gets and downloads nothing.
        let (s, withdrawn) = env.supply.disable_supplier(&op("admin"), "acme", T0).await.unwrap();
        assert!(!s.enabled && withdrawn == vec![again.batch.id.clone()], "{n}");
        let err = env.supply.download(&supplier_op("acme"), "acme", &again.batch.id, T0).await.unwrap_err();
        assert!(matches!(err, SupplyError::SupplierDisabled(_)), "{n}: {err}");
        let err = env.supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap_err();
        assert!(matches!(err, SupplyError::SupplierDisabled(_)));
        let destroyed = events(&env.store).await.into_iter().filter(|e| e.action == "batch.destroy").count();
        assert_eq!(destroyed, 2);
    }
}

#[tokio::test]
async fn the_automatic_policy_batches_when_due() {
    for env in envs().await {
        let (_, r) = keys();
        env.supply.add_supplier(&op("admin"), "acme", &r, T0).await.unwrap();
        let policy = lanyard_supply::AutoBatch { supplier: "acme".into(), min_cards: 2, max_wait_s: 3600 };
        let k = person(&env.register, 0, false).await;
        approved(&env, k.id, CardType::WarrantCard).await;
        assert!(env.supply.auto_batch(&op("sched"), &policy, T0).await.unwrap().is_none(), "one card, not yet old");
        let made = env.supply.auto_batch(&op("sched"), &policy, T0 + HOUR).await.unwrap();
        assert_eq!(made.map(|c| c.cards.len()), Some(1), "{}: the oldest waited an hour", env.name);
    }
}

/// What a batch yields: its structured text (the manifest, and every
/// credential decoded from the picture on a front PNG) and the raw bytes of
/// every file, and of every file but the PDFs.
fn recovered(pkg: &Package) -> (String, Vec<u8>, Vec<u8>, Vec<lanyard_credential::CardClaims>) {
    // The manifest's file sizes are lanyard's own numbers, not anyone's
    // data, and a PNG's size can equal a salary (a run failed so): they are
    // left out of the text searched.
    let mut manifest = pkg.manifest.clone();
    manifest.cards.iter_mut().flat_map(|c| c.files.iter_mut()).for_each(|f| f.size = 0);
    let mut text = serde_json::to_string(&manifest).unwrap();
    let mut claims = Vec::new();
    for card in &pkg.manifest.cards {
        let front = card.files.iter().find(|f| f.kind == "front_png").unwrap();
        let img = image::load(Cursor::new(&pkg.files[&front.name]), image::ImageFormat::Png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        let (_, qr) = grids[0].decode().unwrap();
        let cose = lanyard_credential::qr::decode_text(&qr).unwrap();
        let signed = lanyard_credential::cose::parse(&cose).unwrap();
        let c = lanyard_credential::CardClaims::from_bytes(signed.payload()).unwrap();
        text.push('\n');
        text.push_str(&serde_json::to_string(&c).unwrap());
        claims.push(c);
    }
    let raw = pkg.files.values().flatten().copied().collect();
    let not_pdf = pkg.files.iter().filter(|(name, _)| !name.ends_with(".pdf")).flat_map(|(_, b)| b).copied().collect();
    (text, raw, not_pdf, claims)
}

fn tokens(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '@' && c != '.').filter(|t| !t.is_empty()).collect()
}

#[tokio::test]
async fn a_full_compromise_yields_exactly_the_drill_and_never_vetting_or_pay() {
    for env in envs().await {
        let n = env.name;
        let (ids, recipient) = keys();
        env.supply.add_supplier(&op("admin"), "acme", &recipient, T0).await.unwrap();
        let mut known = Vec::new();
        for i in 0..9 {
            known.push(person(&env.register, i, false).await);
        }
        let kinds = [CardType::WarrantCard, CardType::StaffPass, CardType::VisitorPass];
        let mut batches = Vec::new();
        // Three batches of three: the first confirmed, the second downloaded
        // (in the spool), the third not yet fetched.
        for round in 0..3 {
            for (j, k) in known.iter().skip(round * 3).take(3).enumerate() {
                approved(&env, k.id, kinds[j]).await;
            }
            batches.push(env.supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap());
        }
        let supplier = supplier_op("acme");
        let first = env.supply.download(&supplier, "acme", &batches[0].batch.id, T0).await.unwrap();
        let _ = open(&env, first, &ids).await;
        env.supply.confirm(&supplier, "acme", &batches[0].batch.id, &batches[0].cards, &[], T0).await.unwrap();
        let spool =
            open(&env, env.supply.download(&supplier, "acme", &batches[1].batch.id, T0).await.unwrap(), &ids).await;

        // The drill, now.
        let drill = env.supply.drill(&op("auditor"), "acme", T0).await.unwrap();
        let drilled: BTreeSet<PersonId> = drill.people.iter().map(|p| p.person).collect();

        // The attacker: the identity, the token (every pending batch) and the spool.
        let mut batches_held = vec![spool];
        for b in env.supply.pending_for(&supplier, "acme", T0).await.unwrap() {
            if b.id != batches[1].batch.id {
                batches_held
                    .push(open(&env, env.supply.download(&supplier, "acme", &b.id, T0).await.unwrap(), &ids).await);
            }
        }
        assert_eq!(batches_held.len(), 2, "{n}");
        let mut text = String::new();
        let mut raw = Vec::new();
        let mut raw_not_pdf = Vec::new();
        let mut field_people: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for pkg in &batches_held {
            let (t, r, r_not_pdf, claims) = recovered(pkg);
            text.push_str(&t);
            raw.extend(r);
            raw_not_pdf.extend(r_not_pdf);
            for c in claims {
                let who = c.number.clone();
                field_people.entry("name").or_default().insert(who.clone());
                field_people.entry("service_number").or_default().insert(who.clone());
                if c.rank.is_some() {
                    field_people.entry("rank").or_default().insert(who.clone());
                }
            }
        }
        let words = tokens(&text);
        let found: BTreeSet<PersonId> = known
            .iter()
            .filter(|k| words.contains(k.service_number.as_str()) || words.contains(k.surname.as_str()))
            .map(|k| k.id)
            .collect();
        assert_eq!(found, drilled, "{n}: the people recovered are exactly the drill's");
        assert_eq!(found.len(), 6);
        // A number is found only where it stands alone: a salary's digits can
        // occur by chance inside a longer number in a file, which is not a
        // leak of the salary. And numbers are not looked for in the PDFs'
        // bytes: a PDF is built of numbers (offsets, stream lengths,
        // coordinates), one of which can equal a salary, while its text is
        // subset-encoded glyphs a raw search would not see anyway. They are
        // looked for in everything recovered as text and in every other file.
        let in_raw = |v: &str| {
            let v = v.as_bytes();
            let numeric = v.iter().all(u8::is_ascii_digit);
            let raw = if numeric { &raw_not_pdf } else { &raw };
            raw.windows(v.len()).enumerate().any(|(at, w)| {
                // Nor inside a word: a hex digest in the manifest is letters
                // and digits, and holds any five digits now and then.
                w == v
                    && !(numeric
                        && (at.checked_sub(1).is_some_and(|b| raw[b].is_ascii_alphanumeric())
                            || raw.get(at + v.len()).is_some_and(u8::is_ascii_alphanumeric)))
            })
        };
        for k in &known {
            for (what, value) in [
                ("vetting", k.vetting.as_str()),
                ("salary", k.salary.as_str()),
                ("pay grade", k.pay_grade.as_str()),
                ("email", k.email.as_str()),
            ] {
                assert!(!words.contains(value), "{n}: {what} of {} leaked", k.id);
            }
            // Long values are searched in every byte of every file too.
            for (what, value) in
                [("unit", &k.unit), ("email", &k.email), ("pay grade", &k.pay_grade), ("salary", &k.salary)]
            {
                // A number counts as a word of the text, not as any five
                // digits inside a hex digest of the manifest.
                let numeric = value.bytes().all(|b| b.is_ascii_digit());
                let in_text = if numeric { words.contains(value.as_str()) } else { text.contains(value.as_str()) };
                assert!(!in_text && !in_raw(value), "{n}: {what} of {} leaked", k.id);
            }
        }
        // Counts per field agree with what was recovered.
        for field in ["name", "service_number", "rank"] {
            assert_eq!(drill.fields[field], field_people[field].len(), "{n}: {field}");
        }
        let with_photo = known.iter().filter(|k| drilled.contains(&k.id) && k.photo).count();
        assert_eq!(drill.fields["photo"], with_photo, "{n}");
        for never in ["vetting", "salary", "pay_grade", "unit", "email"] {
            assert_eq!(drill.fields[never], 0, "{n}: {never}");
        }
        assert_eq!(drill.downloadable.len(), 2);
        assert!(drill.spool.is_empty(), "the downloaded batch is still pending, so it is counted once");
    }
}

/// A batch state or print outcome written outside lanyard does not decode,
/// so no batch is served or confirmed on a state nobody set.
#[tokio::test]
async fn a_stored_batch_state_lanyard_does_not_know_fails_closed() {
    for env in envs().await {
        let (_ids, recipient) = keys();
        env.supply.add_supplier(&op("admin"), "acme", &recipient, T0).await.unwrap();
        let k = person(&env.register, 0, false).await;
        approved(&env, k.id, CardType::WarrantCard).await;
        let created = env.supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap();
        let id = created.batch.id.clone();
        assert!(env.supply.batch(&id, T0).await.is_ok());

        env.t.behind_lanyards_back(&format!("UPDATE batches SET state = 'open' WHERE id = '{}'", id)).await;
        assert!(env.supply.batch(&id, T0).await.is_err(), "an unknown batch state stands for nothing");
        assert!(env.supply.batches(None, None, T0).await.is_err());
        assert!(env.supply.download(&supplier_op("acme"), "acme", &id, T0).await.is_err());

        env.t.behind_lanyards_back(&format!("UPDATE batches SET state = 'pending' WHERE id = '{}'", id)).await;
        env.t.behind_lanyards_back(&format!("UPDATE batch_cards SET outcome = 'lost' WHERE batch_id = '{}'", id)).await;
        assert!(env.supply.batch_cards(&id).await.is_err(), "nor an unknown print outcome");
    }
}

/// Issue 15, attack 2: a supplier's recipient redirected by SQL to the
/// attacker's age key. No batch is sealed to it: the supplier's row is
/// refused when a batch is made, with an `integrity.failure` event, and
/// `audit verify` names the row.
#[tokio::test]
async fn a_recipient_redirected_by_sql_seals_nothing_to_it() {
    for env in envs().await {
        let n = env.name;
        let (_ids, recipient) = keys();
        let (_attacker, theirs) = keys();
        env.supply.add_supplier(&op("admin"), "acme", &recipient, T0).await.unwrap();
        let k = person(&env.register, 0, false).await;
        approved(&env, k.id, CardType::WarrantCard).await;

        env.t.behind_lanyards_back(&format!("UPDATE suppliers SET recipient = '{theirs}' WHERE name = 'acme'")).await;
        let err = env.supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap_err();
        assert!(err.to_string().contains("changed outside lanyard"), "{n}: {err}");
        assert!(env.supply.batches(None, None, T0).await.unwrap().is_empty(), "{n}: nothing was sealed");
        assert!(env.supply.suppliers(T0).await.is_err(), "{n}");

        let failures: Vec<Event> =
            events(&env.store).await.into_iter().filter(|e| e.action == "integrity.failure").collect();
        assert!(failures.iter().any(|e| e.detail.as_ref().unwrap()["table"] == "suppliers"), "{n}");
        let report = env.register.verify_log(&op("dpo"), T0).await.unwrap();
        let found = report.findings.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert!(found.iter().any(|f| f.starts_with("suppliers row acme: does not match its tag")), "{n}: {found:?}");
    }
}

/// Issue 20: a batch's sealed file is stored in 1 MiB chunks as it is
/// sealed, and read back chunk by chunk. Chunks altered, dropped or cut
/// by SQL fail the download (never a short or different file); a closed
/// batch's chunks go with it, and a batch whose making was cut off leaves
/// chunks that are swept a day later.
#[tokio::test]
async fn a_batch_file_lives_in_chunks_checked_on_the_way_out() {
    for env in envs().await {
        let n = env.name;
        let (ids, recipient) = keys();
        env.supply.add_supplier(&op("admin"), "acme", &recipient, T0).await.unwrap();
        // About 270 KB of artwork per card: six cards make two chunks.
        for i in 0..6 {
            let k = person(&env.register, i, false).await;
            approved(&env, k.id, CardType::WarrantCard).await;
        }
        let created = env.supply.create_batch(&op("alice"), "acme", None, T0).await.unwrap();
        let id = created.batch.id.clone();
        let chunks = env.t.count(&format!("SELECT COUNT(*) FROM batch_chunks WHERE batch_id = '{id}'")).await;
        assert!(chunks >= 2, "{n}: {chunks} chunk(s) for {} bytes", created.batch.size);
        let first = env.store.batch_chunk(&id, 0).await.unwrap().unwrap();
        assert_eq!(first.len(), 1 << 20, "{n}: full chunks are 1 MiB");

        // Whole, it opens as the supplier's agent opens it.
        let supplier = supplier_op("acme");
        let pkg = open(&env, env.supply.download(&supplier, "acme", &id, T0).await.unwrap(), &ids).await;
        assert_eq!(pkg.manifest.cards.len(), 6, "{n}");

        // One byte changed by SQL: the download ends in an error, not a file.
        let flip = match n {
            "sqlite" => {
                format!("UPDATE batch_chunks SET bytes = zeroblob(length(bytes)) WHERE batch_id = '{id}' AND seq = 1")
            }
            _ => format!(
                "UPDATE batch_chunks SET bytes = decode(repeat('00', length(bytes)), 'hex') \
                 WHERE batch_id = '{id}' AND seq = 1"
            ),
        };
        let saved = env.store.batch_chunk(&id, 1).await.unwrap().unwrap();
        env.t.behind_lanyards_back(&flip).await;
        let mut out = Vec::new();
        let err = env.supply.download(&supplier, "acme", &id, T0).await.unwrap().write_to(&mut out).await.unwrap_err();
        assert!(matches!(err, SupplyError::FileBroken(_)), "{n}: {err}");
        assert!(err.to_string().contains("SHA-256"), "{n}: {err}");

        // The last chunk dropped: short, an error again.
        let last = chunks - 1;
        env.t.behind_lanyards_back(&format!("DELETE FROM batch_chunks WHERE batch_id = '{id}' AND seq = {last}")).await;
        let err =
            env.supply.download(&supplier, "acme", &id, T0).await.unwrap().write_to(&mut Vec::new()).await.unwrap_err();
        assert!(err.to_string().contains("shorter"), "{n}: {err}");
        drop(saved);

        // Confirmed: every chunk goes with the file.
        env.supply.confirm(&supplier, "acme", &id, &created.cards, &[], T0).await.unwrap();
        assert_eq!(env.t.count(&format!("SELECT COUNT(*) FROM batch_chunks WHERE batch_id = '{id}'")).await, 0);

        // Chunks of a batch never finished: kept while it may still be
        // being made, swept once a day old.
        env.store.put_batch_chunk("Bcutoff", 0, b"partial", T0 / 1000).await.unwrap();
        assert_eq!(env.store.sweep_batch_chunks(T0 / 1000 - 10).await.unwrap(), 0, "{n}");
        assert_eq!(env.store.sweep_batch_chunks(T0 / 1000 + 1).await.unwrap(), 1, "{n}");
    }
}
