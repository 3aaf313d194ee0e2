//! The censor lab's scenarios, in real headless Chromium: every kind of interference must be
//! told apart. Each scenario names a censor behaviour per platform and the verdict every target
//! must get; unnamed platforms are served healthy and must be `reachable`. Adding a kind of
//! censorship is adding one row to [`SCENARIOS`].
//!
//! Run with `cargo xtask test`.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::browser::{Browser, BrowserConfig};
use support::collector::Collector;
use support::lab::{closed_port, Behaviour, Lab, BIG_PATH};
use support::page::SelfTestPage;

/// What a censor does to one platform (or, in `offline`, to the controls as well).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Censor {
    Nxdomain,
    Refused,
    Reset,
    Blackhole,
    WrongCert,
    Blockpage,
    /// Everything dripped at 150 kbit/s, as Russia throttled Twitter in 2021.
    Throttle,
    /// 800 ms added before every answer, full bandwidth.
    Slow,
}

struct Scenario {
    name: &'static str,
    censor: &'static [(&'static str, Censor)],
    /// Targets whose hosts the page's Content-Security-Policy leaves out.
    policy_omits: &'static [&'static str],
    /// Verdicts other than `reachable`.
    expected: &'static [(&'static str, &'static str)],
}

const ALL_TARGETS: [&str; 7] = ["x", "facebook", "instagram", "youtube", "wikipedia", "cdn_a", "cdn_b"];

const SCENARIOS: &[Scenario] = &[
    Scenario { name: "healthy", censor: &[], policy_omits: &[], expected: &[] },
    Scenario {
        name: "dns_nxdomain",
        censor: &[("x", Censor::Nxdomain)],
        policy_omits: &[],
        expected: &[("x", "blocked")],
    },
    Scenario {
        name: "tcp_refused",
        censor: &[("x", Censor::Refused)],
        policy_omits: &[],
        expected: &[("x", "blocked")],
    },
    Scenario { name: "tcp_reset", censor: &[("x", Censor::Reset)], policy_omits: &[], expected: &[("x", "blocked")] },
    Scenario {
        name: "blackhole",
        censor: &[("x", Censor::Blackhole)],
        policy_omits: &[],
        expected: &[("x", "timeout")],
    },
    Scenario {
        name: "tls_wrong_cert",
        censor: &[("x", Censor::WrongCert)],
        policy_omits: &[],
        expected: &[("x", "blocked")],
    },
    Scenario {
        name: "blockpage",
        censor: &[("x", Censor::Blockpage)],
        policy_omits: &[],
        expected: &[("x", "tampered")],
    },
    Scenario {
        name: "throttled",
        censor: &[("x", Censor::Throttle)],
        policy_omits: &[],
        expected: &[("x", "throttled")],
    },
    Scenario { name: "slow_but_fine", censor: &[("x", Censor::Slow)], policy_omits: &[], expected: &[] },
    Scenario {
        name: "offline",
        censor: &[
            ("x", Censor::Nxdomain),
            ("facebook", Censor::Nxdomain),
            ("instagram", Censor::Nxdomain),
            ("youtube", Censor::Nxdomain),
            ("wikipedia", Censor::Nxdomain),
            ("cdn_a", Censor::Nxdomain),
            ("cdn_b", Censor::Nxdomain),
        ],
        policy_omits: &[],
        expected: &[
            ("x", "inconclusive"),
            ("facebook", "inconclusive"),
            ("instagram", "inconclusive"),
            ("youtube", "inconclusive"),
            ("wikipedia", "inconclusive"),
            ("cdn_a", "inconclusive"),
            ("cdn_b", "inconclusive"),
        ],
    },
    Scenario {
        name: "local_block",
        censor: &[],
        policy_omits: &["instagram"],
        expected: &[("instagram", "local_block")],
    },
    Scenario {
        name: "pakistan_2023",
        censor: &[
            ("x", Censor::Reset),
            ("facebook", Censor::Nxdomain),
            ("instagram", Censor::Reset),
            ("youtube", Censor::Refused),
        ],
        policy_omits: &[],
        expected: &[("x", "blocked"), ("facebook", "blocked"), ("instagram", "blocked"), ("youtube", "blocked")],
    },
];

