//! Results in words: verdicts, the evidence behind them, timings and the summary line, in any
//! catalogue's language. Pure functions of the measurements, so every language says the same.

use vantage_report::verdict::median;
use vantage_report::{Attempt, Measurement, Outcome, ProbeKind, Reason, Verdict};

use super::Catalogue;

/// The verdict in plain words (`Likely blocked`).
pub fn verdict(c: &Catalogue, v: Verdict) -> String {
    c.text(&format!("verdict.{}", v.as_str()))
}

/// What a verdict means, and what the visitor can do next.
pub fn meaning(c: &Catalogue, v: Verdict) -> (String, String) {
    (c.text(&format!("meaning.{}", v.as_str())), c.text(&format!("next.{}", v.as_str())))
}

/// The evidence that decided a verdict.
pub fn reason(c: &Catalogue, r: &Reason) -> String {
    let n = |v: u32| c.num(f64::from(v));
    match r {
        Reason::AllSucceeded { attempts, slowest_ms } => {
            c.fmt("reason.all_succeeded", &[("attempts", &n(*attempts)), ("slowest", &c.ms(*slowest_ms))])
        }
        Reason::MostlySucceeded { succeeded, attempts } => {
            c.fmt("reason.mostly_succeeded", &[("succeeded", &n(*succeeded)), ("attempts", &n(*attempts))])
        }
        Reason::FailedFast { failed, attempts, slowest_ms } => c.fmt(
            "reason.failed_fast",
            &[("failed", &n(*failed)), ("attempts", &n(*attempts)), ("slowest", &c.ms(slowest_ms.max(1.0)))],
        ),
        Reason::HungUntilDeadline { timed_out, attempts, deadline_ms } => c.fmt(
            "reason.hung",
            &[
                ("timed_out", &n(*timed_out)),
                ("attempts", &n(*attempts)),
                ("deadline", &c.seconds(deadline_ms / 1000.0)),
            ],
        ),
        Reason::NotAnImage { fetches_ok, images_failed } => {
            c.fmt("reason.not_an_image", &[("fetches_ok", &n(*fetches_ok)), ("images_failed", &n(*images_failed))])
        }
        Reason::ContentHostFailed { fetches_ok, images_failed } => c.fmt(
            "reason.content_host_failed",
            &[("fetches_ok", &n(*fetches_ok)), ("images_failed", &n(*images_failed))],
        ),
        Reason::ImagesHung { fetches_ok, images_timed_out, deadline_ms } => c.fmt(
            "reason.images_hung",
            &[
                ("fetches_ok", &n(*fetches_ok)),
                ("images_timed_out", &n(*images_timed_out)),
                ("deadline", &c.seconds(deadline_ms / 1000.0)),
            ],
        ),
        Reason::SlowerThanControls { kbps, control_kbps, completed } => c.fmt(
            if *completed { "reason.slower" } else { "reason.slower_unfinished" },
            &[("rate", &c.rate(*kbps)), ("control_rate", &c.rate(*control_kbps))],
        ),
        Reason::ImagesCrawled { image_ms, fetch_ms, control_image_ms, timed_out, images } => c.fmt(
            "reason.images_crawled",
            &[
                ("image", &c.ms(*image_ms)),
                ("images", &n(*images)),
                ("timed_out", &n(*timed_out)),
                ("fetch", &c.ms(*fetch_ms)),
                ("control", &c.ms(*control_image_ms)),
            ],
        ),
        Reason::RefusedByPagePolicy { refused, attempts } => {
            c.fmt("reason.page_policy", &[("refused", &n(*refused)), ("attempts", &n(*attempts))])
        }
        Reason::ControlsFailed => c.text("reason.controls_failed"),
    }
}

fn durations(attempts: &[Attempt], kind: ProbeKind, cold: bool) -> Vec<f64> {
    attempts.iter().filter(|a| a.probe == kind && a.cold == cold && a.ok()).map(|a| a.duration_ms).collect()
}

/// `first: image 12 ms, fetch 10 ms · then: image 3–4 ms, fetch 2–3 ms · large image 45 ms`
pub fn timings(c: &Catalogue, attempts: &[Attempt]) -> String {
    let span = |v: Vec<f64>| -> Option<String> {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        match v.len() {
            0 => None,
            _ if hi - lo < 1.0 => Some(c.ms(hi)),
            _ => Some(c.fmt("timings.range", &[("low", &c.num(lo.ceil())), ("high", &c.ms(hi))])),
        }
    };
    let group = |cold: bool| -> Option<String> {
        let parts: Vec<String> = [(ProbeKind::Image, "timings.image"), (ProbeKind::Fetch, "timings.fetch")]
            .into_iter()
            .filter_map(|(kind, key)| span(durations(attempts, kind, cold)).map(|s| c.fmt(key, &[("time", &s)])))
            .collect();
        (!parts.is_empty())
            .then(|| c.fmt(if cold { "timings.first" } else { "timings.then" }, &[("parts", &parts.join(", "))]))
    };
    let count = |f: &dyn Fn(&Attempt) -> bool| attempts.iter().filter(|a| f(a)).count();
    let failed = count(&|a| a.is_reachability() && a.outcome == Outcome::Error);
    let hung = count(&|a| a.is_reachability() && a.outcome == Outcome::Timeout);
    let refused = count(&|a| a.outcome == Outcome::PolicyBlocked);
    let mut out: Vec<String> = [group(true), group(false)].into_iter().flatten().collect();
    for (n, key) in [(failed, "timings.failed"), (hung, "timings.no_answer"), (refused, "timings.refused")] {
        if n > 0 {
            out.push(c.fmt(key, &[("count", &c.num(n as f64))]));
        }
    }
    for a in attempts.iter().filter(|a| a.probe == ProbeKind::Throughput) {
        out.push(match a.outcome {
            Outcome::Ok => c.fmt("timings.large", &[("time", &c.ms(a.duration_ms))]),
            Outcome::Timeout => c.fmt("timings.large_unfinished", &[("time", &c.ms(a.duration_ms))]),
            _ => c.text("timings.large_failed"),
        });
    }
    out.join(" \u{b7} ")
}

