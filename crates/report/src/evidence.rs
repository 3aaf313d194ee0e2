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
}

/// One probe attempt: which kind, how it ended, and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    pub probe: ProbeKind,
    pub outcome: Outcome,
    /// Milliseconds from start to the outcome (to the deadline for a timeout).
    pub duration_ms: f64,
}

impl Attempt {
    pub fn ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}
