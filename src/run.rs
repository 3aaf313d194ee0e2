//! A run: every target probed at once, each attempt under its own deadline, so black-holed
//! targets cost one deadline rather than the sum of them; then verdicts by the shared rules and
//! a report ready to submit if the visitor chooses to.

use futures::future::join_all;
use vantage_report::{measurements_from, Attempt, BrowserInfo, Report, TargetList, SCHEMA_VERSION};

use crate::probe::{fetch, image, random_hex};

/// Per-attempt deadline. Well under Chromium's own ~30 s TLS give-up, so a black hole is never
/// misread as a fast failure, and short enough that a visitor waits a few seconds at most.
pub const DEADLINE_MS: u32 = 5_000;

/// Probes every target of `list`; `on_measured(index)` is called as each target finishes.
/// Returns one list of attempts per target, in the list's order.
pub async fn measure(list: &TargetList, deadline_ms: u32, on_measured: impl Fn(usize)) -> Vec<Vec<Attempt>> {
    let on_measured = &on_measured;
    join_all(list.targets.iter().enumerate().map(|(i, t)| async move {
        let (img, fetched) = futures::join!(image::probe(&t.image, deadline_ms), fetch::probe(&t.fetch, deadline_ms));
        on_measured(i);
        vec![img, fetched]
    }))
    .await
}

/// Runs the whole test and returns the report (not yet submitted).
pub async fn run(list: &TargetList, on_measured: impl Fn(usize)) -> Report {
    let start = js_sys::Date::new_0().to_iso_string().as_string().unwrap_or_default();
    let attempts = measure(list, DEADLINE_MS, on_measured).await;
    let deadline_ms = f64::from(DEADLINE_MS);
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
        measurements: measurements_from(list, attempts, deadline_ms),
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
