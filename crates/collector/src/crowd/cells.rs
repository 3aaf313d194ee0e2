//! The 15-minute cells the crowd is counted in: per (bucket, country, network, target) the
//! verdicts of the reports that measured the target, how many distinct reports that was and how
//! many of them had their controls load; per (bucket, country, network) the reports and those
//! whose controls loaded, which is what connectivity is judged on.
//!
//! A report names each target once (validation refuses duplicates), so a target cell's
//! measurement count is its distinct-report count. Cells under the `min_reports` threshold are
//! kept for the detector but never published: see [`Rollup::published`].

use std::collections::BTreeMap;

use serde::Serialize;
use thiserror::Error;
use vantage_report::timestamp::parse_utc;
use vantage_report::{ControlStatus, Report, Verdict};

/// The finest grain of every aggregate: 15 minutes.
pub const BUCKET_SECS: i64 = 900;

/// Cells with fewer distinct reports than this are withheld by default (`--min-reports`).
pub const DEFAULT_MIN_REPORTS: u32 = 5;

/// The start of the 15-minute bucket holding `secs` (seconds since the epoch).
pub fn bucket_of(secs: i64) -> i64 {
    secs.div_euclid(BUCKET_SECS) * BUCKET_SECS
}

/// How many measurements ended in each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerdictCounts {
    pub reachable: u32,
    pub blocked: u32,
    pub timeout: u32,
    pub throttled: u32,
    pub tampered: u32,
    pub local_block: u32,
    pub inconclusive: u32,
}

impl VerdictCounts {
    pub fn add(&mut self, verdict: Verdict, n: u32) {
        let slot = match verdict {
            Verdict::Reachable => &mut self.reachable,
            Verdict::Blocked => &mut self.blocked,
            Verdict::Timeout => &mut self.timeout,
            Verdict::Throttled => &mut self.throttled,
            Verdict::Tampered => &mut self.tampered,
            Verdict::LocalBlock => &mut self.local_block,
            Verdict::Inconclusive => &mut self.inconclusive,
        };
        *slot += n;
    }

    pub fn get(&self, verdict: Verdict) -> u32 {
        match verdict {
            Verdict::Reachable => self.reachable,
            Verdict::Blocked => self.blocked,
            Verdict::Timeout => self.timeout,
            Verdict::Throttled => self.throttled,
            Verdict::Tampered => self.tampered,
            Verdict::LocalBlock => self.local_block,
            Verdict::Inconclusive => self.inconclusive,
        }
    }

    pub fn merge(&mut self, other: &VerdictCounts) {
        for v in Verdict::ALL {
            self.add(v, other.get(v));
        }
    }

    pub fn total(&self) -> u32 {
        Verdict::ALL.iter().map(|v| self.get(*v)).sum()
    }

    /// Measurements that say something about the network: all but `inconclusive` (controls
    /// failed, so nothing can be concluded) — the denominator of every failure share.
    pub fn decided(&self) -> u32 {
        self.total() - self.inconclusive
    }

    /// Measurements that count as disruption: blocked, timeout, throttled or tampered. A
    /// `local_block` is the visitor's own browser; `inconclusive` is never disruption.
    pub fn disrupted(&self) -> u32 {
        self.blocked + self.timeout + self.throttled + self.tampered
    }
}

/// Where and when a target was measured.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    /// Start of the bucket, seconds since the epoch.
    pub bucket: i64,
    pub country: String,
    pub asn: u32,
    pub target: String,
}

/// One target's counts in one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TargetCell {
    /// The target is a control (reports mark it so).
    pub control: bool,
    pub verdicts: VerdictCounts,
    /// Distinct reports that measured the target.
    pub reports: u32,
    /// ... of which the controls loaded.
    pub controls_loaded: u32,
}

impl TargetCell {
    pub fn merge(&mut self, other: &TargetCell) {
        self.control |= other.control;
        self.verdicts.merge(&other.verdicts);
        self.reports += other.reports;
        self.controls_loaded += other.controls_loaded;
    }
}

/// Where and when reports came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlaceKey {
    pub bucket: i64,
    pub country: String,
    pub asn: u32,
}

/// Reports from one place in one bucket, and how many had their controls load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlaceCell {
    pub reports: u32,
    pub controls_loaded: u32,
}

