//! The agent's own small state, in a folder of its own (`--state`): the
//! force's batch keys it pins and the supplier name it acts for
//! (`trust.json`, written once at enrolment by `lanyard-agent trust`), and
//! the batches it has opened (`seen.json`), so that a batch already
//! printed and confirmed cannot be spooled a second time.
//!
//! `seen.json` stays small: a batch is remembered until 30 days after it
//! expired, and an expired batch is refused on its expiry alone.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use lanyard_package::{Manifest, Verifier};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{AgentError, io, private_dir, refused};

const TRUST: &str = "trust.json";
const SEEN: &str = "seen.json";
/// How long past its expiry a batch id is remembered.
const REMEMBER_S: i64 = 30 * 24 * 3600;

/// `trust.json`: who the agent acts for and whose signatures it accepts.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    supplier: String,
    keys: Vec<String>,
}

/// One opened batch in `seen.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    /// When this agent opened it (RFC 3339).
    pub opened_at: String,
    /// Its expiry (RFC 3339).
    pub expires_at: String,
}

/// The agent's state folder.
pub struct State {
    dir: PathBuf,
}

/// What the agent trusts, read from `trust.json`.
pub struct Trust {
    /// The supplier this agent acts for: a batch for anyone else is refused.
    pub supplier: String,
    /// The force's batch keys.
    pub keys: Vec<Verifier>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Writes `path` whole or not at all (a temporary file, synced, renamed), 0600.
fn replace_private(path: &Path, bytes: &[u8]) -> Result<(), AgentError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
    f.write_all(bytes).map_err(io(format!("writing {}", tmp.display())))?;
    f.sync_all().map_err(io(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("replacing {}", path.display())))
}

impl State {
    /// The state folder at `dir`, created 0700 if missing.
    pub fn open(dir: &Path) -> Result<Self, AgentError> {
        private_dir(dir)?;
        Ok(State { dir: dir.to_owned() })
    }

    /// Pins `key` (a verifier key string from the force) for `supplier`.
    /// A second key is added beside the first (the force rotating its key);
    /// a different supplier name is refused, since one agent acts for one
    /// supplier.
    pub fn trust(&self, supplier: &str, key: &str) -> Result<Verifier, AgentError> {
        let verifier = Verifier::parse(key).map_err(|e| refused(format!("--key is not a verifier key string: {e}")))?;
        if supplier.is_empty()
            || supplier.len() > 64
            || !supplier.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(refused("--supplier must be the supplier's name as the force registered it"));
        }
        let path = self.dir.join(TRUST);
        let mut file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<TrustFile>(&bytes)
                .map_err(|_| refused(format!("{} is not the agent's trust file", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                TrustFile { supplier: supplier.to_owned(), keys: vec![] }
            }
            Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
        };
        if file.supplier != supplier {
            return Err(refused(format!(
                "this agent already acts for supplier {}; use another --state folder for {supplier}",
                file.supplier
            )));
        }
        let text = verifier.to_key_string();
        if !file.keys.contains(&text) {
            file.keys.push(text);
        }
        let json = serde_json::to_vec_pretty(&file).map_err(|_| refused("the trust file could not be written"))?;
        replace_private(&path, &json)?;
        Ok(verifier)
    }

    /// What the agent trusts; an agent that has pinned nothing opens nothing.
    pub fn trusted(&self) -> Result<Trust, AgentError> {
        let path = self.dir.join(TRUST);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(refused(format!(
                    "no force key is pinned in {}: run `lanyard-agent trust --supplier NAME --key KEY` \
                     with the key the force gave you at enrolment",
                    self.dir.display()
                )));
            }
            Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
        };
        let file: TrustFile = serde_json::from_slice(&bytes)
            .map_err(|_| refused(format!("{} is not the agent's trust file", path.display())))?;
        let keys = file
            .keys
            .iter()
            .map(|k| {
                Verifier::parse(k).map_err(|e| refused(format!("{}: a pinned key is damaged: {e}", path.display())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Trust { supplier: file.supplier, keys })
    }

    fn seen_all(&self) -> Result<BTreeMap<String, Seen>, AgentError> {
        let path = self.dir.join(SEEN);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|_| {
                refused(format!("{} is damaged; the agent cannot tell which batches it opened", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(io(format!("reading {}", path.display()))(e)),
        }
    }

    /// When batch `id` was opened here, if it was.
    pub fn seen(&self, id: &str) -> Result<Option<Seen>, AgentError> {
        Ok(self.seen_all()?.remove(id))
    }

    /// Records batch `manifest` as opened now, forgetting batches long expired.
    pub fn record(&self, manifest: &Manifest, now: OffsetDateTime) -> Result<(), AgentError> {
        let mut all = self.seen_all()?;
        let cutoff = now.unix_timestamp() - REMEMBER_S;
        all.retain(|_, s| OffsetDateTime::parse(&s.expires_at, &Rfc3339).map_or(true, |t| t.unix_timestamp() > cutoff));
        all.insert(manifest.batch.clone(), Seen { opened_at: rfc3339(now), expires_at: manifest.expires_at.clone() });
        let json =
            serde_json::to_vec_pretty(&all).map_err(|_| refused("the seen-batches file could not be written"))?;
        replace_private(&self.dir.join(SEEN), &json)
    }
}

/// Refuses a batch that is not for `trust.supplier`, has expired at `now`,
/// or was opened here before.
pub fn admit(state: &State, trust: &Trust, manifest: &Manifest, now: OffsetDateTime) -> Result<(), AgentError> {
    let id = &manifest.batch;
    if manifest.supplier != trust.supplier {
        return Err(refused(format!(
            "batch {id} is for supplier {}, and this agent acts for {}; nothing was spooled",
            manifest.supplier, trust.supplier
        )));
    }
    let expires = OffsetDateTime::parse(&manifest.expires_at, &Rfc3339)
        .map_err(|_| refused(format!("batch {id}: its expiry is not a date; nothing was spooled")))?;
    if expires <= now {
        return Err(refused(format!(
            "batch {id} expired at {}; the force has destroyed it and queued its cards again, so nothing was spooled",
            manifest.expires_at
        )));
    }
    if let Some(seen) = state.seen(id)? {
        return Err(refused(format!(
            "batch {id} was already opened here at {}; a batch is spooled once (a replayed file?), so nothing was spooled",
            seen.opened_at
        )));
    }
    Ok(())
}
