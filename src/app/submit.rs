//! The separate, clearly labelled choice to submit the finished run, and what happens when the
//! collector cannot be reached: the page says so, keeps the result, tries again with growing
//! pauses, and hands the report to `navigator.sendBeacon` if the page is hidden or closed
//! before it got through. Every try carries the run's one report id, and the collector answers
//! a repeat with 409 (stored already), so a report is stored once whatever reaches it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use vantage_report::Report;

use super::I18n;
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

#[component]
pub fn Submit(report: RwSignal<Option<Report>>) -> impl IntoView {
    let i18n = expect_context::<I18n>();
    let state = RwSignal::new(SubmitState::Idle);
    let failures = StoredValue::new(0u32);
    // Bumped by every new try and every new run: a pending retry of an older one stands down.
    let generation = StoredValue::new(0u32);
    let beaconed = StoredValue::new(false);

    // A new run (or none) starts the choice afresh.
    Effect::new(move || {
        report.track();
        generation.update_value(|g| *g += 1);
        failures.set_value(0);
        beaconed.set_value(false);
        state.set(SubmitState::Idle);
    });

    fn attempt(
        report: RwSignal<Option<Report>>,
        state: RwSignal<SubmitState>,
        failures: StoredValue<u32>,
        generation: StoredValue<u32>,
    ) {
        let Some(r) = report.get_untracked() else { return };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        state.set(SubmitState::Sending);
        spawn_local(async move {
            let outcome = api::submit(&r).await;
            if generation.get_value() != mine {
                return;
            }
            match outcome {
                Ok(stored) => state.set(SubmitState::Sent { id: stored.report_id, already: false }),
                Err(SubmitError::Duplicate) => state.set(SubmitState::Sent { id: r.report_id, already: true }),
                Err(SubmitError::Rejected(e)) => state.set(SubmitState::Rejected(e)),
                Err(SubmitError::Unreachable(error)) => {
                    let delay_s = backoff_s(failures.get_value());
                    failures.update_value(|f| *f += 1);
                    state.set(SubmitState::Waiting { error, delay_s });
                    gloo_timers::future::sleep(std::time::Duration::from_secs(u64::from(delay_s))).await;
                    if generation.get_value() == mine {
                        attempt(report, state, failures, generation);
                    }
                }
            }
        });
    }

    // Hidden or leaving with the report not yet through: the beacon outlives the page.
    let handle = window_event_listener_untyped("visibilitychange", move |_| {
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
        let pending = matches!(state.try_get_untracked(), Some(SubmitState::Sending | SubmitState::Waiting { .. }));
        if hidden && pending && !beaconed.try_get_value().unwrap_or(true) {
            if let Some(r) = report.try_get_untracked().flatten() {
                beaconed.set_value(api::beacon(&r));
            }
        }
    });
    on_cleanup(move || handle.remove());

    let on_submit = move |_| attempt(report, state, failures, generation);
    let status = move || {
        i18n.with(|c| match state.get() {
            SubmitState::Idle => ("idle", String::new()),
            SubmitState::Sending => ("sending", c.text("submit.sending")),
            SubmitState::Sent { id, already: false } => ("sent", c.fmt("submit.sent", &[("id", &id)])),
            SubmitState::Sent { id, already: true } => ("sent", c.fmt("submit.already", &[("id", &id)])),
            SubmitState::Waiting { error, delay_s } => {
                ("failed", c.fmt("submit.unreachable", &[("error", &error), ("delay", &c.seconds(f64::from(delay_s)))]))
            }
            SubmitState::Rejected(e) => ("failed", c.fmt("submit.rejected", &[("error", &e)])),
        })
    };
    let waiting = move || matches!(state.get(), SubmitState::Waiting { .. });
    view! {
        <section class="submit" aria-labelledby="submit-heading">
            <h2 id="submit-heading">{i18n.tr("submit.heading")}</h2>
            <p>{i18n.tr("submit.explain")}</p>
            <button
                data-testid="submit"
                disabled=Signal::derive(move || report.with(Option::is_none) || !matches!(state.get(), SubmitState::Idle))
                on:click=on_submit
            >
                {i18n.tr("submit.button")}
            </button>
            <Show when=waiting>
                <button
                    class="secondary"
                    data-testid="retry"
                    on:click=move |_| attempt(report, state, failures, generation)
                >
                    {i18n.tr("submit.retry_now")}
                </button>
            </Show>
            <p
                data-testid="submit-status"
                data-state=Signal::derive(move || status().0)
                data-retry=Signal::derive(move || waiting().then_some("scheduled"))
                role="status"
            >
                {Signal::derive(move || status().1)}
            </p>
        </section>
    }
}
