//! The request bodies' schemas, made as exact as the server's checks: the
//! fields of a person with the core's own rules (lengths, the force's
//! ranks, vetting levels, dates, salaries), ids and names by their forms,
//! states and roles by their lists. Where a rule is one JSON Schema can
//! say, a body the schema allows is one the server takes.
//!
//! A few rules stay in words (`description`), since no schema can say them:
//! a photo must be a decodable JPEG or PNG, an age recipient must carry a
//! valid checksum, a permit must end after it starts, a checkpoint must be
//! one this log signed.

use lanyard_core::{CardType, Compartment, Field, RankTable, Reason, Role, VettingLevel};
use serde_json::{Map, Value, json};

use crate::openapi::{CARD_ID, NAME};

/// A service number as the core takes it: up to 20 letters, digits, `-`
/// and `/`, with any spaces (which it drops).
const SERVICE_NUMBER: &str = "^\\s*([A-Za-z0-9/-]\\s*){1,20}$";
/// A zone code.
const ZONE: &str = "^[A-Z0-9-]{1,16}$";
/// An email address: a conservative form of what the core takes.
const EMAIL: &str = "^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$";
/// An age X25519 recipient: `age1` and 58 bech32 characters, whose
/// checksum must hold (format `age-recipient`).
fn age_recipient() -> Value {
    json!({ "type": "string", "format": "age-recipient",
            "description": "An age X25519 recipient, `age1…`; its bech32 checksum must hold (refused 400 if not)." })
}

/// Text the core cleans (`clean_text`): no control characters, something
/// other than spaces, at most `max` characters.
fn text(max: u64) -> Value {
    json!({
        "type": "string", "minLength": 1, "maxLength": max,
        "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
    })
}

fn pattern(p: &str) -> Value {
    json!({ "type": "string", "pattern": p })
}

fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Value {
    json!({ "type": "string", "enum": names.into_iter().collect::<Vec<_>>() })
}

/// A person field's text as `PersonRecord::set_from_text` takes it.
fn field(field: Field, ranks: &RankTable) -> Value {
    match field {
        Field::ServiceNumber => pattern(SERVICE_NUMBER),
        Field::Forenames | Field::Surname | Field::Unit => text(100),
        Field::Rank => one_of(ranks.ranks().iter().map(String::as_str)),
        Field::Email => json!({ "type": "string", "maxLength": 254, "pattern": EMAIL }),
        Field::Photo => json!({
            "type": "string", "format": "base64-image", "contentEncoding": "base64", "minLength": 1,
            "description": "A JPEG or PNG, base64 (format `base64-image`): it must decode as an image, \
                            at most 10 MiB and 8000 pixels a side (refused 400 if not); its metadata is stripped.",
        }),
        Field::VettingLevel => one_of(VettingLevel::ALL.iter().map(|v| v.as_str())),
        Field::VettingExpiry => json!({ "type": "string", "format": "date" }),
        Field::Salary => json!({
            "type": "string", "pattern": "^£?[0-9]{1,7}(\\.[0-9]{2})?$",
            "description": "Pounds, optionally with pence (`34500`, `£34500.50`); at most £10,000,000.",
        }),
        Field::PayGrade => text(40),
    }
}

fn fields(ranks: &RankTable, required: bool) -> Value {
    let properties: Map<String, Value> = Field::ALL.iter().map(|f| (f.as_str().to_owned(), field(*f, ranks))).collect();
    let mut schema = json!({
        "type": "object",
        "description": "Field name to text (DESIGN §2). Each compartment written must be one the caller's role may write.",
        "properties": properties,
        "additionalProperties": false,
    });
    if required {
        put(&mut schema, "required", json!(["service_number", "forenames", "surname", "rank"]));
    }
    schema
}

fn set(schemas: &mut Map<String, Value>, name: &str, property: &str, schema: Value) {
    if let Some(p) = schemas.get_mut(name).and_then(|s| s.get_mut("properties")).and_then(Value::as_object_mut) {
        // Keep the annotation's words beside the exact form.
        let description = p.get(property).and_then(|old| old.get("description")).cloned();
        let mut schema = schema;
        if let (Some(d), Some(obj)) = (description, schema.as_object_mut()) {
            obj.entry("description").or_insert(d);
        }
        p.insert(property.to_owned(), schema);
    }
}

fn nullable(mut schema: Value) -> Value {
    if let Some(t) = schema.get("type").cloned() {
        put(&mut schema, "type", json!([t, "null"]));
    }
    if let Some(values) = schema.get_mut("enum").and_then(Value::as_array_mut) {
        values.push(Value::Null);
    }
    schema
}

fn person_ref() -> Value {
    json!({ "anyOf": [{ "type": "string", "format": "uuid" }, { "type": "string", "pattern": SERVICE_NUMBER }],
            "description": "A person id, or a service number." })
}

