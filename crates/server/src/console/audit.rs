//! The data-protection team's pages: the log explorer with each event's
//! inclusion proof, the checkpoint and "verify the log now", breach
//! scoping with the Art. 33 report and Art. 34 letters to download, the
//! supplier compromise drill, and a picture of access.
//!
//! Every figure comes from the audit log through the register, as the API's
//! audit routes do. Searches are POSTs: an actor's name is not put in a URL.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::{Compartment, PersonId};
use lanyard_register::{EventFilter, ScopeQuery, ScopeReport};
use maud::{Markup, html};
use serde::Deserialize;

use super::csrf::Form;
use super::page::{Ctx, frame, when};
use crate::gate::Gate;
use crate::now_s;
use crate::problem::Problem;

/// Events listed at most per search.
const LIST_AT_MOST: usize = 200;
/// Events read back at most per search.
const SCAN_AT_MOST: u64 = 1_000_000;
const DAY_MS: i64 = 86_400_000;

/// A date field (`YYYY-MM-DD`) as Unix ms at midnight UTC; `field` names it
/// in the error.
fn date_ms(field: &'static str, text: Option<&str>) -> Result<Option<i64>, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map(|d| Some(d.midnight().assume_utc().unix_timestamp() * 1000))
        .map_err(|_| format!("{field}: give a date as YYYY-MM-DD"))
}

fn date_text(ms: Option<i64>) -> String {
    ms.and_then(|m| time::OffsetDateTime::from_unix_timestamp(m / 1000).ok())
        .and_then(|t| t.date().format(time::macros::format_description!("[year]-[month]-[day]")).ok())
        .unwrap_or_default()
}

