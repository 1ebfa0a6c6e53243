//! Operator commands as a signed-in user: each is a request to the server
//! (`lanyard-client`), so the server's gate decides who may do what, with
//! the same purposes, read limits and dual control as any HTTP client.
//! This file holds no authorization rule; it turns flags into requests and
//! answers into the same output as break-glass mode.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use lanyard_client::{Call, Client, endpoints as ep};
use serde_json::{Value, json};

use crate::Negative;
use crate::cmd::breach::parse_time;
use crate::opts::{
    AccessCommand, CardCommand, Cli, FieldArgs, PermitCommand, PersonCommand, RevealArgs, SideArg, TokenCommand,
    UserCommand, ZoneCommand,
};
use crate::output;

/// A member of a JSON answer, or null: an answer missing a member prints
/// as absent rather than failing.
fn member<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

/// Signed in, the clearance is the account's, not a flag.
fn no_clearance_flag(reveal: &RevealArgs) -> Result<()> {
    if reveal.clearance.is_some() {
        bail!(
            "--clearance: signed in, your clearance is your account's (an admin sets it); the flag is for --local only"
        );
    }
    Ok(())
}

fn fields_of(args: &FieldArgs) -> Result<serde_json::Map<String, Value>> {
    let mut fields = serde_json::Map::new();
    let texts = [
        ("service_number", &args.service_number),
        ("forenames", &args.forenames),
        ("surname", &args.surname),
        ("rank", &args.rank),
        ("unit", &args.unit),
        ("email", &args.email),
        ("vetting_level", &args.vetting_level),
        ("vetting_expiry", &args.vetting_expiry),
        ("salary", &args.salary),
        ("pay_grade", &args.pay_grade),
    ];
    for (name, value) in texts {
        if let Some(v) = value {
            fields.insert(name.to_owned(), Value::String(v.clone()));
        }
    }
    if let Some(path) = &args.photo {
        let bytes = crate::cmd::person::read_photo(path)?;
        fields.insert("photo".into(), Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)));
    }
    Ok(fields)
}

/// A revealed person as the server sends it, printed as break-glass mode
/// prints one; the photo is written out and replaced by its size.
fn show_person(cli: &Cli, mut person: Value, compartments: &[&str], photo_out: Option<&Path>) -> Result<Value> {
    if let Some(photo) = person.pointer_mut("/photo/photo")
        && let Some(b64) = photo.get("jpeg_base64").and_then(Value::as_str)
    {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| anyhow!("the server's photo was not base64"))?;
        if let Some(path) = photo_out {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        *photo = json!({ "jpeg_bytes": bytes.len() });
    }
    if cli.json {
        return Ok(person);
    }
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    println!(
        "person {}  status {}  protected {}",
        text(member(&person, "id")),
        text(member(&person, "status")),
        if member(&person, "protected").as_bool() == Some(true) { "yes" } else { "no" }
    );
    for c in compartments {
        match member(&person, c) {
            Value::Object(fields) => {
                println!("  {c}:");
                for (name, value) in fields {
                    let shown = match value {
                        Value::Null => "-".to_owned(),
                        Value::Object(o) => {
                            o.get("jpeg_bytes").map_or_else(String::new, |n| format!("<jpeg, {n} bytes>"))
                        }
                        v => text(v),
                    };
                    println!("    {name:<15} {shown}");
                }
            }
            other => println!("  {c}: {}", text(other)),
        }
    }
    Ok(person)
}

