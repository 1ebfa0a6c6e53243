//! The supplier agent (DESIGN §6): the supplier's half of the exchange, in
//! the same binary. It keeps no database; its only state is the spool.
//!
//! - `pull` lists the supplier's pending batches, downloads each, checks its
//!   size and digest against the listing, decrypts it in memory with the
//!   supplier's age identity, checks every file against the manifest, and
//!   writes the print files to `SPOOL/BATCH/` (or pipes each to a print
//!   command). A batch is spooled whole or not at all: files go to a hidden
//!   `.BATCH.partial` folder that is renamed when complete. Spool folders of
//!   batches the server no longer lists (expired or withdrawn) are wiped.
//! - `open` does the same for a batch file that came out of band.
//! - `confirm` sends the receipt and, once the server accepts it, wipes the
//!   batch's spool folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use lanyard_supply::package::{self, Limits, MANIFEST, Manifest, Package};
use serde::Deserialize;

use crate::opts::{AgentServer, Cli};
use crate::output;

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

/// A batch id is ours: letters and digits only, so it is safe in a URL and
/// as a spool folder name.
fn batch_id(id: &str) -> Result<&str> {
    if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!("'{}' is not a batch id", id.chars().filter(char::is_ascii_alphanumeric).take(32).collect::<String>());
    }
    Ok(id)
}

impl Client {
    fn new(server: &AgentServer) -> Result<Self> {
        let base = server.server.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base).with_context(|| format!("--server: '{base}' is not a URL"))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]" | "::1"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            bail!("--server must be https:// (plain http only on loopback): batches and the token cross the network");
        }
        let token = std::fs::read_to_string(&server.token_file)
            .with_context(|| format!("reading the token file {}", server.token_file.display()))?;
        let token = token.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or_default();
        if token.is_empty() {
            bail!("{} holds no token", server.token_file.display());
        }
        let mut builder = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(300))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(ca) = &server.ca_cert {
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
            builder = builder.add_root_certificate(cert);
        }
        Ok(Client { http: builder.build()?, base, token: zeroize::Zeroizing::new(token.to_owned()) })
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response> {
        let resp = req.bearer_auth(self.token.as_str()).send().await.with_context(|| format!("{what}: no answer"))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let problem: Option<ProblemAnswer> = resp.json().await.ok();
        let why = problem.map(|p| if p.detail.is_empty() { p.title } else { p.detail }).unwrap_or_default();
        Err(anyhow!("{what}: the server answered {status}: {why}"))
    }

    async fn pending(&self) -> Result<Vec<Listed>> {
        let resp = self.send(self.http.get(format!("{}/v1/supplier/batches", self.base)), "listing batches").await?;
        resp.json().await.context("listing batches: not the expected answer")
    }

    async fn download(&self, id: &str) -> Result<Vec<u8>> {
        let url = format!("{}/v1/supplier/batches/{id}", self.base);
        let resp = self.send(self.http.get(url), &format!("downloading batch {id}")).await?;
        Ok(resp.bytes().await.with_context(|| format!("downloading batch {id}"))?.to_vec())
    }
}

fn identities(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let text = zeroize::Zeroizing::new(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    package::parse_identities(&text).with_context(|| format!("{}", path.display()))
}

fn private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("securing {}", dir.display()))?;
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Pipes one file to the print command.
fn print_file(command: &str, batch: &str, card: &str, name: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("LANYARD_BATCH", batch)
        .env("LANYARD_CARD", card)
        .env("LANYARD_FILE", name)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .context("starting the print command")?;
    // A command that stops reading early closes the pipe; its exit status
    // says more than the broken pipe does.
    let written = child.stdin.take().map(|mut stdin| stdin.write_all(bytes));
    let status = child.wait().context("waiting for the print command")?;
    if !status.success() {
        bail!("the print command failed on {name} ({status})");
    }
    if let Some(Err(e)) = written {
        return Err(e).with_context(|| format!("piping {name} to the print command"));
    }
    Ok(())
}

