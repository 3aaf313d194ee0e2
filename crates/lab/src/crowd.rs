//! A replayed crowd with injected ground truth, for the detector's replay harness
//! (`crates/collector/tests/replay.rs`, `cargo xtask replay`) and the dashboard's browser test.
//!
//! A seeded generator makes a realistic crowd — diurnal volume in seven countries and their main
//! networks, a few percent of flaky failures everywhere, visitors whose whole connection is
//! offline, a few visitors on bad networks, browser extensions blocking a platform — and injects
//! disruptions of known shape ([`ground_truth`]): among them the 17 December 2023 Pakistan block
//! of X, Facebook, Instagram and YouTube. Every report is built from attempts with the shared
//! types and rules (`measurements_from`, then `Report::validate`, which re-derives every verdict).

use vantage_collector::crowd::EventKind;
use vantage_report::timestamp::format_minute;
use vantage_report::{measurements_from, Attempt, BrowserInfo, Outcome, ProbeKind, Report, TargetList};

/// 2023-12-14T00:00:00Z: four days, the last being the Pakistan disruption of 17 December.
pub const DAY0: i64 = 1_702_512_000;
pub const DAYS: i64 = 4;
/// ... and the first hours of the next, so the last event can be seen ending.
pub const TAIL_HOURS: i64 = 6;
pub const HOUR: i64 = 3600;
const DEADLINE_MS: f64 = 5000.0;

/// splitmix64: small, seeded, good enough for a crowd.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Poisson by Knuth's method, for the small means of one minute's reports.
    fn poisson(&mut self, mean: f64) -> u32 {
        let (limit, mut product, mut k) = ((-mean).exp(), self.unit(), 0);
        while product > limit {
            product *= self.unit();
            k += 1;
        }
        k
    }
}

pub struct Country {
    pub code: &'static str,
    /// Hours ahead of UTC, for the diurnal curve.
    pub utc_offset: i64,
    /// Networks and their share of the country's reports.
    pub networks: &'static [(u32, f64)],
}

pub const WORLD: [Country; 7] = [
    Country { code: "PK", utc_offset: 5, networks: &[(17557, 0.3), (45669, 0.3), (24499, 0.2), (59257, 0.2)] },
    Country { code: "IN", utc_offset: 5, networks: &[(55836, 0.4), (45609, 0.35), (9829, 0.1), (38266, 0.15)] },
    Country { code: "BD", utc_offset: 6, networks: &[(24389, 0.45), (45245, 0.3), (24432, 0.25)] },
    Country { code: "IR", utc_offset: 3, networks: &[(197207, 0.4), (44244, 0.35), (58224, 0.25)] },
    Country { code: "RU", utc_offset: 3, networks: &[(12389, 0.4), (8359, 0.3), (31213, 0.3)] },
    Country { code: "DE", utc_offset: 1, networks: &[(3320, 0.5), (3209, 0.3), (6805, 0.2)] },
    Country { code: "BR", utc_offset: -3, networks: &[(28573, 0.4), (18881, 0.35), (26599, 0.25)] },
];

