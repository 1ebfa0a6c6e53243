//! `lanyard bench audit`: the audit log's figures, each beside its ceiling
//! in the same run.
//!
//! - SHA-256 alone over the same event bytes (the ceiling for appends), and
//!   the in-memory tree (leaf plus interior hashes).
//! - Group-committed appends/s with many concurrent callers, on SQLite and,
//!   given `--postgres URL`, PostgreSQL; per-call latency under that load;
//!   and single-caller latency (one durable transaction per append).
//! - On a register log grown to `--verify-events`: `audit verify` time and
//!   peak RSS, in a child process so the RSS is its own.
//! - At that size too: `audit export` of the whole log (time and peak RSS),
//!   beside reading the log alone; and 100,000 inclusion proofs made one at
//!   a time (as exports made them before) and a page at a time (as now).
//! - Grown on to `--events`: inclusion proof time, and `breach scope` time and
//!   peak RSS (child processes again), beside the time to read the log
//!   alone (`scan-fetch`), the floor for any pass over it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lanyard_audit::group::{self, GroupCommitter};
use lanyard_audit::merkle::Frontier;
use lanyard_audit::{Actor, Event, Ledger, Outcome, leaf_hash};
use lanyard_core::{Compartment, PersonId};
use lanyard_crypto::{KdfParams, KeyringProvider};
use lanyard_register::ScopeQuery;
use lanyard_register::import::{self, Options};
use lanyard_register::{Operator, Register};
use lanyard_store::{AuditEntry, Store};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::opts::{AuditBenchArgs, Cli};
use crate::util as context;
use crate::{median, peak_rss_kib, work_dir_or_temp};
use lanyard_synth as synth;

const PASSPHRASE: &[u8] = b"lanyard bench passphrase";
const OPERATORS: usize = 40;
/// Events whose proofs `proofs-alone` and `proofs-together` make.
const PROOF_SAMPLE: u64 = 100_000;

/// A child phase's result.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildResult {
    seconds: f64,
    peak_rss_kib: u64,
    detail: serde_json::Value,
}

/// Synthetic read events like the register writes, over `people`.
pub(crate) struct ReadEvents {
    rng: StdRng,
    people: Vec<PersonId>,
    time_ms: i64,
}

impl ReadEvents {
    pub(crate) fn new(people: Vec<PersonId>, seed: u64) -> Self {
        ReadEvents { rng: StdRng::seed_from_u64(seed), people, time_ms: 1_767_225_600_000 }
    }

