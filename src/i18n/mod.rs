//! Message catalogues: every word the visitor reads comes from here.
//!
//! A catalogue is a value of [`Catalogue`]; the compiler checks that a new language defines
//! every message, so translating is adding one file (`ur.rs`, `fa.rs`, ...) and one line in
//! [`catalogue`], never touching a component. `dir` makes right-to-left languages (Urdu,
//! Persian) lay out correctly.

mod en;

use vantage_report::{Attempt, Reason, Verdict};

/// All user-facing text of the client, in one language.
pub struct Catalogue {
    /// BCP 47 tag for `lang`.
    pub lang: &'static str,
    /// `ltr` or `rtl`.
    pub dir: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub who_sees: &'static str,
    pub risk: &'static str,
    pub consent: &'static str,
    pub run: &'static str,
    pub running: &'static str,
    pub loading_targets: &'static str,
    pub targets_failed: fn(&str) -> String,
    pub progress: fn(done: usize, total: usize, attempts_done: usize, attempts_planned: usize) -> String,
    pub finished: fn(total: usize) -> String,
    pub col_platform: &'static str,
    pub col_result: &'static str,
    pub col_why: &'static str,
    pub col_timings: &'static str,
    pub control: &'static str,
    pub waiting: &'static str,
    pub measuring: fn(attempts_done: usize, attempts_planned: usize) -> String,
    pub measured: &'static str,
    pub verdict: fn(Verdict) -> &'static str,
    pub reason: fn(&Reason) -> String,
    /// The timings column for a target's attempts.
    pub timings: fn(&[Attempt]) -> String,
    pub submit: &'static str,
    pub submit_explain: &'static str,
    pub submitting: &'static str,
    pub submitted: fn(id: &str) -> String,
    pub submit_failed: fn(&str) -> String,
    pub run_failed: fn(&str) -> String,
}

/// Durations of the successful attempts of one probe kind, warm or cold: the pieces every
/// language's timings text is made of.
pub fn durations(attempts: &[Attempt], kind: vantage_report::ProbeKind, cold: bool) -> Vec<f64> {
    attempts.iter().filter(|a| a.probe == kind && a.cold == cold && a.ok()).map(|a| a.duration_ms).collect()
}

/// The catalogue for a language tag, falling back to English.
pub fn catalogue(_lang: &str) -> &'static Catalogue {
    // Only English so far; each new catalogue adds a match on the primary subtag of the
    // language, such as `"ur" => &ur::UR`.
    &en::EN
}

/// The catalogue matching the browser's preferred language.
pub fn for_browser() -> &'static Catalogue {
    let lang = web_sys::window().and_then(|w| w.navigator().language()).unwrap_or_default();
    catalogue(&lang)
}
