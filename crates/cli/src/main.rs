//! The `lanyard` binary: parse, dispatch, and choose the exit code in one
//! place. Exit codes: 0 success, 1 a negative answer (e.g. not found), 2 a
//! usage error, bad input, or any failure.

mod cmd;
mod config;
mod context;
mod opts;
mod output;
mod session;
mod signals;

use std::process::ExitCode;

use lanyard_register::RegisterError;

use crate::opts::{AuditCommand, Cli, Command, SupplierCommand};
use crate::session::Mode;

// Sealing threads allocate what the database thread frees; glibc's malloc
// spent a quarter of an import's CPU on that hand-over, mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A negative answer that is not a fault: exit 1.
#[derive(Debug)]
pub struct Negative(pub String);

impl std::fmt::Display for Negative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Negative {}

fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<Negative>().is_some() {
        return 1;
    }
    // Not found is a negative answer wherever it comes from.
    match err.downcast_ref::<lanyard_cards::CardError>() {
        Some(lanyard_cards::CardError::NotFound(_) | lanyard_cards::CardError::Missing(_)) => return 1,
        Some(lanyard_cards::CardError::Register(e)) if e.is_negative_answer() => return 1,
        _ => {}
    }
    // The server's "not found" (404) or "gone" (410) is the same answer.
    if let Some(lanyard_client::ClientError::Refused { status: 404 | 410, .. }) =
        err.downcast_ref::<lanyard_client::ClientError>()
    {
        return 1;
    }
    match err.downcast_ref::<RegisterError>() {
        Some(e) if e.is_negative_answer() => 1,
        _ => 2,
    }
}

fn main() -> ExitCode {
    let cli = match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with success, and usage errors with code 2.
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    // A panic's message can quote what a library was reading (a scanned
    // file, a record): print only where it happened.
    std::panic::set_hook(Box::new(|info| {
        // `println!` panics when the reader of our output has gone (`| head`):
        // that is the end of the output, not an error, as for any Unix tool.
        let message = info.payload().downcast_ref::<String>().map(String::as_str).unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::SeqCst);
            return;
        }
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("internal error at {at} (message withheld: it may quote the data being read)");
    }));
    // LANYARD_LOG, else the RUST_LOG every Rust operator reaches for first.
    let log_var = if std::env::var_os("LANYARD_LOG").is_some() { "LANYARD_LOG" } else { "RUST_LOG" };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env(log_var))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let json = cli.json;
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // Output written through a writer of our own, cut short the same way.
        Err(err)
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            let code = exit_code(&err);
            let said = err.downcast_ref::<Negative>().is_none() || !err.to_string().is_empty();
            if said {
                eprintln!("error: {err:#}");
            }
            // With --json the error is JSON too, on stdout where a script
            // reads the answer.
            if json && said && !output::ANSWERED.load(std::sync::atomic::Ordering::SeqCst) {
                let kind = if code == 1 { "negative" } else { "error" };
                let mut error = serde_json::json!({ "kind": kind, "exit": code, "message": format!("{err:#}") });
                // A server's refusal keeps its problem code and status.
                if let (Some(lanyard_client::ClientError::Refused { status, kind, .. }), Some(map)) =
                    (err.downcast_ref::<lanyard_client::ClientError>(), error.as_object_mut())
                {
                    map.insert("status".into(), serde_json::json!(status));
                    map.insert("problem".into(), serde_json::json!(kind));
                }
                let body = serde_json::json!({ "error": error });
                println!("{body}");
            }
            ExitCode::from(code)
        }
    }
}

/// Set when a write to stdout failed because its reader closed the pipe.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

async fn run(cli: Cli) -> anyhow::Result<()> {
    use futures_util::FutureExt;
    let done = std::panic::AssertUnwindSafe(command(&cli)).catch_unwind().await;
    // Whatever the command did is in the log: sign it, even when the output
    // was cut short.
    context::seal_log().await;
    match done {
        Ok(result) => result,
        Err(_) if STDOUT_CLOSED.load(std::sync::atomic::Ordering::SeqCst) => Ok(()),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

async fn command(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Login(args) => session::login(cli, args).await,
        Command::Logout => session::logout(cli).await,
        Command::Whoami => session::whoami(cli).await,
        Command::Init(args) => cmd::init::run(cli, args).await,
        // Operator commands: signed in through the server, or break-glass.
        Command::Person(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in::person(cli, &client, c).await,
            Mode::Local => cmd::person::run(cli, c).await,
        },
        Command::Keys(c) => cmd::keys::run(cli, c).await,
        // Opening a sealed note is the auditor's read: signed in, or break-glass.
        Command::Audit(c @ AuditCommand::Note { index }) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in_supply::audit_note(cli, &client, *index).await,
            Mode::Local => cmd::audit::run(cli, c).await,
        },
        Command::Audit(c) => cmd::audit::run(cli, c).await,
        Command::Breach(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in_supply::breach(cli, &client, c).await,
            Mode::Local => cmd::breach::run(cli, c).await,
        },
        Command::Serve(args) => cmd::serve::run(cli, args).await,
        Command::User(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in::user(cli, &client, c).await,
            Mode::Local => cmd::user::run(cli, c).await,
        },
        Command::Token(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in::token(cli, &client, c).await,
            Mode::Local => cmd::token::run(cli, c).await,
        },
        Command::Card(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in::card(cli, &client, c).await,
            Mode::Local => cmd::card::run(cli, c).await,
        },
        Command::Zone(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in::zone(cli, &client, c).await,
            Mode::Local => cmd::permit::zone(cli, c).await,
        },
        Command::Permit(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in::permit(cli, &client, c).await,
            Mode::Local => cmd::permit::permit(cli, c).await,
        },
        Command::Access(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in::access(cli, &client, c).await,
            Mode::Local => cmd::permit::access(cli, c).await,
        },
        Command::StatusList(c) => cmd::card::status_list(cli, c).await,
        Command::Verify(args) => cmd::verify::run(cli, args).await,
        // The supplier's own side signs in with its token, not as a user.
        Command::Supplier(SupplierCommand::Agent(agent)) => Ok(lanyard_agent::run(agent, cli.json).await?),
        Command::Supplier(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in_supply::supplier(cli, &client, c).await,
            Mode::Local => cmd::supplier::run(cli, c).await,
        },
        Command::Batch(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in_supply::batch(cli, &client, c).await,
            Mode::Local => cmd::supplier::batch(cli, c).await,
        },
        Command::Drill(c) => match session::mode(cli)? {
            Mode::Remote(client) => cmd::signed_in_supply::drill(cli, &client, c).await,
            Mode::Local => cmd::supplier::drill(cli, c).await,
        },
        Command::Demo(args) => cmd::demo::run(cli, args).await,
        Command::Scan(args) => cmd::scan::run(cli, args).await,
        Command::Fingerprints(c) => cmd::scan::fingerprints(cli, c).await,
        Command::Canary(c) => cmd::canary::run(cli, c).await,
        Command::Witness(c) => cmd::witness::run(cli, c).await,
        Command::Backup(c) => cmd::backup::run(cli, c).await,
        Command::Watch(args) => cmd::watch::run(cli, args).await,
        Command::Bench(c) => {
            let opts = lanyard_bench::Cli { json: cli.json, database_url: cli.database_url.clone() };
            lanyard_bench::run(&opts, c).await
        }
    }
}
