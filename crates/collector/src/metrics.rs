//! `GET /metrics` in Prometheus' text format: reports accepted, rejected by reason, ingest
//! latency, and the writer's queue depth. Counters only; nothing per visitor.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

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
}

impl Metrics {
    pub fn accepted(&self, took: Duration) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.observe(took);
    }

    /// A refused report, by its error code (`invalid_report`, `rate_limited`, ...).
    pub fn rejected(&self, reason: &'static str, took: Duration) {
        if let Ok(mut r) = self.rejected.lock() {
            *r.entry(reason).or_default() += 1;
        }
        self.observe(took);
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
        out
    }
}

pub async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render(state.store.queue_depth()))
}
