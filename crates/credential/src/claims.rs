//! The claims of a card credential (DESIGN §5), as a CWT claims map.
//!
//! Standard claims use their RFC 8392 integer keys; lanyard's own are text
//! keys, as the design fixes them. Only what is printed on the card is here:
//! no vetting level, unit, email or pay can be expressed by this type.

use ciborium::value::{Integer, Value};
use serde::Serialize;

use crate::error::CredentialError;

/// CWT claim keys (RFC 8392 §4) and the Token Status List's `status` claim
/// (draft-ietf-oauth-status-list, CWT claim 65535), in one place.
pub mod keys {
    /// `iss`.
    pub const ISS: i64 = 1;
    /// `sub`.
    pub const SUB: i64 = 2;
    /// `exp`.
    pub const EXP: i64 = 4;
    /// `nbf`.
    pub const NBF: i64 = 5;
    /// `iat`.
    pub const IAT: i64 = 6;
    /// `status` in a referenced token.
    pub const STATUS: i64 = 65535;
    /// `status_list` in a status list token.
    pub const STATUS_LIST: i64 = 65533;
    /// `ttl` in a status list token.
    pub const TTL: i64 = 65534;
    /// The status claim's member naming a status list entry.
    pub const STATUS_LIST_MEMBER: &str = "status_list";
}

/// Where a card's status lives: an index into the list at `uri`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusRef {
    /// The card's index in the list.
    pub idx: u64,
    /// The status list's URI (also its `sub`).
    pub uri: String,
}

/// A card credential's claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CardClaims {
    /// `iss`: the force's issuer id.
    pub issuer: String,
    /// `sub`: the card id.
    pub card_id: String,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
    /// `nbf`.
    pub not_before: i64,
    /// `exp`.
    pub expires_at: i64,
    /// `name` as printed.
    pub name: String,
    /// `rank` as printed; visitor passes have none.
    pub rank: Option<String>,
    /// `num`: the service number as printed.
    pub number: String,
    /// `type`: the card type.
    pub card_type: String,
    /// `zones`: permit zone codes, for offline door controllers.
    pub zones: Vec<String>,
    /// The status list entry, if the card can be revoked.
    pub status: Option<StatusRef>,
}

