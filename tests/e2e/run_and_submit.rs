//! Consent, run, verdicts, submit, export — and the visitor's address nowhere in the
//! collector's files.

use std::time::Duration;

use vantage_lab::censor::Behaviour;
use vantage_lab::collector::Options;
use vantage_lab::targets::{facebook, lab_control, list, own_origin_control, x};
use vantage_report::TargetList;

use crate::world::{x_up_facebook_down, World};

/// X is healthy (served by the lab); Facebook's name does not resolve; the collector's own
/// origin is the control.
fn targets() -> TargetList {
    list("e2e-1", vec![x(), facebook(), own_origin_control(), lab_control()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_runs_the_test_and_submits_without_leaving_their_address() {
    let (_lab, net) = x_up_facebook_down(Behaviour::Healthy).await;
    let world = World::start(&targets(), Options::default(), net).await;

    let page = world.open_page().await;
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
        blocked.contains("Likely blocked")
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

    let export = world.export().await;
    let verdict_of =
        |id: &str| export.iter().find(|l| l["test_keys"]["target_id"] == id).map(|l| l["test_keys"]["verdict"].clone());
    assert_eq!(verdict_of("x"), Some("reachable".into()), "{export:?}");
    assert_eq!(verdict_of("facebook"), Some("blocked".into()), "{export:?}");
    assert!(export.iter().all(|l| l["probe_cc"] == "ZZ" && l["probe_asn"] == "AS0"), "{export:?}");

    let files = world.collector.data_files();
    assert!(files.iter().any(|(_, bytes)| !bytes.is_empty()), "the database holds something");
    for (path, bytes) in &files {
        assert!(!bytes.windows(9).any(|w| w == b"127.0.0.1"), "the client's address was written to {}", path.display());
    }
    world.close().await;
}
