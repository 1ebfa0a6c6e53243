//! The audit record of a disclosure-guard scan, made here so that a scan
//! over HTTP and one on the register host are recorded the same way. It
//! counts files, bytes and findings and names the canaries found; it never
//! names a file (a file name can itself be personal data) and never holds a
//! finding's sample.

use lanyard_audit::{Event, Outcome};

use crate::error::RegisterError;
use crate::register::{Operator, Register};

/// What a scan is recorded as.
#[derive(Clone, Debug)]
pub struct ScanRecord {
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// The verdict, as the report's JSON writes it.
    pub verdict: serde_json::Value,
    /// Findings per severity, as the report's JSON writes them.
    pub findings: serde_json::Value,
    /// The recipients whose canaries turned up.
    pub canaries: Vec<String>,
}

impl Register {
    /// Records a scan (`disclosure.scan`), durable when this returns.
    pub async fn record_scan(&self, op: &Operator, scan: &ScanRecord, now_ms: i64) -> Result<u64, RegisterError> {
        for recipient in &scan.canaries {
            tracing::warn!(recipient, "a scanned file holds the canary planted for this recipient");
        }
        let mut event = Event::new(now_ms, op.actor.clone(), "disclosure.scan", Outcome::Ok);
        event.request_id = Some(op.request_id.clone());
        event.detail = Some(serde_json::json!({
            "files": scan.files,
            "bytes": scan.bytes,
            "verdict": scan.verdict,
            "findings": scan.findings,
            "canaries": scan.canaries,
        }));
        self.record(std::slice::from_ref(&event)).await
    }
}
