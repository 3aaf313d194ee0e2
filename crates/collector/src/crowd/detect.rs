//! The disruption detector: 15-minute cells in, events out. Plain functions over plain data.
//!
//! Every series — a target in a country, a target on one network, a place's controls, a target
//! everywhere at once — is judged bucket by bucket on counts, never on a bare ratio:
//! - a bucket *looks failing* when most of its reports (with controls loaded) failed;
//! - a run of failing-looking buckets (empty buckets in between are allowed) **opens** an event
//!   once its pooled counts hold at least `min_reports` reports and the Wilson lower bound of
//!   their failure share (z = 3.29) exceeds the reference by a margin (0.25): 5 of 5 opens, 4 of
//!   5 does not, 6 of 7 does. The reference is the
//!   highest of (a) the failure share of the controls in the same reports, (b) the same target's
//!   share in the other countries in the same buckets and (c) when history exists, the series'
//!   own quiet share at the same hour of day over the trailing days (diurnal). With no history
//!   (a deployment started during the shutdown) (a) and (b) decide alone;
//! - it **extends** while buckets' shares are nearer the event's own share than the reference,
//!   and **closes** once the reports since the last such bucket are, by their Wilson upper bound
//!   (z = 1.96), below that midpoint; it ends at the end of its last failing bucket. Still open
//!   when the data ends: ongoing.
//!
//! Kinds: a target failing in most countries at once is an `outage` (the platform or the target
//! is broken), never a country's censorship; a place whose reports' controls fail is
//! `connectivity`; what remains is `censorship`. Targets hit in the same country starting
//! within half an hour of each other, with overlapping spans, are one multi-platform event.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use vantage_report::timestamp::format_minute;

use super::cells::{PlaceCell, Rollup, VerdictCounts, BUCKET_SECS, DEFAULT_MIN_REPORTS};

/// The detector's thresholds. The defaults are the ones the replay harness scores.
#[derive(Debug, Clone)]
pub struct Config {
    /// Fewest distinct reports behind any decision or published figure.
    pub min_reports: u32,
    /// z of the one-sided Wilson lower bound that opens an event (3.29: 99.95 %). Strict on
    /// purpose: thousands of series are tested every bucket.
    pub z_open: f64,
    /// How far above the reference the lower bound must be.
    pub margin: f64,
    /// z of the Wilson upper bound that closes an event.
    pub z_close: f64,
    /// A bucket looks failing above this share.
    pub majority: f64,
    /// Longest span, in buckets, a run may take to become significant.
    pub max_candidate_buckets: i64,
    /// Trailing days of quiet history used as a baseline.
    pub history_days: i64,
    /// Days of history needed before the baseline is used.
    pub min_history_days: usize,
    /// An outage needs the target failing in at least this many countries ...
    pub outage_min_countries: usize,
    /// ... and in at least this share of the countries with reports.
    pub outage_share: f64,
    /// Targets whose runs start within this many seconds are grouped into one event.
    pub group_within_secs: i64,
    /// Display names of targets by id (the target list's `name`); ids are used otherwise.
    pub names: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_reports: DEFAULT_MIN_REPORTS,
            z_open: 3.29,
            margin: 0.25,
            z_close: 1.96,
            majority: 0.5,
            max_candidate_buckets: 16,
            history_days: 28,
            min_history_days: 2,
            outage_min_countries: 3,
            outage_share: 0.5,
            group_within_secs: 2 * BUCKET_SECS,
            names: BTreeMap::new(),
        }
    }
}

/// What kind of disruption an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Targets fail in one place while the controls in the same reports load and the targets
    /// load elsewhere.
    Censorship,
    /// A target fails in most countries at once: the platform or the target is broken.
    Outage,
    /// The controls fail too: the network itself is down.
    Connectivity,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Censorship => "censorship",
            EventKind::Outage => "outage",
            EventKind::Connectivity => "connectivity",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [EventKind::Censorship, EventKind::Outage, EventKind::Connectivity].into_iter().find(|k| k.as_str() == s)
    }
}

/// How the failing measurements of an event failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerdictMix {
    pub blocked: u32,
    pub timeout: u32,
    pub throttled: u32,
    pub tampered: u32,
}

/// The counts an event rests on, over its places, targets and span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EventCounts {
    /// Distinct reports from the event's places during it.
    pub reports: u32,
    /// ... of which the controls loaded.
    pub controls_loaded: u32,
    /// Measurements of the event's targets with controls loaded (the denominator).
    pub measurements: u32,
    /// ... of which blocked, timed out, throttled or tampered.
    pub disrupted: u32,
    /// The failure share expected without a disruption (the reference the test used).
    pub expected_share: f64,
}

/// One disruption.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Stable for the same event found again: kind, place, start and first target.
    pub id: String,
    pub kind: EventKind,
    /// ISO country code; none for an outage, which is everywhere at once.
    pub country: Option<String>,
    /// An outage's countries; a country event's own country.
    pub countries: Vec<String>,
    /// Networks (ASNs) where it was seen with enough reports to say so.
    pub networks: Vec<u32>,
    /// Every network of the country with enough reports was hit.
    pub nationwide: bool,
    /// Target ids; empty for connectivity.
    pub targets: Vec<String>,
    pub verdicts: VerdictMix,
    /// RFC 3339 UTC: the start of its first failing bucket.
    pub start: String,
    /// The end of its last failing bucket; none while ongoing.
    pub end: Option<String>,
    /// The end of the bucket in which the detector first had enough evidence.
    pub detected: String,
    /// Depth (failure share above the expected) × duration in hours.
    pub severity: f64,
    pub counts: EventCounts,
    pub summary: String,
    #[serde(skip)]
    pub start_secs: i64,
    /// End of the last failing bucket seen, also while ongoing.
    #[serde(skip)]
    pub last_secs: i64,
    #[serde(skip)]
    pub detected_secs: i64,
    #[serde(skip)]
    pub ongoing: bool,
}

/// Wilson score interval's lower bound for `k` successes in `n` trials.
pub fn wilson_lower(k: u32, n: u32, z: f64) -> f64 {
    wilson(k, n, z).0
}

/// ... and its upper bound.
pub fn wilson_upper(k: u32, n: u32, z: f64) -> f64 {
    wilson(k, n, z).1
}

fn wilson(k: u32, n: u32, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p) = (f64::from(n), f64::from(k) / f64::from(n));
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let d = 1.0 + z2 / n;
    (((centre - spread) / d).max(0.0), ((centre + spread) / d).min(1.0))
}