/// `person export` signed in: the server's audited export, written as the
/// same CSV (DESIGN §8 columns, photos as files) as break-glass writes.
async fn export_people(
    client: &Client,
    reveal: &RevealArgs,
    out: Option<&Path>,
    photos_out: Option<&Path>,
    recipient: Option<&str>,
) -> Result<()> {
    let list = reveal
        .compartments
        .as_deref()
        .context("name the compartments to reveal with --compartments (identity, photo, vetting, pay)")?;
    let comps = lanyard_core::Compartment::parse_list(list)?;
    let photos_dir = match photos_out {
        Some(dir) => Some(dir),
        None if comps.contains(&lanyard_core::Compartment::Photo) => {
            bail!("exporting the photo compartment needs --photos-out DIR")
        }
        None => None,
    };
    if let Some(dir) = photos_dir {
        crate::context::ensure_dir(dir)?;
    }
    let mut query = vec![("compartments", list.to_owned())];
    if let Some(r) = recipient {
        query.push(("recipient", r.to_owned()));
    }
    let call = Call { query: &query, purpose: reveal.purpose.as_deref(), ..Call::default() };
    let answer: Value = client.json(&ep::PEOPLE_EXPORT, call).await?;
    let columns = crate::cmd::person::export_columns(&comps);
    let sink: Box<dyn std::io::Write> = match out {
        Some(path) => Box::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?),
        None => Box::new(std::io::stdout()),
    };
    let mut writer = csv::Writer::from_writer(sink);
    writer.write_record(&columns)?;
    let people = member(&answer, "people").as_array().map(Vec::as_slice).unwrap_or_default();
    for person in people {
        let mut row = Vec::with_capacity(columns.len());
        for c in &columns {
            let field = if *c == "photo" { lanyard_core::Field::Photo } else { c.parse()? };
            let value = match member(person, field.compartment().as_str()) {
                Value::String(mark) => mark.clone(),
                fields if field == lanyard_core::Field::Photo => {
                    match (fields.pointer("/photo/jpeg_base64").and_then(Value::as_str), photos_dir) {
                        (Some(b64), Some(dir)) => {
                            let bytes = base64::engine::general_purpose::STANDARD
                                .decode(b64)
                                .map_err(|_| anyhow!("the server's photo was not base64"))?;
                            let name = format!("{}.jpg", member(person, "id").as_str().unwrap_or_default());
                            std::fs::write(dir.join(&name), bytes)
                                .with_context(|| format!("writing {}", dir.join(&name).display()))?;
                            name
                        }
                        _ => String::new(),
                    }
                }
                fields => member(fields, field.as_str()).as_str().unwrap_or_default().to_owned(),
            };
            row.push(value);
        }
        writer.write_record(&row)?;
    }
    writer.flush()?;
    if out.is_some() {
        eprintln!("exported {} people", people.len());
    }
    Ok(())
}

fn split_list(list: &str) -> Vec<&str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

