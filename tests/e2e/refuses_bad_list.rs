//! A broken or compromised target list must not make visitors fetch arbitrary URLs: the page
//! refuses it with a visible message, and nothing is requested from the URLs it names.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;
use vantage_lab::collector::site_dir;
use vantage_lab::page::SelfTestPage;

use crate::world::{browser, browser_turn, Net};

/// Plain HTTP and an address: two rules broken at once.
const BAD_LIST: &str = r#"{"version":"evil-1","targets":[
  {"id":"tracker","name":"Tracker","category":"GRP","images":["http://tracker.example/pixel.png"],"fetch":"http://tracker.example/"},
  {"id":"c","name":"C","category":"CTRL","control":true,"images":["https://203.0.113.7/c.png"],"fetch":"/static/control.png"}]}"#;

async fn serve(router: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_target_list_is_refused_and_nothing_is_fetched() {
    let _turn = browser_turn().await;
    // The tracker counts every request that reaches it.
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let tracker = serve(Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "" }
    }))
    .await;
    // A "collector" that serves the real client and a bad list.
    let site = serve(
        Router::new().route("/api/v1/targets", get(|| async { BAD_LIST })).fallback_service(ServeDir::new(site_dir())),
    )
    .await;

    let origin = format!("http://vantage.test:{site}");
    let browser = browser(&origin, site, Net::default().map("tracker.example", tracker)).await;
    let page = SelfTestPage::open(&browser.client, &format!("{origin}/")).await;
    page.consent().await;
    let shown = page.wait_for_text("could not be loaded", Duration::from_secs(5)).await;
    let text = page.text().await;
    assert!(shown, "the refusal is not shown: {text}");
    assert!(text.contains("could not be loaded") && text.contains("https://"), "the refusal is not shown: {text}");
    assert!(!page.run_enabled().await, "a run must be impossible with a refused list");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the page fetched a URL from a refused list");
    browser.close().await;
}
