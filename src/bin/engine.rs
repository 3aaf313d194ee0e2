//! The measurement engine of the newsroom widget: the self-test page's probes, run, rules and
//! words, without its interface, exported to the widget's script. The widget loads it only
//! after the reader clicks *Test now*; before that the widget is plain HTML with no wasm.
//!
//! Exports (ES module built by `cargo xtask`, `static/engine/engine.js`):
//! - `measure(lang, onProgress)`: loads the served target list, measures it, and resolves to
//!   `{message, rows, summary}`: the `vantage:result` message for the host page, one row per
//!   target (`{target, name, control, verdict, words}`) and the summary line, in `lang`.
//!   `onProgress` receives each `vantage:progress` message.
//! - `submit()`: submits the last run's report, resolving to `"sent"` or `"duplicate"` (already
//!   stored once), rejecting with words to show when it was not stored.
//!
//! Messages are built from `vantage_report::widget` with `serde-wasm-bindgen`, so the host
//! receives exactly the format the tests read back.

use std::cell::RefCell;

use serde::Serialize;
use vantage::api::{self, SubmitError};
use vantage::i18n::{self, words};
use vantage::run;
use vantage_report::widget::{TargetVerdict, WidgetMessage, VERSION};
use vantage_report::{Report, Verdict};
use wasm_bindgen::prelude::*;

thread_local! {
    /// The last run's report, kept for `submit` and nowhere else.
    static LAST: RefCell<Option<Report>> = const { RefCell::new(None) };
}

fn main() {}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

/// A row of the widget's results.
#[derive(Serialize)]
struct Row {
    target: String,
    name: String,
    control: bool,
    verdict: Verdict,
    /// The verdict in the reader's language.
    words: String,
}

#[derive(Serialize)]
struct Outcome {
    message: WidgetMessage,
    rows: Vec<Row>,
    summary: String,
}

/// Measures the served target list; see the module documentation.
#[wasm_bindgen]
pub async fn measure(lang: String, on_progress: js_sys::Function) -> Result<JsValue, JsValue> {
    let catalogue = match i18n::language(&lang) {
        Some(language) => i18n::load(language).await.unwrap_or_else(|_| i18n::Catalogue::english()),
        None => i18n::Catalogue::english(),
    };
    let list = api::fetch_targets().await.map_err(|e| JsValue::from_str(&e))?;
    let plan = run::Plan::default();
    // Per target: attempts done and planned (a black hole shrinks its plan).
    let counts = RefCell::new(list.targets.iter().map(|t| (0, plan.planned(t))).collect::<Vec<_>>());
    let report = run::run(&list, plan, |p| {
        let (done, total) = {
            let mut counts = counts.borrow_mut();
            if let Some(c) = counts.get_mut(p.target) {
                *c = (p.done, p.planned);
            }
            counts.iter().fold((0, 0), |(d, t), (done, planned)| (d + done, t + planned))
        };
        let message = WidgetMessage::Progress { version: VERSION, done: done as u32, total: total as u32 };
        let _ = on_progress.call1(&JsValue::NULL, &to_js(&message));
    })
    .await;
    let rows = report
        .measurements
        .iter()
        .map(|m| Row {
            target: m.target_id.clone(),
            name: list
                .targets
                .iter()
                .find(|t| t.id == m.target_id)
                .map_or_else(|| m.target_id.clone(), |t| t.name.clone()),
            control: m.control,
            verdict: m.verdict,
            words: words::verdict(&catalogue, m.verdict),
        })
        .collect();
    let results =
        report.measurements.iter().map(|m| TargetVerdict { target: m.target_id.clone(), verdict: m.verdict }).collect();
    let outcome = Outcome {
        message: WidgetMessage::Result { version: VERSION, results },
        rows,
        summary: words::summary(&catalogue, words::tally(&report.measurements)),
    };
    LAST.with(|last| *last.borrow_mut() = Some(report));
    Ok(to_js(&outcome))
}

/// Submits the last run's report; see the module documentation.
#[wasm_bindgen]
pub async fn submit() -> Result<JsValue, JsValue> {
    let Some(report) = LAST.with(|last| last.borrow().clone()) else {
        return Err(JsValue::from_str("nothing to submit: run the test first"));
    };
    match api::submit(&report).await {
        Ok(_) => Ok(JsValue::from_str("sent")),
        Err(SubmitError::Duplicate) => Ok(JsValue::from_str("duplicate")),
        Err(SubmitError::Unreachable(e) | SubmitError::Rejected(e)) => Err(JsValue::from_str(&e)),
    }
}
