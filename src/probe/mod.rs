//! Probes: the thin browser shell that records what a fetch or an image load did.
//!
//! Each probe returns an [`Attempt`]; deciding what the attempts mean is left to the shared
//! rules in `vantage_report::verdict`. Chromium never times out a connection that is accepted
//! and then left unanswered, so every probe has the client's own deadline.

pub mod fetch;
pub mod image;

use vantage_report::{Attempt, Outcome, ProbeKind};

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
        // No CSPRNG (never seen in a supported browser): fall back to Math.random, which is
        // fine for a cache-busting token and for a report id that identifies nothing.
        for b in &mut buf {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds a unique query parameter so no cache answers in the platform's place.
pub fn cache_busted(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}vantage={}", random_hex(8))
}

/// An attempt from an outcome and its start time.
fn attempt(probe: ProbeKind, outcome: Outcome, start_ms: f64, deadline_ms: u32) -> Attempt {
    let duration_ms = match outcome {
        Outcome::Timeout => f64::from(deadline_ms),
        _ => (now_ms() - start_ms).max(0.0),
    };
    Attempt { probe, outcome, duration_ms }
}