/// Tightens the request bodies in `schemas` to the server's rules.
pub(crate) fn tighten(schemas: &mut Map<String, Value>, ranks: &RankTable) {
    set(schemas, "NewPerson", "fields", fields(ranks, true));
    set(schemas, "PersonChanges", "fields", fields(ranks, false));
    // Something to change: fields, or the protected flag.
    if let Some(changes) = schemas.get_mut("PersonChanges") {
        put(
            changes,
            "anyOf",
            json!([
                { "required": ["fields"], "properties": { "fields": { "minProperties": 1 } } },
                { "required": ["protected"], "properties": { "protected": { "type": "boolean" } } },
            ]),
        );
    }

    set(schemas, "CardRequest", "person", person_ref());
    set(schemas, "CardRequest", "type", one_of(CardType::ALL.iter().map(|t| t.as_str())));
    set(schemas, "CardStep", "reason", nullable(one_of(Reason::ALL.iter().map(|r| r.as_str()))));

    // A door asks about whatever zone it guards: an unknown one is a denial
    // (`unknown_zone`), not an error.
    set(schemas, "AccessCheck", "zone", json!({ "type": "string" }));
    // As with zones: a card the door reads that is no card is a denial.
    set(schemas, "AccessCheck", "card", nullable(json!({ "type": "string" })));
    set(schemas, "AccessCheck", "at", nullable(json!({ "type": "integer", "format": "int64" })));
    exactly_one(schemas, "AccessCheck", &["card", "qr"]);

    set(schemas, "NewPermit", "person", json!({ "type": "string", "format": "uuid" }));
    set(schemas, "NewPermit", "zone", pattern(ZONE));

    set(schemas, "NewZone", "code", pattern(ZONE));
    set(schemas, "NewZone", "name", text(64));
    set(
        schemas,
        "NewZone",
        "accepts",
        json!({ "type": "array", "minItems": 1, "items": one_of(VettingLevel::ALL.iter().map(|v| v.as_str())) }),
    );

    set(schemas, "NewSupplier", "name", pattern(NAME));
    set(schemas, "NewSupplier", "recipient", age_recipient());
    set(schemas, "NewRecipient", "recipient", age_recipient());

    let user_roles: Vec<&str> = Role::ALL.iter().filter(|r| !r.is_service()).map(|r| r.as_str()).collect();
    set(schemas, "NewUser", "name", pattern(NAME));
    set(schemas, "NewUser", "role", one_of(user_roles));
    set(schemas, "NewUser", "password", json!({ "type": "string", "minLength": 12, "maxLength": 1024 }));
    set(schemas, "NewPassword", "password", json!({ "type": "string", "minLength": 12, "maxLength": 1024 }));

    let service_roles: Vec<&str> = Role::ALL.iter().filter(|r| r.is_service()).map(|r| r.as_str()).collect();
    set(schemas, "NewToken", "role", one_of(service_roles));
    set(
        schemas,
        "NewToken",
        "expires_in_s",
        json!({ "type": "integer", "format": "int64", "minimum": 60, "maximum": 366 * 86_400 }),
    );
    set(schemas, "NewToken", "supplier", nullable(pattern(NAME)));
    set(schemas, "NewToken", "device", nullable(pattern(NAME)));
    // A print_supplier token names a supplier and no device; a verifier's a
    // device and no supplier.
    if let Some(token) = schemas.get_mut("NewToken") {
        put(
            token,
            "oneOf",
            json!([
                { "properties": { "role": { "const": "print_supplier" }, "supplier": { "type": "string" },
                                  "device": { "type": "null" } }, "required": ["supplier"] },
                { "properties": { "role": { "const": "verifier" }, "device": { "type": "string" },
                                  "supplier": { "type": "null" } }, "required": ["device"] },
            ]),
        );
    }

    set(schemas, "NewBatch", "supplier", pattern(NAME));
    set(schemas, "NewBatch", "max_cards", nullable(json!({ "type": "integer", "minimum": 1, "maximum": 100_000 })));

    let cards = json!({ "type": "array", "uniqueItems": true, "items": { "type": "string", "pattern": CARD_ID } });
    set(schemas, "Confirmation", "printed", cards.clone());
    set(schemas, "Confirmation", "spoiled", cards);

    set(schemas, "ScopeRequest", "compartment", nullable(one_of(Compartment::ALL.iter().map(|c| c.as_str()))));

    set(schemas, "FindRequest", "service_number", nullable(pattern(SERVICE_NUMBER)));
    set(schemas, "FindRequest", "surname", nullable(json!({ "type": "string" })));
    // Looked up as given: an address no one has finds no one.
    set(schemas, "FindRequest", "email", nullable(json!({ "type": "string" })));
    // Narrowing: forenames containing this text.
    set(schemas, "FindRequest", "forenames", nullable(json!({ "type": "string" })));
    // A narrowing filter: a rank no one holds finds no one.
    set(schemas, "FindRequest", "rank", nullable(json!({ "type": "string" })));
    set(schemas, "FindRequest", "compartments", nullable(compartment_list()));
    exactly_one(schemas, "FindRequest", &["service_number", "surname", "email"]);
}

/// A comma-separated list of compartments.
pub(crate) fn compartment_list() -> Value {
    let one = Compartment::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("|");
    pattern(&format!("^({one})(,({one}))*$"))
}

/// `name`'s body must give exactly one of `keys` (the others absent or
/// null).
fn exactly_one(schemas: &mut Map<String, Value>, name: &str, keys: &[&str]) {
    let Some(schema) = schemas.get_mut(name) else { return };
    let choices: Vec<Value> = keys
        .iter()
        .map(|key| {
            let others: Map<String, Value> =
                keys.iter().filter(|k| *k != key).map(|k| ((*k).to_owned(), json!({ "type": "null" }))).collect();
            let mut properties = others;
            properties.insert((*key).to_owned(), json!({ "type": "string" }));
            json!({ "properties": properties, "required": [key] })
        })
        .collect();
    put(schema, "oneOf", Value::Array(choices));
}

/// Sets `key` of an object; anything else is left as it is.
pub(crate) fn put(value: &mut Value, key: &str, new: Value) {
    if let Some(object) = value.as_object_mut() {
        object.insert(key.to_owned(), new);
    }
}
