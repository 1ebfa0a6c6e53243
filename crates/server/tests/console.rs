//! The web console in a real browser: Debian's Chromium, driven through
//! Debian's chromedriver with fantoccini, against a server in this process.
//! Each journey is what a user of that role does, end to end, and every
//! page visited is checked with axe-core (vendored, pinned: 0 serious or
//! critical violations) while the server collects Content-Security-Policy
//! reports (none may arrive).
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` the tests skip
//! with a printed reason. `LANYARD_UI_SCREENSHOTS=1` writes the main pages
//! to `docs/ui/`.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, Locator};
use lanyard_access::{Access, SessionPolicy};
use lanyard_audit::{Actor, Event};
use lanyard_core::{Field, PersonRecord, RankTable, Role};
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider};
use lanyard_register::{Operator, Register};
use lanyard_server::limits::{ReadLimiter, ReadQuota};
use lanyard_server::{AppState, Options, Services};

const PASSWORD: &str = "console test password";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const AXE: &str = include_str!("assets/axe-4.10.3.min.js");

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn code(secret: &str) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let t = totp_rs::Builder::new().with_secret(secret.as_ref().to_vec()).with_account_name("c").build().unwrap();
    t.generate(now_s() as u64).to_string()
}

fn tiny_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(90, 120, |x, y| image::Rgb([(x * 2) as u8, (y * 2) as u8, 120]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg).encode_image(&img).unwrap();
    jpeg
}

fn record(sn: &str, forenames: &str, surname: &str) -> PersonRecord {
    let ranks = RankTable::default_ranks();
    let mut p = PersonRecord::default();
    for (f, v) in [
        (Field::ServiceNumber, sn),
        (Field::Forenames, forenames),
        (Field::Surname, surname),
        (Field::Rank, "Inspector"),
        (Field::Email, "console.person@police.example"),
        (Field::VettingLevel, "SC"),
        (Field::Salary, "50000"),
    ] {
        p.set_from_text(f, v, &ranks).unwrap();
    }
    p.photo = Some(tiny_jpeg());
    p
}

/// Chromium and its driver, where this machine has them.
fn have_browser() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !Path::new(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    lanyard_testkit::skip(&format!(
        "console browser tests: {} not installed (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    ));
    false
}

/// A chromedriver on a free port, killed when dropped.
struct Driver {
    child: std::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = std::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Owned at once, so a panic below still kills and reaps it.
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// A fresh browser (its own cookies) for one user.
async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=en-GB"]
        }),
    );
    fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap()
}

/// The server, its store and its users.
struct Fixture {
    base: String,
    store: lanyard_store::Store,
    state: Arc<AppState>,
    cards: lanyard_cards::Cards,
    person: lanyard_core::PersonId,
    /// user name → TOTP secret.
    secrets: Vec<(String, String)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Fixture {
    fn secret(&self, name: &str) -> &str {
        &self.secrets.iter().find(|(n, _)| n == name).unwrap().1
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

const USERS: [(&str, Role); 18] = [
    ("ike", Role::IdOfficer),
    ("kay", Role::IdOfficer),
    ("iris", Role::IdOfficer),
    ("amy", Role::Approver),
    ("hal", Role::HrPayroll),
    ("aud2", Role::Auditor),
    ("adm2", Role::Admin),
    ("adam", Role::Admin),
    ("val", Role::VettingOfficer),
    ("ida", Role::IdOfficer),
    ("ivy", Role::IdOfficer),
    ("ivan", Role::IdOfficer),
    ("dan", Role::DisclosureOfficer),
    ("alan", Role::Approver),
    ("olga", Role::Approver),
    ("dora", Role::DisclosureOfficer),
    ("audrey", Role::Auditor),
    ("vic", Role::VettingOfficer),
];

async fn start(t: &lanyard_testkit::TestStore) -> Fixture {
    let provider: Arc<dyn KeyProvider> = Arc::new(
        KeyringProvider::create(&t.dir.path().join("k.json"), b"pass", KdfParams::insecure_for_tests()).unwrap(),
    );
    let setup = Operator::local(Actor::operator("setup"), false);
    let ledger = lanyard_audit::Ledger::new(t.store.clone());
    let now = now_s();
    let register = Register::init(ledger.clone(), Arc::clone(&provider), &setup, now * 1000).await.unwrap();
    let person = register.add(&setup, record("MX1", "Matrix", "Person"), false, now * 1000).await.unwrap();
    register.add(&setup, record("MX2", "Other", "Officer"), false, now * 1000).await.unwrap();
    let access = Access::new(ledger.clone(), provider, SessionPolicy::default());
    let mut secrets = Vec::new();
    for (name, role) in USERS {
        let e = access.create_user(&setup.actor, name, role, PASSWORD, false, now).await.unwrap();
        secrets.push((name.to_owned(), e.totp_secret.to_string()));
    }
    let register = Arc::new(register);
    let cards =
        lanyard_cards::Cards::new(Arc::clone(&register), ledger.clone(), lanyard_cards::IssuerConfig::default());
    cards.trust_bundle(&setup, now * 1000).await.unwrap();
    let supply = lanyard_supply::Supply::new(Arc::clone(&register), ledger.clone(), cards.clone(), Default::default());
    let state = Arc::new(AppState::new(
        Services {
            guard: Arc::new(lanyard_server::Guard::new(lanyard_guard::Scanner::default())),
            cards: cards.clone(),
            supply,
            register,
            access: Arc::new(access),
        },
        Options {
            secure_cookies: false,
            reads: ReadLimiter::new(ReadQuota::default()),
            degraded: None,
            rejection_window: Duration::from_secs(3600),
            csp_reports: true,
            connections: lanyard_server::ConnectionLimits::default(),
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(lanyard_server::serve(listener, Arc::clone(&state), async {
        let _ = stopped.await;
    }));
    Fixture { base, store: t.store.clone(), state, cards, person, secrets, stop: Some(stop) }
}

/// Signs `name` in through the form, as a person would.
async fn sign_in(c: &Client, f: &Fixture, name: &str) {
    c.goto(&format!("{}/login", f.base)).await.unwrap();
    check_page(c, "sign-in").await;
    c.find(Locator::Id("name")).await.unwrap().send_keys(name).await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    c.find(Locator::Id("code")).await.unwrap().send_keys(&code(f.secret(name))).await.unwrap();
    click(c, "main button[type=submit]").await;
    let h1 = text(c, "h1").await;
    if h1 == "Start" {
        check_page(c, "start page").await;
    }
    if h1 != "Start" {
        let events = events_since(&f.store, 0).await;
        let last: Vec<String> =
            events.iter().rev().take(6).map(|e| format!("{} {} {:?}", e.action, e.actor.id, e.detail)).collect();
        panic!("{name} not signed in: {}\n{last:#?}", text(c, "main").await);
    }
}

async fn text(c: &Client, css: &str) -> String {
    // A page that is still being replaced can hand back an element that
    // is gone by the time it is read: read again.
    for _ in 0..20 {
        let Ok(e) = c.wait().at_most(Duration::from_secs(5)).for_element(Locator::Css(css)).await else { break };
        match e.text().await {
            Ok(t) => return t,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap(),
        Err(e) => {
            let url = c.current_url().await.unwrap();
            let page = c.source().await.unwrap_or_default();
            panic!("{css} not on {url}: {e}\n{page}")
        }
    }
}

/// Clicks what submits a form or follows a link, and waits for the next
/// page: the old document is marked, and the wait ends when a document
/// without the mark is loaded.
async fn click(c: &Client, css: &str) {
    c.execute("document.documentElement.dataset.stale = '1';", vec![]).await.unwrap();
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
    for _ in 0..100 {
        let fresh = c
            .execute("return document.readyState === 'complete' && !document.documentElement.dataset.stale;", vec![])
            .await;
        if matches!(fresh, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("clicking {css} loaded no new page");
}

/// Clicks what should not leave the page (a form the browser refuses to
/// send).
async fn click_in_place(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// Chooses an option of a select by its value.
async fn choose(c: &Client, select_css: &str, value: &str) {
    c.find(Locator::Css(&format!("{select_css} option[value='{value}']"))).await.unwrap().click().await.unwrap();
}

/// Sets the task from the bar every people page shows.
async fn set_task(c: &Client, code: &str) {
    choose(c, "#purpose", code).await;
    click(c, ".task button[type=submit]").await;
}

/// axe-core on the page as it stands: 0 serious or critical violations.
async fn check_page(c: &Client, what: &str) {
    let loaded = c.execute("return typeof window.axe !== 'undefined';", vec![]).await.unwrap();
    if loaded != serde_json::Value::Bool(true) {
        c.execute(AXE, vec![]).await.unwrap();
    }
    let out = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                                 .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    let violations: Vec<String> = serde_json::from_value(out).unwrap();
    assert!(violations.is_empty(), "{what}: accessibility violations: {violations:#?}");
}

/// Writes a screenshot to docs/ui when asked to.
async fn screenshot(c: &Client, name: &str) {
    if std::env::var_os("LANYARD_UI_SCREENSHOTS").is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), c.screenshot().await.unwrap()).unwrap();
}

async fn events_since(store: &lanyard_store::Store, from: i64) -> Vec<Event> {
    let rows = store.audit_rows(from, 10_000).await.unwrap();
    rows.iter().map(|r| Event::from_bytes(&r.event).unwrap()).collect()
}

/// Whether the browser reports a violation at all: a page made to break
/// the policy must produce a report, or "no reports" would prove nothing.
async fn reports_arrive(c: &Client, f: &Fixture) {
    c.execute(
        "const i = document.createElement('img'); i.src = 'https://policy-probe.invalid/x.png'; \
         document.body.appendChild(i);",
        vec![],
    )
    .await
    .unwrap();
    for _ in 0..50 {
        if !f.state.console().csp_violations().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a blocked image produced no CSP report: the report endpoint is not wired");
}

/// An ID officer finds a person, requests a card; an approver approves it;
/// the officer prints, issues and revokes it with a reason, and the public
/// status list says it is revoked. On every backend.
async fn card_journey(d: &Driver, f: &Fixture) -> String {
    let ida = browser(d).await;
    sign_in(&ida, f, "ida").await;
    screenshot(&ida, "start-id-officer").await;
    ida.goto(&format!("{}/find", f.base)).await.unwrap();
    set_task(&ida, "card_renewal").await;
    assert!(text(&ida, ".task").await.contains("Your task"), "the task is shown");
    ida.find(Locator::Id("value")).await.unwrap().send_keys("MX1").await.unwrap();
    click(&ida, "form[action='/find'] button[type=submit]").await;
    assert!(!ida.current_url().await.unwrap().as_str().contains("MX1"), "the search is not in the URL");
    check_page(&ida, "find results").await;
    click(&ida, "table a").await;
    assert_eq!(text(&ida, "h1").await, "Matrix Person");
    assert!(ida.source().await.unwrap().contains("Inspector"));
    let loaded = ida
        .execute("const i = document.querySelector('img.photo'); return i.complete && i.naturalWidth > 0;", vec![])
        .await
        .unwrap();
    assert_eq!(loaded, serde_json::Value::Bool(true), "the photo shows");
    check_page(&ida, "person page").await;
    screenshot(&ida, "person").await;
    // A new photo: a file that is not one is refused in words; a JPEG is kept.
    let dir = tempfile::tempdir().unwrap();
    let (bad, good) = (dir.path().join("notes.txt"), dir.path().join("portrait.jpg"));
    std::fs::write(&bad, "not a photo").unwrap();
    std::fs::write(&good, tiny_jpeg()).unwrap();
    ida.find(Locator::Id("photo")).await.unwrap().send_keys(bad.to_str().unwrap()).await.unwrap();
    click(&ida, "form[action$='/photo'] button").await;
    assert!(text(&ida, "#photo-error").await.contains("The photo was not saved"));
    ida.back().await.unwrap();
    ida.refresh().await.unwrap();
    ida.find(Locator::Id("photo")).await.unwrap().send_keys(good.to_str().unwrap()).await.unwrap();
    click(&ida, "form[action$='/photo'] button").await;
    assert_eq!(text(&ida, "h1").await, "Matrix Person", "back on the record");
    choose(&ida, "#card-type", "warrant_card").await;
    click(&ida, "form[action$='/cards'] button[type=submit]").await;
    assert_eq!(text(&ida, "#card-state").await, "requested");
    let card_url = ida.current_url().await.unwrap().to_string();
    let card_id = card_url.rsplit('/').next().unwrap().to_owned();
    // Only the steps the state and role allow: nothing but a reissue here.
    let forms = ida.find_all(Locator::Css(".actions form")).await.unwrap();
    assert!(forms.len() <= 1, "a requested card offers the officer no lifecycle step but reissue");
    assert!(ida.find(Locator::Css("form[action$='/approve']")).await.is_err(), "an officer cannot approve");

    let alan = browser(d).await;
    sign_in(&alan, f, "alan").await;
    alan.goto(&format!("{}/approvals", f.base)).await.unwrap();
    check_page(&alan, "approvals").await;
    screenshot(&alan, "approvals").await;
    assert!(text(&alan, "tbody").await.contains("user:ida"), "who asked is shown");
    click(&alan, &format!("form[action='/cards/{card_id}/approve'] button")).await;
    assert!(text(&alan, "main").await.contains("No card requests are waiting"));

    ida.goto(&card_url).await.unwrap();
    assert_eq!(text(&ida, "#card-state").await, "approved");
    let previews = ida
        .execute(
            "return Array.from(document.querySelectorAll('.cards-preview img')).filter(i => i.complete && i.naturalWidth > 0).length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(previews, serde_json::json!(2), "front and back previews show");
    check_page(&ida, "card page").await;
    screenshot(&ida, "card").await;
    click(&ida, &format!("form[action='/cards/{card_id}/print'] button")).await;
    assert_eq!(text(&ida, "#card-state").await, "printed");
    click(&ida, &format!("form[action='/cards/{card_id}/issue'] button")).await;
    assert_eq!(text(&ida, "#card-state").await, "issued");
    // A revoke needs a reason: the form will not go without one.
    click_in_place(&ida, &format!("form[action='/cards/{card_id}/revoke'] button")).await;
    assert_eq!(text(&ida, "#card-state").await, "issued", "no reason, no revoke");
    choose(&ida, &format!("form[action='/cards/{card_id}/revoke'] select"), "lost").await;
    click(&ida, &format!("form[action='/cards/{card_id}/revoke'] button")).await;
    assert_eq!(text(&ida, "#card-state").await, "revoked");
    assert!(text(&ida, "main").await.contains("Reported lost"));

    // The public status list, as a gate would fetch it.
    let bytes = reqwest::get(format!("{}/v1/status-lists/1", f.base)).await.unwrap().bytes().await.unwrap();
    let op = Operator::local(Actor::operator("test"), false);
    let bundle = f.cards.trust_bundle(&op, now_s() * 1000).await.unwrap();
    let list = lanyard_credential::StatusListToken::verify(&bytes, &bundle, now_s()).unwrap();
    let card = f.cards.card(&card_id, now_s() * 1000).await.unwrap();
    assert_eq!(list.list.get(card.status_idx as u64), Some(lanyard_credential::CardStatus::Invalid));

    // Every read the pages made is in the log with the task as purpose.
    let events = events_since(&f.store, 0).await;
    let reads: Vec<&Event> = events.iter().filter(|e| e.action == "person.read" || e.action == "person.find").collect();
    assert!(reads.len() >= 3, "find, page, photo: {}", reads.len());
    for e in reads {
        assert_eq!(e.actor.id, "user:ida");
        assert_eq!(e.purpose.as_deref(), Some("card_renewal"), "{e:?}");
    }
    ida.close().await.unwrap();
    alan.close().await.unwrap();
    card_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_journeys_in_chromium() {
    if !have_browser() {
        return;
    }
    let d = driver().await;
    for t in lanyard_testkit::stores().await {
        let f = start(&t).await;
        // The probe: a violation is reported; then none may be.
        let probe = browser(&d).await;
        probe.goto(&format!("{}/login", f.base)).await.unwrap();
        reports_arrive(&probe, &f).await;
        probe.close().await.unwrap();
        f.state.console().csp_reports_clear();

        card_journey(&d, &f).await;
        if t.name == "sqlite" {
            requester_cannot_approve(&d, &f).await;
            disclosure_officer_checks_workbooks(&d, &f).await;
            other_roles_pages_are_refused_and_audited(&d, &f).await;
            back_after_sign_out_shows_nothing(&d, &f).await;
            auditor_scopes_a_breach_and_checks_the_log(&d, &f).await;
            vetting_officer_changes_vetting_with_errors_beside_fields(&d, &f).await;
            admin_adds_a_user_who_then_signs_in(&d, &f).await;
            id_office_sends_approved_cards_to_the_supplier(&d, &f).await;
            keyboard_alone_signs_in_and_finds_a_person(&d, &f).await;
            id_office_imports_with_progress(&d, &f).await;
        }
        let reports = f.state.console().csp_violations();
        assert!(reports.is_empty(), "{}: CSP violations: {reports:#?}", t.name);
    }
}

/// A card requested in the approver's own name (on the host, as
/// `operator:olga`) is shown to olga with why she cannot approve it.
async fn requester_cannot_approve(d: &Driver, f: &Fixture) {
    let op = Operator::local(Actor::operator("olga"), false);
    let card = f
        .cards
        .request(&op, lanyard_cards::PersonRef::Id(f.person), lanyard_core::CardType::StaffPass, now_s() * 1000)
        .await
        .unwrap();
    let olga = browser(d).await;
    sign_in(&olga, f, "olga").await;
    olga.goto(&format!("{}/cards/{}", f.base, card.id)).await.unwrap();
    assert!(text(&olga, "#dual-control").await.contains("You requested this card"));
    assert!(olga.find(Locator::Css(&format!("form[action='/cards/{}/approve']", card.id))).await.is_err());
    check_page(&olga, "dual control").await;
    olga.goto(&format!("{}/approvals", f.base)).await.unwrap();
    assert!(text(&olga, "tbody").await.contains("you cannot approve it"));
    olga.close().await.unwrap();
}

fn workbook(path: &Path, hidden_staff: bool) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let summary = wb.add_worksheet().set_name("Summary").unwrap();
    summary.write(0, 0, "Rank").unwrap();
    summary.write(0, 1, "Headcount").unwrap();
    for (i, (rank, n)) in [("Constable", 6803), ("Sergeant", 1190), ("Inspector", 402)].iter().enumerate() {
        summary.write(i as u32 + 1, 0, *rank).unwrap();
        summary.write(i as u32 + 1, 1, *n).unwrap();
    }
    if hidden_staff {
        let staff = wb.add_worksheet().set_name("Staff").unwrap();
        for (c, h) in ["Service number", "Forenames", "Surname", "Email", "Rank"].iter().enumerate() {
            staff.write(0, c as u16, *h).unwrap();
        }
        let names = [("Aisha", "Khan"), ("Ben", "Walsh"), ("Chloe", "Price"), ("Dev", "Patel"), ("Ewan", "Reid")];
        for i in 0..40u32 {
            let (f, s) = names[i as usize % names.len()];
            staff.write(i + 1, 0, format!("PC{:05}", 10_000 + i)).unwrap();
            staff.write(i + 1, 1, f).unwrap();
            staff.write(i + 1, 2, s).unwrap();
            staff.write(i + 1, 3, format!("{}.{}{i}@police.example", f.to_lowercase(), s.to_lowercase())).unwrap();
            staff.write(i + 1, 4, "Constable").unwrap();
        }
        staff.set_hidden(true);
    }
    wb.save(path).unwrap();
}

/// A workbook with a hidden staff sheet is "do not release", naming the
/// sheet; a clean one is clear; the report downloads.
async fn disclosure_officer_checks_workbooks(d: &Driver, f: &Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let (leaky, clean) = (dir.path().join("foi-reply.xlsx"), dir.path().join("foi-clean.xlsx"));
    workbook(&leaky, true);
    workbook(&clean, false);
    let dora = browser(d).await;
    sign_in(&dora, f, "dora").await;
    dora.goto(&format!("{}/scan", f.base)).await.unwrap();
    check_page(&dora, "scan form").await;
    // The script runs under the policy: the session counts down, and a
    // form of long work says it is under way and cannot be sent twice
    // (its sending is held back here, to look at the page meanwhile).
    assert!(text(&dora, "#session-left").await.starts_with("Signs out in"), "the countdown runs");
    let busy = dora
        .execute(
            "const f = document.querySelector('form[data-busy]');
             f.addEventListener('submit', e => e.preventDefault());
             f.dispatchEvent(new Event('submit', { cancelable: true }));
             return [f.querySelector('.busy').textContent, f.querySelector('button[type=submit]').disabled];",
            vec![],
        )
        .await
        .unwrap();
    assert!(busy[0].as_str().unwrap().starts_with("Uploading and checking"), "{busy}");
    assert_eq!(busy[1], serde_json::json!(true), "not sent twice");
    dora.refresh().await.unwrap();
    dora.find(Locator::Id("files")).await.unwrap().send_keys(leaky.to_str().unwrap()).await.unwrap();
    click(&dora, "form[action='/scan'] button[type=submit]").await;
    assert!(text(&dora, "#verdict").await.contains("Do not release"));
    let main = text(&dora, "main").await;
    assert!(main.contains("Staff (hidden sheet)"), "the hidden sheet is named: {main}");
    assert!(!main.contains("Aisha") && !main.contains("PC10000"), "samples are masked");
    check_page(&dora, "scan verdict").await;
    screenshot(&dora, "scan-do-not-release").await;
    // The report downloads, for this user only.
    let href = dora.find(Locator::Css("a[download]")).await.unwrap().attr("href").await.unwrap().unwrap();
    let cookie = dora.get_named_cookie("lanyard_session").await.unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http
        .get(format!("{}{href}", f.base))
        .header("cookie", format!("lanyard_session={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!(report["verdict"], "do_not_release");
    assert_eq!(http.get(format!("{}{href}", f.base)).send().await.unwrap().status(), 303, "not without a session");

    dora.goto(&format!("{}/scan", f.base)).await.unwrap();
    dora.find(Locator::Id("files")).await.unwrap().send_keys(clean.to_str().unwrap()).await.unwrap();
    click(&dora, "form[action='/scan'] button[type=submit]").await;
    assert!(text(&dora, "#verdict").await.contains("Clear to release"));
    screenshot(&dora, "scan-clear").await;
    dora.close().await.unwrap();
}

/// Each role that opens another role's page gets the refusal page, in
/// words, and the refusal is in the log naming the route.
async fn other_roles_pages_are_refused_and_audited(d: &Driver, f: &Fixture) {
    // Users not yet signed in here: a second sign-in within the same 30
    // seconds would reuse a TOTP code, which is refused.
    let cases = [
        ("ivan", "/approvals", "GET /approvals"),
        ("dan", "/find", "GET /find"),
        ("amy", "/users", "GET /users"),
        ("hal", "/breach", "GET /breach"),
        ("aud2", "/find", "GET /find"),
        ("adm2", "/audit/events/0", ""),
        ("adm2", "/people/00000000-0000-0000-0000-000000000000", "GET /people/{id}"),
        ("vic", "/scan", ""),
    ];
    let mut signed_in: Vec<(&str, Client)> = Vec::new();
    for (name, path, route) in cases {
        let c = match signed_in.iter().position(|(n, _)| *n == name) {
            Some(i) => signed_in.remove(i).1,
            None => {
                let c = browser(d).await;
                sign_in(&c, f, name).await;
                c
            }
        };
        let from = f.store.audit_len().await.unwrap();
        c.goto(&format!("{}{path}", f.base)).await.unwrap();
        if route.is_empty() {
            // Control cases: every signed-in person may check a file, and
            // an administrator reads the log.
            assert_ne!(text(&c, "h1").await, "This is not for your role", "{name} on {path}");
            signed_in.push((name, c));
            continue;
        }
        assert_eq!(text(&c, "h1").await, "This is not for your role", "{name} on {path}");
        assert!(text(&c, "main").await.contains("recorded in the audit log"));
        check_page(&c, "refusal page").await;
        if name == "ivan" {
            screenshot(&c, "refused").await;
        }
        let denied: Vec<Event> =
            events_since(&f.store, from).await.into_iter().filter(|e| e.action == "access.denied").collect();
        assert_eq!(denied.len(), 1, "{name} on {path}");
        assert_eq!(denied[0].actor.id, format!("user:{name}"));
        assert_eq!(denied[0].detail.as_ref().unwrap()["route"], route);
        signed_in.push((name, c));
    }
    for (_, c) in signed_in {
        c.close().await.unwrap();
    }
}

/// After sign-out, Back shows sign-in, not the record.
async fn back_after_sign_out_shows_nothing(d: &Driver, f: &Fixture) {
    let c = browser(d).await;
    sign_in(&c, f, "ivy").await;
    c.goto(&format!("{}/people/{}", f.base, f.person)).await.unwrap();
    set_task(&c, "card_renewal").await;
    assert_eq!(text(&c, "h1").await, "Matrix Person");
    click(&c, "header form[action='/logout'] button").await;
    assert_eq!(text(&c, "h1").await, "Sign in");
    c.back().await.unwrap();
    let page = c.source().await.unwrap();
    for personal in ["Matrix", "MX1", "Inspector", "police.example"] {
        assert!(!page.contains(personal), "Back after sign-out shows {personal}");
    }
    assert_eq!(text(&c, "h1").await, "Sign in");
    c.close().await.unwrap();
}

/// An auditor scopes a breach by the ID officer's reads and downloads the
/// Art. 33 draft; searches the log, opens an event and its proof; verifies
/// the log; and sees the picture of access.
async fn auditor_scopes_a_breach_and_checks_the_log(d: &Driver, f: &Fixture) {
    let c = browser(d).await;
    sign_in(&c, f, "audrey").await;
    c.goto(&format!("{}/breach", f.base)).await.unwrap();
    check_page(&c, "breach form").await;
    c.find(Locator::Id("actor")).await.unwrap().send_keys("ida").await.unwrap();
    click(&c, "form[action='/breach'] button[type=submit]").await;
    let result = text(&c, "#scope-result").await;
    assert!(result.contains("1 person exposed"), "{result}");
    assert!(text(&c, "main").await.contains(&f.person.to_string()), "the person, by reference");
    assert!(!c.source().await.unwrap().contains("Matrix"), "no name on the auditor's page");
    check_page(&c, "breach result").await;
    screenshot(&c, "breach-scope").await;
    // The download, as the browser would post it.
    let csrf = c.find(Locator::Css("form[action='/breach/report'] input[name=csrf]")).await.unwrap();
    let csrf = csrf.attr("value").await.unwrap().unwrap();
    let cookie = c.get_named_cookie("lanyard_session").await.unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/breach/report", f.base))
        .header("cookie", format!("lanyard_session={}", cookie.value()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("csrf", csrf.as_str()),
                ("actor", "ida"),
                ("from", ""),
                ("to", ""),
                ("compartment", ""),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("art33-report-draft.html"));
    let draft = r.text().await.unwrap();
    assert!(draft.contains("Article 33") && draft.contains("Number affected: <strong>1</strong>"), "{draft}");
    assert!(!draft.contains("Matrix"), "the report names nobody");
    // Without the form's token, the same post is refused.
    let r = reqwest::Client::new()
        .post(format!("{}/breach/report", f.base))
        .header("cookie", format!("lanyard_session={}", cookie.value()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=forged&actor=ida")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The log explorer: ida's reads, one event and its proof.
    c.goto(&format!("{}/audit", f.base)).await.unwrap();
    check_page(&c, "audit explorer").await;
    c.find(Locator::Id("actor")).await.unwrap().send_keys("ida").await.unwrap();
    c.find(Locator::Id("action")).await.unwrap().send_keys("person.read").await.unwrap();
    click(&c, "form[action='/audit'] button[type=submit]").await;
    let rows = c.find_all(Locator::Css("tbody tr")).await.unwrap();
    assert!(rows.len() >= 2, "ida's reads: {}", rows.len());
    assert!(text(&c, "tbody").await.contains("card_renewal"));
    screenshot(&c, "audit-explorer").await;
    click(&c, "tbody tr a").await;
    check_page(&c, "audit event").await;
    assert!(text(&c, "main").await.contains("person.read"));
    let href = c.find(Locator::Css("a[download]")).await.unwrap().attr("href").await.unwrap().unwrap();
    let r = reqwest::Client::new()
        .get(format!("{}{href}", f.base))
        .header("cookie", format!("lanyard_session={}", cookie.value()))
        .send()
        .await
        .unwrap();
    let proof: serde_json::Value = r.json().await.unwrap();
    assert!(proof["hashes"].is_array() && proof["checkpoint"].as_str().unwrap().contains('\n'), "{proof}");

    // The checkpoint, and the log verified now.
    c.goto(&format!("{}/audit/log", f.base)).await.unwrap();
    check_page(&c, "checkpoint").await;
    click(&c, "form[action='/audit/verify'] button").await;
    assert!(text(&c, "#verify-result").await.contains("The log verifies"));

    // The drill, for a supplier the administrator has not added yet.
    c.goto(&format!("{}/exposure", f.base)).await.unwrap();
    check_page(&c, "drill form").await;

    // The picture: ida's reads are drawn, and her line offers a scope.
    c.goto(&format!("{}/access", f.base)).await.unwrap();
    check_page(&c, "picture of access").await;
    let main = text(&c, "main").await;
    assert!(main.contains("user:ida"), "{main}");
    let bars = c.find_all(Locator::Css("svg rect")).await.unwrap();
    assert!(bars.len() > 4, "bars beside the legend");
    screenshot(&c, "picture-of-access").await;
    c.close().await.unwrap();
}

/// A vetting officer changes a vetting level: a wrong value is named beside
/// its field and nothing is saved; a right one is saved and shown.
async fn vetting_officer_changes_vetting_with_errors_beside_fields(d: &Driver, f: &Fixture) {
    let c = browser(d).await;
    sign_in(&c, f, "val").await;
    c.goto(&format!("{}/people/{}", f.base, f.person)).await.unwrap();
    set_task(&c, "vetting_review").await;
    assert!(text(&c, "#c-vetting").await.contains("Vetting"));
    assert!(c.find(Locator::Css("form[action$='/cards']")).await.is_err(), "no card request for vetting");
    click(&c, "a[href$='/edit']").await;
    check_page(&c, "edit form").await;
    let level = c.find(Locator::Id("vetting_level")).await.unwrap();
    level.clear().await.unwrap();
    level.send_keys("Q9").await.unwrap();
    click(&c, "form[action$='/edit'] button[type=submit]").await;
    let error = text(&c, "#vetting_level-error").await;
    assert!(!error.is_empty(), "the error is beside the field");
    assert_eq!(
        c.find(Locator::Id("vetting_level")).await.unwrap().attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    check_page(&c, "edit errors").await;
    screenshot(&c, "edit-errors").await;
    let level = c.find(Locator::Id("vetting_level")).await.unwrap();
    level.clear().await.unwrap();
    level.send_keys("DV").await.unwrap();
    click(&c, "form[action$='/edit'] button[type=submit]").await;
    assert!(text(&c, "#saved").await.contains("Saved"));
    click(&c, "main a").await;
    assert!(text(&c, "#c-vetting + dl, section[aria-labelledby=c-vetting]").await.contains("DV"));
    c.close().await.unwrap();
}

/// An administrator adds a user, whose sign-in QR and secret are shown
/// once, and that user signs in with them; issues a device token, adds a
/// supplier and a zone, and rotates a key. No page shows personal data.
async fn admin_adds_a_user_who_then_signs_in(d: &Driver, f: &Fixture) {
    let c = browser(d).await;
    sign_in(&c, f, "adam").await;
    c.goto(&format!("{}/users", f.base)).await.unwrap();
    check_page(&c, "users").await;
    c.find(Locator::Id("name")).await.unwrap().send_keys("nora").await.unwrap();
    choose(&c, "#role", "approver").await;
    c.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    click(&c, "form[action='/users'] button[type=submit]").await;
    let secret = text(&c, "#totp-secret").await;
    assert!(c.find(Locator::Css(".qr svg")).await.is_ok(), "the QR is drawn");
    check_page(&c, "enrolment").await;
    screenshot(&c, "user-added").await;
    // The new user signs in with what was shown.
    let nora = browser(d).await;
    nora.goto(&format!("{}/login", f.base)).await.unwrap();
    nora.find(Locator::Id("name")).await.unwrap().send_keys("nora").await.unwrap();
    nora.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    nora.find(Locator::Id("code")).await.unwrap().send_keys(&code(&secret)).await.unwrap();
    click(&nora, "main button[type=submit]").await;
    assert_eq!(text(&nora, "h1").await, "Start");
    assert!(text(&nora, "header").await.contains("Approver"));
    nora.close().await.unwrap();

    c.goto(&format!("{}/tokens", f.base)).await.unwrap();
    check_page(&c, "tokens").await;
    choose(&c, "#kind", "verifier").await;
    c.find(Locator::Id("subject")).await.unwrap().send_keys("gate-9").await.unwrap();
    click(&c, "form[action='/tokens'] button[type=submit]").await;
    let token = text(&c, "#token-secret").await;
    let r = reqwest::Client::new().get(format!("{}/v1/session", f.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200, "the token works");

    c.goto(&format!("{}/suppliers", f.base)).await.unwrap();
    check_page(&c, "suppliers").await;
    let (_, recipient) = lanyard_supply::package::keygen("console");
    c.find(Locator::Id("name")).await.unwrap().send_keys("inkwell").await.unwrap();
    c.find(Locator::Id("recipient")).await.unwrap().send_keys(&recipient).await.unwrap();
    click(&c, "form[action='/suppliers'] button[type=submit]").await;
    assert!(text(&c, "tbody").await.contains("inkwell"));

    c.goto(&format!("{}/zones", f.base)).await.unwrap();
    check_page(&c, "zones").await;
    c.find(Locator::Id("code")).await.unwrap().send_keys("CUSTODY").await.unwrap();
    c.find(Locator::Id("zone-name")).await.unwrap().send_keys("Custody suite").await.unwrap();
    c.find(Locator::Id("accepts")).await.unwrap().send_keys("SC,DV").await.unwrap();
    click(&c, "form[action='/zones'] button[type=submit]").await;
    assert!(text(&c, "tbody").await.contains("Custody suite"));

    c.goto(&format!("{}/keys", f.base)).await.unwrap();
    check_page(&c, "keys").await;
    click(&c, "form[action='/keys/pay/rotate'] button").await;
    assert!(text(&c, "#rotated").await.contains("pay key is now version 2"));
    for page in ["/users", "/tokens", "/suppliers", "/zones", "/keys"] {
        c.goto(&format!("{}{page}", f.base)).await.unwrap();
        let source = c.source().await.unwrap();
        assert!(!source.contains("Matrix") && !source.contains("MX1"), "{page} shows personal data");
    }
    c.close().await.unwrap();
}

/// The ID office seals the approved cards into a batch for the supplier
/// the administrator added; the page says so while it works.
async fn id_office_sends_approved_cards_to_the_supplier(d: &Driver, f: &Fixture) {
    let (setup, second) =
        (Operator::local(Actor::operator("setup"), false), Operator::local(Actor::operator("second"), false));
    let card = f
        .cards
        .request(&setup, lanyard_cards::PersonRef::Id(f.person), lanyard_core::CardType::WarrantCard, now_s() * 1000)
        .await
        .unwrap();
    f.cards.transition(&second, &card.id, lanyard_core::CardAction::Approve, None, now_s() * 1000).await.unwrap();
    let c = browser(d).await;
    sign_in(&c, f, "iris").await;
    c.goto(&format!("{}/batches", f.base)).await.unwrap();
    check_page(&c, "batches").await;
    assert!(text(&c, "main").await.contains("1 approved card(s) wait"));
    choose(&c, "#supplier", "inkwell").await;
    click(&c, "form[action='/batches'] button[type=submit]").await;
    assert!(text(&c, "#batch-created").await.contains("1 card(s) sealed for inkwell"));
    click(&c, "main a[href='/batches']").await;
    assert!(text(&c, "tbody").await.contains("inkwell"));
    screenshot(&c, "batches").await;
    c.close().await.unwrap();
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// What has the keyboard focus: its id, or its tag and text.
async fn focused(c: &Client) -> String {
    let v = c
        .execute(
            "const e = document.activeElement; return e.id || (e.tagName + ':' + (e.textContent || '').trim());",
            vec![],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_owned()
}

/// With the keyboard alone: sign in, skip to the content, reach the search,
/// find a person and open their record. Focus is visible at each step.
async fn keyboard_alone_signs_in_and_finds_a_person(d: &Driver, f: &Fixture) {
    let c = browser(d).await;
    c.goto(&format!("{}/login", f.base)).await.unwrap();
    assert_eq!(focused(&c).await, "name", "the first field has the focus");
    let keys = |text: String| {
        let c = c.clone();
        async move { c.active_element().await.unwrap().send_keys(&text).await.unwrap() }
    };
    keys(format!("kay{TAB}")).await;
    keys(format!("{PASSWORD}{TAB}")).await;
    c.execute("document.documentElement.dataset.stale = '1';", vec![]).await.unwrap();
    keys(format!("{}{ENTER}", code(f.secret("kay")))).await;
    assert_eq!(text(&c, "h1").await, "Start");
    // The first Tab reaches the skip link, shown when focused.
    c.find(Locator::Css("body")).await.unwrap().send_keys(TAB).await.unwrap();
    assert_eq!(focused(&c).await, "A:Skip to the content");
    let outline = c.execute("return getComputedStyle(document.activeElement).outlineStyle;", vec![]).await.unwrap();
    assert_eq!(outline, serde_json::json!("solid"), "focus is visible");
    keys(ENTER.to_owned()).await;
    assert_eq!(focused(&c).await, "main", "the skip link moves the focus to the content");
    // Tab to "Find a person" in the task list and follow it.
    for _ in 0..40 {
        keys(TAB.to_owned()).await;
        if focused(&c).await == "A:Find a person"
            && c.execute("return document.activeElement.closest('main') !== null;", vec![]).await.unwrap()
                == serde_json::json!(true)
        {
            break;
        }
    }
    c.execute("document.documentElement.dataset.stale = '1';", vec![]).await.unwrap();
    keys(ENTER.to_owned()).await;
    assert_eq!(text(&c, "h1").await, "Find a person");
    c.close().await.unwrap();
}

/// A CSV with a wrong row imports nothing and names the row; a good one
/// runs in the background while its page follows it, and ends saying how
/// many were added.
async fn id_office_imports_with_progress(d: &Driver, f: &Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let (bad, good) = (dir.path().join("bad.csv"), dir.path().join("starters.csv"));
    std::fs::write(
        &bad,
        "service_number,forenames,surname,rank\nNS1,Ann,Ok,Police Constable\nNS2,Bob,Wrong,Grand Vizier\n",
    )
    .unwrap();
    let mut rows = String::from("service_number,forenames,surname,rank\n");
    for i in 0..400 {
        rows.push_str(&format!("NS{:05},New,Starter{i},Police Constable\n", 10_000 + i));
    }
    std::fs::write(&good, rows).unwrap();
    let c = browser(d).await;
    sign_in(&c, f, "ike").await;
    // Reached from the start page, as a person would.
    click(&c, "main a[href='/import']").await;
    check_page(&c, "import form").await;
    c.find(Locator::Id("file")).await.unwrap().send_keys(bad.to_str().unwrap()).await.unwrap();
    click(&c, "form[action='/import'] button[type=submit]").await;
    let error = text(&c, "#import-error").await;
    assert!(error.contains("nothing imported") && error.contains("3"), "the row is named: {error}");
    c.find(Locator::Id("file")).await.unwrap().send_keys(good.to_str().unwrap()).await.unwrap();
    click(&c, "form[action='/import'] button[type=submit]").await;
    assert!(c.current_url().await.unwrap().path().starts_with("/import/"), "the job's page");
    check_page(&c, "import progress").await;
    // The page follows the job by itself (the script), and ends on how it
    // went: no reload from here.
    let mut status = String::new();
    for _ in 0..100 {
        status = text(&c, "#import-status").await;
        if status.contains("Imported") {
            break;
        }
        assert!(status.contains("of 400 people"), "{status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(status.contains("400 people added"), "{status}");
    // Another user cannot follow it.
    let job = c.current_url().await.unwrap().path().to_owned();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(format!("{}{job}/status.json", f.base)).send().await.unwrap();
    assert_eq!(r.status(), 303, "no session: to sign-in");
    screenshot(&c, "import-done").await;
    c.close().await.unwrap();
}
