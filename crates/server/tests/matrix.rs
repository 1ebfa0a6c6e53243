//! The authorization matrix: every route, with every role and with no
//! credentials, an expired token and a revoked token, over real HTTP on every
//! backend. Each row states the exact status and the audit event it leaves.
//! The table is the reviewer's view of DESIGN §3 as the server enforces it.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use lanyard_access::{Access, SessionPolicy};
use lanyard_audit::{Actor, Event};
use lanyard_core::{Field, PersonRecord, RankTable, Role};
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{Operator, Register};
use std::num::NonZeroU32;

use lanyard_server::limits::{ReadLimiter, ReadQuota};
use lanyard_server::{AppState, Options, Services};

const PASSWORD: &str = "matrix test password";

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    User(Role),
    Supplier,
    /// A print_supplier token of another supplier.
    WrongSupplier,
    Device,
    Nobody,
    ExpiredToken,
    RevokedToken,
}

use Who::*;

const ID: Who = User(Role::IdOfficer);
const APPROVER: Who = User(Role::Approver);
const VETTING: Who = User(Role::VettingOfficer);
const HR: Who = User(Role::HrPayroll);
const AUDITOR: Who = User(Role::Auditor);
const ADMIN: Who = User(Role::Admin);
const DISCLOSURE: Who = User(Role::DisclosureOfficer);
const EVERYONE: [Who; 13] = [
    ID,
    APPROVER,
    VETTING,
    HR,
    AUDITOR,
    ADMIN,
    DISCLOSURE,
    Supplier,
    WrongSupplier,
    Device,
    Nobody,
    ExpiredToken,
    RevokedToken,
];

/// One route: method, path (`{id}` is the test person), and who gets 200.
/// Everyone else authenticated gets 403 and an `access.denied` event;
/// nobody, expired and revoked get 401 and no event. The one exception is
/// a supplier reaching for another supplier's batch: its role passes the
/// policy, the batch's owner does not match, and it gets 403 with a denied
/// `batch.download` or `batch.confirm` event naming nobody.
const ROUTES: &[(&str, &str, &[Who], Option<&str>)] = &[
    ("POST", "/v1/people", &[ID], Some("person.create")),
    ("GET", "/v1/keys", &[AUDITOR, ADMIN], None),
    ("GET", "/v1/audit/checkpoint", &[AUDITOR, ADMIN], None),
    ("GET", "/v1/audit/proofs/inclusion?index=0", &[AUDITOR, ADMIN], None),
    ("POST", "/v1/audit/proofs/consistency", &[AUDITOR, ADMIN], None),
    ("GET", "/v1/audit/export", &[AUDITOR, ADMIN], Some("audit.export")),
    ("POST", "/v1/breach/scope", &[AUDITOR], Some("breach.scope")),
    ("GET", "/v1/people", &[ID, APPROVER, VETTING, HR, AUDITOR], None),
    ("GET", "/v1/people/{id}?compartments=identity", &[ID, APPROVER, VETTING, HR], Some("person.read")),
    // A find is a POST, so a surname never appears in a URL; `#` picks the body.
    ("POST", "/v1/people/find#short", &[ID, APPROVER, VETTING, HR], Some("person.find")),
    ("POST", "/v1/people/find#vetting", &[VETTING], Some("person.find")),
    (
        "GET",
        "/v1/session",
        &[ID, APPROVER, VETTING, HR, AUDITOR, ADMIN, DISCLOSURE, Device, Supplier, WrongSupplier],
        None,
    ),
    ("GET", "/v1/people/{id}?compartments=photo", &[ID, APPROVER], Some("person.read")),
    ("GET", "/v1/people/{id}?compartments=vetting", &[VETTING], Some("person.read")),
    ("GET", "/v1/people/{id}?compartments=pay", &[HR], Some("person.read")),
    ("GET", "/v1/people/{id}?compartments=identity,pay", &[HR], Some("person.read")),
    ("PATCH", "/v1/people/{id}#pay", &[HR], Some("person.update")),
    ("PATCH", "/v1/people/{id}#vetting", &[VETTING], Some("person.update")),
    ("PATCH", "/v1/people/{id}#rank", &[ID], Some("person.update")),
    // Bulk: an export is charged per person against the read allowance; an
    // import writes only what the role may write; a rotation re-wraps keys.
    ("GET", "/v1/people/export?compartments=identity", &[ID, APPROVER, VETTING, HR], Some("person.export")),
    ("POST", "/v1/people/import", &[ID], Some("person.create")),
    ("POST", "/v1/keys/pay/rotate", &[ADMIN], Some("key.rotate,key.rewrap")),
    // Cards: `{card}` is a card the setup operator requested, so the
    // approver here is a second person (dual control holds). The steps run
    // in this order and move it along its lifecycle.
    ("POST", "/v1/cards", &[ID], Some("card.request")),
    ("GET", "/v1/cards", &[ID, APPROVER, AUDITOR], None),
    ("GET", "/v1/cards/{card}", &[ID, APPROVER, AUDITOR], None),
    ("POST", "/v1/cards/{card}/approve", &[APPROVER], Some("card.approve")),
    // Suppliers and batches: `{batch}` is acme's, made in the setup from a
    // second card; `acme` is the supplier token, `rival` the wrong one.
    ("POST", "/v1/suppliers", &[ADMIN], Some("supplier.add")),
    ("GET", "/v1/suppliers", &[ADMIN], None),
    ("POST", "/v1/batches", &[ID], Some("person.read,card.queue,batch.create")),
    ("GET", "/v1/batches", &[ID], None),
    ("GET", "/v1/batches/{batch}", &[ID], None),
    ("GET", "/v1/batch-key", &[ADMIN], None),
    ("GET", "/v1/batches/{batch}/file", &[ID], Some("batch.export")),
    ("GET", "/v1/supplier/batches", &[Supplier, WrongSupplier], None),
    ("GET", "/v1/supplier/batches/{batch}", &[Supplier], Some("batch.download")),
    ("GET", "/v1/suppliers/acme/exposure", &[AUDITOR], Some("drill.supplier_compromise")),
    ("POST", "/v1/supplier/batches/{batch}/confirm", &[Supplier], Some("card.print,batch.confirm")),
    ("POST", "/v1/suppliers/rival/recipient", &[ADMIN], Some("supplier.rotate_recipient")),
    ("POST", "/v1/suppliers/rival/disable", &[ADMIN], Some("supplier.disable")),
    ("POST", "/v1/cards/{card}/print", &[ID], Some("card.print")),
    ("POST", "/v1/cards/{card}/issue", &[ID], Some("card.issue")),
    ("POST", "/v1/cards/{card}/suspend", &[ID], Some("card.suspend")),
    ("POST", "/v1/cards/{card}/resume", &[ID], Some("card.resume")),
    ("GET", "/v1/cards/{card}/credential", &[ID], Some("person.read")),
    ("GET", "/v1/cards/{card}/artwork?side=back", &[ID], Some("person.read")),
    ("POST", "/v1/zones", &[ADMIN], Some("zone.create")),
    ("GET", "/v1/zones", &[ID, AUDITOR, ADMIN], None),
    ("POST", "/v1/permits", &[ID], Some("vetting.check,permit.grant")),
    ("GET", "/v1/permits", &[ID, AUDITOR], None),
    ("GET", "/v1/permits?person={id}", &[ID, AUDITOR], None),
    ("POST", "/v1/permits/{permit}/revoke", &[ID], Some("permit.revoke")),
    ("POST", "/v1/access/check", &[Device, ID], Some("vetting.check,access.check")),
    ("POST", "/v1/verify", &[Device, ID, APPROVER, AUDITOR], Some("card.verify")),
    // Public: signed bits and public keys, no personal data.
    ("GET", "/v1/status-lists/1", &EVERYONE, None),
    ("GET", "/v1/trust-bundle", &EVERYONE, None),
    // The log's tiles: hashes for anyone, events for those who read the log.
    ("GET", "/v1/log/checkpoint", &EVERYONE, None),
    ("GET", "/v1/log/tile/0/000.p/1", &EVERYONE, None),
    ("GET", "/v1/log/tile/entries/000.p/1", &[AUDITOR, ADMIN], None),
    ("POST", "/v1/keys/issuer/rotate", &[ADMIN], Some("key.create")),
    // Users and tokens: admin only. `{token}` is a spare verifier token.
    ("POST", "/v1/users", &[ADMIN], Some("user.create")),
    ("GET", "/v1/users", &[ADMIN], None),
    ("POST", "/v1/users/matrix-new/reset", &[ADMIN], Some("user.reset")),
    ("POST", "/v1/users/matrix-new/disable", &[ADMIN], Some("user.disable")),
    ("POST", "/v1/tokens", &[ADMIN], Some("token.create")),
    ("GET", "/v1/tokens", &[ADMIN], None),
    ("POST", "/v1/tokens/{token}/revoke", &[ADMIN], Some("token.revoke")),
    ("POST", "/v1/audit/verify", &[AUDITOR, ADMIN], None),
    // The disclosure guard: every person's role, no service token.
    ("POST", "/v1/scan", &[ID, APPROVER, VETTING, HR, AUDITOR, ADMIN, DISCLOSURE], Some("disclosure.scan")),
    ("GET", "/v1/audit/events/0", &[AUDITOR, ADMIN], None),
    ("POST", "/v1/cards/{card}/revoke", &[ID], Some("card.revoke")),
    ("POST", "/v1/cards/{card}/reissue", &[ID], Some("card.request")),
    // Last: the person is gone afterwards.
    ("DELETE", "/v1/people/{id}", &[ID], Some("person.erase")),
];