    fn next_entry(&mut self) -> AuditEntry {
        self.time_ms += self.rng.random_range(1..50);
        let who = self.rng.random_range(0..OPERATORS);
        let mut e = Event::new(self.time_ms, Actor::operator(&format!("officer{who:02}")), "person.read", Outcome::Ok);
        let n = self.people.len().max(1);
        let person = self.people.get(self.rng.random_range(0..n)).copied().unwrap_or_else(PersonId::new);
        e.people = vec![person];
        let compartments: &[Compartment] = match self.rng.random_range(0..4) {
            0 => &[Compartment::Identity],
            1 => &[Compartment::Identity, Compartment::Photo],
            2 => &[Compartment::Vetting],
            _ => &[Compartment::Pay],
        };
        e.compartments = compartments.to_vec();
        e.fields = compartments.iter().flat_map(|c| c.fields().iter().copied()).collect();
        e.purpose = Some("card renewal".into());
        e.request_id = Some(uuid::Uuid::new_v4().to_string());
        let bytes = e.to_bytes();
        let leaf = leaf_hash(&bytes);
        (bytes, leaf)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

fn latency_json(mut v: Vec<Duration>) -> serde_json::Value {
    v.sort();
    json!({ "calls": v.len(), "p50_ms": round3(percentile(&v, 0.5)), "p99_ms": round3(percentile(&v, 0.99)) })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// SHA-256 of the events alone, and the tree built in memory.
fn ceiling(events: usize) -> serde_json::Value {
    let mut events_gen = ReadEvents::new((0..1000).map(|_| PersonId::new()).collect(), 1);
    let bytes: Vec<Vec<u8>> = (0..events).map(|_| events_gen.next_entry().0).collect();
    let mean_len = bytes.iter().map(Vec::len).sum::<usize>() / events.max(1);
    let mut leaf_rates = Vec::new();
    let mut tree_rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let leaves: Vec<[u8; 32]> = bytes.iter().map(|b| leaf_hash(b)).collect();
        leaf_rates.push(events as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut frontier = Frontier::default();
        for l in &leaves {
            frontier.push(*l);
        }
        std::hint::black_box(frontier.root());
        tree_rates.push(events as f64 / t.elapsed().as_secs_f64());
    }
    json!({
        "events": events,
        "mean_event_bytes": mean_len,
        "sha256_leaf_hashes_per_s": median(leaf_rates).round(),
        "in_memory_tree_pushes_per_s": median(tree_rates).round(),
    })
}

/// Group-committed appends from `callers` concurrent tasks, then one caller
/// alone.
async fn appends(store: Store, total: usize, callers: usize, single: usize) -> Result<serde_json::Value> {
    let committer = Arc::new(GroupCommitter::new(store.clone()));
    let per_caller = total.div_ceil(callers.max(1));
    let before = group::stats();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for caller in 0..callers {
        let committer = Arc::clone(&committer);
        let entries: Vec<AuditEntry> = {
            let mut events_gen = ReadEvents::new((0..100).map(|_| PersonId::new()).collect(), caller as u64);
            (0..per_caller).map(|_| events_gen.next_entry()).collect()
        };
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(entries.len());
            for e in entries {
                let t = Instant::now();
                committer.append(vec![e]).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                latencies.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = group::stats();
    let events = latencies.len();
    let batches = after.batches - before.batches;
    let loaded = latency_json(latencies);

    let mut events_gen = ReadEvents::new((0..100).map(|_| PersonId::new()).collect(), 99);
    let mut alone = Vec::with_capacity(single);
    for _ in 0..single {
        let e = events_gen.next_entry();
        let t = Instant::now();
        committer.append(vec![e]).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        alone.push(t.elapsed());
    }
    Ok(json!({
        "concurrent_callers": callers,
        "events": events,
        "seconds": round3(seconds),
        "events_per_s": (events as f64 / seconds).round(),
        "transactions": batches,
        "mean_events_per_transaction": if batches > 0 { (events as f64 / batches as f64).round() } else { 0.0 },
        "latency_under_load": loaded,
        "latency_single_caller": latency_json(alone),
    }))
}

fn register_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("keyring.json"), dir.join("lanyard.db"))
}

async fn open_bench_register(dir: &Path) -> Result<(Register, Ledger)> {
    let (keyring, db) = register_paths(dir);
    let provider = Arc::new(KeyringProvider::open(&keyring, PASSPHRASE)?);
    let ledger = Ledger::new(Store::open_sqlite(&db, false).await?);
    Ok((Register::open(ledger.clone(), provider, context::now_ms()).await?, ledger))
}

fn bench_operator() -> Operator {
    Operator::local(Actor::operator("bench"), false)
}

/// A register of `people` synthetic people, its log then grown with reads.
pub(crate) async fn build_register(dir: &Path, people: usize) -> Result<(Register, Ledger, Vec<PersonId>)> {
    context::ensure_dir(dir)?;
    let (keyring, db) = register_paths(dir);
    let provider = Arc::new(KeyringProvider::create(&keyring, PASSPHRASE, KdfParams::recommended())?);
    let op = bench_operator();
    let ledger = Ledger::new(Store::open_sqlite(&db, true).await?);
    let register = Register::init(ledger.clone(), provider, &op, context::now_ms()).await?;
    let csv = dir.join("people.csv");
    synth::write_force(&csv, people, None, 11)?;
    let parser = import::Parser::new(
        std::io::BufReader::new(std::fs::File::open(&csv)?),
        register.ranks(),
        Options { photos_dir: None, ignore_unknown: false },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (outcome, _) = register.import_from(&op, parser, true, context::now_ms(), &|_| {}).await?;
    std::fs::remove_file(&csv).ok();
    Ok((register, ledger, outcome.imported))
}

/// Appends reads in large transactions until the log holds `target` events,
/// signing a checkpoint every `checkpoint_every`.
pub(crate) async fn grow(
    register: &Register,
    ledger: &Ledger,
    events_gen: &mut ReadEvents,
    target: u64,
    checkpoint_every: u64,
) -> Result<()> {
    let store = ledger.store();
    let op = bench_operator();
    loop {
        let size = lanyard_audit::log::size(store).await?;
        if size >= target {
            return Ok(());
        }
        let n = (target - size).min(50_000).min(checkpoint_every - size % checkpoint_every);
        let entries: Vec<AuditEntry> = (0..n).map(|_| events_gen.next_entry()).collect();
        let mut tx = ledger.begin().await?;
        tx.append_encoded(&entries).await?;
        tx.commit().await?;
        if (size + n).is_multiple_of(checkpoint_every) {
            register.checkpoint(&op, None, context::now_ms()).await?;
        }
    }
}

pub(crate) fn child(phase: &str, dir: &Path) -> Result<ChildResult> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .args(["bench", "audit-phase", phase, "--dir"])
        .arg(dir)
        .output()
        .context("running a benchmark phase")?;
    if !out.status.success() {
        bail!("benchmark phase {phase} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).context("reading a phase's result")
}

/// One measured phase in this process, which the parent started for it.
pub async fn phase(name: &str, dir: &Path) -> Result<()> {
    let (register, ledger) = open_bench_register(dir).await?;
    let op = bench_operator();
    let started = Instant::now();
    let detail = match name {
        "verify" => {
            let report = register.verify_log(&op, context::now_ms()).await?;
            if !report.findings.is_empty() {
                bail!("verify found {} problems in a clean log", report.findings.len());
            }
            json!({ "events": report.events, "checkpoints": report.checkpoints, "people": report.people })
        }
        "breach-actor" | "breach-all" => {
            let query =
                ScopeQuery { actor: (name == "breach-actor").then(|| "officer07".to_owned()), ..ScopeQuery::default() };
            let report = register.breach_scope(&op, query, context::now_ms()).await?;
            json!({ "tree_size": report.tree_size, "events_matched": report.events_matched, "people": report.people.len() })
        }
        "watch-first" | "watch-next" => {
            // One watch pass as `lanyard watch` makes it: reconciliation
            // (from the replay the last pass kept, for watch-next) and the
            // volumes; the witness round and backup age cost nothing here.
            let file = dir.join("watch-replay.bin");
            let saved = if name == "watch-next" { Some(std::fs::read(&file)?) } else { None };
            let (report, sealed) = register.verify_since(&op, saved, 86_400_000, context::now_ms()).await?;
            if !report.findings.is_empty() {
                bail!("the watch found {} problems in a clean store: {:?}", report.findings.len(), report.findings);
            }
            let (tables, compartments) = register.volumes().await?;
            std::fs::write(&file, &sealed)?;
            json!({
                "events": report.events,
                "events_read": report.events_read,
                "people": report.people,
                "tables": tables.len(),
                "compartments": compartments.len(),
                "replay_bytes": sealed.len(),
            })
        }
        "export" => {
            // `audit export` of the whole log, each chunk dropped as it
            // comes, as the server streams it.
            let mut export = register.export_window(&op, None, None, context::now_ms()).await?;
            let mut bytes = 0u64;
            while let Some(chunk) = export.next_chunk().await? {
                bytes += chunk.len() as u64;
            }
            json!({ "events": export.events(), "bytes": bytes })
        }
        "proofs-alone" | "proofs-together" => {
            // The first PROOF_SAMPLE events' inclusion proofs: one at a time,
            // as an export read them before, and a page at a time, as now.
            let store = ledger.store();
            let size = lanyard_audit::log::size(store).await?;
            let n = PROOF_SAMPLE.min(size);
            let mut hashes = 0usize;
            if name == "proofs-alone" {
                for index in 0..n {
                    hashes += lanyard_audit::log::inclusion(store, index, size).await?.1.len();
                }
            } else {
                for first in (0..n).step_by(2000) {
                    let page: Vec<u64> = (first..n.min(first + 2000)).collect();
                    let proofs = lanyard_audit::log::inclusions(store, &page, size).await?;
                    hashes += proofs.iter().map(|p| p.1.len()).sum::<usize>();
                }
            }
            json!({ "events": n, "tree_size": size, "hashes": hashes })
        }
        "people-fetch" => {
            // The floor for the store's side of a pass: every person's row
            // and sealed compartments read as the watch reads them, nothing
            // checked.
            let (mut people, mut sealed) = (0u64, 0u64);
            let mut pages = ledger.store().people_pages();
            while let Some(page) = pages.next().await {
                for (_, compartments) in page? {
                    people += 1;
                    sealed += compartments.len() as u64;
                }
            }
            json!({ "people": people, "sealed_rows": sealed })
        }
        "scan-fetch" | "scan-parse" => {
            // Ceilings for breach scoping: reading the log, and reading and
            // parsing it, with nothing else.
            let store = ledger.store();
            let end = i64::try_from(lanyard_audit::log::size(store).await?)?;
            let (mut rows_read, mut parsed) = (0u64, 0u64);
            let mut pages = store.audit_pages(0, end, false);
            while let Some(page) = pages.next().await {
                let rows = page?;
                rows_read += rows.len() as u64;
                if name == "scan-parse" {
                    parsed += rows.iter().filter(|r| Event::from_bytes(&r.event).is_ok()).count() as u64;
                }
            }
            json!({ "rows": rows_read, "parsed": parsed })
        }
        other => bail!("no benchmark phase {other}"),
    };
    let result = ChildResult { seconds: started.elapsed().as_secs_f64(), peak_rss_kib: peak_rss_kib(), detail };
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

pub(crate) fn child_json(r: &ChildResult) -> serde_json::Value {
    json!({ "seconds": round3(r.seconds), "peak_rss_mib": (r.peak_rss_kib as f64 / 1024.0).round(), "result": r.detail })
}

/// Runs the whole benchmark and prints its figures.
pub async fn run(cli: &Cli, args: &AuditBenchArgs) -> Result<()> {
    let dir = work_dir_or_temp(args.work_dir.as_ref())?;
    let mut out = serde_json::Map::new();
    eprintln!("ceiling: SHA-256 and the in-memory tree");
    out.insert("ceiling".into(), ceiling(args.append_events));

    eprintln!("group commit on SQLite");
    let sqlite_dir = dir.join("appends");
    context::ensure_dir(&sqlite_dir)?;
    let store = Store::open_sqlite(&sqlite_dir.join("appends.db"), true).await?;
    store.migrate().await?;
    out.insert("sqlite_appends".into(), appends(store.clone(), args.append_events, args.callers, 500).await?);
    store.close().await;
    std::fs::remove_dir_all(&sqlite_dir).ok();

    if let Some(url) = &args.postgres {
        eprintln!("group commit on PostgreSQL");
        let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let store = Store::open_postgres(url, Some(&schema)).await?;
        store.migrate().await?;
        let figures = appends(store.clone(), args.append_events, args.callers, 500).await;
        store.close().await;
        Store::drop_postgres_schema(url, &schema).await?;
        out.insert("postgres_appends".into(), figures?);
    }

    if args.events > 0 {
        let reg_dir = dir.join("register");
        if reg_dir.exists() {
            std::fs::remove_dir_all(&reg_dir)?;
        }
        eprintln!("register of {} people", args.people);
        let (register, ledger, people) = build_register(&reg_dir, args.people).await?;
        let mut events_gen = ReadEvents::new(people, 5);
        let checkpoint_every = 250_000;
        let verify_at = args.verify_events.min(args.events);
        eprintln!("growing the log to {verify_at} events");
        grow(&register, &ledger, &mut events_gen, verify_at, checkpoint_every).await?;
        let r = child("verify", &reg_dir)?;
        out.insert("verify".into(), child_json(&r));
        for phase in ["export", "scan-fetch", "proofs-alone", "proofs-together"] {
            eprintln!("{phase} at {verify_at} events");
            let r = child(phase, &reg_dir)?;
            out.insert(format!("{}_at_verify_size", phase.replace('-', "_")), child_json(&r));
        }

        eprintln!("growing the log to {} events", args.events);
        grow(&register, &ledger, &mut events_gen, args.events, checkpoint_every).await?;
        let size = lanyard_audit::log::size(ledger.store()).await?;
        let mut rng = StdRng::seed_from_u64(3);
        let mut times = Vec::new();
        for _ in 0..2000 {
            let index = rng.random_range(0..size);
            let t = Instant::now();
            let proof = lanyard_audit::log::inclusion(ledger.store(), index, size).await?;
            times.push(t.elapsed());
            std::hint::black_box(proof);
        }
        let mut inclusion = latency_json(times);
        if let Some(o) = inclusion.as_object_mut() {
            o.insert("tree_size".into(), json!(size));
        }
        out.insert("inclusion_proof".into(), inclusion);
        ledger.store().close().await;
        for phase in ["scan-fetch", "breach-actor", "breach-all"] {
            eprintln!("{phase} over {size} events");
            let r = child(phase, &reg_dir)?;
            out.insert(phase.replace('-', "_"), child_json(&r));
        }
        if args.work_dir.is_none() {
            std::fs::remove_dir_all(&reg_dir).ok();
        }
    }
    if args.work_dir.is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
    let out = serde_json::Value::Object(out);
    // The figures are nested; JSON is the readable form either way.
    let _ = cli.json;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
