//! Every flag and subcommand of `lanyard`, defined once (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// lanyard: the encrypted, audited personnel register behind police ID cards
/// and permits.
#[derive(Debug, Parser)]
#[command(name = "lanyard", version, about, long_about = None)]
pub struct Cli {
    /// Data directory: lanyard.toml, the keyring, the SQLite database.
    #[arg(long, global = true, env = "LANYARD_DATA_DIR", default_value = "./lanyard-data")]
    pub data_dir: PathBuf,

    /// Database URL (postgres://…); absent means SQLite in the data directory.
    #[arg(long, global = true, env = "LANYARD_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Break-glass: run an operator command directly on the store, on the
    /// register host, with the root passphrase, instead of through the
    /// server as a signed-in user. Recorded as local:USER and flagged on
    /// every audit event; never approves a card. For emergencies only.
    #[arg(long, global = true)]
    pub local: bool,

    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in to a register server (password and authenticator code);
    /// operator commands then run there as you.
    Login(LoginArgs),
    /// End the session and forget it on this machine.
    Logout,
    /// Who the server says you are (the session or LANYARD_TOKEN).
    Whoami,
    /// Create a new register: configuration, root key, schema, data keys.
    Init(InitArgs),
    /// Add, read, change, erase, import and export people.
    #[command(subcommand)]
    Person(PersonCommand),
    /// Key provider, key versions and rotation.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The tamper-evident audit log: checkpoints, events, proofs.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Scope a breach from the audit log: who was exposed, what, when.
    #[command(subcommand)]
    Breach(BreachCommand),
    /// Run the HTTP API server.
    Serve(ServeArgs),
    /// Server users: add, list, disable, reset.
    #[command(subcommand)]
    User(UserCommand),
    /// Service tokens for print suppliers and verifier devices.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Cards: request, approve (dual control), print, issue, suspend,
    /// revoke, reissue; their signed QR credentials.
    #[command(subcommand)]
    Card(CardCommand),
    /// Zones and the vetting levels they accept.
    #[command(subcommand)]
    Zone(ZoneCommand),
    /// Permits: a person, a zone, a time window (granted only if their
    /// vetting meets the zone; the level is never shown).
    #[command(subcommand)]
    Permit(PermitCommand),
    /// Door decisions: may this card open this zone?
    #[command(subcommand)]
    Access(AccessCommand),
    /// The signed status list of every card (IETF Token Status List, CWT).
    #[command(subcommand, name = "status-list")]
    StatusList(StatusListCommand),
    /// Check a card's QR credential offline against a trust bundle.
    Verify(VerifyArgs),
    /// Print suppliers (the force's side) and the supplier agent (the
    /// supplier's side: keygen, pull, open, confirm).
    #[command(subcommand)]
    Supplier(SupplierCommand),
    /// Print batches: approved cards, sealed with age for one supplier.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// Exposure drills: what a compromise would yield right now.
    #[command(subcommand)]
    Drill(DrillCommand),
    /// Build a synthetic force of people in a fresh data directory and show it.
    Demo(DemoArgs),
    /// The disclosure guard: check files before release (FOI replies) for
    /// personal data and hidden content. Exits 0 clear, 1 do not release,
    /// 2 cannot inspect.
    Scan(ScanArgs),
    /// Canary records: made-up people planted per recipient, so a leaked
    /// file names its source.
    #[command(subcommand)]
    Canary(CanaryCommand),
    /// A witness for another log's checkpoints (C2SP tlog-witness): a
    /// separate process with its own key and state, in --data-dir. Run it
    /// somewhere the register's operators cannot reach: another force,
    /// internal audit, the data-protection officer.
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// Encrypted, signed, verified backups of the whole store.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// The data-loss watch: reconcile the store with the log, watch every
    /// table's and compartment's volume, ask the witnesses, check the age
    /// of the last verified backup. Alerts go to the log (ids only), to
    /// stdout and to the `[watch] webhook`.
    Watch(WatchArgs),
    /// Keyed fingerprints of register identifiers, for exact data match.
    #[command(subcommand)]
    Fingerprints(FingerprintsCommand),
    /// Measure lanyard's own performance.
    #[command(subcommand)]
    Bench(lanyard_bench::BenchCommand),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProviderKind {
    /// A passphrase-sealed root key file in the data directory.
    Keyring,
    /// A non-extractable root key in a PKCS#11 token (HSM).
    Pkcs11,
}

/// `lanyard scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and folders (folders recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Exact data match against these register fingerprints
    /// (`lanyard fingerprints export`). Without it, the force's file named
    /// by `[guard] fingerprints` in lanyard.toml is used when there is one.
    #[arg(long, value_name = "FILE", conflicts_with = "register")]
    pub fingerprints: Option<PathBuf>,
    /// Exact data match against the register itself, on the register host
    /// (an audited read of identity; needs the passphrase).
    #[arg(long)]
    pub register: bool,
    /// With the register: include protected persons (needs the clearance).
    #[arg(long, value_enum)]
    pub clearance: Option<Clearance>,
    /// Scan policy (TOML): fail_at, allow, [detectors.NAME], [hidden].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Say, for each finding, how to fix the file.
    #[arg(long)]
    pub explain: bool,
    /// Seconds allowed per file before it is called uninspectable.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// MiB a scan may hold in memory (a file it must read whole, text it
    /// collects); a file needing more is "cannot inspect".
    #[arg(long, default_value_t = 96, value_name = "MIB", value_parser = clap::value_parser!(u64).range(8..=4096))]
    pub memory: u64,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The register server (https://…; plain http on loopback only).
    /// Defaults to LANYARD_SERVER.
    #[arg(long)]
    pub server: Option<String>,
    /// Your user name on that server.
    #[arg(long)]
    pub user: String,
}

#[derive(Debug, Subcommand)]
pub enum FingerprintsCommand {
    /// Write keyed fingerprints of every active person's service number,
    /// names and email (audited), for `lanyard scan --fingerprints`.
    Export {
        /// The fingerprints file to write (readable by its owner only).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Include protected persons.
        #[arg(long, value_enum)]
        clearance: Option<Clearance>,
        /// A purpose code, optionally 'CODE: a note' (the note is sealed).
        #[arg(long, value_name = "CODE[: NOTE]")]
        purpose: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where the root key lives.
    #[arg(long, value_enum, env = "LANYARD_KEY_PROVIDER", default_value = "keyring")]
    pub key_provider: ProviderKind,
    #[command(flatten)]
    pub pkcs11: Pkcs11Args,
}

#[derive(Debug, Args, Default, Clone)]
pub struct Pkcs11Args {
    /// PKCS#11 module path.
    #[arg(long, env = "LANYARD_PKCS11_MODULE")]
    pub pkcs11_module: Option<PathBuf>,
    /// Token label.
    #[arg(long, env = "LANYARD_PKCS11_TOKEN")]
    pub pkcs11_token: Option<String>,
    /// Slot id (instead of the token label).
    #[arg(long, env = "LANYARD_PKCS11_SLOT")]
    pub pkcs11_slot: Option<u64>,
    /// Label of the root key object.
    #[arg(long, env = "LANYARD_PKCS11_KEY_LABEL")]
    pub pkcs11_key_label: Option<String>,
}

/// What to reveal and why; required for every read of personal data.
#[derive(Debug, Args, Clone)]
pub struct RevealArgs {
    /// Compartments to reveal: identity, photo, vetting, pay (comma-separated).
    #[arg(long, value_name = "LIST")]
    pub compartments: Option<String>,
    /// Why you are reading this: a code (card_renewal, lost_card,
    /// new_starter, card_print, vetting_review, payroll, hr_casework,
    /// subject_access_request, foi_request, breach_investigation, …),
    /// optionally 'CODE: a note'. The log keeps the code in clear and seals
    /// the note (any other text is kept as code `other`, sealed).
    #[arg(long, value_name = "CODE[: NOTE]")]
    pub purpose: Option<String>,
    /// Use the `protected` clearance to see protected persons' identity.
    #[arg(long, value_enum)]
    pub clearance: Option<Clearance>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Clearance {
    /// May see protected persons.
    Protected,
}

/// Field values, for `person add` and `person update`.
#[derive(Debug, Args, Clone, Default)]
pub struct FieldArgs {
    /// The force's service or warrant number, e.g. PC1234.
    #[arg(long)]
    pub service_number: Option<String>,
    /// Forenames as they should appear on the card.
    #[arg(long)]
    pub forenames: Option<String>,
    /// Surname as it should appear on the card.
    #[arg(long)]
    pub surname: Option<String>,
    /// A rank from the force's rank table, e.g. "Police Constable".
    #[arg(long)]
    pub rank: Option<String>,
    /// Unit, station or department.
    #[arg(long)]
    pub unit: Option<String>,
    /// Work email address.
    #[arg(long)]
    pub email: Option<String>,
    /// RV, MV, NPPV1, NPPV2A, NPPV2F, NPPV3, CTC, SC, eSC or DV.
    #[arg(long)]
    pub vetting_level: Option<String>,
    /// YYYY-MM-DD.
    #[arg(long)]
    pub vetting_expiry: Option<String>,
    /// Annual salary in pounds, e.g. 34500 or 34,500.00.
    #[arg(long)]
    pub salary: Option<String>,
    /// Pay grade or scale point, e.g. "PC pt 4".
    #[arg(long)]
    pub pay_grade: Option<String>,
    /// A JPEG or PNG; it is re-encoded and stripped of metadata.
    #[arg(long, value_name = "FILE")]
    pub photo: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Add one person.
    Add {
        #[command(flatten)]
        fields: FieldArgs,
        /// Shield this person's identity and photo from readers without the protected clearance.
        #[arg(long)]
        protected: bool,
    },
    /// Reveal compartments of one person.
    Show {
        /// Person id.
        id: String,
        #[command(flatten)]
        reveal: RevealArgs,
        /// Write the photo (if revealed) to this file.
        #[arg(long, value_name = "FILE")]
        photo_out: Option<PathBuf>,
    },
    /// List people: ids, status and counts only, unless compartments are named.
    List {
        #[command(flatten)]
        reveal: RevealArgs,
        /// At most this many people (1 to 10000; page on with --after).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
        /// Start after this person id.
        #[arg(long)]
        after: Option<String>,
    },
    /// Find people by exact service number, surname or email. Without
    /// --compartments: a short list (id, service number, name, rank) from
    /// the identity compartment alone; then `person show` the one you want.
    Find {
        /// The exact service number (spaces and case do not matter).
        #[arg(long, group = "by")]
        service_number: Option<String>,
        /// The exact surname (case does not matter).
        #[arg(long, group = "by")]
        surname: Option<String>,
        /// The exact email address.
        #[arg(long, group = "by")]
        email: Option<String>,
        /// Only those whose forenames contain this (case does not matter).
        #[arg(long)]
        forenames: Option<String>,
        /// Only those of this rank (case does not matter).
        #[arg(long)]
        rank: Option<String>,
        #[command(flatten)]
        reveal: RevealArgs,
    },
    /// Change fields of one person.
    Update {
        /// Person id.
        id: String,
        #[command(flatten)]
        fields: FieldArgs,
        /// Set or clear the protected flag.
        #[arg(long)]
        protected: Option<bool>,
    },
    /// Crypto-shred one person. Irreversible.
    Erase {
        /// Person id.
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Import people from a register CSV (docs/DESIGN.md §8 header, any column order).
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Folder that the `photo` column's file names are in.
        #[arg(long, value_name = "DIR")]
        photos: Option<PathBuf>,
        /// Import nothing if any row is invalid.
        #[arg(long)]
        strict: bool,
        /// Skip unknown columns instead of refusing the file.
        #[arg(long)]
        ignore_unknown: bool,
    },
    /// Export compartments of every active person as CSV (audited).
    Export {
        #[command(flatten)]
        reveal: RevealArgs,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// With the photo compartment: write photos here as <id>.jpg.
        #[arg(long, value_name = "DIR")]
        photos_out: Option<PathBuf>,
        /// Who the export is for: their canary (`lanyard canary plant`) goes
        /// in with everyone else, so a leak of it names them.
        #[arg(long, value_name = "NAME")]
        recipient: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CanaryCommand {
    /// Plant a canary for a recipient: a made-up person who goes into every
    /// export to them, so the disclosure guard can name them as the source
    /// of a leaked file.
    Plant {
        /// Who it is for (lower-case name: a supplier, a partner system).
        #[arg(long, value_name = "NAME")]
        recipient: String,
        /// The force's service-number shape: '#' a digit, '@' a capital
        /// letter, anything else as written.
        #[arg(long, value_name = "PATTERN", default_value = "P######")]
        service_number_pattern: String,
        /// The force's mail domain; without it the canary has no email.
        #[arg(long, value_name = "DOMAIN")]
        email_domain: Option<String>,
    },
    /// List canaries: recipient, id, who planted it and when (no values).
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show the key provider, compartments, key versions and counts.
    Status,
    /// Write the trust bundle verifiers need: issuer id, public keys by kid
    /// (JWK), status list URI.
    ExportVerifier {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add a key version to a compartment and re-wrap its person keys; or,
    /// with `issuer`, add a new card signing key.
    Rotate {
        /// identity, photo, vetting, pay, or issuer.
        compartment: String,
        /// Rows re-wrapped per transaction.
        #[arg(long, default_value_t = 1000)]
        batch: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the signed checkpoint of the log (signing a new one if it grew).
    Checkpoint {
        /// A checkpoint of this many events instead of the whole log.
        #[arg(long, conflicts_with = "every")]
        size: Option<u64>,
        /// Keep running, and every SECONDS sign a checkpoint if the log grew
        /// (until interrupted). `lanyard serve` does this itself.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        every: Option<u64>,
    },
    /// Print the verifier key string that checks this log's checkpoints.
    VerifierKey,
    /// Write the events of a time window with their proofs and checkpoint,
    /// for an outside reviewer (audited).
    Export {
        /// From this time (RFC 3339, or YYYY-MM-DD for midnight UTC).
        #[arg(long)]
        from: Option<String>,
        /// Up to (not including) this time.
        #[arg(long)]
        to: Option<String>,
        /// The JSON file to write. It appears only once whole; an event
        /// missing or altered in the log stops the export (exit 2) and
        /// leaves no file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Check the whole log and reconcile the store against it; exits 1 on
    /// any finding (a row changed, deleted or inserted outside lanyard, an
    /// altered event, a bad checkpoint).
    Verify,
    /// Print one stored event and its leaf hash.
    Event {
        /// Event index, from 0.
        index: u64,
    },
    /// Open the sealed note of one event (the free text of its purpose);
    /// the opening is audited. For the auditor: a note may name people.
    Note {
        /// Event index, from 0.
        index: u64,
    },
    /// Prove what the log holds.
    #[command(subcommand)]
    Prove(ProveCommand),
    /// Check a proof with nothing but it, its checkpoints and the verifier
    /// key (no data directory needed). Exits 0 valid, 1 invalid, 2 unreadable.
    VerifyProof {
        /// The verifier key string, or a file holding it.
        #[arg(long)]
        verifier_key: String,
        /// The JSON of `lanyard audit prove inclusion|consistency`.
        #[arg(long, value_name = "FILE")]
        proof: PathBuf,
        /// For an inclusion proof: the JSON of `lanyard audit event N --json`,
        /// to check that the event is the proven leaf.
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
        /// For a consistency proof: the old checkpoint you kept.
        #[arg(long, value_name = "FILE")]
        old_checkpoint: Option<PathBuf>,
        /// A witness whose cosignature you require on the proof's
        /// checkpoint (its key, `name+id+base64`); repeat for several.
        #[arg(long = "witness", value_name = "KEY")]
        witnesses: Vec<String>,
        /// How many of those witnesses must have cosigned (default: all).
        #[arg(long, requires = "witnesses")]
        quorum: Option<usize>,
    },
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// One pass, then exit: 0 when all is well, 1 when anything is wrong.
    #[arg(long)]
    pub once: bool,
    /// Seconds between passes when not --once.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub every: u64,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a consistent snapshot (the server may keep running), sealed
    /// with age to each recipient and signed by the log's key. Give an
    /// offline recovery key and an operations key.
    Create {
        /// The file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// An age recipient (`age1…`); repeat for several.
        #[arg(long = "recipient", value_name = "AGE1", required = true)]
        recipients: Vec<String>,
    },
    /// Decrypt, load into a scratch store, and check every hash, the
    /// signature, the audit tree and `audit verify` there. Exits 0 when it
    /// holds, 1 when it does not (saying what failed), 2 when it cannot be
    /// read.
    Verify {
        /// The backup.
        file: PathBuf,
        /// An age identity file that opens it.
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
    },
    /// Verify, then restore into a new database and switch to it only when
    /// complete (SQLite: the data directory's database, the old one kept
    /// beside it; PostgreSQL: an empty database given by --into-database-url).
    Restore {
        /// The backup.
        file: PathBuf,
        /// An age identity file that opens it.
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// PostgreSQL: the empty database to restore into.
        #[arg(long, value_name = "URL")]
        into_database_url: Option<String>,
        /// Restore even though the witnesses have seen a longer log, whose
        /// events after N (the size of the backup's log) are then lost; the
        /// restore is recorded with the events lost.
        #[arg(long, value_name = "N")]
        accept_loss_after: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Make a new witness in --data-dir: a fresh key; prints its public key
    /// for the log's `[witness]` settings.
    Init {
        /// The witness's name, as a schema-less URL (`audit.force.example/w1`).
        #[arg(long)]
        name: String,
    },
    /// Print the witness's public key (`name+id+base64`).
    Key,
    /// Trust a log: its checkpoint verifier key (`lanyard audit
    /// verifier-key` where the log runs). Restart `serve` after adding.
    AddLog {
        /// The log's verifier key string.
        #[arg(long)]
        key: String,
        /// The log's origin; checked against the key's name if given.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Forget what this witness last cosigned for a log, so that its next
    /// checkpoint starts afresh: only for a log restored with an accepted
    /// loss, once you have seen its `backup.restore` event. The old state
    /// is kept beside, renamed.
    ResetLog {
        /// The log's origin.
        #[arg(long)]
        origin: String,
    },
    /// Serve `POST /add-checkpoint`.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8091")]
        listen: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BreachCommand {
    /// Which people's data was revealed, from the log alone.
    Scope {
        /// An actor id (operator:NAME, os:USER, token:…) or bare name.
        #[arg(long)]
        actor: Option<String>,
        /// From this time (RFC 3339, or YYYY-MM-DD for midnight UTC).
        #[arg(long)]
        from: Option<String>,
        /// Up to (not including) this time.
        #[arg(long)]
        to: Option<String>,
        /// Only revelations of this compartment.
        #[arg(long)]
        compartment: Option<String>,
        /// Also write a draft UK GDPR Art. 33 breach report (HTML) here.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
        /// Also write one draft Art. 34 notice per person revealed into this
        /// directory. Addressing them reads each person's name, which is
        /// itself an audited read.
        #[arg(long, value_name = "DIR")]
        letters: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProveCommand {
    /// That event N is in the log (RFC 9162 inclusion proof).
    Inclusion {
        /// Event index.
        #[arg(long)]
        index: u64,
        /// Tree size to prove against (default: the whole log).
        #[arg(long)]
        size: Option<u64>,
    },
    /// That the log only grew since an old checkpoint (RFC 9162 consistency proof).
    Consistency {
        /// A file holding an earlier signed checkpoint of this log.
        #[arg(long, value_name = "OLD_CHECKPOINT_FILE")]
        from: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many synthetic people.
    #[arg(long, default_value_t = 2000)]
    pub people: usize,
    /// Build the demo and stop, without starting the server.
    #[arg(long)]
    pub no_serve: bool,
    /// Where the demo server listens.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "LANYARD_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, env = "LANYARD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "LANYARD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind a TLS proxy).
    #[arg(long)]
    pub insecure_http: bool,
    /// Mark session cookies Secure and send HSTS: set when a TLS proxy sits
    /// in front.
    #[arg(long)]
    pub behind_tls_proxy: bool,
    /// Seconds between periodic audit checkpoints (while the log grows),
    /// each sent to the witnesses.
    #[arg(long, env = "LANYARD_CHECKPOINT_EVERY", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub checkpoint_every: u64,
    /// Personal-data reads allowed per user or token per minute (sustained).
    #[arg(long, env = "LANYARD_READS_PER_MINUTE", default_value_t = 120,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub reads_per_minute: u32,
    /// Reads allowed in a burst.
    #[arg(long, env = "LANYARD_READ_BURST", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub read_burst: u32,
    /// Connections open at once; past it a new one is answered 503 and
    /// closed.
    #[arg(long, env = "LANYARD_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers (or finish its TLS
    /// handshake); an idle keep-alive connection is closed after as long.
    #[arg(long, env = "LANYARD_HEADER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_timeout: u64,
    /// Seconds a whole request may take, reading its body included (503).
    #[arg(long, env = "LANYARD_REQUEST_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub request_timeout: u64,
    /// Seconds between checks that the key provider (the HSM token) still
    /// answers: at most this long after it goes, no personal data is read
    /// or written with the keys it released (503 key_provider_unavailable).
    #[arg(long, env = "LANYARD_KEY_CHECK_EVERY", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub key_check_every: u64,
    /// Scans (`POST /v1/scan`, the console's) run at once at most. Each
    /// holds at most --scan-memory (uploads are spooled to unnamed
    /// temporary files, not held), so scans together stay within about
    /// slots × that.
    #[arg(long, env = "LANYARD_SCAN_SLOTS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub scan_slots: u32,
    /// Seconds a scan waits for a slot before it is answered 503 with
    /// Retry-After.
    #[arg(long, env = "LANYARD_SCAN_WAIT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(0..=600))]
    pub scan_wait: u64,
    /// MiB one scan may hold in memory (a file it must read whole, text
    /// it collects); a file needing more is "cannot inspect". A scan's
    /// peak is a small multiple of this whatever it is sent.
    #[arg(long, env = "LANYARD_SCAN_MEMORY", default_value_t = 96, value_name = "MIB",
          value_parser = clap::value_parser!(u64).range(8..=4096))]
    pub scan_memory: u64,
    /// Print the OpenAPI document and exit.
    #[arg(long)]
    pub openapi: bool,
    /// Start even if the start-up check (the log's tail against its last
    /// checkpoint, every row's integrity tag) finds something: recorded in
    /// the log, shouted in the server's log, `/readyz` answers 503
    /// "degraded", and no checkpoint is signed.
    #[arg(long)]
    pub allow_degraded: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; prints their TOTP secret and otpauth URI once.
    Add {
        /// The user's sign-in name.
        name: String,
        /// id_officer, approver, vetting_officer, hr_payroll, auditor or admin.
        #[arg(long)]
        role: String,
        /// Read the password from standard input (for scripts).
        #[arg(long)]
        password_stdin: bool,
        /// May see protected persons' identities.
        #[arg(long)]
        protected: bool,
    },
    /// List users (no secrets).
    List,
    /// Disable a user and end their sessions.
    Disable {
        /// The user's sign-in name.
        name: String,
    },
    /// New password and TOTP secret; clears lockout, ends sessions, enables.
    Reset {
        /// The user's sign-in name.
        name: String,
        /// Read the new password from standard input (for scripts).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints its secret once.
    Create {
        /// print_supplier or verifier.
        #[arg(long)]
        role: String,
        /// The supplier (for print_supplier).
        #[arg(long, conflicts_with = "device")]
        supplier: Option<String>,
        /// The device (for verifier).
        #[arg(long)]
        device: Option<String>,
        /// Lifetime: 90m, 12h, 30d.
        #[arg(long, default_value = "30d")]
        expires: String,
    },
    /// List tokens (no secrets).
    List,
    /// Revoke a token at once.
    Revoke {
        /// The token id (from `lanyard token list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Ask for a card; another person must approve it.
    Request {
        /// The holder: a person id or a service number.
        #[arg(long)]
        person: String,
        /// warrant_card, staff_pass, contractor_pass or visitor_pass.
        #[arg(long = "type")]
        card_type: String,
    },
    /// Approve a request (never your own).
    Approve {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
    },
    /// Refuse a request.
    Reject {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
        /// Why, as a card reason: not_justified, details_changed, other, ….
        #[arg(long, default_value = "not_justified")]
        reason: String,
    },
    /// Record that an approved card was printed (in-house printing; a
    /// supplier's confirmation does this for batches).
    Print {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
    },
    /// Hand a printed card to its holder.
    Issue {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
    },
    /// Suspend an issued card (it shows as suspended at every door).
    Suspend {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
        /// Why, as a card reason: investigation, lost, stolen, other, ….
        #[arg(long, default_value = "investigation")]
        reason: String,
    },
    /// Lift a suspension.
    Resume {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
    },
    /// Revoke a card for good: lost, stolen, damaged, details_changed, left,
    /// investigation, replaced, spoiled, other.
    Revoke {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
        /// Why (one of the reasons above).
        #[arg(long)]
        reason: String,
    },
    /// Revoke a card and request its replacement under a new card id.
    Reissue {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
        /// Why the old card is revoked: lost, stolen, damaged, details_changed or other.
        #[arg(long)]
        reason: String,
    },
    /// Record that a revoked, expired or rejected card was destroyed.
    Destroy {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
    },
    /// One card's state and dates (no personal data).
    Show {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
    },
    /// Cards, optionally of one person or in one state.
    List {
        /// Only this person's cards (a person id).
        #[arg(long)]
        person: Option<String>,
        /// Only cards in this state: requested, approved, printed, issued,
        /// suspended, revoked, expired, rejected or destroyed.
        #[arg(long)]
        state: Option<String>,
    },
    /// Render the card's artwork: CR80, PNG at 300 dpi or vector PDF by the
    /// file's extension (reads identity and photo: audited, with a purpose).
    Render {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
        /// FILE.png or FILE.pdf. With `--side both`, a PDF gets a page per
        /// side and a PNG becomes FILE-front.png and FILE-back.png.
        #[arg(long)]
        out: PathBuf,
        /// Which side to render.
        #[arg(long, value_enum, default_value = "both")]
        side: SideArg,
        /// A purpose code (card_print), optionally 'CODE: a note'.
        #[arg(long, value_name = "CODE[: NOTE]")]
        purpose: String,
    },
    /// Sign the card's credential and print its QR text (reads the holder's
    /// identity: audited, with a purpose).
    Qr {
        /// The card id, e.g. LY-7K2M-9QXD.
        card: String,
        /// A purpose code (card_print), optionally 'CODE: a note'.
        #[arg(long, value_name = "CODE[: NOTE]")]
        purpose: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SideArg {
    Front,
    Back,
    Both,
}

#[derive(Debug, Subcommand)]
pub enum StatusListCommand {
    /// Sign the current status list and write it (CWT bytes).
    Export {
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The trust bundle (from `lanyard keys export-verifier`).
    #[arg(long)]
    pub bundle: PathBuf,
    /// A status list (from `lanyard status-list export` or the server).
    /// Without it, the list is fetched from the bundle's address; a card
    /// whose status no list answers for is `status_unknown`, never valid.
    #[arg(long)]
    pub status_list: Option<PathBuf>,
    /// Answer for a card whose status could not be checked (no list, or
    /// none reachable) as if valid, saying so on the result.
    #[arg(long)]
    pub accept_unchecked_status: bool,
    /// The QR text (`LY1:…`).
    #[arg(long, conflicts_with = "image", required_unless_present = "image")]
    pub qr: Option<String>,
    /// A photo or render of the card (PNG or JPEG) to read the QR code from.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Verify as of this time (RFC 3339) instead of now.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ZoneCommand {
    /// Define a zone.
    Add {
        /// 1 to 16 of A-Z, 0-9 and -.
        code: String,
        /// What the zone is, in words ("Custody suite").
        #[arg(long)]
        name: String,
        /// Minimum vetting levels accepted, one per ladder: SC,NPPV3.
        #[arg(long)]
        accepts: String,
    },
    /// Every zone.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PermitCommand {
    /// Grant a person a zone from --from to --to (RFC 3339 or YYYY-MM-DD).
    Grant {
        /// The person (a person id).
        #[arg(long)]
        person: String,
        /// The zone code.
        #[arg(long)]
        zone: String,
        /// From this time (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// Up to this time (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        to: String,
    },
    /// Permits, of one person or all.
    List {
        /// Only this person's permits (a person id).
        #[arg(long)]
        person: Option<String>,
    },
    /// Withdraw a permit.
    Revoke {
        /// The permit id (from `lanyard permit list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Allow or deny, with a reason code; audited. Exits 0 only on allow.
    Check {
        /// The card id presented.
        #[arg(long, conflicts_with = "qr", required_unless_present = "qr")]
        card: Option<String>,
        /// The QR text read from the card (`LY1:…`).
        #[arg(long)]
        qr: Option<String>,
        /// The zone code of the door.
        #[arg(long)]
        zone: String,
        /// The time to decide for (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SupplierCommand {
    /// Register a supplier by its public age recipient.
    Add {
        /// The supplier's short name, e.g. acme.
        name: String,
        /// age1…, from the supplier's `age-keygen` or `lanyard supplier keygen`.
        #[arg(long)]
        recipient: String,
    },
    /// Every supplier.
    List,
    /// Stop a supplier: no more batches or downloads; its pending batches are
    /// destroyed and their cards queued again.
    Disable {
        /// The supplier's short name.
        name: String,
    },
    /// Give a supplier a new recipient; batches sealed to the old one are
    /// destroyed and their cards queued again.
    #[command(name = "rotate-recipient")]
    RotateRecipient {
        /// The supplier's short name.
        name: String,
        /// The new age recipient (age1…).
        #[arg(long)]
        recipient: String,
    },
    /// The supplier's side (the same commands as the `lanyard-agent` binary).
    #[command(flatten)]
    Agent(lanyard_agent::AgentCommand),
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Batch approved cards for a supplier.
    Create {
        /// The supplier to batch for.
        #[arg(long)]
        supplier: String,
        /// At most this many cards (default: every approved card).
        #[arg(long)]
        max_cards: Option<usize>,
    },
    /// Batches, by supplier or state (pending, confirmed, expired, destroyed).
    List {
        /// Only this supplier's batches.
        #[arg(long)]
        supplier: Option<String>,
        /// Only batches in this state.
        #[arg(long)]
        state: Option<lanyard_supply::BatchState>,
    },
    /// One batch and its cards.
    Show {
        /// The batch id (from `lanyard batch list`).
        id: String,
    },
    /// Write a pending batch's sealed file for delivery out of band
    /// (audited as a download).
    Export {
        /// The batch id (from `lanyard batch list`).
        id: String,
        /// The sealed file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Expire every pending batch past its time now (the server does this
    /// on its own).
    Expire,
    /// The force's batch-signing key, for the supplier to pin at enrolment
    /// (`lanyard-agent trust --supplier NAME --key KEY`): its agent opens
    /// only batches this key signed. Made on first use.
    #[command(name = "signing-key")]
    SigningKey,
}

#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Everything a full compromise of this supplier would yield now:
    /// people, fields and counts per field.
    #[command(name = "supplier-compromise")]
    SupplierCompromise {
        /// The supplier's short name.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every flag and argument of every command says what it is for
    /// (issue 17: `--surname`, `--purpose` and others had empty help).
    #[test]
    fn every_flag_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let said = arg.get_help().is_some_and(|h| !h.to_string().trim().is_empty());
                if !said {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "flags without help:\n{}", missing.join("\n"));
    }
}
