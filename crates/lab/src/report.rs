//! A valid sample report, for tests that need one that the collector accepts.

use vantage_report::{
    timestamp, Attempt, BrowserInfo, ControlStatus, Measurement, Outcome, ProbeKind, Report, RunContext, SCHEMA_VERSION,
};

/// A valid report started at `start` (seconds since the epoch, kept with its seconds): target
/// `x` blocked (an image failing after 20.5 ms, a fetch after 15 ms), and the control
/// `control` reachable.
pub fn sample_report(report_id: &str, start: i64) -> Report {
    let ctx =
        RunContext { controls: ControlStatus::Ok, control_kbps: None, control_image_ms: None, deadline_ms: 5000.0 };
    let measurement = |id: &str, control, outcome| {
        let attempts =
            vec![Attempt::new(ProbeKind::Image, outcome, 20.5), Attempt::new(ProbeKind::Fetch, outcome, 15.0)];
        Measurement::decided(id, &format!("https://{id}.example/favicon.ico"), control, attempts, &ctx)
    };
    Report {
        schema_version: SCHEMA_VERSION,
        report_id: report_id.into(),
        software_name: "vantage-web".into(),
        software_version: "0.1.0".into(),
        targets_version: "t-1".into(),
        measurement_start_time: format!("{}:{:02}.250Z", &timestamp::format_minute(start)[..16], start.rem_euclid(60)),
        deadline_ms: 5000.0,
        browser: BrowserInfo { family: "chromium".into(), major: 156 },
        connection_type: Some("wifi".into()),
        measurements: vec![measurement("x", false, Outcome::Error), measurement("control", true, Outcome::Ok)],
    }
}

/// The target list [`sample_report`] measures (`x` and the control `control`), for collectors
/// that accept only measurements of a list they served.
pub fn sample_targets() -> vantage_report::TargetList {
    let target = |id: &str, category: &str| {
        let url = format!("https://{id}.example/favicon.ico");
        crate::targets::target(id, id, category, &url, &url)
    };
    crate::targets::list("t-1", vec![target("x", "GRP"), target("control", "CTRL")])
}
