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
        std::fs::write(path, ico_report(report).into_string())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote a draft Art. 33 report to {}", path.display());
    }
    if let Some(dir) = letters {
        context::ensure_dir(dir)?;
        for exposure in &report.people {
            let letter = notice(exposure, names.get(&exposure.person).map(String::as_str), &report.checkpoint);
            write_private(&dir.join(format!("{}.html", exposure.person)), letter.into_string().as_bytes())?;
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

fn plain(name: &str) -> String {
    name.replace('_', " ")
}

/// A draft notice to one person under UK GDPR Art. 34: what the log shows
/// about their data, with the parts only people can write left marked.
fn notice(x: &lanyard_register::Exposure, addressee: Option<&str>, checkpoint: &str) -> maud::Markup {
    maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Notice of a personal data breach (draft)" }
                style { "body{font-family:sans-serif;max-width:45em;margin:2em auto}.todo{background:#fff3b0}" }
            }
            body {
                p { "Reference: " code { (x.person) } }
                @match addressee {
                    Some(name) => p { "Dear " (name) "," },
                    None => p.todo { "Addressee withheld (protected person or erased record): route through the protected-persons officer." },
                }
                p { "We are writing to tell you about a breach of security affecting personal data we hold about you in the force's ID-card register." }
                h2 { "What happened" }
                p.todo { "Narrative: to complete." }
                p { "Our audit log shows that your data was accessed between "
                    (output::date_time(x.first_ms / 1000)) " and " (output::date_time(x.last_ms / 1000))
                    " (" (x.reads) " recorded access" @if x.reads != 1 { "es" } ")." }
                h2 { "What data of yours was involved" }
                ul {
                    @for c in &x.compartments {
                        li {
                            strong { (c.as_str()) } ": "
                            (x.fields.iter().filter(|f| f.compartment() == *c).map(|f| plain(f.as_str())).collect::<Vec<_>>().join(", "))
                        }
                    }
                }
                h2 { "Likely consequences" }
                ul { @for c in &x.compartments { li { (consequence(*c)) } } }
                h2 { "What we have done and what you can do" }
                p.todo { "Measures taken, advice (e.g. on personal security and fraud), and support offered: to complete." }
                h2 { "Contact" }
                p.todo { "Data protection officer's name and contact details: to complete." }
                h2 { "Evidence" }
                p { "This notice was prepared from the register's tamper-evident audit log, complete up to this signed checkpoint:" }
                pre { (checkpoint) }
            }
        }
    }
}

fn consequence(c: Compartment) -> &'static str {
    match c {
        Compartment::Identity => {
            "Names, ranks, units and service numbers of police officers and staff can be used to locate, \
             target or impersonate them; for officers in sensitive roles the risk to safety is serious."
        }
        Compartment::Photo => "Photographs allow officers and staff to be recognised, including off duty.",
        Compartment::Vetting => {
            "Vetting levels show who holds security clearances, which helps anyone seeking to target or \
             approach them."
        }
        Compartment::Pay => {
            "Salary and pay grade expose financial circumstances and can be used for fraud or pressure."
        }
    }
}

/// A draft for the ICO (UK GDPR Art. 33): what the log can state is filled
/// in; what only people can write is left as marked fields. Names nobody.
fn ico_report(r: &ScopeReport) -> maud::Markup {
    let window = |ms: Option<i64>| ms.map(|m| output::date_time(m / 1000)).unwrap_or_else(|| "—".into());
    let first = r.people.iter().map(|x| x.first_ms).min();
    let last = r.people.iter().map(|x| x.last_ms).max();
    maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Personal data breach report (draft)" }
                style { "body{font-family:sans-serif;max-width:50em;margin:2em auto}td,th{border:1px solid #999;padding:.3em}table{border-collapse:collapse}.todo{background:#fff3b0}" }
            }
            body {
                h1 { "Personal data breach report — draft under UK GDPR Article 33" }
                p { "Prepared by lanyard from its tamper-evident audit log. Sections marked " span.todo { "to complete" } " need a person." }
                h2 { "1. Contact point" }
                p.todo { "Name and contact details of the data protection officer or other contact point: to complete." }
                h2 { "2. Nature of the breach" }
                table {
                    tr { th { "Actor(s) in scope" } td { @if r.actors.is_empty() { "none found" } @else { (r.actors.iter().cloned().collect::<Vec<_>>().join(", ")) } } }
                    tr { th { "Window asked" } td { (window(r.query.from_ms)) " to " (window(r.query.to_ms)) } }
                    tr { th { "First and last access found" } td { (window(first)) " to " (window(last)) } }
                    tr { th { "Audited accesses" } td { (r.events_matched) } }
                    tr { th { "Evidence" } td { "Audit log checkpoint of " (r.tree_size) " events (signed); the answer is complete up to it." } }
                }
                p.todo { "Narrative: how the breach happened and was discovered: to complete." }
                h2 { "3. Categories and approximate numbers" }
                p { "Data subjects: police officers and staff. Number affected: " strong { (r.people.len()) } "." }
                table {
                    tr { th { "Category of personal data" } th { "People affected" } }
                    @for (c, n) in &r.people_per_compartment {
                        tr { td { (c.as_str()) } td { (n) } }
                    }
                }
                h2 { "4. Likely consequences" }
                ul {
                    @for c in r.people_per_compartment.keys() {
                        li { (consequence(*c)) }
                    }
                }
                h2 { "5. Measures taken or proposed" }
                p.todo { "Containment (credentials revoked, supplier access stopped), notification of affected people (Art. 34), and steps to prevent recurrence: to complete." }
                h2 { "Signed checkpoint" }
                pre { (r.checkpoint) }
            }
        }
    }
}
