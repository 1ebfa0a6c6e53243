//! The OpenAPI document as served. utoipa builds it from the handlers'
//! annotations (paths, bodies, success answers); this finishes it from the
//! route table, so that what follows from a route's need is said once and
//! cannot drift from what the gate does:
//!
//! - who may call it: the session cookie or a bearer token, for every route
//!   that is not public;
//! - the errors every route of its kind can give, all
//!   `application/problem+json`: 400 for anything it reads, 401 and 403
//!   behind the gate, 404 for a path id, 413/415/422 for a JSON body, 429
//!   for reads of personal data, 503 (with `Retry-After`) for all;
//! - the exact form of ids, names, states and compartments in paths and
//!   queries, taken from the core's own lists, so a schema-valid request is
//!   one the server takes.
//!
//! The card verbs, one handler in the code, are one operation each here,
//! as they are routes.

use lanyard_core::{BatchState, CardState, Compartment, RankTable, Reason};
use serde_json::{Map, Value, json};

use crate::gate::{Need, RouteSpec};

/// A card's id: ten of Crockford's base-32 digits (`lanyard_cards::new_id`).
pub(crate) const CARD_ID: &str = "^[0-9A-HJKMNP-TV-Z]{10}$";
/// A batch's id: `B` and a card-style id.
const BATCH_ID: &str = "^B[0-9A-HJKMNP-TV-Z]{10}$";
/// A user's, supplier's or device's name (`lanyard_core::valid_name`): 1
/// to 64 of letters, digits and `._-@`, not starting with `.` or `-`.
pub(crate) const NAME: &str = "^[A-Za-z0-9_@][A-Za-z0-9._@-]{0,63}$";
/// A tile index (C2SP tlog-tiles): 3-digit groups, all but the last
/// prefixed `x`, in shortest form (no leading `x000`); then `.p/W` for a
/// partial tile of width 1 to 255.
const INDEX: &str = "(x(00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})/(x[0-9]{3}/)*)?[0-9]{3}(\\.p/([1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5]))?";
/// Why personal data is read: a code, `code: note`, or free text.
const PURPOSE_MIN: u64 = 3;
const PURPOSE_MAX: u64 = 200;

fn uuid() -> Value {
    json!({ "type": "string", "format": "uuid" })
}

fn pattern(p: &str) -> Value {
    json!({ "type": "string", "pattern": p })
}

fn one_of(names: impl IntoIterator<Item = &'static str>) -> Value {
    json!({ "type": "string", "enum": names.into_iter().collect::<Vec<_>>() })
}

use crate::openapi_bodies::{compartment_list, put};

fn purpose() -> Value {
    // Visible ASCII and spaces: it travels in a header as well as a query.
    json!({ "type": "string", "minLength": PURPOSE_MIN, "maxLength": PURPOSE_MAX, "pattern": "^[!-~][ -~]*[!-~]$" })
}

fn whole(min: i64) -> Value {
    json!({ "type": "integer", "format": "int64", "minimum": min, "maximum": i64::MAX })
}

/// The schema of parameter `name` (in `location`) of the operation at `path`.
fn parameter(path: &str, name: &str, location: &str) -> Option<Value> {
    Some(match (location, name) {
        ("path", "id") if path.starts_with("/v1/people/") => uuid(),
        ("path", "id") if path.starts_with("/v1/cards/") => pattern(CARD_ID),
        ("path", "id") if path.contains("/batches/") => pattern(BATCH_ID),
        ("path", "id") if path.starts_with("/v1/permits/") || path.starts_with("/v1/tokens/") => uuid(),
        ("path", "id") if path.starts_with("/v1/status-lists/") => pattern("^[0-9]{1,9}$"),
        ("path", "name") => pattern(NAME),
        ("path", "compartment") => one_of(Compartment::ALL.map(Compartment::as_str)),
        ("path", "index") => whole(0),
        ("path", "path") if path.starts_with("/v1/log/tile/entries/") => pattern(&format!("^{INDEX}$")),
        ("path", "path") => pattern(&format!("^[0-5]/{INDEX}$")),
        ("query", "after" | "person") => uuid(),
        ("query", "limit") => json!({ "type": "integer", "minimum": 1, "maximum": 1000 }),
        ("query", "state") if path.starts_with("/v1/cards") => one_of(CardState::ALL.map(CardState::as_str)),
        ("query", "state") => one_of(BatchState::ALL.map(BatchState::as_str)),
        ("query", "supplier") => pattern(NAME),
        ("query", "compartments") => compartment_list(),
        ("query", "purpose") | ("header", "X-Lanyard-Purpose") => purpose(),
        ("query", "recipient") => pattern("^[a-z0-9][a-z0-9._-]{0,63}$"),
        ("query", "index") => whole(0),
        ("query", "size") => whole(1),
        ("query", "from_ms" | "to_ms") => json!({ "type": "integer", "format": "int64" }),
        ("query", "side") => one_of(["front", "back"]),
        ("query", "format") => one_of(["png", "pdf"]),
        ("query", "ignore_unknown") => json!({ "type": "boolean" }),
        _ => return None,
    })
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/ProblemBody" } } },
    })
}

