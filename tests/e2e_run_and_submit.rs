//! End to end in real headless Chromium: consent, run, verdicts, submit, export — and the
//! visitor's address nowhere in the collector's files.
//!
//! Run with `cargo xtask test` (it builds the client and installs Chromium first).
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::browser::{Browser, BrowserConfig};
use support::collector::Collector;
use support::http_get;
use support::lab::{Behaviour, Lab};
use support::page::SelfTestPage;

/// X is healthy (served by the lab); Facebook's name does not resolve; the collector's own
/// origin is the control.
const TARGETS: &str = r#"{
  "version": "e2e-1",
  "targets": [
    {"id": "x", "name": "X", "category": "GRP",
     "images": ["https://abs.twimg.com/favicons/twitter.3.ico"], "fetch": "https://x.com/favicon.ico"},
    {"id": "facebook", "name": "Facebook", "category": "GRP",
     "images": ["https://www.facebook.com/favicon.ico"], "fetch": "https://www.facebook.com/favicon.ico"},
    {"id": "vantage", "name": "Control", "category": "CTRL", "control": true,
     "images": ["/static/control.png"], "fetch": "/static/control.png"}
  ]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_runs_the_test_and_submits_without_leaving_their_address() {
    let collector = Collector::start(TARGETS).await;
    let lab = Lab::new(&["abs.twimg.com", "x.com"]);
    let healthy = lab.serve(Behaviour::Healthy).await;
    // The page is served under a name, so that no origin in a report legitimately holds
    // the loopback address the visitor connects from.
    let site = format!("http://vantage.test:{}", collector.port);
    let browser = Browser::start(BrowserConfig {
        resolver_rules: vec![
            format!("MAP vantage.test 127.0.0.1:{}", collector.port),
            format!("MAP abs.twimg.com 127.0.0.1:{healthy}"),
            format!("MAP x.com 127.0.0.1:{healthy}"),
            "MAP www.facebook.com ~NOTFOUND".into(),
        ],
        trusted_spki: vec![lab.spki.clone()],
        secure_origins: vec![site.clone()],
    })
    .await;

    let page = SelfTestPage::open(&browser.client, &format!("{site}/")).await;
    assert!(!page.run_enabled().await, "the run button must wait for consent");
    page.consent_and_run().await;
    page.wait_done(Duration::from_secs(20)).await;

    let verdicts = page.verdicts().await;
    assert_eq!(verdicts.get("x").map(String::as_str), Some("reachable"), "{verdicts:?}\n{}", page.text().await);
    assert_eq!(verdicts.get("facebook").map(String::as_str), Some("blocked"), "{verdicts:?}\n{}", page.text().await);
    assert_eq!(verdicts.get("vantage").map(String::as_str), Some("reachable"), "{verdicts:?}");
    // Each result explains itself: the deciding evidence in words, and the timings.
    let blocked = page.row_text("facebook").await;
    assert!(
        blocked.contains("Blocked")
            && blocked.contains("6 of 6 attempts failed in under")
            && blocked.contains("while the controls loaded"),
        "{blocked}"
    );
    let reachable = page.row_text("x").await;
    assert!(
        reachable.contains("6 of 6 attempts loaded")
            && reachable.contains("first: image")
            && reachable.contains("then: image"),
        "{reachable}"
    );

    let (state, message) = page.submit().await;
    assert_eq!(state, "sent", "{message}");
    browser.close().await;

    let (status, export) = http_get(&format!("http://127.0.0.1:{}/api/v1/export", collector.port)).await;
    assert_eq!(status, 200);
    let lines: Vec<Value> = export.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let verdict_of =
        |id: &str| lines.iter().find(|l| l["test_keys"]["target_id"] == id).map(|l| l["test_keys"]["verdict"].clone());
    assert_eq!(verdict_of("x"), Some("reachable".into()), "{export}");
    assert_eq!(verdict_of("facebook"), Some("blocked".into()), "{export}");
    assert!(lines.iter().all(|l| l["probe_cc"] == "ZZ" && l["probe_asn"] == "AS0"), "{export}");

    let files = collector.data_files();
    assert!(files.iter().any(|(_, bytes)| !bytes.is_empty()), "the database holds something");
    for (path, bytes) in &files {
        assert!(!bytes.windows(9).any(|w| w == b"127.0.0.1"), "the client's address was written to {}", path.display());
    }
}
