//! The newsroom widget as a newsroom uses it: an article on another origin, with a strict
//! Content-Security-Policy, pastes the one-line embed. Nothing is measured before the reader
//! clicks inside the frame; after the click the host page receives `vantage:result` with the
//! verdicts the censor lab dictates, in the format of `vantage_report::widget`, and the
//! reader's separate choice to submit lands in the open data. With `VANTAGE_SCREENSHOTS=docs`
//! it also writes the widget's screenshots (before and after the click, light and dark).

use std::time::Duration;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use fantoccini::elements::Element;
use fantoccini::Locator;
use serde_json::Value;
use vantage_lab::browser::Browser;
use vantage_lab::censor::{Behaviour, Lab};
use vantage_lab::collector::Options;
use vantage_lab::report::sample_targets;
use vantage_lab::targets::{facebook, lab_control, list, own_origin_control, x};
use vantage_report::widget::{TargetVerdict, WidgetMessage};
use vantage_report::Verdict;

use crate::self_test_support::{assert_accessible, screenshot, DESKTOP};
use crate::world::{reader_in_pakistan, seed_pakistan, x_up_facebook_down, Net, World};

/// The article's own script: records what the host page receives, as a newsroom would listen.
const HOST_JS: &str = r#"
window.received = [];
window.events = [];
window.addEventListener("message", (e) => window.received.push({ origin: e.origin, data: e.data }));
for (const t of ["vantage:ready", "vantage:progress", "vantage:result", "vantage:resize"])
  document.addEventListener(t, (e) => window.events.push({ type: e.type, lang: e.target.dataset.lang || "", detail: e.detail }));
if (location.pathname === "/two") navigator.serviceWorker.register("/sw.js");
"#;

/// The article's own service worker: answers every request of the article through itself, as
/// news sites' offline workers do.
const SERVICE_WORKER: &str = r#"
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (e) => e.respondWith(fetch(e.request)));
"#;

