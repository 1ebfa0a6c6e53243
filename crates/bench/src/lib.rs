//! lanyard's benchmarks, behind `lanyard bench …`, which only dispatches
//! here. Each measures lanyard beside a baseline in the same run (see
//! docs/BENCHMARKS.md): `import` (this file: people/s and peak RSS of an
//! import of N synthetic people on SQLite, beside a plaintext baseline of the
//! same rows through the same store; each phase in its own child process so
//! that peak RSS is that phase's alone; phases alternate and repeat, and the
//! medians are reported), `audit`, `cards`, `batch`, `scan`, `watch`,
//! `console` and `shared-store`, one module each.
//!
//! This crate is the benchmarks' front end as much as their code, so it
//! reports with `anyhow`, like a binary's edge; nothing else depends on it
//! but the `lanyard` binary.

mod audit;
mod batch;
mod cards;
mod console;
pub mod opts;
mod scan;
mod shared;
mod util;
mod watch;

pub use opts::{AuditBenchArgs, BenchCommand, CardsBenchArgs, Cli, WatchBenchArgs};

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use lanyard_audit::{Event, Outcome, leaf_hash};
use lanyard_core::{Compartment, Field, PersonId, normalise_email, normalise_name};
use lanyard_crypto::{KdfParams, KeyringProvider};
use lanyard_register::import::{self, Options};
use lanyard_register::{Operator, Register, encode_fields, state_digest};
use lanyard_store::{PersonRow, SealedRow, Store};
use serde::{Deserialize, Serialize};

use crate::util as context;
use lanyard_synth as synth;

#[derive(Debug, Serialize, Deserialize)]
struct Phase {
    mode: String,
    people: usize,
    seconds: f64,
    people_per_s: f64,
    peak_rss_kib: u64,
}

/// Runs one benchmark and prints its figures.
pub async fn run(cli: &Cli, cmd: &BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Cards(args) => crate::cards::run(cli, args),
        BenchCommand::Batch { cards } => crate::batch::run(cli, *cards).await,
        BenchCommand::Scan { csv_mb, xlsx_mb, presidio, work_dir } => {
            crate::scan::run(cli, *csv_mb, *xlsx_mb, *presidio, work_dir.as_ref())
        }
        BenchCommand::ScanPhase { mode, file } => crate::scan::phase(mode, file),
        BenchCommand::Console { seconds, clients } => crate::console::run(cli, *seconds, *clients).await,
        BenchCommand::SharedStore { seconds, clients } => crate::shared::run(cli, *seconds, *clients).await,
        BenchCommand::Import { people, work_dir } => {
            let dir = work_dir_or_temp(work_dir.as_ref())?;
            let csv = dir.join("bench.csv");
            synth::write_force(&csv, *people, None, 7)?;
            let exe = std::env::current_exe()?;
            let mut results: Vec<Phase> = Vec::new();
            for round in 0..3 {
                for plaintext in [true, false] {
                    let db_dir = dir.join(format!("r{round}-{}", if plaintext { "plain" } else { "sealed" }));
                    let mut c = Command::new(&exe);
                    c.args(["bench", "import-phase", "--csv"]).arg(&csv).arg("--db-dir").arg(&db_dir);
                    if plaintext {
                        c.arg("--plaintext");
                    }
                    let out = c.output().context("running a benchmark phase")?;
                    if !out.status.success() {
                        bail!("benchmark phase failed: {}", String::from_utf8_lossy(&out.stderr));
                    }
                    let phase: Phase = serde_json::from_slice(&out.stdout).context("reading a phase's result")?;
                    std::fs::remove_dir_all(&db_dir).ok();
                    results.push(phase);
                }
            }
            if work_dir.is_none() {
                std::fs::remove_dir_all(&dir).ok();
            }
            report(cli, *people, &results)
        }
        BenchCommand::Audit(args) => crate::audit::run(cli, args).await,
        BenchCommand::Watch(args) => crate::watch::run(cli, args).await,
        BenchCommand::AuditPhase { phase, dir } => crate::audit::phase(phase, dir).await,
        BenchCommand::ImportPhase { csv, db_dir, plaintext } => {
            let phase =
                if *plaintext { phase_plaintext(csv, db_dir).await? } else { phase_sealed(csv, db_dir).await? };
            println!("{}", serde_json::to_string(&phase)?);
            Ok(())
        }
    }
}

