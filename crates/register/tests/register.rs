//! The register service on every backend: SQLite always, PostgreSQL when
//! `LANYARD_TEST_PG` is set (each test in its own schema).
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use lanyard_audit::{Actor, Event};
use lanyard_core::{Compartment, Field, PersonRecord, RankTable};
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{ErrorKind, Lookup, Operator, Register};
use lanyard_store::Store;

struct Env {
    name: &'static str,
    store: Store,
    provider: Arc<dyn KeyProvider>,
    raw: Raw,
    _dir: tempfile::TempDir,
}

/// Direct SQL access, to act behind lanyard's back.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn exec(&self, sql: &str) {
        match self {
            Raw::Sqlite(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(p).await.map(|_| ()),
            Raw::Postgres(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(p).await.map(|_| ()),
        }
        .unwrap()
    }
}

async fn envs() -> Vec<Env> {
    let mut out = Vec::new();
    for t in lanyard_testkit::stores().await {
        let raw = match (&t.sqlite_path, &t.postgres) {
            (Some(path), _) => {
                Raw::Sqlite(sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display())).await.unwrap())
            }
            (None, Some((url, schema))) => {
                let opts: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
                Raw::Postgres(
                    sqlx::PgPool::connect_with(opts.options([("search_path", schema.as_str())])).await.unwrap(),
                )
            }
            (None, None) => unreachable!("a test store is on one backend"),
        };
        let provider: Arc<dyn KeyProvider> = Arc::new(
            KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
        );
        out.push(Env { name: t.name, store: t.store, provider, raw, _dir: t.dir });
    }
    out
}

fn op() -> Operator {
    Operator::local(Actor::operator("tester"), false)
}

fn person(sn: &str, surname: &str) -> PersonRecord {
    let ranks = RankTable::default_ranks();
    let mut p = PersonRecord::default();
    for (f, v) in [
        (Field::ServiceNumber, sn),
        (Field::Forenames, "Alex"),
        (Field::Surname, surname),
        (Field::Rank, "Inspector"),
        (Field::Email, &format!("{sn}@force.example")),
        (Field::VettingLevel, "SC"),
        (Field::Salary, "51234"),
    ] {
        p.set_from_text(f, v, &ranks).unwrap();
    }
    p
}

async fn events(store: &lanyard_store::Store) -> Vec<Event> {
    let rows = store.audit_rows(0, 100_000).await.unwrap();
    rows.iter().map(|r| Event::from_bytes(&r.event).unwrap()).collect()
}

const ALL: [Compartment; 4] = Compartment::ALL;

