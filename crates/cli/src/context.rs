//! Turning settings into live objects: the key provider, the store, the
//! register. Secrets (passphrase, PIN) are read here and nowhere else.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use lanyard_audit::Actor;
use lanyard_audit::Ledger;
use lanyard_crypto::{KdfParams, KeyProvider, KeyringProvider, Pkcs11Config, Pkcs11Provider};
use lanyard_register::{Operator, Register};
use lanyard_store::Store;
use zeroize::Zeroizing;

use crate::config::{ProviderSettings, SQLITE_FILE, Settings};

/// The passphrase from `LANYARD_PASSPHRASE`, or asked for on the terminal.
pub fn passphrase(confirm: bool) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("LANYARD_PASSPHRASE") {
        if p.is_empty() {
            bail!("LANYARD_PASSPHRASE is empty");
        }
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: set LANYARD_PASSPHRASE or run on a terminal");
    }
    let first = Zeroizing::new(rpassword::prompt_password("Keyring passphrase: ").context("reading the passphrase")?);
    if confirm {
        if first.chars().count() < 12 {
            bail!("the passphrase must be at least 12 characters");
        }
        let again =
            Zeroizing::new(rpassword::prompt_password("Repeat passphrase: ").context("reading the passphrase")?);
        if *first != *again {
            bail!("the passphrases differ");
        }
    }
    Ok(first)
}

fn pin() -> Result<Zeroizing<String>> {
    std::env::var("LANYARD_PKCS11_PIN")
        .map(Zeroizing::new)
        .map_err(|_| anyhow::anyhow!("set LANYARD_PKCS11_PIN to the token's user PIN"))
}

fn pkcs11_config(settings: &ProviderSettings) -> Result<Option<Pkcs11Config>> {
    match settings {
        ProviderSettings::Keyring { .. } => Ok(None),
        ProviderSettings::Pkcs11 { module, token, slot, key_label } => Ok(Some(Pkcs11Config {
            module: module.clone(),
            token_label: token.clone(),
            slot: *slot,
            pin: pin()?,
            key_label: key_label.clone(),
        })),
    }
}

/// Creates the root key for a new register.
pub fn create_provider(settings: &Settings) -> Result<Arc<dyn KeyProvider>> {
    Ok(match (&settings.provider, pkcs11_config(&settings.provider)?) {
        (_, Some(cfg)) => Arc::new(Pkcs11Provider::create(&cfg)?),
        (ProviderSettings::Keyring { path }, None) => {
            let pass = passphrase(true)?;
            Arc::new(KeyringProvider::create(path, pass.as_bytes(), KdfParams::recommended())?)
        }
        (ProviderSettings::Pkcs11 { .. }, None) => bail!("PKCS#11 settings are incomplete"),
    })
}

/// Opens the root key of an existing register.
pub fn open_provider(settings: &Settings) -> Result<Arc<dyn KeyProvider>> {
    Ok(match (&settings.provider, pkcs11_config(&settings.provider)?) {
        (_, Some(cfg)) => Arc::new(Pkcs11Provider::open(&cfg)?),
        (ProviderSettings::Keyring { path }, None) => {
            if !path.exists() {
                bail!("no keyring at {}; is this a lanyard data directory? (run 'lanyard init')", path.display());
            }
            let pass = passphrase(false)?;
            Arc::new(KeyringProvider::open(path, pass.as_bytes())?)
        }
        (ProviderSettings::Pkcs11 { .. }, None) => bail!("PKCS#11 settings are incomplete"),
    })
}

/// Opens the store, creating the SQLite file only when `create`.
pub async fn open_store(settings: &Settings, create: bool) -> Result<Store> {
    match &settings.database_url {
        Some(url) => Ok(Store::open_url(url, create).await?),
        None => {
            let path = settings.data_dir.join(SQLITE_FILE);
            if !create && !path.exists() {
                bail!("no register at {} (run 'lanyard init')", settings.data_dir.display());
            }
            Ok(Store::open_sqlite(&path, create).await?)
        }
    }
}

/// The key provider and the ledger (store and audit log) a command's
/// services share: provider first, so a wrong passphrase fails before
/// anything else.
pub async fn open_ledger(settings: &Settings) -> Result<(Arc<dyn lanyard_crypto::KeyProvider>, Ledger)> {
    let provider = open_provider(settings)?;
    let store = open_store(settings, false).await?;
    Ok((provider, Ledger::new(store)))
}

/// Opens the register for a command.
pub async fn open_register(settings: &Settings) -> Result<Register> {
    let (provider, ledger) = open_ledger(settings).await?;
    register_on(ledger, provider, settings).await
}

/// The register on a ledger and provider, with the force's purpose codes.
pub async fn register_on(
    ledger: Ledger,
    provider: Arc<dyn lanyard_crypto::KeyProvider>,
    settings: &Settings,
) -> Result<Register> {
    remember_log(&ledger, &provider, settings);
    Ok(Register::open(ledger, provider, now_ms()).await?.with_purpose_codes(&settings.purpose_codes)?)
}

/// The log this command opened, so that [`seal_log`] can sign a checkpoint
/// over what the command added when it ends.
type Opened = (Ledger, Arc<dyn lanyard_crypto::KeyProvider>, Settings);
static OPENED: std::sync::Mutex<Option<Opened>> = std::sync::Mutex::new(None);