fn code(secret: &str, now: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let t = totp_rs::Builder::new().with_secret(secret.as_ref().to_vec()).with_account_name("m").build().unwrap();
    t.generate(now).to_string()
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn person() -> PersonRecord {
    let ranks = RankTable::default_ranks();
    let mut p = PersonRecord::default();
    for (f, v) in [
        (Field::ServiceNumber, "MX1"),
        (Field::Forenames, "Matrix"),
        (Field::Surname, "Person"),
        (Field::Rank, "Inspector"),
        (Field::VettingLevel, "SC"),
        (Field::Salary, "50000"),
    ] {
        p.set_from_text(f, v, &ranks).unwrap();
    }
    p
}

async fn new_events(store: &lanyard_store::Store, from: &mut i64) -> Vec<Event> {
    let rows = store.audit_rows(*from, 1000).await.unwrap();
    if let Some(last) = rows.last() {
        *from = last.idx + 1;
    }
    rows.iter().map(|r| Event::from_bytes(&r.event).unwrap()).collect()
}

/// A running server on one test store, with a logged-in client per caller.
struct Fixture {
    base: String,
    person: lanyard_core::PersonId,
    card: String,
    batch: String,
    batch_card: String,
    permit: String,
    spare_token: String,
    old_checkpoint: String,
    clients: Vec<(Who, reqwest::Client, Option<String>)>,
    /// Every route the router has, with what it needs.
    table: Vec<lanyard_server::RouteSpec>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(t: &lanyard_testkit::TestStore, reads: ReadQuota) -> Fixture {
    let provider: Arc<dyn KeyProvider> = Arc::new(
        KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
    );
    let setup = Operator::local(Actor::operator("setup"), false);
    let ledger = lanyard_audit::Ledger::new(t.store.clone());
    let register = Register::init(ledger.clone(), Arc::clone(&provider), &setup, now_s() * 1000).await.unwrap();
    let person = register.add(&setup, person(), false, now_s() * 1000).await.unwrap();
    // The log's signing key exists before the matrix runs (making it is an event).
    let old_checkpoint = register.checkpoint(&setup, None, now_s() * 1000).await.unwrap().checkpoint;
    register
        .plant_canary(&setup, "hr-feed", lanyard_register::CanaryTemplate::default(), now_s() * 1000)
        .await
        .unwrap();
    let access = Access::new(ledger.clone(), provider, SessionPolicy::default());
    let register = Arc::new(register);
    let cards =
        lanyard_cards::Cards::new(Arc::clone(&register), ledger.clone(), lanyard_cards::IssuerConfig::default());
    let card = cards
        .request(&setup, lanyard_cards::PersonRef::Id(person), lanyard_core::CardType::WarrantCard, now_s() * 1000)
        .await
        .unwrap()
        .id;
    // The issuer key exists before the matrix runs, as the log key does.
    cards.trust_bundle(&setup, now_s() * 1000).await.unwrap();
    // Two suppliers, and a batch for acme holding a second card.
    let supply = lanyard_supply::Supply::new(Arc::clone(&register), ledger.clone(), cards.clone(), Default::default());
    for name in ["acme", "rival"] {
        let (_, recipient) = lanyard_supply::package::keygen("matrix");
        supply.add_supplier(&setup, name, &recipient, now_s() * 1000).await.unwrap();
    }
    let batch_card = cards
        .request(&setup, lanyard_cards::PersonRef::Id(person), lanyard_core::CardType::StaffPass, now_s() * 1000)
        .await
        .unwrap()
        .id;
    let second = Operator::local(Actor::operator("second"), false);
    cards.transition(&second, &batch_card, lanyard_core::CardAction::Approve, None, now_s() * 1000).await.unwrap();
    let batch = supply.create_batch(&setup, "acme", None, now_s() * 1000).await.unwrap().batch.id;
    // A zone and a permit to list and revoke.
    cards.add_zone(&setup, "SETUP", "Setup zone", "SC", now_s() * 1000).await.unwrap();
    let permit = cards
        .grant_permit(&setup, person, "SETUP", now_s(), now_s() + 3600, now_s() * 1000)
        .await
        .unwrap()
        .id
        .to_string();

    // A client per caller: users log in; tokens are presented as bearers.
    let now = now_s();
    let mut secrets = Vec::new();
    for role in [
        Role::IdOfficer,
        Role::Approver,
        Role::VettingOfficer,
        Role::HrPayroll,
        Role::Auditor,
        Role::Admin,
        Role::DisclosureOfficer,
    ] {
        let e = access.create_user(&setup.actor, role.as_str(), role, PASSWORD, false, now).await.unwrap();
        secrets.push((role, e.totp_secret.to_string()));
    }
    let supplier = access.create_token(&setup.actor, Role::PrintSupplier, "acme", 3600, now).await.unwrap();
    let device = access.create_token(&setup.actor, Role::Verifier, "gate-1", 3600, now).await.unwrap();
    let expired = access.create_token(&setup.actor, Role::Verifier, "gate-2", 60, now - 120).await.unwrap();
    let rival = access.create_token(&setup.actor, Role::PrintSupplier, "rival", 3600, now).await.unwrap();
    let revoked = access.create_token(&setup.actor, Role::PrintSupplier, "acme", 3600, now).await.unwrap();
    access.revoke_token(&setup.actor, revoked.token.id, now).await.unwrap();
    let spare_token =
        access.create_token(&setup.actor, Role::Verifier, "gate-3", 3600, now).await.unwrap().token.id.to_string();

    let state = Arc::new(AppState::new(
        Services {
            guard: Arc::new(lanyard_server::Guard::new(lanyard_guard::Scanner::default())),
            cards,
            supply,
            register,
            access: Arc::new(access),
        },
        Options {
            secure_cookies: false,
            reads: ReadLimiter::new(reads),
            degraded: None,
            // Long: refusals are counted and written at shutdown, so the
            // tests that count events see only their own.
            rejection_window: std::time::Duration::from_secs(3600),
            csp_reports: false,
            connections: lanyard_server::ConnectionLimits::default(),
        },
    ));
    let table = lanyard_server::router_and_table(Arc::clone(&state)).1;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lanyard_server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let mut clients = Vec::new();
    for who in EVERYONE {
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        if let User(role) = who {
            let secret = &secrets.iter().find(|(r, _)| *r == role).unwrap().1;
            let body =
                serde_json::json!({ "name": role.as_str(), "password": PASSWORD, "code": code(secret, now as u64) });
            let r = client.post(format!("{base}/v1/login")).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 200, "[{}] login {role}", t.name);
        }
        let bearer = match who {
            Supplier => Some(supplier.secret.to_string()),
            WrongSupplier => Some(rival.secret.to_string()),
            Device => Some(device.secret.to_string()),
            ExpiredToken => Some(expired.secret.to_string()),
            RevokedToken => Some(revoked.secret.to_string()),
            _ => None,
        };
        clients.push((who, client, bearer));
    }
    Fixture { base, person, card, batch, batch_card, permit, spare_token, old_checkpoint, clients, table, stop, server }
}

impl Fixture {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }

    fn client(&self, who: Who) -> &reqwest::Client {
        &self.clients.iter().find(|c| c.0 == who).unwrap().1
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_with_every_caller() {
    for t in lanyard_testkit::stores().await {
        let f = start(&t, ReadQuota::default()).await;
        let mut cursor = t.store.audit_len().await.unwrap();
        for (method, path, allowed, read_action) in ROUTES {
            for (who, client, bearer) in &f.clients {
                let (route, variant) = path.split_once('#').unwrap_or((path, ""));
                let route = route
                    .replace("{id}", &f.person.to_string())
                    .replace("{card}", &f.card)
                    .replace("{batch}", &f.batch)
                    .replace("{permit}", &f.permit)
                    .replace("{token}", &f.spare_token);
                let url = format!("{}{route}", f.base);
                let mut req = client.request(method.parse().unwrap(), &url).header("X-Lanyard-Purpose", "matrix test");
                if *method == "PATCH" {
                    let fields = match variant {
                        "pay" => serde_json::json!({ "salary": "51000" }),
                        "vetting" => serde_json::json!({ "vetting_level": "DV" }),
                        _ => serde_json::json!({ "rank": "Chief Inspector" }),
                    };
                    req = req.json(&serde_json::json!({ "fields": fields }));
                } else if route == "/v1/people/find" {
                    req = req.json(&match variant {
                        "vetting" => serde_json::json!({ "surname": "person", "compartments": "vetting" }),
                        _ => serde_json::json!({ "service_number": "MX1" }),
                    });
                } else if *path == "/v1/cards" {
                    req = req.json(&serde_json::json!({ "person": f.person.to_string(), "type": "staff_pass" }));
                } else if *path == "/v1/audit/proofs/consistency" {
                    req = req.json(&serde_json::json!({ "old_checkpoint": f.old_checkpoint }));
                } else if *path == "/v1/zones" {
                    req = req.json(&serde_json::json!({ "code": "MX", "name": "Matrix zone", "accepts": ["SC"] }));
                } else if *path == "/v1/permits" {
                    let now = now_s();
                    req = req.json(&serde_json::json!({
                        "person": f.person.to_string(), "zone": "MX", "from": now - 60, "to": now + 3600
                    }));
                } else if *path == "/v1/access/check" {
                    req = req.json(&serde_json::json!({ "card": f.card, "zone": "MX" }));
                } else if *path == "/v1/people/import" {
                    let csv =
                        format!("service_number,forenames,surname,rank\nIMP{cursor},Imp,Orter,Police Constable\n");
                    req = req.header("content-type", "text/csv").body(csv);
                } else if *path == "/v1/scan" {
                    let body = "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"reply.csv\"\r\n\
                                Content-Type: text/csv\r\n\r\nRank,Headcount\nConstable,6803\n\r\n--B--\r\n";
                    req = req.header("content-type", "multipart/form-data; boundary=B").body(body);
                } else if *path == "/v1/users" {
                    req = req
                        .json(&serde_json::json!({ "name": "matrix-new", "role": "approver", "password": PASSWORD }));
                } else if path.ends_with("/reset") {
                    req = req.json(&serde_json::json!({ "password": "another matrix password" }));
                } else if *path == "/v1/tokens" {
                    req =
                        req.json(&serde_json::json!({ "role": "verifier", "device": "gate-9", "expires_in_s": 3600 }));
                } else if *path == "/v1/suppliers" {
                    let (_, recipient) = lanyard_supply::package::keygen("matrix");
                    req = req.json(&serde_json::json!({ "name": "matrix-new", "recipient": recipient }));
                } else if path.ends_with("/recipient") {
                    let (_, recipient) = lanyard_supply::package::keygen("matrix");
                    req = req.json(&serde_json::json!({ "recipient": recipient }));
                } else if *path == "/v1/batches" {
                    req = req.json(&serde_json::json!({ "supplier": "acme" }));
                } else if path.ends_with("/confirm") {
                    req = req.json(&serde_json::json!({ "printed": [f.batch_card] }));
                } else if *path == "/v1/verify" {
                    req = req.json(&serde_json::json!({ "qr": "LY1:NOT A CARD" }));
                } else if path.starts_with("/v1/cards/") && *method == "POST" {
                    let verb = path.rsplit('/').next().unwrap();
                    let reason = matches!(verb, "suspend" | "revoke" | "reissue").then_some("lost");
                    req = req.json(&serde_json::json!({ "reason": reason }));
                } else if *path == "/v1/breach/scope" {
                    req = req.json(&serde_json::json!({ "actor": "user:hr_payroll" }));
                } else if *method == "POST" {
                    req = req.json(&serde_json::json!({ "fields": {
                        "service_number": format!("NEW{}", cursor), "forenames": "New", "surname": "Starter",
                        "rank": "Police Constable"
                    }}));
                }
                if let Some(b) = bearer {
                    req = req.bearer_auth(b);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let body = resp.text().await.unwrap_or_default();
                let events = new_events(&t.store, &mut cursor).await;
                let authenticated = !matches!(who, Nobody | ExpiredToken | RevokedToken);
                let ok = match (*method, *path) {
                    (_, "/v1/breach/scope" | "/v1/verify" | "/v1/access/check" | "/v1/audit/proofs/consistency") => 200,
                    ("POST", p) if p.starts_with("/v1/keys/") || p.starts_with("/v1/people/find") => 200,
                    ("POST", p) if p.starts_with("/v1/cards/") => 200,
                    ("POST", p) if p.starts_with("/v1/supplier/") || p.starts_with("/v1/suppliers/") => 200,
                    ("POST", p) if p.ends_with("/reset") || p == "/v1/audit/verify" || p == "/v1/scan" => 200,
                    ("POST", p) if p.ends_with("/disable") || p.ends_with("/revoke") => 204,
                    ("POST", _) => 201,
                    ("DELETE" | "PATCH", _) => 204,
                    _ => 200,
                };
                let foreign_batch = *who == WrongSupplier && path.starts_with("/v1/supplier/batches/");
                let (want, want_event) = if allowed.contains(who) {
                    (ok, *read_action)
                } else if foreign_batch {
                    (403, Some(if path.ends_with("/confirm") { "batch.confirm" } else { "batch.download" }))
                } else if authenticated {
                    (403, Some("access.denied"))
                } else {
                    (401, None)
                };
                assert_eq!(status, want, "[{}] {method} {path} as {who:?}: {body}", t.name);
                let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
                match want_event {
                    Some(action) => {
                        let want: Vec<&str> = action.split(',').collect();
                        assert_eq!(actions, want, "[{}] {method} {path} as {who:?}", t.name)
                    }
                    None => assert!(actions.is_empty(), "[{}] {method} {path} as {who:?}: {actions:?}", t.name),
                }
                if let (Some(e), User(role)) = (events.first(), who) {
                    assert_eq!(e.actor.id, format!("user:{}", role.as_str()));
                }
                if foreign_batch {
                    let e = &events[0];
                    assert_eq!(e.outcome, lanyard_audit::Outcome::Denied, "[{}] {method} {path}", t.name);
                    assert!(e.people.is_empty() && e.actor.id.starts_with("supplier:rival:"));
                }
            }
        }
        f.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_beyond_the_limit_are_refused_and_audited() {
    let t = lanyard_testkit::stores().await.remove(0);
    let quota = ReadQuota { per_minute: NonZeroU32::new(1).unwrap(), burst: NonZeroU32::new(3).unwrap() };
    let f = start(&t, quota).await;
    let url = format!("{}/v1/people/{}?compartments=identity", f.base, f.person);
    let read = |who| f.client(who).get(&url).header("X-Lanyard-Purpose", "bulk").send();
    for _ in 0..3 {
        assert_eq!(read(ID).await.unwrap().status(), 200);
    }
    let mut cursor = t.store.audit_len().await.unwrap();
    let r = read(ID).await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=61).contains(&wait), "{wait}");
    assert!(r.text().await.unwrap().contains("rate_limited"));
    let events = new_events(&t.store, &mut cursor).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "access.denied");
    assert!(events[0].people.is_empty(), "nobody was revealed");
    assert_eq!(events[0].detail.as_ref().unwrap()["reason"], "rate_limited");
    // Another user's allowance is their own.
    assert_eq!(read(APPROVER).await.unwrap().status(), 200);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_cannot_approve_their_own_request() {
    let t = lanyard_testkit::stores().await.remove(0);
    let f = start(&t, ReadQuota::default()).await;
    // The same person asked for a card at the counter (CLI operator
    // `approver`) and now approves it through the API as user `approver`.
    let counter = Operator::local(Actor::operator("approver"), false);
    let ledger = lanyard_audit::Ledger::new(t.store.clone());
    let register = Register::open(
        ledger.clone(),
        Arc::new(KeyringProvider::open(&t.dir.path().join("k.json"), b"pass").unwrap()),
        0,
    )
    .await
    .unwrap();
    let cards = lanyard_cards::Cards::new(Arc::new(register), ledger, lanyard_cards::IssuerConfig::default());
    let own = cards
        .request(&counter, lanyard_cards::PersonRef::Id(f.person), lanyard_core::CardType::StaffPass, now_s() * 1000)
        .await
        .unwrap();
    let mut cursor = t.store.audit_len().await.unwrap();
    let r = f
        .client(APPROVER)
        .post(format!("{}/v1/cards/{}/approve", f.base, own.id))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("dual_control"));
    let events = new_events(&t.store, &mut cursor).await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].action.as_str(), events[0].outcome), ("card.approve", lanyard_audit::Outcome::Denied));
    assert_eq!(cards.card(&own.id, 0).await.unwrap().state, lanyard_core::CardState::Requested);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_import_is_all_or_nothing_and_export_is_bounded_by_the_read_allowance() {
    let t = lanyard_testkit::stores().await.remove(0);
    let quota = ReadQuota { per_minute: NonZeroU32::new(1).unwrap(), burst: NonZeroU32::new(4).unwrap() };
    let f = start(&t, quota).await;
    let import = |csv: &'static str| {
        f.client(ID).post(format!("{}/v1/people/import", f.base)).header("content-type", "text/csv").body(csv).send()
    };
    let people_before = t.store.count_by_status().await.unwrap();
    // A bad row: nothing is imported, and the row is named without its value.
    let r = import("service_number,forenames,surname,rank\nB1,Ok,Row,Police Constable\nB2,Bad,Row,Grand Vizier\n")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("line 3") && !body.contains("Vizier"), "{body}");
    assert_eq!(t.store.count_by_status().await.unwrap(), people_before);
    // Vetting is not the ID office's to write.
    let r = import("service_number,forenames,surname,rank,vetting_level\nB3,A,B,Police Constable,SC\n").await.unwrap();
    assert_eq!(r.status(), 403);
    // Four good rows.
    let r = import(
        "service_number,forenames,surname,rank\nB4,A,B,Police Constable\nB5,A,B,Police Constable\n\
         B6,A,B,Police Constable\nB7,A,B,Police Constable\n",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["imported"].as_array().unwrap().len(), 4);
    // Five people are more than a burst of four: refused for good, and audited.
    let mut cursor = t.store.audit_len().await.unwrap();
    let r = f
        .client(APPROVER)
        .get(format!("{}/v1/people/export?compartments=identity", f.base))
        .header("X-Lanyard-Purpose", "bulk")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("over_read_allowance"));
    let events = new_events(&t.store, &mut cursor).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail.as_ref().unwrap()["reason"], "over_read_allowance");
    assert!(events[0].people.is_empty(), "nobody was revealed");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_to_a_recipient_carries_its_canary() {
    let t = lanyard_testkit::stores().await.remove(0);
    let f = start(&t, ReadQuota::default()).await;
    let export = |q: &str| {
        f.client(ID)
            .get(format!("{}/v1/people/export?compartments=identity{q}", f.base))
            .header("X-Lanyard-Purpose", "monthly feed")
            .send()
    };
    let v: serde_json::Value = export("").await.unwrap().json().await.unwrap();
    assert_eq!((v["count"].as_u64(), v["people"].as_array().unwrap().len()), (Some(1), 1));
    let v: serde_json::Value = export("&recipient=hr-feed").await.unwrap().json().await.unwrap();
    assert_eq!((v["count"].as_u64(), v["people"].as_array().unwrap().len()), (Some(1), 2), "{v}");
    let canary = v["people"].as_array().unwrap().iter().find(|p| p["id"] != f.person.to_string()).unwrap();
    assert!(canary["identity"]["surname"].is_string(), "a whole row like the person's: {canary}");
    // A good name with no canary yet is a state to put right (plant one):
    // 409; a name that cannot be one is the caller's mistake: 400.
    for (q, status, says) in
        [("&recipient=nobody", 409, "no canary is planted"), ("&recipient=Bad%20Name", 400, "a recipient is")]
    {
        let r = export(q).await.unwrap();
        assert_eq!(r.status(), status, "{q}");
        assert!(r.text().await.unwrap().contains(says), "{q}");
    }
    let events: Vec<_> =
        new_events(&t.store, &mut 0).await.into_iter().filter(|e| e.action == "canary.include").collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail.as_ref().unwrap()["recipient"], "hr-feed");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_to_one_person_are_applied_or_refused_409_never_500() {
    let t = lanyard_testkit::stores().await.remove(0);
    let f = start(&t, ReadQuota::default()).await;
    let url = format!("{}/v1/people/{}", f.base, f.person);
    let ranks = ["Police Sergeant", "Inspector", "Chief Inspector", "Police Constable"];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let (client, url) = (f.client(ID).clone(), url.clone());
        let body = serde_json::json!({ "fields": { "rank": ranks[i % ranks.len()] } });
        tasks.spawn(async move { client.patch(url).json(&body).send().await.unwrap().status().as_u16() });
    }
    let mut applied = 0;
    while let Some(status) = tasks.join_next().await {
        let status = status.unwrap();
        assert!(status == 204 || status == 409, "{status}: a lost race is a conflict, not a fault");
        applied += usize::from(status == 204);
    }
    assert!(applied >= 1);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_users_and_tokens_over_the_api_and_the_auditor_checks_the_log() {
    let t = lanyard_testkit::stores().await.remove(0);
    let f = start(&t, ReadQuota::default()).await;
    let admin = f.client(ADMIN);
    // A new approver: the answer holds the second factor, and they log in with it.
    let r = admin
        .post(format!("{}/v1/users", f.base))
        .json(&serde_json::json!({ "name": "new.approver", "role": "approver", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let enrolment: serde_json::Value = r.json().await.unwrap();
    let secret = enrolment["totp_secret"].as_str().unwrap().to_owned();
    assert!(enrolment["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    let login = |password: &'static str, secret: String| {
        let base = f.base.clone();
        async move {
            let body = serde_json::json!({ "name": "new.approver", "password": password,
                "code": code(&secret, now_s() as u64) });
            reqwest::Client::new().post(format!("{base}/v1/login")).json(&body).send().await.unwrap().status()
        }
    };
    assert_eq!(login(PASSWORD, secret.clone()).await, 200);
    // The list shows the user, never a hash or a secret.
    let list = admin.get(format!("{}/v1/users", f.base)).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("new.approver") && !list.contains("argon2") && !list.contains(&secret), "{list}");
    // A bad role and a short password are refused, naming the field.
    for (role, password) in [("wizard", PASSWORD), ("approver", "short")] {
        let r = admin
            .post(format!("{}/v1/users", f.base))
            .json(&serde_json::json!({ "name": "x", "role": role, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{role}");
    }
    // Reset: the old factor no longer works, the new one does; disable ends it.
    let r = admin
        .post(format!("{}/v1/users/new.approver/reset", f.base))
        .json(&serde_json::json!({ "password": "a brand new password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let fresh = r.json::<serde_json::Value>().await.unwrap()["totp_secret"].as_str().unwrap().to_owned();
    assert_eq!(login(PASSWORD, secret).await, 401);
    assert_eq!(login("a brand new password", fresh.clone()).await, 200);
    let r = admin.post(format!("{}/v1/users/new.approver/disable", f.base)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    // (Same step as the last login: the code is spent, and the user disabled.)
    assert_eq!(login("a brand new password", fresh).await, 401);
    let r = admin.post(format!("{}/v1/users/nobody.here/disable", f.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // A device token works until it is revoked.
    let r = admin
        .post(format!("{}/v1/tokens", f.base))
        .json(&serde_json::json!({ "role": "verifier", "device": "gate-7", "expires_in_s": 3600 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token: serde_json::Value = r.json().await.unwrap();
    let (id, secret) = (token["id"].as_str().unwrap().to_owned(), token["secret"].as_str().unwrap().to_owned());
    let check = || {
        reqwest::Client::new()
            .post(format!("{}/v1/verify", f.base))
            .bearer_auth(&secret)
            .json(&serde_json::json!({ "qr": "LY1:NOT A CARD" }))
            .send()
    };
    assert_eq!(check().await.unwrap().status(), 200);
    let list = admin.get(format!("{}/v1/tokens", f.base)).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&id) && !list.contains(&secret));
    for bad in [
        serde_json::json!({ "role": "verifier", "supplier": "acme", "expires_in_s": 3600 }),
        serde_json::json!({ "role": "approver", "device": "x", "expires_in_s": 3600 }),
        serde_json::json!({ "role": "verifier", "device": "x", "expires_in_s": 5 }),
    ] {
        let r = admin.post(format!("{}/v1/tokens", f.base)).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = admin.post(format!("{}/v1/tokens/{id}/revoke", f.base)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(check().await.unwrap().status(), 401);

    // The auditor: the log verifies, and an event reads back with its leaf hash.
    let auditor = f.client(AUDITOR);
    let report: serde_json::Value =
        auditor.post(format!("{}/v1/audit/verify", f.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["events"].as_u64().unwrap() > 10);
    let e: serde_json::Value =
        auditor.get(format!("{}/v1/audit/events/1", f.base)).send().await.unwrap().json().await.unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(e["event_base64"].as_str().unwrap()).unwrap();
    let leaf = lanyard_audit::leaf_hash(&bytes);
    assert_eq!(e["leaf_hash"], base64::engine::general_purpose::STANDARD.encode(leaf));
    // The export streams as JSON: whole, every event with its leaf hash.
    let r = auditor.get(format!("{}/v1/audit/export", f.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let export: serde_json::Value = r.json().await.unwrap();
    let events = export["events"].as_array().unwrap();
    assert!(events.len() as u64 >= report["events"].as_u64().unwrap(), "{export}");
    for e in events {
        let bytes = base64::engine::general_purpose::STANDARD.decode(e["event_base64"].as_str().unwrap()).unwrap();
        assert_eq!(e["leaf_hash"], base64::engine::general_purpose::STANDARD.encode(lanyard_audit::leaf_hash(&bytes)));
    }
    let r = auditor.get(format!("{}/v1/audit/events/999999", f.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = auditor.get(format!("{}/v1/audit/events/-1", f.base)).send().await.unwrap();
    assert_eq!(r.status(), 400);

    // Permits: listed for the person, revoked once, then refused.
    let id_office = f.client(ID);
    let permits: serde_json::Value =
        id_office.get(format!("{}/v1/permits?person={}", f.base, f.person)).send().await.unwrap().json().await.unwrap();
    assert_eq!(permits.as_array().unwrap().len(), 1);
    assert_eq!(permits[0]["zone"], "SETUP");
    let revoke = || id_office.post(format!("{}/v1/permits/{}/revoke", f.base, f.permit)).send();
    assert_eq!(revoke().await.unwrap().status(), 204);
    assert_eq!(revoke().await.unwrap().status(), 400);
    let r = id_office.post(format!("{}/v1/permits/{}/revoke", f.base, uuid::Uuid::nil())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let zones = id_office.get(format!("{}/v1/zones", f.base)).send().await.unwrap().text().await.unwrap();
    assert!(zones.contains("SETUP"));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_officer_scans_an_upload_and_the_event_names_no_file() {
    let t = lanyard_testkit::stores().await.remove(0);
    let f = start(&t, ReadQuota::default()).await;
    let mut cursor = t.store.audit_len().await.unwrap();
    let upload = |name: &str, content: &str| {
        format!(
            "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n{content}\r\n--B--\r\n"
        )
    };
    let scan = |body: String| {
        f.client(DISCLOSURE)
            .post(format!("{}/v1/scan", f.base))
            .header("content-type", "multipart/form-data; boundary=B")
            .body(body)
            .send()
    };
    let r = scan(upload("Bloggs_J_victims.csv", "Victim surname,Forename\nBloggs,Joe\n")).await.unwrap();
    assert_eq!(r.status(), 200);
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!((report["verdict"].as_str(), report["exit_code"].as_i64()), (Some("do_not_release"), Some(1)));
    assert_eq!(report["findings"][0]["file"], "Bloggs_J_victims.csv");
    let events = new_events(&t.store, &mut cursor).await;
    assert_eq!(events.len(), 1);
    let text = String::from_utf8(events[0].to_bytes()).unwrap();
    assert!(!text.contains("Bloggs") && text.contains("do_not_release"), "{text}");

    let r = scan(upload("clean.csv", "Rank,Headcount\nConstable,6803\n")).await.unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["exit_code"], 0);
    let r = scan(upload("scan.pdf", "%PDF-1.7\n garbage")).await.unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["exit_code"], 2);
    let r = scan("--B--\r\n".into()).await.unwrap();
    assert_eq!(r.status(), 400);
    // Larger than the 1 MiB of ordinary requests, within the scan limit.
    let big = format!("Rank,Headcount\n{}", "Constable,6803\n".repeat(200_000));
    let r = scan(upload("big.csv", &big)).await.unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["exit_code"], 0);
    f.stop().await;
}

/// Every route the router has is in the gate's table with a need, and the
/// gate decides that need before the handler runs: a caller the policy
/// refuses gets 403 and an `access.denied` event naming the route, with no
/// body, query or valid id needed. Every route the OpenAPI document lists is
/// in the table, and every table route but the public ones is documented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_router_has_a_policy_decision() {
    use lanyard_core::policy::{self, Action, Decision};
    use lanyard_server::gate::Need;
    // The gate is the same code on every backend; SQLite is enough here.
    let t = lanyard_testkit::stores().await.into_iter().next().unwrap();
    let f = start(&t, ReadQuota::default()).await;
    let mut cursor = t.store.audit_len().await.unwrap();
    assert!(f.table.len() > 60, "{} routes", f.table.len());
    let role_of = |who: Who| match who {
        User(r) => Some(r),
        Supplier => Some(Role::PrintSupplier),
        Device => Some(Role::Verifier),
        _ => None,
    };
    let coarse = |need: &Need, role: Role| match need {
        Need::Action(a) => Some(a.clone()),
        Need::ReadPeople => Some(Action::ReadPeople(
            lanyard_core::Compartment::ALL.into_iter().filter(|c| policy::may_read(role, *c)).collect(),
        )),
        Need::WritePeople => Some(Action::WritePeople(
            lanyard_core::Compartment::ALL.into_iter().filter(|c| policy::may_write(role, *c)).collect(),
        )),
        Need::Public => None,
    };
    let mut public = Vec::new();
    for spec in &f.table {
        let route = format!("{} {}", spec.method, spec.path);
        if spec.need == Need::Public {
            public.push(route);
            continue;
        }
        // A caller the policy refuses for this route.
        let Some((who, client, bearer)) = f.clients.iter().find(|(who, _, _)| {
            role_of(*who)
                .is_some_and(|r| coarse(&spec.need, r).is_none_or(|a| policy::decide(r, &a) != Decision::Allow))
        }) else {
            // Every signed-in caller may (who am I, the console's start
            // page and task): the matrix above and the console's browser
            // tests cover them.
            assert!(
                ROUTES.iter().any(|r| r.1 == spec.path)
                    || ["/", "/purpose", "/import/{id}", "/import/{id}/status.json"].contains(&spec.path),
                "{route}: every caller is allowed, and it is not in ROUTES"
            );
            continue;
        };
        let url =
            format!("{}{}", f.base, spec.path.replace("{id}", "X").replace("{name}", "x").replace("{index}", "0"));
        let url = url.replace("{compartment}", "pay");
        let mut req = client.request(spec.method.clone(), url);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{route} as {who:?}: the gate decides before the handler");
        let events = new_events(&t.store, &mut cursor).await;
        assert_eq!(events.len(), 1, "{route} as {who:?}");
        assert_eq!(events[0].action, "access.denied", "{route}");
        assert_eq!(events[0].detail.as_ref().unwrap()["route"], route.as_str(), "{route}: from MatchedPath");
    }
    assert_eq!(
        public,
        [
            "GET /healthz",
            "GET /readyz",
            "GET /metrics",
            "GET /v1/openapi.json",
            "POST /v1/login",
            "POST /v1/logout",
            "GET /v1/log/checkpoint",
            "GET /v1/log/tile/{*path}",
            "GET /v1/status-lists/{id}",
            "GET /v1/trust-bundle",
            "GET /login",
            "POST /login",
            "POST /logout",
            "GET /static/{file}",
            "POST /csp-report"
        ],
        "the routes anyone may call"
    );

    // The OpenAPI document and the table name the same routes.
    let doc: serde_json::Value = serde_json::from_str(&lanyard_server::openapi_json()).unwrap();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let mut routed: Vec<String> =
        f.table.iter().map(|r| format!("{} {}", r.method, r.path.replace("{*path}", "{path}"))).collect();
    // The console's pages are HTML for people, not the API.
    let api = |r: &str| r.contains(" /v1/") || r.ends_with(" /healthz") || r.ends_with(" /readyz");
    routed.retain(|r| api(r) && r != "GET /v1/openapi.json");
    routed.sort();
    documented.sort();
    assert_eq!(routed, documented, "every route is documented, and every documented route is routed");
    f.stop().await;
}

/// Issue 15, item 4: refusals made before any handler runs (a body that is
/// not JSON, JSON of the wrong shape, a duplicated query field, a body over
/// its limit, an unknown route) answer problem+json, quote none of the
/// input, and are counted into one `request.rejected` event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_before_a_handler_are_problems_and_are_counted_in_the_log() {
    let t = lanyard_testkit::stores().await.remove(0);
    let quota = ReadQuota { per_minute: NonZeroU32::new(100).unwrap(), burst: NonZeroU32::new(100).unwrap() };
    let f = start(&t, quota).await;
    let mut cursor = t.store.audit_len().await.unwrap();
    let anon = reqwest::Client::new();
    let login = format!("{}/v1/login", f.base);
    let json = |b: &'static str| anon.post(&login).header("content-type", "application/json").body(b);
    let cases = [
        (json("{\"name\": \"Callum Ahmed").send().await.unwrap(), 400),
        (json("{\"name\": \"Callum Ahmed\"}").send().await.unwrap(), 422),
        (anon.get(format!("{}/v1/no-such-route", f.base)).send().await.unwrap(), 404),
        (f.client(ID).get(format!("{}/v1/cards?state=issued&state=revoked", f.base)).send().await.unwrap(), 400),
    ];
    for (r, status) in cases {
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()["content-type"], "application/problem+json", "{status}");
        let body = r.text().await.unwrap();
        assert!(!body.contains("Callum"), "{status}: the input is never echoed: {body}");
    }
    // Over the body limit: refused on its Content-Length, before the body is
    // sent (so the test does not race the server closing the connection).
    let head = over_limit_head(&f.base).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/problem+json"), "{head}");
    f.stop().await;
    let events = new_events(&t.store, &mut cursor).await;
    let rejected: Vec<&Event> = events.iter().filter(|e| e.action == "request.rejected").collect();
    assert_eq!(rejected.len(), 1, "one event for the window, not one per request");
    let counted = rejected[0].detail.as_ref().unwrap()["rejected"].as_array().unwrap().clone();
    let has = |route: &str, status: u64| counted.iter().any(|c| c["route"] == route && c["status"] == status);
    assert!(has("POST /v1/login", 400) && has("POST /v1/login", 422) && has("POST /v1/login", 413), "{counted:?}");
    assert!(has("GET (no such route)", 404) && has("GET /v1/cards", 400), "{counted:?}");
    // The caller is named where the gate had authenticated one.
    let cards = counted.iter().find(|c| c["route"] == "GET /v1/cards").unwrap();
    assert!(cards["caller"].as_str().is_some_and(|c| c.starts_with("user:")), "{counted:?}");
    assert!(counted.iter().filter(|c| c["route"] == "POST /v1/login").all(|c| c.get("caller").is_none()));
    assert!(!rejected[0].to_bytes().windows(6).any(|w| w == b"Callum"));
}

async fn over_limit_head(base: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /v1/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        2 * 1024 * 1024
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_tiles_are_public_its_entries_are_not_and_bad_paths_are_named() {
    for t in lanyard_testkit::stores().await {
        let f = start(&t, ReadQuota::default()).await;
        let anyone = f.client(Nobody);
        let note = anyone.get(format!("{}/v1/log/checkpoint", f.base)).send().await.unwrap();
        assert_eq!(note.status(), 200, "{}", t.name);
        assert_eq!(note.headers()["cache-control"], "no-cache");
        let note = note.text().await.unwrap();
        let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
        assert!(size > 0, "{}", t.name);
        let tile = anyone.get(format!("{}/v1/log/tile/0/000.p/1", f.base)).send().await.unwrap();
        assert_eq!(tile.headers()["content-type"], "application/octet-stream");
        assert_eq!(tile.bytes().await.unwrap().len(), 32, "{}", t.name);
        for (path, status, code) in [
            ("tile/0/x000/001", 400, "bad_tile_path"),
            ("tile/0/000.p/0", 400, "bad_tile_path"),
            ("tile/9/000", 400, "bad_tile_path"),
            ("tile/0/999", 404, "not_found"),
            ("tile/entries/000.p/1", 401, "unauthenticated"),
        ] {
            let r = anyone.get(format!("{}/v1/log/{path}", f.base)).send().await.unwrap();
            assert_eq!(r.status(), status, "{}: {path}", t.name);
            assert_eq!(r.headers()["content-type"], "application/problem+json", "{path}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert!(body["type"].as_str().unwrap().ends_with(&format!("/{code}")), "{path}: {body}");
        }
        let auditor = f.client(AUDITOR);
        let r = auditor.get(format!("{}/v1/log/tile/entries/000.p/1", f.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", t.name);
        assert_eq!(r.headers()["cache-control"], "private, no-store");
        let bundle = r.bytes().await.unwrap();
        let len = u16::from_be_bytes([bundle[0], bundle[1]]) as usize;
        assert_eq!(bundle.len(), 2 + len, "{}: one entry", t.name);
        assert!(bundle[2..].starts_with(b"{\"action\":\"register.init\""), "{}", t.name);
        f.stop().await;
    }
}

/// Issue 19's server errors from schemathesis, as an admin: an event index
/// past i64, a proof of a tree of size 0 or of an index outside the tree,
/// an empty old checkpoint, and a query the framework cannot read. Each was
/// a 500 (or a 503 that blamed the log, or plain text); each is now a 4xx
/// as problem+json: 404 for a proof the log holds no such thing for, 409
/// for an old checkpoint this log did not sign, 400 for what is malformed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_audit_requests_are_the_callers_errors_never_5xx() {
    for t in lanyard_testkit::stores().await {
        let f = start(&t, ReadQuota::default()).await;
        let admin = f.client(ADMIN);
        let base = &f.base;
        let huge = "9223372036854775808";
        let cases = [
            (admin.get(format!("{base}/v1/audit/events/{huge}")).send().await.unwrap(), 404, "not_found"),
            (
                admin.get(format!("{base}/v1/audit/proofs/inclusion?index=0&size=0")).send().await.unwrap(),
                404,
                "no_such_proof",
            ),
            (
                admin.get(format!("{base}/v1/audit/proofs/inclusion?index={huge}")).send().await.unwrap(),
                404,
                "no_such_proof",
            ),
            (
                admin
                    .post(format!("{base}/v1/audit/proofs/consistency"))
                    .json(&serde_json::json!({ "old_checkpoint": "" }))
                    .send()
                    .await
                    .unwrap(),
                409,
                "checkpoint_refused",
            ),
            (admin.get(format!("{base}/v1/audit/export?to_ms={huge}")).send().await.unwrap(), 400, "bad_request"),
        ];
        for (i, (r, status, code)) in cases.into_iter().enumerate() {
            assert_eq!(r.status(), status, "case {i}");
            assert_eq!(r.headers()["content-type"], "application/problem+json", "case {i}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert!(body["type"].as_str().unwrap().ends_with(code), "case {i}: {body}");
            assert!(!body["detail"].as_str().unwrap().is_empty(), "case {i}: the detail says what is wrong");
        }
        // A proof that can exist still comes.
        let r = admin.get(format!("{base}/v1/audit/proofs/inclusion?index=0")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        f.stop().await;
    }
}

/// Issue 19 item 1: answers the contract run (schemathesis, `--checks all`)
/// found to be other than the OpenAPI document says, each now the one it
/// says. Before: a TRACE was a 500 "ungated"; an admin could disable
/// themselves (and so end the run's own session); a zone that existed was a
/// 409 that blamed a card; an unknown zone or service number was a 400; an
/// export to a recipient with no canary was a 400; `93.0` for an integer
/// was a 422; a PNG of "both" sides was a schema-valid 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_the_contract_run_found_are_the_documented_ones() {
    let t = lanyard_testkit::stores().await.remove(0);
    let f = start(&t, ReadQuota::default()).await;
    let base = &f.base;
    let (admin, id) = (f.client(ADMIN), f.client(ID));
    let code = |r: &serde_json::Value| r["type"].as_str().unwrap_or_default().rsplit('/').next().unwrap().to_owned();

    let r = admin.request(reqwest::Method::TRACE, format!("{base}/v1/people")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD, POST");
    assert_eq!(r.headers()["content-type"], "application/problem+json");

    for (path, body) in [
        ("/v1/users/admin/disable", serde_json::json!({})),
        ("/v1/users/admin/reset", serde_json::json!({ "password": "another long password" })),
    ] {
        let r = admin.post(format!("{base}{path}")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 409, "{path}");
        let r: serde_json::Value = r.json().await.unwrap();
        assert_eq!(code(&r), "own_account");
        assert_eq!(r["detail"], "you cannot disable or reset your own account; ask another admin");
    }
    assert_eq!(admin.get(format!("{base}/v1/session")).send().await.unwrap().status(), 200, "still signed in");

    let zone = serde_json::json!({ "code": "SETUP", "name": "Again", "accepts": ["SC"] });
    let r: serde_json::Value =
        admin.post(format!("{base}/v1/zones")).json(&zone).send().await.unwrap().json().await.unwrap();
    assert_eq!((r["status"].as_u64(), code(&r)), (Some(409), "exists".to_owned()), "{r}");

    let now = now_s();
    let permit = serde_json::json!({ "person": f.person.to_string(), "zone": "NOWHERE", "from": now, "to": now + 60 });
    let r = id.post(format!("{base}/v1/permits")).json(&permit).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = id.post(format!("{base}/v1/cards")).json(&serde_json::json!({ "person": "NOSUCH1", "type": "staff_pass" }));
    assert_eq!(r.send().await.unwrap().status(), 404);

    let r = id
        .get(format!("{base}/v1/people/export?compartments=identity&recipient=nobody"))
        .header("X-Lanyard-Purpose", "feed")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r: serde_json::Value = r.json().await.unwrap();
    assert_eq!(code(&r), "canary_missing");

    // A whole number written as a float is that number; a fraction is not.
    let r = id.post(format!("{base}/v1/batches")).json(&serde_json::json!({ "supplier": "acme", "max_cards": 1.0 }));
    assert_ne!(r.send().await.unwrap().status().as_u16(), 422);
    let r = id.post(format!("{base}/v1/batches")).json(&serde_json::json!({ "supplier": "acme", "max_cards": 1.5 }));
    assert_eq!(r.send().await.unwrap().status(), 422);

    let r = id
        .get(format!("{base}/v1/cards/{}/artwork?format=png&side=both", f.card))
        .header("X-Lanyard-Purpose", "card_print")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a PNG is one side; `both` is no longer a side");
    f.stop().await;
}
