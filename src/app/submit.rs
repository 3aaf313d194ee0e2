//! The separate, clearly labelled choice to submit the finished run, and what happens when the
//! collector cannot be reached: the page says so, keeps the result, tries again with growing
//! pauses, and hands the report to `navigator.sendBeacon` if the page is hidden or closed
//! before it got through. Every try carries the run's one report id, and the collector answers
//! a repeat with 409 (stored already), so a report is stored once whatever reaches it.

use std::cell::{Cell, RefCell};

use wasm_bindgen_futures::spawn_local;
use web_sys::Element;

use super::dom::{self, el, El};
use super::{I18n, Page};
use crate::api::{self, SubmitError};

#[derive(Clone, PartialEq)]
enum SubmitState {
    Idle,
    Sending,
    Sent {
        id: String,
        already: bool,
    },
    /// Not reached; the next try is due in `delay_s`.
    Waiting {
        error: String,
        delay_s: u32,
    },
    Rejected(String),
}

/// Pause before try `n + 1` (n failed so far): 2, 4, 8, 16, 32 s, then every minute.
fn backoff_s(failures: u32) -> u32 {
    2u32.saturating_pow(failures.min(5) + 1).min(60)
}

/// The submission section's elements and state.
pub struct Submit {
    state: RefCell<SubmitState>,
    failures: Cell<u32>,
    /// Bumped by every new try and every new run: a pending retry of an older one stands down.
    generation: Cell<u32>,
    beaconed: Cell<bool>,
    button: Option<Element>,
    retry: Option<Element>,
    status: Option<Element>,
}

impl Submit {
    pub fn build(i18n: &I18n) -> (Submit, El) {
        let (mut button, mut status) = (None, None);
        let retry = i18n
            .label(el("button").attr("class", "secondary").attr("data-testid", "retry"), "submit.retry_now")
            .element();
        let view = el("section")
            .attr("class", "submit")
            .attr("aria-labelledby", "submit-heading")
            .child(i18n.label(el("h2").attr("id", "submit-heading"), "submit.heading"))
            .child(i18n.label(el("p"), "submit.explain"))
            .child(i18n.label(el("button").attr("data-testid", "submit"), "submit.button").keep(&mut button))
            .child(el("p").attr("data-testid", "submit-status").attr("role", "status").keep(&mut status));
        let submit = Submit {
            state: RefCell::new(SubmitState::Idle),
            failures: Cell::new(0),
            generation: Cell::new(0),
            beaconed: Cell::new(false),
            button,
            retry,
            status,
        };
        (submit, view)
    }

    /// A new run (or none) starts the choice afresh.
    pub fn reset(&self) {
        self.generation.set(self.generation.get() + 1);
        self.failures.set(0);
        self.beaconed.set(false);
        *self.state.borrow_mut() = SubmitState::Idle;
    }

    pub fn wire(&self, page: &'static Page) {
        for button in [&self.button, &self.retry].into_iter().flatten() {
            dom::on(button, "click", Box::new(move |_| page.attempt()));
        }
        // Hidden or leaving with the report not yet through: the beacon outlives the page.
        let on_visibility = move |_| {
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
            let s = &page.submit;
            let pending = matches!(*s.state.borrow(), SubmitState::Sending | SubmitState::Waiting { .. });
            if hidden && pending && !s.beaconed.get() {
                if let Some(r) = &page.run.borrow().report {
                    s.beaconed.set(api::beacon(r));
                }
            }
        };
        if let Some(w) = web_sys::window() {
            dom::on(&w, "visibilitychange", Box::new(on_visibility));
        }
    }
}

impl Page {
    /// Sends the finished run's report, and tries again with growing pauses while the
    /// collector cannot be reached.
    fn attempt(&'static self) {
        let Some(r) = self.run.borrow().report.clone() else { return };
        let s = &self.submit;
        s.generation.set(s.generation.get() + 1);
        let mine = s.generation.get();
        self.set_submit(SubmitState::Sending);
        spawn_local(async move {
            let outcome = api::submit(&r).await;
            if s.generation.get() != mine {
                return;
            }
            match outcome {
                Ok(stored) => self.set_submit(SubmitState::Sent { id: stored.report_id, already: false }),
                Err(SubmitError::Duplicate) => self.set_submit(SubmitState::Sent { id: r.report_id, already: true }),
                Err(SubmitError::Rejected(e)) => self.set_submit(SubmitState::Rejected(e)),
                Err(SubmitError::Unreachable(error)) => {
                    let delay_s = backoff_s(s.failures.get());
                    s.failures.set(s.failures.get() + 1);
                    self.set_submit(SubmitState::Waiting { error, delay_s });
                    gloo_timers::future::sleep(std::time::Duration::from_secs(u64::from(delay_s))).await;
                    if s.generation.get() == mine {
                        self.attempt();
                    }
                }
            }
        });
    }

    fn set_submit(&self, state: SubmitState) {
        *self.submit.state.borrow_mut() = state;
        self.draw_submit();
    }

    /// The button (only for a finished run not yet sent), the retry button while waiting,
    /// and the status.
    pub(super) fn draw_submit(&self) {
        let c = self.i18n.get();
        let s = &self.submit;
        let state = s.state.borrow();
        let (name, text) = match &*state {
            SubmitState::Idle => ("idle", String::new()),
            SubmitState::Sending => ("sending", c.text("submit.sending")),
            SubmitState::Sent { id, already: false } => ("sent", c.fmt("submit.sent", &[("id", id)])),
            SubmitState::Sent { id, already: true } => ("sent", c.fmt("submit.already", &[("id", id)])),
            SubmitState::Waiting { error, delay_s } => {
                ("failed", c.fmt("submit.unreachable", &[("error", error), ("delay", &c.seconds(f64::from(*delay_s)))]))
            }
            SubmitState::Rejected(e) => ("failed", c.fmt("submit.rejected", &[("error", e)])),
        };
        let waiting = matches!(*state, SubmitState::Waiting { .. });
        if let Some(button) = &s.button {
            let idle = matches!(*state, SubmitState::Idle);
            dom::flag(button, "disabled", self.run.borrow().report.is_none() || !idle);
            if let Some(retry) = &s.retry {
                dom::show_after(button, retry, waiting);
            }
        }
        if let Some(status) = &s.status {
            let _ = status.set_attribute("data-state", name);
            let _ = if waiting {
                status.set_attribute("data-retry", "scheduled")
            } else {
                status.remove_attribute("data-retry")
            };
            dom::set_text(status, &text);
        }
    }
}
