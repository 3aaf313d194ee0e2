//! The censor lab's scenario table, in the manner of OONI's `webconnectivityqa`: each scenario
//! names what a censor does to which platform and the verdict (and the kind of evidence) every
//! target must get. Adding a kind of censorship is adding one row to [`SCENARIOS`]; the
//! end-to-end suite runs each row in a real browser, and the README's table is generated from
//! this one ([`markdown_table`]) and checked against it.

use std::collections::BTreeSet;

use vantage_report::{Reason, Target, TargetList, Verdict};

use crate::censor::{closed_port, Behaviour, Lab, BIG_PATH};
use crate::targets::{list, own_origin_control, target, with_throughput};

/// What a censor does to one platform's hosts (or, in `offline`, to the controls as well).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Censor {
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
    /// Only the host the platform serves its images from is black-holed; its main host works.
    ContentHostBlackhole,
    /// Only the host the platform serves its images from crawls: every answer held 2 s (a
    /// content host slowed to the point of uselessness); its main host answers at once.
    ContentHostCrawl,
}

impl Censor {
    /// What this censor does to `host` of a target whose images come from `content_host`:
    /// content-host censors touch that host alone.
    pub fn on_host(self, host: &str, content_host: Option<&str>) -> Option<Censor> {
        match self {
            Censor::ContentHostBlackhole => (content_host == Some(host)).then_some(Censor::Blackhole),
            Censor::ContentHostCrawl => (content_host == Some(host)).then_some(Censor::ContentHostCrawl),
            other => Some(other),
        }
    }
}

/// The kind of evidence behind a verdict: [`Reason`] without its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonKind {
    AllSucceeded,
    MostlySucceeded,
    FailedFast,
    HungUntilDeadline,
    NotAnImage,
    ContentHostFailed,
    ImagesHung,
    SlowerThanControls,
    ImagesCrawled,
    RefusedByPagePolicy,
    ControlsFailed,
}

impl ReasonKind {
    pub fn of(reason: &Reason) -> ReasonKind {
        match reason {
            Reason::AllSucceeded { .. } => ReasonKind::AllSucceeded,
            Reason::MostlySucceeded { .. } => ReasonKind::MostlySucceeded,
            Reason::FailedFast { .. } => ReasonKind::FailedFast,
            Reason::HungUntilDeadline { .. } => ReasonKind::HungUntilDeadline,
            Reason::NotAnImage { .. } => ReasonKind::NotAnImage,
            Reason::ContentHostFailed { .. } => ReasonKind::ContentHostFailed,
            Reason::ImagesHung { .. } => ReasonKind::ImagesHung,
            Reason::SlowerThanControls { .. } => ReasonKind::SlowerThanControls,
            Reason::ImagesCrawled { .. } => ReasonKind::ImagesCrawled,
            Reason::RefusedByPagePolicy { .. } => ReasonKind::RefusedByPagePolicy,
            Reason::ControlsFailed => ReasonKind::ControlsFailed,
        }
    }

    /// The `kind` tag the report and the export carry for this reason.
    pub fn tag(self) -> &'static str {
        match self {
            ReasonKind::AllSucceeded => "all_succeeded",
            ReasonKind::MostlySucceeded => "mostly_succeeded",
            ReasonKind::FailedFast => "failed_fast",
            ReasonKind::HungUntilDeadline => "hung_until_deadline",
            ReasonKind::NotAnImage => "not_an_image",
            ReasonKind::ContentHostFailed => "content_host_failed",
            ReasonKind::ImagesHung => "images_hung",
            ReasonKind::SlowerThanControls => "slower_than_controls",
            ReasonKind::ImagesCrawled => "images_crawled",
            ReasonKind::RefusedByPagePolicy => "refused_by_page_policy",
            ReasonKind::ControlsFailed => "controls_failed",
        }
    }
}

/// What one target must get.
pub type Expect = (&'static str, Verdict, ReasonKind);

pub struct Scenario {
    pub name: &'static str,
    /// The censor's behaviour in words, for the README's table.
    pub behaviour: &'static str,
    pub censor: &'static [(&'static str, Censor)],
    /// Targets whose hosts the page's Content-Security-Policy leaves out.
    pub policy_omits: &'static [&'static str],
    /// Targets whose verdict is not `reachable` because every attempt loaded.
    pub expected: &'static [Expect],
}

