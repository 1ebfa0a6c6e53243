//! `lanyard watch`: the data-loss watch (issue 16). Each pass:
//!
//! - reconciles the store with the log (`audit verify`): a compartment,
//!   row or person gone without an event is an alert naming the people
//!   and the compartments;
//! - compares every table's and compartment's volume with the last pass
//!   (kept in `watch-state.json` in the data directory): a fall beyond
//!   `[watch] max_fall` in one interval is an alert, explained or not;
//! - asks the witnesses;
//! - checks the age of the last verified backup.
//!
//! Alerts go to the audit log (`watch.alert`, ids only), to stdout, and to
//! the `[watch] webhook` as JSON signed with HMAC-SHA256, retried.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use hmac::{KeyInit, Mac};
use lanyard_register::{Finding, Register, WitnessOutcome};
use serde::{Deserialize, Serialize};

use crate::Negative;
use crate::config::{self, Settings};
use crate::context;
use crate::opts::{Cli, WatchArgs};
use crate::output;

const STATE_FILE: &str = "watch-state.json";
/// The log as the last pass replayed it, sealed by the register.
const REPLAY_FILE: &str = "watch-replay.bin";

/// What the watch keeps in the data directory; a restore removes it, so
/// the watch starts afresh on the restored store.
pub const STATE_FILES: [&str; 2] = [STATE_FILE, REPLAY_FILE];
/// People named in one alert's event at most (the count is always whole).
const MAX_PEOPLE: usize = 1000;

/// One thing wrong.
#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    /// `compartment_lost`, `rows`, `integrity`, `volume_fall`, `witness`,
    /// `witness_unreachable`, `backup_age`.
    pub kind: &'static str,
    /// What, in words, ids only.
    pub text: String,
    /// The people it concerns, by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<String>,
    /// The compartments it concerns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compartments: Vec<String>,
}

/// The volumes of the last pass.
#[derive(Default, Serialize, Deserialize)]
struct Volumes {
    at_ms: i64,
    tables: BTreeMap<String, i64>,
    compartments: BTreeMap<String, i64>,
}

pub async fn run(cli: &Cli, args: &WatchArgs) -> Result<()> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let register = context::open_register(&settings).await?;
    let op = context::process("watch");
    if args.once {
        let alerts = pass(&register, &op, &settings, context::now_ms()).await?;
        publish(cli, &register, &op, &settings, &alerts).await?;
        if alerts.is_empty() {
            return Ok(());
        }
        return Err(Negative(String::new()).into());
    }
    // Installed before the first pass, so a signal during a pass stops the
    // watch when the pass is done rather than killing it mid-publish.
    let stop = crate::signals::stop_signal()?;
    tokio::pin!(stop);
    loop {
        let alerts = pass(&register, &op, &settings, context::now_ms()).await?;
        publish(cli, &register, &op, &settings, &alerts).await?;
        tokio::select! {
            () = &mut stop => return Ok(()),
            () = tokio::time::sleep(std::time::Duration::from_secs(args.every)) => {}
        }
    }
}

/// One pass of the watch.
pub async fn pass(
    register: &Register,
    op: &lanyard_register::Operator,
    settings: &Settings,
    now_ms: i64,
) -> Result<Vec<Alert>> {
    let mut alerts = reconcile(register, op, settings, now_ms).await?;
    alerts.extend(volumes(register, settings, now_ms).await?);
    for outcome in register.witness_round(&settings.witnesses, now_ms).await? {
        match outcome {
            WitnessOutcome::Cosigned { .. } => {}
            other if other.is_alarm() => alerts.push(simple("witness", other.to_string())),
            other => alerts.push(simple("witness_unreachable", other.to_string())),
        }
    }
    let max_age_ms = i64::try_from(settings.backup_max_age_s).unwrap_or(i64::MAX).saturating_mul(1000);
    match register.backup_verified_at().await? {
        None => alerts.push(simple("backup_age", "no backup has been verified (lanyard backup verify)".into())),
        Some(at) if now_ms - at > max_age_ms => alerts
            .push(simple("backup_age", format!("the last verified backup is {} hours old", (now_ms - at) / 3_600_000))),
        Some(_) => {}
    }
    Ok(alerts)
}

fn simple(kind: &'static str, text: String) -> Alert {
    Alert { kind, text, people: Vec::new(), compartments: Vec::new() }
}

/// `audit verify`'s findings as alerts: one per compartment lost, naming
/// exactly whose; one for rows changed, deleted or inserted; the rest as
/// they are.
///
/// After the first pass only the events since the last are read, from the
/// replay the register sealed (`watch-replay.bin`), and the whole log again
/// every `[watch] full_every_s`.
async fn reconcile(
    register: &Register,
    op: &lanyard_register::Operator,
    settings: &Settings,
    now_ms: i64,
) -> Result<Vec<Alert>> {
    let path = settings.data_dir.join(REPLAY_FILE);
    let saved = match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let full_every_ms = i64::try_from(settings.watch_full_every_s).unwrap_or(i64::MAX).saturating_mul(1000);
    let (report, sealed) = register.verify_since(op, saved, full_every_ms, now_ms).await?;
    config::write_atomically(&path, &sealed)?;
    tracing::debug!(events = report.events, read = report.events_read, "watch reconciled");
    let mut lost: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut alerts = Vec::new();
    for f in &report.findings {
        match f {
            Finding::CompartmentMissing { person, compartment } => {
                lost.entry(compartment.to_string()).or_default().push(person.to_string());
            }
            Finding::RowChanged { person } | Finding::RowDeleted { person } | Finding::RowInserted { person } => {
                rows.push(person.to_string());
            }
            other => alerts.push(simple("integrity", other.to_string())),
        }
    }
    for (compartment, people) in lost {
        alerts.push(Alert {
            kind: "compartment_lost",
            text: format!("{} people's {compartment} compartment deleted with no event in the log", people.len()),
            people,
            compartments: vec![compartment],
        });
    }
    if !rows.is_empty() {
        alerts.push(Alert {
            kind: "rows",
            text: format!("{} people's rows changed, deleted or inserted with no event in the log", rows.len()),
            people: rows,
            compartments: Vec::new(),
        });
    }
    if report.findings_omitted > 0 {
        alerts.push(simple("integrity", format!("{} more findings not listed", report.findings_omitted)));
    }
    Ok(alerts)
}