/// (disrupted, decided): the two numbers every share is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Kn {
    k: u32,
    n: u32,
}

impl Kn {
    fn of(v: &VerdictCounts) -> Kn {
        Kn { k: v.disrupted(), n: v.decided() }
    }
    fn offline(p: &PlaceCell) -> Kn {
        Kn { k: p.reports - p.controls_loaded, n: p.reports }
    }
    fn add(&mut self, o: Kn) {
        self.k += o.k;
        self.n += o.n;
    }
    fn minus(self, o: Kn) -> Kn {
        Kn { k: self.k.saturating_sub(o.k), n: self.n.saturating_sub(o.n) }
    }
    fn share(self) -> Option<f64> {
        (self.n > 0).then(|| f64::from(self.k) / f64::from(self.n))
    }
}

/// One bucket of one series: its counts and what they are compared with.
#[derive(Debug, Clone, Copy, Default)]
struct Point {
    bucket: i64,
    own: Kn,
    /// The controls in the same reports.
    controls: Kn,
    /// The same series in the other countries.
    elsewhere: Kn,
}

/// A stretch of failing buckets of one series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: i64,
    last: i64,
    detected: i64,
    ongoing: bool,
}

impl Run {
    fn overlaps(&self, o: &Run) -> bool {
        self.start <= o.last && o.start <= self.last
    }
}

/// A run that may become an event once it is significant.
#[derive(Default)]
struct Candidate {
    start: i64,
    own: Kn,
    controls: Kn,
    elsewhere: Kn,
    history_weighted: f64,
    history_n: u32,
}

impl Candidate {
    fn add(&mut self, p: &Point, history: Option<f64>) {
        self.own.add(p.own);
        self.controls.add(p.controls);
        self.elsewhere.add(p.elsewhere);
        if let Some(h) = history {
            self.history_weighted += h * f64::from(p.own.n);
            self.history_n += p.own.n;
        }
    }

    fn reference(&self, min_reports: u32) -> f64 {
        let history = (self.history_n > 0).then(|| self.history_weighted / f64::from(self.history_n));
        reference(self.controls, self.elsewhere, history, min_reports)
    }
}

/// The failure share expected without a disruption: the highest of what the controls, the
/// other countries and the quiet history show.
fn reference(controls: Kn, elsewhere: Kn, history: Option<f64>, min_reports: u32) -> f64 {
    let elsewhere = if elsewhere.n >= min_reports { elsewhere.share() } else { None };
    [controls.share(), elsewhere, history].into_iter().flatten().fold(0.0, f64::max)
}

fn hour_of(bucket: i64) -> usize {
    (bucket.rem_euclid(86_400) / 3600) as usize
}

fn day_of(bucket: i64) -> i64 {
    bucket.div_euclid(86_400)
}

/// Quiet buckets of a series by hour of day: the diurnal baseline.
struct History {
    by_hour: Vec<Vec<(i64, Kn)>>,
}

impl History {
    fn new() -> Self {
        History { by_hour: vec![Vec::new(); 24] }
    }

    fn push(&mut self, bucket: i64, kn: Kn) {
        self.by_hour[hour_of(bucket)].push((day_of(bucket), kn));
    }

    /// The pooled quiet share at this hour of day over the trailing days, when there are
    /// enough days and reports for it to mean something.
    fn baseline(&self, bucket: i64, cfg: &Config) -> Option<f64> {
        let today = day_of(bucket);
        let (mut pooled, mut days, mut last_day) = (Kn::default(), 0usize, None);
        for &(day, kn) in self.by_hour[hour_of(bucket)].iter().rev() {
            if day >= today {
                continue;
            }
            if day < today - cfg.history_days {
                break;
            }
            pooled.add(kn);
            if last_day != Some(day) {
                days += 1;
                last_day = Some(day);
            }
        }
        (days >= cfg.min_history_days && pooled.n >= 4 * cfg.min_reports).then(|| pooled.share()).flatten()
    }
}

/// Runs of one series, in time order. `accept(start, bucket)` may refuse to open a run that is
/// significant (an outage must be spread over countries).
fn find_runs(points: &[Point], cfg: &Config, accept: &dyn Fn(i64, i64) -> bool) -> Vec<Run> {
    struct Open {
        run: Run,
        /// Pooled counts of its failing buckets, and the reference it opened against.
        own: Kn,
        reference: f64,
        /// Counts since its last failing bucket, and the first bucket with reports among them.
        quiet: Kn,
        first_quiet: Option<i64>,
    }
    impl Open {
        /// Once open, a bucket belongs to the event when its share is nearer the event's than
        /// the reference: a partial throttle at 50 % stays one event.
        fn threshold(&self) -> f64 {
            (self.reference + self.own.share().unwrap_or(1.0)) / 2.0
        }
    }
    let mut runs = Vec::new();
    let mut history = History::new();
    let mut candidate: Option<Candidate> = None;
    let mut open: Option<Open> = None;
    // The buckets seen lately while no event was open: where a start may really lie.
    let mut recent: Vec<(i64, Kn)> = Vec::new();
    let share_above = |kn: Kn, level: f64| kn.n > 0 && f64::from(kn.k) > level * f64::from(kn.n);
    for p in points {
        if let Some(o) = &mut open {
            // Buckets inside an event never become history. A failing bucket after quiet ones
            // extends the event only if the quiet stretch with it still looks failing: one
            // flaky report after the end does not drag the end along.
            let mut tail = o.quiet;
            tail.add(p.own);
            if share_above(p.own, o.threshold()) && share_above(tail, o.threshold()) {
                o.run.last = p.bucket;
                o.own.add(tail);
                (o.quiet, o.first_quiet) = (Kn::default(), None);
            } else if p.own.n > 0 {
                o.quiet = tail;
                o.first_quiet.get_or_insert(p.bucket);
                if o.quiet.n >= cfg.min_reports && wilson_upper(o.quiet.k, o.quiet.n, cfg.z_close) < o.threshold() {
                    // The end lies between the last failing bucket and the first quiet one:
                    // across empty buckets, take the middle.
                    let mut run = o.run;
                    if let Some(n) = o.first_quiet {
                        run.last += BUCKET_SECS * ((n - run.last) / BUCKET_SECS / 2);
                    }
                    runs.push(run);
                    open = None;
                }
            }
            continue;
        }
        if share_above(p.own, cfg.majority) {
            let baseline = history.baseline(p.bucket, cfg);
            let c = candidate.get_or_insert_with(|| Candidate { start: p.bucket, ..Candidate::default() });
            if p.bucket - c.start >= cfg.max_candidate_buckets * BUCKET_SECS {
                *c = Candidate { start: p.bucket, ..Candidate::default() };
            }
            c.add(p, baseline);
            let reference = c.reference(cfg.min_reports);
            if c.own.n >= cfg.min_reports
                && wilson_lower(c.own.k, c.own.n, cfg.z_open) > reference + cfg.margin
                && accept(c.start, p.bucket)
            {
                let mut o = Open {
                    run: Run { start: c.start, last: p.bucket, detected: p.bucket, ongoing: false },
                    own: c.own,
                    reference,
                    quiet: Kn::default(),
                    first_quiet: None,
                };
                o.run.start = walk_back(&recent, o.run.start, o.threshold(), cfg);
                open = Some(o);
                candidate = None;
                recent.clear();
            }
        } else if p.own.n > 0 {
            candidate = None;
            history.push(p.bucket, p.own);
        }
        if open.is_none() {
            recent.push((p.bucket, p.own));
            if recent.len() > 2 * cfg.max_candidate_buckets as usize {
                recent.remove(0);
            }
        }
    }
    if let Some(o) = open {
        runs.push(Run { ongoing: true, ..o.run });
    }
    runs
}