impl PlaceCell {
    pub fn merge(&mut self, other: &PlaceCell) {
        self.reports += other.reports;
        self.controls_loaded += other.controls_loaded;
    }
}

/// A report that cannot be counted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CellError {
    #[error("report {report_id}: measurement_start_time {time:?} is not a UTC timestamp")]
    BadTime { report_id: String, time: String },
}

/// The cells of a stretch of time, as the rollup tables hold them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    pub targets: BTreeMap<CellKey, TargetCell>,
    pub places: BTreeMap<PlaceKey, PlaceCell>,
}

/// A cell as published: its counts, or only the fact that too few reports stand behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Published<T> {
    Counts(T),
    Withheld {
        /// Always "not enough reports".
        status: &'static str,
    },
}

/// What a withheld cell says instead of its counts.
pub const NOT_ENOUGH_REPORTS: &str = "not enough reports";

impl Rollup {
    /// Counts one stored report from `country` / `asn` into its bucket.
    pub fn add(&mut self, report: &Report, country: &str, asn: u32) -> Result<(), CellError> {
        let start = parse_utc(&report.measurement_start_time).ok_or_else(|| CellError::BadTime {
            report_id: report.report_id.clone(),
            time: report.measurement_start_time.clone(),
        })?;
        let loaded = report.run_context().controls == ControlStatus::Ok;
        let measured = report.measurements.iter().map(|m| (m.target_id.as_str(), m.control, m.verdict));
        self.add_measured(start, country, asn, loaded, measured);
        Ok(())
    }

    /// Counts one report given as stored rows: its start, place, whether its controls loaded
    /// and each measurement's (target, control, verdict).
    pub fn add_measured<'a>(
        &mut self,
        start: i64,
        country: &str,
        asn: u32,
        controls_loaded: bool,
        measured: impl IntoIterator<Item = (&'a str, bool, Verdict)>,
    ) {
        let bucket = bucket_of(start);
        let loaded = u32::from(controls_loaded);
        let place = PlaceKey { bucket, country: country.to_string(), asn };
        self.places.entry(place).or_default().merge(&PlaceCell { reports: 1, controls_loaded: loaded });
        for (target, control, verdict) in measured {
            let key = CellKey { bucket, country: country.to_string(), asn, target: target.to_string() };
            let mut verdicts = VerdictCounts::default();
            verdicts.add(verdict, 1);
            let cell = TargetCell { control, verdicts, reports: 1, controls_loaded: loaded };
            self.targets.entry(key).or_default().merge(&cell);
        }
    }

    /// Adds every cell of `other` (rollups of disjoint sets of reports).
    pub fn merge(&mut self, other: &Rollup) {
        for (k, c) in &other.targets {
            self.targets.entry(k.clone()).or_default().merge(c);
        }
        for (k, c) in &other.places {
            self.places.entry(k.clone()).or_default().merge(c);
        }
    }

    /// The same counts in coarser buckets (`3600` for hours, `86400` for days), which is how
    /// hour and day are derived from the 15-minute cells.
    pub fn coarsen(&self, bucket_secs: i64) -> Rollup {
        let mut out = Rollup::default();
        let b = |t: i64| t.div_euclid(bucket_secs) * bucket_secs;
        for (k, c) in &self.targets {
            out.targets.entry(CellKey { bucket: b(k.bucket), ..k.clone() }).or_default().merge(c);
        }
        for (k, c) in &self.places {
            out.places.entry(PlaceKey { bucket: b(k.bucket), ..k.clone() }).or_default().merge(c);
        }
        out
    }

    /// Every target cell as the public may see it: counts only where at least `min_reports`
    /// distinct reports stand behind them.
    pub fn published(&self, min_reports: u32) -> impl Iterator<Item = (&CellKey, Published<&TargetCell>)> {
        self.targets.iter().map(move |(k, c)| (k, publish(c, c.reports, min_reports)))
    }
}

