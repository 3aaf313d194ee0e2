//! The rules that turn recorded evidence into a verdict, shared by client, collector and tests.
//!
//! A verdict is never a bare label: [`Decision`] carries the [`Reason`] that decided it, so the
//! page can explain itself ("6 of 6 attempts failed in under 40 ms while the controls loaded")
//! and the collector can check that a submitted verdict follows from its evidence.
//!
//! The rules, in the order they apply:
//! 1. no control loaded → `inconclusive` (the visitor's network, not a censor, may be at fault);
//! 2. the page's own policy refused a request (positive evidence only) → `local_block`;
//! 3. a fetch got an answer but no image ever decoded → `tampered` when an image on the fetch's
//!    own host failed, `blocked` when every image was on another host (a blocked content host);
//!    images that hung instead → `timeout`;
//! 4. at least half the image/fetch attempts succeeded → `reachable`, or `throttled` when the
//!    large asset moved an order of magnitude slower than the controls' (and slowly enough to
//!    measure), or when the platform's images crawled: at the (lower) median they took an order
//!    of magnitude longer than the controls' images, and at least a second longer than the
//!    platform's own fetches took to answer (see [`crawl`]), unless its large asset came in
//!    whole at a speed near the controls' (the host moves data: slow small loads are latency);
//! 5. otherwise → `timeout` if most failures hung until the deadline, else `blocked`.

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

    /// The verdict its wire name names ([`Verdict::as_str`]), if any.
    pub fn parse(name: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

/// Throttling means at least this many times slower than the controls (OONI's factor).
pub const THROTTLE_FACTOR: f64 = 10.0;
/// ... and a transfer slow enough to be measured rather than noise: a 100 KB asset taking at
/// least this long moves at most about 4 Mbit/s.
pub const MIN_THROTTLED_TRANSFER_MS: f64 = 200.0;
/// Transfers shorter than this are treated as this long: timer resolution and scheduling noise.
const MIN_TRANSFER_MS: f64 = 1.0;
/// Images crawl only when they take at least this much longer than the platform's own fetches
/// took to answer: a CDN host farther away than the site, or a busy one, costs a few hundred
/// milliseconds, never a second at the median.
pub const MIN_CRAWL_MS: f64 = 1000.0;

/// Whether the run's controls loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlStatus {
    /// At least one independent control loaded its image.
    Ok,
    /// No independent control loaded (or the run had none): the visitor's network, not a
    /// censor, may be at fault.
    Failed,
}

/// Whether a control at `url` (its first image) can vouch for the visitor's connection: an
/// absolute URL of a site of its own. A path on the page's own origin (`/static/control.png`)
/// proves only that the page itself loaded: in a shutdown that keeps domestic servers up while
/// the rest of the world is cut off (Iran, November 2019) it loads when nothing else does, and
/// counting it would turn lost international connectivity into "blocked" for every platform.
pub fn is_independent_control(url: &str) -> bool {
    !url.starts_with('/')
}

impl ControlStatus {
    /// Derives the status from the attempts of every control target in the run.
    pub fn from_controls<'a>(controls: impl IntoIterator<Item = &'a [Attempt]>) -> Self {
        let any_ok =
            controls.into_iter().any(|attempts| attempts.iter().any(|a| a.probe == ProbeKind::Image && a.ok()));
        if any_ok {
            ControlStatus::Ok
        } else {
            ControlStatus::Failed
        }
    }
}

/// A throughput estimate from a target's large-asset attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub kbps: f64,
    /// The time the body took, without the latency the small image showed.
    pub transfer_ms: f64,
    /// False when the asset did not finish before the deadline: then `kbps` is an upper bound.
    pub completed: bool,
}

/// Estimates throughput: the asset's size over its load time minus the target's latency (the
/// fastest successful image load), so a slow-to-answer but fast-to-deliver server is not
/// mistaken for a throttled one. A load cut off by the deadline gives an upper bound.
pub fn throughput(attempts: &[Attempt], deadline_ms: f64) -> Option<Throughput> {
    let latency = attempts
        .iter()
        .filter(|a| a.probe == ProbeKind::Image && a.ok())
        .map(|a| a.duration_ms)
        .fold(f64::INFINITY, f64::min);
    if !latency.is_finite() {
        return None;
    }
    attempts
        .iter()
        .filter(|a| a.probe == ProbeKind::Throughput && matches!(a.outcome, Outcome::Ok | Outcome::Timeout))
        .filter_map(|a| {
            let bytes = a.bytes? as f64;
            let completed = a.ok();
            let elapsed = if completed { a.duration_ms } else { deadline_ms.max(a.duration_ms) };
            let transfer_ms = (elapsed - latency).max(MIN_TRANSFER_MS);
            Some(Throughput { kbps: bytes * 8.0 / transfer_ms, transfer_ms, completed })
        })
        // The best attempt is the fairest estimate of what the path allows.
        .max_by(|a, b| a.kbps.total_cmp(&b.kbps))
}

