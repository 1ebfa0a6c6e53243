//! `lanyard-agent`: the binary a print supplier installs. It pulls, checks
//! and spools the force's sealed print batches and confirms them; it holds
//! no register, no store and no force keys. Exit codes: 0 success, 2 any
//! failure or usage error.

use std::process::ExitCode;

use clap::Parser;
use lanyard_agent::AgentCommand;

/// The print supplier's agent for lanyard.
#[derive(Debug, Parser)]
#[command(name = "lanyard-agent", version, about)]
struct Cli {
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AgentCommand,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    // A panic's message can quote what was being read: print only where.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("internal error at {at} (message withheld)");
    }));
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(lanyard_agent::run(&cli.command, cli.json)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