pub async fn person(cli: &Cli, client: &Client, cmd: &PersonCommand) -> Result<()> {
    match cmd {
        PersonCommand::Add { fields, protected } => {
            let body = json!({ "fields": fields_of(fields)?, "protected": protected });
            let created: Value = client.json(&ep::PERSON_ADD, Call { body: Some(body), ..Call::default() }).await?;
            if cli.json {
                return output::json(&created);
            }
            println!("added person {}", member(&created, "id").as_str().unwrap_or_default());
        }
        PersonCommand::Show { id, reveal, photo_out } => {
            no_clearance_flag(reveal)?;
            let list = reveal
                .compartments
                .as_deref()
                .context("name the compartments to reveal with --compartments (identity, photo, vetting, pay)")?;
            let query = [("compartments", list.to_owned())];
            let call = Call { params: &[id], query: &query, purpose: reveal.purpose.as_deref(), ..Call::default() };
            let person: Value = client.json(&ep::PERSON, call).await?;
            let shown = show_person(cli, person, &split_list(list), photo_out.as_deref())?;
            if cli.json {
                output::json(&shown)?;
            }
        }
        PersonCommand::List { reveal, limit, after } => {
            if reveal.compartments.is_some() {
                bail!("signed in, list ids here and read people one at a time with 'person show' (or 'person find')");
            }
            list_people(cli, client, *limit, after.as_deref()).await?;
        }
        PersonCommand::Find { service_number, surname, email, forenames, rank, reveal } => {
            no_clearance_flag(reveal)?;
            let body = json!({
                "service_number": service_number, "surname": surname, "email": email,
                "forenames": forenames, "rank": rank, "compartments": reveal.compartments,
            });
            let call = Call { purpose: reveal.purpose.as_deref(), body: Some(body), ..Call::default() };
            let found: Vec<Value> = client.json(&ep::PEOPLE_FIND, call).await?;
            match &reveal.compartments {
                None if cli.json => output::json(&found)?,
                None => {
                    for p in &found {
                        let s = |k: &str| member(p, k).as_str().unwrap_or_default().to_owned();
                        let sn = member(p, "service_number").as_str().unwrap_or("[protected]");
                        println!("{}  {sn:<12} {:<32} {}", s("id"), s("name"), s("rank"));
                    }
                    if !found.is_empty() {
                        println!("then: lanyard person show ID --compartments … --purpose …");
                    }
                }
                Some(list) => {
                    let comps = split_list(list);
                    let mut shown = Vec::new();
                    for p in found.iter().cloned() {
                        shown.push(show_person(cli, p, &comps, None)?);
                    }
                    if cli.json {
                        output::json(&shown)?;
                    }
                }
            }
            if found.is_empty() {
                return Err(Negative("no match".into()).into());
            }
        }
        PersonCommand::Update { id, fields, protected } => {
            let fields = fields_of(fields)?;
            if fields.is_empty() && protected.is_none() {
                bail!("nothing to change: give at least one field flag or --protected");
            }
            let mut body = serde_json::Map::new();
            body.insert("fields".into(), Value::Object(fields));
            if let Some(p) = protected {
                body.insert("protected".into(), json!(p));
            }
            let body = Value::Object(body);
            client.call(&ep::PERSON_UPDATE, Call { params: &[id], body: Some(body), ..Call::default() }).await?;
            if cli.json {
                return output::json(&json!({ "id": id, "updated": true }));
            }
            println!("updated person {id}");
        }
        PersonCommand::Erase { id, yes } => {
            crate::cmd::person::confirm_erase(id, *yes)?;
            client.call(&ep::PERSON_ERASE, Call { params: &[id], ..Call::default() }).await?;
            if cli.json {
                return output::json(&json!({ "id": id, "erased": true }));
            }
            println!("erased person {id}: keys destroyed, record is now a tombstone");
        }
        PersonCommand::Import { file, photos, strict: _, ignore_unknown } => {
            if photos.is_some() {
                bail!(
                    "--photos: signed in, the import carries no photos; add each with 'person update ID --photo \
                     FILE' afterwards (or import on the register host with --local)"
                );
            }
            let csv = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let query = if *ignore_unknown { vec![("ignore_unknown", "true".to_owned())] } else { vec![] };
            let call = Call { query: &query, raw: Some(("text/csv", csv)), ..Call::default() };
            // The server imports all or nothing: a file with an invalid row
            // is refused whole, with the rows named (as --strict does here).
            let done: Value = client.json(&ep::PEOPLE_IMPORT, call).await?;
            let count = |k: &str| member(&done, k).as_array().map_or(0, Vec::len);
            if cli.json {
                return output::json(&json!({
                    "imported": count("imported"),
                    "already_registered": count("already_registered"),
                    "invalid": [],
                }));
            }
            println!(
                "imported {} people; {} already registered (left unchanged); 0 invalid rows",
                count("imported"),
                count("already_registered")
            );
        }
        PersonCommand::Export { reveal, out, photos_out, recipient } => {
            no_clearance_flag(reveal)?;
            export_people(client, reveal, out.as_deref(), photos_out.as_deref(), recipient.as_deref()).await?;
        }
    }
    Ok(())
}

/// The server answers at most 1000 a page; the command pages on to `limit`.
async fn list_people(cli: &Cli, client: &Client, limit: i64, after: Option<&str>) -> Result<()> {
    let mut people: Vec<Value> = Vec::new();
    let mut cursor = after.map(str::to_owned);
    let mut more = false;
    while i64::try_from(people.len()).unwrap_or(i64::MAX) < limit {
        let want = (limit - i64::try_from(people.len()).unwrap_or(0)).min(1000);
        let mut query = vec![("limit", want.to_string())];
        if let Some(c) = &cursor {
            query.push(("after", c.clone()));
        }
        let page: Vec<Value> = client.json(&ep::PEOPLE, Call { query: &query, ..Call::default() }).await?;
        let full = i64::try_from(page.len()).unwrap_or(0) >= want;
        cursor = page.last().and_then(|p| member(p, "id").as_str()).map(str::to_owned);
        people.extend(page);
        more = full;
        if !full {
            break;
        }
    }
    let next = if more { cursor } else { None };
    if cli.json {
        return output::json(&json!({ "people": people, "next_after": next }));
    }
    for p in &people {
        let protected = if member(p, "protected").as_bool() == Some(true) { "protected" } else { "" };
        println!(
            "{}  {:<7} {protected}",
            member(p, "id").as_str().unwrap_or_default(),
            member(p, "status").as_str().unwrap_or_default()
        );
    }
    if let Some(id) = next {
        println!("more: lanyard person list --limit {limit} --after {id}");
    }
    Ok(())
}