#[tokio::test]
async fn write_read_find_update_with_audit() {
    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let id = reg.add(&op(), person("PC1", "Smith"), false, 2_000).await.unwrap();

        // Purpose is required.
        let err = reg.show(&op(), id, &ALL, None, 3_000).await.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::PurposeRequired), "{}", env.name);

        let p = reg.show(&op(), id, &[Compartment::Pay], Some("payroll query"), 3_000).await.unwrap();
        assert_eq!(p.record.salary.unwrap().pence(), 5_123_400);
        assert!(p.record.surname.is_none(), "only the pay compartment is revealed");

        let found =
            reg.find(&op(), Lookup::Surname("SMITH"), &[Compartment::Identity], Some("lookup"), 4_000).await.unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            reg.find(&op(), Lookup::Email("pc1@FORCE.example"), &ALL, Some("lookup"), 4_000).await.unwrap().len() == 1
        );
        assert!(reg.find(&op(), Lookup::ServiceNumber("pc 1"), &ALL, Some("lookup"), 4_000).await.unwrap().len() == 1);

        let mut change = PersonRecord::default();
        change.set_from_text(Field::Surname, "Smyth", &RankTable::default_ranks()).unwrap();
        reg.update(&op(), id, change, None, 5_000).await.unwrap();
        assert!(reg.find(&op(), Lookup::Surname("smith"), &ALL, Some("lookup"), 6_000).await.unwrap().is_empty());
        let p = reg.find(&op(), Lookup::Surname("smyth"), &ALL, Some("lookup"), 6_000).await.unwrap().remove(0);
        assert_eq!(p.record.forenames.as_deref(), Some("Alex"), "{}: untouched fields survive", env.name);
        assert_eq!(p.record.vetting_level.unwrap().as_str(), "SC");

        // Duplicate service numbers are refused.
        let err = reg.add(&op(), person("PC1", "Other"), false, 7_000).await.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::DuplicateServiceNumber), "{}", env.name);

        let log = events(&env.store).await;
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "register.init",
                "person.create",
                "person.read",
                "person.find",
                "person.find",
                "person.find",
                "person.update",
                "person.find",
                "person.find"
            ],
            "{}",
            env.name
        );
        let read = &log[2];
        assert_eq!(read.people, vec![id]);
        assert_eq!(read.compartments, vec![Compartment::Pay]);
        assert_eq!(read.fields, vec![Field::Salary, Field::PayGrade]);
        // Free text is no code: kept as code `other`, the text sealed.
        assert_eq!(read.purpose.as_deref(), Some("other"));
        assert!(read.note.is_some() && !String::from_utf8_lossy(&read.to_bytes()).contains("payroll query"));
        assert!(log[1].digest.is_some() && log[6].digest.is_some());
        assert_ne!(log[1].digest, log[6].digest);
        // No value ever reaches an event.
        let all = env.store.audit_rows(0, 1000).await.unwrap();
        for row in all {
            let text = String::from_utf8(row.event).unwrap();
            for secret in ["Smith", "Smyth", "PC1", "51234", "Alex", "force.example"] {
                assert!(!text.contains(secret), "{}: event leaks {secret}: {text}", env.name);
            }
        }
    }
}

#[tokio::test]
async fn a_read_whose_event_cannot_be_written_does_not_happen() {
    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let id = reg.add(&op(), person("PC2", "Jones"), false, 2_000).await.unwrap();
        match &env.raw {
            Raw::Sqlite(_) => {
                env.raw
                    .exec("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit offline'); END;")
                    .await
            }
            Raw::Postgres(_) => {
                env.raw
                    .exec(
                        "CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit offline'; END $$ LANGUAGE plpgsql; \
                         CREATE TRIGGER no_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION no_audit();",
                    )
                    .await
            }
        }
        let before = env.store.audit_len().await.unwrap();
        let err = reg.show(&op(), id, &ALL, Some("must fail"), 3_000).await;
        assert!(err.is_err(), "{}: a read without its audit event must fail", env.name);
        let err = reg.find(&op(), Lookup::Surname("jones"), &ALL, Some("must fail"), 3_000).await;
        assert!(err.is_err(), "{}", env.name);
        // Writes fail too, and leave nothing behind.
        assert!(reg.add(&op(), person("PC3", "Brown"), false, 4_000).await.is_err());
        assert_eq!(reg.list(None, 10).await.unwrap().len(), 1, "{}: the failed add left no row", env.name);
        assert_eq!(env.store.audit_len().await.unwrap(), before);
    }
}

#[tokio::test]
async fn protected_people_are_shielded_without_clearance() {
    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let id = reg.add(&op(), person("CT9", "Covert"), true, 2_000).await.unwrap();
        let p = reg.show(&op(), id, &ALL, Some("check"), 3_000).await.unwrap();
        assert_eq!(p.withheld, vec![Compartment::Identity, Compartment::Photo]);
        assert!(p.record.surname.is_none() && p.record.service_number.is_none());
        assert!(p.record.vetting_level.is_some(), "vetting is not shielded by the protected flag");
        let cleared = Operator::local(Actor::operator("ct-lead"), true);
        let p = reg.show(&cleared, id, &ALL, Some("check"), 3_000).await.unwrap();
        assert_eq!(p.record.surname.as_deref(), Some("Covert"));
        let log = events(&env.store).await;
        assert_eq!(log[2].detail, Some(serde_json::json!({ "withheld_protected": 1 })), "{}", env.name);
        assert_eq!(log[3].actor.role, "local_operator+protected");
    }
}

