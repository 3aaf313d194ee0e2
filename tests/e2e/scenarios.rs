//! The censor lab's scenario table (`vantage_lab::scenario::SCENARIOS`), one test per row and
//! browser (`chromium::blackhole`, `firefox::blackhole`): every target's verdict on the page, the
//! collector's acceptance of the report, and the verdict and kind of evidence in the exported
//! open data, since the open data is the product. The same row must give the same verdicts in
//! both browsers. `VANTAGE_SHOW_EVIDENCE=1` prints every exported measurement (attempts,
//! durations, timing sources), to see how the browsers differ on the way to the same verdict.

use std::time::{Duration, Instant};

use vantage_lab::browser::BrowserKind;
use vantage_lab::censor::Lab;
use vantage_lab::collector::Options;
use vantage_lab::scenario::{all_hosts, policy, scenario, target_list, Scenario, Servers, ALL_TARGETS, SCENARIOS};

use crate::world::{Net, World};

async fn run(kind: BrowserKind, name: &str) {
    let scenario = scenario(name);
    let lab = Lab::new(&all_hosts());
    let servers = Servers::start(&lab).await;
    let targets = target_list(lab.big_bytes());
    let options = Options { csp: policy(scenario.policy_omits), ..Options::default() };
    let net = Net::trusting(&lab).rules(servers.rules(scenario));
    let world = World::start_in(kind, &targets, options, net).await;
    run_and_check(kind, scenario, &world, &ALL_TARGETS).await;
    world.close().await;
}

/// Runs the test on the page of `world` and checks that every one of `targets` gets the
/// verdict `scenario` expects, on the page and in the open data, and that the collector
/// accepts the report; panics with every problem and the page's text otherwise.
pub async fn run_and_check(kind: BrowserKind, scenario: &Scenario, world: &World, targets: &[&str]) {
    let name = scenario.name;
    let page = world.open_page().await;
    let started = Instant::now();
    page.consent_and_run().await;
    page.wait_done(Duration::from_secs(30)).await;
    let took = started.elapsed();
    let got = page.verdicts().await;
    let browser = kind.name();
    page.screenshot_if_asked(&format!("{browser}-{name}")).await;
    println!("{browser:<8} {name:<15} {:>6} ms  {got:?}", took.as_millis());

    let mut problems = Vec::new();
    for &target in targets {
        let (verdict, _) = scenario.expectation(target);
        let have = got.get(target).map_or("(missing)", String::as_str);
        if have != verdict.as_str() {
            problems.push(format!("page: {target} is {have}, expected {}", verdict.as_str()));
        }
    }
    // Whatever the page concluded, the collector must accept it: the same rules run there.
    let (state, message) = page.submit().await;
    if state != "sent" {
        problems.push(format!("submission refused: {message}"));
    }
    let export = world.export().await;
    if std::env::var_os("VANTAGE_SHOW_EVIDENCE").is_some() {
        for line in &export {
            let keys = &line["test_keys"];
            println!("{browser} {name} {}: {}", keys["target_id"], serde_json::to_string(&keys).unwrap_or_default());
        }
    }
    for &target in targets {
        let (verdict, reason) = scenario.expectation(target);
        let Some(line) = export.iter().find(|l| l["test_keys"]["target_id"] == target) else {
            problems.push(format!("export: no measurement of {target}"));
            continue;
        };
        let keys = &line["test_keys"];
        if keys["verdict"] != verdict.as_str() || keys["reason"]["kind"] != reason.tag() {
            problems.push(format!(
                "export: {target} is {} ({}), expected {} ({}): {}",
                keys["verdict"],
                keys["reason"]["kind"],
                verdict.as_str(),
                reason.tag(),
                keys["attempts"]
            ));
        }
        if line["probe_cc"] != "ZZ" || line["probe_asn"] != "AS0" || line["input"].as_str().is_none() {
            problems.push(format!("export: {target}'s line lacks its place or input: {line}"));
        }
    }
    if !problems.is_empty() {
        let text = page.text().await;
        panic!("{browser} {name}: {} problem(s):\n{}\npage said:\n{text}", problems.len(), problems.join("\n"));
    }
}

/// One `#[tokio::test]` per scenario and browser, and a check that the table has no row
/// without its tests.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        per_browser!($($name),*);

        #[test]
        fn every_row_of_the_table_has_its_test() {
            let tested = [$(stringify!($name)),*];
            let table: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
            assert_eq!(tested.to_vec(), table, "add the new scenario to the scenarios! list");
        }
    };
}

scenarios!(
    healthy,
    dns_nxdomain,
    tcp_refused,
    tcp_reset,
    blackhole,
    tls_wrong_cert,
    blockpage,
    blockpage_content_host,
    throttled,
    content_host_blackhole,
    content_host_crawl,
    slow_but_fine,
    offline,
    local_block,
    pakistan_2023,
);