fn print_card(cli: &Cli, card: &Value) -> Result<()> {
    if cli.json {
        return output::json(card);
    }
    let s = |k: &str| member(card, k).as_str().unwrap_or_default().to_owned();
    println!("card {}  {}  {}", s("id"), s("type"), s("state"));
    println!("  number      {}", s("number"));
    println!("  person      {}", s("person"));
    println!("  requested   by {}", s("requested_by"));
    if let Some(a) = member(card, "approved_by").as_str() {
        println!("  approved    by {a}");
    }
    if let (Some(from), Some(to)) = (member(card, "valid_from").as_i64(), member(card, "expires_at").as_i64()) {
        println!("  valid       {} to {}", output::date_time(from), output::date_time(to));
    }
    if let Some(r) = member(card, "supersedes").as_str() {
        println!("  replaces    {r}");
    }
    if let Some(r) = member(card, "reason").as_str() {
        println!("  reason      {r}");
    }
    Ok(())
}

pub async fn card(cli: &Cli, client: &Client, cmd: &CardCommand) -> Result<()> {
    let step = |endpoint: &'static lanyard_client::Endpoint, card: &str, reason: Option<&str>| {
        let body = reason.map(|r| json!({ "reason": r }));
        let card = card.to_owned();
        async move { client.json::<Value>(endpoint, Call { params: &[&card], body, ..Call::default() }).await }
    };
    let card = match cmd {
        CardCommand::Request { person, card_type } => {
            let body = json!({ "person": person, "type": card_type });
            client.json::<Value>(&ep::CARD_REQUEST, Call { body: Some(body), ..Call::default() }).await?
        }
        CardCommand::Approve { card } => step(&ep::CARD_APPROVE, card, None).await?,
        CardCommand::Reject { card, reason } => step(&ep::CARD_REJECT, card, Some(reason)).await?,
        CardCommand::Print { card } => step(&ep::CARD_PRINT, card, None).await?,
        CardCommand::Issue { card } => step(&ep::CARD_ISSUE, card, None).await?,
        CardCommand::Suspend { card, reason } => step(&ep::CARD_SUSPEND, card, Some(reason)).await?,
        CardCommand::Resume { card } => step(&ep::CARD_RESUME, card, None).await?,
        CardCommand::Revoke { card, reason } => step(&ep::CARD_REVOKE, card, Some(reason)).await?,
        CardCommand::Destroy { card } => step(&ep::CARD_DESTROY, card, None).await?,
        CardCommand::Reissue { card, reason } => {
            let both = step(&ep::CARD_REISSUE, card, Some(reason)).await?;
            if cli.json {
                return output::json(&both);
            }
            let s = |p: &str| both.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
            println!(
                "card {} is {}; replacement {} requested (needs approval)",
                s("/revoked/id"),
                s("/revoked/state"),
                s("/requested/id")
            );
            return Ok(());
        }
        CardCommand::Show { card } => client.json(&ep::CARD, Call { params: &[card], ..Call::default() }).await?,
        CardCommand::List { person, state } => {
            let mut query = Vec::new();
            if let Some(p) = person {
                query.push(("person", p.clone()));
            }
            if let Some(s) = state {
                query.push(("state", s.clone()));
            }
            let list: Vec<Value> = client.json(&ep::CARDS, Call { query: &query, ..Call::default() }).await?;
            if cli.json {
                return output::json(&list);
            }
            for c in list {
                let s = |k: &str| member(&c, k).as_str().unwrap_or_default().to_owned();
                println!("{}  {:<16} {:<10} {}  {}", s("id"), s("type"), s("state"), s("number"), s("person"));
            }
            return Ok(());
        }
        CardCommand::Render { card, out, side, purpose } => {
            let written = render(client, card, out, *side, purpose).await?;
            if cli.json {
                return output::json(&json!({ "files": written }));
            }
            for path in written {
                println!("{}", path.display());
            }
            return Ok(());
        }
        CardCommand::Qr { card, purpose } => {
            let call = Call { params: &[card], purpose: Some(purpose), ..Call::default() };
            let credential: Value = client.json(&ep::CARD_CREDENTIAL, call).await?;
            if cli.json {
                return output::json(&credential);
            }
            println!("{}", member(&credential, "qr").as_str().unwrap_or_default());
            return Ok(());
        }
    };
    print_card(cli, &card)
}