/// An event opened at `start` began earlier if the buckets just before it look like it
/// (share above `threshold`, alone and pooled with anything skipped): a start in a thin bucket
/// that did not reach a majority on its own. Stops after `min_reports` reports of quiet. The
/// start lies between the last quiet bucket with reports and the first failing one: across
/// empty buckets, the middle is taken.
fn walk_back(recent: &[(i64, Kn)], start: i64, threshold: f64, cfg: &Config) -> i64 {
    let above = |kn: Kn| kn.n > 0 && f64::from(kn.k) > threshold * f64::from(kn.n);
    let (mut start, mut gap, mut nearest_quiet) = (start, Kn::default(), None);
    let opened = start;
    for &(bucket, kn) in recent.iter().rev().filter(|(b, _)| *b < opened) {
        if start - bucket > cfg.max_candidate_buckets * BUCKET_SECS || gap.n >= cfg.min_reports {
            break;
        }
        let mut with = gap;
        with.add(kn);
        if above(kn) && above(with) {
            (start, gap, nearest_quiet) = (bucket, Kn::default(), None);
        } else {
            gap = with;
            if kn.n > 0 {
                nearest_quiet.get_or_insert(bucket);
            }
        }
    }
    match nearest_quiet {
        Some(quiet) => start - BUCKET_SECS * (((start - quiet) / BUCKET_SECS - 1) / 2),
        None => start,
    }
}

/// A place: a whole country, or one network in it.
type Place = (String, Option<u32>);

/// The cells rearranged into the series the detector reads.
#[derive(Default)]
struct Index {
    targets: HashMap<(Place, String), BTreeMap<i64, VerdictCounts>>,
    controls: HashMap<Place, BTreeMap<i64, Kn>>,
    places: HashMap<Place, BTreeMap<i64, PlaceCell>>,
    global_targets: HashMap<String, BTreeMap<i64, VerdictCounts>>,
    global_controls: BTreeMap<i64, Kn>,
    global_places: BTreeMap<i64, PlaceCell>,
    networks: BTreeMap<String, BTreeSet<u32>>,
    target_ids: BTreeSet<String>,
}

/// Country `ZZ` (unknown) says nothing about a place and is left out, as OONI does; network 0
/// (unknown) counts towards its country only.
fn known(country: &str) -> bool {
    country != "ZZ" && !country.is_empty()
}

impl Index {
    fn new(rollup: &Rollup) -> Self {
        let mut ix = Index::default();
        for (key, cell) in &rollup.targets {
            if !known(&key.country) {
                continue;
            }
            let mut scopes = vec![(key.country.clone(), None)];
            // Every country is listed, with its known networks (none without an ASN database).
            let networks = ix.networks.entry(key.country.clone()).or_default();
            if key.asn != 0 {
                scopes.push((key.country.clone(), Some(key.asn)));
                networks.insert(key.asn);
            }
            for place in scopes {
                if cell.control {
                    let kn = ix.controls.entry(place).or_default().entry(key.bucket).or_default();
                    kn.add(Kn::of(&cell.verdicts));
                } else {
                    let v = ix.targets.entry((place, key.target.clone())).or_default().entry(key.bucket).or_default();
                    v.merge(&cell.verdicts);
                }
            }
            if cell.control {
                ix.global_controls.entry(key.bucket).or_default().add(Kn::of(&cell.verdicts));
            } else {
                ix.target_ids.insert(key.target.clone());
                ix.global_targets
                    .entry(key.target.clone())
                    .or_default()
                    .entry(key.bucket)
                    .or_default()
                    .merge(&cell.verdicts);
            }
        }
        for (key, cell) in &rollup.places {
            if !known(&key.country) {
                continue;
            }
            ix.places.entry((key.country.clone(), None)).or_default().entry(key.bucket).or_default().merge(cell);
            if key.asn != 0 {
                ix.places
                    .entry((key.country.clone(), Some(key.asn)))
                    .or_default()
                    .entry(key.bucket)
                    .or_default()
                    .merge(cell);
            }
            ix.global_places.entry(key.bucket).or_default().merge(cell);
        }
        ix
    }

    fn target_points(&self, place: &Place, target: &str) -> Vec<Point> {
        let Some(series) = self.targets.get(&(place.clone(), target.to_string())) else { return Vec::new() };
        let controls = self.controls.get(place);
        let country = self.targets.get(&((place.0.clone(), None), target.to_string()));
        let global = self.global_targets.get(target);
        series
            .iter()
            .map(|(&bucket, v)| {
                let here = country.and_then(|c| c.get(&bucket)).map(Kn::of).unwrap_or_default();
                let all = global.and_then(|g| g.get(&bucket)).map(Kn::of).unwrap_or_default();
                Point {
                    bucket,
                    own: Kn::of(v),
                    controls: controls.and_then(|c| c.get(&bucket)).copied().unwrap_or_default(),
                    elsewhere: all.minus(here),
                }
            })
            .collect()
    }

    fn connectivity_points(&self, place: &Place) -> Vec<Point> {
        let Some(series) = self.places.get(place) else { return Vec::new() };
        let country = self.places.get(&(place.0.clone(), None));
        series
            .iter()
            .map(|(&bucket, p)| {
                let here = country.and_then(|c| c.get(&bucket)).map(Kn::offline).unwrap_or_default();
                let all = self.global_places.get(&bucket).map(Kn::offline).unwrap_or_default();
                Point { bucket, own: Kn::offline(p), controls: Kn::default(), elsewhere: all.minus(here) }
            })
            .collect()
    }

