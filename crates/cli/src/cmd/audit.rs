//! `lanyard audit …`: checkpoints, events and proofs of the audit log.

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use std::path::Path;

use lanyard_audit::checkpoint::NoteVerifier;
use lanyard_audit::proof::{ConsistencyJson, InclusionJson, check_consistency, check_inclusion};

use crate::Negative;
use crate::config;
use crate::context;
use crate::opts::{AuditCommand, Cli, ProveCommand};
use crate::output;

pub async fn run(cli: &Cli, cmd: &AuditCommand) -> Result<()> {
    if let AuditCommand::VerifyProof { verifier_key, proof, event, old_checkpoint, witnesses, quorum } = cmd {
        let required = Witnesses::parse(witnesses, *quorum)?;
        return verify_proof(cli, verifier_key, proof, event.as_deref(), old_checkpoint.as_deref(), &required);
    }
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let register = context::open_register(&settings).await?;
    let op = context::host();
    let now = context::now_ms();
    match cmd {
        AuditCommand::Checkpoint { size: _, every: Some(seconds) } => {
            let stop = crate::signals::stop_signal()?;
            let json = cli.json;
            let signed = register
                .run_checkpointer(
                    &op,
                    std::time::Duration::from_secs(*seconds),
                    stop,
                    &context::now_ms,
                    &|cp| {
                        if json {
                            let _ = output::json(cp);
                        } else {
                            print!("{}", cp.checkpoint);
                        }
                    },
                    &|e| eprintln!("error: checkpoint failed, retrying at the next tick: {e}"),
                )
                .await;
            eprintln!("signed {signed} checkpoints");
        }
        AuditCommand::Checkpoint { size, every: None } => {
            let cp = register.checkpoint(&op, *size, now).await?;
            // The latest checkpoint goes to the witnesses first, so that
            // what is printed carries their cosignatures.
            if size.is_none() && !settings.witnesses.is_empty() {
                for outcome in register.witness_round(&settings.witnesses, now).await? {
                    if !matches!(outcome, lanyard_register::WitnessOutcome::Cosigned { .. }) {
                        eprintln!("{}: {outcome}", if outcome.is_alarm() { "error" } else { "warning" });
                    }
                }
            }
            let note = register.cosigned_checkpoint(cp.tree_size).await?.unwrap_or(cp.checkpoint.clone());
            if cli.json {
                let mut value = serde_json::to_value(&cp)?;
                if let Some(map) = value.as_object_mut() {
                    map.insert("checkpoint".into(), serde_json::Value::String(note));
                }
                return output::json(&value);
            }
            print!("{note}");
        }
        AuditCommand::VerifierKey => {
            let key = register.verifier_key(&op, now).await?;
            if cli.json {
                return output::json(&serde_json::json!({ "verifier_key": key }));
            }
            println!("{key}");
        }
        AuditCommand::Event { index } => {
            let (bytes, hash) = register.audit_event(*index).await?;
            if cli.json {
                return output::json(&serde_json::json!({
                    "index": index,
                    "event": String::from_utf8_lossy(&bytes),
                    "event_base64": B64.encode(&bytes),
                    "leaf_hash": B64.encode(hash),
                }));
            }
            println!("{}", String::from_utf8_lossy(&bytes));
            println!("leaf hash {}", B64.encode(hash));
        }
        AuditCommand::Note { index } => {
            // Reached only with --local (main.rs): a break-glass read.
            let opened = register.audit_note(&context::break_glass(false), *index, now).await?;
            if cli.json {
                return output::json(&opened);
            }
            print_note(opened.index, opened.code.as_deref(), &opened.note);
            match opened.proves_leaf {
                Some(true) => println!(
                    "(sealed at upgrade from the event's purpose; rebuilt with it, the event hashes to its leaf)"
                ),
                Some(false) => println!(
                    "warning: this note was sealed at upgrade, but the event rebuilt with it does not hash to its leaf"
                ),
                None => {}
            }
        }
        AuditCommand::Prove(ProveCommand::Inclusion { index, size }) => {
            let proof = register.prove_inclusion(&op, *index, *size, now).await?;
            output::json(&proof)?;
        }
        AuditCommand::Prove(ProveCommand::Consistency { from }) => {
            let old = std::fs::read_to_string(from).with_context(|| format!("reading {}", from.display()))?;
            let proof = register.prove_consistency(&op, &old, now).await?;
            output::json(&proof)?;
        }
        AuditCommand::Export { from, to, out } => {
            let from_ms = from.as_deref().map(|t| crate::cmd::breach::parse_time("from", t)).transpose()?;
            let to_ms = to.as_deref().map(|t| crate::cmd::breach::parse_time("to", t)).transpose()?;
            let mut export = register.export_window(&op, from_ms, to_ms, now).await?;
            // Written a page at a time beside `out` and renamed over it when
            // whole: an export cut short leaves no file that looks complete.
            let tmp = out.with_extension("partial");
            let written = async {
                use std::io::Write;
                let file = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
                let mut file = std::io::BufWriter::new(file);
                while let Some(chunk) = export.next_chunk().await? {
                    file.write_all(&chunk).with_context(|| format!("writing {}", tmp.display()))?;
                }
                file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))
            }
            .await;
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            written?;
            if cli.json {
                return output::json(
                    &serde_json::json!({ "events": export.events(), "tree_size": export.tree_size() }),
                );
            }
            println!(
                "wrote {} events with proofs against checkpoint {} to {}",
                export.events(),
                export.tree_size(),
                out.display()
            );
        }
        AuditCommand::Verify => {
            let report = register.verify_log(&op, now).await?;
            let log = log_findings(&register, &settings, report.events, report.checkpoints, now).await?;
            if cli.json {
                let mut value = serde_json::to_value(&report)?;
                if let Some(map) = value.as_object_mut() {
                    map.insert("log".into(), serde_json::to_value(&log)?);
                }
                output::json(&value)?;
            } else {
                for f in &report.findings {
                    println!("{f}");
                }
                for f in &log {
                    println!("{f}");
                }
                println!(
                    "checked {} events, {} checkpoints, {} people: {} findings",
                    report.events,
                    report.checkpoints,
                    report.people,
                    report.findings.len() as u64 + report.findings_omitted
                );
                if report.findings_omitted > 0 {
                    println!(
                        "({} findings beyond the first {} not listed)",
                        report.findings_omitted,
                        report.findings.len()
                    );
                }
            }
            if !report.findings.is_empty() || !log.is_empty() {
                return Err(Negative(String::new()).into());
            }
        }
        AuditCommand::VerifyProof { .. } => {}
    }
    Ok(())
}

