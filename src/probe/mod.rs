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

use vantage_report::{Asset, Attempt, Outcome, ProbeKind, TimingSource};

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

/// How a probe's URL is kept from being answered by a cache.
///
/// Platform probes must reach the platform every time, so each request gets a token of its
/// own. A control's image and every throughput asset are immutable files on CDNs that key
/// their caches on the query string: a token per request would make every load an edge miss
/// and an origin fetch, measuring the CDN's origin path instead of its edge. They get the
/// run's token: the first load of a run always goes to the network (a later run never reuses
/// this run's cache, so a visitor gone offline never sees "controls loaded" from an earlier
/// run), and later loads of the same run may come from the memory cache (the rules time
/// controls' images by their first loads only). A control's fetch gets no token at all:
/// `cache: no-store` already keeps the browser's cache out, and the CDN's edge may answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busting<'a> {
    EachRequest,
    Run(&'a str),
    None,
}

impl<'a> Busting<'a> {
    /// The busting a probe of `kind` on a target (a `control` or not) gets in the run whose
    /// token is `run_token`.
    pub fn for_probe(kind: ProbeKind, control: bool, run_token: &'a str) -> Busting<'a> {
        match (kind, control) {
            (ProbeKind::Throughput, _) | (ProbeKind::Image, true) => Busting::Run(run_token),
            (ProbeKind::Fetch, true) => Busting::None,
            (ProbeKind::Image | ProbeKind::Fetch, false) => Busting::EachRequest,
        }
    }
}

/// `url` with the query parameter `vantage=token` added.
pub fn with_token(url: &str, token: &str) -> String {
    let mut busted = String::from(url);
    busted.push_str(if url.contains('?') { "&vantage=" } else { "?vantage=" });
    busted.push_str(token);
    busted
}

/// The absolute URL a probe requests, busted as `busting` says; its Resource Timing entry is
/// found by this name (and by its start, for a URL requested more than once in a run).
pub fn probe_url(url: &str, busting: Busting<'_>) -> String {
    let busted = match busting {
        Busting::EachRequest => with_token(url, &random_hex(8)),
        Busting::Run(token) => with_token(url, token),
        Busting::None => url.to_string(),
    };
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
    /// Expected size, for throughput probes; when the list does not know it, the size the
    /// Resource Timing entry reads (hosts sending `Timing-Allow-Origin`) is taken instead.
    pub bytes: Option<u64>,
    /// The run's cache-busting token, and whether the target is a control ([`Busting`]).
    pub run_token: String,
    pub control: bool,
}

/// A finished probe: the attempt, and the exact URL requested (to match policy violations).
#[derive(Debug, Clone)]
pub struct Done {
    pub attempt: Attempt,
    pub requested: String,
}

/// Runs one probe of `req.kind`.
pub async fn run(req: &Request) -> Done {
    let requested = probe_url(&req.url, Busting::for_probe(req.kind, req.control, &req.run_token));
    let start = now_ms();
    let outcome = match req.kind {
        ProbeKind::Fetch => fetch::load(&requested, req.deadline_ms).await,
        ProbeKind::Image | ProbeKind::Throughput => image::load(&requested, req.deadline_ms).await,
    };
    let clock_ms = (now_ms() - start).max(0.0);
    let entry = if outcome == Outcome::Timeout { None } else { timing::entry(&requested, start).await };
    let (duration_ms, timing, phases) = match (&entry, outcome) {
        (_, Outcome::Timeout) => (f64::from(req.deadline_ms), TimingSource::Clock, None),
        (Some(e), _) if e.measured(outcome, clock_ms) => (e.duration_ms, TimingSource::ResourceTiming, e.phases),
        _ => (clock_ms, TimingSource::Clock, None),
    };
    // A throughput asset of unknown size: the size the browser read, when it may tell.
    let bytes = match (req.kind, req.bytes, &entry, outcome) {
        (ProbeKind::Throughput, None, Some(e), Outcome::Ok) => e.body_bytes.filter(|b| Asset::size_allowed(*b)),
        _ => req.bytes,
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
            bytes,
            // Marked from the target list when the run's measurements are decided.
            cross_host: false,
        },
        requested,
    }
}