    fn outage_points(&self, target: &str) -> Vec<Point> {
        let Some(series) = self.global_targets.get(target) else { return Vec::new() };
        series
            .iter()
            .map(|(&bucket, v)| Point {
                bucket,
                own: Kn::of(v),
                controls: self.global_controls.get(&bucket).copied().unwrap_or_default(),
                elsewhere: Kn::default(),
            })
            .collect()
    }

    /// A target's counts in a place over [start, last], pooled over `targets`.
    fn target_counts(&self, place: &Place, targets: &[String], start: i64, last: i64) -> VerdictCounts {
        let mut out = VerdictCounts::default();
        for t in targets {
            if let Some(series) = self.targets.get(&(place.clone(), t.clone())) {
                series.range(start..=last).for_each(|(_, v)| out.merge(v));
            }
        }
        out
    }

    fn controls_over(&self, place: &Place, start: i64, last: i64) -> Kn {
        let mut out = Kn::default();
        if let Some(series) = self.controls.get(place) {
            series.range(start..=last).for_each(|(_, kn)| out.add(*kn));
        }
        out
    }

    fn place_over(&self, place: &Place, start: i64, last: i64) -> PlaceCell {
        let mut out = PlaceCell::default();
        if let Some(series) = self.places.get(place) {
            series.range(start..=last).for_each(|(_, p)| out.merge(p));
        }
        out
    }

    fn global_target_over(&self, targets: &[String], start: i64, last: i64) -> VerdictCounts {
        let mut out = VerdictCounts::default();
        for t in targets {
            if let Some(series) = self.global_targets.get(t) {
                series.range(start..=last).for_each(|(_, v)| out.merge(v));
            }
        }
        out
    }

    /// Countries where `targets` mostly failed over [start, last], with enough reports to say so.
    fn failing_countries(&self, targets: &[String], start: i64, last: i64, cfg: &Config) -> (Vec<String>, usize) {
        let (mut failing, mut with_data) = (Vec::new(), 0);
        for country in self.networks.keys() {
            let kn = Kn::of(&self.target_counts(&(country.clone(), None), targets, start, last));
            if kn.n == 0 {
                continue;
            }
            with_data += 1;
            if kn.n >= cfg.min_reports && f64::from(kn.k) > cfg.majority * f64::from(kn.n) {
                failing.push(country.clone());
            }
        }
        (failing, with_data)
    }
}

/// One series' run, with where and what it was.
#[derive(Debug, Clone)]
struct Signal {
    network: Option<u32>,
    target: Option<String>,
    run: Run,
}

/// Groups signals of one country: overlapping spans, and either the same target (a network's
/// run inside the country's) or starts within `within` seconds.
fn group(mut signals: Vec<Signal>, within: i64) -> Vec<Vec<Signal>> {
    signals.sort_by_key(|s| (s.run.start, s.network.is_some()));
    let mut groups: Vec<Vec<Signal>> = Vec::new();
    for s in signals {
        let home = groups.iter_mut().find(|g| {
            let span = Run {
                start: g.iter().map(|x| x.run.start).min().unwrap_or(s.run.start),
                last: g.iter().map(|x| x.run.last).max().unwrap_or(s.run.last),
                detected: 0,
                ongoing: false,
            };
            span.overlaps(&s.run)
                && (g.iter().any(|x| x.target == s.target) || (s.run.start - span.start).abs() <= within)
        });
        match home {
            Some(g) => g.push(s),
            None => groups.push(vec![s]),
        }
    }
    groups
}

/// Runs the detector over a rollup (history first, then the stretch of interest) and returns
/// every event, ordered by start.
pub fn detect(rollup: &Rollup, cfg: &Config) -> Vec<Event> {
    let ix = Index::new(rollup);
    let mut events = Vec::new();

    // Outages first: a target failing in most countries at once.
    let mut outages: HashMap<String, Vec<Run>> = HashMap::new();
    let mut outage_signals = Vec::new();
    for target in &ix.target_ids {
        let one = [target.clone()];
        let spread = |start: i64, last: i64| {
            let (failing, with_data) = ix.failing_countries(&one, start, last, cfg);
            failing.len() >= cfg.outage_min_countries && failing.len() as f64 >= cfg.outage_share * with_data as f64
        };
        for run in find_runs(&ix.outage_points(target), cfg, &spread) {
            outages.entry(target.clone()).or_default().push(run);
            outage_signals.push(Signal { network: None, target: Some(target.clone()), run });
        }
    }
    for g in group(outage_signals, cfg.group_within_secs) {
        events.push(outage_event(&ix, &g, cfg));
    }

    for (country, networks) in &ix.networks {
        let scopes: Vec<Place> = std::iter::once((country.clone(), None))
            .chain(networks.iter().map(|&asn| (country.clone(), Some(asn))))
            .collect();
        // Connectivity: the place's controls fail.
        let mut connectivity = Vec::new();
        for place in &scopes {
            for run in find_runs(&ix.connectivity_points(place), cfg, &|_, _| true) {
                connectivity.push(Signal { network: place.1, target: None, run });
            }
        }
        // Censorship: a target fails while the controls load and the target loads elsewhere.
        let mut censorship = Vec::new();
        for place in &scopes {
            for target in &ix.target_ids {
                for run in find_runs(&ix.target_points(place, target), cfg, &|_, _| true) {
                    let in_outage = outages.get(target).is_some_and(|o| o.iter().any(|r| r.overlaps(&run)));
                    let offline = connectivity
                        .iter()
                        .any(|c| c.run.overlaps(&run) && (c.network.is_none() || c.network == place.1));
                    if !in_outage && !offline {
                        censorship.push(Signal { network: place.1, target: Some(target.clone()), run });
                    }
                }
            }
        }
        for g in group(connectivity, cfg.group_within_secs) {
            events.push(place_event(&ix, country, &g, EventKind::Connectivity, cfg));
        }
        for g in group(censorship, cfg.group_within_secs) {
            events.push(place_event(&ix, country, &g, EventKind::Censorship, cfg));
        }
    }
    events.sort_by(|a, b| (a.start_secs, &a.country, &a.targets).cmp(&(b.start_secs, &b.country, &b.targets)));
    events
}