#[tokio::test]
async fn tampered_and_moved_ciphertexts_fail_naming_record_and_field() {
    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let a = reg.add(&op(), person("PC10", "Ahmed"), false, 2_000).await.unwrap();
        let b = reg.add(&op(), person("PC11", "Baker"), false, 2_000).await.unwrap();
        // Move A's identity compartment onto B.
        let (ua, ub) = (a.as_uuid().simple().to_string(), b.as_uuid().simple().to_string());
        let (id_a, id_b) = match env.raw {
            Raw::Sqlite(_) => (format!("x'{ua}'"), format!("x'{ub}'")),
            Raw::Postgres(_) => (format!("'{ua}'"), format!("'{ub}'")),
        };
        env.raw
            .exec(&format!(
                "UPDATE sealed SET fields = (SELECT fields FROM sealed WHERE person_id = {id_a} AND compartment = 'identity'), \
                 wrapped_key = (SELECT wrapped_key FROM sealed WHERE person_id = {id_a} AND compartment = 'identity') \
                 WHERE person_id = {id_b} AND compartment = 'identity'"
            ))
            .await;
        let err = reg.show(&op(), b, &[Compartment::Identity], Some("check"), 3_000).await.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Tampered { .. }), "{}: {err}", env.name);
        let msg = err.to_string();
        assert!(msg.contains(&b.to_string()), "{msg}");
        assert!(!msg.contains("Ahmed") && !msg.contains("Baker"), "{msg}");
        // The read was recorded before the decryption, and its failure after:
        // the log does not claim a read that did not happen.
        let evs = events(&env.store).await;
        let read = evs.iter().rposition(|e| e.action == "person.read").expect("the read's event");
        let failed = evs.iter().find(|e| e.action == "read.failed").expect("a read.failed event");
        assert_eq!(failed.outcome, lanyard_audit::Outcome::Error);
        assert_eq!((failed.people.clone(), failed.compartments.clone()), (vec![b], vec![Compartment::Identity]));
        assert_eq!(failed.detail.as_ref().unwrap()["read_event"], read as u64, "{}", env.name);

        // Swap two field ciphertexts inside A's pay compartment: the field is named.
        let sealed = env.store.sealed(&[*a.as_uuid()], &["pay"]).await.unwrap().remove(0);
        let mut fields = lanyard_register::decode_fields(&sealed.fields).unwrap();
        fields[0].1[20] ^= 0x01;
        let hex: String = lanyard_register::encode_fields(&fields).iter().map(|b| format!("{b:02x}")).collect();
        let literal = match env.raw {
            Raw::Sqlite(_) => format!("x'{hex}'"),
            Raw::Postgres(_) => format!("'\\x{hex}'::bytea"),
        };
        env.raw
            .exec(&format!("UPDATE sealed SET fields = {literal} WHERE person_id = {id_a} AND compartment = 'pay'"))
            .await;
        let err = reg.show(&op(), a, &[Compartment::Pay], Some("check"), 3_000).await.unwrap_err();
        assert!(err.to_string().contains("field salary"), "{}: {err}", env.name);
    }
}

#[tokio::test]
async fn erase_destroys_keys_and_indexes() {
    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let id = reg.add(&op(), person("PC20", "Erasable"), false, 2_000).await.unwrap();
        reg.erase(&op(), id, 3_000).await.unwrap();
        assert!(env.store.sealed(&[*id.as_uuid()], &["identity", "photo", "vetting", "pay"]).await.unwrap().is_empty());
        assert!(reg.find(&op(), Lookup::ServiceNumber("PC20"), &ALL, Some("check"), 4_000).await.unwrap().is_empty());
        let p = reg.show(&op(), id, &ALL, Some("check"), 4_000).await.unwrap();
        assert_eq!(p.status, lanyard_core::PersonStatus::Erased);
        assert_eq!(p.record, PersonRecord::default());
        assert!(matches!(reg.erase(&op(), id, 5_000).await.unwrap_err().kind(), ErrorKind::Erased(_)));
        assert!(matches!(
            reg.update(&op(), id, person("PC21", "X"), None, 5_000).await.unwrap_err().kind(),
            ErrorKind::Erased(_)
        ));
        // The service number is free again.
        reg.add(&op(), person("PC20", "Newcomer"), false, 6_000).await.unwrap();
    }
}

