//! The collector goes away after the run: the page says so plainly, keeps the result, tries
//! again by itself, and once the collector is back the report is stored exactly once — even
//! when a `sendBeacon` (page hidden) and a retry both deliver it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::AbortHandle;
use vantage_lab::censor::{Behaviour, Lab};
use vantage_lab::collector::{Collector, Options};
use vantage_lab::targets::{lab_control, list, own_origin_control, x, CONTROL_HOST};
use vantage_report::TargetList;

use crate::self_test_support::{screenshot, wait_for, DESKTOP};
use crate::world::{browser, browser_turn, Net};

fn targets() -> TargetList {
    list("resilience-1", vec![x(), own_origin_control(), lab_control()])
}

/// The way to the collector, which the test can cut (every connection reset, new ones
/// refused) and restore, as when a collector is stopped and started again.
#[derive(Clone)]
struct Gate {
    open: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Gate {
    async fn start(to: u16) -> (Gate, u16) {
        let gate = Gate { open: Arc::new(AtomicBool::new(true)), live: Arc::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the gate");
        let port = listener.local_addr().expect("address").port();
        let g = gate.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !g.open.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                g.live.lock().unwrap().push(task.abort_handle());
            }
        });
        (gate, port)
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for c in self.live.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

async fn status(b: &vantage_lab::browser::Browser) -> (String, String) {
    let v = b
        .client
        .execute(
            r#"const s = document.querySelector('[data-testid="submit-status"]'); return [s.dataset.state, s.innerText]"#,
            vec![],
        )
        .await
        .expect("read the submit status");
    (v[0].as_str().unwrap_or_default().into(), v[1].as_str().unwrap_or_default().into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_goes_away_gets_the_report_later_and_once() {
    let _turn = browser_turn();
    let lab = Lab::new(&["abs.twimg.com", "x.com"]);
    let healthy = lab.serve(Behaviour::Healthy).await;
    let collector = Collector::start_with(&targets(), Options::default()).await;
    let (gate, port) = Gate::start(collector.port).await;
    let site = format!("http://vantage.test:{port}");
    let b = browser(
        &site,
        port,
        Net::trusting(&lab).map(CONTROL_HOST, healthy).map("abs.twimg.com", healthy).map("x.com", healthy),
    )
    .await;
    let page = vantage_lab::page::SelfTestPage::open(&b.client, &format!("{site}/")).await;
    page.consent_and_run().await;
    page.wait_done(Duration::from_secs(20)).await;

    gate.cut();
    let (state, message) = page.submit().await;
    assert_eq!(state, "failed", "{message}");
    assert!(
        message.contains("cannot be reached right now") && message.contains("Your results are kept on this page"),
        "a plain message: {message}"
    );
    wait_for(&b, r#"[data-testid="retry"]"#, Duration::from_secs(1)).await;
    assert_eq!(
        b.client.execute(r#"return document.querySelectorAll('[data-target]').length"#, vec![]).await.unwrap(),
        3,
        "the result stays on the page"
    );
    screenshot(&b, "submit-unreachable-en-desktop", DESKTOP, Some(".submit")).await;

    // Still unreachable at the next try (2 s later): the page keeps trying, later each time.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let (state, message) = status(&b).await;
    assert_eq!(state, "failed", "{message}");
    assert!(message.contains('4'), "the second pause is longer (4 s): {message}");

    // The collector is back; the page is hidden before the next try, so the beacon goes
    // first, and the retry that follows finds the report already stored.
    gate.restore();
    b.client
        .execute(
            "Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true }); \
             document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));",
            vec![],
        )
        .await
        .expect("hide the page");
    wait_for(&b, r#"[data-testid="submit-status"][data-state="sent"]"#, Duration::from_secs(15)).await;
    let (_, message) = status(&b).await;

    let (code, export) = vantage_lab::http::get(&format!("http://127.0.0.1:{}/api/v1/export", collector.port)).await;
    assert_eq!(code, 200);
    let lines: Vec<serde_json::Value> = export.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let ids: std::collections::BTreeSet<&str> = lines.iter().filter_map(|l| l["report_id"].as_str()).collect();
    assert_eq!((ids.len(), lines.len()), (1, 3), "stored once: {export}");
    let id = ids.iter().next().unwrap();
    assert!(message.contains(id), "the page names the stored report: {message}");
    b.close().await;
}
