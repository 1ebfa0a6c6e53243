//! `lanyard supplier` (the force's side), `lanyard batch` and `lanyard
//! drill`. The supplier's side (keygen, pull, open, confirm) is
//! `lanyard-agent`'s code, dispatched into. The printing is shared with
//! the signed-in path (`signed_in_supply.rs`), which gets the same values
//! from the server.

use anyhow::{Context, Result};
use lanyard_supply::{Batch, BatchCard, Created, Exposure, Supplier};

use crate::config;
use crate::context;
use crate::opts::{BatchCommand, Cli, DrillCommand, SupplierCommand};
use crate::output;

/// Break-glass: the supply service on the store, as `local:USER`.
async fn open(cli: &Cli) -> Result<(lanyard_supply::Supply, lanyard_register::Operator)> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let (_cards, supply) = context::open_supply(&settings).await?;
    Ok((supply, context::break_glass(false)))
}

pub async fn run(cli: &Cli, cmd: &SupplierCommand) -> Result<()> {
    if let SupplierCommand::Agent(agent) = cmd {
        return Ok(lanyard_agent::run(agent, cli.json).await?);
    }
    let (supply, op) = open(cli).await?;
    let now = context::now_ms();
    let (supplier, withdrawn) = match cmd {
        SupplierCommand::Add { name, recipient } => (supply.add_supplier(&op, name, recipient, now).await?, vec![]),
        SupplierCommand::List => return print_suppliers(cli, &supply.suppliers(now).await?),
        SupplierCommand::Disable { name } => supply.disable_supplier(&op, name, now).await?,
        SupplierCommand::RotateRecipient { name, recipient } => {
            supply.rotate_recipient(&op, name, recipient, now).await?
        }
        SupplierCommand::Agent(_) => return Ok(()),
    };
    let key = match cmd {
        SupplierCommand::Add { .. } => Some(supply.batch_key(&op, now).await?.to_key_string()),
        _ => None,
    };
    print_supplier_change(cli, &supplier, &withdrawn, key.as_deref())
}

pub(crate) fn print_suppliers(cli: &Cli, list: &[Supplier]) -> Result<()> {
    if cli.json {
        return output::json(&list);
    }
    for s in list {
        let state = if s.enabled { "enabled" } else { "disabled" };
        println!("{:<24} {:<9} {}", s.name, state, s.recipient);
    }
    Ok(())
}

/// A supplier added or changed; for a new one, the force's batch key to pin.
pub(crate) fn print_supplier_change(
    cli: &Cli,
    supplier: &Supplier,
    withdrawn: &[String],
    batch_key: Option<&str>,
) -> Result<()> {
    if cli.json {
        return output::json(&serde_json::json!({ "supplier": supplier, "withdrawn": withdrawn }));
    }
    let state = if supplier.enabled { "enabled" } else { "disabled" };
    println!("supplier {} ({state}), recipient {}", supplier.name, supplier.recipient);
    if let Some(key) = batch_key {
        println!("give the supplier the force's batch key to pin, by a channel you trust:");
        println!("  lanyard-agent trust --supplier {} --key {key}", supplier.name);
    }
    if !withdrawn.is_empty() {
        println!(
            "withdrew {} pending batch(es), their cards are queued again: {}",
            withdrawn.len(),
            withdrawn.join(", ")
        );
    }
    Ok(())
}

pub async fn batch(cli: &Cli, cmd: &BatchCommand) -> Result<()> {
    let (supply, op) = open(cli).await?;
    let now = context::now_ms();
    match cmd {
        BatchCommand::Create { supplier, max_cards } => {
            print_created(cli, &supply.create_batch(&op, supplier, *max_cards, now).await?)
        }
        BatchCommand::List { supplier, state } => {
            print_batches(cli, &supply.batches(supplier.as_deref(), *state, now).await?)
        }
        BatchCommand::Show { id } => print_batch(cli, &supply.batch(id, now).await?, &supply.batch_cards(id).await?),
        BatchCommand::Export { id, out } => {
            let file = supply.export(&op, id, now).await?;
            save_batch(cli, id, out, async |f: &mut std::fs::File| Ok(file.write_to(f).await?)).await
        }
        BatchCommand::SigningKey => print_batch_key(cli, &supply.batch_key(&op, now).await?.to_key_string()),
        BatchCommand::Expire => {
            let expired = supply.expire_due(&op, now).await?;
            if cli.json {
                return output::json(&serde_json::json!({ "expired": expired }));
            }
            println!("expired {} batch(es){}", expired.len(), list_suffix(&expired));
            Ok(())
        }
    }
}

pub(crate) fn print_created(cli: &Cli, created: &Created) -> Result<()> {
    if cli.json {
        return output::json(created);
    }
    let b = &created.batch;
    println!(
        "batch {} for {}: {} card(s), {} bytes sealed, expires {}",
        b.id,
        b.supplier,
        b.cards,
        b.size,
        output::date_time(b.expires_at)
    );
    if !created.held_back.is_empty() {
        println!(
            "held back {} card(s) of protected persons (print them in-house): {}",
            created.held_back.len(),
            created.held_back.join(", ")
        );
    }
    Ok(())
}