async fn render(
    client: &Client,
    card: &str,
    out: &Path,
    side: SideArg,
    purpose: &str,
) -> Result<Vec<std::path::PathBuf>> {
    let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let pdf = match ext.as_deref() {
        Some("pdf") => true,
        Some("png") => false,
        _ => bail!("--out: give a .png or .pdf file name"),
    };
    let sides: &[&str] = match side {
        SideArg::Front => &["front"],
        SideArg::Back => &["back"],
        SideArg::Both => &["front", "back"],
    };
    let fetch = |side: &str| {
        // No side: a PDF of both.
        let mut query = vec![("format", if pdf { "pdf" } else { "png" }.to_owned())];
        if side != "both" {
            query.push(("side", side.to_owned()));
        }
        async move {
            client
                .bytes(
                    &ep::CARD_ARTWORK,
                    Call { params: &[card], query: &query, purpose: Some(purpose), ..Call::default() },
                )
                .await
        }
    };
    let mut written = Vec::new();
    if pdf {
        let side = if sides.len() == 2 { "both" } else { sides.first().copied().unwrap_or("both") };
        std::fs::write(out, fetch(side).await?).with_context(|| format!("writing {}", out.display()))?;
        written.push(out.to_owned());
        return Ok(written);
    }
    for s in sides {
        let path = if sides.len() == 1 {
            out.to_owned()
        } else {
            let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("card");
            out.with_file_name(format!("{stem}-{s}.png"))
        };
        std::fs::write(&path, fetch(s).await?).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

pub async fn zone(cli: &Cli, client: &Client, cmd: &ZoneCommand) -> Result<()> {
    match cmd {
        ZoneCommand::Add { code, name, accepts } => {
            let body = json!({ "code": code, "name": name, "accepts": split_list(accepts) });
            let z: Value = client.json(&ep::ZONE_ADD, Call { body: Some(body), ..Call::default() }).await?;
            if cli.json {
                return output::json(&z);
            }
            println!("zone {code} ({name}) accepts {accepts}");
        }
        ZoneCommand::List => {
            let zones: Vec<Value> = client.json(&ep::ZONES, Call::default()).await?;
            if cli.json {
                return output::json(&zones);
            }
            for z in zones {
                let accepts = match &member(&z, "accepts") {
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
                    other => other.as_str().unwrap_or_default().to_owned(),
                };
                println!(
                    "{:<16} {:<32} {accepts}",
                    member(&z, "code").as_str().unwrap_or_default(),
                    member(&z, "name").as_str().unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

pub async fn permit(cli: &Cli, client: &Client, cmd: &PermitCommand) -> Result<()> {
    match cmd {
        PermitCommand::Grant { person, zone, from, to } => {
            let (from, to) = (parse_time("from", from)? / 1000, parse_time("to", to)? / 1000);
            let body = json!({ "person": person, "zone": zone, "from": from, "to": to });
            let p: Value = client.json(&ep::PERMIT_GRANT, Call { body: Some(body), ..Call::default() }).await?;
            if cli.json {
                return output::json(&p);
            }
            println!(
                "permit {} for {zone} from {} to {}",
                member(&p, "id").as_str().unwrap_or_default(),
                output::date_time(from),
                output::date_time(to)
            );
        }
        PermitCommand::List { person } => {
            let query: Vec<(&str, String)> = person.iter().map(|p| ("person", p.clone())).collect();
            let permits: Vec<Value> = client.json(&ep::PERMITS, Call { query: &query, ..Call::default() }).await?;
            if cli.json {
                return output::json(&permits);
            }
            for p in permits {
                let state = if member(&p, "revoked_at").is_null() { "live" } else { "revoked" };
                println!(
                    "{}  {:<16} {}  {} to {}  {state}",
                    member(&p, "id").as_str().unwrap_or_default(),
                    member(&p, "zone").as_str().unwrap_or_default(),
                    member(&p, "person").as_str().unwrap_or_default(),
                    output::date_time(member(&p, "from").as_i64().unwrap_or_default()),
                    output::date_time(member(&p, "to").as_i64().unwrap_or_default())
                );
            }
        }
        PermitCommand::Revoke { id } => {
            client.call(&ep::PERMIT_REVOKE, Call { params: &[id], ..Call::default() }).await?;
            if cli.json {
                return output::json(&json!({ "id": id, "revoked": true }));
            }
            println!("permit {id} revoked");
        }
    }
    Ok(())
}

pub async fn access(cli: &Cli, client: &Client, cmd: &AccessCommand) -> Result<()> {
    let AccessCommand::Check { card, qr, zone, at } = cmd;
    let at = at.as_deref().map(|t| parse_time("at", t)).transpose()?.map(|ms| ms / 1000);
    if card.is_some() == qr.is_some() {
        bail!("give --card or --qr");
    }
    let body = json!({ "card": card, "qr": qr, "zone": zone, "at": at });
    let d: Value = client.json(&ep::ACCESS_CHECK, Call { body: Some(body), ..Call::default() }).await?;
    let allow = member(&d, "allow").as_bool() == Some(true);
    let reason = member(&d, "reason").as_str().unwrap_or_default().to_owned();
    if cli.json {
        output::json(&d)?;
    } else {
        println!("{} ({reason})", if allow { "allow" } else { "deny" });
    }
    if !allow {
        return Err(Negative(format!("denied: {reason}")).into());
    }
    Ok(())
}

pub async fn user(cli: &Cli, client: &Client, cmd: &UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { name, role, password_stdin, protected } => {
            let password = crate::cmd::user::new_password(*password_stdin)?;
            let body = json!({ "name": name, "role": role, "password": password.as_str(), "protected": protected });
            let e: Value = client.json(&ep::USER_ADD, Call { body: Some(body), ..Call::default() }).await?;
            crate::cmd::user::print_enrolment(cli, name, &e)?;
        }
        UserCommand::List => {
            let users: Vec<Value> = client.json(&ep::USERS, Call::default()).await?;
            if cli.json {
                return output::json(&users);
            }
            for u in users {
                let state = if member(&u, "disabled").as_bool() == Some(true) { "disabled" } else { "active" };
                println!(
                    "{:<24} {:<16} {state}",
                    member(&u, "name").as_str().unwrap_or_default(),
                    member(&u, "role").as_str().unwrap_or_default()
                );
            }
        }
        UserCommand::Disable { name } => {
            client.call(&ep::USER_DISABLE, Call { params: &[name], ..Call::default() }).await?;
            if cli.json {
                return output::json(&json!({ "name": name, "disabled": true }));
            }
            println!("user {name} disabled; their sessions are ended");
        }
        UserCommand::Reset { name, password_stdin } => {
            let password = crate::cmd::user::new_password(*password_stdin)?;
            let body = json!({ "password": password.as_str() });
            let e: Value =
                client.json(&ep::USER_RESET, Call { params: &[name], body: Some(body), ..Call::default() }).await?;
            crate::cmd::user::print_enrolment(cli, name, &e)?;
        }
    }
    Ok(())
}

pub async fn token(cli: &Cli, client: &Client, cmd: &TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Create { role, supplier, device, expires } => {
            let expires_in_s = crate::cmd::token::lifetime_s(expires)?;
            let body = json!({ "role": role, "supplier": supplier, "device": device, "expires_in_s": expires_in_s });
            let t: Value = client.json(&ep::TOKEN_CREATE, Call { body: Some(body), ..Call::default() }).await?;
            if cli.json {
                return output::json(&t);
            }
            println!("token {} ({role}); its secret, shown once:", member(&t, "id").as_str().unwrap_or_default());
            println!("{}", member(&t, "secret").as_str().unwrap_or_default());
        }
        TokenCommand::List => {
            let tokens: Vec<Value> = client.json(&ep::TOKENS, Call::default()).await?;
            if cli.json {
                return output::json(&tokens);
            }
            for t in tokens {
                let state = if member(&t, "revoked_at").is_null() { "live" } else { "revoked" };
                println!(
                    "{}  {:<14} {:<24} {state}",
                    member(&t, "id").as_str().unwrap_or_default(),
                    member(&t, "role").as_str().unwrap_or_default(),
                    member(&t, "subject").as_str().unwrap_or_default()
                );
            }
        }
        TokenCommand::Revoke { id } => {
            client.call(&ep::TOKEN_REVOKE, Call { params: &[id], ..Call::default() }).await?;
            if cli.json {
                return output::json(&json!({ "id": id, "revoked": true }));
            }
            println!("token {id} revoked");
        }
    }
    Ok(())
}