/// `cell` if `reports` reach the threshold, else the withheld marker.
pub fn publish<T>(cell: T, reports: u32, min_reports: u32) -> Published<T> {
    if reports >= min_reports {
        Published::Counts(cell)
    } else {
        Published::Withheld { status: NOT_ENOUGH_REPORTS }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vantage_report::{decide, Attempt, BrowserInfo, Measurement, Outcome, ProbeKind, RunContext};

    fn report(id: u8, start: &str, x: Outcome, control: Outcome) -> Report {
        let attempts = |o| vec![Attempt::new(ProbeKind::Image, o, 30.0), Attempt::new(ProbeKind::Fetch, o, 20.0)];
        let ctx = RunContext::from_controls([attempts(control).as_slice()], 5000.0);
        let m = |target: &str, is_control, o| {
            let d = decide(&attempts(o), &ctx);
            Measurement {
                target_id: target.into(),
                input: format!("https://{target}.example/favicon.ico"),
                control: is_control,
                verdict: d.verdict,
                reason: d.reason,
                attempts: attempts(o),
            }
        };
        Report {
            schema_version: 1,
            report_id: format!("{id:032x}"),
            software_name: "vantage-web".into(),
            software_version: "0.1.0".into(),
            targets_version: "t-1".into(),
            measurement_start_time: start.into(),
            deadline_ms: 5000.0,
            browser: BrowserInfo { family: "chromium".into(), major: 156 },
            connection_type: None,
            measurements: vec![m("x", false, x), m("control", true, control)],
        }
    }

    #[test]
    fn reports_land_in_their_fifteen_minutes() {
        let mut r = Rollup::default();
        r.add(&report(1, "2023-12-17T15:00:00.000Z", Outcome::Error, Outcome::Ok), "PK", 17557).unwrap();
        r.add(&report(2, "2023-12-17T15:14:59.999Z", Outcome::Error, Outcome::Ok), "PK", 17557).unwrap();
        r.add(&report(3, "2023-12-17T15:15:00.000Z", Outcome::Ok, Outcome::Ok), "PK", 17557).unwrap();
        r.add(&report(4, "2023-12-17T15:05:00.000Z", Outcome::Error, Outcome::Error), "PK", 17557).unwrap();
        let x = |bucket| r.targets[&CellKey { bucket, country: "PK".into(), asn: 17557, target: "x".into() }];
        let first = x(1_702_825_200);
        assert_eq!(
            (first.reports, first.controls_loaded, first.verdicts.blocked, first.verdicts.inconclusive),
            (3, 2, 2, 1)
        );
        assert_eq!((first.verdicts.decided(), first.verdicts.disrupted()), (2, 2));
        assert_eq!(x(1_702_825_200 + 900).verdicts.reachable, 1);
        let place = r.places[&PlaceKey { bucket: 1_702_825_200, country: "PK".into(), asn: 17557 }];
        assert_eq!(place, PlaceCell { reports: 3, controls_loaded: 2 });
        let hours = r.coarsen(3600);
        let hour =
            hours.targets[&CellKey { bucket: 1_702_825_200, country: "PK".into(), asn: 17557, target: "x".into() }];
        assert_eq!((hour.reports, hour.verdicts.reachable), (4, 1));
    }

    #[test]
    fn cells_under_the_threshold_are_withheld() {
        let mut r = Rollup::default();
        for id in 0..4 {
            r.add(&report(id, "2023-12-17T15:00:00.000Z", Outcome::Error, Outcome::Ok), "PK", 1).unwrap();
        }
        assert!(r.published(5).all(|(_, p)| p == Published::Withheld { status: NOT_ENOUGH_REPORTS }));
        let json = serde_json::to_string(&r.published(5).map(|(_, p)| p).collect::<Vec<_>>()).unwrap();
        assert!(!json.contains("blocked") && json.contains("not enough reports"), "{json}");
        r.add(&report(9, "2023-12-17T15:01:00.000Z", Outcome::Error, Outcome::Ok), "PK", 1).unwrap();
        assert!(r.published(5).all(|(_, p)| matches!(p, Published::Counts(c) if c.reports == 5)));
    }

    #[test]
    fn a_report_with_a_bad_time_is_named() {
        let mut bad = report(1, "2023-12-17T15:00:00.000Z", Outcome::Ok, Outcome::Ok);
        bad.measurement_start_time = "yesterday".into();
        let e = Rollup::default().add(&bad, "PK", 1).unwrap_err();
        assert!(e.to_string().contains("yesterday"), "{e}");
    }
}
