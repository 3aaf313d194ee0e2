//! Resource Timing: the browser's own record of a request, more precise than timing promises.
//!
//! Entries are found by exact URL. Without `Timing-Allow-Origin` a cross-origin entry carries
//! only its start and duration; with it, the phases too.

use vantage_report::{Outcome, Phases};
use wasm_bindgen::JsCast;
use web_sys::PerformanceResourceTiming;

/// Room for every attempt of a run; the default buffer (250) could drop entries.
const BUFFER_SIZE: u32 = 2_000;

/// Empties the buffer and makes room, before a run.
pub fn reset() {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        p.clear_resource_timings();
        p.set_resource_timing_buffer_size(BUFFER_SIZE);
    }
}

/// What a Resource Timing entry tells about one request.
pub struct Entry {
    pub duration_ms: f64,
    pub phases: Option<Phases>,
    /// The body's size as it came over the network (`encodedBodySize`): only where the origin
    /// sends `Timing-Allow-Origin` (0 otherwise, and in Firefox for some loads), so `None`
    /// unless positive.
    pub body_bytes: Option<u64>,
}

impl Entry {
    /// Whether the entry measured the request, given its outcome and what the clock saw.
    /// Firefox records a failed load (reset, refused, no such name, wrong certificate) on a
    /// direct connection as an entry of zero duration: a record that it failed, not of how
    /// long it took, so the clock times it instead. Chromium's failed entries carry their real
    /// duration; a successful load that took under a millisecond may well read 0 in Firefox,
    /// whose timers move in whole milliseconds, and is kept.
    pub fn measured(&self, outcome: Outcome, clock_ms: f64) -> bool {
        outcome == Outcome::Ok || self.duration_ms > 0.0 || clock_ms < 1.0
    }
}

/// The latest entry for `url` that started no earlier than `since_ms` (a millisecond of
/// slack for Firefox's whole-millisecond clock): a URL loaded more than once in a run (a
/// control's, with the run's token) has an entry per network load, and a load answered by the
/// memory cache has none, so an earlier load's entry must not be taken for it.
fn lookup(url: &str, since_ms: f64) -> Option<PerformanceResourceTiming> {
    let perf = web_sys::window()?.performance()?;
    perf.get_entries_by_name(url)
        .iter()
        .rev()
        .filter_map(|e| e.dyn_into::<PerformanceResourceTiming>().ok())
        .find(|e| e.start_time() >= since_ms - 1.0)
}

/// The entry for `url` of a request made at `since_ms`, if the browser made one. It can be
/// queued a moment after the load or error event, so a missing entry is looked for once more
/// after a macrotask.
pub async fn entry(url: &str, since_ms: f64) -> Option<Entry> {
    let e = match lookup(url, since_ms) {
        Some(e) => e,
        None => {
            gloo_timers::future::TimeoutFuture::new(0).await;
            lookup(url, since_ms)?
        }
    };
    let duration_ms = e.duration();
    // requestStart is zeroed when the origin withholds Timing-Allow-Origin.
    let phases = (e.request_start() > 0.0 && e.response_start() >= e.request_start()).then(|| Phases {
        dns_ms: (e.domain_lookup_end() - e.domain_lookup_start()).max(0.0),
        connect_ms: (e.connect_end() - e.connect_start()).max(0.0),
        tls_ms: if e.secure_connection_start() > 0.0 {
            (e.connect_end() - e.secure_connection_start()).max(0.0)
        } else {
            0.0
        },
        ttfb_ms: (e.response_start() - e.request_start()).max(0.0),
    });
    let size = e.encoded_body_size();
    let body_bytes = (size.is_finite() && size >= 1.0).then_some(size as u64);
    (duration_ms.is_finite() && duration_ms >= 0.0).then_some(Entry { duration_ms, phases, body_bytes })
}
