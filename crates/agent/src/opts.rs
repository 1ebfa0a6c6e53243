//! The agent's command line, shared by `lanyard-agent` and `lanyard
//! supplier`, so the flags and their help are written once.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Where the supplier agent finds the server and its token.
#[derive(Debug, Args, Clone)]
pub struct AgentServer {
    /// The lanyard server, https://HOST[:PORT] (http only on loopback).
    #[arg(long, env = "LANYARD_SERVER")]
    pub server: String,
    /// A file holding the supplier's service token.
    #[arg(long, env = "LANYARD_TOKEN_FILE")]
    pub token_file: PathBuf,
    /// A PEM certificate to trust for the server (a private CA).
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
}

/// Where the supplier agent's identity is and where print files go.
#[derive(Debug, Args, Clone)]
pub struct SpoolArgs {
    /// The supplier's age identity file.
    #[arg(long)]
    pub identity: PathBuf,
    /// Where print files go: SPOOL/BATCH/.
    #[arg(long)]
    pub spool: PathBuf,
    /// The agent's state folder: the pinned force key (`trust`) and the
    /// batches already opened.
    #[arg(long, env = "LANYARD_AGENT_STATE")]
    pub state: PathBuf,
    /// Pipe each print file to this shell command instead of writing it
    /// (LANYARD_BATCH, LANYARD_CARD, LANYARD_FILE are set).
    #[arg(long)]
    pub print_command: Option<String>,
}

/// The supplier's commands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// (Supplier side) make an age identity; prints the recipient to send to
    /// the force. The identity never leaves this machine.
    Keygen {
        /// Where to write the identity (created 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// (Supplier side) pin the force's batch-signing key, as the force gave
    /// it at enrolment; batches signed by anything else are refused.
    Trust {
        /// The supplier's name, as the force registered it.
        #[arg(long)]
        supplier: String,
        /// The force's key: `name+hash+base64`, from `lanyard batch signing-key`.
        #[arg(long)]
        key: String,
        /// The agent's state folder (the same one `pull` and `open` use).
        #[arg(long, env = "LANYARD_AGENT_STATE")]
        state: PathBuf,
    },
    /// (Supplier side) download, decrypt and spool every pending batch.
    Pull {
        /// The server and the token.
        #[command(flatten)]
        server: AgentServer,
        /// The identity and the spool.
        #[command(flatten)]
        spool: SpoolArgs,
    },
    /// (Supplier side) decrypt and spool a batch file that came out of band.
    Open {
        /// The sealed batch file (.age).
        file: PathBuf,
        /// The identity and the spool.
        #[command(flatten)]
        spool: SpoolArgs,
    },
    /// (Supplier side) send the receipt for a batch, then wipe its spool.
    Confirm {
        /// The batch id (B…), as the pull printed it.
        batch: String,
        /// Card ids printed, comma-separated, or `all` (all but --spoiled).
        #[arg(long, default_value = "")]
        printed: String,
        /// Card ids spoiled, comma-separated; they return to the queue.
        #[arg(long, default_value = "")]
        spoiled: String,
        /// The server and the token.
        #[command(flatten)]
        server: AgentServer,
        /// The spool the batch was pulled into.
        #[arg(long)]
        spool: PathBuf,
    },
}
