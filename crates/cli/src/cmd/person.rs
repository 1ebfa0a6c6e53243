//! `lanyard person …`: the register's people.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use lanyard_core::{Compartment, Field, PersonId, PersonRecord};
use lanyard_register::import::{self, Options};
use lanyard_register::{Lookup, Operator, PROTECTED_MARK, Register, Revealed};

use crate::Negative;
use crate::config;
use crate::context;
use crate::opts::{Clearance, Cli, FieldArgs, PersonCommand, RevealArgs};
use crate::output;

pub async fn run(cli: &Cli, cmd: &PersonCommand) -> Result<()> {
    // Check what can be checked before asking for a passphrase.
    preflight(cmd)?;
    let settings = config::load(&cli.data_dir, cli.database_url.as_deref())?;
    let register = context::open_register(&settings).await?;
    match cmd {
        PersonCommand::Add { fields, protected } => add(cli, &register, fields, *protected).await,
        PersonCommand::Show { id, reveal, photo_out } => show(cli, &register, id, reveal, photo_out.as_deref()).await,
        PersonCommand::List { reveal, limit, after } => list(cli, &register, reveal, *limit, after.as_deref()).await,
        PersonCommand::Find { service_number, surname, email, forenames, rank, reveal } => {
            let lookup = match (service_number, surname, email) {
                (Some(v), _, _) => Lookup::ServiceNumber(v),
                (_, Some(v), _) => Lookup::Surname(v),
                (_, _, Some(v)) => Lookup::Email(v),
                _ => bail!("name one of --service-number, --surname or --email"),
            };
            let filters = Filters { forenames: forenames.as_deref(), rank: rank.as_deref() };
            find(cli, &register, lookup, &filters, reveal).await
        }
        PersonCommand::Update { id, fields, protected } => update(cli, &register, id, fields, *protected).await,
        PersonCommand::Erase { id, yes } => erase(cli, &register, id, *yes).await,
        PersonCommand::Import { file, photos, strict, ignore_unknown } => {
            import_file(cli, &register, file, photos.as_deref(), *strict, *ignore_unknown).await
        }
        PersonCommand::Export { reveal, out, photos_out, recipient } => {
            export(cli, &register, reveal, out.as_deref(), photos_out.as_deref(), recipient.as_deref()).await
        }
    }
}

fn preflight(cmd: &PersonCommand) -> Result<()> {
    match cmd {
        PersonCommand::Show { id, reveal, .. } => {
            id.parse::<PersonId>()?;
            compartments(reveal)?;
        }
        PersonCommand::Find { reveal, forenames, rank, .. } if reveal.compartments.is_some() => {
            let comps = compartments(reveal)?;
            if (forenames.is_some() || rank.is_some()) && !comps.contains(&Compartment::Identity) {
                bail!("--forenames and --rank filter on the identity compartment: add identity to --compartments");
            }
        }
        PersonCommand::Export { reveal, recipient, .. } => {
            compartments(reveal)?;
            if let Some(r) = recipient {
                lanyard_register::check_recipient(r)?;
            }
        }
        PersonCommand::Update { id, .. } | PersonCommand::Erase { id, .. } => {
            id.parse::<PersonId>()?;
        }
        PersonCommand::Import { file, .. } if !file.is_file() => {
            bail!("{}: no such file", file.display());
        }
        _ => {}
    }
    Ok(())
}

fn compartments(reveal: &RevealArgs) -> Result<Vec<Compartment>> {
    match &reveal.compartments {
        Some(list) => Ok(Compartment::parse_list(list)?),
        None => bail!("name the compartments to reveal with --compartments (identity, photo, vetting, pay)"),
    }
}

fn operator(cli: &Cli, reveal: Option<&RevealArgs>) -> Result<Operator> {
    let clearance = reveal.and_then(|r| r.clearance) == Some(Clearance::Protected);
    let _ = cli;
    Ok(context::break_glass(clearance))
}

/// A photo file, refused before it is read when it is over the limit.
pub(crate) fn read_photo(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}: cannot read the photo", path.display()))?;
    if meta.len() > lanyard_register::MAX_PHOTO_BYTES as u64 {
        bail!(
            "{}: photo refused: larger than {} MiB",
            path.display(),
            lanyard_register::MAX_PHOTO_BYTES / (1024 * 1024)
        );
    }
    std::fs::read(path).with_context(|| format!("{}: cannot read the photo", path.display()))
}

