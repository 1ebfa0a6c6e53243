//! The supplier agent (DESIGN §6): the print supplier's half of the
//! exchange. It keeps no database and links no register: its state is the
//! spool and a small folder of its own (the pinned force key and the
//! batches it opened), and it reads the batch format through
//! `lanyard-package`.
//!
//! - [`pull`] lists the supplier's pending batches, downloads each, checks
//!   its size and digest against the listing, decrypts it in memory with the
//!   supplier's age identity, checks every file against the manifest, and
//!   writes the print files to `SPOOL/BATCH/` (or pipes each to a print
//!   command). A batch is spooled whole or not at all: files go to a hidden
//!   `.BATCH.partial` folder that is renamed when complete. Spool folders of
//!   batches the server no longer lists (expired or withdrawn) are wiped.
//! - [`spool_file`] does the same for a batch file that came out of band.
//! - [`confirm`] sends the receipt and, once the server accepts it, wipes the
//!   batch's spool folder.
//! - [`keygen`] makes the supplier's age identity; only its recipient is
//!   ever sent to the force.
//! - [`State::trust`] pins the force's batch-signing key at enrolment. A
//!   batch is spooled only if its manifest is signed by a pinned key, names
//!   this supplier, has not expired and was not opened here before
//!   (`state.rs`); age alone says nothing about who sealed it.
//!
//! The same code runs as the small `lanyard-agent` binary a supplier
//! installs and behind `lanyard supplier pull|open|confirm|keygen`.

mod error;
pub mod opts;
mod state;

use std::io::Write;
use std::path::{Path, PathBuf};

use lanyard_package::{self as package, Limits, MANIFEST, Manifest};
use serde::{Deserialize, Serialize};

pub use error::AgentError;
pub use opts::{AgentCommand, AgentServer, SpoolArgs};
pub use state::State;

/// A batch as the server lists it.
#[derive(Debug, Deserialize)]
struct Listed {
    id: String,
    cards: i64,
    size: i64,
    sha256: String,
}

/// A problem+json answer.
#[derive(Debug, Deserialize)]
struct ProblemAnswer {
    #[serde(default)]
    detail: String,
    #[serde(default)]
    title: String,
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: zeroize::Zeroizing<String>,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> AgentError {
    let what = what.into();
    move |cause| AgentError::Io { what, cause }
}

fn refused(text: impl Into<String>) -> AgentError {
    AgentError::Refused(text.into())
}

/// A batch id is ours: letters and digits only, so it is safe in a URL and
/// as a spool folder name.
fn batch_id(id: &str) -> Result<&str, AgentError> {
    if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        let shown: String = id.chars().filter(char::is_ascii_alphanumeric).take(32).collect();
        return Err(refused(format!("'{shown}' is not a batch id")));
    }
    Ok(id)
}

