//! Crash tests (issue 19 item 2): `lanyard serve` killed with SIGKILL at a
//! random moment while clients write concurrently, then restarted, over
//! many cycles. Seeded: the seed is printed, and `LANYARD_CRASH_SEED`
//! replays a run.
//!
//! What the clients write: people created and updated, cards requested and
//! taken through every step (approve, print, issue, suspend, resume,
//! revoke), permits granted, batches made, downloaded and confirmed by the
//! supplier. Each write is booked as acknowledged (a 2xx came back) or
//! unknown (the connection died first).
//!
//! After every restart:
//! - the server starts (its start-up check finds the log and rows sound);
//! - every acknowledged write is there, exactly once;
//! - an unknown one is wholly there or wholly absent (a person is found
//!   once or not at all and reads whole; a card is in its last
//!   acknowledged state or the one after; a batch lists its cards, and a
//!   pending one's file opens as age);
//! - `lanyard audit verify` passes;
//! - every checkpoint handed out before, in any cycle, is consistent with
//!   the new head, checked by the client with the log's verifier key.
//!
//! And the same for kill -9 of the host commands that write in bulk:
//! `person import`, `batch create` and `backup create`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use reqwest::StatusCode;

use crate::serve::{add_user, login_http as login};
use crate::util::Env;

/// Cycles per store.
const CYCLES: usize = 20;
const PURPOSE: &str = "audit_review";

fn seed() -> u64 {
    let seed = std::env::var("LANYARD_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("crash test seed {seed} (replay with LANYARD_CRASH_SEED={seed})\n").as_bytes(),
    );
    seed
}

/// A server process on a fixed port, so that clients and their session
/// cookies carry over a restart.
struct Proc {
    child: std::process::Child,
}

