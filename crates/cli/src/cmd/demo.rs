//! `lanyard demo`: a fresh data directory with a synthetic force, imported
//! through the real path, and a short tour of what to try next.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use lanyard_core::{Compartment, Role};
use lanyard_crypto::{KdfParams, KeyringProvider};
use lanyard_register::import::{self, Options};
use lanyard_register::{Lookup, Register};

use crate::cmd::init;
use crate::config::{KEYRING_FILE, ProviderSettings, Settings};
use crate::context;
use crate::opts::{Cli, DemoArgs};
use crate::synth;

const MARKER: &str = ".lanyard-demo";
const DEMO_PASSPHRASE: &str = "lanyard demo passphrase";
const DEMO_PASSWORD: &str = "lanyard demo password";
/// One demo login per role that people hold.
const DEMO_USERS: [(&str, Role); 6] = [
    ("ida", Role::IdOfficer),
    ("alex", Role::Approver),
    ("val", Role::VettingOfficer),
    ("harriet", Role::HrPayroll),
    ("audrey", Role::Auditor),
    ("adam", Role::Admin),
];

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
    let settings = Settings {
        data_dir: dir.clone(),
        database_url: None,
        provider: ProviderSettings::Keyring { path: dir.join(KEYRING_FILE) },
        issuer: lanyard_cards::IssuerConfig::default(),
    };
    let started = Instant::now();
    let provider =
        Arc::new(KeyringProvider::create(&dir.join(KEYRING_FILE), passphrase.as_bytes(), KdfParams::recommended())?);
    init::init_with(cli, &settings, provider.clone()).await?;
    println!("1. created a register in {} (SQLite, keyring provider, Argon2id-sealed root key)", dir.display());

    let input = dir.join("demo-input");
    let photos = input.join("photos");
    std::fs::create_dir_all(&photos)?;
    let csv_path = input.join("force.csv");
    synth::write_force(&csv_path, args.people, Some(&photos), 2023)?;
    println!("2. generated {} synthetic people with placeholder portraits in {}", args.people, input.display());

    let store = context::open_store(&settings, false).await?;
    let register = Register::open(store.clone(), provider.clone()).await?;
    let op = context::operator(cli.operator.as_deref(), false)?;
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
    let viewer = context::operator(cli.operator.as_deref(), false)?;
    let shown = register
        .show(
            &viewer,
            some,
            &[Compartment::Identity, Compartment::Vetting],
            Some("demo walkthrough"),
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
            Some("demo walkthrough"),
            context::now_ms(),
        )
        .await?;
    println!(
        "6. found {} people with surname O'Brien through the blind index (no plaintext in the database)",
        found.len()
    );
    let status = register.keys_status().await?;
    let audit = register.store().audit_len().await?;
    println!("7. {} audit events so far; key provider: {}", audit, status.provider);
    println!("done in {:.1} s.\n", started.elapsed().as_secs_f64());

    let d = dir.display();
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "lanyard".into());
    println!("Try next (the passphrase of this demo keyring is '{passphrase}'):");
    println!("  alias lanyard='{exe}'");
    println!("  export LANYARD_DATA_DIR={d} LANYARD_PASSPHRASE='{passphrase}'");
    println!("  lanyard person list --limit 5");
    println!("  lanyard person find --service-number {sn} --compartments identity,vetting --purpose 'card check'");
    println!(
        "  lanyard person show {} --compartments identity --purpose 'card check'",
        protected.first().map(|p| p.to_string()).unwrap_or_default()
    );
    println!("  lanyard person show {some} --compartments photo --purpose 'card print' --photo-out photo.jpg");
    println!("  lanyard keys status");
    println!("  lanyard keys rotate pay");
    println!("  lanyard audit checkpoint && lanyard audit verify");
    println!("  lanyard breach scope --actor {}", op.actor.id);
    println!("  strings {d}/lanyard.db | grep -i obrien    # finds nothing: values are sealed");
    if args.no_serve {
        return Ok(());
    }

    let access = lanyard_access::Access::new(store, provider, lanyard_access::SessionPolicy::default());
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
    println!("\nThe server (Ctrl-C stops it):");
    println!("listening on {base}");
    println!(
        "Demo logins, password '{DEMO_PASSWORD}', each with a TOTP secret (oathtool --totp -b SECRET gives the code):"
    );
    for (name, role, secret) in &logins {
        println!("  {name:<8} {:<16} {secret}", role.as_str());
    }
    println!(
        "  curl -c jar -H 'content-type: application/json' -d '{{\"name\":\"ida\",\"password\":\"{DEMO_PASSWORD}\",\"code\":\"CODE\"}}' {base}/v1/login"
    );
    println!("  curl -b jar -H 'X-Lanyard-Purpose: demo' '{base}/v1/people/{some}?compartments=identity'");
    println!("  curl {base}/v1/openapi.json");
    let serve = crate::opts::ServeArgs {
        listen: args.listen.clone(),
        tls_cert: None,
        tls_key: None,
        insecure_http: false,
        behind_tls_proxy: false,
        checkpoint_every: 60,
        reads_per_minute: 120,
        read_burst: 30,
        openapi: false,
    };
    crate::cmd::serve::serve_until_interrupted(register, access, settings.issuer.clone(), listener, &serve, None).await
}