/// `values` in order. Insertion sort: a few attempts per target, and the standard sorts would
/// compile kilobytes of code into the page.
fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    for i in 1..values.len() {
        let mut j = i;
        while j > 0 && values[j - 1].total_cmp(&values[j]).is_gt() {
            values.swap(j - 1, j);
            j -= 1;
        }
    }
    values
}

/// The lower median of `values` (the smaller of the middle two for an even count): of two
/// loads, the faster decides, so one stall alone never makes a median slow.
fn lower_median(values: Vec<f64>) -> Option<f64> {
    let values = sorted(values);
    values.get(values.len().checked_sub(1)? / 2).copied()
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: Vec<f64>) -> Option<f64> {
    let values = sorted(values);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// Adds the durations of the attempts `keep` accepts to `into` (not generic: one copy in the
/// page's wasm for every use).
fn durations(attempts: &[Attempt], keep: fn(&Attempt) -> bool, into: &mut Vec<f64>) {
    for a in attempts {
        if keep(a) {
            into.push(a.duration_ms);
        }
    }
}

/// What the verdict of one target depends on besides its own attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunContext {
    pub controls: ControlStatus,
    /// The best throughput any control reached, if any control had a large asset.
    pub control_kbps: Option<f64>,
    /// The median time the controls' images took on their first (cold) load, if any loaded.
    /// Only first loads count: a client may load a control's image once per run and find it
    /// in its memory cache later in the run, which times nothing.
    pub control_image_ms: Option<f64>,
    /// The client's per-attempt deadline.
    pub deadline_ms: f64,
}

impl RunContext {
    /// The context of a run, from the attempts of its control targets.
    pub fn from_controls<'a>(controls: impl IntoIterator<Item = &'a [Attempt]> + Clone, deadline_ms: f64) -> Self {
        let control_kbps = controls
            .clone()
            .into_iter()
            .filter_map(|a| throughput(a, deadline_ms).filter(|t| t.completed))
            .map(|t| t.kbps)
            .max_by(f64::total_cmp);
        let mut firsts = Vec::new();
        for attempts in controls.clone() {
            durations(attempts, |a| a.probe == ProbeKind::Image && a.cold && a.ok(), &mut firsts);
        }
        let control_image_ms = median(firsts);
        RunContext { controls: ControlStatus::from_controls(controls), control_kbps, control_image_ms, deadline_ms }
    }
}

/// How a platform's images crawled, when they did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crawl {
    /// The median image load (an image that got no answer counts at the deadline).
    pub image_ms: f64,
    /// The median time the platform's fetches took to answer: its latency.
    pub fetch_ms: f64,
    /// What the controls' images took ([`RunContext::control_image_ms`]).
    pub control_image_ms: f64,
    /// The image loads that got no answer before the deadline, and all of them.
    pub timed_out: u32,
    pub images: u32,
}

/// The platform's images crawl: at the lower median (of two loads, the faster) they took at least [`MIN_CRAWL_MS`] longer
/// than its fetches took to answer (so a server slow to answer everything, the latency of a
/// far path, is not counted), and that extra time is at least [`THROTTLE_FACTOR`] times what
/// the controls' images took (so a slow connection, where every image crawls, is not
/// counted). Resource Timing gives image durations cross-origin without `Timing-Allow-Origin`,
/// so this needs no size: it finds a throttled or half-cut content host where no large asset
/// of known size exists, or where small images stall while the large one is not tried.
/// `None` when the images did not crawl, or there is nothing to compare with.
pub fn crawl(attempts: &[Attempt], ctx: &RunContext) -> Option<Crawl> {
    let control_image_ms = ctx.control_image_ms?;
    // A timeout's duration is the deadline: the client records it so.
    let (mut images, mut fetches) = (Vec::new(), Vec::new());
    durations(attempts, |a| a.probe == ProbeKind::Image && a.ok(), &mut images);
    let loaded = images.len();
    durations(attempts, |a| a.probe == ProbeKind::Image && a.outcome == Outcome::Timeout, &mut images);
    durations(attempts, |a| a.probe == ProbeKind::Fetch && a.ok(), &mut fetches);
    let timed_out = (images.len() - loaded) as u32;
    let count_images = images.len() as u32;
    // The lower median: when a run ends after one stalled load (as it does), two images are
    // one fast and one at the deadline, and their mean would read as a crawl.
    let image_ms = lower_median(images)?;
    let fetch_ms = median(fetches)?;
    let extra = image_ms - fetch_ms;
    (extra >= MIN_CRAWL_MS && extra >= THROTTLE_FACTOR * control_image_ms).then_some(Crawl {
        image_ms,
        fetch_ms,
        control_image_ms,
        timed_out,
        images: count_images,
    })
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
    /// The platform's main host answered but every image, each on another host (its content
    /// host, as platforms serve them), failed before the deadline: that host is blocked. Nothing
    /// shows what came back from it, so this is not evidence of tampering.
    ContentHostFailed { fetches_ok: u32, images_failed: u32 },
    /// The platform's main host answered but its images (on its content host, as platforms
    /// serve them) hung until the deadline: the content host is cut off, the platform is not
    /// reachable in any useful way.
    ImagesHung { fetches_ok: u32, images_timed_out: u32, deadline_ms: f64 },
    /// The large asset moved far slower than the controls' did.
    SlowerThanControls { kbps: f64, control_kbps: f64, completed: bool },
    /// The platform's fetches answered, but its images crawled (or some stalled to the
    /// deadline): at the median far slower than the controls' images, and far slower than
    /// its own fetches took to answer (see [`crawl`]).
    ImagesCrawled { image_ms: f64, fetch_ms: f64, control_image_ms: f64, timed_out: u32, images: u32 },
    /// The page's own security policy refused the requests.
    RefusedByPagePolicy { refused: u32, attempts: u32 },
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

fn count<'a>(attempts: impl IntoIterator<Item = &'a Attempt>, f: impl Fn(&Attempt) -> bool) -> u32 {
    attempts.into_iter().filter(|a| f(a)).count() as u32
}

