//! Sharing a finished run: the copy button says whether the text reached the clipboard, the
//! answer of a slow clipboard stays with the run it was asked for (a new run never shows
//! "Copied" for text nobody copied), and the text panel the visitor opened stays open when
//! they switch language. The clipboard is the browser's own, with `writeText` replaced by
//! one that answers when the test says.

use std::time::Duration;

use vantage_lab::censor::Behaviour;
use vantage_lab::collector::Options;
use vantage_lab::targets::{facebook, lab_control, list, own_origin_control, x};
use vantage_report::TargetList;

use crate::self_test_support::wait_for;
use crate::world::{x_up_facebook_down, World};

fn targets() -> TargetList {
    list("share-1", vec![x(), facebook(), own_origin_control(), lab_control()])
}

/// `navigator.clipboard.writeText` answering after `arguments[0]` ms.
const CLIPBOARD_AFTER: &str = r#"
    const ms = arguments[0];
    navigator.clipboard.writeText = text => new Promise(done => setTimeout(() => { window.copied = text; done(); }, ms));
"#;

const STATUS: &str = r#"return document.querySelector('.share-status').textContent"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_answers_for_its_own_run_and_the_open_text_survives_a_language_change() {
    let (_lab, net) = x_up_facebook_down(Behaviour::Healthy).await;
    let world = World::start(&targets(), Options::default(), net).await;
    let b = &world.browser;
    let js = |script: &'static str, args: Vec<serde_json::Value>| async move {
        b.client.execute(script, args).await.expect("script in the page")
    };
    let page = world.open_page().await;
    page.consent_and_run().await;
    page.wait_done(Duration::from_secs(20)).await;

    // A clipboard that answers at once: the page says the text was copied, and it was the
    // share text, naming the platforms.
    js(CLIPBOARD_AFTER, vec![0.into()]).await;
    js(r#"document.querySelector('[data-testid="copy"]').click()"#, vec![]).await;
    wait_for(b, r#"[data-testid="results"] .share-status:not(:empty)"#, Duration::from_secs(5)).await;
    assert_eq!(js(STATUS, vec![]).await, "Summary copied. It contains no identifier.");
    let copied = js("return window.copied", vec![]).await;
    assert!(copied.as_str().is_some_and(|t| t.contains("X") && t.contains("Facebook")), "{copied}");

    // A clipboard that answers after the visitor has started another run: the answer is the
    // first run's, so the second run's share says nothing about copying.
    js(CLIPBOARD_AFTER, vec![1500.into()]).await;
    js(r#"document.querySelector('[data-testid="copy"]').click()"#, vec![]).await;
    js(r#"document.querySelector('[data-testid="run"]').click()"#, vec![]).await;
    wait_for(b, r#"[data-testid="results"][data-state="running"]"#, Duration::from_secs(5)).await;
    page.wait_done(Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(js("return window.copied", vec![]).await.is_string(), "the slow clipboard did answer");
    assert_eq!(js(STATUS, vec![]).await, "", "no word about a copy nobody made in this run");

    // The visitor opens the text to share and switches to Spanish: it stays open.
    js(r#"document.querySelector('.share details summary').click()"#, vec![]).await;
    assert_eq!(js("return document.querySelector('.share details').open", vec![]).await, true);
    js(
        r#"const s = document.querySelector('[data-testid="language"]'); s.value = 'es'; s.dispatchEvent(new Event('change'))"#,
        vec![],
    )
    .await;
    wait_for(b, r#"html[lang="es"]"#, Duration::from_secs(10)).await;
    assert_eq!(js("return document.querySelector('.share details').open", vec![]).await, true);
    world.close().await;
}
