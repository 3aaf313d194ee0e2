//! Cancel stops every probe at once. X is black-holed (its server accepts and never answers),
//! so without a cancel the run would wait out its deadline. The test watches every probe the
//! page starts (it wraps `fetch` and the image `src` setter before the run): within 100 ms of
//! the click every fetch still pending has its AbortSignal aborted, every image still loading
//! has its source cleared, and the page says it is cancelled.
//!
//! What a page cannot do: Chromium keeps the half-open TLS connections to the black hole in
//! its socket pool after their requests are aborted; the test reports how many, and asserts
//! nothing about them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use vantage_lab::collector::Options;
use vantage_lab::targets::{lab_control, list, own_origin_control, x, CONTROL_HOST};
use vantage_report::TargetList;

use crate::self_test_support::wait_for;
use crate::world::{Net, World};

fn targets() -> TargetList {
    list("cancel-1", vec![x(), own_origin_control(), lab_control()])
}

/// A black hole that keeps count: accepts, reads and never answers, and knows how many
/// connections the browser still holds.
#[derive(Clone, Default)]
struct Hole {
    open: Arc<Mutex<usize>>,
}

impl Hole {
    async fn serve(&self) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the black hole");
        let port = listener.local_addr().expect("address").port();
        let hole = self.clone();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                *hole.open.lock().unwrap() += 1;
                let hole = hole.clone();
                tokio::spawn(async move {
                    let mut sink = [0u8; 4096];
                    while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
                    *hole.open.lock().unwrap() -= 1;
                });
            }
        });
        port
    }

    fn open(&self) -> usize {
        *self.open.lock().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_every_probe_within_100_ms() {
    let hole = Hole::default();
    let port = hole.serve().await;
    let world = World::start(
        &targets(),
        Options::default(),
        Net::default().map("abs.twimg.com", port).map("x.com", port).map(CONTROL_HOST, port),
    )
    .await;
    let b = &world.browser;
    let page = world.open_page().await;
    b.client
        .execute(
            r#"
            window.seenFetches = []; window.seenImages = [];
            const fetch = window.fetch;
            window.fetch = function (input, init) {
                const seen = { signal: init && init.signal, settled: false };
                window.seenFetches.push(seen);
                const p = fetch.call(this, input, init);
                p.then(() => { seen.settled = true; }, () => { seen.settled = true; });
                return p;
            };
            const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src');
            Object.defineProperty(HTMLImageElement.prototype, 'src', {
                get() { return src.get.call(this); },
                set(v) { if (v) { window.seenImages.push(this); } src.set.call(this, v); },
            });
            "#,
            vec![],
        )
        .await
        .expect("watch the probes");
    page.consent_and_run().await;
    wait_for(b, r#"[data-testid="results"][data-state="running"]"#, Duration::from_secs(5)).await;
    // The control finishes at once; X's image and fetch hang in the black hole.
    wait_for(b, r#"[data-testid="cancel"]"#, Duration::from_secs(2)).await;
    let started = Instant::now();
    while hole.open() < 2 && started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(hole.open() >= 2, "the image and the fetch both reached the black hole");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        b.client
            .execute(r#"return document.querySelector('[data-testid="results"]').dataset.state"#, vec![])
            .await
            .unwrap(),
        "running",
        "the black hole keeps the run going"
    );

    let script = r#"
        const done = arguments[arguments.length - 1];
        const results = document.querySelector('[data-testid="results"]');
        const pending = () => window.seenFetches.filter(f => !f.settled && !f.signal.aborted).length
            + window.seenImages.filter(i => !i.complete).length;
        const before = pending();
        const t0 = performance.now();
        document.querySelector('[data-testid="cancel"]').click();
        (function check() {
            const ms = performance.now() - t0;
            if (pending() === 0 && results.dataset.state === 'cancelled') { done([before, ms]); }
            else if (ms > 2000) { done([before, -1]); }
            else { setTimeout(check, 1); }
        })();
    "#;
    let v = b.client.execute_async(script, vec![]).await.expect("cancel");
    let (before, ms) = (v[0].as_u64().unwrap_or(0), v[1].as_f64().unwrap_or(-1.0));
    assert!(before >= 2, "X's image and fetch were in flight when cancel was clicked ({before})");
    assert!((0.0..100.0).contains(&ms), "every probe stopped and the page said so after {ms:.1} ms (-1: never)");
    tokio::time::sleep(Duration::from_millis(200)).await;
    eprintln!(
        "cancel: {before} probes stopped in {ms:.1} ms; Chromium still holds {} socket(s) to the black hole",
        hole.open()
    );

    let text = page.text().await;
    assert!(text.contains("Test cancelled") && text.contains("Not finished"), "{text}");
    assert!(page.run_enabled().await, "the visitor can run again");
    let submit_enabled =
        b.client.execute(r#"return !document.querySelector('[data-testid="submit"]').disabled"#, vec![]).await.unwrap();
    assert_eq!(submit_enabled, false, "a cancelled run has nothing to submit");
    world.close().await;
}