fn field(id: &str, label: &str, value: &str, kind: &str, help: Option<&str>) -> Markup {
    let help_id = format!("{id}-help");
    html! {
        div class="field" {
            label for=(id) { (label) }
            input id=(id) name=(id) type=(kind) value=(value) aria-describedby=[help.map(|_| help_id.as_str())];
            @if let Some(h) = help { p id=(help_id) class="help" { (h) } }
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Search {
    actor: Option<String>,
    action: Option<String>,
    person: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn search_form(ctx: &Ctx, s: &Search, error: Option<&str>) -> Markup {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    html! {
        form method="post" action="/audit" class="stack" {
            (ctx.csrf_field())
            @if let Some(e) = error { div class="banner bad" role="alert" { p { (e) } } }
            (field("actor", "Actor", &v(&s.actor), "text", Some("A user (ida or user:ida), or a token's actor id.")))
            (field("action", "Action", &v(&s.action), "text", Some("person.read, or a family such as card.")))
            (field("person", "Person id", &v(&s.person), "text", None))
            (field("from", "From", &v(&s.from), "date", None))
            (field("to", "Before", &v(&s.to), "date", None))
            button type="submit" { "Search the log" }
        }
    }
}

fn events_table(found: &lanyard_register::FoundEvents) -> Markup {
    html! {
        @if found.events.is_empty() {
            p { "No event matches." }
        } @else {
            table {
                caption class="muted" {
                    (found.events.len()) " shown, newest first"
                    @if !found.complete { " (the most recent " (found.scanned) " events were searched)" }
                }
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Actor" }
                    th scope="col" { "Action" } th scope="col" { "Outcome" } th scope="col" { "Purpose" } th scope="col" { "People" }
                } }
                tbody {
                    @for (index, e) in &found.events {
                        tr {
                            td { a href=(format!("/audit/events/{index}")) { (index) } }
                            td { (when(e.time_ms / 1000)) }
                            td { (e.actor.id) }
                            td { (e.action) }
                            td { (format!("{:?}", e.outcome).to_lowercase()) }
                            td { (e.purpose.as_deref().unwrap_or("—")) }
                            td { (e.people.len()) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /audit`: the search form and the latest events.
pub(crate) async fn explorer(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let found = gate.register().find_events(&EventFilter::default(), 50, SCAN_AT_MOST).await?;
    let body = html! {
        (search_form(&ctx, &Search::default(), None))
        h2 { "Latest events" }
        (events_table(&found))
    };
    Ok(frame(&ctx, "/audit", "Audit log", body))
}

/// `POST /audit`: the events that match.
pub(crate) async fn search(gate: Gate, headers: HeaderMap, Form(s): Form<Search>) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let trimmed = |o: &Option<String>| o.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    let parsed = (|| -> Result<EventFilter, String> {
        let person = match trimmed(&s.person) {
            Some(p) => Some(p.parse::<PersonId>().map_err(|_| "Person id: not a person id (a UUID)".to_owned())?),
            None => None,
        };
        Ok(EventFilter {
            actor: trimmed(&s.actor),
            action: trimmed(&s.action),
            person,
            from_ms: date_ms("From", s.from.as_deref())?,
            to_ms: date_ms("Before", s.to.as_deref())?,
        })
    })();
    let filter = match parsed {
        Ok(f) => f,
        Err(e) => return Ok(frame(&ctx, "/audit", "Audit log", search_form(&ctx, &s, Some(&e)))),
    };
    let found = gate.register().find_events(&filter, LIST_AT_MOST, SCAN_AT_MOST).await?;
    let body = html! {
        (search_form(&ctx, &s, None))
        h2 { "Results" }
        (events_table(&found))
    };
    Ok(frame(&ctx, "/audit", "Audit log", body))
}

fn index_of(text: &str) -> Result<u64, Problem> {
    text.parse::<u64>().map_err(|_| Problem::bad_request("bad_index", "not an event number"))
}

/// `GET /audit/events/{index}`: one event as recorded.
pub(crate) async fn event(gate: Gate, Path(index): Path<String>, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let index = index_of(&index)?;
    let (bytes, hash) = gate.register().audit_event(index).await?;
    let event: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    let pretty = serde_json::to_string_pretty(&event).unwrap_or_default();
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let body = html! {
        dl class="record" {
            dt { "Leaf hash (RFC 9162)" } dd class="mono" { (hex) }
        }
        h2 { "The event as recorded" }
        pre class="mono" tabindex="0" { (pretty) }
        p {
            a class="button" href=(format!("/audit/events/{index}/proof.json")) download=(format!("event-{index}-proof.json")) {
                "Download its inclusion proof"
            }
        }
        p class="help" { "The proof shows this event is in the signed log; anyone can check it with the log's public key." }
    };
    Ok(frame(&ctx, "/audit", &format!("Event {index}"), body))
}

/// `GET /audit/events/{index}/proof.json`: its inclusion proof against the
/// latest signed checkpoint.
pub(crate) async fn proof(gate: Gate, Path(index): Path<String>) -> Result<Response, Problem> {
    let index = index_of(&index)?;
    let proof = gate.register().prove_inclusion(&gate.operator(), index, None, now_s() * 1000).await?;
    let json = serde_json::to_string_pretty(&proof).unwrap_or_default();
    Ok(attachment(json, "application/json", &format!("event-{index}-proof.json")))
}

fn attachment(body: String, kind: &'static str, name: &str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn verify_form(ctx: &Ctx) -> Markup {
    html! {
        form method="post" action="/audit/verify" {
            (ctx.csrf_field())
            button type="submit" { "Verify the log now" }
        }
    }
}

/// `GET /audit/log`: the current checkpoint, and the check.
pub(crate) async fn log(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let cp = gate.register().checkpoint(&gate.operator(), None, now_s() * 1000).await?;
    let body = html! {
        p { "The log holds " strong { (cp.tree_size) } " events. Its latest signed checkpoint:" }
        pre class="mono" tabindex="0" id="checkpoint" { (cp.checkpoint) }
        p { "Verifying reads every event and checkpoint, and checks every stored row against the log. It takes longer as the log grows." }
        (verify_form(&ctx))
    };
    Ok(frame(&ctx, "/audit/log", "Log checkpoint", body))
}

/// `POST /audit/verify`: the whole log checked now.
pub(crate) async fn verify(
    gate: Gate,
    headers: HeaderMap,
    Form(_): Form<serde::de::IgnoredAny>,
) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let report = gate.register().verify_log(&gate.operator(), now_s() * 1000).await?;
    let ok = report.findings.is_empty();
    let body = html! {
        @if ok {
            div class="banner good" role="status" id="verify-result" {
                strong class="verdict" { "The log verifies" }
                p { (report.events) " events, " (report.checkpoints) " checkpoints and " (report.people) " people checked: all agree." }
            }
        } @else {
            div class="banner bad" role="alert" id="verify-result" {
                strong class="verdict" { "The log does not verify" }
                p { (report.findings.len() as u64 + report.findings_omitted) " findings. Each names what disagrees; tell your administrator and keep this page." }
            }
            ul { @for f in &report.findings { li { (f.to_string()) } } }
        }
        (verify_form(&ctx))
    };
    Ok(frame(&ctx, "/audit/log", "Log checkpoint", body))
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct Scope {
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    compartment: Option<String>,
}

impl Scope {
    fn query(&self) -> Result<ScopeQuery, String> {
        let compartment = match self.compartment.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => Some(c.parse::<Compartment>().map_err(|_| "Compartment: choose one from the list".to_owned())?),
            None => None,
        };
        let query = ScopeQuery {
            actor: self.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned),
            from_ms: date_ms("From", self.from.as_deref())?,
            to_ms: date_ms("Before", self.to.as_deref())?,
            compartment,
        };
        if let (Some(a), Some(b)) = (query.from_ms, query.to_ms)
            && a >= b
        {
            return Err("From must be before Before".to_owned());
        }
        Ok(query)
    }

    fn hidden(&self) -> Markup {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        html! {
            input type="hidden" name="actor" value=(v(&self.actor));
            input type="hidden" name="from" value=(v(&self.from));
            input type="hidden" name="to" value=(v(&self.to));
            input type="hidden" name="compartment" value=(v(&self.compartment));
        }
    }
}

fn scope_form(ctx: &Ctx, s: &Scope, error: Option<&str>) -> Markup {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let chosen = s.compartment.clone().unwrap_or_default();
    html! {
        form method="post" action="/breach" class="stack" {
            (ctx.csrf_field())
            @if let Some(e) = error { div class="banner bad" role="alert" { p { (e) } } }
            (field("actor", "Actor", &v(&s.actor), "text",
                Some("Whose access to scope: a user (ida), a token's actor id, or a supplier's name for all its tokens.")))
            (field("from", "From", &v(&s.from), "date", None))
            (field("to", "Before", &v(&s.to), "date", None))
            div class="field" {
                label for="compartment" { "Compartment" }
                select id="compartment" name="compartment" {
                    option value="" selected[chosen.is_empty()] { "Every compartment" }
                    @for c in Compartment::ALL {
                        option value=(c.as_str()) selected[chosen == c.as_str()] { (c.as_str()) }
                    }
                }
            }
            button type="submit" { "Scope the breach" }
        }
    }
}

/// `GET /breach`.
pub(crate) async fn breach_form(gate: Gate, headers: HeaderMap) -> Markup {
    let ctx = Ctx::of(&gate, &headers);
    frame(&ctx, "/breach", "Scope a breach", scope_form(&ctx, &Scope::default(), None))
}

async fn scoped(gate: &Gate, s: &Scope) -> Result<Result<ScopeReport, String>, Problem> {
    let query = match s.query() {
        Ok(q) => q,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(gate.register().breach_scope(&gate.operator(), query, now_s() * 1000).await?))
}

/// `POST /breach`: who was exposed, with the drafts to download.
pub(crate) async fn breach(gate: Gate, headers: HeaderMap, Form(s): Form<Scope>) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let report = match scoped(&gate, &s).await? {
        Ok(r) => r,
        Err(e) => return Ok(frame(&ctx, "/breach", "Scope a breach", scope_form(&ctx, &s, Some(&e)))),
    };
    let never_acted = s.actor.as_deref().is_some_and(|a| !a.trim().is_empty()) && report.actor_events == Some(0);
    let body = html! {
        (scope_form(&ctx, &s, None))
        h2 { "Result" }
        @if never_acted {
            div class="banner warn" role="alert" id="scope-result" {
                p { "This actor never appears in the log. Check the name: a mistyped name would read as nobody exposed." }
            }
        } @else {
            div class="banner warn" role="status" id="scope-result" {
                strong class="verdict" {
                    (report.people.len()) @if report.people.len() == 1 { " person exposed" } @else { " people exposed" }
                }
                p { "By " (report.events_matched) " events, of " (report.tree_size) " in the log; complete up to the signed checkpoint below." }
            }
            @if !report.people_per_compartment.is_empty() {
                table {
                    caption class="muted" { "People exposed per compartment" }
                    thead { tr { th scope="col" { "Compartment" } th scope="col" { "People" } } }
                    tbody { @for (c, n) in &report.people_per_compartment { tr { td { (c.as_str()) } td { (n) } } } }
                }
            }
            @if !report.people.is_empty() {
                table {
                    caption class="muted" { "Each person, by reference" }
                    thead { tr {
                        th scope="col" { "Person" } th scope="col" { "Compartments" } th scope="col" { "First" }
                        th scope="col" { "Last" } th scope="col" { "Reads" }
                    } }
                    tbody {
                        @for x in &report.people {
                            tr {
                                td class="mono" { (x.person) }
                                td { (x.compartments.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")) }
                                td { (when(x.first_ms / 1000)) }
                                td { (when(x.last_ms / 1000)) }
                                td { (x.reads) }
                            }
                        }
                    }
                }
            }
            div class="actions" {
                form method="post" action="/breach/report" {
                    (ctx.csrf_field()) (s.hidden())
                    button type="submit" { "Download the Art. 33 report (draft)" }
                }
                form method="post" action="/breach/letters" {
                    (ctx.csrf_field()) (s.hidden())
                    button type="submit" class="secondary" { "Download the Art. 34 letters (drafts)" }
                }
            }
            p class="help" { "Letters are addressed by reference: your role does not read names. The protected-persons officer or the ID office adds them." }
            h2 { "Signed checkpoint" }
            pre class="mono" tabindex="0" { (report.checkpoint) }
        }
    };
    Ok(frame(&ctx, "/breach", "Scope a breach", body))
}

/// `POST /breach/report`: the Art. 33 draft of the same scope.
pub(crate) async fn breach_report(gate: Gate, Form(s): Form<Scope>) -> Result<Response, Problem> {
    let report = scoped(&gate, &s).await?.map_err(|e| Problem::bad_request("bad_scope", e))?;
    Ok(attachment(
        lanyard_register::drafts::art33_report(&report),
        "text/html; charset=utf-8",
        "art33-report-draft.html",
    ))
}

/// `POST /breach/letters`: every Art. 34 draft of the same scope, one after
/// another in one file, addressed by reference.
pub(crate) async fn breach_letters(gate: Gate, Form(s): Form<Scope>) -> Result<Response, Problem> {
    let report = scoped(&gate, &s).await?.map_err(|e| Problem::bad_request("bad_scope", e))?;
    let mut all = String::new();
    for x in &report.people {
        all.push_str(&lanyard_register::drafts::art34_notice(x, None, &report.checkpoint));
        all.push('\n');
    }
    Ok(attachment(all, "text/html; charset=utf-8", "art34-letters-draft.html"))
}

#[derive(Deserialize)]
pub(crate) struct Supplier {
    supplier: String,
}

fn exposure_form(ctx: &Ctx, name: &str) -> Markup {
    html! {
        form method="post" action="/exposure" class="stack" {
            (ctx.csrf_field())
            (field("supplier", "Supplier", name, "text", Some("The print supplier's name, as the administrator added it.")))
            button type="submit" { "Show what a compromise of this supplier would expose" }
        }
    }
}

/// `GET /exposure`.
pub(crate) async fn exposure_form_page(gate: Gate, headers: HeaderMap) -> Markup {
    let ctx = Ctx::of(&gate, &headers);
    frame(&ctx, "/exposure", "Supplier compromise drill", exposure_form(&ctx, ""))
}

/// `POST /exposure`: the drill, as `lanyard drill supplier-compromise`.
pub(crate) async fn exposure(gate: Gate, headers: HeaderMap, Form(f): Form<Supplier>) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let x = gate.supply().drill(&gate.operator(), f.supplier.trim(), now_s() * 1000).await?;
    let body = html! {
        (exposure_form(&ctx, f.supplier.trim()))
        h2 { "If " (x.supplier) " were compromised now" }
        dl class="record" {
            dt { "Supplier enabled" } dd { @if x.enabled { "yes" } @else { "no" } }
            dt { "Tokens that still work" } dd { (x.tokens.len()) }
            dt { "Batches it could still download" } dd { (x.downloadable.len()) }
            dt { "Batches it may hold in its spool" } dd { (x.spool.len()) }
            dt { "People in those batches" } dd { strong { (x.people.len()) } }
        }
        @if !x.fields.is_empty() {
            table {
                caption class="muted" { "Fields exposed, and for how many people" }
                thead { tr { th scope="col" { "Field" } th scope="col" { "People" } } }
                tbody { @for (name, n) in &x.fields { tr { td { (name) } td { (n) } } } }
            }
        }
    };
    Ok(frame(&ctx, "/exposure", "Supplier compromise drill", body))
}

/// Reads per day: day → compartment → people revealed.
type Days = BTreeMap<i64, BTreeMap<Compartment, u64>>;

/// `GET /access`: personal-data reads per day over 90 days, by compartment
/// and by actor, drawn here as SVG; actors reading far above their own
/// baseline this week are marked, each with a scope of their reads.
pub(crate) async fn picture(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let now = now_s() * 1000;
    let today = now / DAY_MS;
    let first = today - 89;
    let filter = EventFilter { from_ms: Some(first * DAY_MS), ..Default::default() };
    let found = gate.register().find_events(&filter, usize::MAX, SCAN_AT_MOST).await?;
    let mut by_day: Days = BTreeMap::new();
    let mut by_actor: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    for (_, e) in &found.events {
        if !lanyard_register::REVEALING_ACTIONS.contains(&e.action.as_str()) || e.people.is_empty() {
            continue;
        }
        let day = e.time_ms / DAY_MS;
        let n = e.people.len() as u64;
        for c in &e.compartments {
            *by_day.entry(day).or_default().entry(*c).or_default() += n;
        }
        *by_actor.entry(e.actor.id.clone()).or_default().entry(day).or_default() += n;
    }
    let unusual: BTreeSet<String> =
        by_actor.iter().filter(|(_, days)| unusual_week(days, today)).map(|(a, _)| a.clone()).collect();
    let body = html! {
        p { "Records revealed per day over the last 90 days, from the audit log. Each read of a person counts once per compartment." }
        h2 { "By compartment" }
        (compartment_chart(&by_day, first))
        h2 { "By actor" }
        p { "An actor marked " strong { "unusual" } " revealed more than three times as many records this week as in an average week of the 30 days before." }
        @if by_actor.is_empty() { p { "No reads of personal data in the last 90 days." } }
        table {
            thead { tr { th scope="col" { "Actor" } th scope="col" { "Last 90 days" } th scope="col" { "This week" } th scope="col" { "" } } }
            tbody {
                @for (actor, days) in &by_actor {
                    @let week: u64 = days.range(today - 6..=today).map(|(_, n)| n).sum();
                    tr class=[unusual.contains(actor).then_some("unusual")] {
                        td { (actor) @if unusual.contains(actor) { " " strong class="flag" { "unusual" } } }
                        td { (sparkline(days, first, actor)) }
                        td { (week) }
                        td {
                            form method="post" action="/breach" class="inline" {
                                (ctx.csrf_field())
                                input type="hidden" name="actor" value=(actor);
                                input type="hidden" name="from" value=(date_text(Some((today - 29) * DAY_MS)));
                                button type="submit" class="secondary" { "Scope this actor's last 30 days" }
                            }
                        }
                    }
                }
            }
        }
        @if !found.complete { p class="help" { "Only the most recent " (found.scanned) " events were read." } }
    };
    Ok(frame(&ctx, "/access", "Picture of access", body))
}

/// This week's reads over three times the weekly average of the 30 days
/// before it (with at least a handful read, so one read is not a spike).
fn unusual_week(days: &BTreeMap<i64, u64>, today: i64) -> bool {
    let week: u64 = days.range(today - 6..=today).map(|(_, n)| n).sum();
    let before: u64 = days.range(today - 36..today - 6).map(|(_, n)| n).sum();
    let weekly_baseline = before as f64 * 7.0 / 30.0;
    week >= 10 && week as f64 > 3.0 * weekly_baseline
}

const COLOURS: [(Compartment, &str); 4] = [
    (Compartment::Identity, "#1d3b6f"),
    (Compartment::Photo, "#0f6b3a"),
    (Compartment::Vetting, "#a4161a"),
    (Compartment::Pay, "#7a4d00"),
];

/// A stacked bar per day, one colour per compartment, with a legend and a
/// text alternative.
fn compartment_chart(days: &Days, first: i64) -> Markup {
    let (w, h, bar) = (900.0, 200.0, 10.0);
    let max = days.values().map(|m| m.values().sum::<u64>()).max().unwrap_or(0).max(1) as f64;
    let total: u64 = days.values().flat_map(|m| m.values()).sum();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {}", h + 40.0)) width="100%" role="img"
            aria-label=(format!("Records revealed per day over 90 days: {total} in all, at most {max} in one day")) {
            line x1="0" y1=(h) x2=(w) y2=(h) stroke="#4a5361" stroke-width="1" {}
            @for (day, per) in days {
                @let x = (day - first) as f64 * bar;
                @let mut y = h;
                @for (c, colour) in COLOURS {
                    @if let Some(n) = per.get(&c) {
                        @let height = *n as f64 / max * (h - 10.0);
                        @let top = { y -= height; y };
                        rect x=(format!("{x:.1}")) y=(format!("{top:.1}")) width=(format!("{:.1}", bar - 1.0))
                            height=(format!("{height:.1}")) fill=(colour) {
                            title { (date_text(Some(day * DAY_MS))) ": " (n) " " (c.as_str()) }
                        }
                    }
                }
            }
            text x="0" y=(h + 16.0) font-size="12" fill="#1b1f24" { (date_text(Some(first * DAY_MS))) }
            text x=(w) y=(h + 16.0) font-size="12" fill="#1b1f24" text-anchor="end" { "today" }
            @for (i, (c, colour)) in COLOURS.iter().enumerate() {
                rect x=(format!("{}", i * 120)) y=(h + 24.0) width="12" height="12" fill=(colour) {}
                text x=(format!("{}", i * 120 + 16)) y=(h + 35.0) font-size="12" fill="#1b1f24" { (c.as_str()) }
            }
        }
    }
}

/// One actor's 90 days as a small line.
fn sparkline(days: &BTreeMap<i64, u64>, first: i64, actor: &str) -> Markup {
    let (w, h) = (270.0, 30.0);
    let max = days.values().copied().max().unwrap_or(0).max(1) as f64;
    let points: Vec<String> = (0..90)
        .map(|i| {
            let n = days.get(&(first + i)).copied().unwrap_or(0) as f64;
            format!("{:.1},{:.1}", i as f64 * 3.0, h - n / max * (h - 2.0) - 1.0)
        })
        .collect();
    let total: u64 = days.values().sum();
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {h}")) width="270" height="30" role="img"
            aria-label=(format!("{actor}: {total} records revealed in 90 days")) {
            polyline points=(points.join(" ")) fill="none" stroke="#1d3b6f" stroke-width="1.5" {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_far_above_its_baseline_is_unusual() {
        let today = 20_000;
        let mut steady = BTreeMap::new();
        for d in today - 40..=today {
            steady.insert(d, 5);
        }
        assert!(!unusual_week(&steady, today), "the same every day");
        let mut spike = steady.clone();
        spike.insert(today, 200);
        assert!(unusual_week(&spike, today));
        // A first week with a few reads and no history is not a spike.
        let new: BTreeMap<i64, u64> = [(today, 3)].into_iter().collect();
        assert!(!unusual_week(&new, today));
    }

    #[test]
    fn dates_are_read_as_midnight_utc_and_named_when_wrong() {
        assert_eq!(date_ms("From", Some("1970-01-02")), Ok(Some(DAY_MS)));
        assert_eq!(date_ms("From", Some("")), Ok(None));
        assert!(date_ms("From", Some("2/1/70")).unwrap_err().starts_with("From"));
        assert_eq!(date_text(Some(DAY_MS)), "1970-01-02");
    }
}