/// The measured targets: ten platforms and three controls; X, YouTube and one control carry a
/// large asset for throughput.
pub const TARGETS: &str = r#"{"version":"replay-1","targets":[
 {"id":"x","name":"X","category":"GRP","images":["https://abs.twimg.com/favicons/twitter.3.ico"],"fetch":"https://abs.twimg.com/favicons/twitter.3.ico","throughput":{"url":"https://pbs.twimg.com/media/replay.jpg","bytes":100000}},
 {"id":"facebook","name":"Facebook","category":"GRP","images":["https://www.facebook.com/favicon.ico"],"fetch":"https://www.facebook.com/favicon.ico"},
 {"id":"instagram","name":"Instagram","category":"GRP","images":["https://www.instagram.com/favicon.ico"],"fetch":"https://www.instagram.com/favicon.ico"},
 {"id":"youtube","name":"YouTube","category":"MMED","images":["https://www.youtube.com/favicon.ico"],"fetch":"https://www.youtube.com/favicon.ico","throughput":{"url":"https://i.ytimg.com/vi/replay/hqdefault.jpg","bytes":100000}},
 {"id":"whatsapp","name":"WhatsApp","category":"COMM","images":["https://web.whatsapp.com/favicon.ico"],"fetch":"https://web.whatsapp.com/favicon.ico"},
 {"id":"telegram","name":"Telegram","category":"COMM","images":["https://telegram.org/favicon.ico"],"fetch":"https://telegram.org/favicon.ico"},
 {"id":"tiktok","name":"TikTok","category":"GRP","images":["https://www.tiktok.com/favicon.ico"],"fetch":"https://www.tiktok.com/favicon.ico"},
 {"id":"signal","name":"Signal","category":"COMM","images":["https://signal.org/favicon.ico"],"fetch":"https://signal.org/favicon.ico"},
 {"id":"wikipedia","name":"Wikipedia","category":"CULTR","images":["https://www.wikipedia.org/static/favicon/wikipedia.ico"],"fetch":"https://www.wikipedia.org/static/favicon/wikipedia.ico"},
 {"id":"google","name":"Google Search","category":"SRCH","images":["https://www.google.com/favicon.ico"],"fetch":"https://www.google.com/favicon.ico"},
 {"id":"vantage","name":"This site (control)","category":"CTRL","control":true,"images":["/static/control.png"],"fetch":"/static/control.png"},
 {"id":"jsdelivr","name":"jsDelivr CDN (control)","category":"CTRL","control":true,"images":["https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/images/marker-icon.png"],"fetch":"https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/images/marker-icon.png","throughput":{"url":"https://cdn.jsdelivr.net/npm/replay/large.png","bytes":100000}},
 {"id":"cdnjs","name":"cdnjs on Cloudflare (control)","category":"CTRL","control":true,"images":["https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.9.4/images/marker-icon.png"],"fetch":"https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.9.4/images/marker-icon.png"}
]}"#;

/// What a disruption does to the attempts it touches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// The platform's requests fail: fast (reset, NXDOMAIN) or, for this share, by hanging.
    Block { hanging: f64 },
    /// The large asset drips at about 150 kbit/s.
    Throttle,
    /// Nothing loads, controls included: the network is down for most visitors.
    Offline,
}

/// One injected disruption: what the detector must find.
#[derive(Debug, Clone)]
pub struct Truth {
    pub name: &'static str,
    pub kind: EventKind,
    /// None: every country (an outage).
    pub country: Option<&'static str>,
    /// Affected networks; empty for every network of the country.
    pub networks: &'static [u32],
    pub targets: &'static [&'static str],
    pub start: i64,
    pub end: i64,
    pub effect: Effect,
    /// Share of affected visitors' attempts that the disruption catches.
    pub strength: f64,
}

impl Truth {
    pub fn hits(&self, country: &str, asn: u32, target: Option<&str>, at: i64) -> bool {
        (self.start..self.end).contains(&at)
            && self.country.is_none_or(|c| c == country)
            && (self.networks.is_empty() || self.networks.contains(&asn))
            && target.is_none_or(|t| self.targets.contains(&t))
    }

    /// The networks the detector should name.
    pub fn expected_networks(&self) -> Vec<u32> {
        let mut n: Vec<u32> = match (self.country, self.networks) {
            (None, _) => Vec::new(),
            (Some(c), []) => {
                WORLD.iter().find(|w| w.code == c).map(|w| w.networks.iter().map(|n| n.0).collect()).unwrap_or_default()
            }
            (Some(_), n) => n.to_vec(),
        };
        n.sort_unstable();
        n
    }
}

pub fn at(day: i64, h: i64, m: i64) -> i64 {
    DAY0 + day * 86_400 + h * HOUR + m * 60
}