impl Scenario {
    /// What `target` must get in this scenario.
    pub fn expectation(&self, target: &str) -> (Verdict, ReasonKind) {
        self.expected
            .iter()
            .find(|(t, ..)| *t == target)
            .map_or((Verdict::Reachable, ReasonKind::AllSucceeded), |&(_, v, r)| (v, r))
    }

    pub fn censor_of(&self, target: &str) -> Option<Censor> {
        self.censor.iter().find(|(t, _)| *t == target).map(|&(_, c)| c)
    }
}

/// The lab's targets: four platforms of 17 December 2023, one neutral site, two independent
/// controls and, as on every page, the page's own origin (which proves only that the page loaded).
pub const ALL_TARGETS: [&str; 8] = ["x", "facebook", "instagram", "youtube", "wikipedia", "cdn_a", "cdn_b", "vantage"];

const BLOCKED: ReasonKind = ReasonKind::FailedFast;
const OFFLINE: ReasonKind = ReasonKind::ControlsFailed;

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "healthy",
        behaviour: "serves the favicon and a 100 KB asset",
        censor: &[],
        policy_omits: &[],
        expected: &[],
    },
    Scenario {
        name: "dns_nxdomain",
        behaviour: "`~NOTFOUND` for X's hosts",
        censor: &[("x", Censor::Nxdomain)],
        policy_omits: &[],
        expected: &[("x", Verdict::Blocked, BLOCKED)],
    },
    Scenario {
        name: "tcp_refused",
        behaviour: "nothing listens",
        censor: &[("x", Censor::Refused)],
        policy_omits: &[],
        expected: &[("x", Verdict::Blocked, BLOCKED)],
    },
    Scenario {
        name: "tcp_reset",
        behaviour: "reads the ClientHello, then RST",
        censor: &[("x", Censor::Reset)],
        policy_omits: &[],
        expected: &[("x", Verdict::Blocked, BLOCKED)],
    },
    Scenario {
        name: "blackhole",
        behaviour: "accepts, never answers",
        censor: &[("x", Censor::Blackhole)],
        policy_omits: &[],
        expected: &[("x", Verdict::Timeout, ReasonKind::HungUntilDeadline)],
    },
    Scenario {
        name: "tls_wrong_cert",
        behaviour: "certificate from a key the browser does not trust",
        censor: &[("x", Censor::WrongCert)],
        policy_omits: &[],
        expected: &[("x", Verdict::Blocked, BLOCKED)],
    },
    Scenario {
        name: "blockpage",
        behaviour: "HTML page in place of YouTube's icon, on the host its fetch answers from",
        censor: &[("youtube", Censor::Blockpage)],
        policy_omits: &[],
        expected: &[("youtube", Verdict::Tampered, ReasonKind::NotAnImage)],
    },
    Scenario {
        name: "blockpage_content_host",
        behaviour: "HTML page from all of X's hosts; X's images are on another host than x.com",
        censor: &[("x", Censor::Blockpage)],
        policy_omits: &[],
        expected: &[("x", Verdict::Blocked, ReasonKind::ContentHostFailed)],
    },
    Scenario {
        name: "throttled",
        behaviour: "everything dripped at 150 kbit/s",
        censor: &[("x", Censor::Throttle)],
        policy_omits: &[],
        expected: &[("x", Verdict::Throttled, ReasonKind::SlowerThanControls)],
    },
    Scenario {
        name: "content_host_blackhole",
        behaviour: "X's image host accepts and never answers; x.com answers",
        censor: &[("x", Censor::ContentHostBlackhole)],
        policy_omits: &[],
        expected: &[("x", Verdict::Timeout, ReasonKind::ImagesHung)],
    },
    Scenario {
        name: "content_host_crawl",
        behaviour: "Facebook's image host holds every answer 2 s; www.facebook.com answers at once",
        censor: &[("facebook", Censor::ContentHostCrawl)],
        policy_omits: &[],
        expected: &[("facebook", Verdict::Throttled, ReasonKind::ImagesCrawled)],
    },
    Scenario {
        name: "slow_but_fine",
        behaviour: "800 ms before every answer",
        censor: &[("x", Censor::Slow)],
        policy_omits: &[],
        expected: &[],
    },
    Scenario {
        name: "offline",
        behaviour: "every name but the page's own fails, controls too (Iran, November 2019)",
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
            ("x", Verdict::Inconclusive, OFFLINE),
            ("facebook", Verdict::Inconclusive, OFFLINE),
            ("instagram", Verdict::Inconclusive, OFFLINE),
            ("youtube", Verdict::Inconclusive, OFFLINE),
            ("wikipedia", Verdict::Inconclusive, OFFLINE),
            ("cdn_a", Verdict::Inconclusive, OFFLINE),
            ("cdn_b", Verdict::Inconclusive, OFFLINE),
            ("vantage", Verdict::Inconclusive, OFFLINE),
        ],
    },
    Scenario {
        name: "local_block",
        behaviour: "the page's CSP leaves Instagram out",
        censor: &[],
        policy_omits: &["instagram"],
        expected: &[("instagram", Verdict::LocalBlock, ReasonKind::RefusedByPagePolicy)],
    },
    Scenario {
        name: "pakistan_2023",
        behaviour: "X and Instagram reset, Facebook NXDOMAIN, YouTube refused",
        censor: &[
            ("x", Censor::Reset),
            ("facebook", Censor::Nxdomain),
            ("instagram", Censor::Reset),
            ("youtube", Censor::Refused),
        ],
        policy_omits: &[],
        expected: &[
            ("x", Verdict::Blocked, BLOCKED),
            ("facebook", Verdict::Blocked, BLOCKED),
            ("instagram", Verdict::Blocked, BLOCKED),
            ("youtube", Verdict::Blocked, BLOCKED),
        ],
    },
];