#[tokio::test]
async fn import_is_one_transaction_and_idempotent() {
    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let records: Vec<(usize, PersonRecord)> =
            (0..1200).map(|i| (i + 2, person(&format!("PC{i}"), &format!("Surname{i}")))).collect();
        let outcome = reg.import(&op(), records.clone(), 2_000, &|_| {}).await.unwrap();
        assert_eq!(outcome.imported.len(), 1200, "{}", env.name);
        let again = reg.import(&op(), records, 3_000, &|_| {}).await.unwrap();
        assert!(again.imported.is_empty());
        assert_eq!(again.already_registered.len(), 1200);
        assert_eq!(reg.counts().await.unwrap(), vec![("active".to_owned(), 1200)]);
        let p = reg
            .find(&op(), Lookup::ServiceNumber("PC777"), &[Compartment::Identity], Some("spot check"), 4_000)
            .await
            .unwrap();
        assert_eq!(p[0].record.surname.as_deref(), Some("Surname777"));
    }
}

#[tokio::test]
async fn rotation_is_safe_to_interrupt_and_resume() {
    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let records: Vec<(usize, PersonRecord)> = (0..50).map(|i| (i, person(&format!("R{i}"), "Rota"))).collect();
        reg.import(&op(), records, 2_000, &|_| {}).await.unwrap();
        let before = env.store.sealed_older_than("pay", 2, 1000).await.unwrap();
        assert_eq!(before.len(), 50);
        let report = reg.rotate(&op(), Compartment::Pay, 3_000, 7, &|_| {}).await.unwrap();
        assert_eq!((report.new_version, report.rewrapped), (2, 50));
        // Simulate a rotation interrupted half-way: put half the rows back
        // under version 1, as they were before their batch committed.
        #[allow(clippy::disallowed_methods)]
        let mut tx = env.store.begin().await.unwrap();
        for r in before.iter().take(25) {
            tx.rewrap_sealed(r.person_id, "pay", 2, 1, &r.wrapped_key).await.unwrap();
        }
        tx.commit().await.unwrap();
        // Reopen (a new process) and read everyone: mixed versions all open.
        let reg =
            Register::open(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), 4_000).await.unwrap();
        let all = reg.find(&op(), Lookup::Surname("rota"), &[Compartment::Pay], Some("check"), 4_000).await.unwrap();
        assert_eq!(all.iter().filter(|p| p.record.salary.is_some()).count(), 50, "{}", env.name);
        // A later rotation finishes the job.
        let report = reg.rotate(&op(), Compartment::Pay, 5_000, 1000, &|_| {}).await.unwrap();
        assert_eq!((report.new_version, report.rewrapped), (3, 50));
        let status = reg.keys_status().await.unwrap();
        let pay = status.compartments.iter().find(|c| c.compartment == Compartment::Pay).unwrap();
        assert_eq!(pay.current, 3);
        assert_eq!(pay.versions.iter().map(|v| v.2).collect::<Vec<_>>(), vec![0, 0, 50]);
        let all = reg.find(&op(), Lookup::Surname("rota"), &[Compartment::Pay], Some("check"), 6_000).await.unwrap();
        assert_eq!(all.iter().filter(|p| p.record.salary.is_some()).count(), 50);
    }
}

