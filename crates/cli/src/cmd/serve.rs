//! `lanyard serve`: the HTTP API, with the periodic audit checkpointer
//! beside it. Plain HTTP is for loopback, or behind a TLS proxy when asked
//! for in so many words.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use lanyard_server::AppState;

use crate::config;
use crate::context;
use crate::opts::{Cli, ServeArgs};

pub async fn run(cli: &Cli, args: &ServeArgs) -> Result<()> {
    if args.openapi {
        println!("{}", lanyard_server::openapi_json());
        return Ok(());
    }
    let addr: SocketAddr =
        args.listen.parse().with_context(|| format!("--listen: '{}' is not ADDRESS:PORT", args.listen))?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(lanyard_server::tls::server_config(cert, key)?),
        _ => None,
    };
    if tls.is_none() && !addr.ip().is_loopback() && !args.insecure_http {
        bail!(
            "refusing plain HTTP on {addr}: personal data and session cookies would cross the network in the clear. \
             Give --tls-cert and --tls-key, or listen on 127.0.0.1 behind a TLS proxy, or pass --insecure-http \
             if a proxy on this host terminates TLS"
        );
    }
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let (register, access, ledger) = context::open_services(&settings).await?;
    let degraded = start_check(&register, args.allow_degraded).await?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    let stop = crate::signals::stop_signal()?;
    // The first line of stdout is the address, for scripts and tests.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{}", listener.local_addr()?);
    let how = How { tls, degraded, stop: Box::pin(stop) };
    let register = register.with_key_check_interval(std::time::Duration::from_secs(args.key_check_every));
    serve_until_interrupted(Arc::new(register), access, ledger, &settings, listener, args, how).await
}

