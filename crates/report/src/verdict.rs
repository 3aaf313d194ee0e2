//! The rules that turn recorded evidence into a verdict, shared by client, collector and tests.
//!
//! A verdict is never a bare label: [`Decision`] carries the [`Reason`] that decided it, so the
//! page can explain itself ("2 of 2 attempts failed in under 40 ms while controls loaded") and
//! the collector can check that a submitted verdict follows from its evidence.

use serde::{Deserialize, Serialize};

use crate::evidence::{Attempt, Outcome, ProbeKind};

/// What a run concluded about one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Probes succeeded.
    Reachable,
    /// Attempts failed fast (DNS failure, reset, refused, TLS failure) while controls succeeded.
    Blocked,
    /// Attempts hung until the deadline (black-holing) while controls succeeded.
    Timeout,
    /// Reachable, but an order of magnitude slower than the controls.
    Throttled,
    /// The transport worked but the content is not what the platform serves.
    Tampered,
    /// Failure caused inside the browser (extension, tracking protection, CSP).
    LocalBlock,
    /// The controls failed too: nothing can be concluded about censorship.
    Inconclusive,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::Reachable,
        Verdict::Blocked,
        Verdict::Timeout,
        Verdict::Throttled,
        Verdict::Tampered,
        Verdict::LocalBlock,
        Verdict::Inconclusive,
    ];

    /// The wire and DOM name (`data-verdict`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reachable => "reachable",
            Verdict::Blocked => "blocked",
            Verdict::Timeout => "timeout",
            Verdict::Throttled => "throttled",
            Verdict::Tampered => "tampered",
            Verdict::LocalBlock => "local_block",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Whether the run's controls loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlStatus {
    /// At least one control loaded its image.
    Ok,
    /// No control loaded: the visitor's network, not a censor, may be at fault.
    Failed,
}

impl ControlStatus {
    /// Derives the status from the attempts of every control target in the run.
    pub fn from_controls<'a>(controls: impl IntoIterator<Item = &'a [Attempt]>) -> Self {
        let any_ok = controls
            .into_iter()
            .any(|attempts| attempts.iter().any(|a| a.probe == ProbeKind::Image && a.ok()));
        if any_ok {
            ControlStatus::Ok
        } else {
            ControlStatus::Failed
        }
    }
}

/// The evidence that decided a verdict, in a form the page can put into words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reason {
    /// Every attempt succeeded.
    AllSucceeded { attempts: u32, slowest_ms: f64 },
    /// Most attempts succeeded; some failed.
    MostlySucceeded { succeeded: u32, attempts: u32 },
    /// Every (or most) attempt failed before the deadline.
    FailedFast { failed: u32, attempts: u32, slowest_ms: f64 },
    /// Attempts hung until the deadline.
    HungUntilDeadline { timed_out: u32, attempts: u32, deadline_ms: f64 },
    /// The fetch reached the server but the image never decoded: not the platform's content.
    NotAnImage { fetches_ok: u32, images_failed: u32 },
    /// No control loaded.
    ControlsFailed,
}

/// A verdict and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: Reason,
}

fn count(attempts: &[Attempt], f: impl Fn(&Attempt) -> bool) -> u32 {
    attempts.iter().filter(|a| f(a)).count() as u32
}

fn slowest(attempts: &[Attempt], f: impl Fn(&Attempt) -> bool) -> f64 {
    attempts.iter().filter(|a| f(a)).map(|a| a.duration_ms).fold(0.0, f64::max)
}

