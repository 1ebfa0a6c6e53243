//! The scan policy (TOML): when a scan fails, which detectors run, how many
//! hits a detector needs before it blocks, and values that may appear (a
//! press-office address). Without a file, the defaults below apply.
//!
//! ```toml
//! fail_at = "medium"            # low | medium | high | critical
//! allow = ["press.office@example.police.uk", "101"]
//! metadata = "medium"           # author, company…: low by default
//!
//! [detectors.phone]
//! min_count = 3                 # fewer hits are reported as low
//! [detectors.vehicle_registration]
//! enabled = false
//!
//! [hidden]
//! chart_cache = "low"           # severity of hidden content with nothing found in it
//! ```

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use crate::report::{Detector, Hidden, Severity};

/// A detector's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorPolicy {
    /// Whether it runs.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Hits below this count are reported as low.
    #[serde(default = "one")]
    pub min_count: u64,
}

fn yes() -> bool {
    true
}

fn one() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    fail_at: Option<Severity>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    detectors: BTreeMap<String, DetectorPolicy>,
    #[serde(default)]
    hidden: BTreeMap<String, Severity>,
    metadata: Option<Severity>,
}

/// The policy in force.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Findings at or above this severity fail the scan (exit 1).
    pub fail_at: Severity,
    allow: HashSet<String>,
    detectors: BTreeMap<Detector, DetectorPolicy>,
    hidden: BTreeMap<Hidden, Severity>,
    metadata: Severity,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            fail_at: Severity::Medium,
            allow: HashSet::new(),
            detectors: BTreeMap::new(),
            hidden: BTreeMap::new(),
            metadata: Severity::Low,
        }
    }
}

/// A policy file that does not parse, with where and why.
#[derive(Debug, thiserror::Error)]
#[error("policy: {0}")]
pub struct PolicyError(String);

fn allow_key(value: &str) -> String {
    value.split_whitespace().collect::<String>().to_lowercase()
}

impl Policy {
    /// Parses a TOML policy.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        let mut detectors = BTreeMap::new();
        for (name, p) in file.detectors {
            let d =
                Detector::parse(&name).ok_or_else(|| PolicyError(format!("[detectors.{name}]: no such detector")))?;
            detectors.insert(d, p);
        }
        let mut hidden = BTreeMap::new();
        for (name, s) in file.hidden {
            let h = crate::report::HIDDEN_ALL
                .into_iter()
                .find(|h| h.as_str() == name)
                .ok_or_else(|| PolicyError(format!("[hidden] {name}: no such kind of hidden content")))?;
            hidden.insert(h, s);
        }
        Ok(Policy {
            fail_at: file.fail_at.unwrap_or(Severity::Medium),
            allow: file.allow.iter().map(|v| allow_key(v)).collect(),
            detectors,
            hidden,
            metadata: file.metadata.unwrap_or(Severity::Low),
        })
    }

    /// Whether `detector` runs.
    pub fn enabled(&self, detector: Detector) -> bool {
        self.detectors.get(&detector).is_none_or(|p| p.enabled)
    }

    /// Whether `value` is allow-listed.
    pub fn allowed(&self, value: &str) -> bool {
        !self.allow.is_empty() && self.allow.contains(&allow_key(value))
    }

    /// The severity of personal data found `count` times.
    pub fn personal_severity(&self, detector: Detector, count: u64, base: Severity) -> Severity {
        match self.detectors.get(&detector) {
            Some(p) if count < p.min_count => Severity::Low,
            _ => base,
        }
    }

    /// The severity of document metadata (author, company) with no personal
    /// data found in it.
    pub fn metadata_severity(&self) -> Severity {
        self.metadata
    }

    /// The severity of hidden content with no personal data found in it.
    pub fn hidden_severity(&self, kind: Hidden) -> Severity {
        if let Some(s) = self.hidden.get(&kind) {
            return *s;
        }
        match kind {
            // Common in clean files; reported, and raised if data is inside.
            Hidden::ChartCache | Hidden::CustomXml | Hidden::ImageMetadata | Hidden::DefinedNames => Severity::Low,
            _ => Severity::Medium,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_parses_and_bad_names_are_refused_by_name() {
        let p = Policy::parse(
            "fail_at = \"high\"\nallow = [\"Press.Office@example.police.uk\"]\n[detectors.phone]\nmin_count = 3\n\
             [hidden]\nchart_cache = \"medium\"\n",
        )
        .unwrap();
        assert_eq!(p.fail_at, Severity::High);
        assert!(p.allowed("press.office@example.police.uk"));
        assert_eq!(p.personal_severity(Detector::Phone, 2, Severity::High), Severity::Low);
        assert_eq!(p.hidden_severity(Hidden::ChartCache), Severity::Medium);
        let e = Policy::parse("[detectors.telepathy]\n").unwrap_err().to_string();
        assert!(e.contains("telepathy"), "{e}");
        let e = Policy::parse("fail_at = \"sometimes\"\n").unwrap_err().to_string();
        assert!(e.contains("fail_at"), "{e}");
    }
}
