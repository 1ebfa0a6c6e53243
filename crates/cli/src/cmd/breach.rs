//! `lanyard breach scope`: who was exposed, from the audit log alone.

use anyhow::{Context, Result, bail};
use lanyard_core::Compartment;
use lanyard_register::ScopeQuery;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::config;
use crate::context;
use crate::opts::{BreachCommand, Cli};
use crate::output;

/// RFC 3339, or a bare date taken as midnight UTC; unix milliseconds.
pub fn parse_time(flag: &str, text: &str) -> Result<i64> {
    let t = match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => t,
        Err(_) => time::Date::parse(text, format_description!("[year]-[month]-[day]"))
            .map(|d| d.midnight().assume_utc())
            .with_context(|| format!("--{flag}: expected RFC 3339 (2026-11-28T09:00:00Z) or YYYY-MM-DD"))?,
    };
    Ok(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
}

pub async fn run(cli: &Cli, cmd: &BreachCommand) -> Result<()> {
    let BreachCommand::Scope { actor, from, to, compartment } = cmd;
    let query = ScopeQuery {
        actor: actor.clone(),
        from_ms: from.as_deref().map(|t| parse_time("from", t)).transpose()?,
        to_ms: to.as_deref().map(|t| parse_time("to", t)).transpose()?,
        compartment: compartment.as_deref().map(str::parse::<Compartment>).transpose()?,
    };
    if let (Some(a), Some(b)) = (query.from_ms, query.to_ms)
        && a >= b
    {
        bail!("--from must be before --to");
    }
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let register = context::open_register(&settings).await?;
    let op = context::operator(cli.operator.as_deref(), false)?;
    let report = register.breach_scope(&op, query, context::now_ms()).await?;
    if cli.json {
        return output::json(&report);
    }
    println!(
        "{} people revealed by {} events (of {} in the log, complete up to the checkpoint below)",
        report.people.len(),
        report.events_matched,
        report.tree_size
    );
    for (c, n) in &report.people_per_compartment {
        println!("  {:<9} {n} people", c.as_str());
    }
    if !report.actors.is_empty() {
        let actors: Vec<&str> = report.actors.iter().map(String::as_str).collect();
        println!("actors: {}", actors.join(", "));
    }
    for x in &report.people {
        let comps: Vec<&str> = x.compartments.iter().map(|c| c.as_str()).collect();
        println!(
            "{}  {:<24} first {}  last {}  reads {}",
            x.person,
            comps.join(","),
            output::date_time(x.first_ms / 1000),
            output::date_time(x.last_ms / 1000),
            x.reads
        );
    }
    print!("\n{}", report.checkpoint);
    Ok(())
}