/// Decrypts, checks and spools one sealed batch. Returns its manifest.
fn deliver(
    sealed: &[u8],
    ids: &[Box<dyn age::Identity + Send + Sync>],
    spool: &Path,
    print_command: Option<&str>,
    expected: Option<&str>,
) -> Result<Manifest> {
    let limits = Limits::default();
    let what = expected.map_or_else(|| "the batch file".to_owned(), |id| format!("batch {id}"));
    let plain = zeroize::Zeroizing::new(package::open(sealed, ids, &limits).with_context(|| what.clone())?);
    let Package { manifest, files } = package::unpack(&plain, &limits).with_context(|| what.clone())?;
    drop(plain);
    let id = batch_id(&manifest.batch)?.to_owned();
    if let Some(expected) = expected
        && expected != id
    {
        bail!("{what}: the manifest names batch {id}; refusing a file that is not the batch asked for");
    }
    let dir = spool.join(&id);
    if dir.exists() {
        bail!("batch {id} is already in the spool ({})", dir.display());
    }
    let partial = spool.join(format!(".{id}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).with_context(|| format!("clearing {}", partial.display()))?;
    }
    private_dir(&partial)?;
    let result = (|| -> Result<()> {
        for card in &manifest.cards {
            for f in &card.files {
                let bytes = files.get(&f.name).ok_or_else(|| anyhow!("{} is missing", f.name))?;
                match print_command {
                    Some(cmd) => print_file(cmd, &id, &card.card, &f.name, bytes)?,
                    None => write_private(&partial.join(&f.name), bytes)?,
                }
            }
        }
        let manifest_json = serde_json::to_vec_pretty(&manifest)?;
        write_private(&partial.join(MANIFEST), &manifest_json)?;
        std::fs::rename(&partial, &dir).with_context(|| format!("moving the batch into {}", dir.display()))?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e.context(format!("batch {id}: nothing was spooled")));
    }
    Ok(manifest)
}

/// Batch folders in the spool (hidden partial folders aside).
fn spooled(spool: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(spool).with_context(|| format!("reading {}", spool.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() && batch_id(&name).is_ok() {
            out.push(name);
        }
    }
    Ok(out)
}

pub async fn pull(
    cli: &Cli,
    server: &AgentServer,
    identity: &Path,
    spool: &Path,
    print_command: Option<&str>,
) -> Result<()> {
    let ids = identities(identity)?;
    let client = Client::new(server)?;
    private_dir(spool)?;
    let pending = client.pending().await?;
    let mut wiped = Vec::new();
    for name in spooled(spool)? {
        if !pending.iter().any(|b| b.id == name) {
            std::fs::remove_dir_all(spool.join(&name)).with_context(|| format!("wiping spooled batch {name}"))?;
            wiped.push(name);
        }
    }
    let mut pulled = Vec::new();
    let mut kept = Vec::new();
    for b in &pending {
        let id = batch_id(&b.id)?;
        if spool.join(id).join(MANIFEST).exists() {
            kept.push(id.to_owned());
            continue;
        }
        let sealed = client.download(id).await?;
        if sealed.len() as i64 != b.size || package::sha256_hex(&sealed) != b.sha256 {
            bail!(
                "batch {id}: the download does not match the server's listing (size or SHA-256); nothing was spooled"
            );
        }
        let manifest = deliver(&sealed, &ids, spool, print_command, Some(id))?;
        if manifest.cards.len() as i64 != b.cards {
            bail!("batch {id}: the manifest lists {} cards, the server {}", manifest.cards.len(), b.cards);
        }
        pulled.push((id.to_owned(), manifest.cards.len()));
    }
    if cli.json {
        let pulled: Vec<_> = pulled.iter().map(|(id, n)| serde_json::json!({ "batch": id, "cards": n })).collect();
        return output::json(&serde_json::json!({ "pulled": pulled, "already_spooled": kept, "wiped": wiped }));
    }
    for (id, n) in &pulled {
        let to = if print_command.is_some() { "sent to the print command" } else { "spooled" };
        println!("batch {id}: {n} card(s) {to} ({})", spool.join(id).display());
    }
    for id in &kept {
        println!("batch {id}: already in the spool");
    }
    for id in &wiped {
        println!("batch {id}: gone on the server (expired or withdrawn); its spool files were wiped");
    }
    if pulled.is_empty() && kept.is_empty() {
        println!("no pending batches");
    }
    Ok(())
}

/// Decrypts and spools a batch file that came out of band.
pub fn spool_file(file: &Path, identity: &Path, spool: &Path, print_command: Option<&str>) -> Result<Manifest> {
    let ids = identities(identity)?;
    let sealed = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    private_dir(spool)?;
    deliver(&sealed, &ids, spool, print_command, None).with_context(|| format!("{}", file.display()))
}

pub fn open_file(cli: &Cli, file: &Path, identity: &Path, spool: &Path, print_command: Option<&str>) -> Result<()> {
    let manifest = spool_file(file, identity, spool, print_command)?;
    if cli.json {
        return output::json(&serde_json::json!({ "batch": manifest.batch, "cards": manifest.cards.len() }));
    }
    let to = if print_command.is_some() { "sent to the print command" } else { "spooled" };
    println!(
        "batch {}: {} card(s) {to} ({})",
        manifest.batch,
        manifest.cards.len(),
        spool.join(&manifest.batch).display()
    );
    Ok(())
}

fn id_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

pub async fn confirm(
    cli: &Cli,
    batch: &str,
    printed: &str,
    spoiled: &str,
    server: &AgentServer,
    spool: &Path,
) -> Result<()> {
    let id = batch_id(batch)?;
    let dir: PathBuf = spool.join(id);
    let spoiled = id_list(spoiled);
    let printed = if printed.trim() == "all" {
        let path = dir.join(MANIFEST);
        let text = std::fs::read(&path)
            .with_context(|| format!("--printed all needs the spooled manifest {}", path.display()))?;
        let manifest: Manifest = serde_json::from_slice(&text).with_context(|| format!("{}", path.display()))?;
        manifest.card_ids().filter(|c| !spoiled.iter().any(|s| s == c)).map(str::to_owned).collect()
    } else {
        id_list(printed)
    };
    let client = Client::new(server)?;
    let url = format!("{}/v1/supplier/batches/{id}/confirm", client.base);
    let body = serde_json::json!({ "printed": printed, "spoiled": spoiled });
    let resp = client.send(client.http.post(url).json(&body), &format!("confirming batch {id}")).await?;
    let receipt: serde_json::Value = resp.json().await.context("confirming: not the expected answer")?;
    let wiped = dir.exists();
    if wiped {
        std::fs::remove_dir_all(&dir).with_context(|| format!("wiping {}", dir.display()))?;
    }
    if cli.json {
        return output::json(&serde_json::json!({ "receipt": receipt, "spool_wiped": wiped }));
    }
    let count = |k: &str| receipt.get(k).and_then(|v| v.as_array()).map_or(0, Vec::len);
    println!(
        "batch {id} confirmed: {} printed, {} spoiled (queued again), {} skipped; the server destroyed the batch",
        count("printed"),
        count("spoiled"),
        count("skipped")
    );
    if wiped {
        println!("spool {} wiped", dir.display());
    }
    Ok(())
}
