//! In-browser tests of the client's shell: probes against real resources, and the page's
//! consent gate, run by `wasm-bindgen-test-runner` in headless Chromium.
//!
//! Run with `cargo xtask test` (or `cargo test --target wasm32-unknown-unknown`, with
//! chromedriver on PATH). The runner serves the crate root, so `/static/...` exists.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use vantage::probe::{self, Request};
use vantage::run::{measure, Plan};
use vantage_report::{measurements_from, Attempt, Outcome, ProbeKind, TargetList, TimingSource, Verdict};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DEADLINE: u32 = 5_000;
/// Nothing listens on port 1: the connection is refused at once.
const REFUSED: &str = "http://127.0.0.1:1/favicon.ico";

async fn probe(kind: ProbeKind, url: &str) -> Attempt {
    probe::run(&Request { kind, url: url.into(), deadline_ms: DEADLINE, trial: 0, cold: true, bytes: None })
        .await
        .attempt
}

#[wasm_bindgen_test]
async fn an_image_probe_decodes_a_real_image_and_takes_its_resource_timing() {
    let a = probe(ProbeKind::Image, "/static/control.png").await;
    assert_eq!(a.outcome, Outcome::Ok);
    assert!(a.duration_ms > 0.0 && a.duration_ms < f64::from(DEADLINE), "{a:?}");
    // Same origin: the entry exists and carries phases.
    assert_eq!(a.timing, TimingSource::ResourceTiming, "{a:?}");
    assert!(a.phases.is_some(), "{a:?}");
}

#[wasm_bindgen_test]
async fn content_that_is_not_an_image_fails_the_image_probe_but_not_the_fetch() {
    // The signature of a block page served in place of a favicon.
    assert_eq!(probe(ProbeKind::Image, "/static/style.css").await.outcome, Outcome::Error);
    assert_eq!(probe(ProbeKind::Fetch, "/static/style.css").await.outcome, Outcome::Ok);
}

#[wasm_bindgen_test]
async fn a_refused_connection_fails_fast_in_both_probes() {
    for a in [probe(ProbeKind::Image, REFUSED).await, probe(ProbeKind::Fetch, REFUSED).await] {
        assert_eq!(a.outcome, Outcome::Error, "{a:?}");
        assert!(a.duration_ms < 1_000.0, "a refusal is not a timeout: {a:?}");
    }
}

#[wasm_bindgen_test]
async fn every_request_is_unique_so_no_cache_answers() {
    let (a, b) = (probe::probe_url("/static/control.png"), probe::probe_url("/static/control.png"));
    assert_ne!(a, b);
    assert!(a.starts_with("http://") && a.contains("/static/control.png?vantage="), "{a}");
    assert!(probe::probe_url("https://x.example/i.png?v=2").starts_with("https://x.example/i.png?v=2&vantage="));
}

#[wasm_bindgen_test]
async fn a_run_decides_verdicts_by_the_shared_rules() {
    let list: TargetList = serde_json::from_str(
        r#"{"version":"web-1","targets":[
            {"id":"tampered","name":"T","category":"GRP","images":["/static/style.css"],"fetch":"/static/style.css"},
            {"id":"control","name":"C","category":"CTRL","control":true,"images":["/static/control.png"],"fetch":"/static/control.png"}]}"#,
    )
    .unwrap();
    let finished = std::cell::RefCell::new(Vec::new());
    let plan = Plan { trials: 2, deadline_ms: DEADLINE, concurrency: 2 };
    let attempts = measure(&list, plan, |p| {
        if p.finished {
            finished.borrow_mut().push((p.target, p.done));
        }
    })
    .await;
    let mut finished = finished.into_inner();
    finished.sort();
    assert_eq!(finished, [(0, 4), (1, 4)], "progress tells when each target is done");
    // Trial 0 is cold, later trials warm.
    assert_eq!(
        attempts[1].iter().map(|a| (a.trial, a.cold)).collect::<Vec<_>>(),
        [(0, true), (0, true), (1, false), (1, false)]
    );
    let ms = measurements_from(&list, attempts, f64::from(DEADLINE));
    assert_eq!(ms[0].verdict, Verdict::Tampered, "{:?}", ms[0]);
    assert_eq!(ms[1].verdict, Verdict::Reachable, "{:?}", ms[1]);
}

fn query(selector: &str) -> Option<web_sys::Element> {
    web_sys::window()?.document()?.query_selector(selector).ok()?
}

#[wasm_bindgen_test]
async fn the_page_waits_for_consent_and_explains_a_missing_target_list() {
    leptos::mount::mount_to_body(vantage::app::App);
    let run: web_sys::HtmlButtonElement = query(r#"[data-testid="run"]"#).expect("run button").unchecked_into();
    let consent: web_sys::HtmlInputElement = query(r#"[data-testid="consent"]"#).expect("consent box").unchecked_into();
    assert!(!consent.checked(), "consent is never pre-ticked");
    assert!(run.disabled(), "no run without consent");
    assert!(query("[data-target]").is_none(), "nothing is measured before the click");

    // The test server has no collector API: the list fails to load, and the page says so.
    let mut alert = None;
    for _ in 0..100 {
        alert = query(r#"[data-testid="targets-status"][role="alert"]"#);
        if alert.is_some() {
            break;
        }
        gloo_timers::future::sleep(Duration::from_millis(50)).await;
    }
    let alert = alert.expect("an error message when the target list cannot be loaded");
    assert!(alert.text_content().unwrap_or_default().contains("could not be loaded"));
    consent.click();
    assert!(consent.checked());
    assert!(run.disabled(), "still no run without a valid target list");
}
