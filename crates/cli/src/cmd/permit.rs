//! `lanyard zone`, `lanyard permit` and `lanyard access check`.

use anyhow::{Result, anyhow};
use lanyard_cards::AccessSubject;
use lanyard_core::PersonId;

use crate::Negative;
use crate::cmd::breach::parse_time;
use crate::config;
use crate::context;
use crate::opts::{AccessCommand, Cli, PermitCommand, ZoneCommand};
use crate::output;

async fn open(cli: &Cli) -> Result<(lanyard_cards::Cards, lanyard_register::Operator)> {
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let (_register, cards) = context::open_cards(&settings).await?;
    Ok((cards, context::break_glass(false)))
}

pub async fn zone(cli: &Cli, cmd: &ZoneCommand) -> Result<()> {
    let (cards, op) = open(cli).await?;
    match cmd {
        ZoneCommand::Add { code, name, accepts } => {
            let z = cards.add_zone(&op, code, name, accepts, context::now_ms()).await?;
            println!("zone {} ({}) accepts {}", z.code, z.name, z.accepts);
        }
        ZoneCommand::List => {
            let zones = cards.zones(context::now_ms()).await?;
            if cli.json {
                let list: Vec<_> = zones
                    .iter()
                    .map(|z| serde_json::json!({ "code": z.code, "name": z.name, "accepts": z.accepts }))
                    .collect();
                return output::json(&list);
            }
            for z in zones {
                println!("{:<16} {:<32} {}", z.code, z.name, z.accepts);
            }
        }
    }
    Ok(())
}

pub async fn permit(cli: &Cli, cmd: &PermitCommand) -> Result<()> {
    let (cards, op) = open(cli).await?;
    match cmd {
        PermitCommand::Grant { person, zone, from, to } => {
            let person: PersonId = person.parse()?;
            let (from, to) = (parse_time("from", from)? / 1000, parse_time("to", to)? / 1000);
            let p = cards.grant_permit(&op, person, zone, from, to, context::now_ms()).await?;
            if cli.json {
                return output::json(&serde_json::json!({ "id": p.id, "zone": p.zone, "from": from, "to": to }));
            }
            println!("permit {} for {} from {} to {}", p.id, p.zone, output::date_time(from), output::date_time(to));
        }
        PermitCommand::List { person } => {
            let person = person.as_deref().map(str::parse::<PersonId>).transpose()?;
            let permits = cards.permits(person, context::now_ms()).await?;
            if cli.json {
                let list: Vec<_> = permits
                    .iter()
                    .map(|p| {
                        serde_json::json!({ "id": p.id, "person": p.person_id, "zone": p.zone, "from": p.valid_from,
                            "to": p.valid_to, "revoked_at": p.revoked_at })
                    })
                    .collect();
                return output::json(&list);
            }
            for p in permits {
                let state = if p.revoked_at.is_some() { "revoked" } else { "live" };
                println!(
                    "{}  {:<16} {}  {} to {}  {state}",
                    p.id,
                    p.zone,
                    p.person_id,
                    output::date_time(p.valid_from),
                    output::date_time(p.valid_to)
                );
            }
        }
        PermitCommand::Revoke { id } => {
            let id: uuid::Uuid = id.parse().map_err(|_| anyhow!("not a permit id"))?;
            cards.revoke_permit(&op, id, context::now_ms()).await?;
            println!("permit {id} revoked");
        }
    }
    Ok(())
}

pub async fn access(cli: &Cli, cmd: &AccessCommand) -> Result<()> {
    let AccessCommand::Check { card, qr, zone, at } = cmd;
    let (cards, op) = open(cli).await?;
    let now = context::now_ms();
    let at = match at {
        Some(t) => parse_time("at", t)? / 1000,
        None => now / 1000,
    };
    let subject = match (card, qr) {
        (Some(c), None) => AccessSubject::Card(c),
        (None, Some(q)) => AccessSubject::Qr(q),
        _ => return Err(anyhow!("give --card or --qr")),
    };
    let d = cards.check_access(&op, subject, zone, at, now).await?;
    if cli.json {
        output::json(&d)?;
    } else {
        println!("{} ({})", if d.allow { "allow" } else { "deny" }, d.reason);
    }
    if !d.allow {
        return Err(Negative(format!("denied: {}", d.reason)).into());
    }
    Ok(())
}