pub(crate) fn print_batches(cli: &Cli, list: &[Batch]) -> Result<()> {
    if cli.json {
        return output::json(&list);
    }
    for b in list {
        println!(
            "{:<12} {:<16} {:<10} {:>5} cards  downloads {}  expires {}",
            b.id,
            b.supplier,
            b.state,
            b.cards,
            b.downloads,
            output::date_time(b.expires_at)
        );
    }
    Ok(())
}

pub(crate) fn print_batch(cli: &Cli, b: &Batch, cards: &[BatchCard]) -> Result<()> {
    if cli.json {
        let cards: Vec<_> = cards
            .iter()
            .map(|c| serde_json::json!({ "card": c.card_id, "person": c.person_id, "outcome": c.outcome }))
            .collect();
        return output::json(&serde_json::json!({ "batch": b, "cards": cards }));
    }
    println!("batch {} for {}: {} ({} cards, {} bytes)", b.id, b.supplier, b.state, b.cards, b.size);
    for c in cards {
        println!("  {}  {}  {}", c.card_id, c.person_id, c.outcome.map_or("-", |o| o.as_str()));
    }
    Ok(())
}

/// A pending batch's sealed file, written where it must not exist yet.
/// Writes a batch file to `out`, which must not exist yet, from `fill`
/// (the store's chunks or the server's stream); a file not written whole
/// is removed, never left half-written.
pub(crate) async fn save_batch<F>(cli: &Cli, id: &str, out: &std::path::Path, fill: F) -> Result<()>
where
    F: AsyncFnOnce(&mut std::fs::File) -> Result<u64>,
{
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .with_context(|| format!("creating {} (it must not exist yet)", out.display()))?;
    let written = match fill(&mut file).await.and_then(|n| {
        file.sync_all().with_context(|| format!("writing {}", out.display()))?;
        Ok(n)
    }) {
        Ok(n) => n,
        Err(e) => {
            drop(file);
            let _ = std::fs::remove_file(out);
            return Err(e.context(format!("batch {id}: nothing was kept at {}", out.display())));
        }
    };
    if cli.json {
        return output::json(&serde_json::json!({ "batch": id, "out": out, "bytes": written }));
    }
    println!("batch {id} written to {} ({written} bytes, sealed to the supplier)", out.display());
    Ok(())
}

pub(crate) fn print_batch_key(cli: &Cli, key: &str) -> Result<()> {
    if cli.json {
        return output::json(&serde_json::json!({ "key": key }));
    }
    println!("{key}");
    Ok(())
}

fn list_suffix(ids: &[String]) -> String {
    if ids.is_empty() { String::new() } else { format!(": {}", ids.join(", ")) }
}

pub async fn drill(cli: &Cli, cmd: &DrillCommand) -> Result<()> {
    let DrillCommand::SupplierCompromise { name } = cmd;
    let (supply, op) = open(cli).await?;
    print_exposure(cli, &supply.drill(&op, name, context::now_ms()).await?)
}

pub(crate) fn print_exposure(cli: &Cli, r: &Exposure) -> Result<()> {
    if cli.json {
        return output::json(r);
    }
    let state = if r.enabled { "enabled" } else { "disabled" };
    println!("Supplier-compromise drill: {} ({state}) at {}", r.supplier, output::date_time(r.at));
    println!();
    println!("A full compromise of the supplier yields:");
    println!("  its private key      held by the supplier alone (public half {})", r.recipient);
    println!("  its tokens           {} live: each downloads every pending batch until revoked", r.tokens.len());
    for t in &r.tokens {
        println!("                       {} (expires {})", t.id, output::date_time(t.expires_at));
    }
    println!("  batches to download  {}", r.downloadable.len());
    for b in &r.downloadable {
        println!("                       {} ({} cards, expires {})", b.batch, b.cards, output::date_time(b.expires_at));
    }
    println!("  its spool            {} batch(es) downloaded, never confirmed, now closed", r.spool.len());
    for b in &r.spool {
        println!("                       {} ({} cards, {})", b.batch, b.cards, b.state);
    }
    println!();
    println!("People exposed: {}", r.people.len());
    println!("Fields, by people exposed:");
    for (field, n) in &r.fields {
        println!("  {field:<16} {n}");
    }
    if r.people.is_empty() {
        return Ok(());
    }
    println!();
    println!("People (ids), their cards and fields:");
    for p in &r.people {
        println!("  {}  {}  {}", p.person, p.cards.join(","), p.fields.join(","));
    }
    if r.tokens.is_empty() && r.downloadable.is_empty() {
        return Ok(());
    }
    println!();
    println!(
        "To contain: `lanyard supplier disable {}` destroys its pending batches and stops its tokens;",
        r.supplier
    );
    println!("revoke the tokens with `lanyard token revoke ID`; then scope with `lanyard breach scope`.");
    Ok(())
}