/// What `audit verify` finds of the log as a whole, beyond its events: no
/// checkpoint over a log with events, and what the witnesses say. A
/// witness that has cosigned a larger tree, or another history, is the
/// rolled-back store; too few witnesses answering is a finding too, since
/// the check could not be made.
async fn log_findings(
    register: &lanyard_register::Register,
    settings: &config::Settings,
    events: u64,
    checkpoints: u64,
    now: i64,
) -> Result<Vec<String>> {
    let mut found = Vec::new();
    if events > 0 && checkpoints == 0 {
        found.push(format!("audit log: {events} events and no signed checkpoint"));
    }
    // The first event no checkpoint covers may wait a little, not long.
    let signed = register.latest_checkpoint_size().await?;
    if checkpoints > 0 && signed < events {
        let (bytes, _) = register.audit_event(signed).await?;
        let waited_s = lanyard_audit::Event::from_bytes(&bytes).map_or(i64::MAX, |e| (now - e.time_ms) / 1000);
        if waited_s > i64::try_from(settings.checkpoint_lag_s).unwrap_or(i64::MAX) {
            found.push(format!(
                "audit log: events {signed} to {} are under no signed checkpoint, the first for {waited_s} s \
                 (more than the {} s allowed)",
                events - 1,
                settings.checkpoint_lag_s
            ));
        }
    }
    if settings.witnesses.is_empty() {
        return Ok(found);
    }
    let mut cosigned = 0;
    for outcome in register.witness_round(&settings.witnesses, now).await? {
        match outcome {
            lanyard_register::WitnessOutcome::Cosigned { .. } => cosigned += 1,
            other if other.is_alarm() => found.push(other.to_string()),
            other => eprintln!("warning: {other}"),
        }
    }
    if cosigned < settings.witness_quorum && found.is_empty() {
        found.push(format!(
            "witnesses: {cosigned} of the {} required cosigned the latest checkpoint; the log could not be checked \
             against them",
            settings.witness_quorum
        ));
    }
    Ok(found)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The witnesses a proof's checkpoint must carry cosignatures of.
struct Witnesses {
    keys: Vec<lanyard_note::cosignature::CosignatureVerifier>,
    quorum: usize,
}

impl Witnesses {
    fn parse(keys: &[String], quorum: Option<usize>) -> Result<Self> {
        let keys = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                lanyard_note::cosignature::CosignatureVerifier::parse(k)
                    .map_err(|e| anyhow::anyhow!("--witness #{}: {}", i + 1, e.0))
            })
            .collect::<Result<Vec<_>>>()?;
        let quorum = quorum.unwrap_or(keys.len());
        if quorum > keys.len() {
            anyhow::bail!("--quorum {quorum} is more than the {} witnesses given", keys.len());
        }
        Ok(Witnesses { keys, quorum })
    }

    /// Whether enough of them cosigned `note`.
    fn check(&self, note: &str) -> Result<(), String> {
        if self.quorum == 0 {
            return Ok(());
        }
        let (body, signatures) = lanyard_note::split_note(note).map_err(|_| "the checkpoint has no signatures")?;
        let cosigned = self.keys.iter().filter(|k| k.verify(body, signatures).is_ok()).count();
        if cosigned < self.quorum {
            return Err(format!(
                "the checkpoint carries {cosigned} of the {} witness cosignatures required",
                self.quorum
            ));
        }
        Ok(())
    }
}

