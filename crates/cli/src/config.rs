//! Configuration: `lanyard.toml` in the data directory, then `LANYARD_*`
//! environment variables, then flags (clap merges the last two, flag first).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "lanyard.toml";
pub const KEYRING_FILE: &str = "keyring.json";
pub const SQLITE_FILE: &str = "lanyard.db";

/// The file, as written by `lanyard init`. Unknown keys are refused so that a
/// typo is not silently ignored.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub config_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(default)]
    pub key_provider: ProviderConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerFileConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply: Option<SupplyFileConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardFileConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purposes: Option<PurposesFileConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<WitnessFileConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditFileConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<WatchFileConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupFileConfig>,
}

/// `[backup]`: backups `lanyard serve` takes on its own.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFileConfig {
    /// Seconds between backups.
    pub every_s: u64,
    /// The folder they are written to (relative: in the data directory).
    pub dir: PathBuf,
    /// Their age recipients: an offline recovery key and an operations key.
    pub recipients: Vec<String>,
    /// How many to keep (default 14); older ones are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<usize>,
    /// The operations key's identity file, with which each backup is
    /// verified as soon as it is made (absent: they are not, and the watch
    /// reports the age of the last one verified by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
}

/// Backups on a schedule, resolved.
#[derive(Debug, Clone)]
pub struct BackupSchedule {
    pub every_s: u64,
    pub dir: PathBuf,
    pub recipients: Vec<String>,
    pub keep: usize,
    pub identity: Option<PathBuf>,
}

/// `[watch]`: the data-loss watch.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchFileConfig {
    /// A table or compartment that falls by more than this fraction in one
    /// interval is an alert, explained by the log or not (default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fall: Option<f64>,
    /// The last verified backup may be this old (default 172800, 2 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_max_age_s: Option<u64>,
    /// `lanyard serve` runs a pass every this many seconds (absent: only
    /// `lanyard watch` does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_s: Option<u64>,
    /// A pass reads only the audit events since the last one; every this
    /// many seconds it reads the whole log again (default 86400, a day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_every_s: Option<u64>,
    /// Alerts are POSTed here as JSON, signed with HMAC-SHA256 under
    /// `LANYARD_WATCH_WEBHOOK_SECRET` (header `X-Lanyard-Signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
}

/// `[audit]`: the audit log.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFileConfig {
    /// Seconds an event may wait for a signed checkpoint before `audit
    /// verify` names it (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_lag_s: Option<u64>,
}

/// `[witness]`: the witnesses that cosign the audit log's checkpoints
/// (C2SP tlog-witness), and how many must agree for `audit verify`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessFileConfig {
    /// How many witnesses must cosign the latest checkpoint (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<usize>,
    /// Each witness: `{ url = "https://…", key = "name+id+base64" }` (the
    /// key `lanyard witness key` prints where the witness runs).
    #[serde(default)]
    pub witnesses: Vec<WitnessEntry>,
}

/// One witness.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessEntry {
    pub url: String,
    pub key: String,
}

/// `[purposes]`: the force's own purpose codes, beside lanyard's
/// (`card_renewal`, `lost_card`, …). A code is what the audit log keeps in
/// clear; anything else an operator types is sealed as a note.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposesFileConfig {
    /// Extra codes: lower-case letters, digits and `_`.
    #[serde(default)]
    pub codes: Vec<String>,
}

/// `[guard]`: the disclosure guard as `lanyard serve` runs it (`POST
/// /v1/scan`). Relative paths are in the data directory.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardFileConfig {
    /// Scan policy (TOML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PathBuf>,
    /// Register fingerprints (`lanyard fingerprints export`). On the
    /// register host, `lanyard serve` writes them here every
    /// `export_every_s`; elsewhere, `lanyard scan` reads them from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprints: Option<PathBuf>,
    /// Seconds between the server's exports of `fingerprints` (off when
    /// absent). Each is an audited read of identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_every_s: Option<u64>,
    /// Seconds after which `lanyard scan` refuses the fingerprints file as
    /// stale (default twice `export_every_s`, else eight days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_s: Option<u64>,
}

/// `[supply]`: print batches and the server's own batching.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplyFileConfig {
    /// Seconds an unconfirmed batch lives (default 259200, 72 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_ttl_s: Option<i64>,
    /// Cards per batch at most (default 250).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cards: Option<usize>,
    /// `lanyard serve` batches approved cards for this supplier on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_supplier: Option<String>,
    /// ... as soon as this many wait (default 50),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_min_cards: Option<usize>,
    /// ... or the oldest has waited this long (default 14400 s, 4 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_max_wait_s: Option<i64>,
    /// How often the server expires batches and checks the policy
    /// (default 60 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_every_s: Option<u64>,
}