fn int(v: i64) -> Value {
    Value::Integer(Integer::from(v))
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

impl CardClaims {
    /// The claims as a CBOR map, standard claims first.
    pub fn to_value(&self) -> Value {
        let mut map = vec![
            (int(keys::ISS), text(&self.issuer)),
            (int(keys::SUB), text(&self.card_id)),
            (int(keys::IAT), int(self.issued_at)),
        ];
        // `nbf` only when it differs from `iat` (a reader takes `iat` as the
        // start when `nbf` is absent): six bytes less in every QR code.
        if self.not_before != self.issued_at {
            map.push((int(keys::NBF), int(self.not_before)));
        }
        map.push((int(keys::EXP), int(self.expires_at)));
        map.push((text("name"), text(&self.name)));
        if let Some(rank) = &self.rank {
            map.push((text("rank"), text(rank)));
        }
        map.push((text("num"), text(&self.number)));
        map.push((text("type"), text(&self.card_type)));
        if !self.zones.is_empty() {
            map.push((text("zones"), Value::Array(self.zones.iter().map(|z| text(z)).collect())));
        }
        if let Some(status) = &self.status {
            let entry = Value::Map(vec![(text("idx"), int_u(status.idx)), (text("uri"), text(&status.uri))]);
            map.push((int(keys::STATUS), Value::Map(vec![(text(keys::STATUS_LIST_MEMBER), entry)])));
        }
        Value::Map(map)
    }

    /// The claims as CBOR bytes (the COSE payload).
    pub fn to_bytes(&self) -> Result<Vec<u8>, CredentialError> {
        let mut out = Vec::with_capacity(256);
        ciborium::into_writer(&self.to_value(), &mut out).map_err(|_| CredentialError::malformed("claims"))?;
        Ok(out)
    }

    /// Parses a CWT claims map. Unknown claims are ignored, as RFC 8392
    /// allows; a known claim of the wrong type, or any claim twice, is
    /// refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CredentialError> {
        let value: Value = ciborium::from_reader(bytes).map_err(|_| CredentialError::malformed("claims: not CBOR"))?;
        Self::from_value(value)
    }

    /// Parses a CWT claims map from a CBOR value.
    pub fn from_value(value: Value) -> Result<Self, CredentialError> {
        let Value::Map(entries) = value else {
            return Err(CredentialError::malformed("claims: not a map"));
        };
        let mut seen = std::collections::HashSet::new();
        let mut c = Partial::default();
        for (key, value) in entries {
            let label = Label::of(&key)?;
            if !seen.insert(label.clone()) {
                return Err(CredentialError::malformed(format!("claims: {label} appears twice")));
            }
            match label {
                Label::Int(keys::ISS) => c.issuer = Some(as_text(value, "iss")?),
                Label::Int(keys::SUB) => c.card_id = Some(as_text(value, "sub")?),
                Label::Int(keys::IAT) => c.issued_at = Some(as_time(value, "iat")?),
                Label::Int(keys::NBF) => c.not_before = Some(as_time(value, "nbf")?),
                Label::Int(keys::EXP) => c.expires_at = Some(as_time(value, "exp")?),
                Label::Int(keys::STATUS) => c.status = Some(status_ref(value)?),
                Label::Text(ref t) if t == "name" => c.name = Some(as_text(value, "name")?),
                Label::Text(ref t) if t == "rank" => c.rank = Some(as_text(value, "rank")?),
                Label::Text(ref t) if t == "num" => c.number = Some(as_text(value, "num")?),
                Label::Text(ref t) if t == "type" => c.card_type = Some(as_text(value, "type")?),
                Label::Text(ref t) if t == "zones" => c.zones = Some(as_text_array(value, "zones")?),
                _ => {}
            }
        }
        let need =
            |v: Option<String>, what: &str| v.ok_or_else(|| CredentialError::malformed(format!("claims: no {what}")));
        let need_t =
            |v: Option<i64>, what: &str| v.ok_or_else(|| CredentialError::malformed(format!("claims: no {what}")));
        let issued_at = need_t(c.issued_at, "iat")?;
        Ok(CardClaims {
            issuer: need(c.issuer, "iss")?,
            card_id: need(c.card_id, "sub")?,
            issued_at,
            not_before: c.not_before.unwrap_or(issued_at),
            expires_at: need_t(c.expires_at, "exp")?,
            name: need(c.name, "name")?,
            rank: c.rank,
            number: need(c.number, "num")?,
            card_type: need(c.card_type, "type")?,
            zones: c.zones.unwrap_or_default(),
            status: c.status,
        })
    }
}

#[derive(Default)]
struct Partial {
    issuer: Option<String>,
    card_id: Option<String>,
    issued_at: Option<i64>,
    not_before: Option<i64>,
    expires_at: Option<i64>,
    name: Option<String>,
    rank: Option<String>,
    number: Option<String>,
    card_type: Option<String>,
    zones: Option<Vec<String>>,
    status: Option<StatusRef>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Label {
    Int(i64),
    Text(String),
}

impl Label {
    fn of(v: &Value) -> Result<Label, CredentialError> {
        match v {
            Value::Integer(i) => {
                i64::try_from(*i).map(Label::Int).map_err(|_| CredentialError::malformed("claims: key out of range"))
            }
            Value::Text(t) => Ok(Label::Text(t.clone())),
            _ => Err(CredentialError::malformed("claims: a key is neither integer nor text")),
        }
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Int(i) => write!(f, "claim {i}"),
            // Claim names are schema, not data; but cap what is echoed.
            Label::Text(t) => write!(f, "claim '{}'", t.chars().take(32).collect::<String>()),
        }
    }
}

fn int_u(v: u64) -> Value {
    Value::Integer(Integer::from(v))
}

pub(crate) fn as_text(v: Value, what: &str) -> Result<String, CredentialError> {
    match v {
        Value::Text(t) => Ok(t),
        _ => Err(CredentialError::malformed(format!("claims: {what} is not text"))),
    }
}

pub(crate) fn as_time(v: Value, what: &str) -> Result<i64, CredentialError> {
    match v {
        Value::Integer(i) => {
            i64::try_from(i).map_err(|_| CredentialError::malformed(format!("claims: {what} out of range")))
        }
        _ => Err(CredentialError::malformed(format!("claims: {what} is not an integer NumericDate"))),
    }
}

