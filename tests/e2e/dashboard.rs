//! The crowd dashboard in real Chromium over a replayed crowd (issue 11's acceptance): the
//! 17 December 2023 Pakistan block of X, Facebook, Instagram and YouTube is listed with its
//! summary, its heatmap squares show the failures with the reports behind them, thin squares
//! say "not enough reports", the chart reads out by keyboard, and axe-core finds nothing.
//! With `VANTAGE_SCREENSHOTS=docs` it writes `docs/screenshots/dashboard-*.png`.

use std::time::Duration;

use serde_json::Value;
use vantage_collector::crowd::store::CrowdDb;
use vantage_collector::crowd::{job, Config};
use vantage_collector::store::Origin;
use vantage_lab::collector::Options;
use vantage_lab::crowd::{generate_between, ground_truth, target_list};

use crate::self_test_support::{assert_accessible, press, screenshot, wait_for, DESKTOP, PHONE};
use crate::world::{Net, World};

/// 2023-12-17T00:00:00Z, and the day and two hours after it the crowd covers.
const DAY: i64 = 1_702_771_200;
const UNTIL: i64 = DAY + 26 * 3600;

async fn js(world: &World, script: &str) -> Value {
    world.browser.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// The replayed crowd of that day, Pakistan's block its only disruption, stored in the
/// collector's database and run through the crowd job and the detector.
async fn replay_into(world: &World) -> usize {
    let list = target_list();
    let truths: Vec<_> = ground_truth().into_iter().filter(|t| t.country == Some("PK")).collect();
    let mut reports = Vec::new();
    generate_between(50.0, 17_122_023, &truths, DAY, UNTIL, |r, country, asn| {
        reports.push((r, Origin { country: country.into(), asn }))
    });
    let path = world.collector.database();
    let store = vantage_collector::store::open(path.to_str().unwrap()).await.unwrap();
    for chunk in reports.chunks(500) {
        let inserts = chunk.iter().map(|(r, o)| store.insert(r.clone(), o.clone(), DAY));
        for stored in futures::future::join_all(inserts).await {
            stored.unwrap();
        }
    }
    store.close().await;
    let db = CrowdDb::open(path.to_str().unwrap()).await.unwrap();
    let cfg =
        Config { names: list.targets.iter().map(|t| (t.id.clone(), t.name.clone())).collect(), ..Config::default() };
    let events = job::detect_range(&db, &cfg, DAY, UNTIL).await.unwrap();
    db.replace_events(DAY, &events).await.unwrap();
    events.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_pakistan_block_its_summary_and_heatmap() {
    // A threshold the night's hourly squares fall under, so the withheld marking shows too.
    let options = Options { crowd_min_reports: Some(30), ..Options::default() };
    let world = World::start(&target_list(), options, Net::default()).await;
    assert_eq!(replay_into(&world).await, 1, "the detector finds the one injected event");
    let b = &world.browser;
    b.client
        .goto(&format!("{}/dashboard?country=PK&since=2023-12-17&until=2023-12-18", world.site))
        .await
        .expect("open the dashboard");
    wait_for(b, r#"[data-testid="event"][data-kind="censorship"]"#, Duration::from_secs(20)).await;
    wait_for(b, r#"#heatmap g[data-state="counts"]"#, Duration::from_secs(10)).await;

    let summary = js(&world, "return document.querySelector('[data-testid=event] .summary').textContent").await;
    let summary = summary.as_str().unwrap();
    for words in ["Pakistan", "X", "Facebook", "Instagram", "YouTube", "15:00"] {
        assert!(summary.contains(words), "{words:?} not in the event's summary: {summary}");
    }
    let facts = js(&world, "return document.querySelector('[data-testid=event] .facts').textContent").await;
    assert!(facts.as_str().unwrap().contains("reports"), "the counts behind the event: {facts}");

    // X's square during the block, and before it.
    let square = |start: &str| {
        format!(
            "const g = document.querySelector('#heatmap g[data-target=\"x\"][data-start=\"{start}\"]'); \
             return g && [g.dataset.state, Number(g.dataset.share), Number(g.dataset.reports), g.textContent]"
        )
    };
    let during = js(&world, &square("2023-12-17T17:00:00Z")).await;
    assert_eq!(during[0], "counts", "{during}");
    assert!(during[1].as_f64().unwrap() > 0.75 && during[2].as_u64().unwrap() >= 30, "{during}");
    assert!(during[3].as_str().unwrap().contains("reports"), "the square names its reports: {during}");
    let before = js(&world, &square("2023-12-17T11:00:00Z")).await;
    assert!(before[0] == "counts" && before[1].as_f64().unwrap() < 0.25, "{before}");
    let withheld = js(&world, "return document.querySelectorAll('#heatmap g[data-state=\"withheld\"]').length").await;
    assert!(withheld.as_u64().unwrap() > 0, "night squares under 30 reports are marked");
    let marked =
        js(&world, "return document.querySelector('#heatmap g[data-state=\"withheld\"] title').textContent").await;
    assert!(marked.as_str().unwrap().contains("not enough reports"), "{marked}");
    let body = js(&world, "return document.body.innerText").await;
    let body = body.as_str().unwrap();
    assert!(body.contains("AS17557") && body.contains("not enough reports"), "the per-network breakdown: {body}");
    let exports = js(&world, "return [...document.querySelectorAll('a[href^=\"/api/v1/export?\"]')].length").await;
    assert!(exports.as_u64().unwrap() > 10, "export links for the slices");

    // The chart by keyboard: focus it, move right, read a square.
    js(&world, "document.querySelector('#heatmap svg').focus(); return null").await;
    press(b, "\u{E014}").await; // ArrowRight
    let readout = js(&world, "return document.getElementById('readout').textContent").await;
    assert!(readout.as_str().unwrap().contains("2023-12-17 01:00"), "{readout}");
    assert_accessible(b, "dashboard").await;

    screenshot(b, "dashboard-pakistan-desktop", DESKTOP, None).await;
    screenshot(b, "dashboard-pakistan-heatmap", DESKTOP, Some("#heatmap-title")).await;
    screenshot(b, "dashboard-pakistan-360", PHONE, None).await;
    world.close().await;
}
