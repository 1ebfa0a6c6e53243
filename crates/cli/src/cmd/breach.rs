//! `lanyard breach scope`: who was exposed, from the audit log alone. The
//! query's flags and the answer's text, JSON and drafts are here, shared by
//! break-glass (`run`) and signed in (`signed_in_supply.rs`), which obtain
//! the report their own way.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};

use lanyard_core::{Compartment, PersonId};
use lanyard_register::{ScopeQuery, ScopeReport};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::Negative;
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

/// The query the flags ask for, checked before anything is read.
pub(crate) fn query_of(cmd: &BreachCommand) -> Result<ScopeQuery> {
    let BreachCommand::Scope { actor, from, to, compartment, .. } = cmd;
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
    Ok(query)
}

/// The purpose recorded when the letters' names are read.
pub(crate) const LETTERS_PURPOSE: &str = "breach_investigation: notification letters (UK GDPR Art. 34)";

/// Break-glass: the scope from the store, as `local:USER`.
pub async fn run(cli: &Cli, cmd: &BreachCommand) -> Result<()> {
    let query = query_of(cmd)?;
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let register = context::open_register(&settings).await?;
    let op = context::break_glass(false);
    let report = register.breach_scope(&op, query, context::now_ms()).await?;
    let BreachCommand::Scope { letters, .. } = cmd;
    let names = match letters {
        Some(_) if !report.people.is_empty() => names_from(&register, &op, &report).await?,
        _ => HashMap::new(),
    };
    answer(cli, cmd, &report, &names)
}

/// Each person's name, for their letter: read through the register, so the
/// reading is audited with its purpose; a protected person's name stays
/// withheld from an operator without that clearance.
async fn names_from(
    register: &lanyard_register::Register,
    op: &lanyard_register::Operator,
    report: &ScopeReport,
) -> Result<HashMap<PersonId, String>> {
    let ids: Vec<_> = report.people.iter().map(|x| x.person).collect();
    let revealed =
        register.show_many(op, &ids, &[Compartment::Identity], Some(LETTERS_PURPOSE), context::now_ms()).await?;
    Ok(revealed
        .into_iter()
        .filter_map(|r| match (&r.record.forenames, &r.record.surname) {
            (Some(f), Some(s)) => Some((r.id, format!("{f} {s}"))),
            _ => None,
        })
        .collect())
}

/// What a scope prints and writes, however it was obtained: the text or
/// JSON answer, the Art. 33 draft, and one Art. 34 draft per person,
/// addressed by `names` where a name was read (by id otherwise).
pub(crate) fn answer(
    cli: &Cli,
    cmd: &BreachCommand,
    report: &ScopeReport,
    names: &HashMap<PersonId, String>,
) -> Result<()> {
    let BreachCommand::Scope { actor, report: report_file, letters, .. } = cmd;
    // A name that never acted here is most likely mistyped: "0 people
    // revealed" would read as a clean answer.
    if let (Some(actor), Some(0)) = (actor, report.actor_events) {
        return Err(Negative(format!(
            "{actor} never appears as an actor in the log ({} events, up to the checkpoint below); check the \
             name with 'lanyard user list' or 'lanyard token list', or give a kind such as 'supplier'\n\n{}",
            report.tree_size, report.checkpoint
        ))
        .into());
    }
    if let Some(path) = report_file {
        std::fs::write(path, lanyard_register::drafts::art33_report(report))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote a draft Art. 33 report to {}", path.display());
    }
    if let Some(dir) = letters {
        context::ensure_dir(dir)?;
        for exposure in &report.people {
            let addressee = names.get(&exposure.person).map(String::as_str);
            let letter = lanyard_register::drafts::art34_notice(exposure, addressee, &report.checkpoint);
            write_private(&dir.join(format!("{}.html", exposure.person)), letter.as_bytes())?;
        }
        eprintln!("wrote {} draft Art. 34 notices to {}", report.people.len(), dir.display());
        let unnamed = report.people.iter().filter(|x| !names.contains_key(&x.person)).count();
        if unnamed > 0 {
            eprintln!(
                "{unnamed} of them are addressed by reference only (protected, erased, or a name you may not read): \
                 route them through the protected-persons officer"
            );
        }
    }
    if cli.json {
        return output::json(report);
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

/// Creates `path` readable by its owner only; never overwrites.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("creating {} (it must not exist)", path.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}