/// The scenario called `name`.
pub fn scenario(name: &str) -> &'static Scenario {
    SCENARIOS.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name} in the table"))
}

/// Host names of each lab target, as real platforms name them.
pub fn hosts(target: &str) -> &'static [&'static str] {
    match target {
        "x" => &["abs.twimg.com", "x.com", "pbs.twimg.com"],
        "facebook" => &["www.facebook.com", "static.xx.fbcdn.net"],
        "instagram" => &["www.instagram.com", "static.cdninstagram.com"],
        "youtube" => &["www.youtube.com", "i.ytimg.com"],
        "wikipedia" => &["www.wikipedia.org"],
        "cdn_a" => &["cdn.jsdelivr.net"],
        "cdn_b" => &["cdnjs.cloudflare.com"],
        // Served by the collector, at the page's own origin.
        "vantage" => &[],
        _ => panic!("unknown lab target {target}"),
    }
}

/// Every host of every lab target, for the lab's certificate.
pub fn all_hosts() -> Vec<&'static str> {
    ALL_TARGETS.iter().flat_map(|t| hosts(t).iter().copied()).collect()
}

/// The lab's target list, as typed values: each platform's favicon on its CDN, a fetch of its
/// main host, and a large asset for X, YouTube and both controls.
pub fn target_list(big_bytes: u64) -> TargetList {
    let big = |t: Target, host: &str| with_throughput(t, format!("https://{host}{BIG_PATH}"), big_bytes);
    list(
        "lab-1",
        vec![
            big(
                target("x", "X", "GRP", "https://abs.twimg.com/favicons/twitter.3.ico", "https://x.com/favicon.ico"),
                "pbs.twimg.com",
            ),
            target(
                "facebook",
                "Facebook",
                "GRP",
                "https://static.xx.fbcdn.net/rsrc.php/favicon.ico",
                "https://www.facebook.com/favicon.ico",
            ),
            target(
                "instagram",
                "Instagram",
                "GRP",
                "https://static.cdninstagram.com/favicon.ico",
                "https://www.instagram.com/favicon.ico",
            ),
            big(
                target(
                    "youtube",
                    "YouTube",
                    "MMED",
                    "https://www.youtube.com/favicon.ico",
                    "https://www.youtube.com/favicon.ico",
                ),
                "i.ytimg.com",
            ),
            target(
                "wikipedia",
                "Wikipedia",
                "CULTR",
                "https://www.wikipedia.org/static/favicon/wikipedia.ico",
                "https://www.wikipedia.org/favicon.ico",
            ),
            big(
                target(
                    "cdn_a",
                    "CDN A",
                    "CTRL",
                    "https://cdn.jsdelivr.net/favicon.ico",
                    "https://cdn.jsdelivr.net/favicon.ico",
                ),
                "cdn.jsdelivr.net",
            ),
            big(
                target(
                    "cdn_b",
                    "CDN B",
                    "CTRL",
                    "https://cdnjs.cloudflare.com/favicon.ico",
                    "https://cdnjs.cloudflare.com/favicon.ico",
                ),
                "cdnjs.cloudflare.com",
            ),
            own_origin_control(),
        ],
    )
}