fn verify_proof(
    cli: &Cli,
    key: &str,
    proof: &Path,
    event: Option<&Path>,
    old: Option<&Path>,
    witnesses: &Witnesses,
) -> Result<()> {
    let key_text = if Path::new(key).is_file() { read(Path::new(key))? } else { key.to_owned() };
    let verifier = NoteVerifier::parse(&key_text).map_err(|e| anyhow::anyhow!("verifier key: {e}"))?;
    let text = read(proof)?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", proof.display()))?;
    let note = value.get("checkpoint").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    let verdict = if value.get("old_size").is_some() {
        let p: ConsistencyJson =
            serde_json::from_value(value).with_context(|| format!("{}: not a consistency proof", proof.display()))?;
        let old = old.context("a consistency proof needs --old-checkpoint FILE")?;
        check_consistency(&p, &verifier, &read(old)?)
    } else {
        let p: InclusionJson =
            serde_json::from_value(value).with_context(|| format!("{}: not an inclusion proof", proof.display()))?;
        let bytes = match event {
            Some(path) => {
                let e: serde_json::Value = serde_json::from_str(&read(path)?)
                    .with_context(|| format!("{}: not the JSON of 'lanyard audit event'", path.display()))?;
                let b64 = e
                    .get("event_base64")
                    .and_then(serde_json::Value::as_str)
                    .context("the event file has no event_base64")?;
                Some(B64.decode(b64).context("event_base64 is not base64")?)
            }
            None => None,
        };
        check_inclusion(&p, &verifier, bytes.as_deref())
    };
    let verdict = verdict.and_then(|()| witnesses.check(&note));
    match verdict {
        Ok(()) => {
            if cli.json {
                output::json(&serde_json::json!({ "verdict": "valid" }))?;
            } else {
                println!("valid");
            }
            Ok(())
        }
        Err(why) => {
            if cli.json {
                output::json(&serde_json::json!({ "verdict": "invalid", "reason": why }))?;
            }
            Err(Negative(format!("invalid: {why}")).into())
        }
    }
}

/// One opened note, as both ways of opening it print it.
pub(crate) fn print_note(index: u64, code: Option<&str>, note: &str) {
    println!("event {index}: {} — {note}", code.unwrap_or("-"));
}