fn retry_after() -> Value {
    json!({ "Retry-After": { "description": "Seconds to wait before trying again.",
                             "schema": { "type": "integer", "minimum": 1 } } })
}

/// What each error status means, for a route that can give it.
fn error_description(status: &str) -> &'static str {
    match status {
        "400" => "the request is malformed (a parameter, a field or the body); the detail names which",
        "401" => "not signed in, or the token is unknown, expired or revoked",
        "403" => "the caller's role may not do this (refused and audited)",
        "404" => "no such thing",
        "409" => "the state does not allow it, or it changed meanwhile; nothing was changed",
        "410" => "gone: erased, expired or withdrawn",
        "413" => "the body is over this route's limit",
        "415" => "the body is not of a type this route takes",
        "422" => "the body is JSON of the wrong shape",
        "429" => "too many reads of personal data (or sign-in attempts); see Retry-After",
        "503" => "the database or the key provider is unavailable, or the request took too long; nothing was changed",
        _ => "an error",
    }
}

/// The route of a documented operation, matching the router's own path.
fn route<'a>(table: &'a [RouteSpec], method: &str, path: &str) -> Option<&'a RouteSpec> {
    let routed = path
        .replace("/v1/log/tile/entries/{path}", "/v1/log/tile/entries/{*path}")
        .replace("/v1/log/tile/{path}", "/v1/log/tile/{*path}");
    table.iter().find(|r| r.method.as_str().eq_ignore_ascii_case(method) && r.path == routed)
}

/// The card verbs' one annotated operation becomes one per verb.
fn split_card_steps(paths: &mut Map<String, Value>) {
    let Some(template) = paths.remove("/v1/cards/{id}/{verb}") else { return };
    for (path, verb, _) in crate::cards::STEPS {
        let mut item = template.clone();
        if let Some(op) = item.get_mut("post").and_then(Value::as_object_mut) {
            if let Some(Value::Array(params)) = op.get_mut("parameters") {
                params.retain(|p| p["name"] != "verb");
            }
            op.insert("operationId".into(), json!(format!("card_{verb}")));
            if verb == "reissue" {
                // A reissue says why; the other verbs may.
                let reasons: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
                op.insert(
                    "requestBody".into(),
                    json!({ "required": true, "content": { "application/json": { "schema": {
                        "type": "object", "required": ["reason"], "additionalProperties": false,
                        "properties": { "reason": { "type": "string", "enum": reasons } },
                    } } } }),
                );
            }
        }
        paths.insert(path.to_owned(), item);
    }
}

/// The bodies no struct describes: a scan's files and an import's CSV.
fn raw_bodies(paths: &mut Map<String, Value>, ranks: &RankTable) {
    if let Some(op) = paths.get_mut("/v1/scan").and_then(|i| i.get_mut("post")) {
        put(
            op,
            "requestBody",
            json!({ "required": true, "content": { "multipart/form-data": { "schema": {
            "type": "object", "required": ["file"], "additionalProperties": false,
            "properties": { "file": {
                "description": "A file to check. For more than one (up to 64), repeat the part: each is named `file`.",
                "type": "string", "format": "binary",
            } },
        } } } }),
        );
    }
    if let Some(op) = paths.get_mut("/v1/people/import").and_then(|i| i.get_mut("post")) {
        // The header and the four required columns; a file may carry more
        // (DESIGN §8), and rows are refused whole with their line numbers.
        let ranks = ranks.ranks().iter().map(|r| regex_escape(r)).collect::<Vec<_>>().join("|");
        let row = format!("[A-Z]{{2}}[0-9]{{6}},[A-Z][a-z]{{1,20}},[A-Z][a-z]{{1,20}},({ranks})\n");
        put(
            op,
            "requestBody",
            json!({ "required": true, "content": { "text/csv": { "schema": {
            "type": "string",
            "description": "A register CSV (DESIGN §8): a header naming at least service_number, forenames, \
                            surname and rank, then one person a row. The pattern is the simplest such file.",
            "pattern": format!("^service_number,forenames,surname,rank\n({row}){{1,3}}$"),
        } } } }),
        );
    }
}

