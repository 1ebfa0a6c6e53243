//! `lanyard demo`: a fresh data directory with a synthetic force, imported
//! through the real path, and a short tour of what to try next.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use lanyard_core::{Compartment, Field, Role};
use lanyard_crypto::{KdfParams, KeyringProvider};
use lanyard_register::import::{self, Options};
use lanyard_register::{Lookup, Register};

use crate::cmd::init;
use crate::config::{KEYRING_FILE, ProviderSettings, Settings};
use crate::context;
use crate::opts::{Cli, DemoArgs};

const MARKER: &str = ".lanyard-demo";
const DEMO_PASSPHRASE: &str = "lanyard demo passphrase";
const DEMO_PASSWORD: &str = "lanyard demo password";
/// One demo login per role that people hold.
const DEMO_USERS: [(&str, Role); 7] = [
    ("ida", Role::IdOfficer),
    ("alex", Role::Approver),
    ("val", Role::VettingOfficer),
    ("harriet", Role::HrPayroll),
    ("audrey", Role::Auditor),
    ("adam", Role::Admin),
    ("freya", Role::DisclosureOfficer),
];

/// The demo force's fingerprints file, in its `guard` folder.
const FINGERPRINTS_FILE: &str = "fingerprints.json";

pub async fn run(cli: &Cli, args: &DemoArgs) -> Result<()> {
    let dir = &cli.data_dir;
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        if !dir.join(MARKER).exists() {
            bail!(
                "{} exists and is not an earlier demo; choose another --data-dir (the demo never touches a real register)",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("removing the earlier demo in {}", dir.display()))?;
    }
    if cli.database_url.is_some() {
        bail!("the demo runs on the embedded SQLite store; drop --database-url / LANYARD_DATABASE_URL");
    }
    context::ensure_dir(dir)?;
    std::fs::write(dir.join(MARKER), "made by lanyard demo; safe to delete\n")?;
    let passphrase = std::env::var("LANYARD_PASSPHRASE").unwrap_or_else(|_| DEMO_PASSPHRASE.to_owned());
    let mut settings =
        Settings::defaults(dir.clone(), None, ProviderSettings::Keyring { path: dir.join(KEYRING_FILE) });
    // The cards and the trust bundle name the demo server's status list, so
    // `lanyard verify` fetches it from there.
    settings.issuer.status_list_uri = format!("http://{}/v1/status-lists/1", args.listen);
    // The force's fingerprints file, as a register host's server keeps it:
    // an FOI officer's `lanyard scan` finds it in lanyard.toml.
    settings.guard_fingerprints = Some(dir.join("guard").join(FINGERPRINTS_FILE));
    settings.guard_export_every_s = Some(86_400);
    let started = Instant::now();
    let provider =
        Arc::new(KeyringProvider::create(&dir.join(KEYRING_FILE), passphrase.as_bytes(), KdfParams::recommended())?);
    init::init_with(&settings, provider.clone()).await?;
    println!("1. created a register in {} (SQLite, keyring provider, Argon2id-sealed root key)", dir.display());

    let input = dir.join("demo-input");
    let photos = input.join("photos");
    std::fs::create_dir_all(&photos)?;
    let csv_path = input.join("force.csv");
    lanyard_synth::write_force(&csv_path, args.people, Some(&photos), 2023)?;
    println!("2. generated {} synthetic people with placeholder portraits in {}", args.people, input.display());

    let ledger = lanyard_audit::Ledger::new(context::open_store(&settings, false).await?);
    let register = context::register_on(ledger.clone(), provider.clone(), &settings).await?;
    let op = context::process("demo");
    let parsed = import::parse(
        std::io::BufReader::new(std::fs::File::open(&csv_path)?),
        register.ranks(),
        Options { photos_dir: Some(&photos), ignore_unknown: false },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let t = Instant::now();
    let outcome = register.import(&op, parsed.records, context::now_ms(), &|_| {}).await?;
    println!(
        "3. imported {} people in {:.1} s: every value sealed per compartment, photos re-encoded without metadata",
        outcome.imported.len(),
        t.elapsed().as_secs_f64()
    );
    // A few protected officers, to show [protected].
    let protected: Vec<_> = outcome.imported.iter().step_by(100).copied().collect();
    for id in &protected {
        register.update(&op, *id, Default::default(), Some(true), context::now_ms()).await?;
    }
    println!("4. marked {} people as protected (covert roles): their identity shows as [protected]", protected.len());

    let some = outcome.imported.get(1).copied().context("the demo force is empty")?;
    let viewer = context::process("demo");
    let shown = register
        .show(
            &viewer,
            some,
            &[Compartment::Identity, Compartment::Vetting],
            Some("audit_review: demo walkthrough"),
            context::now_ms(),
        )
        .await?;
    let sn = shown.record.service_number.clone().unwrap_or_default();
    println!("5. one person, read with a purpose (and audited):");
    crate::output::print_revealed(&shown, &[Compartment::Identity, Compartment::Vetting]);
    let found = register
        .find(
            &viewer,
            Lookup::Surname("o'brien"),
            &[Compartment::Identity],
            Some("audit_review: demo walkthrough"),
            context::now_ms(),
        )
        .await?;
    println!(
        "6. found {} people with surname O'Brien through the blind index (no plaintext in the database)",
        found.len()
    );
    let status = register.keys_status().await?;
    let register = Arc::new(register);
    let cards_dir = dir.join("cards");
    let first_card = demo_cards(&register, &ledger, &settings, &outcome.imported, &cards_dir).await?;
    let supplier_dir = dir.join("supplier");
    let batch = demo_supply(&register, &ledger, &settings, &outcome.imported, &supplier_dir).await?;
    let foi_dir = dir.join("foi");
    demo_guard(&register, &foi_dir, &dir.join("guard")).await?;
    let (ledger, register) =
        demo_drill(cli, &settings, provider.clone(), register, ledger, &outcome.imported, dir).await?;
    let audit = ledger.store().audit_len().await?;
    println!("13. {} audit events so far; key provider: {}", audit, status.provider);
    println!("done in {:.1} s.\n", started.elapsed().as_secs_f64());

    let d = dir.display();
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "lanyard".into());
    println!("Try next, on this host (the passphrase of this demo keyring is '{passphrase}'). Operator");
    println!("commands here are break-glass (--local, flagged in the log); signed in, below, they are not:");
    println!("  alias lanyard='{exe}'");
    println!("  export LANYARD_DATA_DIR={d} LANYARD_PASSPHRASE='{passphrase}'");
    println!("  lanyard --local person list --limit 5");
    println!("  lanyard --local person find --service-number {sn} --purpose card_renewal");
    println!(
        "  lanyard --local person show {} --compartments identity --purpose 'lost card: reported at the front desk'",
        protected.first().map(|p| p.to_string()).unwrap_or_default()
    );
    println!("  lanyard --local person show {some} --compartments photo --purpose 'card print' --photo-out photo.jpg");
    println!("  lanyard --local card list && lanyard --local card show {first_card}");
    println!(
        "  lanyard verify --bundle {d}/cards/bundle.json --status-list {d}/cards/status-list.cwt --image {d}/cards/{first_card}-front.png"
    );
    println!("  lanyard --local batch list && lanyard --local batch show {batch}");
    println!("  lanyard --local drill supplier-compromise {DEMO_SUPPLIER}");
    println!("  lanyard scan --explain {d}/foi                  # exit 1: the reply must not go out");
    println!("  lanyard scan --data-dir {d} {d}/foi/reply.xlsx  # exact match with the force's fingerprints: no key");
    println!("  lanyard keys status");
    println!("  lanyard keys rotate pay");
    println!("  lanyard audit checkpoint && lanyard audit verify");
    println!("  lanyard backup verify {d}/backups/before-the-migration.age --identity {d}/backups/operations.key");
    println!("  lanyard watch --once");
    println!("  lanyard --local audit note N  # the sealed note of event N's purpose (the auditor's read, audited)");
    println!("  lanyard --local breach scope --actor {}", op.actor.id);
    println!("  strings {d}/lanyard.db | grep -i obrien    # finds nothing: values are sealed");
    if args.no_serve {
        return Ok(());
    }

    let access = lanyard_access::Access::new(ledger.clone(), provider, lanyard_access::SessionPolicy::default());
    let now = context::now_ms() / 1000;
    let mut logins = Vec::new();
    for (name, role) in DEMO_USERS {
        let e = access.create_user(&op.actor, name, role, DEMO_PASSWORD, false, now).await?;
        logins.push((name, role, e.totp_secret.to_string()));
    }
    let addr: std::net::SocketAddr = args.listen.parse().with_context(|| format!("--listen: '{}'", args.listen))?;
    if !addr.ip().is_loopback() {
        bail!("the demo server listens on loopback only");
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    let base = format!("http://{}", listener.local_addr()?);
    let stop = crate::signals::stop_signal()?;
    println!("\nThe server (Ctrl-C stops it):");
    println!("listening on {base}");
    println!(
        "Demo logins, password '{DEMO_PASSWORD}', each with a TOTP secret (oathtool --totp -b SECRET gives the code):"
    );
    for (name, role, secret) in &logins {
        println!("  {name:<8} {:<16} {secret}", role.as_str());
    }
    println!("The web console, for every role: open {base}/ in a browser and sign in as one of these");
    println!("  (add the secret to an authenticator app, or: oathtool --totp -b SECRET).");
    println!("Sign in from another terminal (the password, then the code), and work as that user:");
    println!("  lanyard login --server {base} --user ida");
    println!("  lanyard person find --surname SURNAME --purpose card_renewal && lanyard card list");
    println!("  lanyard logout");
    println!(
        "  curl -c jar -H 'content-type: application/json' -d '{{\"name\":\"ida\",\"password\":\"{DEMO_PASSWORD}\",\"code\":\"CODE\"}}' {base}/v1/login"
    );
    println!("  curl -b jar -H 'X-Lanyard-Purpose: demo' '{base}/v1/people/{some}?compartments=identity'");
    println!("  curl {base}/v1/openapi.json");
    let token = access.create_token(&op.actor, lanyard_core::Role::PrintSupplier, DEMO_SUPPLIER, 86_400, now).await?;
    let token_file = supplier_dir.join("token");
    std::fs::write(&token_file, format!("{}\n", token.secret.as_str()))?;
    println!("The print supplier's agent (its token is in {}):", token_file.display());
    println!(
        "  lanyard supplier pull --server {base} --token-file {} --identity {} --spool {}",
        token_file.display(),
        supplier_dir.join("identity.txt").display(),
        supplier_dir.join("spool").display()
    );
    let serve = crate::opts::ServeArgs {
        listen: args.listen.clone(),
        tls_cert: None,
        tls_key: None,
        insecure_http: false,
        behind_tls_proxy: false,
        checkpoint_every: 5,
        reads_per_minute: 120,
        read_burst: 30,
        max_connections: 512,
        header_timeout: 10,
        key_check_every: 5,
        scan_slots: 2,
        scan_wait: 10,
        scan_memory: 96,
        request_timeout: 30,
        openapi: false,
        allow_degraded: false,
    };
    crate::cmd::serve::serve_until_interrupted(
        register,
        access,
        ledger,
        &settings,
        listener,
        &serve,
        crate::cmd::serve::How { tls: None, degraded: None, stop: Box::pin(stop) },
    )
    .await
}

/// Step 7: three cards requested by one operator, approved by another,
/// printed and issued; rendered to PNG and PDF; the trust bundle and status
/// list exported; and one card verified from its picture alone.
async fn demo_cards(
    register: &Arc<Register>,
    ledger: &lanyard_audit::Ledger,
    settings: &Settings,
    people: &[lanyard_core::PersonId],
    out: &std::path::Path,
) -> Result<String> {
    use lanyard_cards::{Cards, PersonRef};
    use lanyard_core::{CardAction, CardType};
    std::fs::create_dir_all(out)?;
    let cards = Cards::new(Arc::clone(register), ledger.clone(), settings.issuer.clone());
    let (clerk, approver) = (context::process("ida"), context::process("abe"));
    let now = context::now_ms();
    let mut ids = Vec::new();
    // Warrant cards are for officers and staff passes for staff: choose
    // holders by rank, through an audited read. Protected people (every
    // hundredth) are left out: their cards need the protected clearance.
    let candidates: Vec<_> = people.iter().skip(1).take(60).copied().collect();
    let shown = register
        .show_many(&clerk, &candidates, &[lanyard_core::Compartment::Identity], Some("demo: choose card holders"), now)
        .await?;
    let is_staff =
        |r: &lanyard_register::Revealed| r.record.rank.as_deref().is_some_and(|k| k.starts_with("Police Staff"));
    let live = |r: &&lanyard_register::Revealed| !r.protected && r.withheld.is_empty();
    let officer = shown.iter().filter(live).find(|r| !is_staff(r)).map(|r| r.id);
    let staff = shown.iter().filter(live).find(|r| is_staff(r)).map(|r| r.id);
    let visitor = shown.iter().filter(live).rev().map(|r| r.id).next();
    let chosen = [(officer, CardType::WarrantCard), (staff, CardType::StaffPass), (visitor, CardType::VisitorPass)];
    for (person, kind) in chosen.iter().filter_map(|(p, k)| p.map(|p| (p, *k))) {
        let person = &person;
        let card = cards.request(&clerk, PersonRef::Id(*person), kind, now).await?;
        for (who, step) in [(&approver, CardAction::Approve), (&clerk, CardAction::Print), (&clerk, CardAction::Issue)]
        {
            cards.transition(who, &card.id, step, None, now).await?;
        }
        for ext in ["png", "pdf"] {
            let file = out.join(format!("{}.{ext}", card.id));
            crate::cmd::card::render(
                &cards,
                &clerk,
                &card.id,
                &file,
                crate::opts::SideArg::Both,
                "demo card print",
                now,
            )
            .await?;
        }
        ids.push(card.id);
    }
    let bundle = cards.trust_bundle(&clerk, now).await?;
    std::fs::write(out.join("bundle.json"), serde_json::to_vec_pretty(&bundle)?)?;
    let list = cards.status_list(&clerk, now).await?;
    std::fs::write(out.join("status-list.cwt"), &list)?;
    let first = ids.first().cloned().unwrap_or_default();
    let status = lanyard_credential::StatusListToken::verify(&list, &bundle, now / 1000)?;
    let text = crate::cmd::verify::read_qr(&out.join(format!("{first}-front.png")))?;
    let verdict = lanyard_credential::verify_qr(&text, &bundle, Some(&status), now / 1000)?.verdict;
    println!(
        "7. issued {} cards (requested by ida, approved by abe: dual control) and rendered them to {}; card {first} read back from its PNG offline: {}",
        ids.len(),
        out.display(),
        verdict.as_str()
    );
    Ok(first)
}

/// The demo's print supplier.
const DEMO_SUPPLIER: &str = "demo-print";

/// Step 8: a print supplier makes its own age key; the force registers only
/// the public half, batches four approved cards for it, and hands the sealed
/// batch over out of band; the supplier's agent opens it into its spool; and
/// the drill says what a compromise of the supplier would yield now.
async fn demo_supply(
    register: &Arc<Register>,
    ledger: &lanyard_audit::Ledger,
    settings: &Settings,
    people: &[lanyard_core::PersonId],
    dir: &std::path::Path,
) -> Result<String> {
    use lanyard_cards::{Cards, PersonRef};
    use lanyard_core::{CardAction, CardType};
    use zeroize::Zeroize;
    context::ensure_dir(dir)?;
    let (identity, recipient) = lanyard_supply::package::keygen("lanyard demo");
    let identity_path = dir.join("identity.txt");
    {
        use age::secrecy::ExposeSecret;
        let mut text = identity.expose_secret().to_owned();
        std::fs::write(&identity_path, &text)?;
        text.zeroize();
    }
    let cards = Cards::new(Arc::clone(register), ledger.clone(), settings.issuer.clone());
    let supply = lanyard_supply::Supply::new(Arc::clone(register), ledger.clone(), cards.clone(), settings.supply);
    let (clerk, approver, admin) = (context::process("ida"), context::process("abe"), context::process("root"));
    let now = context::now_ms();
    supply.add_supplier(&admin, DEMO_SUPPLIER, &recipient, now).await?;
    // Enrolment: the supplier's agent pins the force's batch key.
    let state = dir.join("agent-state");
    let key = supply.batch_key(&admin, now).await?;
    lanyard_agent::State::open(&state)?.trust(DEMO_SUPPLIER, &key.to_key_string())?;
    // The last four people (a protected one would be held back: never printed by a contractor).
    for person in people.iter().rev().take(4) {
        let card = cards.request(&clerk, PersonRef::Id(*person), CardType::WarrantCard, now).await?;
        cards.transition(&approver, &card.id, CardAction::Approve, None, now).await?;
    }
    let created = supply.create_batch(&clerk, DEMO_SUPPLIER, None, now).await?;
    let batch = created.batch.id.clone();
    let sealed = dir.join(format!("{batch}.age"));
    supply.export(&clerk, &batch, now).await?.write_to(&mut std::fs::File::create(&sealed)?).await?;
    let manifest = lanyard_agent::spool_file(
        &sealed,
        &lanyard_agent::SpoolArgs {
            identity: identity_path.clone(),
            spool: dir.join("spool"),
            state,
            print_command: None,
        },
    )?;
    let drill = supply.drill(&admin, DEMO_SUPPLIER, now).await?;
    let count = |f: &str| drill.fields.get(f).copied().unwrap_or_default();
    println!(
        "8. batched {} cards for print supplier {DEMO_SUPPLIER} ({} bytes, age-sealed to the supplier's own key and signed with the force's batch key; it expires unconfirmed in {} h); \
         its agent checked the signature against the key it pinned and opened it into {}. A compromise of the supplier now yields {} people: name {}, photo {}, vetting {}, pay {}",
        manifest.cards.len(),
        created.batch.size,
        settings.supply.batch_ttl_s / 3600,
        dir.join("spool").display(),
        drill.people.len(),
        count("name"),
        count("photo"),
        count("vetting"),
        count("salary") + count("pay_grade"),
    );
    Ok(batch)
}

/// Step 9: the PSNI mistake, caught. An FOI reply whose visible sheet is a
/// headcount by rank and whose hidden second sheet lists 25 of the force
/// (surname, initial, rank, service number); the guard, holding only
/// fingerprints of the register, refuses it and clears the headcount alone.
async fn demo_guard(register: &Arc<Register>, dir: &std::path::Path, guard_dir: &std::path::Path) -> Result<()> {
    context::ensure_dir(dir)?;
    context::ensure_dir(guard_dir)?;
    // Step 10's canary is planted first, so the fingerprints carry it.
    let dpo = context::process("dora");
    let template = lanyard_register::CanaryTemplate {
        email_domain: Some("demo.police.example".into()),
        ..lanyard_register::CanaryTemplate::default()
    };
    register.plant_canary(&dpo, "hr-payroll", template, context::now_ms()).await?;
    let foi = context::process("freya");
    let (fingerprints, people) =
        crate::cmd::scan::fingerprints_of(register, &foi, "disclosure guard: exact data match").await?;
    let fingerprints = crate::cmd::scan::save_for_guard(&fingerprints, &guard_dir.join(FINGERPRINTS_FILE))?;
    let headcount = "Rank,Headcount\nPolice Constable,6803\nPolice Sergeant,1034\nInspector,312\n";
    std::fs::write(dir.join("headcount.csv"), headcount)?;
    let mut staff = vec![vec!["Surname".to_owned(), "Initial".into(), "Service Number".into()]];
    for p in people.iter().take(25) {
        let initial: String = p.forenames.as_deref().unwrap_or("").chars().take(1).collect();
        staff.push(vec![p.surname.clone().unwrap_or_default(), initial, p.service_number.clone().unwrap_or_default()]);
    }
    let visible: Vec<Vec<String>> = headcount.lines().map(|l| l.split(',').map(str::to_owned).collect()).collect();
    std::fs::write(dir.join("reply.xlsx"), workbook(&[("Headcount", false, &visible), ("Sheet2", true, &staff)])?)?;
    let scanner = lanyard_guard::Scanner { fingerprints: Some(fingerprints), ..Default::default() };
    let reply = scanner.scan_paths(&[dir.join("reply.xlsx")]);
    let clear = scanner.scan_paths(&[dir.join("headcount.csv")]);
    let count =
        |d: lanyard_guard::Detector| reply.findings.iter().filter(|f| f.detector == d).map(|f| f.count).sum::<u64>();
    println!(
        "9. disclosure guard: an FOI reply with a hidden tab: {} ({} register people by fingerprint, a personal-data table of {} rows, a hidden sheet); \
         the headcount alone: {}. Files in {}",
        reply.verdict.headline().split(':').next().unwrap_or(""),
        count(lanyard_guard::Detector::RegisterSurnameInitial)
            .max(count(lanyard_guard::Detector::RegisterServiceNumber)),
        count(lanyard_guard::Detector::PersonalDataTable),
        clear.verdict.headline().split(':').next().unwrap_or(""),
        dir.display()
    );

    // Step 10: a payroll feed to one recipient carries its canary; a cut of
    // the feed turns up somewhere, and the guard names where it came from.
    let hr = context::process("harriet");
    let mut rows = Vec::new();
    let comps = [Compartment::Identity, Compartment::Pay];
    let mut keep = |p: lanyard_register::Revealed| -> Result<(), lanyard_register::RegisterError> {
        let text = |f: Field| p.record.field_text(f).unwrap_or_default();
        rows.push(format!(
            "{},{},{},{}",
            text(Field::Surname),
            text(Field::Forenames),
            text(Field::ServiceNumber),
            text(Field::Salary)
        ));
        Ok(())
    };
    let sent = register
        .export_to(&hr, &comps, Some("monthly payroll feed"), Some("hr-payroll"), context::now_ms(), &mut keep)
        .await?;
    // The leaker takes the newest 30 rows, with a header of their own.
    let leaked: Vec<String> = rows.iter().rev().take(30).cloned().collect();
    std::fs::write(dir.join("found-online.csv"), format!("name,first,number,pay\n{}\n", leaked.join("\n")))?;
    let found = scanner.scan_paths(&[dir.join("found-online.csv")]);
    let named: std::collections::BTreeSet<&str> =
        found.findings.iter().filter_map(|f| f.recipient.as_deref()).collect();
    println!(
        "10. canary: a payroll feed of {sent} people went to hr-payroll with its canary; 30 rows of it found online \
         name the source: {}",
        if named.is_empty() {
            "nobody (the canary was not in the cut)".to_owned()
        } else {
            named.into_iter().collect::<Vec<_>>().join(", ")
        }
    );
    Ok(())
}

/// A minimal workbook: sheets of inline strings, some hidden.
fn workbook(sheets: &[(&str, bool, &Vec<Vec<String>>)]) -> Result<Vec<u8>> {
    use std::io::Write;
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut overrides = String::new();
    let mut entries = String::new();
    let mut rels = String::new();
    for (i, (name, hidden, _)) in sheets.iter().enumerate() {
        let n = i + 1;
        overrides.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
        let state = if *hidden { r#" state="hidden""# } else { "" };
        entries.push_str(&format!(r#"<sheet name="{}" sheetId="{n}"{state} r:id="rId{n}"/>"#, escape(name)));
        rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
    }
    let parts = [
        ("[Content_Types].xml", format!(r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>"#)),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned()),
        ("xl/workbook.xml", format!(r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>{entries}</sheets></workbook>"#)),
        ("xl/_rels/workbook.xml.rels", format!(r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#)),
    ];
    for (name, body) in parts {
        zip.start_file(name, opts)?;
        zip.write_all(body.as_bytes())?;
    }
    for (i, (_, _, rows)) in sheets.iter().enumerate() {
        zip.start_file(format!("xl/worksheets/sheet{}.xml", i + 1), opts)?;
        let mut xml = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, row) in rows.iter().enumerate() {
            xml.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, v) in row.iter().enumerate() {
                let col = char::from(b'A' + (c as u8 % 26));
                xml.push_str(&format!(r#"<c r="{col}{}" t="inlineStr"><is><t>{}</t></is></c>"#, r + 1, escape(v)));
            }
            xml.push_str("</row>");
        }
        xml.push_str("</sheetData></worksheet>");
        zip.write_all(xml.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Steps 11 and 12: the South Yorkshire drill. A verified backup; a tenth
/// of the photos deleted with SQL behind lanyard's back (as a supplier's
/// migration did in 2023); the watch naming exactly those people and the
/// photo compartment; the restore, after which every photo opens and
/// `audit verify` passes. Returns the register reopened on the restored
/// store.
async fn demo_drill(
    cli: &Cli,
    settings: &Settings,
    provider: Arc<KeyringProvider>,
    register: Arc<Register>,
    ledger: lanyard_audit::Ledger,
    people: &[lanyard_core::PersonId],
    dir: &std::path::Path,
) -> Result<(lanyard_audit::Ledger, Arc<Register>)> {
    let backups = dir.join("backups");
    std::fs::create_dir_all(&backups)?;
    let secret = age::x25519::Identity::generate();
    let key = backups.join("operations.key");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(
        &mut options.open(&key)?,
        format!("{}\n", age::secrecy::ExposeSecret::expose_secret(&secret.to_string())).as_bytes(),
    )?;
    let file = backups.join("before-the-migration.age");
    let op = context::process("demo");
    let store = ledger.store().clone();
    let recipient = secret.to_public().to_string();
    let manifest = crate::cmd::backup::write_backup(&register, &store, &op, settings, &[recipient], &file).await?;
    let ids = crate::cmd::backup::identities(&key)?;
    let any_provider: Arc<dyn lanyard_crypto::KeyProvider> = provider.clone();
    let checked = crate::cmd::backup::check_backup(Some(&register), any_provider.clone(), &file, &ids, &op).await?;
    if !checked.findings.is_empty() {
        bail!("the demo's backup does not verify: {:?}", checked.findings);
    }
    println!(
        "11. the South Yorkshire drill: a backup of {} rows, sealed with age and signed by the log key, verified in a scratch store",
        manifest.tables.iter().map(|t| t.rows).sum::<u64>()
    );
    let watch_op = context::process("watch");
    crate::cmd::watch::pass(&register, &watch_op, settings, context::now_ms()).await?;

    // A tenth of the photos lost "in a migration": SQL, behind lanyard's back.
    let victims: Vec<lanyard_core::PersonId> = people.iter().skip(3).step_by(10).copied().collect();
    {
        let db = rusqlite::Connection::open(dir.join(crate::config::SQLITE_FILE))?;
        for id in &victims {
            db.execute(
                "DELETE FROM sealed WHERE compartment = 'photo' AND person_id = ?1",
                [id.as_uuid().as_bytes().as_slice()],
            )?;
        }
    }
    let alerts = crate::cmd::watch::pass(&register, &watch_op, settings, context::now_ms()).await?;
    crate::cmd::watch::deliver(&register, &watch_op, settings, &alerts).await?;
    let lost = alerts.iter().find(|a| a.kind == "compartment_lost").context("the watch did not see the loss")?;
    let named: std::collections::BTreeSet<String> = lost.people.iter().cloned().collect();
    let expected: std::collections::BTreeSet<String> = victims.iter().map(ToString::to_string).collect();
    let others: Vec<&str> = alerts.iter().filter(|a| a.kind != "compartment_lost").map(|a| a.kind).collect();
    println!(
        "    {} photos deleted with SQL; the watch's next pass: '{}' ({}); also {}",
        victims.len(),
        lost.text,
        if named == expected { "exactly those people" } else { "NOT exactly those people" },
        others.join(", ")
    );
    drop(register);
    drop(ledger);
    store.close().await;
    crate::cmd::backup::restore(cli, settings, any_provider.clone(), &file, &key, None, None).await?;
    context::forget_log();
    let ledger = lanyard_audit::Ledger::new(context::open_store(settings, false).await?);
    let register = Arc::new(context::register_on(ledger.clone(), any_provider, settings).await?);
    let report = register.verify_log(&op, context::now_ms()).await?;
    let mut opened = 0;
    for id in &victims {
        let shown = register
            .show(&op, *id, &[Compartment::Photo], Some("audit_review: after the restore"), context::now_ms())
            .await?;
        opened += usize::from(shown.record.photo.is_some());
    }
    println!(
        "12. restored from the backup: {opened} of the {} lost photos open again; audit verify: {} findings",
        victims.len(),
        report.findings.len()
    );
    Ok((ledger, register))
}