pub fn ground_truth() -> Vec<Truth> {
    vec![
        Truth {
            name: "Iran mobile shutdown (no history yet)",
            kind: EventKind::Connectivity,
            country: Some("IR"),
            networks: &[197207, 44244],
            targets: &[],
            start: at(0, 12, 0),
            end: at(0, 20, 0),
            effect: Effect::Offline,
            strength: 0.95,
        },
        Truth {
            name: "Telegram blocked on one Bangladeshi network",
            kind: EventKind::Censorship,
            country: Some("BD"),
            networks: &[45245],
            targets: &["telegram"],
            start: at(1, 10, 20),
            end: at(1, 13, 40),
            effect: Effect::Block { hanging: 0.0 },
            strength: 0.97,
        },
        Truth {
            name: "X throttled nation-wide in Russia",
            kind: EventKind::Censorship,
            country: Some("RU"),
            networks: &[],
            targets: &["x"],
            start: at(1, 6, 0),
            end: at(1, 18, 0),
            effect: Effect::Throttle,
            strength: 0.9,
        },
        Truth {
            name: "WhatsApp global outage",
            kind: EventKind::Outage,
            country: None,
            networks: &[],
            targets: &["whatsapp"],
            start: at(2, 4, 0),
            end: at(2, 6, 0),
            effect: Effect::Block { hanging: 0.5 },
            strength: 0.95,
        },
        Truth {
            name: "Pakistan, 17 Dec 2023: X, Facebook, Instagram, YouTube nation-wide",
            kind: EventKind::Censorship,
            country: Some("PK"),
            networks: &[],
            targets: &["x", "facebook", "instagram", "youtube"],
            start: at(3, 15, 0),
            end: at(3, 22, 0),
            effect: Effect::Block { hanging: 0.3 },
            strength: 0.97,
        },
    ]
}

/// Reports an hour in a country at local hour `h`, for an average of `per_hour`: a quiet night,
/// a busy evening (peak at 20:00 local, trough at 08:00 about a quarter of it).
fn volume(per_hour: f64, local_hour: f64) -> f64 {
    let shape = 0.3 + 0.5 * (1.0 + ((local_hour - 20.0) / 24.0 * std::f64::consts::TAU).cos());
    per_hour * shape / 0.8
}

fn ok_image(rng: &mut Rng, trial: u8) -> Attempt {
    Attempt { trial, cold: trial == 0, ..Attempt::new(ProbeKind::Image, Outcome::Ok, rng.between(25.0, 400.0)) }
}

