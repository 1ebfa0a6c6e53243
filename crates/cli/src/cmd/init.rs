//! `lanyard init`: configuration, root key, schema and data keys.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use lanyard_crypto::KeyProvider;

use crate::config::{
    self, CONFIG_FILE, DEFAULT_KEY_LABEL, FileConfig, KEYRING_FILE, ProviderConfig, ProviderSettings, Settings,
};
use crate::context;
use crate::opts::{Cli, InitArgs, ProviderKind};
use crate::output;

pub async fn run(cli: &Cli, args: &InitArgs) -> Result<()> {
    let settings = init_settings(cli, args)?;
    context::ensure_dir(&settings.data_dir)?;
    let provider = context::create_provider(&settings)?;
    init_with(&settings, provider).await?;
    if cli.json {
        output::json(&serde_json::json!({
            "data_dir": settings.data_dir,
            "key_provider": match settings.provider { ProviderSettings::Keyring { .. } => "keyring", ProviderSettings::Pkcs11 { .. } => "pkcs11" },
            "database": if settings.database_url.is_some() { "postgres" } else { "sqlite" },
        }))
    } else {
        println!("initialised a new register in {}", settings.data_dir.display());
        println!("next: lanyard person add --help, or lanyard person import FILE.csv");
        Ok(())
    }
}

pub fn init_settings(cli: &Cli, args: &InitArgs) -> Result<Settings> {
    if config::read_file(&cli.data_dir)?.is_some() {
        bail!("{} already holds a lanyard configuration; refusing to overwrite it", cli.data_dir.display());
    }
    let provider = match args.key_provider {
        ProviderKind::Keyring => ProviderSettings::Keyring { path: cli.data_dir.join(KEYRING_FILE) },
        ProviderKind::Pkcs11 => ProviderSettings::Pkcs11 {
            module: args.pkcs11.pkcs11_module.clone().context("--key-provider pkcs11 needs --pkcs11-module")?,
            token: args.pkcs11.pkcs11_token.clone(),
            slot: args.pkcs11.pkcs11_slot,
            key_label: args.pkcs11.pkcs11_key_label.clone().unwrap_or_else(|| DEFAULT_KEY_LABEL.into()),
        },
    };
    if let ProviderSettings::Pkcs11 { token: None, slot: None, .. } = provider {
        bail!("--key-provider pkcs11 needs --pkcs11-token or --pkcs11-slot");
    }
    Ok(Settings::defaults(cli.data_dir.clone(), cli.database_url.clone(), provider))
}

/// Creates the data directory, root key, schema and keys, then writes the
/// configuration last, so a failed init leaves no half-made register behind
/// that later commands would mistake for a real one.
pub async fn init_with(settings: &Settings, provider: Arc<dyn KeyProvider>) -> Result<()> {
    context::ensure_dir(&settings.data_dir)?;
    let store = context::open_store(settings, true).await?;
    let op = context::host();
    let register =
        lanyard_register::Register::init(lanyard_audit::Ledger::new(store.clone()), provider, &op, context::now_ms())
            .await?;
    // The log is signed from its first event: `audit verify` refuses a log
    // with events and no checkpoint.
    register.checkpoint(&op, None, context::now_ms()).await?;
    store.close().await;
    let file = FileConfig {
        config_version: 1,
        database_url: settings.database_url.clone(),
        key_provider: match &settings.provider {
            ProviderSettings::Keyring { .. } => ProviderConfig { kind: Some("keyring".into()), ..Default::default() },
            ProviderSettings::Pkcs11 { module, token, slot, key_label } => ProviderConfig {
                kind: Some("pkcs11".into()),
                pkcs11_module: Some(module.clone()),
                pkcs11_token: token.clone(),
                pkcs11_slot: *slot,
                pkcs11_key_label: Some(key_label.clone()),
            },
        },
        // Written out so the operator sees what verifiers will be told.
        issuer: Some(crate::config::IssuerFileConfig {
            id: Some(settings.issuer.issuer.clone()),
            status_list_uri: Some(settings.issuer.status_list_uri.clone()),
            status_list_ttl_s: Some(settings.issuer.list_ttl_s),
            force_name: Some(settings.issuer.force_name.clone()),
            return_address: Some(settings.issuer.return_address.clone()),
        }),
        supply: Some(crate::config::SupplyFileConfig {
            batch_ttl_s: Some(settings.supply.batch_ttl_s),
            max_cards: Some(settings.supply.max_cards),
            ..Default::default()
        }),
        guard: settings.guard_fingerprints.as_ref().map(|path| crate::config::GuardFileConfig {
            // Relative paths in lanyard.toml are read from the data
            // directory, so one inside it is written relative to it.
            fingerprints: Some(path.strip_prefix(&settings.data_dir).unwrap_or(path).to_owned()),
            export_every_s: settings.guard_export_every_s,
            ..Default::default()
        }),
        // Written out so the force sees where its own purpose codes go.
        purposes: Some(crate::config::PurposesFileConfig { codes: vec![] }),
        witness: None,
        audit: None,
        watch: None,
        backup: None,
    };
    let text = toml::to_string(&file).context("writing the configuration")?;
    let path = settings.data_dir.join(CONFIG_FILE);
    std::fs::write(&path, format!("# lanyard configuration (see README)\n{text}"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