fn record_from(args: &FieldArgs, register: &Register) -> Result<PersonRecord> {
    let mut record = PersonRecord::default();
    let texts = [
        (Field::ServiceNumber, &args.service_number),
        (Field::Forenames, &args.forenames),
        (Field::Surname, &args.surname),
        (Field::Rank, &args.rank),
        (Field::Unit, &args.unit),
        (Field::Email, &args.email),
        (Field::VettingLevel, &args.vetting_level),
        (Field::VettingExpiry, &args.vetting_expiry),
        (Field::Salary, &args.salary),
        (Field::PayGrade, &args.pay_grade),
    ];
    for (field, value) in texts {
        if let Some(v) = value {
            record.set_from_text(field, v, register.ranks())?;
        }
    }
    if let Some(path) = &args.photo {
        record.photo = Some(read_photo(path)?);
    }
    Ok(record)
}

async fn add(cli: &Cli, register: &Register, fields: &FieldArgs, protected: bool) -> Result<()> {
    let record = record_from(fields, register)?;
    let op = operator(cli, None)?;
    let id = register.add(&op, record, protected, context::now_ms()).await?;
    if cli.json {
        output::json(&serde_json::json!({ "id": id }))
    } else {
        println!("added person {id}");
        Ok(())
    }
}

async fn show(cli: &Cli, register: &Register, id: &str, reveal: &RevealArgs, photo_out: Option<&Path>) -> Result<()> {
    let id: PersonId = id.parse()?;
    let comps = compartments(reveal)?;
    let op = operator(cli, Some(reveal))?;
    let person = register.show(&op, id, &comps, reveal.purpose.as_deref(), context::now_ms()).await?;
    if let (Some(path), Some(photo)) = (photo_out, &person.record.photo) {
        std::fs::write(path, photo).with_context(|| format!("writing {}", path.display()))?;
    }
    if cli.json {
        return output::json(&output::revealed_json(&person, &comps));
    }
    output::print_revealed(&person, &comps);
    if person.status == lanyard_core::PersonStatus::Erased {
        println!("  (erased: nothing of this person can be decrypted)");
    }
    Ok(())
}

async fn list(cli: &Cli, register: &Register, reveal: &RevealArgs, limit: i64, after: Option<&str>) -> Result<()> {
    let after = after.map(str::parse::<PersonId>).transpose()?;
    let page = register.list(after, limit).await?;
    // A full page may have more behind it: the cursor to page on.
    let next = (i64::try_from(page.len()).unwrap_or(i64::MAX) >= limit).then(|| page.last().map(|s| s.id)).flatten();
    if reveal.compartments.is_some() {
        // Revealing a page is a read like any other: compartments and purpose.
        let comps = compartments(reveal)?;
        let op = operator(cli, Some(reveal))?;
        let mut shown = Vec::new();
        for s in &page {
            if s.status == lanyard_core::PersonStatus::Active {
                shown.push(register.show(&op, s.id, &comps, reveal.purpose.as_deref(), context::now_ms()).await?);
            }
        }
        if cli.json {
            let people: Vec<_> = shown.iter().map(|p| output::revealed_json(p, &comps)).collect();
            return output::json(&people);
        }
        for p in &shown {
            output::print_revealed(p, &comps);
        }
        return Ok(());
    }
    let counts = register.counts().await?;
    if cli.json {
        let counts: serde_json::Map<String, serde_json::Value> =
            counts.iter().map(|(s, n)| (s.clone(), serde_json::json!(n))).collect();
        return output::json(&serde_json::json!({ "people": page, "counts": counts, "next_after": next }));
    }
    for s in &page {
        println!("{}  {:<7} {}", s.id, s.status.as_str(), if s.protected { "protected" } else { "" });
    }
    let totals: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!("total: {}", if totals.is_empty() { "0".to_owned() } else { totals.join(", ") });
    if let Some(id) = next {
        println!("more: lanyard person list --limit {limit} --after {id}");
    }
    Ok(())
}