impl Client {
    fn new(server: &AgentServer) -> Result<Self, AgentError> {
        let base = server.server.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base).map_err(|_| refused(format!("--server: '{base}' is not a URL")))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]" | "::1"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(refused(
                "--server must be https:// (plain http only on loopback): batches and the token cross the network",
            ));
        }
        let token = std::fs::read_to_string(&server.token_file)
            .map_err(io(format!("reading the token file {}", server.token_file.display())))?;
        let token = token.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or_default();
        if token.is_empty() {
            return Err(refused(format!("{} holds no token", server.token_file.display())));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(300))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(ca) = &server.ca_cert {
            let pem = std::fs::read(ca).map_err(io(format!("reading {}", ca.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|_| refused(format!("{} is not a PEM certificate", ca.display())))?;
            builder = builder.add_root_certificate(cert);
        }
        let http =
            builder.build().map_err(|e| AgentError::Unreachable { what: "starting the client".into(), cause: e })?;
        Ok(Client { http, base, token: zeroize::Zeroizing::new(token.to_owned()) })
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response, AgentError> {
        let resp = req
            .bearer_auth(self.token.as_str())
            .send()
            .await
            .map_err(|e| AgentError::Unreachable { what: what.to_owned(), cause: e })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let problem: Option<ProblemAnswer> = resp.json().await.ok();
        let why = problem.map(|p| if p.detail.is_empty() { p.title } else { p.detail }).unwrap_or_default();
        Err(AgentError::Server { what: what.to_owned(), status: status.to_string(), why })
    }

    async fn json<T: serde::de::DeserializeOwned>(resp: reqwest::Response, what: &str) -> Result<T, AgentError> {
        resp.json().await.map_err(|_| refused(format!("{what}: not the expected answer")))
    }

    async fn pending(&self) -> Result<Vec<Listed>, AgentError> {
        let what = "listing batches";
        let resp = self.send(self.http.get(format!("{}/v1/supplier/batches", self.base)), what).await?;
        Client::json(resp, what).await
    }

    /// Streams a batch's sealed file into `out`: `(size, sha256 hex)`.
    async fn download(&self, id: &str, out: &mut std::fs::File) -> Result<(u64, String), AgentError> {
        use sha2::Digest;
        let url = format!("{}/v1/supplier/batches/{id}", self.base);
        let what = format!("downloading batch {id}");
        let mut resp = self.send(self.http.get(url), &what).await?;
        let mut sha = sha2::Sha256::new();
        let mut size = 0u64;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    out.write_all(&chunk).map_err(io(format!("spooling batch {id}")))?;
                    sha.update(&chunk);
                    size += chunk.len() as u64;
                }
                Ok(None) => break,
                Err(cause) => return Err(AgentError::Unreachable { what, cause }),
            }
        }
        Ok((size, sha.finalize().iter().map(|b| format!("{b:02x}")).collect()))
    }
}

type Identities = Vec<Box<dyn age::Identity + Send + Sync>>;

fn identities(path: &Path) -> Result<Identities, AgentError> {
    let text = zeroize::Zeroizing::new(std::fs::read(path).map_err(io(format!("reading {}", path.display())))?);
    package::parse_identities(&text).map_err(|cause| AgentError::Package { what: path.display().to_string(), cause })
}

fn private_dir(dir: &Path) -> Result<(), AgentError> {
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io(format!("securing {}", dir.display())))?;
    }
    Ok(())
}

/// Creates `path` (0600 on Unix), never over an existing file, from
/// `content`.
fn write_private(path: &Path, content: &mut dyn std::io::Read) -> Result<(), AgentError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(io(format!("creating {}", path.display())))?;
    std::io::copy(content, &mut f).map_err(io(format!("writing {}", path.display())))?;
    f.sync_all().map_err(io(format!("writing {}", path.display())))
}

/// Pipes one file to the print command.
fn print_file(
    command: &str,
    batch: &str,
    card: &str,
    name: &str,
    content: &mut dyn std::io::Read,
) -> Result<(), AgentError> {
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("LANYARD_BATCH", batch)
        .env("LANYARD_CARD", card)
        .env("LANYARD_FILE", name)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(io("starting the print command"))?;
    // A command that stops reading early closes the pipe; its exit status
    // says more than the broken pipe does.
    let written = child.stdin.take().map(|mut stdin| std::io::copy(content, &mut stdin));
    let status = child.wait().map_err(io("waiting for the print command"))?;
    if !status.success() {
        return Err(refused(format!("the print command failed on {name} ({status})")));
    }
    if let Some(Err(e)) = written {
        return Err(io(format!("piping {name} to the print command"))(e));
    }
    Ok(())
}

/// What every delivery needs: the identity to decrypt with, and the state
/// that says whose signatures to accept and what was opened before.
struct Keys {
    ids: Identities,
    state: State,
    trust: state::Trust,
}

impl Keys {
    fn load(spool: &SpoolArgs) -> Result<Self, AgentError> {
        let state = State::open(&spool.state)?;
        let trust = state.trusted()?;
        Ok(Keys { ids: identities(&spool.identity)?, state, trust })
    }
}