#[tokio::test]
async fn a_rotation_by_one_process_is_picked_up_by_another() {
    for env in envs().await {
        let a = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let records: Vec<(usize, PersonRecord)> = (0..5).map(|i| (i, person(&format!("S{i}"), "Shared"))).collect();
        a.import(&op(), records, 2_000, &|_| {}).await.unwrap();
        // A second server on the same store, opened before the rotation.
        let b =
            Register::open(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), 4_000).await.unwrap();
        let report = a.rotate(&op(), Compartment::Pay, 3_000, 100, &|_| {}).await.unwrap();
        assert_eq!((report.new_version, report.rewrapped), (2, 5));
        // b has never seen pay key 2; it loads it on meeting a row sealed under it.
        let all = b.find(&op(), Lookup::Surname("shared"), &[Compartment::Pay], Some("check"), 4_000).await.unwrap();
        assert_eq!(all.iter().filter(|p| p.record.salary.is_some()).count(), 5, "{}", env.name);
        let pay = b.keys_status().await.unwrap();
        let pay = pay.compartments.iter().find(|c| c.compartment == Compartment::Pay).unwrap();
        assert_eq!(pay.current, 2, "{}: b now seals under the new key too", env.name);
    }
}

#[tokio::test]
async fn a_different_root_key_cannot_open_the_register() {
    for env in envs().await {
        Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let other: Arc<dyn KeyProvider> =
            Arc::new(KeyringProvider::create(&dir.path().join("k"), b"x", KdfParams::insecure_for_tests()).unwrap());
        let err = Register::open(lanyard_audit::Ledger::new(env.store.clone()), other, 4_000).await.err().unwrap();
        assert!(matches!(err.kind(), ErrorKind::KeyMismatch), "{}", env.name);
        let err = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .err()
            .unwrap();
        assert!(matches!(err.kind(), ErrorKind::AlreadyInitialised));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpointer_signs_while_the_log_grows_and_only_then() {
    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let signed = std::sync::Mutex::new(Vec::new());
        let errors = std::sync::Mutex::new(0);
        let now = || 5_000i64;
        let checker = async {
            // Until a checkpoint covers the whole log (signing the first one
            // makes the log key, which is itself an event).
            let covered = || {
                let store = env.store.clone();
                async move {
                    for _ in 0..500 {
                        let size = lanyard_audit::log::size(&store).await.unwrap();
                        if store.latest_checkpoint().await.unwrap().map(|c| c.0 as u64) == Some(size) {
                            return;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                    panic!("no checkpoint covers the log");
                }
            };
            covered().await;
            reg.add(&op(), person("CP1", "Tick"), false, 2_000).await.unwrap();
            covered().await;
            // Nothing new: several ticks pass without a checkpoint.
            tokio::time::sleep(std::time::Duration::from_millis(120)).await;
            let _ = stop_tx.send(());
        };
        let stop = async {
            let _ = stop_rx.await;
        };
        let operator = op();
        let on_signed = |cp: &lanyard_register::SignedCheckpoint| signed.lock().unwrap().push(cp.tree_size);
        let on_error = |_: &lanyard_register::RegisterError| *errors.lock().unwrap() += 1;
        let (count, ()) = tokio::join!(
            reg.run_checkpointer(&operator, std::time::Duration::from_millis(20), stop, &now, &on_signed, &on_error),
            checker
        );
        let signed = signed.into_inner().unwrap();
        assert_eq!(count, 2, "{}: {signed:?}", env.name);
        assert!(signed[0] < signed[1], "{}", env.name);
        assert_eq!(*errors.lock().unwrap(), 0);
        assert_eq!(env.store.checkpoints().await.unwrap().len(), 2, "{}", env.name);
    }
}

#[tokio::test]
async fn breach_scope_for_a_supplier_token_a_user_and_a_window() {
    use lanyard_audit::Outcome;
    use lanyard_register::ScopeQuery;
    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..4 {
            ids.push(reg.add(&op(), person(&format!("SC{i}"), "Scope"), false, 2_000).await.unwrap());
        }
        // A supplier's token downloads a batch holding two people's printed data.
        let mut download =
            Event::new(10_000, Actor::supplier_token("acme", "tok9"), "batch.download", lanyard_audit::Outcome::Ok);
        download.people = vec![ids[0], ids[1]];
        download.compartments = vec![Compartment::Identity, Compartment::Photo];
        download.fields = vec![Field::Forenames, Field::Surname, Field::Photo];
        // A user reads one person's pay later; a denied attempt reveals nothing.
        let mut read = Event::new(20_000, Actor::user("harriet", "hr_payroll"), "person.read", Outcome::Ok);
        read.people = vec![ids[2]];
        read.compartments = vec![Compartment::Pay];
        read.fields = vec![Field::Salary, Field::PayGrade];
        let mut denied = read.clone();
        denied.outcome = Outcome::Denied;
        denied.people = vec![ids[3]];
        reg.record(&[download, read, denied]).await.unwrap();

        let scope = |actor: Option<&str>, from_ms: Option<i64>, to_ms: Option<i64>| {
            let query = ScopeQuery { actor: actor.map(str::to_owned), from_ms, to_ms, compartment: None };
            let reg = &reg;
            async move {
                let r = reg.breach_scope(&op(), query, 30_000).await.unwrap();
                r.people.iter().map(|x| x.person).collect::<Vec<_>>()
            }
        };
        let mut supplier = vec![ids[0], ids[1]];
        supplier.sort();
        assert_eq!(scope(Some("supplier:acme"), None, None).await, supplier, "{}", env.name);
        assert_eq!(scope(Some("acme"), None, None).await, supplier, "{}", env.name);
        assert!(scope(Some("supplier:other"), None, None).await.is_empty());
        assert_eq!(scope(Some("harriet"), None, None).await, vec![ids[2]], "{}: denied reveals nothing", env.name);
        assert_eq!(scope(None, Some(15_000), Some(25_000)).await, vec![ids[2]], "{}", env.name);
        assert_eq!(scope(None, None, Some(15_000)).await, supplier, "{}", env.name);
        let r = reg
            .breach_scope(&op(), ScopeQuery { actor: Some("acme".into()), ..ScopeQuery::default() }, 30_000)
            .await
            .unwrap();
        assert_eq!(r.people_per_compartment.get(&Compartment::Photo), Some(&2));
        assert!(!r.people_per_compartment.contains_key(&Compartment::Pay));
        assert_eq!(r.actors.iter().collect::<Vec<_>>(), vec!["supplier:acme:tok9"]);
    }
}

/// A key provider that can be switched off, as a token is pulled.
struct Pullable {
    inner: Arc<dyn KeyProvider>,
    present: std::sync::atomic::AtomicBool,
}

impl Pullable {
    fn refuse(&self) -> Result<(), lanyard_crypto::CryptoError> {
        if self.present.load(std::sync::atomic::Ordering::SeqCst) {
            Ok(())
        } else {
            // Any provider error: the keyring's own, for want of a token.
            Err(KeyringProvider::open(std::path::Path::new("/nonexistent/lanyard-token"), b"x").err().unwrap())
        }
    }
}

impl KeyProvider for Pullable {
    fn kind(&self) -> &'static str {
        "pullable"
    }
    fn describe(&self) -> String {
        "a token that can be pulled".into()
    }
    fn wrap(
        &self,
        key: &lanyard_crypto::Key32,
        c: &lanyard_crypto::WrapContext<'_>,
    ) -> Result<Vec<u8>, lanyard_crypto::CryptoError> {
        self.refuse()?;
        self.inner.wrap(key, c)
    }
    fn unwrap(
        &self,
        w: &[u8],
        c: &lanyard_crypto::WrapContext<'_>,
    ) -> Result<lanyard_crypto::Key32, lanyard_crypto::CryptoError> {
        self.refuse()?;
        self.inner.unwrap(w, c)
    }
}

/// Keys unwrapped at open are not used once the provider stops answering:
/// reads, finds and writes are refused (the read's attempt recorded), the
/// outage is logged by the watch, and all works again once it answers.
#[tokio::test]
async fn a_key_provider_that_stops_answering_fails_reads_and_writes_closed() {
    use std::sync::atomic::Ordering;
    for env in envs().await {
        let token = Arc::new(Pullable { inner: env.provider.clone(), present: true.into() });
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), token.clone(), &op(), 1_000)
            .await
            .unwrap()
            .with_key_check_interval(std::time::Duration::from_millis(20));
        let id = reg.add(&op(), person("PC7", "Held"), false, 2_000).await.unwrap();
        assert!(reg.show(&op(), id, &ALL, Some("lookup"), 3_000).await.is_ok());

        token.present.store(false, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(40));
        let before = events(&env.store).await.len();
        let e = reg.show(&op(), id, &ALL, Some("vetting_review: pulled"), 4_000).await.unwrap_err();
        assert!(e.is_key_provider_down(), "{}: {e}", env.name);
        let e = reg.find(&op(), Lookup::Surname("Held"), &ALL, Some("lookup"), 4_000).await.unwrap_err();
        assert!(e.is_key_provider_down(), "{}: {e}", env.name);
        let e = reg.add(&op(), person("PC8", "New"), false, 4_000).await.unwrap_err();
        assert!(e.is_key_provider_down(), "{}: {e}", env.name);
        let mut change = PersonRecord::default();
        change.set_from_text(Field::Surname, "Changed", &RankTable::default_ranks()).unwrap();
        let e = reg.update(&op(), id, change.clone(), None, 4_000).await.unwrap_err();
        assert!(e.is_key_provider_down(), "{}: {e}", env.name);
        assert!(reg.watch_key_provider(4_500).await.unwrap_err().is_key_provider_down());

        let log = events(&env.store).await;
        let new: Vec<&Event> = log[before..].iter().collect();
        let refused: Vec<&&Event> =
            new.iter().filter(|e| e.action == "person.read" && e.outcome == lanyard_audit::Outcome::Error).collect();
        assert_eq!(refused.len(), 1, "{}: the refused read is recorded: {new:?}", env.name);
        assert_eq!(refused[0].people, vec![id]);
        assert_eq!(refused[0].purpose.as_deref(), Some("vetting_review"), "the code, not the note");
        assert!(refused[0].note.is_none());
        assert_eq!(refused[0].detail.as_ref().unwrap()["refused"], "key_provider_unavailable");
        assert!(new.iter().any(|e| e.action == "keys.provider_lost"), "{}: {new:?}", env.name);
        assert!(!new.iter().any(|e| e.outcome == lanyard_audit::Outcome::Ok && e.action.starts_with("person.")));
        assert_eq!(reg.counts().await.unwrap().iter().map(|c| c.1).sum::<i64>(), 1, "nothing was added");

        token.present.store(true, Ordering::SeqCst);
        reg.watch_key_provider(5_000).await.unwrap();
        let p = reg.show(&op(), id, &[Compartment::Identity], Some("lookup"), 5_500).await.unwrap();
        assert_eq!(p.record.surname.as_deref(), Some("Held"));
        reg.update(&op(), id, change, None, 6_000).await.unwrap();
        let log = events(&env.store).await;
        assert!(log.iter().any(|e| e.action == "keys.provider_restored"), "{}", env.name);
    }
}

