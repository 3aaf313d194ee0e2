//! The shipped default list (`crates/collector/targets/default.json`) in the censor lab, as a
//! new user's collector serves it: every host it names is mapped to a lab server, every
//! throughput asset is served at its size (the list's, or one of the lab's for the collector to
//! learn through `--verify-targets`), and a scenario's censor applies to a target's own hosts.

use std::collections::{BTreeMap, BTreeSet};

use vantage_report::TargetList;

use crate::censor::Lab;
use crate::scenario::{Scenario, Servers};

/// The shipped default list, as the collector loads it.
pub fn list() -> TargetList {
    vantage_collector::targets::load(None).expect("the shipped list is valid")
}

/// The host of an `https://` URL.
pub fn host_of(url: &str) -> Option<&str> {
    url.strip_prefix("https://")?.split(['/', '?', ':']).next()
}

/// The path of an `https://` URL, without its query.
fn path_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    let path = &rest[rest.find('/')?..];
    Some(path.split('?').next().unwrap_or(path))
}

/// Every host `list` names, for the lab's certificate.
pub fn hosts(list: &TargetList) -> Vec<String> {
    let all: BTreeSet<&str> = list.targets.iter().flat_map(|t| t.urls()).filter_map(host_of).collect();
    all.into_iter().map(str::to_string).collect()
}

/// A lab for `list`, and what it serves at each throughput URL (URL → bytes): the list's size
/// where it gives one, else a size of the lab's (150,000 bytes and up, one per asset, so a test
/// can tell which size a collector learned).
pub fn lab(list: &TargetList) -> (Lab, BTreeMap<String, u64>) {
    let names = hosts(list);
    let mut lab = Lab::new(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let mut served = BTreeMap::new();
    for (i, asset) in list.targets.iter().filter_map(|t| t.throughput.as_ref()).enumerate() {
        let bytes = asset.bytes.unwrap_or(150_000 + 1_000 * i as u64);
        let path = path_of(&asset.url).expect("an https:// URL with a path");
        lab = lab.with_asset(path, usize::try_from(bytes).expect("a size that fits memory"));
        served.insert(asset.url.clone(), bytes);
    }
    (lab, served)
}

/// `--host-resolver-rules` for `scenario` on `list`: each target's hosts where its censor sends
/// them (for a content-host censor, the host of its first image alone), every other
/// host to the healthy server. A host two targets share follows the first target naming it.
pub fn rules(servers: &Servers, list: &TargetList, scenario: &Scenario) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut rules = Vec::new();
    for t in &list.targets {
        let content_host = t.images.first().and_then(|u| host_of(u));
        for host in t.urls().filter_map(host_of) {
            if !seen.insert(host) {
                continue;
            }
            let censor = scenario.censor_of(&t.id).and_then(|c| c.on_host(host, content_host));
            rules.push(servers.rule(host, censor));
        }
    }
    rules
}

/// `HOST:443:127.0.0.1:PORT` for every host of `list`: where a collector verifying the list
/// (`--verify-resolve`) finds it, on the lab's healthy server at `port`.
pub fn connect_to(list: &TargetList, port: u16) -> Vec<String> {
    hosts(list).iter().map(|h| format!("{h}:443:127.0.0.1:{port}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_hosts_and_paths() {
        let url = "https://static.cdninstagram.com/images/a/home-phones.png?__makehaste_cache_breaker=HOgRclNOosk";
        assert_eq!(host_of(url), Some("static.cdninstagram.com"));
        assert_eq!(path_of(url), Some("/images/a/home-phones.png"));
        assert_eq!(host_of("/static/control.png"), None);
        let list = list();
        let hosts = hosts(&list);
        assert!(hosts.contains(&"abs.twimg.com".to_string()) && hosts.contains(&"x.com".to_string()));
        // Every throughput asset is served, at the listed size where there is one.
        let (_, served) = lab(&list);
        for asset in list.targets.iter().filter_map(|t| t.throughput.as_ref()) {
            assert!(served.contains_key(&asset.url), "{}", asset.url);
            if let Some(bytes) = asset.bytes {
                assert_eq!(served[&asset.url], bytes);
            }
        }
    }
}