/// The attempts of one target, given how it fares for this visitor.
fn attempts(rng: &mut Rng, fate: Fate, has_asset: bool) -> Vec<Attempt> {
    let mut out = Vec::new();
    for trial in 0..2u8 {
        let (image, fetch) = match fate {
            Fate::Loads | Fate::Dripped => {
                (ok_image(rng, trial), Attempt::new(ProbeKind::Fetch, Outcome::Ok, rng.between(20.0, 350.0)))
            }
            Fate::FailsFast => (
                Attempt::new(ProbeKind::Image, Outcome::Error, rng.between(30.0, 120.0)),
                Attempt::new(ProbeKind::Fetch, Outcome::Error, rng.between(30.0, 120.0)),
            ),
            Fate::Hangs => (
                Attempt::new(ProbeKind::Image, Outcome::Timeout, DEADLINE_MS),
                Attempt::new(ProbeKind::Fetch, Outcome::Timeout, DEADLINE_MS),
            ),
            Fate::Extension => (
                Attempt::new(ProbeKind::Image, Outcome::PolicyBlocked, rng.between(0.5, 3.0)),
                Attempt::new(ProbeKind::Fetch, Outcome::PolicyBlocked, rng.between(0.5, 3.0)),
            ),
        };
        out.push(Attempt { trial, cold: trial == 0, ..image });
        out.push(Attempt { trial, cold: trial == 0, ..fetch });
    }
    if has_asset {
        // The large asset's time includes the latency the fastest image showed.
        let latency = out
            .iter()
            .filter(|a| a.probe == ProbeKind::Image && a.ok())
            .map(|a| a.duration_ms)
            .fold(f64::INFINITY, f64::min);
        let latency = if latency.is_finite() { latency } else { 0.0 };
        let big = |outcome, ms| Attempt { bytes: Some(100_000), ..Attempt::new(ProbeKind::Throughput, outcome, ms) };
        out.push(match fate {
            // 100 KB in 40 to 250 ms: 3 to 20 Mbit/s.
            Fate::Loads => big(Outcome::Ok, latency + rng.between(40.0, 250.0)),
            // 150 kbit/s: 100 KB would take 5.3 s, past the deadline.
            Fate::Dripped => big(Outcome::Timeout, DEADLINE_MS),
            Fate::FailsFast | Fate::Extension => big(Outcome::Error, rng.between(30.0, 120.0)),
            Fate::Hangs => big(Outcome::Timeout, DEADLINE_MS),
        });
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Loads,
    FailsFast,
    Hangs,
    Dripped,
    Extension,
}

/// Noise that is not a disruption.
const OFFLINE_VISITORS: f64 = 0.02;
const BAD_NETWORK_VISITORS: f64 = 0.01;
const FLAKY: f64 = 0.03;
const EXTENSION_BLOCKS_FACEBOOK: f64 = 0.005;

fn report(rng: &mut Rng, list: &TargetList, truths: &[Truth], country: &str, asn: u32, start: i64) -> Report {
    let offline_truth = truths.iter().find(|t| t.effect == Effect::Offline && t.hits(country, asn, None, start));
    let offline = rng.chance(OFFLINE_VISITORS) || offline_truth.is_some_and(|t| rng.chance(t.strength));
    let flaky = if rng.chance(BAD_NETWORK_VISITORS) { 0.5 } else { FLAKY };
    let mut all = Vec::new();
    for t in &list.targets {
        let mut fate = Fate::Loads;
        if offline {
            fate = Fate::FailsFast;
        } else if rng.chance(if t.control { flaky / 2.0 } else { flaky }) {
            fate = if rng.chance(0.7) { Fate::FailsFast } else { Fate::Hangs };
        } else if t.id == "facebook" && rng.chance(EXTENSION_BLOCKS_FACEBOOK) {
            fate = Fate::Extension;
        }
        if !offline && !t.control {
            for truth in truths.iter().filter(|x| x.hits(country, asn, Some(&t.id), start)) {
                if rng.chance(truth.strength) {
                    fate = match truth.effect {
                        Effect::Block { hanging } if rng.chance(hanging) => Fate::Hangs,
                        Effect::Block { .. } => Fate::FailsFast,
                        Effect::Throttle => Fate::Dripped,
                        Effect::Offline => fate,
                    };
                }
            }
        }
        all.push(attempts(rng, fate, t.throughput.is_some()));
    }
    let id = format!("{:016x}{:016x}", rng.next(), rng.next());
    Report {
        schema_version: vantage_report::SCHEMA_VERSION,
        report_id: id,
        software_name: "vantage-web".into(),
        software_version: "0.1.0".into(),
        targets_version: list.version.clone(),
        measurement_start_time: format!("{}:{:02}.000Z", &format_minute(start)[..16], start.rem_euclid(60)),
        deadline_ms: DEADLINE_MS,
        browser: BrowserInfo { family: if rng.chance(0.7) { "chromium" } else { "firefox" }.into(), major: 156 },
        connection_type: None,
        measurements: measurements_from(list, all, DEADLINE_MS),
    }
}

/// Generates the crowd at `per_hour` reports per hour per country (on average over the day),
/// handing each report, validated as the collector would (verdicts re-derived), to `each` with
/// its country and network.
pub fn generate(per_hour: f64, seed: u64, truths: &[Truth], each: impl FnMut(Report, &str, u32)) {
    generate_between(per_hour, seed, truths, DAY0, END, each);
}

/// The end of the replayed stretch: [`DAYS`] days and [`TAIL_HOURS`] hours after [`DAY0`].
pub const END: i64 = DAY0 + (DAYS * 24 + TAIL_HOURS) * HOUR;

/// The replay's target list.
pub fn target_list() -> TargetList {
    TargetList::from_json(TARGETS).expect("the replay's target list is valid")
}

/// The same crowd for the minutes of [from, until) only.
pub fn generate_between(
    per_hour: f64,
    seed: u64,
    truths: &[Truth],
    from: i64,
    until: i64,
    mut each: impl FnMut(Report, &str, u32),
) {
    let list = target_list();
    let mut rng = Rng(seed);
    for minute in 0..(until - from) / 60 {
        let t = from + minute * 60;
        for c in &WORLD {
            let local_hour = ((t + c.utc_offset * HOUR).rem_euclid(86_400)) as f64 / 3600.0;
            for _ in 0..rng.poisson(volume(per_hour, local_hour) / 60.0) {
                let pick = rng.unit();
                let mut acc = 0.0;
                let asn = c.networks.iter().find(|(_, w)| {
                    acc += w;
                    pick < acc
                });
                let asn = asn.map_or(c.networks[0].0, |n| n.0);
                let start = t + (rng.next() % 60) as i64;
                let r = report(&mut rng, &list, truths, c.code, asn, start);
                if let Err(e) = r.validate(start + 60) {
                    panic!("a generated report fails validation: {e}");
                }
                each(r, c.code, asn);
            }
        }
    }
}