/// Every table's and compartment's volume against the last pass.
async fn volumes(register: &Register, settings: &Settings, now_ms: i64) -> Result<Vec<Alert>> {
    let (tables, compartments) = register.volumes().await?;
    let now = Volumes {
        at_ms: now_ms,
        tables: tables.into_iter().collect(),
        compartments: compartments.into_iter().collect(),
    };
    let path = settings.data_dir.join(STATE_FILE);
    let before: Option<Volumes> = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let mut alerts = Vec::new();
    if let Some(before) = before {
        let fell = |kind: &str, name: &str, was: i64, is: i64| -> Option<Alert> {
            let fall = was.saturating_sub(is);
            (was > 0 && fall > 0 && (fall as f64) / (was as f64) > settings.watch_max_fall)
                .then(|| simple("volume_fall", format!("{kind} {name} fell from {was} to {is} since the last pass")))
        };
        // Tables that shrink in normal use: settings, sessions that end,
        // login throttles that lapse.
        const SHRINK_ANYWAY: [&str; 3] = ["meta", "sessions", "login_throttle"];
        for (table, was) in before.tables.iter().filter(|(t, _)| !SHRINK_ANYWAY.contains(&t.as_str())) {
            alerts.extend(fell("table", table, *was, now.tables.get(table).copied().unwrap_or(0)));
        }
        for (compartment, was) in &before.compartments {
            let is = now.compartments.get(compartment).copied().unwrap_or(0);
            if let Some(mut a) = fell("compartment", compartment, *was, is) {
                a.compartments = vec![compartment.clone()];
                alerts.push(a);
            }
        }
    }
    write_state(&path, &now)?;
    Ok(alerts)
}

fn write_state(path: &Path, v: &Volumes) -> Result<()> {
    config::write_atomically(path, &serde_json::to_vec_pretty(v)?)
}

/// Alerts to the log, stdout and the webhook.
async fn publish(
    cli: &Cli,
    register: &Register,
    op: &lanyard_register::Operator,
    settings: &Settings,
    alerts: &[Alert],
) -> Result<()> {
    if cli.json {
        output::json(&serde_json::json!({ "alerts": alerts }))?;
    } else if alerts.is_empty() {
        println!("watch: all well");
    } else {
        for a in alerts {
            println!("ALERT {}: {}", a.kind, a.text);
            if !a.people.is_empty() {
                println!("  people: {}", a.people.join(" "));
            }
        }
    }
    deliver(register, op, settings, alerts).await
}

/// Alerts to the audit log (`watch.alert`, ids only) and the webhook (a
/// webhook that cannot be reached is reported, not fatal).
pub async fn deliver(
    register: &Register,
    op: &lanyard_register::Operator,
    settings: &Settings,
    alerts: &[Alert],
) -> Result<()> {
    let now = context::now_ms();
    let events: Vec<lanyard_audit::Event> = alerts
        .iter()
        .map(|a| {
            let mut e = lanyard_audit::Event::new(now, op.actor.clone(), "watch.alert", lanyard_audit::Outcome::Error);
            e.detail = Some(serde_json::json!({
                "kind": a.kind, "count": a.people.len(), "compartments": a.compartments,
                "people": a.people.iter().take(MAX_PEOPLE).collect::<Vec<_>>(),
            }));
            e
        })
        .collect();
    if !events.is_empty() {
        register.record(&events).await?;
    }
    if let (Some(url), false) = (&settings.watch_webhook, alerts.is_empty())
        && let Err(e) = webhook(url, alerts).await
    {
        eprintln!("warning: the watch's webhook was not delivered: {e:#}");
    }
    Ok(())
}

/// POSTs the alerts, signed with HMAC-SHA256 over the body under
/// `LANYARD_WATCH_WEBHOOK_SECRET`; three tries, a second apart and then two.
async fn webhook(url: &str, alerts: &[Alert]) -> Result<()> {
    let secret = std::env::var("LANYARD_WATCH_WEBHOOK_SECRET")
        .context("set LANYARD_WATCH_WEBHOOK_SECRET to sign the watch's webhook")?;
    let body = serde_json::to_vec(&serde_json::json!({ "alerts": alerts }))?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| anyhow::anyhow!("the webhook secret cannot key HMAC"))?;
    mac.update(&body);
    let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let client = lanyard_witness::client::http();
    let mut last = String::new();
    for attempt in 0..3u64 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_secs(attempt)).await;
        }
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-lanyard-signature", format!("sha256={signature}"))
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("answered {}", r.status()),
            Err(e) => last = e.without_url().to_string(),
        }
    }
    anyhow::bail!("{last}")
}