/// `person find`'s narrowing filters, on the identity compartment.
struct Filters<'a> {
    forenames: Option<&'a str>,
    rank: Option<&'a str>,
}

impl Filters<'_> {
    fn keep(&self, p: &lanyard_register::Revealed) -> bool {
        let has = |value: &Option<String>, wanted: &str, whole: bool| {
            value.as_deref().is_some_and(|v| {
                let (v, w) = (v.to_lowercase(), wanted.trim().to_lowercase());
                if whole { v == w } else { v.contains(&w) }
            })
        };
        self.forenames.is_none_or(|f| has(&p.record.forenames, f, false))
            && self.rank.is_none_or(|r| has(&p.record.rank, r, true))
    }
}

async fn find(
    cli: &Cli,
    register: &Register,
    lookup: Lookup<'_>,
    filters: &Filters<'_>,
    reveal: &RevealArgs,
) -> Result<()> {
    // By default a short list from the identity compartment alone (and the
    // read is recorded as that): the full record is for the one picked.
    let short = reveal.compartments.is_none();
    let comps = if short { vec![Compartment::Identity] } else { compartments(reveal)? };
    let op = operator(cli, Some(reveal))?;
    let mut found = register.find(&op, lookup, &comps, reveal.purpose.as_deref(), context::now_ms()).await?;
    found.retain(|p| filters.keep(p));
    if short {
        if cli.json {
            let people: Vec<_> = found
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "id": p.id, "service_number": p.record.service_number,
                        "name": name_of(p), "rank": p.record.rank, "withheld": p.withheld,
                    })
                })
                .collect();
            output::json(&people)?;
        } else {
            for p in &found {
                let sn = p.record.service_number.as_deref().unwrap_or("[protected]");
                let rank = p.record.rank.as_deref().unwrap_or("");
                println!("{}  {sn:<12} {:<32} {rank}", p.id, name_of(p));
            }
            if !found.is_empty() {
                println!("then: lanyard person show ID --compartments … --purpose …");
            }
        }
        if found.is_empty() {
            return Err(Negative("no match".into()).into());
        }
        return Ok(());
    }
    if cli.json {
        let people: Vec<_> = found.iter().map(|p| output::revealed_json(p, &comps)).collect();
        output::json(&people)?;
    } else {
        for p in &found {
            output::print_revealed(p, &comps);
        }
    }
    if found.is_empty() {
        return Err(Negative("no match".into()).into());
    }
    Ok(())
}

async fn update(cli: &Cli, register: &Register, id: &str, fields: &FieldArgs, protected: Option<bool>) -> Result<()> {
    let id: PersonId = id.parse()?;
    let changes = record_from(fields, register)?;
    if !Field::ALL.iter().any(|f| changes.has(*f)) && protected.is_none() {
        bail!("nothing to change: give at least one field flag or --protected");
    }
    let op = operator(cli, None)?;
    register.update(&op, id, changes, protected, context::now_ms()).await?;
    if cli.json {
        output::json(&serde_json::json!({ "id": id, "updated": true }))
    } else {
        println!("updated person {id}");
        Ok(())
    }
}

/// Asks before an erase, unless `--yes`.
pub(crate) fn confirm_erase(id: &str, yes: bool) -> Result<()> {
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("erase is irreversible; pass --yes to confirm");
        }
        eprint!("Erase person {id}? Nothing of them can be recovered. Type 'erase' to confirm: ");
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != "erase" {
            bail!("not confirmed; nothing erased");
        }
    }
    Ok(())
}

async fn erase(cli: &Cli, register: &Register, id: &str, yes: bool) -> Result<()> {
    let id: PersonId = id.parse()?;
    confirm_erase(&id.to_string(), yes)?;
    let op = operator(cli, None)?;
    register.erase(&op, id, context::now_ms()).await?;
    if cli.json {
        output::json(&serde_json::json!({ "id": id, "erased": true }))
    } else {
        println!("erased person {id}: keys destroyed, record is now a tombstone");
        Ok(())
    }
}