/// Decrypts, checks and spools one sealed batch, read from `sealed`.
/// Returns its manifest. Nothing is written unless the manifest is signed
/// by a pinned force key, names this supplier, has not expired and was not
/// opened here before, and every file matches it. The batch is decrypted
/// to an unnamed temporary file in the spool (the spool holds the artwork
/// in the clear anyway) and read from there, so memory does not grow with
/// the batch.
fn deliver(
    sealed: &mut dyn std::io::Read,
    keys: &Keys,
    spool: &Path,
    print_command: Option<&str>,
    expected: Option<&str>,
) -> Result<Manifest, AgentError> {
    let limits = Limits::default();
    let what = expected.map_or_else(|| "the batch file".to_owned(), |id| format!("batch {id}"));
    let package_error = |cause| AgentError::Package { what: what.clone(), cause };
    let mut plain = tempfile::tempfile_in(spool).map_err(io(format!("making room in {}", spool.display())))?;
    package::open_to(sealed, &keys.ids, &limits, &mut plain).map_err(package_error)?;
    std::io::Seek::rewind(&mut plain).map_err(io(format!("reading back {what}")))?;
    let mut checked =
        package::check(std::io::BufReader::new(plain), &limits, &keys.trust.keys).map_err(package_error)?;
    let manifest = checked.manifest.clone();
    let id = batch_id(&manifest.batch)?.to_owned();

    if let Some(expected) = expected
        && expected != id
    {
        return Err(refused(format!(
            "{what}: the manifest names batch {id}; refusing a file that is not the batch asked for"
        )));
    }
    let dir = spool.join(&id);
    if dir.exists() {
        return Err(refused(format!("batch {id} is already in the spool ({})", dir.display())));
    }
    let now = time::OffsetDateTime::now_utc();
    state::admit(&keys.state, &keys.trust, &manifest, now)?;
    let partial = spool.join(format!(".{id}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(format!("clearing {}", partial.display())))?;
    }
    private_dir(&partial)?;
    let result = (|| -> Result<(), AgentError> {
        for card in &manifest.cards {
            for f in &card.files {
                let mut content = checked.file(&f.name).map_err(package_error)?;
                match print_command {
                    Some(cmd) => print_file(cmd, &id, &card.card, &f.name, &mut content)?,
                    None => write_private(&partial.join(&f.name), &mut content)?,
                }
            }
        }
        let manifest_json =
            serde_json::to_vec_pretty(&manifest).map_err(|_| refused("the manifest could not be written"))?;
        write_private(&partial.join(MANIFEST), &mut manifest_json.as_slice())?;
        std::fs::rename(&partial, &dir).map_err(io(format!("moving the batch into {}", dir.display())))?;
        // Remembered only once spooled whole; if it cannot be remembered,
        // the spool is taken back, so a batch is never out unrecorded.
        if let Err(e) = keys.state.record(&manifest, now) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(AgentError::NothingSpooled { batch: id, cause: Box::new(e) });
    }
    Ok(manifest)
}

/// Batch folders in the spool (hidden partial folders aside).
fn spooled(spool: &Path) -> Result<Vec<String>, AgentError> {
    let mut out = Vec::new();
    let what = || format!("reading {}", spool.display());
    for entry in std::fs::read_dir(spool).map_err(io(what()))? {
        let entry = entry.map_err(io(what()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().map_err(io(what()))?.is_dir() && batch_id(&name).is_ok() {
            out.push(name);
        }
    }
    Ok(out)
}

/// What a pull did.
#[derive(Debug, Default, Serialize)]
pub struct PullReport {
    /// Batches downloaded and spooled (or printed) now, with their card counts.
    pub pulled: Vec<Pulled>,
    /// Pending batches that were already in the spool.
    pub already_spooled: Vec<String>,
    /// Spool folders of batches the server no longer lists, wiped.
    pub wiped: Vec<String>,
}

/// One batch pulled.
#[derive(Debug, Serialize)]
pub struct Pulled {
    /// The batch id.
    pub batch: String,
    /// How many cards it held.
    pub cards: usize,
}

/// Downloads, checks and spools every pending batch.
pub async fn pull(server: &AgentServer, spool: &SpoolArgs) -> Result<PullReport, AgentError> {
    let client = Client::new(server)?;
    let keys = Keys::load(spool)?;
    private_dir(&spool.spool)?;
    let pending = client.pending().await?;
    let mut report = PullReport::default();
    for name in spooled(&spool.spool)? {
        if !pending.iter().any(|b| b.id == name) {
            std::fs::remove_dir_all(spool.spool.join(&name)).map_err(io(format!("wiping spooled batch {name}")))?;
            report.wiped.push(name);
        }
    }
    for b in &pending {
        let id = batch_id(&b.id)?;
        if spool.spool.join(id).join(MANIFEST).exists() {
            report.already_spooled.push(id.to_owned());
            continue;
        }
        // Unnamed: a download cut off leaves nothing behind.
        let mut sealed =
            tempfile::tempfile_in(&spool.spool).map_err(io(format!("making room in {}", spool.spool.display())))?;
        let (size, sha256) = client.download(id, &mut sealed).await?;
        if i64::try_from(size).ok() != Some(b.size) || sha256 != b.sha256 {
            return Err(refused(format!(
                "batch {id}: the download does not match the server's listing (size or SHA-256); nothing was spooled"
            )));
        }
        std::io::Seek::rewind(&mut sealed).map_err(io(format!("reading back batch {id}")))?;
        let manifest = deliver(
            &mut std::io::BufReader::new(sealed),
            &keys,
            &spool.spool,
            spool.print_command.as_deref(),
            Some(id),
        )?;
        if manifest.cards.len() as i64 != b.cards {
            return Err(refused(format!(
                "batch {id}: the manifest lists {} cards, the server {}",
                manifest.cards.len(),
                b.cards
            )));
        }
        report.pulled.push(Pulled { batch: id.to_owned(), cards: manifest.cards.len() });
    }
    Ok(report)
}

/// Decrypts and spools a batch file that came out of band.
pub fn spool_file(file: &Path, spool: &SpoolArgs) -> Result<Manifest, AgentError> {
    let keys = Keys::load(spool)?;
    let mut sealed = std::fs::File::open(file).map_err(io(format!("reading {}", file.display())))?;
    private_dir(&spool.spool)?;
    deliver(&mut sealed, &keys, &spool.spool, spool.print_command.as_deref(), None)
        .map_err(|e| AgentError::In { file: file.display().to_string(), cause: Box::new(e) })
}

fn id_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// What a confirmation did.
#[derive(Debug, Serialize)]
pub struct Confirmed {
    /// The server's receipt.
    pub receipt: serde_json::Value,
    /// Whether the batch's spool folder was there and was wiped.
    pub spool_wiped: bool,
}

/// Sends the receipt for a batch (`printed`: ids or `all`; `spoiled`: ids),
/// then wipes its spool folder.
pub async fn confirm(
    batch: &str,
    printed: &str,
    spoiled: &str,
    server: &AgentServer,
    spool: &Path,
) -> Result<Confirmed, AgentError> {
    let id = batch_id(batch)?;
    let dir: PathBuf = spool.join(id);
    let spoiled = id_list(spoiled);
    let printed = if printed.trim() == "all" {
        let path = dir.join(MANIFEST);
        let text =
            std::fs::read(&path).map_err(io(format!("--printed all needs the spooled manifest {}", path.display())))?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|_| refused(format!("{} is not a batch manifest", path.display())))?;
        manifest.card_ids().filter(|c| !spoiled.iter().any(|s| s == c)).map(str::to_owned).collect()
    } else {
        id_list(printed)
    };
    let client = Client::new(server)?;
    let url = format!("{}/v1/supplier/batches/{id}/confirm", client.base);
    let body = serde_json::json!({ "printed": printed, "spoiled": spoiled });
    let what = format!("confirming batch {id}");
    let resp = client.send(client.http.post(url).json(&body), &what).await?;
    let receipt: serde_json::Value = Client::json(resp, &what).await?;
    let spool_wiped = dir.exists();
    if spool_wiped {
        std::fs::remove_dir_all(&dir).map_err(io(format!("wiping {}", dir.display())))?;
    }
    Ok(Confirmed { receipt, spool_wiped })
}

/// Writes a new age identity to `out` (0600, never over an existing file)
/// and returns its public recipient, the only part the force receives.
pub fn keygen(out: &Path) -> Result<String, AgentError> {
    use age::secrecy::ExposeSecret;
    let now =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let (identity, recipient) = package::keygen(&now);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(io(format!("creating {} (it must not exist yet)", out.display())))?;
    file.write_all(identity.expose_secret().as_bytes()).map_err(io(format!("writing {}", out.display())))?;
    file.sync_all().map_err(io(format!("writing {}", out.display())))?;
    Ok(recipient)
}

/// Runs one agent command and prints its result: text, or JSON with `json`.
pub async fn run(cmd: &AgentCommand, json: bool) -> Result<(), AgentError> {
    let print_json = |v: serde_json::Value| {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    };
    match cmd {
        AgentCommand::Keygen { out } => {
            let recipient = keygen(out)?;
            if json {
                print_json(serde_json::json!({ "identity": out, "recipient": recipient }));
            } else {
                println!("{recipient}");
                eprintln!("identity written to {}; send the force only the recipient above", out.display());
            }
        }
        AgentCommand::Trust { supplier, key, state } => {
            let pinned = State::open(state)?.trust(supplier, key)?;
            if json {
                print_json(serde_json::json!({ "supplier": supplier, "key": pinned.to_key_string() }));
            } else {
                println!(
                    "pinned {} for supplier {supplier}: batches are opened only if this key signed them",
                    pinned.name()
                );
            }
        }
        AgentCommand::Pull { server, spool } => {
            let report = pull(server, spool).await?;
            if json {
                print_json(serde_json::to_value(&report).unwrap_or_default());
                return Ok(());
            }
            let to = if spool.print_command.is_some() { "sent to the print command" } else { "spooled" };
            for p in &report.pulled {
                println!("batch {}: {} card(s) {to} ({})", p.batch, p.cards, spool.spool.join(&p.batch).display());
            }
            for id in &report.already_spooled {
                println!("batch {id}: already in the spool");
            }
            for id in &report.wiped {
                println!("batch {id}: gone on the server (expired or withdrawn); its spool files were wiped");
            }
            if report.pulled.is_empty() && report.already_spooled.is_empty() {
                println!("no pending batches");
            }
        }
        AgentCommand::Open { file, spool } => {
            let manifest = spool_file(file, spool)?;
            if json {
                print_json(serde_json::json!({ "batch": manifest.batch, "cards": manifest.cards.len() }));
                return Ok(());
            }
            let to = if spool.print_command.is_some() { "sent to the print command" } else { "spooled" };
            println!(
                "batch {}: {} card(s) {to} ({})",
                manifest.batch,
                manifest.cards.len(),
                spool.spool.join(&manifest.batch).display()
            );
        }
        AgentCommand::Confirm { batch, printed, spoiled, server, spool } => {
            let done = confirm(batch, printed, spoiled, server, spool).await?;
            if json {
                print_json(serde_json::to_value(&done).unwrap_or_default());
                return Ok(());
            }
            let count = |k: &str| done.receipt.get(k).and_then(|v| v.as_array()).map_or(0, Vec::len);
            println!(
                "batch {batch} confirmed: {} printed, {} spoiled (queued again), {} skipped; the server destroyed the batch",
                count("printed"),
                count("spoiled"),
                count("skipped")
            );
            if done.spool_wiped {
                println!("spool {} wiped", spool.join(batch).display());
            }
        }
    }
    Ok(())
}