/// Span, detection time and ongoing state of a group. Per target, the median start and end
/// of its runs (the country's and each network's; the later of two middles), so one thin
/// network's flaky report neither stretches nor cuts the event; over targets, the earliest
/// start and the latest end.
fn span(g: &[Signal]) -> Run {
    let mut by_target: BTreeMap<Option<&str>, Vec<&Run>> = BTreeMap::new();
    for s in g {
        by_target.entry(s.target.as_deref()).or_default().push(&s.run);
    }
    let (mut start, mut last, mut ongoing) = (i64::MAX, i64::MIN, false);
    for runs in by_target.values() {
        let mut starts: Vec<i64> = runs.iter().map(|r| r.start).collect();
        let mut lasts: Vec<i64> = runs.iter().map(|r| r.last).collect();
        starts.sort_unstable();
        lasts.sort_unstable();
        start = start.min(starts[starts.len() / 2]);
        last = last.max(lasts[lasts.len() / 2]);
        ongoing |= runs.iter().filter(|r| r.ongoing).count() * 2 > runs.len();
    }
    let detected = g.iter().map(|s| s.run.detected).min().unwrap_or(0);
    Run { start, last, detected, ongoing }
}

fn targets_of(g: &[Signal]) -> Vec<String> {
    g.iter().filter_map(|s| s.target.clone()).collect::<BTreeSet<_>>().into_iter().collect()
}

fn mix(v: &VerdictCounts) -> VerdictMix {
    VerdictMix { blocked: v.blocked, timeout: v.timeout, throttled: v.throttled, tampered: v.tampered }
}

