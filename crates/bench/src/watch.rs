//! `lanyard bench watch`: one pass of the data-loss watch over a large
//! register (issue 16: 1M people and 10M events in under 30 s, in bounded
//! memory), beside the floors of the same run: reading the log alone and
//! reading every person's rows alone.
//!
//! The register is the audit benchmark's: synthetic people imported, the
//! log grown with synthetic reads and a checkpoint every 250,000 events.
//! The first pass reads the whole log; then `--new-events` more are
//! appended and the next pass reads only those. Each pass runs in a child
//! process, so its peak RSS is its own.

use anyhow::Result;
use serde_json::json;

use crate::audit::{ReadEvents, build_register, child, child_json, grow};
use crate::opts::{Cli, WatchBenchArgs};
use crate::work_dir_or_temp;

/// Runs the benchmark and prints its figures.
pub async fn run(cli: &Cli, args: &WatchBenchArgs) -> Result<()> {
    let dir = work_dir_or_temp(args.work_dir.as_ref())?;
    let reg_dir = dir.join("register");
    if reg_dir.exists() {
        std::fs::remove_dir_all(&reg_dir)?;
    }
    let mut out = serde_json::Map::new();
    eprintln!("register of {} people", args.people);
    let (register, ledger, people) = build_register(&reg_dir, args.people).await?;
    let mut events_gen = ReadEvents::new(people, 5);
    eprintln!("growing the log to {} events", args.events);
    grow(&register, &ledger, &mut events_gen, args.events, 250_000).await?;
    let size = lanyard_audit::log::size(ledger.store()).await?;
    out.insert("people".into(), json!(args.people));
    out.insert("events".into(), json!(size));
    for phase in ["scan-fetch", "people-fetch", "watch-first"] {
        eprintln!("{phase}");
        out.insert(phase.replace('-', "_"), child_json(&child(phase, &reg_dir)?));
    }
    eprintln!("{} more events, then the next pass", args.new_events);
    grow(&register, &ledger, &mut events_gen, size + args.new_events, 250_000).await?;
    ledger.store().close().await;
    out.insert("watch_next".into(), child_json(&child("watch-next", &reg_dir)?));
    if args.work_dir.is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
    let _ = cli.json;
    println!("{}", serde_json::to_string_pretty(&serde_json::Value::Object(out))?);
    Ok(())
}