/// Decides the verdict for one target from its attempts and the run's control status.
///
/// `deadline_ms` is the client's per-attempt deadline, reported so the reason can name it.
pub fn decide(attempts: &[Attempt], controls: ControlStatus, deadline_ms: f64) -> Decision {
    if controls == ControlStatus::Failed {
        return Decision { verdict: Verdict::Inconclusive, reason: Reason::ControlsFailed };
    }
    let total = attempts.len() as u32;
    let ok = count(attempts, Attempt::ok);
    let timed_out = count(attempts, |a| a.outcome == Outcome::Timeout);
    let errors = count(attempts, |a| a.outcome == Outcome::Error);

    if total > 0 && ok == total {
        return Decision {
            verdict: Verdict::Reachable,
            reason: Reason::AllSucceeded { attempts: total, slowest_ms: slowest(attempts, |_| true) },
        };
    }

    // The transport works (a fetch got headers) but no image ever decoded, and no image merely
    // ran out of time: something other than the platform's favicon came back.
    let fetches_ok = count(attempts, |a| a.probe == ProbeKind::Fetch && a.ok());
    let images = count(attempts, |a| a.probe == ProbeKind::Image);
    let images_failed = count(attempts, |a| a.probe == ProbeKind::Image && a.outcome == Outcome::Error);
    if fetches_ok > 0 && images > 0 && images_failed == images {
        return Decision { verdict: Verdict::Tampered, reason: Reason::NotAnImage { fetches_ok, images_failed } };
    }

    if ok * 2 >= total && ok > 0 {
        return Decision { verdict: Verdict::Reachable, reason: Reason::MostlySucceeded { succeeded: ok, attempts: total } };
    }

    if timed_out > errors {
        Decision {
            verdict: Verdict::Timeout,
            reason: Reason::HungUntilDeadline { timed_out, attempts: total, deadline_ms },
        }
    } else {
        Decision {
            verdict: Verdict::Blocked,
            reason: Reason::FailedFast {
                failed: errors,
                attempts: total,
                slowest_ms: slowest(attempts, |a| a.outcome == Outcome::Error),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(probe: ProbeKind, outcome: Outcome, duration_ms: f64) -> Attempt {
        Attempt { probe, outcome, duration_ms }
    }
    use Outcome::*;
    use ProbeKind::*;

    const DEADLINE: f64 = 5000.0;

    #[test]
    fn all_ok_is_reachable() {
        let d = decide(&[a(Image, Ok, 12.0), a(Fetch, Ok, 30.0)], ControlStatus::Ok, DEADLINE);
        assert_eq!(d.verdict, Verdict::Reachable);
        assert_eq!(d.reason, Reason::AllSucceeded { attempts: 2, slowest_ms: 30.0 });
    }

    #[test]
    fn fast_failures_are_blocked() {
        let d = decide(&[a(Image, Error, 41.0), a(Fetch, Error, 38.0)], ControlStatus::Ok, DEADLINE);
        assert_eq!(d.verdict, Verdict::Blocked);
        assert_eq!(d.reason, Reason::FailedFast { failed: 2, attempts: 2, slowest_ms: 41.0 });
    }

    #[test]
    fn hanging_until_the_deadline_is_timeout() {
        let d = decide(&[a(Image, Timeout, DEADLINE), a(Fetch, Timeout, DEADLINE)], ControlStatus::Ok, DEADLINE);
        assert_eq!(d.verdict, Verdict::Timeout);
    }

    #[test]
    fn fetch_ok_but_image_broken_is_tampered() {
        let d = decide(&[a(Image, Error, 20.0), a(Fetch, Ok, 15.0)], ControlStatus::Ok, DEADLINE);
        assert_eq!(d.verdict, Verdict::Tampered);
        // An image that only ran out of time is not evidence of different content.
        let d = decide(&[a(Image, Timeout, DEADLINE), a(Fetch, Ok, 15.0)], ControlStatus::Ok, DEADLINE);
        assert_eq!(d.verdict, Verdict::Reachable);
    }

    #[test]
    fn failed_controls_make_everything_inconclusive() {
        let d = decide(&[a(Image, Error, 40.0), a(Fetch, Error, 40.0)], ControlStatus::Failed, DEADLINE);
        assert_eq!(d.verdict, Verdict::Inconclusive);
        let d = decide(&[a(Image, Ok, 10.0)], ControlStatus::Failed, DEADLINE);
        assert_eq!(d.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn a_minority_of_failures_is_still_reachable_but_a_majority_is_not() {
        let mostly_ok = [a(Image, Ok, 10.0), a(Image, Ok, 10.0), a(Fetch, Error, 40.0), a(Fetch, Ok, 9.0)];
        assert_eq!(decide(&mostly_ok, ControlStatus::Ok, DEADLINE).verdict, Verdict::Reachable);
        let mostly_failed = [a(Image, Ok, 10.0), a(Image, Error, 40.0), a(Fetch, Error, 40.0), a(Fetch, Error, 9.0)];
        assert_eq!(decide(&mostly_failed, ControlStatus::Ok, DEADLINE).verdict, Verdict::Blocked);
    }

    #[test]
    fn no_attempts_is_not_reachable() {
        assert_ne!(decide(&[], ControlStatus::Ok, DEADLINE).verdict, Verdict::Reachable);
    }

    #[test]
    fn control_status_needs_an_image_that_loaded() {
        let ok = [a(Image, Ok, 5.0)];
        let failed = [a(Image, Error, 5.0), a(Fetch, Ok, 5.0)];
        assert_eq!(ControlStatus::from_controls([&failed[..], &ok[..]]), ControlStatus::Ok);
        assert_eq!(ControlStatus::from_controls([&failed[..]]), ControlStatus::Failed);
        assert_eq!(ControlStatus::from_controls(std::iter::empty::<&[Attempt]>()), ControlStatus::Failed);
    }

    #[test]
    fn wire_names_match_serde() {
        for v in Verdict::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(v.as_str()));
        }
    }
}