fn hours(run: &Run) -> f64 {
    (run.last + BUCKET_SECS - run.start) as f64 / 3600.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn skeleton(kind: EventKind, country: Option<&str>, targets: Vec<String>, run: &Run) -> Event {
    let place = country.unwrap_or("global");
    let first = targets.first().map_or("network", String::as_str);
    let stamp = format_minute(run.start).replace([':', '-'], "");
    Event {
        id: format!("{}-{place}-{}-{first}", kind.as_str(), &stamp[..13]),
        kind,
        country: country.map(str::to_string),
        countries: country.map(|c| vec![c.to_string()]).unwrap_or_default(),
        networks: Vec::new(),
        nationwide: false,
        targets,
        verdicts: VerdictMix::default(),
        start: format_minute(run.start),
        end: (!run.ongoing).then(|| format_minute(run.last + BUCKET_SECS)),
        detected: format_minute(run.detected + BUCKET_SECS),
        severity: 0.0,
        counts: EventCounts::default(),
        summary: String::new(),
        start_secs: run.start,
        last_secs: run.last + BUCKET_SECS,
        detected_secs: run.detected + BUCKET_SECS,
        ongoing: run.ongoing,
    }
}

fn outage_event(ix: &Index, g: &[Signal], cfg: &Config) -> Event {
    let run = span(g);
    let targets = targets_of(g);
    let mut e = skeleton(EventKind::Outage, None, targets.clone(), &run);
    let v = ix.global_target_over(&targets, run.start, run.last);
    let mut controls = Kn::default();
    ix.global_controls.range(run.start..=run.last).for_each(|(_, kn)| controls.add(*kn));
    let mut places = PlaceCell::default();
    ix.global_places.range(run.start..=run.last).for_each(|(_, p)| places.merge(p));
    let expected = reference(controls, Kn::default(), None, cfg.min_reports);
    let own = Kn::of(&v);
    e.countries = ix.failing_countries(&targets, run.start, run.last, cfg).0;
    e.verdicts = mix(&v);
    e.counts = EventCounts {
        reports: places.reports,
        controls_loaded: places.controls_loaded,
        measurements: own.n,
        disrupted: own.k,
        expected_share: round2(expected),
    };
    e.severity = round2((own.share().unwrap_or(0.0) - expected).max(0.0) * hours(&run));
    e.summary = summary(&e, cfg);
    e
}

fn place_event(ix: &Index, country: &str, g: &[Signal], kind: EventKind, cfg: &Config) -> Event {
    let run = span(g);
    let targets = targets_of(g);
    let mut e = skeleton(kind, Some(country), targets.clone(), &run);
    let whole: Place = (country.to_string(), None);
    let elsewhere = |place: &Place| -> Kn {
        match kind {
            EventKind::Connectivity => {
                let mut all = PlaceCell::default();
                ix.global_places.range(run.start..=run.last).for_each(|(_, p)| all.merge(p));
                Kn::offline(&all).minus(Kn::offline(&ix.place_over(&(place.0.clone(), None), run.start, run.last)))
            }
            _ => Kn::of(&ix.global_target_over(&targets, run.start, run.last)).minus(Kn::of(&ix.target_counts(
                &(place.0.clone(), None),
                &targets,
                run.start,
                run.last,
            ))),
        }
    };
    let own = |place: &Place| -> Kn {
        match kind {
            EventKind::Connectivity => Kn::offline(&ix.place_over(place, run.start, run.last)),
            _ => Kn::of(&ix.target_counts(place, &targets, run.start, run.last)),
        }
    };
    let expected_at = |place: &Place| -> f64 {
        let controls =
            if kind == EventKind::Connectivity { Kn::default() } else { ix.controls_over(place, run.start, run.last) };
        reference(controls, elsewhere(place), None, cfg.min_reports)
    };
    // Networks where the disruption shows with enough reports over the whole span.
    let mut with_data = 0;
    for &asn in ix.networks.get(country).into_iter().flatten() {
        let place = (country.to_string(), Some(asn));
        let kn = own(&place);
        if kn.n < cfg.min_reports {
            continue;
        }
        with_data += 1;
        let signalled = g.iter().any(|s| s.network == Some(asn));
        if signalled || wilson_lower(kn.k, kn.n, cfg.z_open) > expected_at(&place) + cfg.margin {
            e.networks.push(asn);
        }
    }
    let country_wide = g.iter().any(|s| s.network.is_none());
    e.nationwide = country_wide && (e.networks.len() == with_data);
    let places: Vec<Place> = if e.nationwide || e.networks.is_empty() {
        vec![whole.clone()]
    } else {
        e.networks.iter().map(|&a| (country.to_string(), Some(a))).collect()
    };
    let (mut pc, mut v, mut kn, mut controls, mut outside) =
        (PlaceCell::default(), VerdictCounts::default(), Kn::default(), Kn::default(), Kn::default());
    for p in &places {
        pc.merge(&ix.place_over(p, run.start, run.last));
        v.merge(&ix.target_counts(p, &targets, run.start, run.last));
        kn.add(own(p));
        if kind != EventKind::Connectivity {
            controls.add(ix.controls_over(p, run.start, run.last));
        }
    }
    outside.add(elsewhere(&whole));
    let expected = reference(controls, outside, None, cfg.min_reports);
    e.verdicts = mix(&v);
    e.counts = EventCounts {
        reports: pc.reports,
        controls_loaded: pc.controls_loaded,
        measurements: if kind == EventKind::Connectivity { kn.n } else { v.decided() },
        disrupted: kn.k,
        expected_share: round2(expected),
    };
    e.severity = round2((kn.share().unwrap_or(0.0) - expected).max(0.0) * hours(&run));
    e.summary = summary(&e, cfg);
    e
}

/// English names of the countries Vantage is most used in; other codes are shown as codes.
fn country_name(code: &str) -> &str {
    const NAMES: &[(&str, &str)] = &[
        ("AF", "Afghanistan"),
        ("BD", "Bangladesh"),
        ("BR", "Brazil"),
        ("BY", "Belarus"),
        ("CN", "China"),
        ("CU", "Cuba"),
        ("DE", "Germany"),
        ("EG", "Egypt"),
        ("ET", "Ethiopia"),
        ("FR", "France"),
        ("GB", "the United Kingdom"),
        ("ID", "Indonesia"),
        ("IN", "India"),
        ("IQ", "Iraq"),
        ("IR", "Iran"),
        ("KZ", "Kazakhstan"),
        ("MM", "Myanmar"),
        ("NG", "Nigeria"),
        ("PK", "Pakistan"),
        ("RU", "Russia"),
        ("SA", "Saudi Arabia"),
        ("SD", "Sudan"),
        ("SY", "Syria"),
        ("TM", "Turkmenistan"),
        ("TR", "Türkiye"),
        ("UA", "Ukraine"),
        ("US", "the United States"),
        ("VE", "Venezuela"),
        ("VN", "Vietnam"),
    ];
    NAMES.iter().find(|(c, _)| *c == code).map_or(code, |(_, n)| n)
}

/// "A", "A and B", "A, B and C".
fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// ("15:00", "17 Dec 2023") from seconds since the epoch.
fn clock_and_day(secs: i64) -> (String, String) {
    let t = format_minute(secs);
    let month = t[5..7].parse::<usize>().ok().and_then(|m| MONTHS.get(m.wrapping_sub(1))).copied().unwrap_or("?");
    (t[11..16].to_string(), format!("{} {month} {}", t[8..10].trim_start_matches('0'), &t[..4]))
}

fn when(e: &Event) -> String {
    let (from, day) = clock_and_day(e.start_secs);
    if e.ongoing {
        return format!("since {from} UTC on {day}");
    }
    let (to, end_day) = clock_and_day(e.last_secs);
    if end_day == day || (to == "00:00" && e.last_secs - e.start_secs < 86_400) {
        format!("from {from} to {to} UTC on {day}")
    } else {
        format!("from {from} UTC on {day} to {to} UTC on {end_day}")
    }
}

fn networks_phrase(e: &Event) -> String {
    match (e.nationwide, e.networks.as_slice()) {
        (_, []) => String::new(),
        (true, [_]) => " on its 1 network with reports".into(),
        (true, n) => format!(" on {} networks", n.len()),
        (false, n) => format!(" on {}", join(&n.iter().map(|a| format!("AS{a}")).collect::<Vec<_>>())),
    }
}

fn percent(part: u32, whole: u32) -> u32 {
    if whole == 0 {
        0
    } else {
        (f64::from(part) * 100.0 / f64::from(whole)).round() as u32
    }
}

/// The one sentence a newsroom can quote, with the counts behind it.
fn summary(e: &Event, cfg: &Config) -> String {
    let names: Vec<String> = e.targets.iter().map(|t| cfg.names.get(t).cloned().unwrap_or_else(|| t.clone())).collect();
    let c = &e.counts;
    match e.kind {
        EventKind::Censorship => {
            let v = &e.verdicts;
            let verb = if v.throttled > v.blocked + v.timeout + v.tampered {
                "throttled"
            } else if v.tampered > v.blocked + v.timeout + v.throttled {
                "tampered with"
            } else {
                "unreachable"
            };
            let country = e.country.as_deref().map_or("?", country_name);
            let controls = if percent(c.controls_loaded, c.reports) >= 90 {
                "controls loading normally".to_string()
            } else {
                format!("controls loading in {}% of them", percent(c.controls_loaded, c.reports))
            };
            format!(
                "{} {verb} from {country}{} {} ({} reports; {controls})",
                join(&names),
                networks_phrase(e),
                when(e),
                c.reports
            )
        }
        EventKind::Connectivity => {
            let country = e.country.as_deref().map_or("?", country_name);
            format!(
                "Connectivity lost in {country}{} {}: controls failed too ({} reports; controls failing in {}% of them)",
                networks_phrase(e),
                when(e),
                c.reports,
                percent(c.reports - c.controls_loaded, c.reports)
            )
        }
        EventKind::Outage => format!(
            "{} failing in {} countries at once {}: a platform outage or a broken target, not censorship ({} reports)",
            join(&names),
            e.countries.len(),
            when(e),
            c.reports
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crowd::cells::{CellKey, PlaceKey, TargetCell};

    const START: i64 = 1_702_771_200; // 2023-12-17T00:00:00Z
    const B: i64 = BUCKET_SECS;

    /// A crowd written as counts: what each (place, target) shows in each bucket.
    struct Crowd {
        rollup: Rollup,
    }

    impl Crowd {
        fn new() -> Self {
            Crowd { rollup: Rollup::default() }
        }

        /// `n` reports from `country`/`asn` in `bucket`: `offline` of them with controls
        /// failing, and of the rest `failed(target)` failing each target (blocked).
        fn reports(
            &mut self,
            at: (i64, &str, u32),
            n: u32,
            offline: u32,
            targets: &[&str],
            failed: impl Fn(&str) -> u32,
        ) {
            let (bucket, country, asn) = at;
            let place = PlaceKey { bucket, country: country.into(), asn };
            self.rollup.places.entry(place).or_default().merge(&PlaceCell { reports: n, controls_loaded: n - offline });
            for t in targets.iter().copied().chain(["control"]) {
                let mut v = VerdictCounts::default();
                let f = if t == "control" { 0 } else { failed(t).min(n - offline) };
                v.add(vantage_report::Verdict::Blocked, f);
                v.add(vantage_report::Verdict::Reachable, n - offline - f);
                v.add(vantage_report::Verdict::Inconclusive, offline);
                let cell =
                    TargetCell { control: t == "control", verdicts: v, reports: n, controls_loaded: n - offline };
                let key = CellKey { bucket, country: country.into(), asn, target: t.into() };
                self.rollup.targets.entry(key).or_default().merge(&cell);
            }
        }

        /// A quiet day everywhere from `from` for `buckets` buckets: `per` reports per network per
        /// bucket, about 1 in 40 failing.
        fn quiet(&mut self, from: i64, buckets: i64, countries: &[(&str, &[u32])], per: u32) {
            for i in 0..buckets {
                for (c, asns) in countries {
                    for &a in *asns {
                        let noise = u32::from((i + i64::from(a)) % 40 == 0);
                        self.reports((from + i * B, c, a), per, 0, &["x", "facebook", "youtube"], |_| noise);
                    }
                }
            }
        }
    }

    const WORLD: [(&str, &[u32]); 5] = [
        ("PK", &[17557, 45669, 24499, 59257]),
        ("IN", &[55836, 45609]),
        ("DE", &[3320, 3209]),
        ("BR", &[28573]),
        ("US", &[7922]),
    ];

    fn cfg() -> Config {
        let names = [("x", "X"), ("facebook", "Facebook"), ("youtube", "YouTube")];
        Config { names: names.into_iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(), ..Config::default() }
    }

    /// Replaces the counts of `buckets` buckets from `from` in a country with a block of
    /// `targets` on `asns` (all of them failing).
    fn block(
        crowd: &mut Crowd,
        country: &str,
        asns: &[u32],
        targets: &'static [&'static str],
        from: i64,
        buckets: i64,
    ) {
        for i in 0..buckets {
            for &a in asns {
                let b = from + i * B;
                crowd.rollup.targets.retain(|k, _| !(k.bucket == b && k.country == country && k.asn == a));
                crowd.rollup.places.remove(&PlaceKey { bucket: b, country: country.into(), asn: a });
                crowd.reports((b, country, a), 6, 0, &["x", "facebook", "youtube"], |t| {
                    if targets.contains(&t) {
                        6
                    } else {
                        0
                    }
                });
            }
        }
    }

    #[test]
    fn wilson_bounds_account_for_sample_size() {
        assert!((wilson_lower(5, 5, 2.576) - 5.0 / (5.0 + 2.576 * 2.576)).abs() < 1e-9);
        assert!(wilson_lower(50, 50, 2.576) > wilson_lower(5, 5, 2.576));
        assert!(wilson_upper(0, 10, 1.96) < 0.5 && wilson_upper(0, 3, 1.96) > 0.5);
        assert_eq!(wilson(0, 0, 2.0), (0.0, 1.0));
    }

    #[test]
    fn a_nationwide_block_with_no_history_is_censorship_found_in_its_first_bucket() {
        let mut crowd = Crowd::new();
        crowd.quiet(START, 96, &WORLD, 6);
        let pk = WORLD[0].1;
        block(&mut crowd, "PK", pk, &["x", "facebook"], START + 60 * B, 28);
        let events = detect(&crowd.rollup, &cfg());
        assert_eq!(events.len(), 1, "{events:#?}");
        let e = &events[0];
        assert_eq!((e.kind, e.country.as_deref(), e.nationwide), (EventKind::Censorship, Some("PK"), true));
        assert_eq!(e.targets, ["facebook", "x"]);
        assert_eq!(e.networks, [17557, 24499, 45669, 59257]);
        assert_eq!((e.start.as_str(), e.end.as_deref()), ("2023-12-17T15:00:00Z", Some("2023-12-17T22:00:00Z")));
        assert_eq!(e.detected, "2023-12-17T15:15:00Z");
        assert_eq!(e.counts.reports, 4 * 6 * 28);
        assert_eq!(e.verdicts.blocked, 2 * 4 * 6 * 28);
        assert!(e.severity > 6.5 && e.severity <= 7.0, "{}", e.severity);
        assert_eq!(
            e.summary,
            "Facebook and X unreachable from Pakistan on 4 networks from 15:00 to 22:00 UTC on 17 Dec 2023 \
             (672 reports; controls loading normally)"
        );
    }

    #[test]
    fn an_ongoing_block_says_since() {
        let mut crowd = Crowd::new();
        crowd.quiet(START, 70, &WORLD, 6);
        block(&mut crowd, "PK", WORLD[0].1, &["x"], START + 60 * B, 10);
        let events = detect(&crowd.rollup, &cfg());
        assert_eq!(events.len(), 1, "{events:#?}");
        assert!(events[0].ongoing && events[0].end.is_none());
        assert!(events[0]
            .summary
            .starts_with("X unreachable from Pakistan on 4 networks since 15:00 UTC on 17 Dec 2023 ("));
    }

    #[test]
    fn one_network_is_named_and_not_the_country() {
        let mut crowd = Crowd::new();
        crowd.quiet(START, 96, &WORLD, 6);
        block(&mut crowd, "PK", &[45669], &["youtube"], START + 40 * B, 8);
        let events = detect(&crowd.rollup, &cfg());
        assert_eq!(events.len(), 1, "{events:#?}");
        let e = &events[0];
        assert_eq!(
            (e.nationwide, e.networks.as_slice(), e.targets.as_slice()),
            (false, &[45669][..], &["youtube".to_string()][..])
        );
        assert!(
            e.summary.starts_with("YouTube unreachable from Pakistan on AS45669 from 10:00 to 12:00 UTC"),
            "{}",
            e.summary
        );
    }

    #[test]
    fn a_target_failing_everywhere_is_an_outage_not_censorship() {
        let mut crowd = Crowd::new();
        crowd.quiet(START, 96, &WORLD, 6);
        for (c, asns) in WORLD {
            block(&mut crowd, c, asns, &["youtube"], START + 20 * B, 8);
        }
        let events = detect(&crowd.rollup, &cfg());
        assert_eq!(events.len(), 1, "{events:#?}");
        let e = &events[0];
        assert_eq!(
            (e.kind, e.country.as_deref(), e.targets.as_slice()),
            (EventKind::Outage, None, &["youtube".to_string()][..])
        );
        assert_eq!(e.countries, ["BR", "DE", "IN", "PK", "US"]);
        assert!(e.summary.contains("not censorship"), "{}", e.summary);
    }

    #[test]
    fn controls_failing_too_is_connectivity_not_censorship() {
        let mut crowd = Crowd::new();
        crowd.quiet(START, 96, &WORLD, 6);
        let mobile = [45669, 24499];
        for i in 0..12 {
            for a in mobile {
                let b = START + (30 + i) * B;
                crowd.rollup.targets.retain(|k, _| !(k.bucket == b && k.asn == a));
                crowd.rollup.places.remove(&PlaceKey { bucket: b, country: "PK".into(), asn: a });
                // Every visitor offline but one, whose single report fails everything but the controls.
                crowd.reports((b, "PK", a), 6, 5, &["x", "facebook", "youtube"], |_| 1);
            }
        }
        let events = detect(&crowd.rollup, &cfg());
        assert_eq!(events.len(), 1, "{events:#?}");
        let e = &events[0];
        assert_eq!(
            (e.kind, e.networks.as_slice(), e.nationwide),
            (EventKind::Connectivity, &mobile_sorted()[..], false)
        );
        assert!(e.summary.starts_with("Connectivity lost in Pakistan on AS24499 and AS45669 from 07:30 to 10:30 UTC"));
    }

    fn mobile_sorted() -> [u32; 2] {
        [24499, 45669]
    }

    #[test]
    fn withheld_cells_decide_nothing_alone() {
        // Four reports, every one failing, are too few to decide anything; a fifth makes five.
        let mut crowd = Crowd::new();
        crowd.quiet(START, 96, &WORLD[1..], 6);
        crowd.reports((START + 40 * B, "PK", 17557), 4, 0, &["x"], |_| 4);
        assert!(detect(&crowd.rollup, &cfg()).is_empty());
        crowd.reports((START + 41 * B, "PK", 17557), 1, 0, &["x"], |_| 1);
        let events = detect(&crowd.rollup, &cfg());
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0].counts.reports, 5);
    }

    #[test]
    fn without_networks_a_country_is_still_watched() {
        // A collector without an ASN database: every report from network 0.
        let mut crowd = Crowd::new();
        let world: [(&str, &[u32]); 3] = [("PK", &[0]), ("DE", &[0]), ("BR", &[0])];
        crowd.quiet(START, 96, &world, 6);
        block(&mut crowd, "PK", &[0], &["x"], START + 60 * B, 8);
        let events = detect(&crowd.rollup, &cfg());
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!((events[0].country.as_deref(), events[0].networks.as_slice()), (Some("PK"), &[][..]));
        assert!(
            events[0].summary.starts_with("X unreachable from Pakistan from 15:00 to 17:00 UTC"),
            "{}",
            events[0].summary
        );
    }

    #[test]
    fn quiet_data_raises_nothing() {
        let mut crowd = Crowd::new();
        crowd.quiet(START, 4 * 96, &WORLD, 6);
        assert_eq!(detect(&crowd.rollup, &cfg()), []);
    }

    /// A network where YouTube fails about 40 % of the time every evening (a broken cache, say):
    /// with no history, an evening with a few unlucky buckets looks like a block; once two quiet
    /// days are known at that hour, the same counts are ordinary for it. A real block still opens.
    #[test]
    fn history_sets_the_baseline_when_it_exists() {
        let flaky = |crowd: &mut Crowd, day: i64, bad: bool| {
            for i in 72..80 {
                let b = START + day * 96 * B + i * B;
                crowd.rollup.targets.retain(|k, _| !(k.bucket == b && k.asn == 17557));
                crowd.rollup.places.remove(&PlaceKey { bucket: b, country: "PK".into(), asn: 17557 });
                let failing = if bad && i >= 76 { 7 } else { 4 };
                crowd.reports((b, "PK", 17557), 12, 0, &["x", "facebook", "youtube"], |t| {
                    if t == "youtube" {
                        failing
                    } else {
                        0
                    }
                });
            }
        };
        let mut without = Crowd::new();
        without.quiet(START, 96, &WORLD, 6);
        flaky(&mut without, 0, true);
        let events = detect(&without.rollup, &cfg());
        assert_eq!(events.len(), 1, "no history, 7 of 12 failing looks like a block: {events:#?}");

        let mut with = Crowd::new();
        with.quiet(START - 2 * 96 * B, 3 * 96, &WORLD, 6);
        flaky(&mut with, -2, false);
        flaky(&mut with, -1, false);
        flaky(&mut with, 0, true);
        assert_eq!(detect(&with.rollup, &cfg()), [], "with history, 7 of 12 is this network's evening");

        block(&mut with, "PK", &[17557], &["youtube"], START + 76 * B, 4);
        let events = detect(&with.rollup, &cfg());
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0].networks, [17557]);
    }

    #[test]
    fn inconclusive_is_never_disruption() {
        let mut crowd = Crowd::new();
        crowd.quiet(START, 96, &WORLD[1..], 6);
        // Every report from PK has its controls failing: all inconclusive, no target event.
        for i in 0..96 {
            crowd.reports((START + i * B, "PK", 17557), 6, 6, &["x"], |_| 0);
        }
        let events = detect(&crowd.rollup, &cfg());
        assert!(events.iter().all(|e| e.kind == EventKind::Connectivity && e.counts.disrupted > 0), "{events:#?}");
        assert!(events.iter().all(|e| e.verdicts == VerdictMix::default()));
    }

    #[test]
    fn grouping_keeps_separate_starts_apart() {
        let mut crowd = Crowd::new();
        crowd.quiet(START, 96, &WORLD, 6);
        block(&mut crowd, "PK", WORLD[0].1, &["x"], START + 20 * B, 8);
        block(&mut crowd, "PK", WORLD[0].1, &["facebook"], START + 60 * B, 8);
        let events = detect(&crowd.rollup, &cfg());
        assert_eq!(
            events.iter().map(|e| e.targets.clone()).collect::<Vec<_>>(),
            [vec!["x".to_string()], vec!["facebook".to_string()]]
        );
    }

    #[test]
    fn events_serialise_with_rfc3339_times_and_counts() {
        let mut crowd = Crowd::new();
        crowd.quiet(START, 96, &WORLD, 6);
        block(&mut crowd, "PK", WORLD[0].1, &["x"], START + 60 * B, 28);
        let json = serde_json::to_value(&detect(&crowd.rollup, &cfg())[0]).unwrap();
        assert_eq!(json["kind"], "censorship");
        assert_eq!(json["start"], "2023-12-17T15:00:00Z");
        assert_eq!(json["counts"]["reports"], 672);
        assert!(json.get("start_secs").is_none());
    }
}
