//! The report a client submits after a run, and the validation the collector applies to it.
//!
//! A report holds no identifier of the visitor: a fresh random id per run, the browser family
//! and major version, and coarse connection type when the browser tells. The collector adds
//! country and network from the source address and then forgets the address.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::evidence::Attempt;
use crate::target::{check_url, is_valid_id, Asset, TargetList, MAX_ASSET_BYTES, MAX_TARGETS, MIN_ASSET_BYTES};
use crate::timestamp::parse_utc;
use crate::verdict::{decide, is_independent_control, Reason, RunContext, Verdict};

/// The report schema this crate speaks.
pub const SCHEMA_VERSION: u32 = 1;
/// Attempts kept per target: enough for several trials of every probe kind.
pub const MAX_ATTEMPTS: usize = 50;
/// Longest duration or deadline a report may carry, in milliseconds.
pub const MAX_DURATION_MS: f64 = 120_000.0;
/// How far a client clock may run ahead of the collector's.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// Oldest measurement accepted.
pub const MAX_AGE_SECS: i64 = 86_400;

/// Browser families a report may name; anything else is reported as `other`.
pub const BROWSER_FAMILIES: [&str; 4] = ["chromium", "firefox", "safari", "other"];
/// Connection types as the Network Information API names them, coarse on purpose.
pub const CONNECTION_TYPES: [&str; 12] =
    ["bluetooth", "cellular", "ethernet", "none", "mixed", "other", "unknown", "wifi", "wimax", "slow-2g", "2g", "3g"];

/// One run's results, as submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema_version: u32,
    /// 32 lowercase hex digits, fresh and random per run.
    pub report_id: String,
    pub software_name: String,
    pub software_version: String,
    /// Version of the target list that produced the run.
    pub targets_version: String,
    /// When the run started, `YYYY-MM-DDTHH:MM:SS.fffZ`.
    pub measurement_start_time: String,
    /// The client's per-attempt deadline.
    pub deadline_ms: f64,
    pub browser: BrowserInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<String>,
    pub measurements: Vec<Measurement>,
}

/// Browser family and major version: enough to interpret timings, too little to identify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserInfo {
    pub family: String,
    pub major: u32,
}

impl BrowserInfo {
    /// Family and major version from a `User-Agent` string; nothing else of it is kept.
    pub fn from_user_agent(ua: &str) -> Self {
        let major_after = |token: &str| -> Option<u32> {
            let rest = &ua[ua.find(token)? + token.len()..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse().ok().filter(|m| *m <= 10_000)
        };
        let (family, major) = if let Some(m) = major_after("Firefox/") {
            ("firefox", m)
        } else if let Some(m) = major_after("Chrome/").or_else(|| major_after("CriOS/")) {
            ("chromium", m)
        } else if let (Some(m), true) = (major_after("Version/"), ua.contains("Safari/")) {
            ("safari", m)
        } else {
            ("other", 0)
        };
        BrowserInfo { family: family.into(), major }
    }
}

/// The result for one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    pub target_id: String,
    /// The measured resource, as the target list names it.
    pub input: String,
    pub control: bool,
    pub verdict: Verdict,
    pub reason: Reason,
    pub attempts: Vec<Attempt>,
}

impl Measurement {
    /// The measurement of `target_id` at `input` from its attempts, its verdict and reason
    /// decided by the shared rules in the run's context: the one way a measurement is made.
    pub fn decided(target_id: &str, input: &str, control: bool, attempts: Vec<Attempt>, ctx: &RunContext) -> Self {
        let d = decide(&attempts, ctx);
        Measurement {
            target_id: target_id.into(),
            input: input.into(),
            control,
            verdict: d.verdict,
            reason: d.reason,
            attempts,
        }
    }
}

/// Turns a run's attempts (one list per target, in the target list's order) into measurements,
/// deciding each verdict by the shared rules against the run's controls.
pub fn measurements_from(list: &TargetList, attempts: Vec<Vec<Attempt>>, deadline_ms: f64) -> Vec<Measurement> {
    let ctx = RunContext::from_controls(
        list.targets
            .iter()
            .zip(&attempts)
            .filter(|(t, _)| t.control && t.images.first().is_some_and(|u| is_independent_control(u)))
            .map(|(_, a)| a.as_slice()),
        deadline_ms,
    );
    list.targets
        .iter()
        .zip(attempts)
        .map(|(t, mut attempts)| {
            t.mark_hosts(&mut attempts);
            Measurement::decided(&t.id, t.images.first().map_or("", String::as_str), t.control, attempts, &ctx)
        })
        .collect()
}

