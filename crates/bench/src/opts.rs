//! The benchmarks' command line (`lanyard bench …`), and what they take from
//! the global flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// The global flags a benchmark reads.
#[derive(Clone, Debug, Default)]
pub struct Cli {
    /// Machine-readable output.
    pub json: bool,
    /// A PostgreSQL URL, for the benchmarks that use one.
    pub database_url: Option<String>,
}

/// `lanyard bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Import N synthetic people (no photos) on SQLite, encrypted and as a
    /// plaintext baseline, and report people/s and peak RSS of each.
    Import {
        /// Synthetic people to import.
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        /// Keep the work directory here instead of a temporary one.
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// The audit log: appends/s with group commit beside raw SHA-256,
    /// append latency, verify at 1M events, inclusion proofs and breach
    /// scoping at 10M.
    Audit(AuditBenchArgs),
    /// Cards: offline verifications/s beside raw Ed25519, artwork rendered
    /// per second (PNG, PDF), status list size and build time.
    Cards(CardsBenchArgs),
    /// The console's person page beside the JSON read of the same person,
    /// through one `lanyard serve` on SQLite: pages/s and latency
    /// percentiles, three alternating rounds each.
    Console {
        /// How long each round runs.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
    },
    /// Two servers on one PostgreSQL store (--database-url, empty) under
    /// concurrent writes and reads; then every event must be in the log
    /// and `audit verify` must pass.
    #[command(name = "shared-store")]
    SharedStore {
        /// How long the load runs.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Concurrent clients per server.
        #[arg(long, default_value_t = 8)]
        clients: usize,
    },
    /// The disclosure guard: MB/s and peak RSS on a large CSV and xlsx
    /// beside read and parse baselines; with --presidio, recall and speed
    /// beside Microsoft Presidio on one seeded corpus.
    Scan {
        /// Size of the large CSV (a fifth of it is measured too).
        #[arg(long, default_value_t = 500)]
        csv_mb: u64,
        /// Sheet XML of the large workbook (0 skips it).
        #[arg(long, default_value_t = 200)]
        xlsx_mb: u64,
        /// Compare with Presidio (pip install presidio-analyzer).
        #[arg(long)]
        presidio: bool,
        /// Where the generated files go (default: a temporary folder).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
    },
    /// Internal: one measured scan phase, run in a child process.
    #[command(hide = true)]
    ScanPhase {
        /// `read`, `parse`, `scan` or `scan-fp`.
        mode: String,
        /// The file to measure.
        file: PathBuf,
    },
    /// Print batches: cards batched per second (render, pack, seal) and
    /// bytes per card.
    Batch {
        /// Cards in the batch.
        #[arg(long, default_value_t = 1000)]
        cards: usize,
    },
    /// The data-loss watch: a first pass over a large register and its
    /// log, then a pass after more events, beside reading the log alone
    /// and the people alone.
    Watch(WatchBenchArgs),
    /// Internal: one measured audit phase, run in a child process.
    #[command(hide = true)]
    AuditPhase {
        /// Which phase.
        phase: String,
        /// The register the parent built.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Internal: one measured phase, run in a child process.
    #[command(hide = true)]
    ImportPhase {
        /// The register CSV to import.
        #[arg(long)]
        csv: PathBuf,
        /// Where the phase's store goes.
        #[arg(long)]
        db_dir: PathBuf,
        /// The plaintext baseline instead of the encrypted import.
        #[arg(long)]
        plaintext: bool,
    },
}

/// `lanyard bench cards`.
#[derive(Debug, Args)]
pub struct CardsBenchArgs {
    /// Verifications per round.
    #[arg(long, default_value_t = 20_000)]
    pub verifies: usize,
    /// Cards rendered per round.
    #[arg(long, default_value_t = 20)]
    pub renders: usize,
    /// Cards in the status list.
    #[arg(long, default_value_t = 1_000_000)]
    pub status_list_cards: u64,
}

/// `lanyard bench audit`.
#[derive(Debug, Args)]
pub struct AuditBenchArgs {
    /// Events appended by the group-commit runs (and hashed for the ceiling).
    #[arg(long, default_value_t = 200_000)]
    pub append_events: usize,
    /// Concurrent callers in the group-commit runs.
    #[arg(long, default_value_t = 512)]
    pub callers: usize,
    /// Also measure group commit on this PostgreSQL database (in a scratch
    /// schema, dropped afterwards).
    #[arg(long)]
    pub postgres: Option<String>,
    /// People in the register whose log is grown; 0 events skips that part.
    #[arg(long, default_value_t = 10_000)]
    pub people: usize,
    /// Log size at which `audit verify` is measured.
    #[arg(long, default_value_t = 1_000_000)]
    pub verify_events: u64,
    /// Log size at which proofs and breach scoping are measured.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: u64,
    /// Keep the work directory here instead of a temporary one.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

/// `lanyard bench watch`.
#[derive(Debug, Args)]
pub struct WatchBenchArgs {
    /// People in the register.
    #[arg(long, default_value_t = 1_000_000)]
    pub people: usize,
    /// Events in the log at the first pass.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: u64,
    /// Events appended before the next pass.
    #[arg(long, default_value_t = 10_000)]
    pub new_events: u64,
    /// Keep the work directory here instead of a temporary one.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}
