//! `lanyard backup …`: create, verify and restore.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use lanyard_backup::BackupError;

use crate::Negative;
use crate::config::{self, SQLITE_FILE, Settings};
use crate::context;
use crate::opts::{BackupCommand, Cli};
use crate::output;

pub async fn run(cli: &Cli, cmd: &BackupCommand) -> Result<()> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    match cmd {
        BackupCommand::Create { out, recipients } => create(cli, &settings, out, recipients).await,
        BackupCommand::Verify { file, identity } => verify(cli, &settings, file, identity).await,
        BackupCommand::Restore { file, identity, into_database_url, accept_loss_after } => {
            let provider = context::open_provider(&settings)?;
            restore(cli, &settings, provider, file, identity, into_database_url.as_deref(), *accept_loss_after).await
        }
    }
}

fn provider_kind(settings: &Settings) -> &'static str {
    match settings.provider {
        config::ProviderSettings::Keyring { .. } => "keyring",
        config::ProviderSettings::Pkcs11 { .. } => "pkcs11",
    }
}

async fn create(cli: &Cli, settings: &Settings, out: &Path, recipients: &[String]) -> Result<()> {
    let (provider, ledger) = context::open_ledger(settings).await?;
    let store = ledger.store().clone();
    let register = context::register_on(ledger, provider, settings).await?;
    let op = context::host();
    let manifest = write_backup(&register, &store, &op, settings, recipients, out).await?;
    if cli.json {
        return output::json(&manifest);
    }
    let rows: u64 = manifest.tables.iter().map(|t| t.rows).sum();
    println!(
        "backup written to {}: {} tables, {rows} rows, audit log of {} events",
        out.display(),
        manifest.tables.len(),
        manifest.audit_size
    );
    println!("check it now, and from time to time: lanyard backup verify {} --identity KEY", out.display());
    Ok(())
}