pub(crate) fn as_u64(v: Value, what: &str) -> Result<u64, CredentialError> {
    match v {
        Value::Integer(i) => u64::try_from(i).map_err(|_| CredentialError::malformed(format!("{what} out of range"))),
        _ => Err(CredentialError::malformed(format!("{what} is not an unsigned integer"))),
    }
}

fn as_text_array(v: Value, what: &str) -> Result<Vec<String>, CredentialError> {
    match v {
        Value::Array(items) => items.into_iter().map(|i| as_text(i, what)).collect(),
        _ => Err(CredentialError::malformed(format!("claims: {what} is not an array"))),
    }
}

fn status_ref(v: Value) -> Result<StatusRef, CredentialError> {
    let bad = |what: &str| CredentialError::malformed(format!("claims: status {what}"));
    let Value::Map(members) = v else { return Err(bad("is not a map")) };
    let entry = members
        .into_iter()
        .find_map(|(k, v)| (k.as_text() == Some(keys::STATUS_LIST_MEMBER)).then_some(v))
        .ok_or_else(|| bad("has no status_list"))?;
    let Value::Map(fields) = entry else { return Err(bad("list entry is not a map")) };
    let (mut idx, mut uri) = (None, None);
    for (k, v) in fields {
        match k.as_text() {
            Some("idx") => idx = Some(as_u64(v, "claims: status idx")?),
            Some("uri") => uri = Some(as_text(v, "status uri")?),
            _ => {}
        }
    }
    Ok(StatusRef { idx: idx.ok_or_else(|| bad("has no idx"))?, uri: uri.ok_or_else(|| bad("has no uri"))? })
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    pub(crate) fn sample() -> CardClaims {
        CardClaims {
            issuer: "lanyard.example/force".into(),
            card_id: "01936d5e-7c1a-7b2e-9f00-000000000001".into(),
            issued_at: 1_764_288_000,
            not_before: 1_764_288_000,
            expires_at: 1_890_518_400,
            name: "Ada Quayle".into(),
            rank: Some("Inspector".into()),
            number: "900001".into(),
            card_type: "warrant_card".into(),
            zones: vec!["NSY-L5".into(), "ARMOURY".into()],
            status: Some(StatusRef { idx: 4711, uri: "https://lanyard.example/v1/status-lists/1".into() }),
        }
    }

    #[test]
    fn round_trips() {
        let c = sample();
        assert_eq!(CardClaims::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
        let bare = CardClaims { rank: None, zones: vec![], status: None, ..sample() };
        assert_eq!(CardClaims::from_bytes(&bare.to_bytes().unwrap()).unwrap(), bare);
    }

    #[test]
    fn refuses_duplicates_wrong_types_and_missing_claims() {
        let mut v = sample().to_value();
        if let Value::Map(m) = &mut v {
            m.push((int(keys::SUB), text("other")));
        }
        let mut b = Vec::new();
        ciborium::into_writer(&v, &mut b).unwrap();
        assert!(CardClaims::from_bytes(&b).unwrap_err().to_string().contains("appears twice"));

        let v = Value::Map(vec![(int(keys::ISS), int(7))]);
        assert!(CardClaims::from_value(v).unwrap_err().to_string().contains("iss is not text"));
        let v = Value::Map(vec![(int(keys::ISS), text("x"))]);
        assert!(CardClaims::from_value(v).unwrap_err().to_string().contains("claims: no "));
        assert!(CardClaims::from_bytes(b"\xff\x00").is_err());
    }

    #[test]
    fn errors_never_echo_claim_values() {
        let v = Value::Map(vec![(text("name"), int(1)), (int(keys::ISS), text("Ada Quayle"))]);
        let msg = CardClaims::from_value(v).unwrap_err().to_string();
        assert!(!msg.contains("Ada"));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_refuse_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = CardClaims::from_bytes(&bytes);
        }

        #[test]
        fn any_claims_round_trip(name in "\\PC{0,40}", num in "[0-9A-Z]{1,12}", idx in any::<u64>(), exp in any::<i64>()) {
            let c = CardClaims { name, number: num, expires_at: exp, status: Some(StatusRef { idx, uri: "u".into() }), ..sample() };
            prop_assert_eq!(CardClaims::from_bytes(&c.to_bytes().unwrap()).unwrap(), c);
        }
    }
}