async fn import_file(
    cli: &Cli,
    register: &Register,
    file: &Path,
    photos: Option<&Path>,
    strict: bool,
    ignore_unknown: bool,
) -> Result<()> {
    let reader = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let parser = import::Parser::new(
        std::io::BufReader::new(reader),
        register.ranks(),
        Options { photos_dir: photos, ignore_unknown },
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let op = operator(cli, None)?;
    let bar = output::progress(None, "importing");
    let (outcome, parser) = register.import_from(&op, parser, strict, context::now_ms(), &|n| bar.inc(n)).await?;
    bar.finish_and_clear();
    let errors = parser.into_errors();
    for e in &errors {
        eprintln!("{}: {e}", file.display());
    }
    let invalid = errors.len();
    if outcome.rolled_back {
        bail!("{}: {invalid} invalid rows; --strict imports nothing", file.display());
    }
    if cli.json {
        output::json(&serde_json::json!({
            "imported": outcome.imported.len(),
            "already_registered": outcome.already_registered.len(),
            "invalid": errors,
        }))?;
    } else {
        println!(
            "imported {} people; {} already registered (left unchanged); {} invalid rows",
            outcome.imported.len(),
            outcome.already_registered.len(),
            invalid
        );
    }
    if invalid > 0 {
        bail!("{}: {invalid} invalid rows were not imported (listed above)", file.display());
    }
    Ok(())
}

/// The export CSV columns for the revealed compartments, in DESIGN §8 order.
pub(crate) fn export_columns(comps: &[Compartment]) -> Vec<&'static str> {
    import::COLUMNS
        .iter()
        .copied()
        .filter(|c| {
            let field = if *c == "photo" { Some(Field::Photo) } else { c.parse::<Field>().ok() };
            field.is_some_and(|f| comps.contains(&f.compartment()))
        })
        .collect()
}

async fn export(
    cli: &Cli,
    register: &Register,
    reveal: &RevealArgs,
    out: Option<&Path>,
    photos_out: Option<&Path>,
    recipient: Option<&str>,
) -> Result<()> {
    let comps = compartments(reveal)?;
    if comps.contains(&Compartment::Photo) {
        let dir = photos_out.context("exporting the photo compartment needs --photos-out DIR")?;
        context::ensure_dir(dir)?;
    }
    let op = operator(cli, Some(reveal))?;
    let columns = export_columns(&comps);
    let sink: Box<dyn Write + Send> = match out {
        Some(path) => Box::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?),
        None => Box::new(std::io::stdout()),
    };
    let mut writer = csv::Writer::from_writer(sink);
    writer.write_record(&columns)?;
    let photos_out = photos_out.map(Path::to_owned);
    let n = {
        let mut write_row = |p: Revealed| -> Result<(), lanyard_register::RegisterError> {
            let mut row = Vec::with_capacity(columns.len());
            for c in &columns {
                let field = if *c == "photo" { Field::Photo } else { c.parse::<Field>().unwrap_or(Field::Photo) };
                let value = if p.withheld.contains(&field.compartment()) {
                    PROTECTED_MARK.to_owned()
                } else if field == Field::Photo {
                    match (&p.record.photo, &photos_out) {
                        (Some(bytes), Some(dir)) => {
                            let name = format!("{}.jpg", p.id);
                            std::fs::write(dir.join(&name), bytes).map_err(|_| export_io())?;
                            name
                        }
                        _ => String::new(),
                    }
                } else {
                    p.record.field_text(field).unwrap_or_default()
                };
                row.push(value);
            }
            writer.write_record(&row).map_err(|_| export_io())
        };
        register.export_to(&op, &comps, reveal.purpose.as_deref(), recipient, context::now_ms(), &mut write_row).await?
    };
    writer.flush()?;
    if out.is_some() || cli.json {
        eprintln!("exported {n} people");
    }
    Ok(())
}

fn export_io() -> lanyard_register::RegisterError {
    lanyard_register::RegisterError::output("writing the export failed")
}

/// "Forenames Surname", or `[protected]` where the identity was withheld.
fn name_of(p: &lanyard_register::Revealed) -> String {
    match (&p.record.forenames, &p.record.surname) {
        (None, None) => "[protected]".to_owned(),
        (f, s) => {
            format!("{} {}", f.as_deref().unwrap_or_default(), s.as_deref().unwrap_or_default()).trim().to_owned()
        }
    }
}
