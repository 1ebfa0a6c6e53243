//! Bulk routes: export and import of people, and compartment key rotation.
//!
//! An export is charged against the caller's read allowance person by
//! person, so a stolen session or token cannot dump the register through
//! it: a whole-register export belongs on the register host (`lanyard
//! person export`). An import writes only compartments the caller may
//! write, and a file with any bad row imports nothing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use lanyard_core::Compartment;
use lanyard_register::PhotoJson;
use lanyard_register::import::{self, Options};

use crate::gate::{Gate, PeopleGate};
use crate::now_s;
use crate::params::{purpose_of, requested_compartments};
use crate::problem::{Problem, ProblemBody};

/// How long a rotation request waits for the re-wrap before answering 202
/// and leaving it to run.
const REWRAP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Every active person, revealing the compartments asked for. Audited page
/// by page before each page is decrypted; charged one read per person.
#[utoipa::path(get, path = "/v1/people/export",
    params(("compartments" = String, Query, description = "identity, photo, vetting, pay"),
           ("recipient" = Option<String>, Query, description = "Who the export is for: their canary goes in with \
             the people (`lanyard canary plant`); `count` is of people only"),
           ("X-Lanyard-Purpose" = String, Header, description = "Why the data is read (a `purpose` query \
             parameter is read when the header is absent, for links)")),
    responses((status = 200, description = "`count` and `people`"), (status = 400, body = ProblemBody),
              (status = 403, description = "not allowed, or more people than the read allowance", body = ProblemBody),
              (status = 409, description = "no canary is planted for that recipient yet", body = ProblemBody),
              (status = 429, description = "read limit reached; see Retry-After", body = ProblemBody)))]
pub(crate) async fn export_people(
    people: PeopleGate,
    Query(q): Query<ExportQuery>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Problem> {
    let compartments = requested_compartments(q.compartments.as_deref())?;
    let (gate, action) = people.compartments(&compartments).await?;
    if let Some(r) = &q.recipient {
        lanyard_register::check_recipient(r)?;
    }
    let purpose = purpose_of(&headers, q.purpose, "an export of personal data needs a purpose (X-Lanyard-Purpose)")?;
    let active: i64 =
        gate.register().counts().await?.iter().filter(|(status, _)| status == "active").map(|(_, n)| n).sum();
    gate.limit_reads_n(&action, u32::try_from(active).unwrap_or(u32::MAX)).await?;
    let mut people = Vec::new();
    let n = gate
        .register()
        .export_to(&gate.operator(), &compartments, Some(&purpose), q.recipient.as_deref(), now_s() * 1000, &mut |p| {
            people.push(p.to_json(&compartments, PhotoJson::Base64));
            Ok(())
        })
        .await?;
    gate.metrics().person_read(usize::try_from(n).unwrap_or(usize::MAX));
    Ok(Json(serde_json::json!({ "count": n, "people": people })))
}

#[derive(serde::Deserialize)]
pub(crate) struct ImportQuery {
    ignore_unknown: Option<bool>,
}

#[derive(serde::Deserialize)]
pub(crate) struct ExportQuery {
    compartments: Option<String>,
    purpose: Option<String>,
    recipient: Option<String>,
}

/// Imports people from a register CSV (DESIGN §8 columns, no photos). The
/// caller's role must be able to write every compartment the file fills;
/// a file with any invalid row imports nothing and lists the rows.
#[utoipa::path(post, path = "/v1/people/import", request_body(content = String, content_type = "text/csv"),
    params(("ignore_unknown" = Option<bool>, Query, description = "skip unknown columns instead of refusing the file")),
    responses((status = 201, description = "`imported` ids and `already_registered` lines"),
              (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 413, description = "over the import size limit")))]
pub(crate) async fn import_people(
    people: PeopleGate,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    let (records, compartments) = parse_import(body.as_ref(), people.ranks(), q.ignore_unknown.unwrap_or(false))?;
    let (gate, _) = people.compartments(&compartments).await?;
    let outcome = gate.register().import(&gate.operator(), records, now_s() * 1000, &|_| {}).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "imported": outcome.imported.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "already_registered": outcome.already_registered,
        })),
    ))
}