/// The given work directory, or a fresh temporary one.
pub(crate) fn work_dir_or_temp(work_dir: Option<&std::path::PathBuf>) -> Result<std::path::PathBuf> {
    match work_dir {
        Some(d) => {
            context::ensure_dir(d)?;
            Ok(d.clone())
        }
        None => tempdir(),
    }
}

pub(crate) fn tempdir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("lanyard-bench-{}", uuid::Uuid::new_v4().simple()));
    context::ensure_dir(&dir)?;
    Ok(dir)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn report(cli: &Cli, people: usize, results: &[Phase]) -> Result<()> {
    let pick =
        |mode: &str, f: &dyn Fn(&Phase) -> f64| median(results.iter().filter(|p| p.mode == mode).map(f).collect());
    let plain_rate = pick("plaintext", &|p| p.people_per_s);
    let sealed_rate = pick("sealed", &|p| p.people_per_s);
    let plain_rss = pick("plaintext", &|p| p.peak_rss_kib as f64);
    let sealed_rss = pick("sealed", &|p| p.peak_rss_kib as f64);
    let overhead = if sealed_rate > 0.0 { plain_rate / sealed_rate } else { f64::INFINITY };
    let summary = serde_json::json!({
        "people": people,
        "runs_per_mode": 3,
        "sealed": { "median_people_per_s": sealed_rate.round(), "median_peak_rss_mib": (sealed_rss / 1024.0).round() },
        "plaintext_baseline": { "median_people_per_s": plain_rate.round(), "median_peak_rss_mib": (plain_rss / 1024.0).round() },
        "encryption_overhead": (overhead * 100.0).round() / 100.0,
        "runs": results,
    });
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("import of {people} synthetic people on SQLite (median of 3 alternating runs each)");
        println!("  sealed (lanyard):    {:>8.0} people/s, peak RSS {:>5.0} MiB", sealed_rate, sealed_rss / 1024.0);
        println!("  plaintext baseline:  {:>8.0} people/s, peak RSS {:>5.0} MiB", plain_rate, plain_rss / 1024.0);
        println!("  encryption overhead: {overhead:.2}x the baseline's time");
    }
    Ok(())
}

