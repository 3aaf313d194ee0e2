//! Replay harness for the crowd detector (issue 11). Run with
//! `cargo test -p vantage-collector --test replay -- --nocapture` to see the score.
//!
//! A seeded generator makes a realistic crowd — diurnal volume in seven countries and their main
//! networks, a few percent of flaky failures everywhere, visitors whose whole connection is
//! offline, a few visitors on bad networks, browser extensions blocking a platform — and injects
//! five disruptions of known shape (the ground truth). Every report is built from attempts with
//! the shared types and rules (`measurements_from`, then `Report::validate`, which re-derives
//! every verdict), counted into 15-minute cells and handed to the detector. The score: each
//! injected event found with the right kind, country, networks, targets, start and end within
//! one bucket, how long after its start it was found, and no event anywhere else.

use vantage_collector::crowd::{detect, Config, Event, EventKind, Rollup, BUCKET_SECS};
use vantage_report::timestamp::format_minute;
use vantage_report::{measurements_from, Attempt, BrowserInfo, Outcome, ProbeKind, Report, TargetList};

/// 2023-12-14T00:00:00Z: four days, the last being the Pakistan disruption of 17 December.
const DAY0: i64 = 1_702_512_000;
const DAYS: i64 = 4;
/// ... and the first hours of the next, so the last event can be seen ending.
const TAIL_HOURS: i64 = 6;
const HOUR: i64 = 3600;
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

struct Country {
    code: &'static str,
    /// Hours ahead of UTC, for the diurnal curve.
    utc_offset: i64,
    /// Networks and their share of the country's reports.
    networks: &'static [(u32, f64)],
}

const WORLD: [Country; 7] = [
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
const TARGETS: &str = r#"{"version":"replay-1","targets":[
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
enum Effect {
    /// The platform's requests fail: fast (reset, NXDOMAIN) or, for this share, by hanging.
    Block { hanging: f64 },
    /// The large asset drips at about 150 kbit/s.
    Throttle,
    /// Nothing loads, controls included: the network is down for most visitors.
    Offline,
}

/// One injected disruption: what the detector must find.
#[derive(Debug, Clone)]
struct Truth {
    name: &'static str,
    kind: EventKind,
    /// None: every country (an outage).
    country: Option<&'static str>,
    /// Affected networks; empty for every network of the country.
    networks: &'static [u32],
    targets: &'static [&'static str],
    start: i64,
    end: i64,
    effect: Effect,
    /// Share of affected visitors' attempts that the disruption catches.
    strength: f64,
}

impl Truth {
    fn hits(&self, country: &str, asn: u32, target: Option<&str>, at: i64) -> bool {
        (self.start..self.end).contains(&at)
            && self.country.is_none_or(|c| c == country)
            && (self.networks.is_empty() || self.networks.contains(&asn))
            && target.is_none_or(|t| self.targets.contains(&t))
    }

