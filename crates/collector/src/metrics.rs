//! `GET /metrics` in Prometheus' text format: reports accepted, rejected by reason, ingest
//! latency, the writer's queue depth, and what the server fends off (failed accepts, open
//! connections, refused exports, clients a proxy header could not name). Counters only;
//! nothing per visitor.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use vantage_report::wire::ErrorCode;

use crate::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Cumulative counts per bucket, the last for +Inf.
    latency: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_us: AtomicU64,
    accept_errors: AtomicU64,
    connections_open: AtomicU64,
    exports_refused: AtomicU64,
    client_address_unknown: AtomicU64,
}

impl Metrics {
    pub fn accepted(&self, took: Duration) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.observe(took);
    }

    /// A refused report, by its error code (`invalid_report`, `rate_limited`, ...).
    pub fn rejected(&self, reason: ErrorCode, took: Duration) {
        if let Ok(mut r) = self.rejected.lock() {
            *r.entry(reason.as_str()).or_default() += 1;
        }
        self.observe(took);
    }

    /// `accept(2)` failed (e.g. out of file descriptors).
    pub fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// An export refused because every export slot was busy.
    pub fn export_refused(&self) {
        self.exports_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A request through a trusted proxy whose header named no usable client address.
    pub fn client_address_unknown(&self) {
        self.client_address_unknown.fetch_add(1, Ordering::Relaxed);
    }

    fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self, queue_depth: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP vantage_reports_accepted_total Reports stored and acknowledged.");
        let _ = writeln!(out, "# TYPE vantage_reports_accepted_total counter");
        let _ = writeln!(out, "vantage_reports_accepted_total {}", self.accepted.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP vantage_reports_rejected_total Reports refused, by reason.");
        let _ = writeln!(out, "# TYPE vantage_reports_rejected_total counter");
        if let Ok(r) = self.rejected.lock() {
            for (reason, n) in r.iter() {
                let _ = writeln!(out, "vantage_reports_rejected_total{{reason=\"{reason}\"}} {n}");
            }
        }
        let _ = writeln!(out, "# HELP vantage_ingest_seconds Time to answer a report submission.");
        let _ = writeln!(out, "# TYPE vantage_ingest_seconds histogram");
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.latency[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "vantage_ingest_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.latency[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "vantage_ingest_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ =
            writeln!(out, "vantage_ingest_seconds_sum {}", self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "vantage_ingest_seconds_count {cumulative}");
        let _ = writeln!(out, "# HELP vantage_write_queue_depth Reports waiting for the storage writer.");
        let _ = writeln!(out, "# TYPE vantage_write_queue_depth gauge");
        let _ = writeln!(out, "vantage_write_queue_depth {queue_depth}");
        let counters = [
            ("vantage_accept_errors_total", "counter", "Failed accepts of a connection.", &self.accept_errors),
            ("vantage_connections_open", "gauge", "Client connections open now.", &self.connections_open),
            ("vantage_exports_refused_total", "counter", "Exports refused: every slot busy.", &self.exports_refused),
            (
                "vantage_client_address_unknown_total",
                "counter",
                "Requests through a trusted proxy whose header named no usable client address.",
                &self.client_address_unknown,
            ),
        ];
        for (name, kind, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        out
    }
}

pub async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render(state.store.queue_depth()))
}
