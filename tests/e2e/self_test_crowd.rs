//! "What others see" on the self-test page: after a run, the crowd's recent aggregate for the
//! visitor's network and country beside their own verdicts, withheld cells never shown.

use std::time::Duration;

use vantage_lab::report::sample_targets;

use crate::self_test_support::wait_for;
use crate::world::{reader_in_pakistan, seed_pakistan, Net, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_run_the_page_shows_what_others_on_the_network_and_in_the_country_see() {
    let (_geo, options) = reader_in_pakistan(5);
    // Nothing resolves for this visitor: their own run is inconclusive, the crowd's is not.
    let world = World::start(&sample_targets(), options, Net::default()).await;
    seed_pakistan(&world, 8).await;
    let page = world.open_page().await;
    page.consent_and_run().await;
    page.wait_done(Duration::from_secs(20)).await;
    let b = &world.browser;
    wait_for(b, r#"[data-testid="crowd"][data-state="known"]"#, Duration::from_secs(10)).await;
    let row = |scope: &str| {
        format!("return document.querySelector('[data-crowd-target=\"x\"] [data-scope=\"{scope}\"]').textContent")
    };
    for scope in ["network", "country"] {
        let text = b.client.execute(&row(scope), vec![]).await.expect("the crowd row");
        assert_eq!(text, "8 of 8 unreachable", "{scope}");
    }
    let section = b.client.execute("return document.querySelector('[data-testid=crowd]').textContent", vec![]).await;
    let section = section.expect("the crowd section");
    assert!(section.as_str().is_some_and(|t| t.contains("Pakistan")), "{section}");
    world.close().await;
}