/// `[issuer]`: who the force is to card verifiers.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerFileConfig {
    /// `iss` of every credential: keep it short, it is in every QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The public URL of the status list, `https://HOST/v1/status-lists/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_list_uri: Option<String>,
    /// Seconds a verifier may cache the status list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_list_ttl_s: Option<u64>,
    /// The force's name as printed on cards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_name: Option<String>,
    /// Return address lines for the back of cards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_address: Option<Vec<String>>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// `keyring` (default) or `pkcs11`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11_module: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11_slot: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11_key_label: Option<String>,
}

/// Where the root key is, resolved.
#[derive(Debug, Clone)]
pub enum ProviderSettings {
    Keyring { path: PathBuf },
    Pkcs11 { module: PathBuf, token: Option<String>, slot: Option<u64>, key_label: String },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub provider: ProviderSettings,
    pub issuer: lanyard_cards::IssuerConfig,
    pub supply: lanyard_supply::SupplyConfig,
    pub auto_batch: Option<lanyard_supply::AutoBatch>,
    pub sweep_every_s: u64,
    pub guard_policy: Option<PathBuf>,
    pub guard_fingerprints: Option<PathBuf>,
    pub guard_export_every_s: Option<u64>,
    pub guard_max_age_s: u64,
    pub purpose_codes: Vec<String>,
    pub witnesses: Vec<lanyard_register::WitnessTarget>,
    pub witness_quorum: usize,
    pub checkpoint_lag_s: u64,
    pub watch_max_fall: f64,
    pub backup_max_age_s: u64,
    pub watch_webhook: Option<String>,
    pub watch_every_s: Option<u64>,
    pub watch_full_every_s: u64,
    pub backup: Option<BackupSchedule>,
}

pub const DEFAULT_KEY_LABEL: &str = "lanyard-root";

impl Settings {
    /// The settings of a new register before any `lanyard.toml`: every
    /// option at its default.
    pub fn defaults(data_dir: PathBuf, database_url: Option<String>, provider: ProviderSettings) -> Settings {
        Settings {
            data_dir,
            database_url,
            provider,
            issuer: lanyard_cards::IssuerConfig::default(),
            supply: lanyard_supply::SupplyConfig::default(),
            auto_batch: None,
            sweep_every_s: 60,
            guard_policy: None,
            guard_fingerprints: None,
            guard_export_every_s: None,
            guard_max_age_s: 8 * 86_400,
            purpose_codes: Vec::new(),
            witnesses: Vec::new(),
            witness_quorum: 0,
            checkpoint_lag_s: 300,
            watch_max_fall: 0.05,
            backup_max_age_s: 2 * 86_400,
            watch_webhook: None,
            watch_every_s: None,
            watch_full_every_s: 86_400,
            backup: None,
        }
    }
}

pub fn read_file(data_dir: &Path) -> Result<Option<FileConfig>> {
    let path = data_dir.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let cfg: FileConfig = toml::from_str(&text).with_context(|| format!("invalid {}", path.display()))?;
    if cfg.config_version != 1 {
        bail!("{}: config_version {} is not supported (expected 1)", path.display(), cfg.config_version);
    }
    Ok(Some(cfg))
}

