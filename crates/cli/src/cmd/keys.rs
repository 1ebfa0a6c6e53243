//! `lanyard keys status | rotate | export-verifier`.

use anyhow::{Context, Result};
use lanyard_core::Compartment;

use crate::config;
use crate::context;
use crate::opts::{Cli, KeysCommand};
use crate::output;

pub async fn run(cli: &Cli, cmd: &KeysCommand) -> Result<()> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    // The issuer's keys belong to the cards service; they open the register
    // through it, once.
    match cmd {
        KeysCommand::Rotate { compartment, .. } if compartment == "issuer" => {
            let (_register, cards) = context::open_cards(&settings).await?;
            let op = context::host();
            let version = cards.rotate_issuer(&op, context::now_ms()).await?;
            if cli.json {
                return output::json(&serde_json::json!({ "key": "issuer", "new_version": version }));
            }
            println!("issuer: now signing with key version {version} (kid k{version}); export the trust bundle again");
            return Ok(());
        }
        KeysCommand::ExportVerifier { out } => {
            let (_register, cards) = context::open_cards(&settings).await?;
            let op = context::host();
            let bundle = cards.trust_bundle(&op, context::now_ms()).await?;
            let json = serde_json::to_vec_pretty(&bundle)?;
            std::fs::write(out, json).with_context(|| format!("writing {}", out.display()))?;
            if cli.json {
                return output::json(&bundle);
            }
            println!(
                "trust bundle for {} with {} key(s) written to {}",
                bundle.issuer,
                bundle.keys.len(),
                out.display()
            );
            return Ok(());
        }
        _ => {}
    }
    let register = context::open_register(&settings).await?;
    match cmd {
        KeysCommand::Status => {
            let status = register.keys_status().await?;
            if cli.json {
                return output::json(&status);
            }
            println!("key provider: {} ({})", status.provider, status.provider_detail);
            println!("blind-index key: version {}", status.blind_index_version);
            for c in &status.compartments {
                println!("compartment {:<8} current version {}", c.compartment.as_str(), c.current);
                for (v, created, rows) in &c.versions {
                    println!("  version {v}: created {}, wraps {rows} person keys", output::date_time(*created));
                }
            }
            let people: Vec<String> = status.people.iter().map(|(s, n)| format!("{n} {s}")).collect();
            println!("people: {}", if people.is_empty() { "none".to_owned() } else { people.join(", ") });
            Ok(())
        }
        KeysCommand::ExportVerifier { .. } => Ok(()),
        KeysCommand::Rotate { compartment, batch } => {
            let compartment: Compartment = compartment.parse()?;
            let op = context::host();
            let bar = output::progress(None, "re-wrapping");
            let report = register
                .rotate(&op, compartment, context::now_ms(), (*batch).clamp(1, 100_000), &|n| bar.inc(n))
                .await?;
            bar.finish_and_clear();
            if cli.json {
                return output::json(&report);
            }
            println!(
                "{} compartment: now at key version {}; re-wrapped {} person keys",
                report.compartment, report.new_version, report.rewrapped
            );
            Ok(())
        }
    }
}