/// Resets this process's high-water RSS (Linux 4.0 and later), so that
/// the next [`peak_rss_kib`] is the peak of what ran since; elsewhere, a
/// no-op and the peak stays the whole run's.
pub(crate) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(crate) fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn parse(csv: &Path, register_ranks: &lanyard_core::RankTable) -> Result<Vec<(usize, lanyard_core::PersonRecord)>> {
    let parsed = import::parse(
        std::io::BufReader::new(std::fs::File::open(csv)?),
        register_ranks,
        Options { photos_dir: None, ignore_unknown: false },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !parsed.errors.is_empty() {
        bail!("synthetic CSV has {} invalid rows", parsed.errors.len());
    }
    Ok(parsed.records)
}

fn finish(mode: &str, people: usize, started: Instant) -> Phase {
    let seconds = started.elapsed().as_secs_f64();
    Phase { mode: mode.into(), people, seconds, people_per_s: people as f64 / seconds, peak_rss_kib: peak_rss_kib() }
}

async fn phase_sealed(csv: &Path, db_dir: &Path) -> Result<Phase> {
    context::ensure_dir(db_dir)?;
    let provider =
        Arc::new(KeyringProvider::create(&db_dir.join("keyring.json"), b"bench passphrase", KdfParams::recommended())?);
    let store = Store::open_sqlite(&db_dir.join("lanyard.db"), true).await?;
    let op = Operator::local(lanyard_audit::Actor::operator("bench"), false);
    let register = Register::init(lanyard_audit::Ledger::new(store), provider, &op, context::now_ms()).await?;
    let started = Instant::now();
    let parser = import::Parser::new(
        std::io::BufReader::new(std::fs::File::open(csv)?),
        register.ranks(),
        Options { photos_dir: None, ignore_unknown: false },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (outcome, parser) = register.import_from(&op, parser, true, context::now_ms(), &|_| {}).await?;
    if outcome.rolled_back || !parser.errors().is_empty() {
        bail!("synthetic CSV has {} invalid rows", parser.errors().len());
    }
    Ok(finish("sealed", outcome.imported.len(), started))
}

/// The same rows through the same store and the same audit events, with the
/// values stored in the clear and plain (unkeyed) lookup columns.
// The baseline a sealed import is measured against: a throwaway database
// with no register over it, so it writes rows beneath the services, with
// the same audit events appended in the same transaction.
#[allow(clippy::disallowed_methods)]
async fn phase_plaintext(csv: &Path, db_dir: &Path) -> Result<Phase> {
    context::ensure_dir(db_dir)?;
    let store = Store::open_sqlite(&db_dir.join("lanyard.db"), true).await?;
    store.migrate().await?;
    let ranks = lanyard_core::RankTable::default_ranks();
    let op = Operator::local(lanyard_audit::Actor::operator("bench"), false);
    let started = Instant::now();
    let records = parse(csv, &ranks)?;
    tracing::debug!(parsed = ?started.elapsed(), "plaintext phase");
    let now_ms = context::now_ms();
    let mut people = Vec::with_capacity(records.len());
    let mut sealed = Vec::with_capacity(records.len() * 3);
    let mut events = Vec::with_capacity(records.len());
    for (_, r) in &records {
        let id = PersonId::new();
        let row = PersonRow {
            id: *id.as_uuid(),
            status: lanyard_core::PersonStatus::Active,
            protected: false,
            created_at: now_ms / 1000,
            updated_at: now_ms / 1000,
            row_version: 1,
            sn_index: r.service_number.clone().map(String::into_bytes),
            surname_index: r.surname.as_deref().map(|s| normalise_name(s).into_bytes()),
            email_index: r.email.as_deref().map(|s| normalise_email(s).into_bytes()),
        };
        let mut rows = Vec::new();
        let mut fields_written = Vec::new();
        for c in Compartment::ALL {
            let values: Vec<(Field, Vec<u8>)> =
                c.fields().iter().filter_map(|f| r.field_bytes(*f).map(|b| (*f, b))).collect();
            if values.is_empty() {
                continue;
            }
            fields_written.extend(values.iter().map(|(f, _)| *f));
            rows.push(SealedRow {
                person_id: row.id,
                compartment: c.as_str().into(),
                ck_version: 1,
                key_version: 1,
                wrapped_key: Vec::new(),
                fields: encode_fields(&values),
            });
        }
        let mut e = Event::new(now_ms, op.actor.clone(), "person.create", Outcome::Ok);
        e.people = vec![id];
        e.fields = fields_written;
        e.request_id = Some(op.request_id.clone());
        e.digest = Some(state_digest(&row, &rows).iter().map(|b| format!("{b:02x}")).collect());
        let bytes = e.to_bytes();
        let hash = leaf_hash(&bytes);
        events.push((bytes, hash));
        people.push(row);
        sealed.extend(rows);
    }
    let prepared = started.elapsed();
    let mut tx = store.begin().await?;
    tx.insert_people(&people).await?;
    let t1 = started.elapsed();
    tx.insert_sealed(&sealed).await?;
    let t2 = started.elapsed();
    lanyard_audit::log::append(&mut tx, &events).await?;
    let t3 = started.elapsed();
    tx.commit().await?;
    tracing::debug!(?prepared, ?t1, ?t2, ?t3, total = ?started.elapsed(), "plaintext phase");
    Ok(finish("plaintext", records.len(), started))
}