    /// The networks the detector should name.
    fn expected_networks(&self) -> Vec<u32> {
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

fn at(day: i64, h: i64, m: i64) -> i64 {
    DAY0 + day * 86_400 + h * HOUR + m * 60
}

fn ground_truth() -> Vec<Truth> {
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
fn generate(per_hour: f64, seed: u64, truths: &[Truth], mut each: impl FnMut(Report, &str, u32)) {
    let list = TargetList::from_json(TARGETS).expect("the replay's target list is valid");
    let mut rng = Rng(seed);
    for minute in 0..(DAYS * 24 + TAIL_HOURS) * 60 {
        let t = DAY0 + minute * 60;
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

/// The crowd counted into cells, and how many reports it had.
fn crowd(per_hour: f64, seed: u64, truths: &[Truth]) -> (Rollup, usize) {
    let (mut rollup, mut reports) = (Rollup::default(), 0);
    generate(per_hour, seed, truths, |r, country, asn| {
        rollup.add(&r, country, asn).expect("generated times are valid");
        reports += 1;
    });
    (rollup, reports)
}

/// Why a detected event is not this truth, or None when it is.
fn mismatch(e: &Event, t: &Truth) -> Option<String> {
    if e.kind != t.kind {
        return Some(format!("kind {:?}", e.kind));
    }
    if e.country.as_deref() != t.country {
        return Some(format!("country {:?}", e.country));
    }
    if t.country.is_none() {
        // Everywhere: every country it names is one, and it names most of them (a country with
        // too few reports during the outage cannot be named).
        let all: Vec<&str> = WORLD.iter().map(|c| c.code).collect();
        if e.countries.len() * 2 <= all.len() || e.countries.iter().any(|c| !all.contains(&c.as_str())) {
            return Some(format!("countries {:?}", e.countries));
        }
    } else if e.networks != t.expected_networks() {
        return Some(format!("networks {:?}", e.networks));
    }
    let mut targets: Vec<&str> = t.targets.to_vec();
    targets.sort_unstable();
    if e.targets.iter().map(String::as_str).collect::<Vec<_>>() != targets {
        return Some(format!("targets {:?}", e.targets));
    }
    if (e.start_secs - t.start).abs() > BUCKET_SECS {
        return Some(format!("start {}", e.start));
    }
    if e.ongoing || (e.last_secs - t.end).abs() > BUCKET_SECS {
        return Some(format!("end {:?}", e.end));
    }
    None
}

struct Score {
    per_hour: f64,
    reports: usize,
    events: usize,
    found: usize,
    false_events: usize,
    /// Detection delay of each injected event, in ground-truth order; none when missed.
    delays_min: Vec<Option<i64>>,
}

fn score(per_hour: f64, seed: u64) -> Score {
    let truths = ground_truth();
    let (rollup, reports) = crowd(per_hour, seed, &truths);
    let names = TargetList::from_json(TARGETS).map(|l| l.targets.into_iter().map(|t| (t.id, t.name)).collect());
    let cfg = Config { names: names.unwrap_or_default(), ..Config::default() };
    let events = detect(&rollup, &cfg);
    let mut matched = vec![false; events.len()];
    let (mut found, mut delays) = (0, Vec::new());
    for t in &truths {
        match events.iter().position(|e| mismatch(e, t).is_none()) {
            Some(i) => {
                matched[i] = true;
                found += 1;
                let delay = (events[i].detected_secs - t.start) / 60;
                delays.push(Some(delay));
                println!("  found   {:<62} delay {delay:>3} min: {}", t.name, events[i].summary);
            }
            None => {
                delays.push(None);
                println!("  MISSED  {}", t.name);
                for e in events.iter().filter(|e| e.kind == t.kind && e.country.as_deref() == t.country) {
                    println!("          nearest: {} ({})", e.summary, mismatch(e, t).unwrap_or_default());
                }
            }
        }
    }
    for (e, _) in events.iter().zip(&matched).filter(|(_, m)| !**m) {
        println!("  FALSE   {:?} {:?} {:?} {:?}: {}", e.kind, e.country, e.networks, e.targets, e.summary);
    }
    Score {
        per_hour,
        reports,
        events: events.len(),
        found,
        false_events: matched.iter().filter(|m| !**m).count(),
        delays_min: delays,
    }
}

/// Crowd sizes scored, in reports per hour per country (averaged over the day).
const CROWDS: [f64; 4] = [20.0, 50.0, 100.0, 200.0];

/// `REPLAY_SEEDS=1,2,3` scores those seeds instead.
fn seeds() -> Vec<u64> {
    match std::env::var("REPLAY_SEEDS") {
        Ok(list) => list.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => SEEDS.to_vec(),
    }
}

/// `REPLAY_CROWDS=20,50` scores only those sizes.
fn crowds() -> Vec<f64> {
    match std::env::var("REPLAY_CROWDS") {
        Ok(list) => list.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => CROWDS.to_vec(),
    }
}
const SEEDS: [u64; 2] = [17_122_023, 8_022_024];

#[test]
fn the_replayed_crowd_shows_every_injected_event_and_nothing_else() {
    let truths = ground_truth().len();
    println!("crowd detector replay: {truths} injected events, {} countries, {DAYS} days", WORLD.len());
    let mut table = Vec::new();
    for per_hour in crowds() {
        for seed in seeds() {
            println!("{per_hour} reports/hour/country, seed {seed}:");
            table.push(score(per_hour, seed));
        }
    }
    println!("\n| reports/hour/country | reports | events | precision | recall | Pakistan 4 platforms | one network | throttle | outage | shutdown |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for s in &table {
        let precision = if s.events == 0 { 1.0 } else { (s.events - s.false_events) as f64 / s.events as f64 };
        // Columns follow ground_truth(): shutdown, one network, throttle, outage, Pakistan.
        let d = |i: usize| s.delays_min[i].map_or("missed".to_string(), |m| format!("{m} min"));
        println!(
            "| {} | {} | {} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
            s.per_hour,
            s.reports,
            s.events,
            precision,
            s.found as f64 / truths as f64,
            d(4),
            d(1),
            d(2),
            d(3),
            d(0),
        );
    }
    for s in &table {
        assert_eq!((s.found, s.false_events), (truths, 0), "at {} reports/hour/country", s.per_hour);
        let pakistan = s.delays_min[4];
        assert!(pakistan.is_some_and(|m| m <= 15), "nation-wide block within one bucket at {}", s.per_hour);
    }
}

/// The replay as a deployment sees it: the crowd stored, exported, loaded into another
/// collector's database by `import`, counted into rollups by the crowd job and detected from
/// there — the same events as from the reports themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replayed_crowd_loads_by_import_and_gives_the_same_events() {
    use std::sync::Arc;
    use vantage_collector::crowd::store::CrowdDb;
    use vantage_collector::store::{ExportFilter, Origin, Store};

    let truths = ground_truth();
    let list = TargetList::from_json(TARGETS).unwrap();
    let mut reports = Vec::new();
    generate(20.0, SEEDS[0], &truths, |r, country, asn| reports.push((r, Origin { country: country.into(), asn })));
    let dir = tempfile::tempdir().unwrap();
    let first: Arc<dyn Store> =
        vantage_collector::store::open(dir.path().join("a.sqlite").to_str().unwrap()).await.unwrap().into();
    for chunk in reports.chunks(500) {
        let inserts = chunk.iter().map(|(r, o)| first.insert(r.clone(), o.clone(), DAY0));
        for result in futures_util::future::join_all(inserts).await {
            result.unwrap();
        }
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let exporter = tokio::spawn({
        let first = first.clone();
        async move { first.export(ExportFilter::default(), tx).await }
    });
    let mut exported = String::new();
    while let Some(row) = rx.recv().await {
        exported.push_str(&vantage_collector::export::Format::Jsonl.line(&row));
    }
    exporter.await.unwrap().unwrap();

    let path = dir.path().join("b.sqlite");
    let second = vantage_collector::store::open(path.to_str().unwrap()).await.unwrap();
    let catalogue = vantage_collector::targets::Catalogue::new(list.clone());
    let summary =
        vantage_collector::crowd::import::import(second.as_ref(), &catalogue, exported.as_bytes()).await.unwrap();
    assert_eq!(summary.stored, reports.len());
    let db = CrowdDb::open(path.to_str().unwrap()).await.unwrap();
    let cfg =
        Config { names: list.targets.iter().map(|t| (t.id.clone(), t.name.clone())).collect(), ..Config::default() };
    let end = DAY0 + (DAYS * 24 + TAIL_HOURS) * HOUR;
    let stored = vantage_collector::crowd::job::detect_range(&db, &cfg, DAY0, end).await.unwrap();

    let mut rollup = Rollup::default();
    for (r, o) in &reports {
        rollup.add(r, &o.country, o.asn).unwrap();
    }
    assert_eq!(db.rollup(DAY0, end, None).await.unwrap(), rollup, "rollups kept from the import = the reports");
    let direct = detect(&rollup, &cfg);
    assert_eq!(stored, direct);
    let found = truths.iter().filter(|t| stored.iter().any(|e| mismatch(e, t).is_none())).count();
    println!(
        "by import: {} reports, {} events, {found} of {} injected found",
        reports.len(),
        stored.len(),
        truths.len()
    );
    assert_eq!((found, stored.len()), (truths.len(), truths.len()));
}