/// An export is made a page at a time: every event of the window comes out
/// once, in order, with a proof that checks against the signed checkpoint
/// by the verifier key alone; no chunk holds more than a page. A tree node
/// changed, or an event deleted, behind lanyard's back stops the export
/// where it is met, after what came before had gone out: the caller must
/// not pass it on.
#[tokio::test]
async fn an_export_comes_a_page_at_a_time_and_stops_where_the_log_was_changed() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use lanyard_audit::checkpoint::NoteVerifier;
    use lanyard_audit::{Outcome, leaf_hash, merkle};

    for env in envs().await {
        let reg = Register::init(lanyard_audit::Ledger::new(env.store.clone()), env.provider.clone(), &op(), 1_000)
            .await
            .unwrap();
        let before = lanyard_audit::log::size(&env.store).await.unwrap();
        let events: Vec<Event> = (0..4_500i64)
            .map(|i| Event::new(10_000 + i, Actor::operator("tester"), "person.read", Outcome::Ok))
            .collect();
        for chunk in events.chunks(1_000) {
            reg.record(chunk).await.unwrap();
        }
        // 4,000 of them: the window cuts into the first page and the last.
        let (from_ms, to_ms) = (10_300, 14_300);
        let mut export = reg.export_window(&op(), Some(from_ms), Some(to_ms), 20_000).await.unwrap();
        let (mut doc, mut chunks, mut most) = (Vec::new(), 0, 0);
        while let Some(chunk) = export.next_chunk().await.unwrap() {
            chunks += 1;
            // Each event is a line of its own.
            most = most.max(chunk.windows(2).filter(|w| w == b"\n{").count());
            doc.extend(chunk);
        }
        assert_eq!(export.events(), 4_000, "{}", env.name);
        assert!(chunks >= 4, "{}: the head, three pages and the end, not one piece ({chunks})", env.name);
        assert!(most <= 2_000, "{}: a chunk of {most} events", env.name);

        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        let cp = NoteVerifier::parse(v["verifier_key"].as_str().unwrap())
            .unwrap()
            .verify(v["checkpoint"].as_str().unwrap())
            .unwrap();
        assert_eq!(v["tree_size"].as_u64(), Some(cp.size));
        assert_eq!((v["from_ms"].as_i64(), v["to_ms"].as_i64()), (Some(from_ms), Some(to_ms)));
        let out = v["events"].as_array().unwrap();
        assert_eq!(out.len(), 4_000);
        let hash = |v: &serde_json::Value| -> [u8; 32] { B64.decode(v.as_str().unwrap()).unwrap().try_into().unwrap() };
        for (n, e) in out.iter().enumerate() {
            let index = e["index"].as_u64().unwrap();
            assert_eq!(index, before + 300 + n as u64, "{}: in log order, none twice", env.name);
            let bytes = B64.decode(e["event_base64"].as_str().unwrap()).unwrap();
            let leaf = leaf_hash(&bytes);
            assert_eq!(leaf, hash(&e["leaf_hash"]));
            let path: Vec<[u8; 32]> = e["hashes"].as_array().unwrap().iter().map(hash).collect();
            assert!(merkle::verify_inclusion(&leaf, index, cp.size, &path, &cp.root), "{}: event {index}", env.name);
        }

        // A stored node changed behind lanyard's back: the proofs through it
        // no longer reach the signed root, and the export stops there.
        let changed = (before + 4_200) / 2;
        let zeros = if env.name == "sqlite" { "zeroblob(32)" } else { "decode(repeat('00', 32), 'hex')" };
        env.raw.exec(&format!("UPDATE audit_nodes SET hash = {zeros} WHERE level = 1 AND idx = {changed}")).await;
        let mut export = reg.export_window(&op(), None, None, 20_500).await.unwrap();
        let err = loop {
            match export.next_chunk().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("{}: an export through a changed node finished", env.name),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("is not proven by the tree's stored hashes"), "{}: {err}", env.name);
        assert!(export.next_chunk().await.is_err(), "{}: nothing comes after the error", env.name);

        let gone = before + 3_000;
        env.raw.exec(&format!("DELETE FROM audit_log WHERE idx = {gone}")).await;
        let mut export = reg.export_window(&op(), None, None, 21_000).await.unwrap();
        let mut got = 0;
        let err = loop {
            match export.next_chunk().await {
                Ok(Some(_)) => got += 1,
                Ok(None) => panic!("{}: an export with an event missing finished", env.name),
                Err(e) => break e,
            }
        };
        assert!(got >= 2, "{}: the head and the first page went out first", env.name);
        assert!(err.to_string().contains(&format!("audit event {gone} is missing")), "{}: {err}", env.name);
    }
}
