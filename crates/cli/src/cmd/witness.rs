//! `lanyard witness …`: a witness for another log's checkpoints, in its own
//! data folder (`--data-dir`), sharing nothing with a register.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use lanyard_witness::Witness;
use lanyard_witness::state::DataDir;

use crate::opts::{Cli, WitnessCommand};
use crate::output;

pub async fn run(cli: &Cli, cmd: &WitnessCommand) -> Result<()> {
    let dir = DataDir::new(&cli.data_dir);
    match cmd {
        WitnessCommand::Init { name } => {
            let cosigner = dir.init(name)?;
            let key = cosigner.verifier().to_key_string();
            if cli.json {
                return output::json(&serde_json::json!({ "name": name, "key": key }));
            }
            println!("witness {name} made in {}", cli.data_dir.display());
            println!("its key, for the log's [witness] settings:\n{key}");
            println!(
                "next: lanyard witness add-log --data-dir {} --key <the log's verifier key>",
                cli.data_dir.display()
            );
        }
        WitnessCommand::Key => {
            let key = dir.cosigner()?.verifier().to_key_string();
            if cli.json {
                return output::json(&serde_json::json!({ "key": key }));
            }
            println!("{key}");
        }
        WitnessCommand::AddLog { key, origin } => {
            let verifier = lanyard_note::Verifier::parse(key).map_err(|e| anyhow::anyhow!("--key: {}", e.0))?;
            if let Some(o) = origin
                && o != verifier.name()
            {
                bail!("--origin {o} is not the origin the key names ({})", verifier.name());
            }
            let origin = dir.add_log(key)?;
            if cli.json {
                return output::json(&serde_json::json!({ "origin": origin }));
            }
            println!("witnessing log {origin} (restart 'witness serve' to take it up)");
        }
        WitnessCommand::ResetLog { origin } => {
            let reset = dir.reset_log(origin, crate::context::now_ms())?;
            if cli.json {
                let (size, kept) = reset.map_or((None, None), |(s, k)| (Some(s), Some(k.display().to_string())));
                return output::json(&serde_json::json!({ "origin": origin, "forgotten_size": size, "kept": kept }));
            }
            match reset {
                Some((size, kept)) => println!(
                    "witness: forgot {origin} at {size} events (kept as {}); its next checkpoint starts afresh here",
                    kept.display()
                ),
                None => println!("witness: nothing cosigned for {origin} yet; nothing to forget"),
            }
        }
        WitnessCommand::Serve { listen } => {
            let witness = Arc::new(Witness::open(dir)?);
            let listener =
                tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
            let stop = crate::signals::stop_signal()?;
            // The address first, on stdout, for whoever started the process.
            println!("listening on http://{}", listener.local_addr()?);
            std::io::Write::flush(&mut std::io::stdout())?;
            eprintln!("witness {} serving", witness.verifier().name());
            lanyard_witness::server::serve(listener, witness, stop).await.context("serving")?;
        }
    }
    Ok(())
}