/// Adds a key version to a compartment (new seals use it at once) and
/// re-wraps every person key under it: 200 when that is done within a few
/// seconds, else 202 while it goes on (`GET /v1/keys` shows the counts per
/// version; an interrupted re-wrap is finished by the next rotation).
#[utoipa::path(post, path = "/v1/keys/{compartment}/rotate", params(("compartment" = String, Path)),
    responses((status = 200, description = "rotated and re-wrapped"), (status = 202, description = "re-wrap running"),
              (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub(crate) async fn rotate_compartment(
    gate: Gate,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    let compartment: Compartment = name
        .parse()
        .map_err(|_| Problem::bad_request("bad_compartment", "not a compartment (identity, photo, vetting, pay)"))?;
    let (version, rewrap) = rotate(&gate, compartment).await?;
    let body = |status: &str, rows: Option<u64>| serde_json::json!({ "compartment": compartment.as_str(), "new_version": version, "rewrap": status, "rewrapped": rows });
    Ok(match rewrap {
        Some(rows) => (StatusCode::OK, Json(body("done", Some(rows)))),
        None => (StatusCode::ACCEPTED, Json(body("running", None))),
    })
}

/// Adds a key version to `compartment` and re-wraps every person key under
/// it: the new version, and the rows re-wrapped when that finished within
/// a few seconds (`None` while it goes on in the background). The API and
/// the console rotate through here.
pub(crate) async fn rotate(gate: &Gate, compartment: Compartment) -> Result<(u32, Option<u64>), Problem> {
    let op = gate.operator();
    let version = gate.register().add_compartment_key(&op, compartment, now_s() * 1000).await?;
    let register = gate.register_shared();
    let job = tokio::spawn(async move {
        let done = register.rewrap(&op, compartment, version, now_s() * 1000, 1000, &|_| {}).await;
        match &done {
            Ok(n) => tracing::info!(compartment = compartment.as_str(), version, rows = n, "re-wrapped"),
            Err(e) => tracing::error!(error = %e, "re-wrap stopped; the next rotation finishes it"),
        }
        done
    });
    match tokio::time::timeout(REWRAP_WAIT, job).await {
        Ok(Ok(Ok(rows))) => Ok((version, Some(rows))),
        Ok(Ok(Err(e))) => Err(e.into()),
        Ok(Err(_)) => Err(Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the re-wrap task failed")),
        Err(_) => Ok((version, None)),
    }
}

/// The records of a checked file (with their line numbers), and the
/// compartments they fill.
pub(crate) type CheckedImport = (Vec<(usize, lanyard_core::PersonRecord)>, Vec<Compartment>);

/// A register CSV read whole and checked before anything is written: its
/// records, and the compartments they fill. Any invalid row refuses the
/// file, naming the first rows. The API and the console import through
/// here.
pub(crate) fn parse_import(
    body: &[u8],
    ranks: &lanyard_core::RankTable,
    ignore_unknown: bool,
) -> Result<CheckedImport, Problem> {
    let options = Options { photos_dir: None, ignore_unknown };
    let parsed = import::parse(body, ranks, options).map_err(|e| Problem::bad_request("bad_csv", e.to_string()))?;
    if !parsed.errors.is_empty() {
        let shown: Vec<String> = parsed.errors.iter().take(20).map(ToString::to_string).collect();
        return Err(Problem::bad_request(
            "invalid_rows",
            format!("{} invalid row(s), nothing imported: {}", parsed.errors.len(), shown.join("; ")),
        ));
    }
    if parsed.records.is_empty() {
        return Err(Problem::bad_request("no_rows", "the file holds no people"));
    }
    let compartments: Vec<Compartment> =
        Compartment::ALL.into_iter().filter(|c| parsed.records.iter().any(|(_, r)| r.has_compartment(*c))).collect();
    Ok((parsed.records, compartments))
}