fn regex_escape(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// The finished document.
pub(crate) fn finish(mut doc: Value, table: &[RouteSpec], ranks: &RankTable) -> Value {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        split_card_steps(paths);
        raw_bodies(paths, ranks);
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut() {
                let need = route(table, method, path).map(|r| r.need.clone());
                finish_operation(path, need.as_ref(), op);
            }
        }
    }
    let components = doc.as_object_mut().map(|d| d.entry("components").or_insert_with(|| json!({})));
    if let Some(components) = components.and_then(Value::as_object_mut) {
        components.insert(
            "securitySchemes".into(),
            json!({
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE,
                             "description": "The session `POST /v1/login` sets, for people." },
                "bearer": { "type": "http", "scheme": "bearer",
                            "description": "A service token (`lanyard token create`), for suppliers and door verifiers." },
            }),
        );
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            crate::openapi_bodies::tighten(schemas, ranks);
        }
    }
    doc
}

fn finish_operation(path: &str, need: Option<&Need>, op: &mut Value) {
    let Some(op) = op.as_object_mut() else { return };
    let secured = !matches!(need, None | Some(Need::Public));
    if secured {
        op.insert("security".into(), json!([{ "session": [] }, { "bearer": [] }]));
    }
    let mut has_path_id = false;
    let mut reads_anything = op.contains_key("requestBody");
    if let Some(Value::Array(params)) = op.get_mut("parameters") {
        reads_anything |= !params.is_empty();
        for p in params.iter_mut() {
            let (Some(name), Some(location)) = (p["name"].as_str(), p["in"].as_str()) else { continue };
            has_path_id |= location == "path";
            if let Some(schema) = parameter(path, name, location) {
                put(p, "schema", schema);
            }
        }
    }
    let json_body = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .is_some_and(|c| c.contains_key("application/json"));
    let has_body = op.contains_key("requestBody");
    let reads_people = matches!(need, Some(Need::ReadPeople))
        || path.ends_with("/credential")
        || path.ends_with("/artwork")
        || path == "/v1/login";
    let mut add: Vec<&str> = vec!["503"];
    if reads_anything {
        add.push("400");
    }
    if secured {
        add.extend(["401", "403"]);
    }
    if has_path_id {
        add.push("404");
    }
    if has_body {
        add.extend(["413", "415"]);
    }
    if json_body {
        add.push("422");
    }
    if reads_people {
        add.push("429");
    }
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    for status in add {
        responses.entry(status).or_insert_with(|| problem(error_description(status)));
    }
    for (status, response) in responses.iter_mut() {
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        // Every error is problem+json, whatever the annotation said.
        let description = response["description"].as_str().filter(|d| !d.is_empty()).map(str::to_owned);
        let mut fixed = problem(description.as_deref().unwrap_or_else(|| error_description(status)));
        if status == "429" || status == "503" {
            put(&mut fixed, "headers", retry_after());
        }
        *response = fixed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_json::from_str(&crate::routes::openapi_json(&RankTable::default_ranks())).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
        out
    }

    #[test]
    fn every_error_is_problem_json_and_every_secured_route_says_how() {
        let doc = doc();
        let table = crate::route_table();
        for (method, path, op) in operations(&doc) {
            let need = route(&table, &method, &path).map(|r| r.need.clone());
            let need = need.unwrap_or_else(|| panic!("{method} {path} is documented but not routed"));
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object().unwrap();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        ["application/problem+json"],
                        "{method} {path} {status}"
                    );
                }
            }
            assert!(op["responses"].get("503").is_some(), "{method} {path}");
            if need == Need::Public {
                assert!(op.get("security").is_none(), "{method} {path}");
            } else {
                assert_eq!(op["security"], json!([{ "session": [] }, { "bearer": [] }]), "{method} {path}");
                for status in ["401", "403"] {
                    assert!(op["responses"].get(status).is_some(), "{method} {path} {status}");
                }
            }
        }
    }

    #[test]
    fn every_path_and_query_parameter_has_an_exact_form() {
        let doc = doc();
        for (method, path, op) in operations(&doc) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let schema = &p["schema"];
                let exact = schema.get("format").is_some()
                    || schema.get("pattern").is_some()
                    || schema.get("enum").is_some()
                    || schema["type"] == "integer"
                    || schema["type"] == "boolean";
                assert!(exact, "{method} {path}: parameter {} has no exact form: {schema}", p["name"]);
            }
        }
    }

    #[test]
    fn the_card_verbs_are_one_operation_each() {
        let doc = doc();
        assert!(doc["paths"].get("/v1/cards/{id}/{verb}").is_none());
        for (path, verb, _) in crate::cards::STEPS {
            let op = &doc["paths"][path]["post"];
            assert_eq!(op["operationId"], format!("card_{verb}"));
            assert!(op["parameters"].as_array().unwrap().iter().all(|p| p["name"] != "verb"));
        }
    }
}
