//! The self-test page: what the test does and who sees what, consent, the run, the results
//! with their evidence, and the separate choice to submit.
//!
//! DOM hooks the tests rely on: `data-testid="consent"`, `"run"`, `"submit"`,
//! `"submit-status"`, one row per target with `data-target` and `data-verdict`, and
//! `data-state="done"` on `data-testid="results"` when a run has finished.

use leptos::prelude::*;
use leptos::task::spawn_local;
use vantage_report::{Measurement, Report, Target, TargetList};

use crate::i18n::{self, Catalogue};
use crate::{api, run};

/// Where one target stands in the current run.
#[derive(Clone, PartialEq)]
enum Phase {
    Measuring {
        done: usize,
        planned: usize,
    },
    /// Probed; the verdict waits for the controls.
    Measured,
    Done(Measurement),
}

#[derive(Clone, PartialEq)]
struct Row {
    target: Target,
    phase: Phase,
}

#[derive(Clone, Copy, PartialEq)]
enum RunState {
    Idle,
    Running,
    Done,
}

#[derive(Clone, PartialEq)]
enum SubmitState {
    Idle,
    Sending,
    Sent(String),
    Failed(String),
}

/// The whole self-test page.
#[component]
pub fn App() -> impl IntoView {
    let t = i18n::for_browser();
    let targets = LocalResource::new(api::fetch_targets);
    let consent = RwSignal::new(false);
    let rows = RwSignal::new(Vec::<Row>::new());
    let run_state = RwSignal::new(RunState::Idle);
    let report = RwSignal::new(None::<Report>);
    let submit_state = RwSignal::new(SubmitState::Idle);

    let list_ready = move || matches!(targets.get(), Some(Ok(_)));
    let start = move |list: TargetList| {
        run_state.set(RunState::Running);
        report.set(None);
        submit_state.set(SubmitState::Idle);
        let plan = run::Plan::default();
        rows.set(
            list.targets
                .iter()
                .map(|t| Row { target: t.clone(), phase: Phase::Measuring { done: 0, planned: plan.planned(t) } })
                .collect(),
        );
        spawn_local(async move {
            let r = run::run(&list, plan, |p| {
                rows.update(|rs| {
                    if let Some(row) = rs.get_mut(p.target) {
                        row.phase = if p.finished {
                            Phase::Measured
                        } else {
                            Phase::Measuring { done: p.done, planned: p.planned }
                        };
                    }
                })
            })
            .await;
            rows.update(|rs| {
                for (row, m) in rs.iter_mut().zip(&r.measurements) {
                    row.phase = Phase::Done(m.clone());
                }
            });
            report.set(Some(r));
            run_state.set(RunState::Done);
        });
    };
    let on_run = move |_| {
        // Nothing is measured before this click, and only with consent given.
        if let (true, Some(Ok(list))) = (consent.get_untracked(), targets.get_untracked()) {
            start(list);
        }
    };

    view! {
        <main class="vantage" lang=t.lang dir=t.dir>
            <h1>{t.title}</h1>
            <p>{t.intro}</p>
            <p>{t.who_sees}</p>
            <p class="risk">{t.risk}</p>
            <TargetListStatus targets t/>
            <label class="consent">
                <input
                    type="checkbox"
                    data-testid="consent"
                    prop:checked=move || consent.get()
                    on:change=move |ev| consent.set(event_target_checked(&ev))
                />
                " "
                {t.consent}
            </label>
            <button
                class="run"
                data-testid="run"
                disabled=move || !consent.get() || !list_ready() || run_state.get() == RunState::Running
                on:click=on_run
            >
                {move || if run_state.get() == RunState::Running { t.running } else { t.run }}
            </button>
            <Results rows run_state t/>
            <Submit report submit_state t/>
        </main>
    }
}

/// Shows that the list is loading, or why it could not be used.
#[component]
fn TargetListStatus(targets: LocalResource<Result<TargetList, String>>, t: &'static Catalogue) -> impl IntoView {
    move || match targets.get() {
        None => Some(view! { <p class="status" data-testid="targets-status">{t.loading_targets}</p> }.into_any()),
        Some(Err(e)) => Some(
            view! { <p class="status error" role="alert" data-testid="targets-status">{(t.targets_failed)(&e)}</p> }
                .into_any(),
        ),
        Some(Ok(_)) => None,
    }
}