/// How a server is to run, beyond its arguments: over TLS or not, whether
/// the start-up check let it start only degraded, and what stops it.
pub struct How {
    /// Serve HTTPS with this configuration.
    pub tls: Option<Arc<lanyard_server::tls::ServerConfig>>,
    /// Why it runs degraded, for `/readyz`; no checkpoint is signed.
    pub degraded: Option<String>,
    /// Completes when the server is to stop: [`crate::signals::stop_signal`],
    /// installed before the address was printed.
    pub stop: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

/// Runs the start-up check. Findings refuse the start, unless
/// `--allow-degraded`: then the start is recorded (`server.degraded_start`,
/// with the findings' kinds and count), logged as an error, and its reason
/// returned for `/readyz`.
async fn start_check(register: &lanyard_register::Register, allow_degraded: bool) -> Result<Option<String>> {
    let op = context::process("server-start");
    let findings = register.start_check(&op, context::now_ms()).await?;
    if findings.is_empty() {
        return Ok(None);
    }
    let listed: Vec<String> = findings.iter().map(ToString::to_string).collect();
    if !allow_degraded {
        bail!(
            "refusing to start: the start-up check found {} problem(s) with the store or its log:\n  {}\n\
             Run 'lanyard audit verify' to see them all; --allow-degraded starts anyway (recorded, and never ready)",
            findings.len(),
            listed.join("\n  ")
        );
    }
    let why = format!("started degraded: the start-up check found {} problem(s)", findings.len());
    tracing::error!(findings = findings.len(), "{why}; see 'lanyard audit verify'");
    eprintln!("WARNING: {why}:\n  {}", listed.join("\n  "));
    register.record_degraded_start(&op, &findings, context::now_ms()).await?;
    Ok(Some(why))
}

/// The disclosure guard as `[guard]` configures it.
fn guard_scanner(settings: &config::Settings, memory_mib: u64) -> Result<lanyard_guard::Scanner> {
    let read =
        |p: &std::path::Path| std::fs::read_to_string(p).with_context(|| format!("[guard]: reading {}", p.display()));
    let policy = match &settings.guard_policy {
        Some(p) => lanyard_guard::Policy::parse(&read(p)?).with_context(|| format!("{}", p.display()))?,
        None => lanyard_guard::Policy::default(),
    };
    let fingerprints = match &settings.guard_fingerprints {
        // The server makes the file itself: one not there yet is written at
        // start, before it is needed.
        Some(p) if settings.guard_export_every_s.is_some() && !p.exists() => None,
        Some(p) => Some(lanyard_guard::Fingerprints::from_json(&read(p)?).with_context(|| format!("{}", p.display()))?),
        None => None,
    };
    let limits = lanyard_guard::Limits { max_memory_bytes: memory_mib << 20, ..lanyard_guard::Limits::default() };
    Ok(lanyard_guard::Scanner { policy, fingerprints, limits, explain: false })
}

/// One scheduled backup: written, verified if the identity is at hand,
/// and the oldest beyond `keep` deleted.
async fn scheduled_backup(
    register: &lanyard_register::Register,
    store: &lanyard_store::Store,
    op: &lanyard_register::Operator,
    settings: &config::Settings,
    plan: &config::BackupSchedule,
) -> Result<()> {
    std::fs::create_dir_all(&plan.dir).with_context(|| format!("creating {}", plan.dir.display()))?;
    let out = plan.dir.join(format!("lanyard-{}.age", context::now_ms()));
    let manifest = crate::cmd::backup::write_backup(register, store, op, settings, &plan.recipients, &out).await?;
    tracing::info!(file = %out.display(), events = manifest.audit_size, "backup written");
    if let Some(identity) = &plan.identity {
        let ids = crate::cmd::backup::identities(identity)?;
        let checked = crate::cmd::backup::check_backup(Some(register), register.key_provider(), &out, &ids, op).await?;
        if !checked.findings.is_empty() {
            anyhow::bail!("the backup {} does not hold: {} findings", out.display(), checked.findings.len());
        }
        tracing::info!(file = %out.display(), "backup verified");
    }
    let mut made: Vec<std::path::PathBuf> = std::fs::read_dir(&plan.dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("lanyard-") && n.ends_with(".age"))
        })
        .collect();
    made.sort();
    while made.len() > plan.keep {
        let oldest = made.remove(0);
        std::fs::remove_file(&oldest).with_context(|| format!("deleting {}", oldest.display()))?;
    }
    Ok(())
}