/// Writes a backup to `out` (through a `.partial` file renamed once
/// complete, so a failed one leaves nothing that looks like a backup), and
/// records `backup.create`.
pub async fn write_backup(
    register: &lanyard_register::Register,
    store: &lanyard_store::Store,
    op: &lanyard_register::Operator,
    settings: &Settings,
    recipients: &[String],
    out: &Path,
) -> Result<lanyard_backup::Manifest> {
    let parsed = recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            age::x25519::Recipient::from_str(r.trim())
                .map(|r| Box::new(r) as Box<dyn age::Recipient + Send + Sync>)
                .map_err(|_| anyhow::anyhow!("recipient #{}: not an age recipient (age1…)", i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    let partial = out.with_extension("partial");
    let mut file = std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let made =
        lanyard_backup::create(register, store, op, &parsed, &mut file, provider_kind(settings), context::now_ms())
            .await;
    let manifest = match made {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    // On disk before it takes the final name, and the name on disk before
    // the log says a backup exists: a crash or power cut leaves a whole
    // backup or only the `.partial`.
    file.sync_all().with_context(|| format!("writing {}", partial.display()))?;
    drop(file);
    std::fs::rename(&partial, out).with_context(|| format!("writing {}", out.display()))?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    }
    let mut event =
        lanyard_audit::Event::new(context::now_ms(), op.actor.clone(), "backup.create", lanyard_audit::Outcome::Ok);
    event.detail = Some(serde_json::json!({
        "audit_size": manifest.audit_size, "recipients": recipients.len(),
        "rows": manifest.tables.iter().map(|t| t.rows).sum::<u64>(),
    }));
    register.record(&[event]).await?;
    Ok(manifest)
}

/// Verifies a backup in a scratch store; if it holds and `live` is given,
/// records `backup.verify` there.
pub async fn check_backup(
    live: Option<&lanyard_register::Register>,
    provider: std::sync::Arc<dyn lanyard_crypto::KeyProvider>,
    file: &Path,
    ids: &[Box<dyn age::Identity + Send + Sync>],
    op: &lanyard_register::Operator,
) -> Result<lanyard_backup::Checked> {
    let scratch = tempfile::tempdir().context("a scratch directory")?;
    let store = lanyard_store::Store::open_sqlite(&scratch.path().join("scratch.db"), true).await?;
    let sealed = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let checked =
        lanyard_backup::verify(sealed, ids, provider, store.clone(), context::now_ms()).await.map_err(verdict);
    store.close().await;
    let checked = checked?;
    if let (Some(register), true) = (live, checked.findings.is_empty()) {
        let m = &checked.manifest;
        let detail = serde_json::json!({ "created_at_ms": m.created_at_ms, "audit_size": m.audit_size });
        register.record_backup_verified(op, detail, context::now_ms()).await?;
    }
    Ok(checked)
}

/// The identities of an age identity file.
pub fn identities(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    lanyard_supply::package::parse_identities(&text).map_err(|_| {
        anyhow::anyhow!(
            "{}: not an age identity file holding a key this build can use (AGE-SECRET-KEY-1…)",
            path.display()
        )
    })
}

/// A verdict the command line reports: 1 for a backup that does not hold,
/// 2 for one that cannot be read.
fn verdict(e: BackupError) -> anyhow::Error {
    match e {
        BackupError::Invalid(_) => Negative(e.to_string()).into(),
        other => other.into(),
    }
}

async fn verify(cli: &Cli, settings: &Settings, file: &Path, identity: &Path) -> Result<()> {
    let ids = identities(identity)?;
    // The live register too, where one is: the verification is recorded
    // there, and its time is the backup age the watch reports.
    let (provider, live) = match context::open_ledger(settings).await {
        Ok((provider, ledger)) => {
            let register = context::register_on(ledger, std::sync::Arc::clone(&provider), settings).await?;
            (provider, Some(register))
        }
        Err(_) => (context::open_provider(settings)?, None),
    };
    let op = context::host();
    let checked = check_backup(live.as_ref(), provider, file, &ids, &op).await?;
    report(cli, &checked)?;
    if !checked.findings.is_empty() {
        return Err(Negative(format!(
            "the backup does not hold: {} findings in its audit log",
            checked.findings.len()
        ))
        .into());
    }
    Ok(())
}

fn report(cli: &Cli, checked: &lanyard_backup::Checked) -> Result<()> {
    let m = &checked.manifest;
    if cli.json {
        return output::json(&serde_json::json!({ "manifest": m, "findings": checked.findings }));
    }
    for f in &checked.findings {
        println!("{f}");
    }
    let rows: u64 = m.tables.iter().map(|t| t.rows).sum();
    println!(
        "backup of {} taken {}: {} tables, {rows} rows, audit log of {} events; signature, hashes and tree root {}",
        m.origin,
        output::date_time(m.created_at_ms / 1000),
        m.tables.len(),
        m.audit_size,
        if checked.findings.is_empty() { "verified" } else { "verified, but audit verify found problems" }
    );
    Ok(())
}

/// Verifies `file` into a new database and switches to it (see the
/// command's help).
pub async fn restore(
    cli: &Cli,
    settings: &Settings,
    provider: std::sync::Arc<dyn lanyard_crypto::KeyProvider>,
    file: &Path,
    identity: &Path,
    into_url: Option<&str>,
    accept_loss_after: Option<u64>,
) -> Result<()> {
    let ids = identities(identity)?;
    let sealed = std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let (store, staged): (lanyard_store::Store, Option<PathBuf>) = match (&settings.database_url, into_url) {
        (_, Some(url)) => (lanyard_store::Store::open_url(url, false).await?, None),
        (Some(_), None) => bail!(
            "the register is on PostgreSQL: restore into an empty database with --into-database-url, then point database_url at it"
        ),
        (None, None) => {
            context::ensure_dir(&settings.data_dir)?;
            let path = settings.data_dir.join(format!("{SQLITE_FILE}.restoring"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            (lanyard_store::Store::open_sqlite(&path, true).await?, Some(path))
        }
    };
    let now = context::now_ms();
    let checked = match lanyard_backup::verify(sealed, &ids, provider, store.clone(), now).await {
        Ok(c) => c,
        Err(e) => {
            store.close().await;
            discard(staged.as_deref());
            return Err(verdict(e));
        }
    };
    if !checked.findings.is_empty() {
        report(cli, &checked)?;
        store.close().await;
        discard(staged.as_deref());
        bail!(Negative("the backup does not hold; nothing was restored".into()));
    }
    // The witnesses know how long the log was: a restore that loses events
    // they cosigned is refused unless that loss is accepted, by size.
    let size = checked.manifest.audit_size;
    let mut witnessed = size;
    for outcome in checked.register.witness_round(&settings.witnesses, now).await? {
        if let lanyard_register::WitnessOutcome::Ahead { witnessed: w, .. } = outcome {
            witnessed = witnessed.max(w);
        }
    }
    if witnessed > size && accept_loss_after != Some(size) {
        store.close().await;
        discard(staged.as_deref());
        return Err(Negative(format!(
            "the witnesses have seen {witnessed} audit events; this backup holds {size}. Restoring it loses events \
             {size} to {}: if that is accepted, run again with --accept-loss-after {size}",
            witnessed - 1
        ))
        .into());
    }
    let op = context::host();
    let mut event = lanyard_audit::Event::new(now, op.actor.clone(), "backup.restore", lanyard_audit::Outcome::Ok);
    event.detail = Some(if witnessed > size {
        serde_json::json!({ "restored_size": size, "witnessed": witnessed, "lost": [size, witnessed - 1] })
    } else {
        serde_json::json!({ "restored_size": size })
    });
    checked.register.record(&[event]).await?;
    // The backup was verified on the way in: the watch's backup age starts
    // from here, not from a verification the old store recorded.
    let m = &checked.manifest;
    let detail = serde_json::json!({ "created_at_ms": m.created_at_ms, "audit_size": m.audit_size });
    checked.register.record_backup_verified(&op, detail, now).await?;
    store.close().await;
    // The watch's volumes and replay describe the store being replaced: it
    // starts afresh on the restored one, whose restore event says what was lost.
    for file in crate::cmd::watch::STATE_FILES {
        let path = settings.data_dir.join(file);
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(e).with_context(|| format!("removing {}", path.display()));
        }
    }
    if let Some(path) = staged {
        let live = settings.data_dir.join(SQLITE_FILE);
        let kept = settings.data_dir.join(format!("{SQLITE_FILE}.before-restore-{now}"));
        if live.exists() {
            std::fs::rename(&live, &kept).with_context(|| format!("moving {} aside", live.display()))?;
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::rename(format!("{}{suffix}", live.display()), format!("{}{suffix}", kept.display()));
            }
            println!("the previous database is kept as {}", kept.display());
        }
        std::fs::rename(&path, &live).with_context(|| format!("switching to {}", live.display()))?;
    }
    report(cli, &checked)?;
    match into_url {
        None => println!("restored"),
        // The restore is complete and verified: only now does lanyard.toml
        // name the new database. A URL given by flag or environment
        // overrides the file, so that one the operator changes.
        Some(url) if cli.database_url.is_none() && config::switch_database_url(&settings.data_dir, url)? => {
            println!("restored; lanyard.toml now names the restored database (restart any running server)")
        }
        Some(_) => println!(
            "restored; point --database-url or LANYARD_DATABASE_URL at the database restored into, then restart any running server"
        ),
    }
    Ok(())
}

fn discard(staged: Option<&Path>) {
    if let Some(path) = staged {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
