//! Supplier, batch, drill, breach and audit-note commands as a signed-in user: requests
//! to the server, whose gate decides who may do what. The answers print
//! through the same functions as break-glass (`supplier.rs`, `breach.rs`),
//! so both modes read alike; this file holds no authorization rule.

use std::collections::HashMap;

use anyhow::{Result, bail};
use lanyard_client::{Call, Client, ClientError, endpoints as ep};
use lanyard_core::PersonId;
use lanyard_register::ScopeReport;
use lanyard_supply::{Batch, BatchCard, Created, Exposure, Supplier};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cmd::{breach, supplier as print};
use crate::opts::{BatchCommand, BreachCommand, Cli, DrillCommand, SupplierCommand};

#[derive(Deserialize)]
struct SupplierChange {
    supplier: Supplier,
    withdrawn: Vec<String>,
}

#[derive(Deserialize)]
struct BatchShow {
    batch: Batch,
    cards: Vec<BatchCard>,
}

#[derive(Deserialize)]
struct BatchKey {
    key: String,
}

pub async fn supplier(cli: &Cli, client: &Client, cmd: &SupplierCommand) -> Result<()> {
    let (change, key) = match cmd {
        SupplierCommand::Agent(_) => {
            bail!("the supplier's own commands run as `lanyard supplier agent`, not signed in")
        }
        SupplierCommand::List => {
            let list: Vec<Supplier> = client.json(&ep::SUPPLIERS, Call::default()).await?;
            return print::print_suppliers(cli, &list);
        }
        SupplierCommand::Add { name, recipient } => {
            let body = json!({ "name": name, "recipient": recipient });
            let added: Supplier = client.json(&ep::SUPPLIER_ADD, Call { body: Some(body), ..Call::default() }).await?;
            let key: BatchKey = client.json(&ep::BATCH_KEY, Call::default()).await?;
            (SupplierChange { supplier: added, withdrawn: Vec::new() }, Some(key.key))
        }
        SupplierCommand::Disable { name } => {
            (client.json(&ep::SUPPLIER_DISABLE, Call { params: &[name], ..Call::default() }).await?, None)
        }
        SupplierCommand::RotateRecipient { name, recipient } => {
            let call = Call { params: &[name], body: Some(json!({ "recipient": recipient })), ..Call::default() };
            (client.json(&ep::SUPPLIER_RECIPIENT, call).await?, None)
        }
    };
    print::print_supplier_change(cli, &change.supplier, &change.withdrawn, key.as_deref())
}

pub async fn batch(cli: &Cli, client: &Client, cmd: &BatchCommand) -> Result<()> {
    match cmd {
        BatchCommand::Create { supplier, max_cards } => {
            let body = json!({ "supplier": supplier, "max_cards": max_cards });
            let created: Created = client.json(&ep::BATCH_CREATE, Call { body: Some(body), ..Call::default() }).await?;
            print::print_created(cli, &created)
        }
        BatchCommand::List { supplier, state } => {
            let mut query = Vec::new();
            if let Some(s) = supplier {
                query.push(("supplier", s.clone()));
            }
            if let Some(s) = state {
                query.push(("state", s.as_str().to_owned()));
            }
            let list: Vec<Batch> = client.json(&ep::BATCHES, Call { query: &query, ..Call::default() }).await?;
            print::print_batches(cli, &list)
        }
        BatchCommand::Show { id } => {
            let shown: BatchShow = client.json(&ep::BATCH, Call { params: &[id], ..Call::default() }).await?;
            print::print_batch(cli, &shown.batch, &shown.cards)
        }
        BatchCommand::Export { id, out } => {
            print::save_batch(cli, id, out, async |f: &mut std::fs::File| {
                Ok(client.download(&ep::BATCH_FILE, Call { params: &[id], ..Call::default() }, f).await?)
            })
            .await
        }
        BatchCommand::SigningKey => {
            let key: BatchKey = client.json(&ep::BATCH_KEY, Call::default()).await?;
            print::print_batch_key(cli, &key.key)
        }
        BatchCommand::Expire => bail!(
            "the server expires due batches itself (every [supply] sweep); nothing to do signed in. On the \
             register host, --local expires them now"
        ),
    }
}

pub async fn drill(cli: &Cli, client: &Client, cmd: &DrillCommand) -> Result<()> {
    let DrillCommand::SupplierCompromise { name } = cmd;
    let report: Exposure = client.json(&ep::SUPPLIER_EXPOSURE, Call { params: &[name], ..Call::default() }).await?;
    print::print_exposure(cli, &report)
}

/// `breach scope` through the server; with `--letters`, each person's name
/// is read through the server too, one audited read each under the
/// letters' purpose. A name the caller may not read leaves that letter
/// addressed by reference.
pub async fn breach(cli: &Cli, client: &Client, cmd: &BreachCommand) -> Result<()> {
    let query = breach::query_of(cmd)?;
    let body = json!({
        "actor": query.actor,
        "from_ms": query.from_ms,
        "to_ms": query.to_ms,
        "compartment": query.compartment.map(|c| c.as_str()),
    });
    let report: ScopeReport = client.json(&ep::BREACH_SCOPE, Call { body: Some(body), ..Call::default() }).await?;
    let BreachCommand::Scope { letters, .. } = cmd;
    let mut names: HashMap<PersonId, String> = HashMap::new();
    if letters.is_some() {
        for x in &report.people {
            let id = x.person.to_string();
            let query = [("compartments", "identity".to_owned())];
            let call =
                Call { params: &[&id], query: &query, purpose: Some(breach::LETTERS_PURPOSE), ..Call::default() };
            let person: Value = match client.json(&ep::PERSON, call).await {
                Ok(p) => p,
                // Not readable by this role, withheld, or erased: by reference.
                Err(ClientError::Refused { status: 403 | 404 | 410, .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let text = |k: &str| person.pointer(&format!("/identity/{k}")).and_then(Value::as_str).map(str::to_owned);
            if let (Some(f), Some(s)) = (text("forenames"), text("surname")) {
                names.insert(x.person, format!("{f} {s}"));
            }
        }
    }
    breach::answer(cli, cmd, &report, &names)
}

#[derive(Deserialize, serde::Serialize)]
struct OpenedNote {
    index: u64,
    code: Option<String>,
    note: String,
}

/// `audit note N` as the signed-in auditor: the server opens the note and
/// audits the opening first.
pub async fn audit_note(cli: &Cli, client: &Client, index: u64) -> Result<()> {
    let index_text = index.to_string();
    let opened: OpenedNote = client.json(&ep::AUDIT_NOTE, Call { params: &[&index_text], ..Call::default() }).await?;
    if cli.json {
        return crate::output::json(&opened);
    }
    crate::cmd::audit::print_note(opened.index, opened.code.as_deref(), &opened.note);
    Ok(())
}