/// Host names of each lab target, as real platforms name them.
fn hosts(target: &str) -> &'static [&'static str] {
    match target {
        "x" => &["abs.twimg.com", "x.com", "pbs.twimg.com"],
        "facebook" => &["www.facebook.com", "static.xx.fbcdn.net"],
        "instagram" => &["www.instagram.com", "static.cdninstagram.com"],
        "youtube" => &["www.youtube.com", "i.ytimg.com"],
        "wikipedia" => &["www.wikipedia.org"],
        "cdn_a" => &["cdn.jsdelivr.net"],
        "cdn_b" => &["cdnjs.cloudflare.com"],
        _ => unreachable!("unknown lab target {target}"),
    }
}

fn target_list(big_bytes: u64) -> String {
    let t = |id: &str, name: &str, category: &str, control: bool, image: &str, fetch: &str, big: Option<&str>| {
        let throughput = big.map_or(String::new(), |h| {
            format!(r#", "throughput": {{"url": "https://{h}{BIG_PATH}", "bytes": {big_bytes}}}"#)
        });
        format!(
            r#"{{"id": "{id}", "name": "{name}", "category": "{category}", "control": {control}, "images": ["{image}"], "fetch": "{fetch}"{throughput}}}"#
        )
    };
    let targets = [
        t(
            "x",
            "X",
            "GRP",
            false,
            "https://abs.twimg.com/favicons/twitter.3.ico",
            "https://x.com/favicon.ico",
            Some("pbs.twimg.com"),
        ),
        t(
            "facebook",
            "Facebook",
            "GRP",
            false,
            "https://static.xx.fbcdn.net/rsrc.php/favicon.ico",
            "https://www.facebook.com/favicon.ico",
            None,
        ),
        t(
            "instagram",
            "Instagram",
            "GRP",
            false,
            "https://static.cdninstagram.com/favicon.ico",
            "https://www.instagram.com/favicon.ico",
            None,
        ),
        t(
            "youtube",
            "YouTube",
            "MMED",
            false,
            "https://www.youtube.com/favicon.ico",
            "https://www.youtube.com/favicon.ico",
            Some("i.ytimg.com"),
        ),
        t(
            "wikipedia",
            "Wikipedia",
            "CULTR",
            false,
            "https://www.wikipedia.org/static/favicon/wikipedia.ico",
            "https://www.wikipedia.org/favicon.ico",
            None,
        ),
        t(
            "cdn_a",
            "CDN A",
            "CTRL",
            true,
            "https://cdn.jsdelivr.net/favicon.ico",
            "https://cdn.jsdelivr.net/favicon.ico",
            Some("cdn.jsdelivr.net"),
        ),
        t(
            "cdn_b",
            "CDN B",
            "CTRL",
            true,
            "https://cdnjs.cloudflare.com/favicon.ico",
            "https://cdnjs.cloudflare.com/favicon.ico",
            Some("cdnjs.cloudflare.com"),
        ),
    ];
    format!(r#"{{"version": "lab-1", "targets": [{}]}}"#, targets.join(",\n"))
}

/// Ports of the lab's servers, one per behaviour, shared by all scenarios.
struct Servers {
    healthy: u16,
    refused: u16,
    reset: u16,
    blackhole: u16,
    wrong_cert: u16,
    blockpage: u16,
    throttled: u16,
    slow: u16,
}

impl Servers {
    async fn start(lab: &Lab) -> Servers {
        Servers {
            healthy: lab.serve(Behaviour::Healthy).await,
            refused: closed_port(),
            reset: lab.serve(Behaviour::Reset).await,
            blackhole: lab.serve(Behaviour::Blackhole).await,
            wrong_cert: lab.serve(Behaviour::WrongCert).await,
            blockpage: lab.serve(Behaviour::Blockpage).await,
            throttled: lab.serve(Behaviour::Throttled { kbps: 150 }).await,
            slow: lab.serve(Behaviour::Slow { delay_ms: 800 }).await,
        }
    }

    /// Where a host of a target goes under `censor`.
    fn rule(&self, host: &str, censor: Option<Censor>) -> String {
        let port = match censor {
            None => self.healthy,
            Some(Censor::Nxdomain) => return format!("MAP {host} ~NOTFOUND"),
            Some(Censor::Refused) => self.refused,
            Some(Censor::Reset) => self.reset,
            Some(Censor::Blackhole) => self.blackhole,
            Some(Censor::WrongCert) => self.wrong_cert,
            Some(Censor::Blockpage) => self.blockpage,
            Some(Censor::Throttle) => self.throttled,
            Some(Censor::Slow) => self.slow,
        };
        format!("MAP {host} 127.0.0.1:{port}")
    }
}

/// A page policy allowing the collector and every lab host but those of `omit`.
fn policy(omit: &[&str]) -> Option<String> {
    if omit.is_empty() {
        return None;
    }
    let allowed: Vec<String> = ALL_TARGETS
        .iter()
        .filter(|t| !omit.contains(t))
        .flat_map(|t| hosts(t).iter().map(|h| format!("https://{h}")))
        .collect();
    let sources = allowed.join(" ");
    Some(format!("img-src 'self' {sources}; connect-src 'self' {sources}"))
}

/// Runs one scenario and returns what differs from its expectation.
async fn run(scenario: &Scenario, lab: &Lab, servers: &Servers, targets: &str) -> Vec<String> {
    let collector = Collector::start_with_policy(targets, policy(scenario.policy_omits)).await;
    let site = format!("http://vantage.test:{}", collector.port);
    let mut rules = vec![format!("MAP vantage.test 127.0.0.1:{}", collector.port)];
    for target in ALL_TARGETS {
        let censor = scenario.censor.iter().find(|(t, _)| *t == target).map(|(_, c)| *c);
        rules.extend(hosts(target).iter().map(|h| servers.rule(h, censor)));
    }
    let browser = Browser::start(BrowserConfig {
        resolver_rules: rules,
        trusted_spki: vec![lab.spki.clone()],
        secure_origins: vec![site.clone()],
    })
    .await;
    let page = SelfTestPage::open(&browser.client, &format!("{site}/")).await;
    let started = Instant::now();
    page.consent_and_run().await;
    page.wait_done(Duration::from_secs(30)).await;
    let took = started.elapsed();
    let got = page.verdicts().await;
    page.screenshot_if_asked(scenario.name).await;

    let mut problems = Vec::new();
    for target in ALL_TARGETS {
        let want = scenario.expected.iter().find(|(t, _)| *t == target).map_or("reachable", |(_, v)| *v);
        let have = got.get(target).map_or("(missing)", String::as_str);
        if want != have {
            problems.push(format!("{}: {target} is {have}, expected {want}", scenario.name));
        }
    }
    // Whatever the page concluded, the collector must accept it: the same rules run there.
    let (state, message) = page.submit().await;
    if state != "sent" {
        problems.push(format!("{}: submission refused: {message}", scenario.name));
    }
    if !problems.is_empty() {
        problems.push(format!("{}: page said:\n{}", scenario.name, page.text().await));
    }
    println!("{:<15} {:>6} ms  {}", scenario.name, took.as_millis(), summary(&got));
    browser.close().await;
    problems
}

fn summary(verdicts: &BTreeMap<String, String>) -> String {
    verdicts.iter().map(|(t, v)| format!("{t}={v}")).collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_gets_exactly_its_verdicts() {
    let all_hosts: Vec<&str> = ALL_TARGETS.iter().flat_map(|t| hosts(t).iter().copied()).collect();
    let lab = Lab::new(&all_hosts);
    let servers = Servers::start(&lab).await;
    let targets = target_list(lab.big_bytes());
    let mut problems = Vec::new();
    for scenario in SCENARIOS {
        problems.extend(run(scenario, &lab, &servers, &targets).await);
    }
    assert!(problems.is_empty(), "{} scenario problem(s):\n{}", problems.len(), problems.join("\n"));
}