/// Why a report was refused: the offending field (a path such as `measurements[0].verdict`)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Error, Serialize)]
#[error("{field}: {detail}")]
pub struct ValidationError {
    pub field: String,
    pub detail: String,
    /// The body is not JSON at all (syntax error, truncated, not UTF-8), as opposed to JSON
    /// that breaks the schema.
    #[serde(skip)]
    pub malformed: bool,
}

fn err(field: impl Into<String>, detail: impl Into<String>) -> ValidationError {
    ValidationError { field: field.into(), detail: detail.into(), malformed: false }
}

fn is_short_token(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
}

impl Report {
    /// Parses JSON strictly (unknown fields refused, the failing field named) and validates it
    /// against the collector's clock, `now` in seconds since the epoch.
    pub fn from_json(body: &[u8], now: i64) -> Result<Self, ValidationError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        let report: Report = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let malformed = !e.inner().is_data();
            ValidationError {
                field: if path == "." || malformed { "(body)".to_string() } else { path },
                detail: e.inner().to_string(),
                malformed,
            }
        })?;
        report.validate(now)?;
        Ok(report)
    }

    /// Every rule a stored report must satisfy; the first broken one is returned.
    pub fn validate(&self, now: i64) -> Result<(), ValidationError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(err("schema_version", format!("must be {SCHEMA_VERSION}, got {}", self.schema_version)));
        }
        if self.report_id.len() != 32
            || !self.report_id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err("report_id", "must be 32 lowercase hex digits"));
        }
        if !is_short_token(&self.software_name, 32) {
            return Err(err("software_name", "must be 1 to 32 of [A-Za-z0-9._-+]"));
        }
        if !is_short_token(&self.software_version, 32) {
            return Err(err("software_version", "must be 1 to 32 of [A-Za-z0-9._-+]"));
        }
        if !is_short_token(&self.targets_version, 64) {
            return Err(err("targets_version", "must be 1 to 64 of [A-Za-z0-9._-+]"));
        }
        let Some(start) = parse_utc(&self.measurement_start_time) else {
            return Err(err("measurement_start_time", "must be a UTC timestamp like 2023-12-17T15:00:00.000Z"));
        };
        if start > now + MAX_CLOCK_SKEW_SECS {
            return Err(err("measurement_start_time", "is in the future"));
        }
        if start < now - MAX_AGE_SECS {
            return Err(err("measurement_start_time", "is more than a day old"));
        }
        if !(self.deadline_ms.is_finite() && (100.0..=MAX_DURATION_MS).contains(&self.deadline_ms)) {
            return Err(err("deadline_ms", format!("must be between 100 and {MAX_DURATION_MS}")));
        }
        if !BROWSER_FAMILIES.contains(&self.browser.family.as_str()) {
            return Err(err("browser.family", format!("must be one of {BROWSER_FAMILIES:?}")));
        }
        if self.browser.major > 10_000 {
            return Err(err("browser.major", "must be at most 10000"));
        }
        if let Some(c) = &self.connection_type {
            if !CONNECTION_TYPES.contains(&c.as_str()) && c != "4g" {
                return Err(err("connection_type", "is not a Network Information API connection type"));
            }
        }
        if self.measurements.is_empty() || self.measurements.len() > MAX_TARGETS {
            return Err(err("measurements", format!("must hold 1 to {MAX_TARGETS} measurements")));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.measurements.iter().enumerate() {
            let at = |f: &str| format!("measurements[{i}].{f}");
            if !is_valid_id(&m.target_id) {
                return Err(err(at("target_id"), "must be 1 to 64 of [a-z0-9_-]"));
            }
            if !seen.insert(m.target_id.as_str()) {
                return Err(err(at("target_id"), format!("{:?} appears more than once", m.target_id)));
            }
            check_url(&m.input).map_err(|d| err(at("input"), d))?;
            if m.attempts.is_empty() || m.attempts.len() > MAX_ATTEMPTS {
                return Err(err(at("attempts"), format!("must hold 1 to {MAX_ATTEMPTS} attempts")));
            }
            for (j, a) in m.attempts.iter().enumerate() {
                let at = |f: &str| format!("measurements[{i}].attempts[{j}].{f}");
                let ms_ok = |v: f64| v.is_finite() && (0.0..=MAX_DURATION_MS).contains(&v);
                if !ms_ok(a.duration_ms) {
                    return Err(err(at("duration_ms"), format!("must be between 0 and {MAX_DURATION_MS}")));
                }
                if usize::from(a.trial) >= MAX_ATTEMPTS {
                    return Err(err(at("trial"), format!("must be below {MAX_ATTEMPTS}")));
                }
                if let Some(p) = &a.phases {
                    if ![p.dns_ms, p.connect_ms, p.tls_ms, p.ttfb_ms].into_iter().all(ms_ok) {
                        return Err(err(at("phases"), format!("every phase must be between 0 and {MAX_DURATION_MS}")));
                    }
                }
                if a.bytes.is_some_and(|b| !Asset::size_allowed(b)) {
                    return Err(err(at("bytes"), format!("must be between {MIN_ASSET_BYTES} and {MAX_ASSET_BYTES}")));
                }
            }
        }
        // Verdicts and their reasons must follow from the evidence by the shared rules, or the
        // aggregate would count claims rather than observations (and a reason could carry
        // any number it liked).
        let ctx = self.run_context();
        for (i, m) in self.measurements.iter().enumerate() {
            let d = decide(&m.attempts, &ctx);
            if d.verdict != m.verdict {
                return Err(err(
                    format!("measurements[{i}].verdict"),
                    format!(
                        "{:?} does not follow from the attempts; the rules give {:?}",
                        m.verdict.as_str(),
                        d.verdict.as_str()
                    ),
                ));
            }
            if d.reason != m.reason {
                return Err(err(
                    format!("measurements[{i}].reason"),
                    "does not follow from the attempts by the shared rules",
                ));
            }
        }
        Ok(())
    }

    /// What this run's verdicts were decided against: its independent controls and deadline.
    pub fn run_context(&self) -> RunContext {
        RunContext::from_controls(
            self.measurements
                .iter()
                .filter(|m| m.control && is_independent_control(&m.input))
                .map(|m| m.attempts.as_slice()),
            self.deadline_ms,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Outcome, ProbeKind};

    const NOW: i64 = 1_702_825_260; // 2023-12-17T15:01:00Z

    fn attempt(probe: ProbeKind, outcome: Outcome, ms: f64) -> Attempt {
        Attempt::new(probe, outcome, ms)
    }

    fn measurement(id: &str, control: bool, outcome: Outcome) -> Measurement {
        let attempts = vec![attempt(ProbeKind::Image, outcome, 30.0), attempt(ProbeKind::Fetch, outcome, 25.0)];
        let ctx = RunContext {
            controls: crate::verdict::ControlStatus::Ok,
            control_kbps: None,
            control_image_ms: None,
            deadline_ms: 5000.0,
        };
        Measurement::decided(id, &format!("https://{id}.example/favicon.ico"), control, attempts, &ctx)
    }

    fn report() -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            report_id: "0123456789abcdef0123456789abcdef".into(),
            software_name: "vantage-web".into(),
            software_version: "0.1.0".into(),
            targets_version: "2023-12-17".into(),
            measurement_start_time: "2023-12-17T15:00:00.000Z".into(),
            deadline_ms: 5000.0,
            browser: BrowserInfo { family: "chromium".into(), major: 156 },
            connection_type: None,
            measurements: vec![measurement("x", false, Outcome::Error), measurement("control", true, Outcome::Ok)],
        }
    }

    fn field_of(r: &Report) -> String {
        r.validate(NOW).unwrap_err().field
    }

    #[test]
    fn measurements_follow_the_list_and_its_controls() {
        let list: TargetList = serde_json::from_str(
            r#"{"version":"1","targets":[
                {"id":"x","name":"X","category":"GRP","images":["https://x.example/i.png"],"fetch":"https://x.example/"},
                {"id":"c","name":"C","category":"CTRL","control":true,"images":["https://c.example/c.png"],"fetch":"https://c.example/"}]}"#,
        )
        .unwrap();
        let fail =
            || vec![attempt(ProbeKind::Image, Outcome::Error, 40.0), attempt(ProbeKind::Fetch, Outcome::Error, 40.0)];
        let ok = || vec![attempt(ProbeKind::Image, Outcome::Ok, 9.0), attempt(ProbeKind::Fetch, Outcome::Ok, 9.0)];
        let ms = measurements_from(&list, vec![fail(), ok()], 5000.0);
        assert_eq!(
            (ms[0].target_id.as_str(), ms[0].verdict, ms[0].input.as_str()),
            ("x", Verdict::Blocked, "https://x.example/i.png")
        );
        assert_eq!((ms[1].verdict, ms[1].control), (Verdict::Reachable, true));
        let ms = measurements_from(&list, vec![fail(), fail()], 5000.0);
        assert!(ms.iter().all(|m| m.verdict == Verdict::Inconclusive));
    }

    /// Every name but the page's own fails (Iran, November 2019): the own-origin control loads,
    /// the independent one does not, and nothing may be called blocked.
    #[test]
    fn a_run_where_only_the_page_own_origin_loads_is_inconclusive_for_every_platform() {
        let list: TargetList = serde_json::from_str(
            r#"{"version":"1","targets":[
                {"id":"x","name":"X","category":"GRP","images":["https://x.example/i.png"],"fetch":"https://x.example/"},
                {"id":"own","name":"This site","category":"CTRL","control":true,"images":["/c.png"],"fetch":"/c.png"},
                {"id":"c","name":"C","category":"CTRL","control":true,"images":["https://c.example/i.png"],"fetch":"https://c.example/"}]}"#,
        )
        .unwrap();
        let fail =
            || vec![attempt(ProbeKind::Image, Outcome::Error, 40.0), attempt(ProbeKind::Fetch, Outcome::Error, 40.0)];
        let ok = || vec![attempt(ProbeKind::Image, Outcome::Ok, 9.0), attempt(ProbeKind::Fetch, Outcome::Ok, 9.0)];
        let ms = measurements_from(&list, vec![fail(), ok(), fail()], 5000.0);
        assert!(ms.iter().all(|m| m.verdict == Verdict::Inconclusive), "{ms:?}");
        // The collector re-derives the same from the report alone.
        let mut r = report();
        r.measurements = ms;
        assert_eq!(r.run_context().controls, crate::ControlStatus::Failed);
        // With the independent control loading, the platform's failure is a block again.
        let ms = measurements_from(&list, vec![fail(), ok(), ok()], 5000.0);
        assert_eq!(ms[0].verdict, Verdict::Blocked);
    }

    #[test]
    fn browser_family_and_major_only() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.8078.73 Safari/537.36", "chromium", 156),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "firefox", 133),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", "safari", 17),
            ("curl/8.5.0", "other", 0),
        ];
        for (ua, family, major) in cases {
            assert_eq!(BrowserInfo::from_user_agent(ua), BrowserInfo { family: family.into(), major }, "{ua}");
        }
    }

    #[test]
    fn a_good_report_round_trips() {
        let r = report();
        assert_eq!(r.validate(NOW), Ok(()));
        let json = serde_json::to_vec(&r).unwrap();
        assert_eq!(Report::from_json(&json, NOW), Ok(r));
    }

    #[test]
    fn unknown_fields_are_refused_and_named() {
        let mut v = serde_json::to_value(report()).unwrap();
        v["measurements"][1]["client_ip"] = "203.0.113.9".into();
        let e = Report::from_json(v.to_string().as_bytes(), NOW).unwrap_err();
        assert_eq!(e.field, "measurements[1].client_ip");
        assert!(e.detail.contains("unknown field"), "{e}");
    }

    #[test]
    fn bad_enum_values_are_named() {
        let mut v = serde_json::to_value(report()).unwrap();
        v["measurements"][0]["verdict"] = "censored".into();
        assert_eq!(Report::from_json(v.to_string().as_bytes(), NOW).unwrap_err().field, "measurements[0].verdict");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let mut r = report();
        r.report_id = "not-hex".into();
        assert_eq!(field_of(&r), "report_id");
        let mut r = report();
        r.measurements[0].attempts[0].duration_ms = -1.0;
        assert_eq!(field_of(&r), "measurements[0].attempts[0].duration_ms");
        let mut r = report();
        r.measurements[0].attempts[0].duration_ms = f64::NAN;
        assert_eq!(field_of(&r), "measurements[0].attempts[0].duration_ms");
        let mut r = report();
        r.deadline_ms = 10.0;
        assert_eq!(field_of(&r), "deadline_ms");
        let mut r = report();
        r.browser.family = "Mozilla/5.0 (X11; Linux x86_64)".into();
        assert_eq!(field_of(&r), "browser.family");
        let mut r = report();
        r.connection_type = Some("fibre to my house at 12 Main St".into());
        assert_eq!(field_of(&r), "connection_type");
        let mut r = report();
        r.measurements[1].target_id = "x".into();
        assert_eq!(field_of(&r), "measurements[1].target_id");
        let mut r = report();
        r.measurements[0].input = "http://203.0.113.9/".into();
        assert_eq!(field_of(&r), "measurements[0].input");
        let mut r = report();
        r.measurements.clear();
        assert_eq!(field_of(&r), "measurements");
        let mut r = report();
        r.measurements[0].attempts[1].phases =
            Some(crate::evidence::Phases { dns_ms: 1.0, connect_ms: f64::INFINITY, tls_ms: 0.0, ttfb_ms: 3.0 });
        assert_eq!(field_of(&r), "measurements[0].attempts[1].phases");
        let mut r = report();
        r.measurements[0].attempts[0].bytes = Some(u64::MAX);
        assert_eq!(field_of(&r), "measurements[0].attempts[0].bytes");
    }

    /// Decides every verdict and reason again after a test changed the evidence, as a client
    /// would have.
    fn redecided(mut r: Report) -> Report {
        let ctx = r.run_context();
        for m in &mut r.measurements {
            let d = decide(&m.attempts, &ctx);
            (m.verdict, m.reason) = (d.verdict, d.reason);
        }
        r
    }

    #[test]
    fn every_limit_is_inclusive() {
        let mut r = report();
        r.software_name = "n".repeat(32);
        r.software_version = "Az09._-+".repeat(4);
        r.targets_version = "v".repeat(64);
        r.browser.major = 10_000;
        r.connection_type = Some("4g".into());
        let a = &mut r.measurements[0].attempts;
        a[0].duration_ms = MAX_DURATION_MS;
        a[0].bytes = Some(MAX_ASSET_BYTES);
        a[1].duration_ms = 0.0;
        a[1].bytes = Some(MIN_ASSET_BYTES);
        a[1].phases =
            Some(crate::evidence::Phases { dns_ms: 0.0, connect_ms: MAX_DURATION_MS, tls_ms: 0.0, ttfb_ms: 1.0 });
        a.resize(MAX_ATTEMPTS, a[1].clone());
        a[MAX_ATTEMPTS - 1].trial = u8::try_from(MAX_ATTEMPTS - 1).unwrap();
        for deadline_ms in [100.0, MAX_DURATION_MS] {
            let r = redecided(Report { deadline_ms, ..r.clone() });
            assert_eq!(r.validate(NOW), Ok(()), "deadline {deadline_ms}");
        }
        for connection in CONNECTION_TYPES {
            let r = Report { connection_type: Some(connection.into()), ..report() };
            assert_eq!(r.validate(NOW), Ok(()), "{connection}");
        }
        let mut full = report();
        full.measurements = (0..MAX_TARGETS).map(|i| measurement(&format!("t{i}"), i == 0, Outcome::Ok)).collect();
        assert_eq!(full.validate(NOW), Ok(()));
        full.measurements.push(measurement("one-more", false, Outcome::Ok));
        assert_eq!(field_of(&full), "measurements");
    }

    #[test]
    fn every_limit_is_refused_one_past_and_when_empty() {
        type Break = fn(&mut Report);
        let cases: [(&str, Break); 23] = [
            ("report_id", |r| r.report_id.truncate(31)),
            ("report_id", |r| r.report_id.push('0')),
            ("report_id", |r| r.report_id.replace_range(..1, "A")),
            ("report_id", |r| r.report_id.replace_range(..1, "g")),
            ("software_name", |r| r.software_name.clear()),
            ("software_name", |r| r.software_name = "n".repeat(33)),
            ("software_name", |r| r.software_name = "vantage web".into()),
            ("software_version", |r| r.software_version.clear()),
            ("software_version", |r| r.software_version = "1".repeat(33)),
            ("software_version", |r| r.software_version = "1/2".into()),
            ("targets_version", |r| r.targets_version.clear()),
            ("targets_version", |r| r.targets_version = "v".repeat(65)),
            ("deadline_ms", |r| r.deadline_ms = 99.9),
            ("deadline_ms", |r| r.deadline_ms = MAX_DURATION_MS + 0.1),
            ("browser.major", |r| r.browser.major = 10_001),
            ("connection_type", |r| r.connection_type = Some("5g".into())),
            ("measurements[0].attempts", |r| r.measurements[0].attempts.clear()),
            ("measurements[0].attempts", |r| {
                r.measurements[0].attempts = vec![r.measurements[0].attempts[0].clone(); MAX_ATTEMPTS + 1]
            }),
            ("measurements[0].attempts[0].duration_ms", |r| {
                r.measurements[0].attempts[0].duration_ms = MAX_DURATION_MS + 0.1
            }),
            ("measurements[0].attempts[0].trial", |r| r.measurements[0].attempts[0].trial = MAX_ATTEMPTS as u8),
            ("measurements[0].attempts[0].bytes", |r| r.measurements[0].attempts[0].bytes = Some(MAX_ASSET_BYTES + 1)),
            ("measurements[0].attempts[0].bytes", |r| r.measurements[0].attempts[0].bytes = Some(MIN_ASSET_BYTES - 1)),
            ("measurements[0].attempts[0].phases", |r| {
                r.measurements[0].attempts[0].phases =
                    Some(crate::evidence::Phases { dns_ms: -0.1, connect_ms: 0.0, tls_ms: 0.0, ttfb_ms: 0.0 })
            }),
        ];
        for (field, break_it) in cases {
            let mut r = report();
            break_it(&mut r);
            assert_eq!(field_of(&redecided(r)), field);
        }
    }

    #[test]
    fn the_clock_window_is_inclusive() {
        let r = report();
        let start = parse_utc(&r.measurement_start_time).unwrap();
        assert_eq!(r.validate(start - MAX_CLOCK_SKEW_SECS), Ok(()));
        assert!(r.validate(start - MAX_CLOCK_SKEW_SECS - 1).unwrap_err().detail.contains("future"));
        assert_eq!(r.validate(start + MAX_AGE_SECS), Ok(()));
        assert!(r.validate(start + MAX_AGE_SECS + 1).unwrap_err().detail.contains("day old"));
    }

    #[test]
    fn a_body_that_is_not_a_report_is_named_as_the_body() {
        // JSON of the wrong shape at the top: a schema error, not a malformed body.
        let e = Report::from_json(b"{}", NOW).unwrap_err();
        assert_eq!((e.field.as_str(), e.malformed), ("(body)", false), "{e}");
        // Cut off in the middle of a measurement: malformed, wherever the parser stopped.
        let json = serde_json::to_vec(&report()).unwrap();
        let e = Report::from_json(&json[..json.len() / 2], NOW).unwrap_err();
        assert_eq!((e.field.as_str(), e.malformed), ("(body)", true), "{e}");
    }

    #[test]
    fn timestamps_must_be_recent_and_not_in_the_future() {
        let mut r = report();
        r.measurement_start_time = "2023-12-17T15:30:00.000Z".into();
        assert!(r.validate(NOW).unwrap_err().detail.contains("future"));
        r.measurement_start_time = "2023-12-15T15:00:00.000Z".into();
        assert!(r.validate(NOW).unwrap_err().detail.contains("day old"));
        r.measurement_start_time = "yesterday".into();
        assert_eq!(field_of(&r), "measurement_start_time");
    }

    #[test]
    fn a_reason_that_does_not_follow_from_its_evidence_is_refused() {
        let mut r = report();
        r.measurements[0].reason = Reason::FailedFast { failed: 2, attempts: 2, slowest_ms: 9.25e54 };
        assert_eq!(field_of(&r), "measurements[0].reason");
    }

    #[test]
    fn a_verdict_that_does_not_follow_from_its_evidence_is_refused() {
        let mut r = report();
        r.measurements[0].verdict = Verdict::Reachable;
        let e = r.validate(NOW).unwrap_err();
        assert_eq!(e.field, "measurements[0].verdict");
        assert!(e.detail.contains("blocked"), "{e}");
    }
}