/// Points `lanyard.toml`'s `database_url` at `url` (a restored database),
/// written whole or not at all, the rest of the file (comments included)
/// kept. Returns false, changing nothing, when the file names no database
/// (the URL then comes from `--database-url` or `LANYARD_DATABASE_URL`,
/// which the operator changes).
pub fn switch_database_url(data_dir: &Path, url: &str) -> Result<bool> {
    let path = data_dir.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = text.parse().with_context(|| format!("invalid {}", path.display()))?;
    let Some(item) = doc.get_mut("database_url") else { return Ok(false) };
    *item = toml_edit::value(url);
    write_atomically(&path, doc.to_string().as_bytes())?;
    Ok(true)
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it,
/// renamed over it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Resolves settings for an existing register.
pub fn load(data_dir: &Path, database_url_flag: Option<&str>) -> Result<Settings> {
    let file = read_file(data_dir)?.unwrap_or_default();
    let p = &file.key_provider;
    let kind = env("LANYARD_KEY_PROVIDER").or_else(|| p.kind.clone()).unwrap_or_else(|| "keyring".into());
    let provider = match kind.as_str() {
        "keyring" => ProviderSettings::Keyring { path: data_dir.join(KEYRING_FILE) },
        "pkcs11" => ProviderSettings::Pkcs11 {
            module: env("LANYARD_PKCS11_MODULE")
                .map(PathBuf::from)
                .or_else(|| p.pkcs11_module.clone())
                .context("key provider pkcs11 needs pkcs11_module (or LANYARD_PKCS11_MODULE)")?,
            token: env("LANYARD_PKCS11_TOKEN").or_else(|| p.pkcs11_token.clone()),
            slot: match env("LANYARD_PKCS11_SLOT") {
                Some(s) => Some(s.parse().context("LANYARD_PKCS11_SLOT is not a number")?),
                None => p.pkcs11_slot,
            },
            key_label: env("LANYARD_PKCS11_KEY_LABEL")
                .or_else(|| p.pkcs11_key_label.clone())
                .unwrap_or_else(|| DEFAULT_KEY_LABEL.into()),
        },
        other => bail!("unknown key provider '{other}' (expected keyring or pkcs11)"),
    };
    let mut issuer = lanyard_cards::IssuerConfig::default();
    if let Some(i) = &file.issuer {
        if let Some(id) = &i.id {
            issuer.issuer = id.clone();
        }
        if let Some(uri) = &i.status_list_uri {
            issuer.status_list_uri = uri.clone();
        }
        if let Some(ttl) = i.status_list_ttl_s {
            issuer.list_ttl_s = ttl;
        }
        if let Some(name) = &i.force_name {
            issuer.force_name = name.clone();
        }
        if let Some(lines) = &i.return_address {
            issuer.return_address = lines.clone();
        }
    }
    let mut supply = lanyard_supply::SupplyConfig::default();
    let mut auto_batch = None;
    let mut sweep_every_s = 60;
    if let Some(s) = &file.supply {
        if let Some(ttl) = s.batch_ttl_s {
            if ttl < 1 {
                bail!("[supply] batch_ttl_s must be at least 1");
            }
            supply.batch_ttl_s = ttl;
        }
        if let Some(n) = s.max_cards {
            if n == 0 {
                bail!("[supply] max_cards must be at least 1");
            }
            supply.max_cards = n;
        }
        if let Some(name) = &s.auto_supplier {
            auto_batch = Some(lanyard_supply::AutoBatch {
                supplier: name.clone(),
                min_cards: s.auto_min_cards.unwrap_or(50).max(1),
                max_wait_s: s.auto_max_wait_s.unwrap_or(4 * 3600),
            });
        }
        sweep_every_s = s.sweep_every_s.unwrap_or(60).max(1);
    }
    let mut witnesses = Vec::new();
    for (i, w) in file.witness.iter().flat_map(|w| w.witnesses.iter()).enumerate() {
        let key = lanyard_note::cosignature::CosignatureVerifier::parse(&w.key)
            .map_err(|e| anyhow::anyhow!("[witness] witnesses[{i}].key: {}", e.0))?;
        if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
            bail!("[witness] witnesses[{i}].url must start with http:// or https://");
        }
        witnesses.push(lanyard_register::WitnessTarget { url: w.url.clone(), key });
    }
    let witness_quorum = file.witness.as_ref().and_then(|w| w.quorum).unwrap_or(witnesses.len());
    if witness_quorum > witnesses.len() {
        bail!("[witness] quorum {witness_quorum} is more than the {} witnesses configured", witnesses.len());
    }
    Ok(Settings {
        witnesses,
        witness_quorum,
        checkpoint_lag_s: file.audit.as_ref().and_then(|a| a.checkpoint_lag_s).unwrap_or(300),
        watch_max_fall: file.watch.as_ref().and_then(|w| w.max_fall).unwrap_or(0.05),
        backup_max_age_s: file.watch.as_ref().and_then(|w| w.backup_max_age_s).unwrap_or(2 * 86_400),
        watch_webhook: file.watch.as_ref().and_then(|w| w.webhook.clone()),
        watch_every_s: file.watch.as_ref().and_then(|w| w.every_s).map(|s| s.max(1)),
        watch_full_every_s: file.watch.as_ref().and_then(|w| w.full_every_s).unwrap_or(86_400),
        backup: match &file.backup {
            Some(b) if b.recipients.is_empty() => bail!("[backup] recipients: at least one age recipient"),
            Some(b) => Some(BackupSchedule {
                every_s: b.every_s.max(1),
                dir: data_dir.join(&b.dir),
                recipients: b.recipients.clone(),
                keep: b.keep.unwrap_or(14).max(1),
                identity: b.identity.as_ref().map(|p| data_dir.join(p)),
            }),
            None => None,
        },
        data_dir: data_dir.to_owned(),
        database_url: database_url_flag.map(str::to_owned).or(file.database_url),
        provider,
        issuer,
        supply,
        auto_batch,
        sweep_every_s,
        guard_policy: file.guard.as_ref().and_then(|g| g.policy.as_ref()).map(|p| data_dir.join(p)),
        guard_fingerprints: file.guard.as_ref().and_then(|g| g.fingerprints.as_ref()).map(|p| data_dir.join(p)),
        guard_export_every_s: file.guard.as_ref().and_then(|g| g.export_every_s).map(|s| s.max(1)),
        guard_max_age_s: file
            .guard
            .as_ref()
            .and_then(|g| g.max_age_s.or(g.export_every_s.map(|s| s.max(1).saturating_mul(2))))
            .unwrap_or(8 * 86_400),
        purpose_codes: file.purposes.as_ref().map(|p| p.codes.clone()).unwrap_or_default(),
    })
}
