//! What a single probe attempt observed, as the browser lets us see it.

use serde::{Deserialize, Serialize};

/// How a target was probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// An `<img>` load of the favicon: succeeds only if a real image arrived and decoded.
    Image,
    /// A no-cors `fetch`: succeeds when response headers arrive, whatever the body.
    Fetch,
    /// A large image on the platform's CDN, loaded whole, to estimate throughput.
    Throughput,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The probe succeeded (image decoded, fetch resolved).
    Ok,
    /// The browser reported a failure before the deadline (DNS, reset, refused, TLS, not an image).
    Error,
    /// Nothing happened before the client's own deadline.
    Timeout,
    /// The page's own Content-Security-Policy refused the request (a `securitypolicyviolation`
    /// event named it): a block inside the browser, not on the network.
    PolicyBlocked,
}

/// Where a duration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimingSource {
    /// The browser's `PerformanceResourceTiming` entry for the exact URL.
    ResourceTiming,
    /// `performance.now()` before and after (no entry: e.g. a successful no-cors fetch).
    Clock,
}

/// Connection phases in milliseconds, present only when the origin sends `Timing-Allow-Origin`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phases {
    pub dns_ms: f64,
    pub connect_ms: f64,
    /// Zero on plain HTTP and on a reused connection.
    pub tls_ms: f64,
    /// From sending the request to the first byte of the response.
    pub ttfb_ms: f64,
}

/// One probe attempt: which kind, how it ended, how long it took and how that was timed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    pub probe: ProbeKind,
    pub outcome: Outcome,
    /// Milliseconds from start to the outcome (to the deadline for a timeout).
    pub duration_ms: f64,
    /// Which trial of the run this was, from 0.
    pub trial: u8,
    /// The first attempt on this target (DNS, TCP and TLS included); later ones may reuse
    /// the connection.
    pub cold: bool,
    pub timing: TimingSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<Phases>,
    /// For throughput attempts: the asset's size, as the target list gives it or, where the
    /// list does not know it, as the browser's Resource Timing entry read it (hosts that send
    /// `Timing-Allow-Origin`). Absent when neither knows: the load is timed, no rate is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// For image attempts: the image is on another host than the target's fetch URL, so a fetch
    /// that answered says nothing about the image's host (see [`crate::Target::mark_hosts`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub cross_host: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Attempt {
    /// An attempt timed by the clock, in trial 0, cold: the common case for tests.
    pub fn new(probe: ProbeKind, outcome: Outcome, duration_ms: f64) -> Self {
        Attempt {
            probe,
            outcome,
            duration_ms,
            trial: 0,
            cold: true,
            timing: TimingSource::Clock,
            phases: None,
            bytes: None,
            cross_host: false,
        }
    }

    pub fn ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    /// Image and fetch attempts decide reachability; throughput attempts only speed.
    pub fn is_reachability(&self) -> bool {
        matches!(self.probe, ProbeKind::Image | ProbeKind::Fetch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_image_and_fetch_attempts_decide_reachability() {
        let kinds = [(ProbeKind::Image, true), (ProbeKind::Fetch, true), (ProbeKind::Throughput, false)];
        for (probe, reachability) in kinds {
            assert_eq!(Attempt::new(probe, Outcome::Ok, 1.0).is_reachability(), reachability, "{probe:?}");
        }
    }
}
