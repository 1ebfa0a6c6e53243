//! Prometheus metrics: counts of requests, reads, refusals and failed
//! logins. Labels are routes and outcomes, never ids or values.

use std::sync::Arc;

use metrics::{Recorder, counter, gauge, with_local_recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

/// This server's counters. A recorder of its own (not the process-global
/// one), so that several servers in one process, as in tests, stay apart.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { recorder: Arc::new(PrometheusBuilder::new().build_recorder()) }
    }
}

impl Metrics {
    fn with(&self, f: impl FnOnce()) {
        let recorder: &dyn Recorder = self.recorder.as_ref();
        with_local_recorder(recorder, f);
    }

    /// A person read, by compartment count.
    pub fn person_read(&self, people: usize) {
        self.with(|| counter!("lanyard_people_revealed_total").increment(people as u64));
    }

    /// A request refused by policy.
    pub fn denied(&self) {
        self.with(|| counter!("lanyard_requests_denied_total").increment(1));
    }

    /// A login, by outcome (`ok`, `failed`, `locked`).
    pub fn login(&self, outcome: &'static str) {
        self.with(|| counter!("lanyard_logins_total", "outcome" => outcome).increment(1));
    }

    /// An alert of the data-loss watch, by kind.
    pub fn watch_alert(&self, kind: &'static str) {
        self.with(|| counter!("lanyard_watch_alerts_total", "kind" => kind).increment(1));
    }

    /// Seconds since a backup was last verified (absent until one was).
    pub fn backup_verified_age(&self, seconds: f64) {
        self.with(|| gauge!("lanyard_backup_verified_age_seconds").set(seconds));
    }

    /// A connection refused because the server had its fill.
    pub fn connection_refused(&self) {
        self.with(|| counter!("lanyard_connections_refused_total").increment(1));
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }
}
