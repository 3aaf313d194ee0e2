//! Probes: the thin browser shell that records what a fetch or an image load did.
//!
//! Each probe returns an [`Attempt`]; deciding what attempts mean is left to the shared rules
//! in `vantage_report::verdict`. Chromium never times out a connection that is accepted and
//! then left unanswered, so every probe has the client's own deadline. Durations come from the
//! Resource Timing entry of the exact (cache-busted) URL where the browser makes one, and from
//! `performance.now()` otherwise (a successful no-cors fetch never gets an entry in Chromium;
//! a failed load gets one of zero duration in Firefox). What differs between browsers is in
//! `README.md` beside this file.

pub mod fetch;
pub mod image;
pub mod policy;
pub mod timing;

use vantage_report::{Attempt, Outcome, ProbeKind, TimingSource};

/// Milliseconds on the page's monotonic clock.
pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// A random hex token of `bytes` bytes from the browser's CSPRNG (works outside secure
/// contexts, unlike `crypto.randomUUID`).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut buf).is_ok());
    if !filled {
        // No CSPRNG (never seen in a supported browser): Math.random is enough for a
        // cache-busting token and for a report id that identifies nothing.
        for b in &mut buf {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The absolute, cache-busted URL a probe requests: unique, so no cache answers in the
/// platform's place and its Resource Timing entry can be found by name.
pub fn probe_url(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let busted = format!("{url}{sep}vantage={}", random_hex(8));
    let base = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    web_sys::Url::new_with_base(&busted, &base).map(|u| u.href()).unwrap_or(busted)
}

/// What one probe asks for.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: ProbeKind,
    pub url: String,
    pub deadline_ms: u32,
    pub trial: u8,
    pub cold: bool,
    /// Expected size, for throughput probes.
    pub bytes: Option<u64>,
}

/// A finished probe: the attempt, and the exact URL requested (to match policy violations).
#[derive(Debug, Clone)]
pub struct Done {
    pub attempt: Attempt,
    pub requested: String,
}

/// Runs one probe of `req.kind`.
pub async fn run(req: &Request) -> Done {
    let requested = probe_url(&req.url);
    let start = now_ms();
    let outcome = match req.kind {
        ProbeKind::Fetch => fetch::load(&requested, req.deadline_ms).await,
        ProbeKind::Image | ProbeKind::Throughput => image::load(&requested, req.deadline_ms).await,
    };
    let clock_ms = (now_ms() - start).max(0.0);
    let entry = if outcome == Outcome::Timeout { None } else { timing::entry(&requested).await };
    let (duration_ms, timing, phases) = match (&entry, outcome) {
        (_, Outcome::Timeout) => (f64::from(req.deadline_ms), TimingSource::Clock, None),
        (Some(e), _) if e.measured(outcome, clock_ms) => (e.duration_ms, TimingSource::ResourceTiming, e.phases),
        _ => (clock_ms, TimingSource::Clock, None),
    };
    Done {
        attempt: Attempt {
            probe: req.kind,
            outcome,
            duration_ms,
            trial: req.trial,
            cold: req.cold,
            timing,
            phases,
            bytes: req.bytes,
            // Marked from the target list when the run's measurements are decided.
            cross_host: false,
        },
        requested,
    }
}
