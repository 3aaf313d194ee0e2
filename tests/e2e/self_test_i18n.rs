//! The page in each of its six languages, in each of its states (consent, running, results):
//! zero axe-core violations; Urdu and Persian are right to left with their table and bars
//! mirrored, and no English is left on any page but the English one. With `VANTAGE_SCREENSHOTS=docs` it also writes `docs/screenshots/`, at
//! desktop width and at 360 px.

use std::time::Duration;

use serde_json::Value;
use vantage_lab::browser::Browser;
use vantage_lab::censor::{Behaviour, Lab};
use vantage_lab::collector::Options;
use vantage_lab::targets::{facebook, lab_control, list, own_origin_control, target, x, CONTROL_HOST};
use vantage_report::TargetList;

use crate::self_test_support::{assert_accessible, left, screenshot, wait_for, DESKTOP, PHONE};
use crate::world::{Net, World};

/// X loads (a little slowly), Facebook's name does not resolve, Instagram is black-holed (so
/// a run stays in its running state for one deadline), and the collector is the control.
fn targets() -> TargetList {
    list(
        "i18n-1",
        vec![
            x(),
            facebook(),
            target(
                "instagram",
                "Instagram",
                "GRP",
                "https://www.instagram.com/favicon.ico",
                "https://www.instagram.com/favicon.ico",
            ),
            own_origin_control(),
            lab_control(),
        ],
    )
}

async fn js(b: &Browser, script: &str) -> Value {
    b.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

async fn shots(b: &Browser, state: &str, lang: &str) {
    // Consent from the top of the page; the run and its results from the run button on.
    let from = if state == "consent" { None } else { Some(".actions") };
    screenshot(b, &format!("{state}-{lang}-desktop"), DESKTOP, from).await;
    screenshot(b, &format!("{state}-{lang}-360"), PHONE, from).await;
}

async fn check_language(world: &World, lang: &str) {
    let b = &world.browser;
    b.client.goto(&format!("{}/?lang={lang}", world.site)).await.expect("open the page");
    wait_for(b, &format!(r#"html[lang="{lang}"] [data-testid="consent"]"#), Duration::from_secs(20)).await;
    let rtl = lang == "ur" || lang == "fa";
    assert_eq!(js(b, "return document.documentElement.dir").await, if rtl { "rtl" } else { "ltr" });
    if lang != "en" {
        let text = js(b, "return document.body.innerText").await;
        let text = text.as_str().unwrap_or_default();
        for english in ["Run test", "Before you start", "Language", "I understand"] {
            assert!(!text.contains(english), "English {english:?} left on the {lang} page: {text}");
        }
    }
    assert_accessible(b, &format!("consent ({lang})")).await;
    shots(b, "consent", lang).await;

    js(b, r#"document.querySelector('[data-testid="consent"]').click()"#).await;
    wait_for(b, r#"[data-testid="run"]:enabled"#, Duration::from_secs(10)).await;
    js(b, r#"document.querySelector('[data-testid="run"]').click()"#).await;
    wait_for(b, r#"[data-testid="results"][data-state="running"] [data-target="facebook"]"#, Duration::from_secs(5))
        .await;
    // Let the fast targets finish so the running state shows both kinds of row.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    shots(b, "running", lang).await;
    assert_accessible(b, &format!("running ({lang})")).await;
    assert_eq!(
        js(b, r#"return document.querySelector('[data-testid="results"]').dataset.state"#).await,
        "running",
        "the running state was checked while running"
    );

    wait_for(b, r#"[data-testid="results"][data-state="done"]"#, Duration::from_secs(20)).await;
    let verdicts =
        js(b, "return [...document.querySelectorAll('[data-target]')].map(r => r.dataset.verdict).join(' ')").await;
    assert_eq!(verdicts, "reachable blocked timeout reachable reachable");
    let (first, last) = (left(b, "thead th:first-child").await, left(b, "thead th:last-child").await);
    if rtl {
        assert!(first > last, "the {lang} table mirrors: its first column is on the right ({first} vs {last})");
        let flipped = js(b, "return getComputedStyle(document.querySelector('.bars svg')).transform").await;
        assert_eq!(flipped, "matrix(-1, 0, 0, 1, 0, 0)", "the {lang} bars grow from the right");
    } else {
        assert!(first < last, "the English table reads left to right ({first} vs {last})");
    }
    assert_accessible(b, &format!("results ({lang})")).await;
    shots(b, "results", lang).await;
}

async fn world() -> World {
    let lab = Lab::new(&["abs.twimg.com", "x.com", "www.instagram.com"]);
    let healthy = lab.serve(Behaviour::Slow { delay_ms: 300 }).await;
    let hole = lab.serve(Behaviour::Blackhole).await;
    let net = Net::trusting(&lab)
        .map(CONTROL_HOST, healthy)
        .map("abs.twimg.com", healthy)
        .map("x.com", healthy)
        .map("www.instagram.com", hole)
        .nxdomain("www.facebook.com");
    World::start(&targets(), Options::default(), net).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_and_urdu_pages_pass_axe_in_every_state_and_urdu_mirrors() {
    let world = world().await;
    for lang in ["en", "ur"] {
        check_language(&world, lang).await;
    }
    world.close().await;
}

/// The other four languages the same way: every visible word translated, Persian right to
/// left and mirrored, zero axe-core violations in every state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persian_russian_turkish_and_spanish_pages_pass_axe_and_persian_mirrors() {
    let world = world().await;
    for lang in ["fa", "ru", "tr", "es"] {
        check_language(&world, lang).await;
    }
    world.close().await;
}
