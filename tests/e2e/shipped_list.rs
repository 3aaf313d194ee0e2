//! The censor lab's scenarios on the **shipped** default list, as a new user's collector
//! serves it (issue 9): every host of `crates/collector/targets/default.json` mapped to the
//! lab, every throughput asset served at its size, and the collector learning the sizes the
//! list does not give from the lab's servers before it serves (`--verify-targets`, trusting the
//! lab's CA as `--verify-roots` would). A throttled X must read `throttled`, X's black-holed
//! image host `timeout`, and a healthy network every target `reachable`, in both browsers.

use vantage_lab::browser::BrowserKind;
use vantage_lab::collector::{Options, VerifyFrom};
use vantage_lab::scenario::{scenario, Servers};
use vantage_lab::shipped;
use vantage_report::TargetList;

use crate::scenarios::run_and_check;
use crate::world::{Net, World};

async fn run(kind: BrowserKind, name: &str) {
    let scenario = scenario(name);
    let list = shipped::list();
    let (lab, served) = shipped::lab(&list);
    let servers = Servers::start(&lab).await;
    // The collector's own network is not the visitor's: it verifies on the healthy server.
    let verify = VerifyFrom { roots_pem: lab.ca_pem(), resolve: shipped::connect_to(&list, servers.healthy_port()) };
    let options = Options { verify: Some(verify), ..Options::default() };
    let net = Net::trusting(&lab).rules(shipped::rules(&servers, &list, scenario));
    let world = World::start_in(kind, &list, options, net).await;

    // What the page will get: the list with every platform's size learned from the lab.
    let (status, body) =
        vantage_lab::http::get(&format!("http://127.0.0.1:{}/api/v1/targets", world.collector.port)).await;
    assert_eq!(status, 200, "{body}");
    let served_list: TargetList = serde_json::from_str(&body).expect("the served list");
    for asset in served_list.targets.iter().filter_map(|t| t.throughput.as_ref()) {
        assert_eq!(asset.bytes, served.get(&asset.url).copied(), "{}: the size the lab serves", asset.url);
    }

    let ids: Vec<&str> = list.targets.iter().map(|t| t.id.as_str()).collect();
    run_and_check(kind, scenario, &world, &ids).await;
    world.close().await;
}

per_browser!(healthy, throttled, content_host_blackhole);