/// Serves on `listener` with the checkpointer beside it, until Ctrl-C.
pub async fn serve_until_interrupted(
    register: Arc<lanyard_register::Register>,
    access: lanyard_access::Access,
    ledger: lanyard_audit::Ledger,
    settings: &config::Settings,
    listener: tokio::net::TcpListener,
    args: &ServeArgs,
    how: How,
) -> Result<()> {
    let How { tls, degraded, stop } = how;
    let sign_checkpoints = degraded.is_none();
    let store = ledger.store().clone();
    let cards = lanyard_cards::Cards::new(Arc::clone(&register), ledger.clone(), settings.issuer.clone());
    let supply = lanyard_supply::Supply::new(Arc::clone(&register), ledger, cards.clone(), settings.supply);
    let guard = Arc::new(lanyard_server::Guard::with_slots(
        guard_scanner(settings, args.scan_memory)?,
        usize::try_from(args.scan_slots).unwrap_or(1),
        std::time::Duration::from_secs(args.scan_wait),
    ));
    let state = Arc::new(AppState::new(
        lanyard_server::Services {
            guard: Arc::clone(&guard),
            register: Arc::clone(&register),
            access: Arc::new(access),
            cards,
            supply: supply.clone(),
        },
        lanyard_server::Options {
            secure_cookies: args.behind_tls_proxy || tls.is_some(),
            reads: lanyard_server::limits::ReadLimiter::new(lanyard_server::limits::ReadQuota {
                per_minute: std::num::NonZeroU32::new(args.reads_per_minute).unwrap_or(std::num::NonZeroU32::MIN),
                burst: std::num::NonZeroU32::new(args.read_burst).unwrap_or(std::num::NonZeroU32::MIN),
            }),
            degraded,
            rejection_window: std::time::Duration::from_secs(60),
            csp_reports: false,
            connections: lanyard_server::ConnectionLimits {
                max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
                header_read: std::time::Duration::from_secs(args.header_timeout),
                handshake: std::time::Duration::from_secs(args.header_timeout),
                request: std::time::Duration::from_secs(args.request_timeout),
                ..lanyard_server::ConnectionLimits::default()
            },
        },
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let checkpointer = {
        let register = Arc::clone(&register);
        let op = context::process("checkpointer");
        let every = std::time::Duration::from_secs(args.checkpoint_every);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            // Degraded: the log was not shown sound, so nothing is signed
            // over it.
            if !sign_checkpoints {
                let _ = stop.changed().await;
                return 0;
            }
            register
                .run_checkpointer(
                    &op,
                    every,
                    async move {
                        let _ = stop.changed().await;
                    },
                    &context::now_ms,
                    &|cp| tracing::info!(size = cp.tree_size, "signed a checkpoint"),
                    &|e| tracing::error!(error = %e, "checkpoint failed; retrying at the next tick"),
                )
                .await
        })
    };
    // Each new checkpoint goes to the witnesses; one that is down is asked
    // again at the next tick, and the server keeps serving meanwhile.
    let witnessing = {
        let register = Arc::clone(&register);
        let witnesses = settings.witnesses.clone();
        let every = std::time::Duration::from_secs(args.checkpoint_every);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            if witnesses.is_empty() || !sign_checkpoints {
                return;
            }
            while tick(&mut stop, every).await {
                match register.witness_round_if_new(&witnesses, context::now_ms()).await {
                    Ok(outcomes) => {
                        for o in outcomes {
                            match o {
                                lanyard_register::WitnessOutcome::Cosigned { .. } => {}
                                other if other.is_alarm() => tracing::error!(outcome = %other, "witness"),
                                other => tracing::warn!(outcome = %other, "witness; retrying at the next tick"),
                            }
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "witness round failed; retrying at the next tick"),
                }
            }
        })
    };
    // The data-loss watch, every `[watch] every_s`: alerts to the log, the
    // webhook and the metrics.
    let watching = {
        let register = Arc::clone(&register);
        let settings = settings.clone();
        let metrics = state.metrics().clone();
        let op = context::process("watch");
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let Some(every) = settings.watch_every_s else { return };
            while tick(&mut stop, std::time::Duration::from_secs(every)).await {
                match crate::cmd::watch::pass(&register, &op, &settings, context::now_ms()).await {
                    Ok(alerts) => {
                        for a in &alerts {
                            metrics.watch_alert(a.kind);
                            tracing::warn!(kind = a.kind, alert = %a.text, "data-loss watch");
                        }
                        if let Err(e) = crate::cmd::watch::deliver(&register, &op, &settings, &alerts).await {
                            tracing::error!(error = %e, "watch alerts not recorded");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "watch pass failed; retrying at the next interval"),
                }
            }
        })
    };
    // Backups on a schedule, `[backup]`: each verified at once when the
    // operations identity is given, the oldest beyond `keep` deleted.
    let backing_up = {
        let register = Arc::clone(&register);
        let settings = settings.clone();
        let op = context::process("backup");
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let Some(plan) = settings.backup.clone() else { return };
            while tick(&mut stop, std::time::Duration::from_secs(plan.every_s)).await {
                if let Err(e) = scheduled_backup(&register, &store, &op, &settings, &plan).await {
                    tracing::error!(error = %format!("{e:#}"), "scheduled backup failed; retrying at the next interval");
                }
            }
        })
    };
    // The force's fingerprints, `[guard] fingerprints` every
    // `export_every_s`: written for FOI officers' scans and put in force
    // here. The first export is at start unless the file is fresh.
    let fingerprinting = {
        let register = Arc::clone(&register);
        let op = context::process("fingerprints");
        let mut stop = stop_rx.clone();
        let plan = settings.guard_fingerprints.clone().zip(settings.guard_export_every_s);
        tokio::spawn(async move {
            let Some((path, every)) = plan else { return };
            // The set the guard loaded at start says how old the file is.
            let made = guard.current().fingerprints.as_ref().and_then(lanyard_guard::Fingerprints::created_at);
            let mut wait = match made {
                Some(at) => {
                    let age = (context::now_ms() / 1000).saturating_sub(at);
                    u64::try_from(age).map_or(0, |age| every.saturating_sub(age))
                }
                None => 0,
            };
            while tick(&mut stop, std::time::Duration::from_secs(wait)).await {
                wait = every;
                match crate::cmd::scan::export_for_guard(&register, &op, &path).await {
                    Ok(fp) => {
                        tracing::info!(people = fp.people(), "fingerprints exported");
                        let now = guard.current();
                        guard.replace(lanyard_guard::Scanner {
                            policy: now.policy.clone(),
                            fingerprints: Some(fp),
                            limits: now.limits.clone(),
                            explain: now.explain,
                        });
                    }
                    Err(e) => tracing::error!(
                        error = %format!("{e:#}"),
                        "fingerprints export failed; scans use the last set, retrying at the next interval"
                    ),
                }
            }
        })
    };
    // The key provider, asked on a timer as well as by requests: an outage
    // and its end are in the log (`keys.provider_lost`, `…_restored`) even
    // if no request met them.
    let key_watch = {
        let register = Arc::clone(&register);
        let every = std::time::Duration::from_secs(args.key_check_every);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            while tick(&mut stop, every).await {
                if let Err(e) = register.watch_key_provider(context::now_ms()).await {
                    tracing::error!(error = %e, "the key provider does not answer; personal data is refused until it does");
                }
            }
        })
    };
    let sweeper = {
        let op = context::process("print-scheduler");
        let every = std::time::Duration::from_secs(settings.sweep_every_s);
        let auto = settings.auto_batch.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            while tick(&mut stop, every).await {
                sweep_batches(&supply, &op, auto.as_ref()).await;
            }
        })
    };
    let served = match tls {
        Some(tls) => lanyard_server::tls::serve_tls(listener, state, tls, stop).await,
        None => lanyard_server::serve(listener, state, stop).await,
    };
    let _ = stop_tx.send(true);
    let _ = checkpointer.await;
    let _ = witnessing.await;
    let _ = watching.await;
    let _ = backing_up.await;
    let _ = fingerprinting.await;
    let _ = sweeper.await;
    let _ = key_watch.await;
    served.context("serving")?;
    eprintln!("stopped");
    Ok(())
}

/// Waits `period`; false instead if the server stops meanwhile.
async fn tick(stop: &mut tokio::sync::watch::Receiver<bool>, period: std::time::Duration) -> bool {
    tokio::select! {
        _ = stop.changed() => false,
        () = tokio::time::sleep(period) => true,
    }
}

/// One tick of the print scheduler: expire overdue batches (their cards go
/// back to the queue), then batch for the automatic supplier if due. A
/// failure is logged and retried at the next tick.
async fn sweep_batches(
    supply: &lanyard_supply::Supply,
    op: &lanyard_register::Operator,
    auto: Option<&lanyard_supply::AutoBatch>,
) {
    let now = context::now_ms();
    match supply.expire_due(op, now).await {
        Ok(expired) if !expired.is_empty() => tracing::info!(count = expired.len(), "expired print batches"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "expiring print batches failed"),
    }
    if let Some(policy) = auto {
        match supply.auto_batch(op, policy, now).await {
            Ok(Some(created)) => tracing::info!(batch = %created.batch.id, cards = created.cards.len(), "batched"),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "automatic batching failed"),
        }
    }
}
