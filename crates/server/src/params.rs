//! What several routes read from a request: the purpose of a read and the
//! compartments it names.

use axum::http::HeaderMap;
use lanyard_core::Compartment;
use serde::Deserialize;

use crate::problem::Problem;

/// The header naming why personal data is read.
pub(crate) const PURPOSE_HEADER: &str = "x-lanyard-purpose";

/// The stated purpose of a read: the `X-Lanyard-Purpose` header, else the
/// `purpose` query field; none (or blank) is a 400 saying `why`.
pub(crate) fn purpose_of(headers: &HeaderMap, query: Option<String>, why: &'static str) -> Result<String, Problem> {
    headers
        .get(PURPOSE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| Problem::bad_request("purpose_required", why))
}

#[derive(Deserialize)]
pub(crate) struct ReadQuery {
    pub(crate) compartments: Option<String>,
    pub(crate) purpose: Option<String>,
}

/// The compartments a read names; at least one.
pub(crate) fn requested_compartments(text: Option<&str>) -> Result<Vec<Compartment>, Problem> {
    let compartments = Compartment::parse_list(text.unwrap_or(""))
        .map_err(|e| Problem::bad_request("bad_compartments", e.to_string()))?;
    if compartments.is_empty() {
        return Err(Problem::bad_request("no_compartments", "name the compartments to read (compartments=identity,…)"));
    }
    Ok(compartments)
}

/// Integers in JSON bodies. JSON, and JSON Schema's `integer`, do not tell
/// `93` from `93.0`, so a whole number written with a fraction is taken;
/// `93.5`, or a number past the field's range, is refused naming the field.
pub(crate) mod whole {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        if let Some(i) = n.as_i64() {
            return Ok(i128::from(i));
        }
        if let Some(u) = n.as_u64() {
            return Ok(i128::from(u));
        }
        match n.as_f64() {
            // Exactly representable wholes only: past 2^53 a float is no
            // longer a count anyone meant.
            Some(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => Ok(f as i128),
            _ => Err(D::Error::custom("expected a whole number")),
        }
    }

    fn fit<T: TryFrom<i128>, E: Error>(n: i128) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::custom("the number is out of range"))
    }

    /// An `i64`.
    pub(crate) fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        fit(integer(d)?)
    }

    /// An optional `i64` (`null` or absent is `None`; absent needs
    /// `#[serde(default)]`).
    pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<serde_json::Value>::deserialize(d)? {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => integer(v).map_err(D::Error::custom).and_then(fit).map(Some),
        }
    }

    /// An optional `usize`.
    pub(crate) fn opt_usize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        match Option::<serde_json::Value>::deserialize(d)? {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => integer(v).map_err(D::Error::custom).and_then(fit).map(Some),
        }
    }

    #[cfg(test)]
    mod tests {
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[serde(deserialize_with = "super::i64")]
            a: i64,
            #[serde(default, deserialize_with = "super::opt_usize")]
            b: Option<usize>,
        }

        #[test]
        fn whole_floats_are_integers_and_fractions_are_not() {
            let t: T = serde_json::from_str(r#"{"a": 93.0, "b": 7}"#).unwrap();
            assert_eq!((t.a, t.b), (93, Some(7)));
            let t: T = serde_json::from_str(r#"{"a": -5}"#).unwrap();
            assert_eq!((t.a, t.b), (-5, None));
            let t: T = serde_json::from_str(r#"{"a": 1, "b": null}"#).unwrap();
            assert_eq!(t.b, None);
            for bad in [r#"{"a": 93.5}"#, r#"{"a": 1, "b": -1}"#, r#"{"a": 1e300}"#, r#"{"a": "1"}"#] {
                assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
            }
        }
    }
}
