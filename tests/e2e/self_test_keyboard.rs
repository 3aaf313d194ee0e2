//! Keyboard only, from consent to submitted: every step reachable with Tab, Space and Enter,
//! the focus always visible, and the focus taken where the visitor needs it next (the cancel
//! button while running, the results when they arrive). The rows are keyed: a row seen while
//! measuring is the same element once its verdict is in, and the live status line is written
//! only when its words change (a screen reader announces every write).

use std::time::Duration;

use vantage_lab::censor::Behaviour;
use vantage_lab::collector::Options;
use vantage_lab::targets::{facebook, lab_control, list, own_origin_control, x};
use vantage_report::TargetList;

use crate::self_test_support::{focus_is_visible, focused, press, tab_to, wait_for, ENTER, SPACE};
use crate::world::{x_up_facebook_down, World};

/// Counts the status line's rewrites: `statusChanges` with other words, `statusRepeats` with
/// the same words again.
const WATCH_STATUS: &str = r#"
    window.statusChanges = 0;
    window.statusRepeats = 0;
    new MutationObserver(records => {
        for (const r of records) {
            const before = [...r.removedNodes].map(n => n.textContent).join("");
            const after = [...r.addedNodes].map(n => n.textContent).join("");
            if (before === after) window.statusRepeats++; else window.statusChanges++;
        }
    }).observe(document.querySelector('[data-testid="summary"]'), { childList: true });
"#;

fn targets() -> TargetList {
    list("keyboard-1", vec![x(), facebook(), own_origin_control(), lab_control()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyboard_alone_goes_from_consent_to_submitted() {
    let (_lab, net) = x_up_facebook_down(Behaviour::Slow { delay_ms: 400 }).await;
    let world = World::start(&targets(), Options::default(), net).await;
    let b = &world.browser;
    let page = world.open_page().await;

    tab_to(b, r#"[data-testid="consent"]"#, 12).await;
    assert!(focus_is_visible(b).await, "the focused consent box shows its focus");
    press(b, SPACE).await;
    page.wait_ready().await;
    tab_to(b, r#"[data-testid="run"]"#, 4).await;
    assert!(focus_is_visible(b).await, "the focused run button shows its focus");
    // The live status line is announced by screen readers at each change: count writes that
    // change its words and writes that only repeat them.
    b.client.execute(WATCH_STATUS, vec![]).await.expect("watching the status line");
    press(b, ENTER).await;

    // While it runs, the focus waits on the cancel button.
    wait_for(b, r#"[data-testid="results"][data-state="running"]"#, Duration::from_secs(5)).await;
    wait_for(b, r#"[data-testid="cancel"]:focus"#, Duration::from_secs(2)).await;
    let pending = b
        .client
        .execute(
            r#"window.seenRow = document.querySelector('[data-target="x"]'); return window.seenRow.dataset.verdict"#,
            vec![],
        )
        .await
        .expect("x's row while running");
    assert_eq!(pending, "pending");

    page.wait_done(Duration::from_secs(20)).await;
    assert!(focused(b, "#results-heading").await, "the results take the focus when they arrive");
    let writes = b.client.execute("return [window.statusChanges, window.statusRepeats]", vec![]).await.unwrap();
    assert!(writes[0].as_u64() >= Some(2), "the status line said how far the run was, then the summary: {writes}");
    assert_eq!(writes[1], 0, "the status line is never rewritten with the same words: {writes}");
    let same = b
        .client
        .execute(
            r#"return window.seenRow === document.querySelector('[data-target="x"]') && window.seenRow.dataset.verdict"#,
            vec![],
        )
        .await
        .expect("x's row when done");
    assert_eq!(same, "reachable", "the row seen while measuring is the same element, updated in place");

    tab_to(b, r#"[data-testid="submit"]"#, 12).await;
    assert!(focus_is_visible(b).await, "the focused submit button shows its focus");
    press(b, ENTER).await;
    wait_for(b, r#"[data-testid="submit-status"][data-state="sent"]"#, Duration::from_secs(10)).await;

    let export = world.export().await;
    let ids: std::collections::BTreeSet<String> =
        export.iter().map(|l| l["report_id"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!((ids.len(), export.len()), (1, 4), "one report of four measurements: {export:?}");
    world.close().await;
}