/// Notes the log a command works on (the first one it opens).
pub fn remember_log(ledger: &Ledger, provider: &Arc<dyn lanyard_crypto::KeyProvider>, settings: &Settings) {
    let mut slot = match OPENED.lock() {
        Ok(s) => s,
        Err(poisoned) => poisoned.into_inner(),
    };
    if slot.is_none() {
        *slot = Some((ledger.clone(), Arc::clone(provider), settings.clone()));
    }
}

/// Forgets the log noted so far (its store was closed and another opened
/// in its place, as after a restore).
pub fn forget_log() {
    let mut slot = match OPENED.lock() {
        Ok(s) => s,
        Err(poisoned) => poisoned.into_inner(),
    };
    *slot = None;
}

/// Ends a command that opened the register: if the log grew, checks it as
/// `serve` does at start, signs a checkpoint over it, and sends that to the
/// witnesses. So the CLI alone leaves no events unsigned, and never signs
/// over a log it has not checked. Problems are reported, not fatal: the
/// command's own work is done.
pub async fn seal_log() {
    let opened = match OPENED.lock() {
        Ok(mut s) => s.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    let Some((ledger, provider, settings)) = opened else { return };
    if let Err(e) = seal(ledger, provider, &settings).await {
        eprintln!("warning: the audit log was not checkpointed: {e:#}");
    }
}

async fn seal(ledger: Ledger, provider: Arc<dyn lanyard_crypto::KeyProvider>, settings: &Settings) -> Result<()> {
    let size = lanyard_audit::log::size(ledger.store()).await?;
    let last = ledger.store().latest_checkpoint().await?.map_or(0, |(s, _)| u64::try_from(s).unwrap_or(0));
    if size > last {
        let register = Register::open(ledger, provider, now_ms()).await?;
        let op = Operator::local(Actor::system(), false);
        let findings = register.start_check(&op, now_ms()).await?;
        if !findings.is_empty() {
            bail!("the store failed its check ({} findings); run 'lanyard audit verify'", findings.len());
        }
        register.checkpoint_if_grown(&op, now_ms()).await?;
        if !settings.witnesses.is_empty() {
            for outcome in register.witness_round(&settings.witnesses, now_ms()).await? {
                match outcome {
                    lanyard_register::WitnessOutcome::Cosigned { .. } => {}
                    other if other.is_alarm() => eprintln!("error: {other}"),
                    other => eprintln!("warning: {other}"),
                }
            }
        }
    }
    Ok(())
}

/// Opens the register and the access service on one provider and ledger.
pub async fn open_services(settings: &Settings) -> Result<(Register, lanyard_access::Access, Ledger)> {
    let (provider, ledger) = open_ledger(settings).await?;
    let register = register_on(ledger.clone(), Arc::clone(&provider), settings).await?;
    let access = lanyard_access::Access::new(ledger.clone(), provider, lanyard_access::SessionPolicy::default());
    Ok((register, access, ledger))
}

async fn open_cards_on(settings: &Settings) -> Result<(Arc<Register>, Ledger, lanyard_cards::Cards)> {
    let (provider, ledger) = open_ledger(settings).await?;
    let register = Arc::new(register_on(ledger.clone(), provider, settings).await?);
    let cards = lanyard_cards::Cards::new(Arc::clone(&register), ledger.clone(), settings.issuer.clone());
    Ok((register, ledger, cards))
}

/// Opens the register and the cards service over it.
pub async fn open_cards(settings: &Settings) -> Result<(Arc<Register>, lanyard_cards::Cards)> {
    let (register, _, cards) = open_cards_on(settings).await?;
    Ok((register, cards))
}

/// Opens the register, the cards service and the supplier exchange.
pub async fn open_supply(settings: &Settings) -> Result<(lanyard_cards::Cards, lanyard_supply::Supply)> {
    let (register, ledger, cards) = open_cards_on(settings).await?;
    let supply = lanyard_supply::Supply::new(register, ledger, cards.clone(), settings.supply);
    Ok((cards, supply))
}

fn os_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".to_owned())
}

/// Host administration (init, keys, backups, audit checks), known as the
/// OS user. It holds the root passphrase by its nature.
pub fn host() -> Operator {
    Operator::local(Actor::os_user(&os_user()), false)
}

/// One of lanyard's own processes on the host (the server's checkpointer,
/// the watch, the demo's made-up staff), named by the code.
pub fn process(name: &str) -> Operator {
    Operator::local(Actor::operator(name), false)
}

/// An operator command in break-glass mode (`--local`): `local:USER`,
/// flagged on every event. Says so on stderr, once, before it acts.
pub fn break_glass(protected: bool) -> Operator {
    let user = os_user();
    // Said to a person at a terminal; a script's record is the flag on
    // every event, and its stderr stays one line per error.
    if std::io::stderr().is_terminal() {
        eprintln!(
            "break-glass: acting directly on the store as local:{user}; every event is flagged, and a card cannot be approved this way"
        );
    }
    Operator::local(Actor::break_glass(&user), protected)
}

pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    Ok(())
}
