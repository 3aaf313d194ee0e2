//! English, the reference catalogue.

use vantage_report::{Attempt, Outcome, ProbeKind, Reason, Verdict};

use super::{durations, Catalogue};

fn ms(v: f64) -> String {
    format!("{} ms", v.ceil() as u64)
}

fn rate(kbps: f64) -> String {
    if kbps >= 1000.0 {
        format!("{:.1} Mbit/s", kbps / 1000.0)
    } else {
        format!("{kbps:.0} kbit/s")
    }
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Reachable => "Reachable",
        Verdict::Blocked => "Blocked",
        Verdict::Timeout => "Timing out",
        Verdict::Throttled => "Throttled",
        Verdict::Tampered => "Tampered",
        Verdict::LocalBlock => "Blocked in your browser",
        Verdict::Inconclusive => "Inconclusive",
    }
}

fn reason(r: &Reason) -> String {
    match r {
        Reason::AllSucceeded { attempts, slowest_ms } => {
            format!("{attempts} of {attempts} attempts loaded; the slowest took {}", ms(*slowest_ms))
        }
        Reason::MostlySucceeded { succeeded, attempts } => {
            format!("{succeeded} of {attempts} attempts loaded; the others failed")
        }
        Reason::FailedFast { failed, attempts, slowest_ms } => format!(
            "{failed} of {attempts} attempts failed in under {} while the controls loaded",
            ms(slowest_ms.max(1.0))
        ),
        Reason::HungUntilDeadline { timed_out, attempts, deadline_ms } => format!(
            "{timed_out} of {attempts} attempts got no answer within {:.0} s while the controls loaded",
            deadline_ms / 1000.0
        ),
        Reason::NotAnImage { fetches_ok, images_failed } => format!(
            "the server answered {fetches_ok} time(s), but what came back is not the platform's image ({images_failed} image load(s) failed)"
        ),
        Reason::SlowerThanControls { kbps, control_kbps, completed: true } => format!(
            "the large image arrived at about {} while the controls reached {}: at least ten times slower",
            rate(*kbps),
            rate(*control_kbps)
        ),
        Reason::SlowerThanControls { kbps, control_kbps, completed: false } => format!(
            "the large image was still arriving when time ran out, at {} at most, while the controls reached {}: at least ten times slower",
            rate(*kbps),
            rate(*control_kbps)
        ),
        Reason::RefusedByPagePolicy { refused, attempts } => format!(
            "{refused} of {attempts} requests were refused by this page's own security policy, inside your browser, not by the network"
        ),
        Reason::ControlsFailed => {
            "the control sites failed too, so your connection itself may be down; this is not counted as a block".into()
        }
    }
}

/// `first: image 12 ms, fetch 10 ms · then: image 3–4 ms, fetch 2–3 ms · large image 45 ms`
fn timings(attempts: &[Attempt]) -> String {
    let span = |v: Vec<f64>| -> Option<String> {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        match v.len() {
            0 => None,
            _ if hi - lo < 1.0 => Some(ms(hi)),
            _ => Some(format!("{}\u{2013}{}", lo.ceil() as u64, ms(hi))),
        }
    };
    let group = |cold: bool| -> Option<String> {
        let parts: Vec<String> = [(ProbeKind::Image, "image"), (ProbeKind::Fetch, "fetch")]
            .into_iter()
            .filter_map(|(kind, name)| span(durations(attempts, kind, cold)).map(|s| format!("{name} {s}")))
            .collect();
        (!parts.is_empty()).then(|| format!("{}: {}", if cold { "first" } else { "then" }, parts.join(", ")))
    };
    let failed = attempts.iter().filter(|a| a.is_reachability() && a.outcome == Outcome::Error).count();
    let hung = attempts.iter().filter(|a| a.is_reachability() && a.outcome == Outcome::Timeout).count();
    let refused = attempts.iter().filter(|a| a.outcome == Outcome::PolicyBlocked).count();
    let mut out: Vec<String> = [group(true), group(false)].into_iter().flatten().collect();
    if failed > 0 {
        out.push(format!("{failed} failed"));
    }
    if hung > 0 {
        out.push(format!("{hung} without answer"));
    }
    if refused > 0 {
        out.push(format!("{refused} refused by the page"));
    }
    for a in attempts.iter().filter(|a| a.probe == ProbeKind::Throughput) {
        out.push(match a.outcome {
            Outcome::Ok => format!("large image {}", ms(a.duration_ms)),
            Outcome::Timeout => format!("large image unfinished after {}", ms(a.duration_ms)),
            _ => "large image failed".to_string(),
        });
    }
    out.join(" \u{b7} ")
}

pub static EN: Catalogue = Catalogue {
    lang: "en",
    dir: "ltr",
    title: "Is social media reachable from your connection?",
    intro: "This test loads small public images (the icons that platforms show in browser tabs) from X, \
            Facebook, Instagram, YouTube and others, straight from your browser, and times them. It tells \
            you whether each platform is reachable, blocked, timing out, throttled or tampered with on the \
            connection you are using right now, compared with control sites that are rarely blocked.",
    who_sees: "The results are shown only to you. Nothing is sent to us unless you choose \u{201c}Submit \
               anonymised results\u{201d} afterwards; then we keep your country, your network and the \
               timings, never your IP address.",
    risk: "Like any page that shows these platforms\u{2019} icons, the test makes your browser contact them: \
           the platforms, your network operator and anyone watching the connection can see that.",
    consent: "I understand, and I want to run the test from my connection.",
    run: "Run test",
    running: "Testing\u{2026}",
    loading_targets: "Loading the list of platforms\u{2026}",
    targets_failed: |e| format!("The list of platforms could not be loaded, so no test can run: {e}"),
    progress: |done, total, attempts_done, attempts_planned| {
        format!("Measured {done} of {total} ({attempts_done} of {attempts_planned} attempts)\u{2026}")
    },
    finished: |total| format!("Finished: {total} measured."),
    col_platform: "Platform",
    col_result: "Result",
    col_why: "Why",
    col_timings: "Timings",
    control: "control",
    waiting: "Waiting",
    measuring: |done, planned| format!("Measuring\u{2026} {done}/{planned}"),
    measured: "Measured",
    verdict,
    reason,
    timings,
    submit: "Submit anonymised results",
    submit_explain: "Helps others see disruptions in your country and network. Sends the results above, \
                     your browser family and version; never your IP address.",
    submitting: "Sending\u{2026}",
    submitted: |id| format!("Thank you. Your results were stored as report {id}."),
    submit_failed: |e| format!("Your results could not be sent: {e}. Nothing was stored; you can try again."),
    run_failed: |e| format!("The test could not run in this browser: {e}"),
};
