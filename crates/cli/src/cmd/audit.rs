//! `lanyard audit …`: checkpoints, events and proofs of the audit log.

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::config;
use crate::context;
use crate::opts::{AuditCommand, Cli, ProveCommand};
use crate::output;

pub async fn run(cli: &Cli, cmd: &AuditCommand) -> Result<()> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let register = context::open_register(&settings).await?;
    let op = context::operator(cli.operator.as_deref(), false)?;
    let now = context::now_ms();
    match cmd {
        AuditCommand::Checkpoint { size } => {
            let cp = register.checkpoint(&op, *size, now).await?;
            if cli.json {
                return output::json(&cp);
            }
            print!("{}", cp.checkpoint);
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
        AuditCommand::Prove(ProveCommand::Inclusion { index, size }) => {
            let proof = register.prove_inclusion(&op, *index, *size, now).await?;
            output::json(&proof)?;
        }
        AuditCommand::Prove(ProveCommand::Consistency { from }) => {
            let old = std::fs::read_to_string(from).with_context(|| format!("reading {}", from.display()))?;
            let proof = register.prove_consistency(&op, &old, now).await?;
            output::json(&proof)?;
        }
    }
    Ok(())
}