/// Progress while running, then one row per target with verdict, evidence and timings.
#[component]
fn Results(rows: RwSignal<Vec<Row>>, run_state: RwSignal<RunState>, t: &'static Catalogue) -> impl IntoView {
    let state = move || match run_state.get() {
        RunState::Idle => "idle",
        RunState::Running => "running",
        RunState::Done => "done",
    };
    let progress = move || {
        rows.with(|rs| {
            let finished = rs.iter().filter(|r| !matches!(r.phase, Phase::Measuring { .. })).count();
            let (done, planned) = rs.iter().fold((0, 0), |(d, p), r| match r.phase {
                Phase::Measuring { done, planned } => (d + done, p + planned),
                // Finished rows count as complete, whatever they had planned.
                _ => (d + 1, p + 1),
            });
            match run_state.get() {
                RunState::Idle => String::new(),
                RunState::Running => (t.progress)(finished, rs.len(), done, planned),
                RunState::Done => (t.finished)(rs.len()),
            }
        })
    };
    view! {
        <section class="results" data-testid="results" data-state=state aria-live="polite">
            <p class="progress">{progress}</p>
            <Show when=move || rows.with(|rs| !rs.is_empty())>
                <table>
                    <thead>
                        <tr>
                            <th>{t.col_platform}</th>
                            <th>{t.col_result}</th>
                            <th>{t.col_why}</th>
                            <th>{t.col_timings}</th>
                        </tr>
                    </thead>
                    <tbody>{move || rows.get().into_iter().map(|r| row(r, t)).collect_view()}</tbody>
                </table>
            </Show>
        </section>
    }
}

fn row(r: Row, t: &'static Catalogue) -> impl IntoView {
    let (verdict, label, why, timings) = match &r.phase {
        Phase::Measuring { done, planned } => ("pending", (t.measuring)(*done, *planned), String::new(), String::new()),
        Phase::Measured => ("pending", t.measured.to_string(), String::new(), String::new()),
        Phase::Done(m) => {
            (m.verdict.as_str(), (t.verdict)(m.verdict).to_string(), (t.reason)(&m.reason), (t.timings)(&m.attempts))
        }
    };
    view! {
        <tr data-target=r.target.id.clone() data-verdict=verdict class=format!("verdict-{verdict}")>
            <td>
                {r.target.name.clone()}
                {r.target.control.then(|| view! { " " <span class="tag">{t.control}</span> })}
            </td>
            <td class="verdict">{label}</td>
            <td class="why">{why}</td>
            <td class="timings">{timings}</td>
        </tr>
    }
}

/// The separate, clearly labelled choice to submit the finished run.
#[component]
fn Submit(
    report: RwSignal<Option<Report>>,
    submit_state: RwSignal<SubmitState>,
    t: &'static Catalogue,
) -> impl IntoView {
    let on_submit = move |_| {
        let Some(r) = report.get_untracked() else { return };
        submit_state.set(SubmitState::Sending);
        spawn_local(async move {
            submit_state.set(match api::submit(&r).await {
                Ok(stored) => SubmitState::Sent(stored.report_id),
                Err(e) => SubmitState::Failed(e),
            });
        });
    };
    let busy_or_sent = move || matches!(submit_state.get(), SubmitState::Sending | SubmitState::Sent(_));
    let status = move || match submit_state.get() {
        SubmitState::Idle => ("idle", String::new()),
        SubmitState::Sending => ("sending", t.submitting.to_string()),
        SubmitState::Sent(id) => ("sent", (t.submitted)(&id)),
        SubmitState::Failed(e) => ("failed", (t.submit_failed)(&e)),
    };
    view! {
        <section class="submit">
            <p>{t.submit_explain}</p>
            <button
                data-testid="submit"
                disabled=move || report.with(Option::is_none) || busy_or_sent()
                on:click=on_submit
            >
                {t.submit}
            </button>
            <p data-testid="submit-status" data-state=move || status().0 role="status">{move || status().1}</p>
        </section>
    }
}