/// An article on `http://news.test` that embeds the widget of `vantage` with one line, under
/// a CSP that names only the Vantage origin for scripts (besides its own) and frames: `/` with
/// the light theme, `/dark` with the dark one, `/two` with two widgets (one in Urdu) under the
/// article's own service worker. `listener` is bound before the browser starts
/// (its name table is fixed at launch); the article is served once the collector's origin is
/// known.
async fn serve_article(listener: std::net::TcpListener, vantage: String) {
    let csp = format!(
        "default-src 'none'; script-src 'self' {vantage}; frame-src {vantage}; style-src 'self'; img-src 'self'"
    );
    let page = |widgets: &str| {
        let csp = csp.clone();
        let body = format!(
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Article</title>\
             <script src=\"/host.js\"></script></head><body><h1>Shutdown: what we know</h1>\
             <p>Reports say several platforms are unreachable.</p>{widgets}\
             <script async src=\"{vantage}/static/embed.js\"></script>\
             <p>More reporting follows.</p></body></html>"
        );
        move || {
            let (csp, body) = (csp.clone(), body.clone());
            async move { ([(header::CONTENT_SECURITY_POLICY, csp)], axum::response::Html(body)).into_response() }
        }
    };
    let app = Router::new()
        .route("/", get(page(r#"<div data-vantage-widget data-theme="light"></div>"#)))
        .route("/dark", get(page(r#"<div data-vantage-widget data-theme="dark"></div>"#)))
        .route(
            "/two",
            get(page(
                r#"<div data-vantage-widget></div><p>Between.</p><div data-vantage-widget data-lang="ur"></div>"#,
            )),
        )
        .route("/sw.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], SERVICE_WORKER) }))
        .route("/host.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], HOST_JS) }));
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// The lab's small world with an article on `http://news.test` beside the collector; `more`
/// adds to the browser's network.
async fn newsroom(version: &str, more: impl FnOnce(Net) -> Net) -> (Lab, World) {
    let (lab, net) = x_up_facebook_down(Behaviour::Healthy).await;
    let targets = list(version, vec![x(), facebook(), own_origin_control(), lab_control()]);
    let article = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the article's port");
    let article_port = article.local_addr().expect("article address").port();
    let world = World::start(&targets, Options::default(), more(net.map("news.test", article_port))).await;
    serve_article(article, world.site.clone()).await;
    (lab, world)
}

/// Clicks *Test now* in the widget frame the browser is in, and waits for its results.
async fn run_inside(b: &Browser) {
    b.client.find(Locator::Css("[data-testid=run]")).await.expect("Test now").click().await.expect("click Test now");
    until(
        b,
        "return document.querySelector('[data-testid=results]').dataset.state === 'done'",
        Duration::from_secs(30),
        "done",
    )
    .await;
}

async fn js(b: &Browser, script: &str) -> Value {
    b.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Waits until `script` (run in the current frame) returns true.
async fn until(b: &Browser, script: &str, within: Duration, what: &str) {
    let t0 = std::time::Instant::now();
    while js(b, script).await != Value::Bool(true) {
        if t0.elapsed() > within {
            let text = js(b, "return document.body.innerText").await;
            panic!("{what}: not within {within:?}; the frame says: {text}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn frame(b: &Browser) -> Element {
    b.client.find(Locator::Css("[data-vantage-widget] iframe")).await.expect("the widget's frame")
}

async fn received(b: &Browser) -> Vec<Value> {
    js(b, "return window.received").await.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_embeds_the_widget_which_measures_only_after_the_click_and_tells_the_host_the_verdicts() {
    let (lab, world) = newsroom("widget-1", |net| net).await;
    let vantage = world.site.clone();
    let b = &world.browser;

    b.client.goto("http://news.test/").await.expect("open the article");
    until(
        b,
        "return window.received.some(m => m.data && m.data.type === 'vantage:ready')",
        Duration::from_secs(20),
        "ready",
    )
    .await;
    let f = frame(b).await;
    for (attr, want) in [
        ("sandbox", "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"),
        ("loading", "lazy"),
        ("referrerpolicy", "no-referrer"),
    ] {
        assert_eq!(f.attr(attr).await.expect("an attribute").as_deref(), Some(want), "{attr}");
    }
    assert!(f.attr("title").await.expect("title").is_some_and(|t| !t.is_empty()), "a title for screen readers");
    // The card is up and nothing was measured: no platform's server saw a connection.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(lab.connections(), 0, "no platform may be contacted before the click");
    screenshot(b, "widget-before-light", DESKTOP, None).await;

    f.clone().enter_frame().await.expect("enter the widget");
    assert_accessible(b, "widget before the click").await;
    run_inside(b).await;
    let rows = js(b, "return [...document.querySelectorAll('[data-target]')].map(r => [r.dataset.target, r.dataset.verdict, r.textContent])")
        .await;
    let rows: Vec<(String, String, String)> = serde_json::from_value(rows).expect("rows");
    let verdict = |id: &str| rows.iter().find(|r| r.0 == id).map(|r| r.1.clone());
    assert_eq!(verdict("x").as_deref(), Some("reachable"), "{rows:?}");
    assert_eq!(verdict("facebook").as_deref(), Some("blocked"), "{rows:?}");
    assert!(rows.iter().any(|r| r.0 == "facebook" && r.2.contains("Likely blocked")), "verdicts in words: {rows:?}");
    assert!(lab.connections() > 0, "the click measured");
    assert_accessible(b, "widget with results").await;

    b.client.enter_parent_frame().await.expect("back to the article");
    let messages = received(b).await;
    assert!(!messages.is_empty());
    let mut parsed = Vec::new();
    for m in &messages {
        assert_eq!(m["origin"], Value::String(vantage.clone()), "every message comes from the Vantage origin: {m}");
        let message: WidgetMessage = serde_json::from_value(m["data"].clone())
            .unwrap_or_else(|e| panic!("{} is not a widget message: {e}", m["data"]));
        parsed.push(message);
    }
    let results = parsed
        .iter()
        .find_map(|m| match m {
            WidgetMessage::Result { version: 1, results } => Some(results.clone()),
            _ => None,
        })
        .expect("a vantage:result message");
    for (target, verdict) in
        [("x", Verdict::Reachable), ("facebook", Verdict::Blocked), ("vantage", Verdict::Reachable)]
    {
        assert!(results.contains(&TargetVerdict { target: target.into(), verdict }), "{target}: {results:?}");
    }
    assert!(
        parsed.iter().any(|m| matches!(m, WidgetMessage::Progress { .. })),
        "progress reaches the host: {parsed:?}"
    );
    // The loader re-dispatches the same messages as DOM events on the element.
    let events = js(b, "return window.events.map(e => e.type)").await;
    assert!(events.as_array().is_some_and(|e| e.contains(&"vantage:result".into())), "{events}");
    // The frame's height follows its content.
    let last_height = parsed.iter().rev().find_map(|m| match m {
        WidgetMessage::Resize { height, .. } => Some(*height),
        _ => None,
    });
    let frame_height =
        js(b, "return document.querySelector('[data-vantage-widget] iframe').getBoundingClientRect().height")
            .await
            .as_f64();
    assert_eq!(last_height.map(f64::from), frame_height, "the frame is as tall as the last resize said");
    screenshot(b, "widget-after-light", DESKTOP, None).await;

    // Submitting is the reader's separate choice, and lands in the open data.
    assert!(world.export().await.is_empty(), "nothing submitted before the reader asks");
    frame(b).await.enter_frame().await.expect("enter the widget");
    b.client.find(Locator::Css("[data-testid=submit]")).await.expect("submit").click().await.expect("click submit");
    until(
        b,
        "return document.querySelector('[data-testid=submit-status]').dataset.state === 'sent'",
        Duration::from_secs(10),
        "sent",
    )
    .await;
    let exported = world.exported("facebook").await.expect("facebook exported");
    assert_eq!(exported["test_keys"]["verdict"], "blocked");

    if std::env::var_os("VANTAGE_SCREENSHOTS").is_some() {
        b.client.enter_parent_frame().await.expect("back to the article");
        b.client.goto("http://news.test/dark").await.expect("open the dark article");
        until(b, "return window.received.some(m => m.data.type === 'vantage:ready')", Duration::from_secs(20), "ready")
            .await;
        screenshot(b, "widget-before-dark", DESKTOP, None).await;
        frame(b).await.enter_frame().await.expect("enter the widget");
        run_inside(b).await;
        b.client.enter_parent_frame().await.expect("back to the article");
        until(
            b,
            "return window.received.some(m => m.data.type === 'vantage:result')",
            Duration::from_secs(5),
            "result",
        )
        .await;
        screenshot(b, "widget-after-dark", DESKTOP, None).await;
    }
    world.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_widgets_on_an_article_with_its_own_service_worker_each_answer_for_themselves() {
    let (lab, world) = newsroom("widget-2", |net| net.secure("http://news.test")).await;
    let b = &world.browser;

    b.client.goto("http://news.test/two").await.expect("open the article");
    until(b, "return !!navigator.serviceWorker.controller", Duration::from_secs(20), "the article's worker in control")
        .await;
    b.client.refresh().await.expect("reload under the worker");
    until(b, "return !!navigator.serviceWorker.controller", Duration::from_secs(20), "still in control").await;
    until(
        b,
        "return window.events.filter(e => e.type === 'vantage:ready').length === 2",
        Duration::from_secs(20),
        "both widgets ready",
    )
    .await;
    let frames = b.client.find_all(Locator::Css("[data-vantage-widget] iframe")).await.expect("the frames");
    assert_eq!(frames.len(), 2, "one frame per widget, none twice");
    assert_eq!(lab.connections(), 0, "no platform contacted before a click");

    frames[1].clone().enter_frame().await.expect("enter the Urdu widget");
    let (dir, title) = serde_json::from_value::<(String, String)>(
        js(b, "return [document.documentElement.dir, document.querySelector('h1').textContent]").await,
    )
    .expect("direction and title");
    assert_eq!(dir, "rtl");
    assert!(title.contains("سوشل میڈیا"), "{title}");
    run_inside(b).await;
    b.client.enter_parent_frame().await.expect("back to the article");
    until(b, "return window.events.some(e => e.type === 'vantage:result')", Duration::from_secs(5), "result").await;
    let results =
        js(b, "return window.events.filter(e => e.type === 'vantage:result').map(e => [e.lang, e.detail])").await;
    let results: Vec<(String, WidgetMessage)> = serde_json::from_value(results).expect("result events");
    assert_eq!(results.len(), 1, "only the widget that ran reports: {results:?}");
    assert_eq!(results[0].0, "ur", "the result arrives on the element of the widget that ran");
    let WidgetMessage::Result { results: verdicts, .. } = &results[0].1 else { panic!("{results:?}") };
    assert!(verdicts.contains(&TargetVerdict { target: "facebook".into(), verdict: Verdict::Blocked }), "{verdicts:?}");
    world.close().await;
}

/// Before anyone clicks, the card tells readers what the crowd reported from their country in
/// the last two hours, from the aggregates alone (the reader's browser measures nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_shows_recent_reports_from_the_readers_country_before_any_test() {
    let (_geo, options) = reader_in_pakistan(5);
    let article = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the article's port");
    let article_port = article.local_addr().expect("article address").port();
    let world = World::start(&sample_targets(), options, Net::default().map("news.test", article_port)).await;
    serve_article(article, world.site.clone()).await;

    // Eight readers in Pakistan found X blocked in the last minutes (the control loading).
    seed_pakistan(&world, 8).await;

    let b = &world.browser;
    b.client.goto("http://news.test/").await.expect("open the article");
    frame(b).await.enter_frame().await.expect("enter the widget");
    until(b, "return !document.querySelector('[data-testid=live-status]').hidden", Duration::from_secs(20), "status")
        .await;
    let (state, text) = serde_json::from_value::<(String, String)>(
        js(b, "const s = document.querySelector('[data-testid=live-status]'); return [s.dataset.state, s.textContent]")
            .await,
    )
    .expect("the status line");
    assert_eq!(state, "disrupted", "{text}");
    for words in ["Pakistan", "8 reports", "unreachable in most reports: x"] {
        assert!(text.contains(words), "{words:?} not in the status line: {text}");
    }
    assert_eq!(
        js(b, "return document.querySelector('[data-testid=results]').dataset.state").await,
        "idle",
        "nothing measured: the reader has not clicked"
    );
    world.close().await;
}
