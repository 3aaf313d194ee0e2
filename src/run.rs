//! A run: every target measured in several trials, targets in random order with bounded
//! concurrency, each attempt under its own deadline, controls in the same batch. Then verdicts
//! by the shared rules, and a report ready to submit if the visitor chooses to.
//!
//! Budget: a black-holed target costs one deadline (its first trial), not one per trial, and
//! targets run side by side, so a run with black holes lasts about one deadline.
//!
//! Cancelling is dropping the future: every pending probe is dropped with it, and a dropped
//! probe aborts its fetch or clears its image's source (`probe::fetch`, `probe::image`).

use futures::stream::{self, StreamExt};
use vantage_report::{
    measurements_from, Attempt, BrowserInfo, Measurement, Outcome, ProbeKind, Report, Target, TargetList,
    SCHEMA_VERSION,
};

use crate::probe::{self, policy::PolicyWatch, random_hex, timing};

/// How a run measures.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Image+fetch trials per target; the first is cold (DNS, TCP, TLS), the others warm.
    pub trials: u8,
    /// Per-attempt deadline. Well under Chromium's own ~30 s TLS give-up, so a black hole is
    /// never misread as a fast failure, and short enough that a visitor waits a few seconds.
    pub deadline_ms: u32,
    /// Targets measured at once. Every target of the default list fits, so even a network
    /// where every name hangs (broken DNS, a censor black-holing everything) costs one
    /// deadline, not one per batch; still bounded, for lists that grow.
    pub concurrency: usize,
}

impl Default for Plan {
    fn default() -> Self {
        Plan { trials: 3, deadline_ms: 5_000, concurrency: 24 }
    }
}

impl Plan {
    /// Most attempts a target can take.
    pub fn planned(&self, t: &Target) -> usize {
        usize::from(self.trials) * 2 + usize::from(t.throughput.is_some())
    }
}

/// Where one target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Index in the target list.
    pub target: usize,
    pub done: usize,
    /// Attempts this target will take (shrinks when a black hole ends its trials early).
    pub planned: usize,
    pub finished: bool,
}

/// Fisher–Yates with the page's random source: the order is not predictable, so no target is
/// always measured on a cold network or behind the same neighbour.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (js_sys::Math::random() * (i + 1) as f64) as usize;
        order.swap(i, j.min(i));
    }
    order
}

/// Measures one target: trials of an image and a fetch side by side, then the large asset if
/// an image got through.
async fn measure_target(
    t: &Target,
    plan: Plan,
    run_token: &str,
    index: usize,
    on_progress: &impl Fn(Progress),
) -> Vec<probe::Done> {
    let mut planned = plan.planned(t);
    let mut done = Vec::with_capacity(planned);
    let request = |kind, url: &str, trial: u8| probe::Request {
        kind,
        url: url.to_string(),
        deadline_ms: plan.deadline_ms,
        trial,
        cold: trial == 0,
        bytes: None,
        run_token: run_token.to_string(),
        control: t.control,
    };
    for trial in 0..plan.trials {
        let (image, fetched) =
            (request(ProbeKind::Image, t.image_for_trial(trial), trial), request(ProbeKind::Fetch, &t.fetch, trial));
        let (image, fetched) = futures::join!(probe::run(&image), probe::run(&fetched));
        let hung = image.attempt.outcome == Outcome::Timeout || fetched.attempt.outcome == Outcome::Timeout;
        done.push(image);
        done.push(fetched);
        if hung {
            // Another trial would cost another full deadline and say nothing new.
            planned = done.len();
        }
        on_progress(Progress { target: index, done: done.len(), planned, finished: false });
        if hung {
            break;
        }
    }
    let image_ok = done.iter().any(|d| d.attempt.probe == ProbeKind::Image && d.attempt.ok());
    if let (Some(asset), true) = (&t.throughput, image_ok) {
        let req = probe::Request {
            bytes: asset.bytes,
            cold: false,
            ..request(ProbeKind::Throughput, &asset.url, plan.trials)
        };
        done.push(probe::run(&req).await);
    }
    on_progress(Progress { target: index, done: done.len(), planned: done.len(), finished: true });
    done
}

/// Probes every target of `list` and returns its attempts, one list per target in the list's
/// order. `on_progress` hears of every step.
pub async fn measure(list: &TargetList, plan: Plan, on_progress: impl Fn(Progress)) -> Vec<Vec<Attempt>> {
    timing::reset();
    let watch = PolicyWatch::start();
    let on_progress = &on_progress;
    // One token for the run's cacheable loads (controls' images, throughput assets).
    let run_token = &random_hex(8);
    let finished: Vec<(usize, Vec<probe::Done>)> = stream::iter(shuffled(list.targets.len()))
        .map(|i| async move { (i, measure_target(&list.targets[i], plan, run_token, i, on_progress).await) })
        .buffer_unordered(plan.concurrency.max(1))
        .collect()
        .await;
    // A violation event is queued as a task of its own and can trail the failure it caused.
    gloo_timers::future::TimeoutFuture::new(20).await;
    // Back into the list's order by index (not by sorting: a sort compiles a few kilobytes
    // of code into the page for a handful of items).
    let mut results: Vec<Vec<probe::Done>> = list.targets.iter().map(|_| Vec::new()).collect();
    for (i, done) in finished {
        if let Some(slot) = results.get_mut(i) {
            *slot = done;
        }
    }
    let attempts = results
        .into_iter()
        .map(|done| {
            done.into_iter()
                .map(|d| {
                    let mut a = d.attempt;
                    if a.outcome == Outcome::Error && watch.refused(&d.requested) {
                        a.outcome = Outcome::PolicyBlocked;
                    }
                    a
                })
                .collect()
        })
        .collect();
    timing::reset();
    attempts
}

/// Runs the whole test and returns the report (not yet submitted).
pub async fn run(list: &TargetList, plan: Plan, on_progress: impl Fn(Progress)) -> Report {
    let start = js_sys::Date::new_0().to_iso_string().as_string().unwrap_or_default();
    let attempts = measure(list, plan, on_progress).await;
    let deadline_ms = f64::from(plan.deadline_ms);
    report_for(list, start, measurements_from(list, attempts, deadline_ms), deadline_ms)
}

/// The report of a run that started at `start` (ISO 8601) and decided `measurements`: a fresh
/// random id, the browser's family and major version, nothing else of the visitor.
pub fn report_for(list: &TargetList, start: String, measurements: Vec<Measurement>, deadline_ms: f64) -> Report {
    Report {
        schema_version: SCHEMA_VERSION,
        report_id: random_hex(16),
        software_name: "vantage-web".into(),
        software_version: env!("CARGO_PKG_VERSION").into(),
        targets_version: list.version.clone(),
        measurement_start_time: start,
        deadline_ms,
        browser: BrowserInfo::from_user_agent(&user_agent()),
        connection_type: connection_type(),
        measurements,
    }
}

fn user_agent() -> String {
    web_sys::window().and_then(|w| w.navigator().user_agent().ok()).unwrap_or_default()
}

/// `navigator.connection.type` where the browser exposes it (Chromium on Android, mostly).
fn connection_type() -> Option<String> {
    let navigator = web_sys::window()?.navigator();
    let connection = js_sys::Reflect::get(&navigator, &"connection".into()).ok()?;
    if connection.is_undefined() || connection.is_null() {
        return None;
    }
    let kind = js_sys::Reflect::get(&connection, &"type".into()).ok()?.as_string()?;
    vantage_report::report::CONNECTION_TYPES.contains(&kind.as_str()).then_some(kind)
}