/// Ports of the lab's servers, one per behaviour.
pub struct Servers {
    healthy: u16,
    refused: u16,
    reset: u16,
    blackhole: u16,
    wrong_cert: u16,
    blockpage: u16,
    throttled: u16,
    slow: u16,
    crawl: u16,
}

impl Servers {
    pub async fn start(lab: &Lab) -> Servers {
        Servers {
            healthy: lab.serve(Behaviour::Healthy).await,
            refused: closed_port(),
            reset: lab.serve(Behaviour::Reset).await,
            blackhole: lab.serve(Behaviour::Blackhole).await,
            wrong_cert: lab.serve(Behaviour::WrongCert).await,
            blockpage: lab.serve(Behaviour::Blockpage).await,
            throttled: lab.serve(Behaviour::Throttled { kbps: 150 }).await,
            slow: lab.serve(Behaviour::Slow { delay_ms: 800 }).await,
            crawl: lab.serve(Behaviour::Slow { delay_ms: 2_000 }).await,
        }
    }

    /// The port of the healthy server.
    pub fn healthy_port(&self) -> u16 {
        self.healthy
    }

    /// The `--host-resolver-rules` entry sending `host` where `censor` wants it.
    pub fn rule(&self, host: &str, censor: Option<Censor>) -> String {
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
            Some(Censor::ContentHostBlackhole) => self.blackhole,
            Some(Censor::ContentHostCrawl) => self.crawl,
        };
        format!("MAP {host} 127.0.0.1:{port}")
    }

    /// Rules for every lab host under `scenario`.
    pub fn rules(&self, scenario: &Scenario) -> Vec<String> {
        let list = target_list(0);
        let image_host = |t: &str| -> Option<String> {
            let url = list.targets.iter().find(|x| x.id == t)?.images.first()?;
            Some(url.strip_prefix("https://")?.split('/').next()?.to_string())
        };
        ALL_TARGETS
            .iter()
            .flat_map(|t| {
                let images_from = image_host(t);
                hosts(t).iter().map(move |h| {
                    let censor = scenario.censor_of(t).and_then(|c| c.on_host(h, images_from.as_deref()));
                    self.rule(h, censor)
                })
            })
            .collect()
    }
}

/// A page policy allowing the page's own origin and every lab host but those of `omit`.
pub fn policy(omit: &[&str]) -> Option<String> {
    if omit.is_empty() {
        return None;
    }
    let allowed: BTreeSet<String> = ALL_TARGETS
        .iter()
        .filter(|t| !omit.contains(t))
        .flat_map(|t| hosts(t).iter().map(|h| format!("https://{h}")))
        .collect();
    let sources = allowed.into_iter().collect::<Vec<_>>().join(" ");
    Some(format!("img-src 'self' {sources}; connect-src 'self' {sources}"))
}

fn verdict_words(scenario: &Scenario) -> String {
    let expected = |e: &Expect| format!("{} ({})", e.1.as_str(), e.2.tag().replace('_', " "));
    match scenario.expected {
        [] => "all reachable".into(),
        all @ [first, ..] if all.len() == ALL_TARGETS.len() && all.iter().all(|e| e.1 == first.1) => {
            format!("all {}", expected(first))
        }
        some => {
            let each: Vec<String> = some.iter().map(|e| format!("{} {}", e.0, expected(e))).collect();
            format!("{}; the rest reachable", each.join(", "))
        }
    }
}

/// The README's scenario table, generated from [`SCENARIOS`].
pub fn markdown_table() -> String {
    let mut out = String::from("| scenario | censor behaviour | expected |\n|---|---|---|\n");
    for s in SCENARIOS {
        out.push_str(&format!("| {} | {} | {} |\n", s.name, s.behaviour, verdict_words(s)));
    }
    out
}