fn slowest<'a>(attempts: impl IntoIterator<Item = &'a Attempt>) -> f64 {
    attempts.into_iter().map(|a| a.duration_ms).fold(0.0, f64::max)
}

/// Decides the verdict for one target from its attempts and the run's context.
pub fn decide(attempts: &[Attempt], ctx: &RunContext) -> Decision {
    let decision = |verdict, reason| Decision { verdict, reason };
    if ctx.controls == ControlStatus::Failed {
        return decision(Verdict::Inconclusive, Reason::ControlsFailed);
    }
    let reach: Vec<&Attempt> = attempts.iter().filter(|a| a.is_reachability()).collect();
    let total = reach.len() as u32;

    let refused = count(attempts, |a| a.outcome == Outcome::PolicyBlocked);
    if refused > 0 {
        return decision(Verdict::LocalBlock, Reason::RefusedByPagePolicy { refused, attempts: attempts.len() as u32 });
    }

    // The transport works (a fetch got headers) but no image ever decoded, and no image merely
    // ran out of time: something other than the platform's favicon came back.
    let fetches_ok = count(reach.iter().copied(), |a| a.probe == ProbeKind::Fetch && a.ok());
    let images = count(reach.iter().copied(), |a| a.probe == ProbeKind::Image);
    let images_failed = count(reach.iter().copied(), |a| a.probe == ProbeKind::Image && a.outcome == Outcome::Error);
    if fetches_ok > 0 && images > 0 && images_failed == images {
        // Only an image on the host that answered the fetch shows that host sending something
        // other than an image. Images on another host (a platform's CDN) failing while its main
        // host answers is that host blocked, and calling it tampering would accuse a network of
        // what no probe saw.
        let same_host_failed = count(reach.iter().copied(), |a| {
            a.probe == ProbeKind::Image && a.outcome == Outcome::Error && !a.cross_host
        });
        return if same_host_failed > 0 {
            decision(Verdict::Tampered, Reason::NotAnImage { fetches_ok, images_failed })
        } else {
            decision(Verdict::Blocked, Reason::ContentHostFailed { fetches_ok, images_failed })
        };
    }
    // The main host answers, yet no image loaded and they hung rather than failed: the images'
    // host is black-holed (or crawls past the deadline). Most small probes "got through", but
    // the platform is not reachable without qualification.
    let images_ok = count(reach.iter().copied(), |a| a.probe == ProbeKind::Image && a.ok());
    let images_timed_out =
        count(reach.iter().copied(), |a| a.probe == ProbeKind::Image && a.outcome == Outcome::Timeout);
    if fetches_ok > 0 && images > 0 && images_ok == 0 && images_timed_out * 2 >= images {
        return decision(
            Verdict::Timeout,
            Reason::ImagesHung { fetches_ok, images_timed_out, deadline_ms: ctx.deadline_ms },
        );
    }

    let ok = count(reach.iter().copied(), Attempt::ok);
    if ok > 0 && ok * 2 >= total {
        if let (Some(t), Some(control_kbps)) = (throughput(attempts, ctx.deadline_ms), ctx.control_kbps) {
            if t.kbps * THROTTLE_FACTOR <= control_kbps && t.transfer_ms >= MIN_THROTTLED_TRANSFER_MS {
                return decision(
                    Verdict::Throttled,
                    Reason::SlowerThanControls { kbps: t.kbps, control_kbps, completed: t.completed },
                );
            }
        }
        // Most small probes got through, but the images crawled: not "reachable". Unless the
        // platform's large asset came in whole at a speed near the controls': the host moves
        // data, and slow small loads are latency or a stall, not throttling.
        let asset_moved = matches!(
            (throughput(attempts, ctx.deadline_ms), ctx.control_kbps),
            (Some(t), Some(control_kbps)) if t.completed && t.kbps * THROTTLE_FACTOR > control_kbps
        );
        if let (Some(Crawl { image_ms, fetch_ms, control_image_ms, timed_out, images }), false) =
            (crawl(attempts, ctx), asset_moved)
        {
            return decision(
                Verdict::Throttled,
                Reason::ImagesCrawled { image_ms, fetch_ms, control_image_ms, timed_out, images },
            );
        }
        return if ok == total {
            decision(
                Verdict::Reachable,
                Reason::AllSucceeded { attempts: total, slowest_ms: slowest(reach.iter().copied()) },
            )
        } else {
            decision(Verdict::Reachable, Reason::MostlySucceeded { succeeded: ok, attempts: total })
        };
    }

    let timed_out = count(reach.iter().copied(), |a| a.outcome == Outcome::Timeout);
    let errors = count(reach.iter().copied(), |a| a.outcome == Outcome::Error);
    if timed_out > errors {
        decision(
            Verdict::Timeout,
            Reason::HungUntilDeadline { timed_out, attempts: total, deadline_ms: ctx.deadline_ms },
        )
    } else {
        let failed: Vec<&Attempt> = reach.iter().copied().filter(|a| a.outcome == Outcome::Error).collect();
        decision(Verdict::Blocked, Reason::FailedFast { failed: errors, attempts: total, slowest_ms: slowest(failed) })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_verdict_is_parsed_from_its_wire_name_and_nothing_else() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{}\"", v.as_str()));
        }
        for bad in ["", "Blocked", "blocked ", "local-block", "ok"] {
            assert_eq!(Verdict::parse(bad), None, "{bad:?}");
        }
    }

    use super::*;
    use Outcome::*;
    use ProbeKind::*;

    const DEADLINE: f64 = 5000.0;
    const CTX: RunContext = RunContext {
        controls: ControlStatus::Ok,
        control_kbps: Some(400_000.0),
        control_image_ms: Some(20.0),
        deadline_ms: DEADLINE,
    };

    fn a(probe: ProbeKind, outcome: Outcome, duration_ms: f64) -> Attempt {
        Attempt::new(probe, outcome, duration_ms)
    }

    fn big(outcome: Outcome, duration_ms: f64) -> Attempt {
        Attempt { bytes: Some(100_000), ..Attempt::new(Throughput, outcome, duration_ms) }
    }

    #[test]
    fn all_ok_is_reachable() {
        let d = decide(&[a(Image, Ok, 12.0), a(Fetch, Ok, 30.0)], &CTX);
        assert_eq!(d.verdict, Verdict::Reachable);
        assert_eq!(d.reason, Reason::AllSucceeded { attempts: 2, slowest_ms: 30.0 });
    }

    #[test]
    fn fast_failures_are_blocked() {
        let d = decide(&[a(Image, Error, 41.0), a(Fetch, Error, 38.0)], &CTX);
        assert_eq!(d.verdict, Verdict::Blocked);
        assert_eq!(d.reason, Reason::FailedFast { failed: 2, attempts: 2, slowest_ms: 41.0 });
    }

    #[test]
    fn hanging_until_the_deadline_is_timeout() {
        let d = decide(&[a(Image, Timeout, DEADLINE), a(Fetch, Timeout, DEADLINE)], &CTX);
        assert_eq!(d.verdict, Verdict::Timeout);
        assert_eq!(d.reason, Reason::HungUntilDeadline { timed_out: 2, attempts: 2, deadline_ms: DEADLINE });
        // Mixed failures go with the majority; a tie is a block (it failed fast at least once).
        let mixed = [a(Image, Timeout, DEADLINE), a(Fetch, Error, 30.0), a(Image, Timeout, DEADLINE)];
        assert_eq!(decide(&mixed, &CTX).verdict, Verdict::Timeout);
        let tie = [a(Image, Timeout, DEADLINE), a(Fetch, Error, 30.0)];
        assert_eq!(decide(&tie, &CTX).verdict, Verdict::Blocked);
    }

    /// ... but neither is it "reachable": the main host answers while the host the images come
    /// from hangs (a black-holed CDN host, or one crawling past the deadline).
    #[test]
    fn images_that_hang_while_the_site_answers_are_a_timeout_not_reachable() {
        let hung = [
            a(Image, Timeout, DEADLINE),
            a(Fetch, Ok, 15.0),
            a(Image, Timeout, DEADLINE),
            a(Fetch, Ok, 12.0),
            a(Image, Timeout, DEADLINE),
            a(Fetch, Ok, 11.0),
        ];
        let d = decide(&hung, &CTX);
        assert_eq!(d.verdict, Verdict::Timeout);
        assert_eq!(d.reason, Reason::ImagesHung { fetches_ok: 3, images_timed_out: 3, deadline_ms: DEADLINE });
        // Mostly hanging, one failing fast: still the images' host.
        let mixed = [a(Image, Timeout, DEADLINE), a(Image, Error, 30.0), a(Fetch, Ok, 15.0), a(Fetch, Ok, 15.0)];
        assert_eq!(decide(&mixed, &CTX).verdict, Verdict::Timeout);
        // Images that mostly failed fast are no hang of the image host, whatever the fetches did.
        let fast = [a(Image, Timeout, DEADLINE), a(Image, Error, 30.0), a(Image, Error, 30.0), a(Fetch, Ok, 15.0)];
        assert_eq!(decide(&fast, &CTX).verdict, Verdict::Blocked);
        let fetches_hang = [
            a(Image, Error, 30.0),
            a(Image, Error, 30.0),
            a(Image, Timeout, DEADLINE),
            a(Fetch, Ok, 15.0),
            a(Fetch, Timeout, DEADLINE),
            a(Fetch, Timeout, DEADLINE),
        ];
        assert!(
            matches!(decide(&fetches_hang, &CTX).reason, Reason::HungUntilDeadline { .. }),
            "fetch timeouts are not image timeouts: {:?}",
            decide(&fetches_hang, &CTX)
        );
        // One image arriving quickly is no hang of the content host, and one stall beside it is
        // no crawl (a stall alone, a phone's handover say, must not accuse a network).
        let one = [a(Image, Timeout, DEADLINE), a(Image, Ok, 30.0), a(Fetch, Ok, 15.0)];
        assert_eq!(decide(&one, &CTX).reason, Reason::MostlySucceeded { succeeded: 2, attempts: 3 });
        // Two of three arriving quickly: the median did not crawl.
        let two_of_three = [a(Image, Timeout, DEADLINE), a(Image, Ok, 30.0), a(Image, Ok, 31.0), a(Fetch, Ok, 15.0)];
        assert_eq!(decide(&two_of_three, &CTX).verdict, Verdict::Reachable);
        // Without controls it says nothing, as ever.
        assert_eq!(
            decide(&hung, &RunContext { controls: ControlStatus::Failed, ..CTX }).verdict,
            Verdict::Inconclusive
        );
    }

    #[test]
    fn fetch_ok_but_image_broken_is_tampered() {
        let d = decide(&[a(Image, Error, 20.0), a(Fetch, Ok, 15.0)], &CTX);
        assert_eq!(d.verdict, Verdict::Tampered);
        assert_eq!(d.reason, Reason::NotAnImage { fetches_ok: 1, images_failed: 1 });
        // An image that only ran out of time is not evidence of different content ...
        let d = decide(&[a(Image, Timeout, DEADLINE), a(Fetch, Ok, 15.0)], &CTX);
        assert_ne!(d.verdict, Verdict::Tampered);
        // One image that did decode means the platform's content arrived at least once.
        let d = decide(&[a(Image, Error, 20.0), a(Image, Ok, 20.0), a(Fetch, Ok, 15.0)], &CTX);
        assert_eq!(d.verdict, Verdict::Reachable);
    }

    fn cross(outcome: Outcome, duration_ms: f64) -> Attempt {
        Attempt { cross_host: true, ..a(Image, outcome, duration_ms) }
    }

    #[test]
    fn images_failing_on_another_host_than_the_answering_fetch_are_a_blocked_content_host_not_tampering() {
        // X's images on abs.twimg.com reset while x.com answers: nothing shows what came back.
        let cdn_blocked = [cross(Error, 20.0), a(Fetch, Ok, 15.0), cross(Error, 22.0), a(Fetch, Ok, 14.0)];
        let d = decide(&cdn_blocked, &CTX);
        assert_eq!(d.verdict, Verdict::Blocked, "{d:?}");
        assert_eq!(d.reason, Reason::ContentHostFailed { fetches_ok: 2, images_failed: 2 });
        // One failed image on the fetch's own host is that host answering with something other
        // than an image: tampering, whatever the other host did.
        let mixed = [cross(Error, 20.0), a(Fetch, Ok, 15.0), a(Image, Error, 22.0), a(Fetch, Ok, 14.0)];
        assert_eq!(decide(&mixed, &CTX).reason, Reason::NotAnImage { fetches_ok: 2, images_failed: 2 });
        // Without an answering fetch it is an ordinary block; with one image decoding, reachable.
        assert_eq!(
            decide(&[cross(Error, 20.0), a(Fetch, Error, 15.0)], &CTX).reason.clone(),
            Reason::FailedFast { failed: 2, attempts: 2, slowest_ms: 20.0 }
        );
        assert_eq!(
            decide(&[cross(Error, 20.0), cross(Ok, 20.0), a(Fetch, Ok, 15.0)], &CTX).verdict,
            Verdict::Reachable
        );
        // Cross-host images that hung are still the hung-images rule.
        let hung = [cross(Timeout, DEADLINE), a(Fetch, Ok, 15.0)];
        assert_eq!(decide(&hung, &CTX).verdict, Verdict::Timeout);
    }

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![7.0]), Some(7.0));
        assert_eq!(median(vec![9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(vec![40.0, 10.0, 30.0, 20.0]), Some(25.0));
        assert_eq!(median(vec![3.0, 3.0, 1.0, 2.0, 2.0]), Some(2.0));
    }

    #[test]
    fn failed_controls_make_everything_inconclusive() {
        let failed = RunContext { controls: ControlStatus::Failed, ..CTX };
        assert_eq!(decide(&[a(Image, Error, 40.0), a(Fetch, Error, 40.0)], &failed).verdict, Verdict::Inconclusive);
        assert_eq!(decide(&[a(Image, Ok, 10.0)], &failed).verdict, Verdict::Inconclusive);
    }

    #[test]
    fn a_minority_of_failures_is_still_reachable_but_a_majority_is_not() {
        let mostly_ok = [a(Image, Ok, 10.0), a(Image, Ok, 10.0), a(Fetch, Error, 40.0), a(Fetch, Ok, 9.0)];
        let d = decide(&mostly_ok, &CTX);
        assert_eq!((d.verdict, d.reason), (Verdict::Reachable, Reason::MostlySucceeded { succeeded: 3, attempts: 4 }));
        let mostly_failed = [a(Image, Ok, 10.0), a(Image, Error, 40.0), a(Fetch, Error, 40.0), a(Fetch, Error, 9.0)];
        assert_eq!(decide(&mostly_failed, &CTX).verdict, Verdict::Blocked);
    }

    #[test]
    fn tampering_needs_a_fetch_that_answered_and_an_image_that_was_tried() {
        // No image tried: nothing says the content differs.
        let d = decide(&[a(Fetch, Ok, 15.0)], &CTX);
        assert_eq!(d.reason, Reason::AllSucceeded { attempts: 1, slowest_ms: 15.0 });
        // No fetch answered: a plain failure, not different content.
        assert_eq!(decide(&[a(Image, Error, 20.0), a(Fetch, Error, 15.0)], &CTX).verdict, Verdict::Blocked);
        // Every image failed, however many fetches answered.
        let d = decide(&[a(Image, Error, 20.0), a(Image, Error, 21.0), a(Fetch, Ok, 15.0), a(Fetch, Ok, 16.0)], &CTX);
        assert_eq!(d.reason, Reason::NotAnImage { fetches_ok: 2, images_failed: 2 });
        // One image that timed out among failed ones breaks the pattern.
        let d = decide(&[a(Image, Error, 20.0), a(Image, Timeout, DEADLINE), a(Fetch, Ok, 15.0)], &CTX);
        assert_ne!(d.verdict, Verdict::Tampered);
    }

    #[test]
    fn half_the_attempts_is_a_majority_and_less_is_not() {
        let half = [a(Image, Ok, 10.0), a(Fetch, Ok, 9.0), a(Image, Error, 40.0), a(Fetch, Error, 40.0)];
        assert_eq!(decide(&half, &CTX).reason, Reason::MostlySucceeded { succeeded: 2, attempts: 4 });
        let one_of_two = [a(Image, Ok, 10.0), a(Image, Error, 40.0)];
        assert_eq!(decide(&one_of_two, &CTX).reason, Reason::MostlySucceeded { succeeded: 1, attempts: 2 });
        let one_of_three = [a(Image, Ok, 10.0), a(Image, Error, 40.0), a(Fetch, Error, 30.0)];
        let d = decide(&one_of_three, &CTX);
        assert_eq!(d.reason, Reason::FailedFast { failed: 2, attempts: 3, slowest_ms: 40.0 });
        // Throughput attempts count for speed only, never for reachability.
        let with_asset = [a(Image, Ok, 10.0), a(Fetch, Ok, 9.0), big(Error, 30.0), big(Error, 31.0)];
        assert_eq!(decide(&with_asset, &CTX).reason, Reason::AllSucceeded { attempts: 2, slowest_ms: 10.0 });
    }

    #[test]
    fn throttling_starts_at_exactly_ten_times_slower_and_200_ms() {
        // 100 KB in 2000 ms after a 10 ms latency: 400 kbit/s.
        let slow = [a(Image, Ok, 10.0), a(Fetch, Ok, 9.0), big(Ok, 2010.0)];
        let ctx = |control_kbps| RunContext { control_kbps: Some(control_kbps), ..CTX };
        let d = decide(&slow, &ctx(4000.0));
        assert_eq!(d.reason, Reason::SlowerThanControls { kbps: 400.0, control_kbps: 4000.0, completed: true });
        assert_eq!(decide(&slow, &ctx(3999.0)).verdict, Verdict::Reachable);
        assert_eq!(decide(&slow, &ctx(800.0)).verdict, Verdict::Reachable, "twice slower is not throttling");
        // 100 KB in exactly 200 ms is slow enough to measure; in 199 ms it is not.
        let at_floor = [a(Image, Ok, 10.0), a(Fetch, Ok, 9.0), big(Ok, 210.0)];
        assert_eq!(decide(&at_floor, &ctx(40_000.0)).verdict, Verdict::Throttled);
        let under_floor = [a(Image, Ok, 10.0), a(Fetch, Ok, 9.0), big(Ok, 209.0)];
        assert_eq!(decide(&under_floor, &ctx(1e9)).verdict, Verdict::Reachable);
    }

    fn crawling(image_ms: &[f64], fetch_ms: &[f64]) -> Vec<Attempt> {
        let images = image_ms.iter().map(|&ms| a(Image, if ms >= DEADLINE { Timeout } else { Ok }, ms));
        images.chain(fetch_ms.iter().map(|&ms| a(Fetch, Ok, ms))).collect()
    }

    #[test]
    fn images_crawling_while_the_site_answers_are_throttled() {
        // A content host held to a crawl: each image 1.5 s, the site answers in 15 ms, the
        // controls' images in 20 ms.
        let slow = crawling(&[1500.0, 1600.0, 1400.0], &[15.0, 12.0, 11.0]);
        let d = decide(&slow, &CTX);
        assert_eq!(d.verdict, Verdict::Throttled);
        assert_eq!(
            d.reason,
            Reason::ImagesCrawled { image_ms: 1500.0, fetch_ms: 12.0, control_image_ms: 20.0, timed_out: 0, images: 3 }
        );
        // One image stalled to the deadline, one crawled: of two, the faster counts.
        let stalled = crawling(&[1200.0, DEADLINE], &[10.0, 10.0]);
        assert_eq!(
            decide(&stalled, &CTX).reason,
            Reason::ImagesCrawled { image_ms: 1200.0, fetch_ms: 10.0, control_image_ms: 20.0, timed_out: 1, images: 2 }
        );
        // One slow image of three is no crawl: the median, not the slowest. Nor one stall of
        // two (a run stops a target's trials at its first stall): a phone's handover, say.
        assert_eq!(decide(&crawling(&[30.0, 40.0, DEADLINE], &[10.0, 10.0]), &CTX).verdict, Verdict::Reachable);
        assert_eq!(decide(&crawling(&[30.0, DEADLINE], &[15.0, 15.0]), &CTX).verdict, Verdict::Reachable);
        // Images slow to come while the platform's large asset arrived whole at a speed near
        // the controls': the host moves data, so no throttling is claimed.
        let asset_fast = [crawling(&[1500.0, 1600.0], &[10.0, 10.0]), vec![big(Ok, 1700.0)]].concat();
        let fast = RunContext { control_kbps: Some(4000.0), ..CTX };
        assert_eq!(decide(&asset_fast, &fast).verdict, Verdict::Reachable);
        // ... and one ten times slower than theirs is throttling by the large asset.
        let slow_asset = RunContext { control_kbps: Some(1e9), ..fast };
        assert!(matches!(decide(&asset_fast, &slow_asset).reason, Reason::SlowerThanControls { .. }));
        // Images that failed are not timed: they are failures for the other rules.
        let failed = [a(Image, Error, 4000.0), a(Image, Ok, 30.0), a(Fetch, Ok, 10.0), a(Fetch, Ok, 10.0)];
        assert_eq!(crawl(&failed, &CTX), None);
        // A large asset of known size that shows throttling is the stronger evidence, and wins.
        let both = [crawling(&[1500.0], &[10.0]), vec![big(Timeout, DEADLINE)]].concat();
        assert!(matches!(decide(&both, &CTX).reason, Reason::SlowerThanControls { .. }));
    }

    #[test]
    fn a_crawl_is_a_second_beyond_the_sites_own_latency_and_ten_times_the_controls() {
        // Exactly a second more than the fetches took crawls; a millisecond less does not.
        assert!(crawl(&crawling(&[1810.0], &[810.0]), &CTX).is_some());
        assert_eq!(crawl(&crawling(&[1809.0], &[810.0]), &CTX), None);
        // 800 ms to answer everything (images and site alike) is latency, not a crawl.
        assert_eq!(decide(&crawling(&[830.0, 815.0, 812.0], &[805.0, 801.0, 800.0]), &CTX).verdict, Verdict::Reachable);
        // Against controls whose images take 150 ms, a crawl is 1.5 s beyond the latency.
        let slow_controls = RunContext { control_image_ms: Some(150.0), ..CTX };
        assert!(crawl(&crawling(&[1510.0], &[10.0]), &slow_controls).is_some());
        assert_eq!(crawl(&crawling(&[1509.0], &[10.0]), &slow_controls), None);
        // Medians of an even count of fetches are the mean of the middle two.
        assert_eq!(crawl(&crawling(&[2000.0], &[10.0, 30.0]), &CTX).map(|c| c.fetch_ms), Some(20.0));
        // Nothing to compare with: no control image, no fetch that answered, no image at all.
        let none = RunContext { control_image_ms: None, ..CTX };
        assert_eq!(decide(&crawling(&[3000.0], &[10.0]), &none).verdict, Verdict::Reachable);
        assert_eq!(crawl(&[a(Image, Ok, 3000.0), a(Fetch, Error, 10.0)], &CTX), None);
        assert_eq!(crawl(&crawling(&[], &[10.0]), &CTX), None);
        // Mostly failing is not "mostly reachable but slow": the failure rules decide.
        let failing = [
            a(Image, Ok, 3000.0),
            a(Fetch, Ok, 10.0),
            a(Image, Error, 40.0),
            a(Fetch, Error, 40.0),
            a(Fetch, Error, 40.0),
        ];
        assert_eq!(decide(&failing, &CTX).verdict, Verdict::Blocked);
    }

    #[test]
    fn the_controls_image_time_is_the_median_of_their_first_loads() {
        let first = |ms| Attempt { cold: true, ..a(Image, Ok, ms) };
        let later = |ms| Attempt { cold: false, trial: 1, ..a(Image, Ok, ms) };
        let c1 = [first(10.0), later(0.2), later(0.1)];
        let c2 = [first(40.0), later(0.3)];
        let c3 = [first(30.0), Attempt { cold: true, ..a(Image, Error, 2.0) }];
        let ctx = RunContext::from_controls([&c1[..], &c2[..], &c3[..]], DEADLINE);
        assert_eq!(ctx.control_image_ms, Some(30.0));
        assert_eq!(RunContext::from_controls([&c1[..], &c2[..]], DEADLINE).control_image_ms, Some(25.0));
        let failed = [Attempt { cold: true, ..a(Image, Error, 2.0) }, a(Fetch, Ok, 3.0)];
        assert_eq!(RunContext::from_controls([&failed[..]], DEADLINE).control_image_ms, None);
    }

    #[test]
    fn no_attempts_is_not_reachable() {
        assert_ne!(decide(&[], &CTX).verdict, Verdict::Reachable);
    }

    #[test]
    fn a_policy_violation_is_a_local_block_and_speed_alone_never_is() {
        let d = decide(&[a(Image, PolicyBlocked, 2.0), a(Fetch, PolicyBlocked, 1.0)], &CTX);
        assert_eq!(d.verdict, Verdict::LocalBlock);
        assert_eq!(d.reason, Reason::RefusedByPagePolicy { refused: 2, attempts: 2 });
        // Near-instant failures without a violation event are a block on the network.
        assert_eq!(decide(&[a(Image, Error, 0.5), a(Fetch, Error, 0.4)], &CTX).verdict, Verdict::Blocked);
    }

    #[test]
    fn throughput_subtracts_latency_and_bounds_timeouts() {
        // 800 ms to answer, then 100 KB in 10 ms: fast.
        let slow_to_answer = [a(Image, Ok, 805.0), a(Image, Ok, 800.0), big(Ok, 810.0)];
        let t = throughput(&slow_to_answer, DEADLINE).unwrap();
        assert_eq!((t.transfer_ms, t.kbps, t.completed), (10.0, 80_000.0, true));
        // Cut off by the deadline: at most this fast.
        let cut_off = [a(Image, Ok, 10.0), big(Timeout, DEADLINE)];
        let t = throughput(&cut_off, DEADLINE).unwrap();
        assert!(!t.completed && (t.kbps - 800_000.0 / 4990.0).abs() < 1e-9, "{t:?}");
        // Without a successful image there is no latency to subtract, hence no estimate.
        assert_eq!(throughput(&[a(Image, Error, 10.0), big(Ok, 300.0)], DEADLINE), None);
        // A failed asset says nothing about speed.
        assert_eq!(throughput(&[a(Image, Ok, 10.0), big(Error, 30.0)], DEADLINE), None);
    }

    #[test]
    fn an_order_of_magnitude_below_the_controls_is_throttled() {
        // 150 kbit/s (Russia's throttling of Twitter in 2021) against a fast control.
        let dripped = [a(Image, Ok, 12.0), a(Fetch, Ok, 9.0), big(Timeout, DEADLINE)];
        let d = decide(&dripped, &CTX);
        assert_eq!(d.verdict, Verdict::Throttled, "{d:?}");
        assert!(matches!(d.reason, Reason::SlowerThanControls { completed: false, .. }));
        // Slow to answer but fast to deliver is reachable.
        let slow_but_fine = [a(Image, Ok, 800.0), a(Fetch, Ok, 801.0), big(Ok, 830.0)];
        assert_eq!(decide(&slow_but_fine, &CTX).verdict, Verdict::Reachable);
        // Ten times slower than a very fast control but still quick in absolute terms is noise.
        let quick = [a(Image, Ok, 2.0), a(Fetch, Ok, 2.0), big(Ok, 50.0)];
        assert_eq!(decide(&quick, &CTX).verdict, Verdict::Reachable);
        // Without a control throughput there is nothing to compare with.
        let no_control = RunContext { control_kbps: None, ..CTX };
        assert_eq!(decide(&dripped, &no_control).verdict, Verdict::Reachable);
    }

    #[test]
    fn the_run_context_takes_the_best_completed_control() {
        let fast = [a(Image, Ok, 5.0), big(Ok, 15.0)];
        let slow = [a(Image, Ok, 5.0), big(Ok, 805.0)];
        let cut = [a(Image, Ok, 5.0), big(Timeout, DEADLINE)];
        let ctx = RunContext::from_controls([&slow[..], &fast[..], &cut[..]], DEADLINE);
        assert_eq!(ctx.control_kbps, Some(80_000.0));
        assert_eq!(ctx.controls, ControlStatus::Ok);
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