/// A target's typical time for the bar chart: the median of its successful image and fetch
/// attempts, or, when none succeeded, the median time to failure. `(ms, succeeded)`.
pub fn typical_ms(attempts: &[Attempt]) -> Option<(f64, bool)> {
    let reach = || attempts.iter().filter(|a| a.is_reachability());
    median(reach().filter(|a| a.ok()).map(|a| a.duration_ms).collect())
        .map(|ms| (ms, true))
        .or_else(|| median(reach().map(|a| a.duration_ms).collect()).map(|ms| (ms, false)))
}

/// The controls' typical time: the median over every control's successful attempts, but for
/// images after the first: a control's image keeps its URL for the run, so later loads come
/// from the browser's memory cache in a few milliseconds and would shrink the yardstick.
pub fn controls_typical_ms(measurements: &[Measurement]) -> Option<f64> {
    median(
        measurements
            .iter()
            .filter(|m| m.control)
            .flat_map(|m| m.attempts.iter())
            .filter(|a| a.is_reachability() && a.ok() && (a.cold || a.probe != ProbeKind::Image))
            .map(|a| a.duration_ms)
            .collect(),
    )
}

/// Counts behind the summary line, platforms only (controls are the yardstick).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub platforms: usize,
    /// Blocked, not answering or replaced.
    pub unreachable: usize,
    pub throttled: usize,
    pub local: usize,
    pub controls_failed: bool,
}

pub fn tally(measurements: &[Measurement]) -> Tally {
    let platforms: Vec<&Measurement> = measurements.iter().filter(|m| !m.control).collect();
    let count = |vs: &[Verdict]| platforms.iter().filter(|m| vs.contains(&m.verdict)).count();
    Tally {
        platforms: platforms.len(),
        unreachable: count(&[Verdict::Blocked, Verdict::Timeout, Verdict::Tampered]),
        throttled: count(&[Verdict::Throttled]),
        local: count(&[Verdict::LocalBlock]),
        controls_failed: measurements.iter().any(|m| m.verdict == Verdict::Inconclusive),
    }
}

/// The summary line: how many platforms are out of reach, and whether the connection itself
/// works.
pub fn summary(c: &Catalogue, t: Tally) -> String {
    if t.controls_failed {
        return c.text("summary.controls_failed");
    }
    let (total, n) = (t.platforms as f64, |v: usize| c.num(v as f64));
    let mut out = vec![if t.unreachable > 0 {
        c.plural("summary.unreachable", total, &[("count", &n(t.unreachable)), ("total", &n(t.platforms))])
    } else if t.throttled == 0 && t.local == 0 {
        c.plural("summary.all_reachable", total, &[("total", &n(t.platforms))])
    } else {
        c.text("summary.none_unreachable")
    }];
    if t.throttled > 0 {
        out.push(c.fmt("summary.throttled", &[("count", &n(t.throttled))]));
    }
    if t.local > 0 {
        out.push(c.fmt("summary.local", &[("count", &n(t.local))]));
    }
    out.join(" ")
}

/// A summary to share: when, the summary line and one line per platform; no report id, no
/// browser, nothing that identifies the visitor or the run.
pub fn share_text(c: &Catalogue, start_time: &str, measurements: &[Measurement], names: &[(String, String)]) -> String {
    let name = |id: &str| names.iter().find(|(i, _)| i == id).map_or(id.to_string(), |(_, n)| n.clone());
    let mut lines = vec![c.fmt("share.title", &[("time", &c.datetime(start_time))]), summary(c, tally(measurements))];
    lines.push(String::new());
    for m in measurements {
        let platform =
            if m.control { format!("{} ({})", name(&m.target_id), c.text("row.control")) } else { name(&m.target_id) };
        lines.push(c.fmt(
            "share.line",
            &[("platform", &platform), ("verdict", &verdict(c, m.verdict)), ("reason", &reason(c, &m.reason))],
        ));
    }
    lines.push(String::new());
    lines.push(c.text("share.footer"));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use vantage_report::{ControlStatus, RunContext};

    use super::*;

    #[test]
    fn the_controls_yardstick_leaves_out_images_the_memory_cache_answered() {
        let at = |probe, ms, trial: u8| Attempt { trial, cold: trial == 0, ..Attempt::new(probe, Outcome::Ok, ms) };
        let attempts = vec![
            at(ProbeKind::Image, 40.0, 0),
            at(ProbeKind::Fetch, 30.0, 0),
            at(ProbeKind::Image, 0.5, 1),
            at(ProbeKind::Fetch, 20.0, 1),
            at(ProbeKind::Image, 0.4, 2),
            at(ProbeKind::Fetch, 22.0, 2),
        ];
        let ctx =
            RunContext { controls: ControlStatus::Ok, control_kbps: None, control_image_ms: None, deadline_ms: 5e3 };
        let control = Measurement::decided("c", "https://c.example/i.png", true, attempts, &ctx);
        // 40, 30, 20, 22 → 26; with the cached images (0.4, 0.5) it would be 21.
        assert_eq!(controls_typical_ms(&[control]), Some(26.0));
    }
}