fn start(env: &Env, port: u16) -> Proc {
    use std::io::BufRead;
    let listen = format!("127.0.0.1:{port}");
    let mut child = env
        .std_cmd()
        .args(["serve", "--listen", &listen, "--reads-per-minute", "1000000", "--read-burst", "1000000"])
        .args(["--checkpoint-every", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::OpenOptions::new().create(true).append(true).open(env.path("server.log")).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(
        line.starts_with("listening on"),
        "the server restarts after a kill -9 (its start-up check passes): {line:?}"
    );
    Proc { child }
}

impl Proc {
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What a write came to.
enum Sent {
    /// A 2xx, with its body.
    Acked(serde_json::Value),
    /// The server answered no: nothing was done. Its problem text.
    Refused(StatusCode, String),
    /// No answer: the server died first. Done or not, wholly.
    Unknown,
}

async fn send(request: reqwest::RequestBuilder, book: &Mutex<Book>) -> Sent {
    match request.timeout(Duration::from_secs(20)).send().await {
        Err(_) => {
            book.lock().unwrap().unknown += 1;
            Sent::Unknown
        }
        Ok(r) if r.status().is_success() => {
            book.lock().unwrap().acked += 1;
            let body = r.bytes().await.unwrap_or_default();
            Sent::Acked(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
        }
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            if status.is_server_error() {
                book.lock().unwrap().server_errors.push(format!("{status}: {text}"));
            }
            Sent::Refused(status, text)
        }
    }
}

#[derive(Default)]
struct PersonRec {
    sn: String,
    created: bool,
    id: Option<String>,
    /// Units written in order; the last acknowledged one's index.
    units: Vec<String>,
    acked_unit: Option<usize>,
}

#[derive(Default)]
struct CardRec {
    id: String,
    acked: &'static str,
    pending: Option<&'static str>,
    /// A batch may have taken it (its print was refused): its state is the
    /// batch's to say.
    loose: bool,
}

#[derive(Default)]
struct BatchRec {
    id: String,
    cards: Vec<String>,
    confirmed: bool,
}

#[derive(Default)]
struct Book {
    people: Vec<PersonRec>,
    cards: Vec<CardRec>,
    permits: Vec<(String, String)>,
    batches: Vec<BatchRec>,
    checkpoints: Vec<String>,
    acked: usize,
    unknown: usize,
    server_errors: Vec<String>,
}

/// The clients, signed in once; sessions live in the store, so they
/// outlast every restart.
struct Clients {
    base: String,
    ida: reqwest::Client,
    abe: reqwest::Client,
    aud: reqwest::Client,
    supplier: String,
    seeded: Vec<(String, String)>,
}

/// Creates a person; their index in the book, and whether it was
/// acknowledged (`None`: the server died first).
async fn create_person(c: &Clients, book: &Mutex<Book>, sn: &str) -> Option<usize> {
    let at = {
        let mut b = book.lock().unwrap();
        b.people.push(PersonRec { sn: sn.to_owned(), units: vec!["U0".into()], ..Default::default() });
        b.people.len() - 1
    };
    let fields = serde_json::json!({ "fields": {
        "service_number": sn, "forenames": "Crash", "surname": "Tester", "rank": "Police Sergeant", "unit": "U0" } });
    match send(c.ida.post(format!("{}/v1/people", c.base)).json(&fields), book).await {
        Sent::Acked(v) => {
            let id = v["id"].as_str().unwrap().to_owned();
            let mut b = book.lock().unwrap();
            let p = &mut b.people[at];
            (p.created, p.id, p.acked_unit) = (true, Some(id), Some(0));
            Some(at)
        }
        Sent::Refused(s, t) => panic!("person create refused: {s} {t}"),
        Sent::Unknown => None,
    }
}

async fn people_worker(c: Arc<Clients>, book: Arc<Mutex<Book>>, tag: String) {
    for n in 0.. {
        let Some(at) = create_person(&c, &book, &format!("{tag}{n:04}")).await else { return };
        let id = book.lock().unwrap().people[at].id.clone().unwrap();
        for u in 1..3 {
            let unit = format!("U{u}");
            book.lock().unwrap().people[at].units.push(unit.clone());
            let change = serde_json::json!({ "fields": { "unit": unit } });
            match send(c.ida.patch(format!("{}/v1/people/{id}", c.base)).json(&change), &book).await {
                Sent::Acked(_) => book.lock().unwrap().people[at].acked_unit = Some(u),
                Sent::Refused(s, t) => panic!("person update refused: {s} {t}"),
                Sent::Unknown => return,
            }
        }
    }
}

/// Adds a person and requests a card for them (one open card of a type
/// per person); the card's index in the book.
async fn request_card(c: &Clients, book: &Mutex<Book>, sn: &str) -> Option<usize> {
    create_person(c, book, sn).await?;
    let body = serde_json::json!({ "person": sn, "type": "staff_pass" });
    match send(c.ida.post(format!("{}/v1/cards", c.base)).json(&body), book).await {
        Sent::Acked(v) => {
            let mut b = book.lock().unwrap();
            b.cards.push(CardRec {
                id: v["id"].as_str().unwrap().to_owned(),
                acked: "requested",
                ..Default::default()
            });
            Some(b.cards.len() - 1)
        }
        Sent::Refused(s, t) => panic!("card request refused: {s} {t}"),
        Sent::Unknown => None,
    }
}

/// One step of a card; `false` once the card is out of this worker's hands.
async fn step(c: &Clients, book: &Mutex<Book>, at: usize, verb: &str, to: &'static str, reason: Option<&str>) -> bool {
    let id = {
        let mut b = book.lock().unwrap();
        b.cards[at].pending = Some(to);
        b.cards[at].id.clone()
    };
    let client = if verb == "approve" { &c.abe } else { &c.ida };
    let mut request = client.post(format!("{}/v1/cards/{id}/{verb}", c.base));
    if let Some(reason) = reason {
        request = request.json(&serde_json::json!({ "reason": reason }));
    }
    match send(request, book).await {
        Sent::Acked(_) => {
            let mut b = book.lock().unwrap();
            (b.cards[at].acked, b.cards[at].pending) = (to, None);
            true
        }
        Sent::Refused(StatusCode::CONFLICT, _) => {
            let mut b = book.lock().unwrap();
            (b.cards[at].loose, b.cards[at].pending) = (true, None);
            false
        }
        Sent::Refused(s, t) => panic!("card {verb} refused: {s} {t}"),
        Sent::Unknown => false,
    }
}

async fn cards_worker(c: Arc<Clients>, book: Arc<Mutex<Book>>, tag: String) {
    let steps: [(&str, &'static str, Option<&str>); 6] = [
        ("approve", "approved", None),
        ("print", "printed", None),
        ("issue", "issued", None),
        ("suspend", "suspended", Some("investigation")),
        ("resume", "issued", None),
        ("revoke", "revoked", Some("lost")),
    ];
    for n in 0.. {
        let Some(at) = request_card(&c, &book, &format!("{tag}{n:04}")).await else { return };
        for (verb, to, reason) in steps {
            if !step(&c, &book, at, verb, to, reason).await {
                if book.lock().unwrap().cards[at].loose {
                    break;
                }
                return;
            }
        }
    }
}

async fn permits_worker(c: Arc<Clients>, book: Arc<Mutex<Book>>) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    for n in 0.. {
        let (_, person) = &c.seeded[n % c.seeded.len()];
        let body = serde_json::json!({ "person": person, "zone": "HQ", "from": now, "to": now + 86_400 });
        match send(c.ida.post(format!("{}/v1/permits", c.base)).json(&body), &book).await {
            Sent::Acked(v) => {
                let id = v["id"].as_str().unwrap_or_else(|| panic!("a permit id in {v}")).to_owned();
                book.lock().unwrap().permits.push((person.clone(), id));
            }
            Sent::Refused(s, t) => panic!("permit grant refused: {s} {t}"),
            Sent::Unknown => return,
        }
    }
}

async fn batches_worker(c: Arc<Clients>, book: Arc<Mutex<Book>>, tag: String) {
    for n in 0.. {
        // Something to batch: a card requested and approved.
        let Some(at) = request_card(&c, &book, &format!("{tag}{n:04}")).await else { return };
        if !step(&c, &book, at, "approve", "approved", None).await && !book.lock().unwrap().cards[at].loose {
            return;
        }
        book.lock().unwrap().cards[at].loose = true;
        let body = serde_json::json!({ "supplier": "acme" });
        let (id, cards) = match send(c.ida.post(format!("{}/v1/batches", c.base)).json(&body), &book).await {
            Sent::Acked(v) => {
                let id = v["batch"]["id"].as_str().unwrap().to_owned();
                let cards: Vec<String> =
                    v["cards"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
                book.lock().unwrap().batches.push(BatchRec { id: id.clone(), cards: cards.clone(), confirmed: false });
                (id, cards)
            }
            // Another worker's batch took every approved card first.
            Sent::Refused(StatusCode::CONFLICT, _) => continue,
            Sent::Refused(s, t) => panic!("batch create refused: {s} {t}"),
            Sent::Unknown => return,
        };
        let download = reqwest::Client::new()
            .get(format!("{}/v1/supplier/batches/{id}", c.base))
            .bearer_auth(&c.supplier)
            .timeout(Duration::from_secs(20));
        match download.send().await {
            Ok(r) if r.status().is_success() => {
                if r.bytes().await.is_err() {
                    return;
                }
            }
            Ok(r) => panic!("batch download refused: {}", r.status()),
            Err(_) => return,
        }
        let confirm = reqwest::Client::new()
            .post(format!("{}/v1/supplier/batches/{id}/confirm", c.base))
            .bearer_auth(&c.supplier)
            .json(&serde_json::json!({ "printed": cards }));
        match send(confirm, &book).await {
            Sent::Acked(_) => {
                let mut b = book.lock().unwrap();
                if let Some(batch) = b.batches.iter_mut().find(|b| b.id == id) {
                    batch.confirmed = true;
                }
            }
            Sent::Refused(s, t) => panic!("batch confirm refused: {s} {t}"),
            Sent::Unknown => return,
        }
    }
}

async fn checkpoints_worker(c: Arc<Clients>, book: Arc<Mutex<Book>>) {
    loop {
        match c.aud.get(format!("{}/v1/audit/checkpoint", c.base)).send().await {
            Ok(r) if r.status().is_success() => {
                let Ok(v) = r.json::<serde_json::Value>().await else { return };
                let note = v["checkpoint"].as_str().unwrap().to_owned();
                let mut b = book.lock().unwrap();
                if b.checkpoints.last() != Some(&note) {
                    b.checkpoints.push(note);
                }
            }
            Ok(r) => panic!("checkpoint refused: {}", r.status()),
            Err(_) => return,
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Looks for `key` anywhere in `v`.
fn find_key<'v>(v: &'v serde_json::Value, key: &str) -> Option<&'v serde_json::Value> {
    match v {
        serde_json::Value::Object(o) => o.get(key).or_else(|| o.values().find_map(|v| find_key(v, key))),
        serde_json::Value::Array(a) => a.iter().find_map(|v| find_key(v, key)),
        _ => None,
    }
}

async fn ok_json(request: reqwest::RequestBuilder, what: &str) -> serde_json::Value {
    let r = request.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// Where a cycle's writes start in the book: each restart checks what was
/// written since the last, and the last restart checks everything again.
#[derive(Clone, Copy, Default)]
struct Marks {
    people: usize,
    cards: usize,
    permits: usize,
    checkpoints: usize,
}

impl Book {
    fn marks(&self) -> Marks {
        Marks {
            people: self.people.len(),
            cards: self.cards.len(),
            permits: self.permits.len(),
            checkpoints: self.checkpoints.len(),
        }
    }
}

/// What the book says from `from` on, checked against the restarted
/// server (batches, the log and its proofs whole every time).
async fn check(
    c: &Clients,
    book: &Book,
    from: Marks,
    verifier: &lanyard_audit::checkpoint::NoteVerifier,
    env: &Env,
    label: &str,
) {
    let base = &c.base;
    for p in &book.people[from.people..] {
        let found = ok_json(
            c.ida
                .post(format!("{base}/v1/people/find"))
                .header("x-lanyard-purpose", PURPOSE)
                .json(&serde_json::json!({ "service_number": p.sn })),
            "find",
        )
        .await;
        let found = found.as_array().unwrap();
        if p.created {
            assert_eq!(found.len(), 1, "{label}: acknowledged person {} is there exactly once", p.sn);
        } else {
            assert!(found.len() <= 1, "{label}: person {} is there at most once", p.sn);
        }
        let Some(id) = found.first().map(|f| f["id"].as_str().unwrap().to_owned()) else { continue };
        if let Some(acked) = &p.id {
            assert_eq!(&id, acked, "{label}: {} keeps its id", p.sn);
        }
        let read = ok_json(
            c.ida.get(format!("{base}/v1/people/{id}?compartments=identity")).header("x-lanyard-purpose", PURPOSE),
            "read",
        )
        .await;
        let unit = find_key(&read, "unit").and_then(|u| u.as_str()).unwrap_or_else(|| panic!("{label}: {read}"));
        let from = p.acked_unit.unwrap_or(0);
        assert!(
            p.units[from..].iter().any(|u| u == unit),
            "{label}: {} has unit {unit}, written {:?}, acknowledged up to {:?}",
            p.sn,
            p.units,
            p.acked_unit
        );
    }

    // Every batch there now, with its cards.
    let batches = ok_json(c.ida.get(format!("{base}/v1/batches")), "batches").await;
    let mut batched = std::collections::HashSet::new();
    for b in batches.as_array().unwrap() {
        let id = b["id"].as_str().unwrap();
        let shown = ok_json(c.ida.get(format!("{base}/v1/batches/{id}")), "batch").await;
        let cards: Vec<String> =
            shown["cards"].as_array().unwrap().iter().map(|c| c["card_id"].as_str().unwrap().to_owned()).collect();
        assert!(!cards.is_empty(), "{label}: batch {id} holds its cards");
        if b["state"] == "pending" {
            let r = c.ida.get(format!("{base}/v1/batches/{id}/file")).send().await.unwrap();
            assert_eq!(r.status(), 200, "{label}: pending batch {id}'s file");
            let bytes = r.bytes().await.unwrap();
            assert!(bytes.starts_with(b"age-encryption.org/v1"), "{label}: batch {id}'s file is whole age");
        }
        if let Some(acked) = book.batches.iter().find(|a| a.id == id) {
            let mut want = acked.cards.clone();
            let mut got = cards.clone();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{label}: batch {id} holds the cards it was made with");
            if acked.confirmed {
                assert_eq!(b["state"], "confirmed", "{label}: batch {id} stays confirmed");
            }
        }
        batched.extend(cards);
    }
    for acked in &book.batches {
        assert!(
            batches.as_array().unwrap().iter().any(|b| b["id"] == acked.id.as_str()),
            "{label}: acknowledged batch {} is there",
            acked.id
        );
    }

    for card in &book.cards[from.cards..] {
        let shown = ok_json(c.ida.get(format!("{base}/v1/cards/{}", card.id)), "card").await;
        if card.loose || batched.contains(&card.id) {
            continue;
        }
        let state = shown["state"].as_str().unwrap();
        assert!(
            state == card.acked || Some(state) == card.pending,
            "{label}: card {} is {state}; acknowledged {}, then asked {:?}",
            card.id,
            card.acked,
            card.pending
        );
    }

    let mut by_person: std::collections::HashMap<&str, Vec<String>> = Default::default();
    for (person, permit) in &book.permits[from.permits..] {
        let have = match by_person.get(person.as_str()) {
            Some(have) => have,
            None => {
                let list = ok_json(c.ida.get(format!("{base}/v1/permits?person={person}")), "permits").await;
                let ids = list.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
                by_person.entry(person.as_str()).or_insert(ids)
            }
        };
        assert!(have.contains(permit), "{label}: acknowledged permit {permit} is there");
    }

    // The log: sound, and every checkpoint handed out is a prefix of it.
    let out = env.run(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{label}: audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for old in &book.checkpoints[from.checkpoints..] {
        let proof = ok_json(
            c.aud
                .post(format!("{base}/v1/audit/proofs/consistency"))
                .json(&serde_json::json!({ "old_checkpoint": old })),
            "consistency proof",
        )
        .await;
        let proof: lanyard_audit::proof::ConsistencyJson = serde_json::from_value(proof).unwrap();
        lanyard_audit::proof::check_consistency(&proof, verifier, old)
            .unwrap_or_else(|e| panic!("{label}: a checkpoint handed out before is not consistent: {e}"));
    }
}

#[test]
fn kill_9_under_concurrent_writes_loses_no_acknowledged_write() {
    let seed = seed();
    for env in Env::all() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        env.init();
        let seeded: Vec<(String, String)> =
            (0..6).map(|i| format!("SEED{i}")).map(|sn| (sn.clone(), env.add(&sn, "Seeded"))).collect();
        env.ok(&["zone", "add", "HQ", "--name", "Headquarters", "--accepts", "MV"]);
        let identity = env.path("acme-identity.txt");
        let recipient = env.ok(&["supplier", "keygen", "--out", identity.to_str().unwrap()]).trim().to_owned();
        env.ok(&["supplier", "add", "acme", "--recipient", &recipient]);
        let token = env.json(&["token", "create", "--role", "print_supplier", "--supplier", "acme", "--expires", "1d"]);
        let supplier = token["secret"].as_str().unwrap().to_owned();
        let secrets: Vec<String> = [("ida", "id_officer"), ("abe", "approver"), ("aud", "auditor")]
            .iter()
            .map(|(n, r)| add_user(&env, n, r))
            .collect();
        let verifier =
            lanyard_audit::checkpoint::NoteVerifier::parse(env.ok(&["audit", "verifier-key"]).trim()).unwrap();

        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut server = start(&env, port);
        let clients = rt.block_on(async {
            Arc::new(Clients {
                base: base.clone(),
                ida: login(&base, "ida", &secrets[0]).await,
                abe: login(&base, "abe", &secrets[1]).await,
                aud: login(&base, "aud", &secrets[2]).await,
                supplier,
                seeded,
            })
        });
        let book = Arc::new(Mutex::new(Book::default()));
        for cycle in 0..CYCLES {
            let label = format!("[{} seed {seed} cycle {cycle}]", env.backend);
            let from = book.lock().unwrap().marks();
            let workers = rt.block_on(async {
                let c = &clients;
                vec![
                    tokio::spawn(people_worker(Arc::clone(c), Arc::clone(&book), format!("K{cycle:02}A"))),
                    tokio::spawn(people_worker(Arc::clone(c), Arc::clone(&book), format!("K{cycle:02}B"))),
                    tokio::spawn(cards_worker(Arc::clone(c), Arc::clone(&book), format!("K{cycle:02}C"))),
                    tokio::spawn(cards_worker(Arc::clone(c), Arc::clone(&book), format!("K{cycle:02}D"))),
                    tokio::spawn(permits_worker(Arc::clone(c), Arc::clone(&book))),
                    tokio::spawn(batches_worker(Arc::clone(c), Arc::clone(&book), format!("K{cycle:02}E"))),
                    tokio::spawn(checkpoints_worker(Arc::clone(c), Arc::clone(&book))),
                ]
            });
            std::thread::sleep(Duration::from_millis(rng.random_range(200..1500)));
            server.kill9();
            rt.block_on(async {
                for w in workers {
                    w.await.unwrap_or_else(|e| {
                        let log = std::fs::read_to_string(env.path("server.log")).unwrap_or_default();
                        let tail: Vec<&str> = log.lines().rev().take(20).collect();
                        panic!(
                            "{label}: a client failed: {e}\nthe server's log, last lines first:\n{}",
                            tail.join("\n")
                        )
                    });
                }
            });
            server = start(&env, port);
            let b = book.lock().unwrap();
            assert!(b.server_errors.is_empty(), "{label}: 5xx answers: {:?}", b.server_errors);
            rt.block_on(check(&clients, &b, from, &verifier, &env, &label));
        }
        // Everything again, against the last restart: nothing acknowledged
        // in an early cycle was lost by a later crash.
        let label = format!("[{} seed {seed} after all cycles]", env.backend);
        rt.block_on(check(&clients, &book.lock().unwrap(), Marks::default(), &verifier, &env, &label));
        let b = book.lock().unwrap();
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!(
                "crash [{}]: {CYCLES} kill -9 cycles, {} writes acknowledged, {} unanswered; {} people, {} cards, {} permits, {} batches, {} checkpoints checked\n",
                env.backend,
                b.acked,
                b.unknown,
                b.people.len(),
                b.cards.len(),
                b.permits.len(),
                b.batches.len(),
                b.checkpoints.len()
            )
            .as_bytes(),
        );
        assert!(b.unknown >= CYCLES / 2, "the kills landed mid-write: {} unanswered", b.unknown);
        drop(b);
        server.kill9();
    }
}

/// Starts `lanyard ARGS` on the host, kills it with SIGKILL after `after`;
/// whether it had finished by then.
fn kill_9_after(env: &Env, args: &[&str], after: Duration) -> bool {
    let mut child = env
        .std_cmd()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    child.wait().unwrap();
    finished
}

/// Runs `lanyard ARGS` to the end and says how long it took: the span a
/// kill is then aimed into.
fn timed(env: &Env, args: &[&str]) -> Duration {
    let started = std::time::Instant::now();
    env.ok(args);
    started.elapsed()
}

/// A moment uniformly within `span`, from 5 % to 95 % of it.
fn within(rng: &mut rand::rngs::StdRng, span: Duration) -> Duration {
    span.mul_f64(rng.random_range(0.05..0.95))
}

fn audit_verifies(env: &Env, label: &str) {
    let out = env.run(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{label}: audit verify after a kill -9: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `person import`, `batch create` and `backup create` killed at random
/// moments: each leaves all of its work or none, and the log sound.
#[test]
fn kill_9_of_bulk_host_commands_leaves_all_or_nothing() {
    let seed = seed();
    for env in Env::all() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0xB01C);
        env.init();
        let mut killed_midway = [0usize; 3];

        // Import: 1,500 people in one file, all or none. The first runs to
        // the end, to time; the others are killed within that time.
        const ROWS: i64 = 1500;
        let mut span = Duration::ZERO;
        for cycle in 0..9 {
            let label = format!("[{} seed {seed} import cycle {cycle}]", env.backend);
            let csv = env.path(&format!("import-{cycle}.csv"));
            let mut text = String::from("service_number,forenames,surname,rank\n");
            for i in 0..ROWS {
                text.push_str(&format!("I{cycle:02}{i:05},Bulk,Imported,Police Sergeant\n"));
            }
            std::fs::write(&csv, text).unwrap();
            let before = env.state().1;
            let args = ["person", "import", csv.to_str().unwrap()];
            if cycle == 0 {
                span = timed(&env, &args);
            } else if !kill_9_after(&env, &args, within(&mut rng, span)) {
                killed_midway[0] += 1;
            }
            let after = env.state().1;
            assert!(after == before || after == before + ROWS, "{label}: {before} people, then {after}");
            audit_verifies(&env, &label);
        }

        // Batch create: each cycle approves four more cards over the API
        // (dual control needs a signed-in approver), then a host `batch
        // create` is killed.
        let identity = env.path("acme-identity.txt");
        let recipient = env.ok(&["supplier", "keygen", "--out", identity.to_str().unwrap()]).trim().to_owned();
        env.ok(&["supplier", "add", "acme", "--recipient", &recipient]);
        let abe = add_user(&env, "abe", "approver");
        let server = crate::serve::Server::start(&env);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let approver = rt.block_on(login(&server.base, "abe", &abe));
        for cycle in 0..7 {
            let label = format!("[{} seed {seed} batch cycle {cycle}]", env.backend);
            for i in 0..4 {
                let sn = format!("BC{cycle}{i}");
                env.add(&sn, "Batched");
                let card = env.json(&["card", "request", "--person", &sn, "--type", "staff_pass"]);
                let id = card["id"].as_str().unwrap().to_owned();
                rt.block_on(ok_json(approver.post(format!("{}/v1/cards/{id}/approve", server.base)), "approve"));
            }
            let before = env.json(&["batch", "list"]).as_array().unwrap().len();
            let args = ["batch", "create", "--supplier", "acme"];
            if cycle == 0 {
                span = timed(&env, &args);
            } else if !kill_9_after(&env, &args, within(&mut rng, span)) {
                killed_midway[1] += 1;
            }
            let batches = env.json(&["batch", "list"]);
            let batches = batches.as_array().unwrap();
            assert!(
                batches.len() == before || batches.len() == before + 1,
                "{label}: {before} batches, then {}",
                batches.len()
            );
            for b in batches {
                let id = b["id"].as_str().unwrap();
                let shown = env.json(&["batch", "show", id]);
                assert!(!shown["cards"].as_array().unwrap().is_empty(), "{label}: batch {id} holds its cards");
                if b["state"] == "pending" {
                    let file = env.path(&format!("{id}-{cycle}.age"));
                    env.ok(&["batch", "export", id, "--out", file.to_str().unwrap()]);
                    assert!(std::fs::read(&file).unwrap().starts_with(b"age-encryption.org/v1"), "{label}");
                }
            }
            // Whatever was not batched is still approved, in the queue.
            if batches.len() == before {
                let queued = env.json(&["card", "list", "--state", "approved"]);
                assert!(queued.as_array().unwrap().len() >= 4, "{label}: the cards are back in the queue");
            }
            audit_verifies(&env, &label);
        }
        server.stop();

        // Backup create: the file is whole and verifies, or is not there.
        let key = age::x25519::Identity::generate();
        let key_file = env.path("backup.key");
        {
            use age::secrecy::ExposeSecret;
            std::fs::write(&key_file, format!("{}\n", key.to_string().expose_secret())).unwrap();
        }
        let recipient = key.to_public().to_string();
        for cycle in 0..7 {
            let label = format!("[{} seed {seed} backup cycle {cycle}]", env.backend);
            let out = env.path(&format!("backup-{cycle}.age"));
            let args = ["backup", "create", "--out", out.to_str().unwrap(), "--recipient", &recipient];
            if cycle == 0 {
                span = timed(&env, &args);
            } else if !kill_9_after(&env, &args, within(&mut rng, span)) {
                killed_midway[2] += 1;
            }
            if out.exists() {
                let verified =
                    env.run(&["backup", "verify", out.to_str().unwrap(), "--identity", key_file.to_str().unwrap()]);
                assert!(
                    verified.status.success(),
                    "{label}: a backup file left by a killed run must verify: {}{}",
                    String::from_utf8_lossy(&verified.stdout),
                    String::from_utf8_lossy(&verified.stderr)
                );
            }
            audit_verifies(&env, &label);
        }
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!(
                "crash [{}]: killed mid-way: {} of 8 imports, {} of 6 batch creates, {} of 6 backups (each after one run to time it)\n",
                env.backend, killed_midway[0], killed_midway[1], killed_midway[2]
            )
            .as_bytes(),
        );
        assert!(killed_midway.iter().all(|&n| n > 0), "some kills must land mid-way: {killed_midway:?}");
    }
}
