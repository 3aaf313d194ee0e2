//! The self-test page: consent first, then the run with its progress, results that explain
//! themselves, and the separate choice to submit — in the visitor's language.
//!
//! One file per part: [`language`] (the switcher), [`consent`] (what the test does, who sees
//! it, the remembered choice), [`results`] (progress, summary, rows, meanings), [`bars`]
//! (timings against the controls), [`share`] (download, copy), [`submit`] (sending, retries,
//! beacon), [`crowd`] (what others see), [`dom`] (plain DOM for panels drawn whole). This file
//! holds the run itself and wires the parts together.
//!
//! DOM hooks the tests rely on: `data-testid="consent"`, `"run"`, `"cancel"`, `"submit"`,
//! `"submit-status"` (`data-state` idle/sending/sent/failed), `"summary"`, one row per target
//! with `data-target` and `data-verdict`, and `data-state` (idle/running/done/cancelled) on
//! `data-testid="results"`.

mod bars;
mod consent;
mod crowd;
mod dom;
mod language;
mod results;
mod share;
mod submit;

use std::sync::Arc;

use futures::future::{abortable, AbortHandle};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use vantage_report::{Measurement, Report, Target, TargetList};

use crate::i18n::{self, Catalogue};
use crate::{api, run};

/// The current catalogue, shared by every part of the page through the context.
#[derive(Clone, Copy)]
pub struct I18n(RwSignal<Arc<Catalogue>>);

impl I18n {
    /// A message, tracked: the view re-renders when the language changes.
    pub fn text(self, key: &str) -> String {
        self.0.with(|c| c.text(key))
    }

    /// A message as a reactive text or attribute value, re-read when the language changes.
    pub fn tr(self, key: &'static str) -> Signal<String> {
        Signal::derive(move || self.text(key))
    }

    pub fn with<R>(self, f: impl FnOnce(&Catalogue) -> R) -> R {
        self.0.with(|c| f(c))
    }
}

/// Where one target stands in the current run.
#[derive(Clone, PartialEq)]
pub enum Phase {
    Measuring {
        done: usize,
        planned: usize,
    },
    /// Probed; the verdict waits for the controls.
    Measured,
    Done(Measurement),
    Cancelled,
}

/// One target's row: updated through its own signal, so a progress event re-renders one row.
#[derive(Clone)]
pub struct Row {
    /// The run and the target's index: a new run gets new rows.
    pub key: (u32, usize),
    pub target: Target,
    pub phase: RwSignal<Phase>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Idle,
    Running,
    Done,
    Cancelled,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Idle => "idle",
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Cancelled => "cancelled",
        }
    }
}

/// The whole self-test page.
#[component]
pub fn App() -> impl IntoView {
    let i18n = I18n(RwSignal::new(Catalogue::english()));
    provide_context(i18n);
    // The list, once fetched: a plain signal filled by one task (a `LocalResource` would
    // compile Leptos's async-derived machinery into the page for this one read).
    let targets = RwSignal::new(None::<Result<TargetList, String>>);
    spawn_local(async move { targets.set(Some(api::fetch_targets().await)) });
    let consent = RwSignal::new(false);
    let rows = RwSignal::new(Vec::<Row>::new());
    let run_state = RwSignal::new(RunState::Idle);
    let report = RwSignal::new(None::<Report>);
    let run_no = StoredValue::new(0u32);
    let abort = StoredValue::new(None::<AbortHandle>);
    let run_button = NodeRef::<html::Button>::new();
    let cancel_button = NodeRef::<html::Button>::new();
    let results_heading = NodeRef::<html::H2>::new();

    // The document speaks the catalogue's language, in its direction.
    Effect::new(move || {
        let (lang, dir, title) = i18n.with(|c| (c.lang(), c.dir(), c.text("app.title")));
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            if let Some(root) = doc.document_element() {
                let _ = root.set_attribute("lang", lang);
                let _ = root.set_attribute("dir", dir);
            }
            doc.set_title(&title);
        }
    });

    let list_ready = move || targets.with(|t| matches!(t, Some(Ok(_))));
    let start = move |list: TargetList| {
        let plan = run::Plan::default();
        run_no.update_value(|n| *n += 1);
        let n = run_no.get_value();
        let handles: Vec<Row> = list
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| Row {
                key: (n, i),
                target: t.clone(),
                phase: RwSignal::new(Phase::Measuring { done: 0, planned: plan.planned(t) }),
            })
            .collect();
        rows.set(handles.clone());
        report.set(None);
        run_state.set(RunState::Running);
        let (measured, handle) = abortable(async move {
            let progress = {
                let handles = handles.clone();
                move |p: run::Progress| {
                    if let Some(row) = handles.get(p.target) {
                        row.phase.set(if p.finished {
                            Phase::Measured
                        } else {
                            Phase::Measuring { done: p.done, planned: p.planned }
                        });
                    }
                }
            };
            let r = run::run(&list, plan, progress).await;
            for (row, m) in handles.iter().zip(&r.measurements) {
                row.phase.set(Phase::Done(m.clone()));
            }
            r
        });
        abort.set_value(Some(handle));
        // Dropping the run's future (on cancel) drops every pending probe, and each probe
        // aborts its fetch or clears its image as it goes.
        spawn_local(async move {
            if let Ok(r) = measured.await {
                report.set(Some(r));
                run_state.set(RunState::Done);
                if let Some(h) = results_heading.get_untracked() {
                    let _ = h.focus();
                }
            }
        });
    };
    let on_run = move |_| {
        // Nothing is measured before this click, and only with consent given.
        if let (true, Some(Ok(list))) = (consent.get_untracked(), targets.get_untracked()) {
            start(list);
        }
    };
    let on_cancel = move |_| {
        if let Some(h) = abort.get_value() {
            h.abort();
        }
        if run_state.get_untracked() == RunState::Running {
            run_state.set(RunState::Cancelled);
            for row in rows.get_untracked() {
                if !matches!(row.phase.get_untracked(), Phase::Done(_)) {
                    row.phase.set(Phase::Cancelled);
                }
            }
        }
        if let Some(b) = run_button.get_untracked() {
            let _ = b.focus();
        }
    };
    // Keyboard users land on the cancel button when a run starts.
    Effect::new(move || {
        if let Some(b) = cancel_button.get() {
            let _ = b.focus();
        }
    });
    let running = move || run_state.get() == RunState::Running;

    view! {
        <header class="top">
            <language::Switcher i18n/>
        </header>
        <main class="vantage">
            <h1>{i18n.tr("app.title")}</h1>
            <p class="lead">{i18n.tr("app.lead")}</p>
            <TargetListStatus targets/>
            <consent::Consent consent/>
            <div class="actions">
                <button
                    class="run"
                    data-testid="run"
                    node_ref=run_button
                    disabled=Signal::derive(move || !consent.get() || !list_ready() || running())
                    on:click=on_run
                >
                    {Signal::derive(move || match run_state.get() {
                        RunState::Running => i18n.text("run.running"),
                        RunState::Done | RunState::Cancelled => i18n.text("run.again"),
                        RunState::Idle => i18n.text("run.start"),
                    })}
                </button>
                <Show when=running>
                    <button class="cancel secondary" data-testid="cancel" node_ref=cancel_button on:click=on_cancel>
                        {i18n.tr("run.cancel")}
                    </button>
                </Show>
            </div>
            <results::Results rows run_state report heading=results_heading/>
            <crowd::Crowd rows report/>
            <submit::Submit report/>
        </main>
    }
}

/// Shows that the list is loading, or why it could not be used (plain DOM, [`dom`]).
#[component]
fn TargetListStatus(targets: RwSignal<Option<Result<TargetList, String>>>) -> impl IntoView {
    let i18n = expect_context::<I18n>();
    let host = NodeRef::<html::Div>::new();
    Effect::new(move || {
        let Some(host) = host.get() else { return };
        let status = targets.with(|t| match t {
            None => Some(dom::el("p").attr("class", "status").text(&i18n.text("targets.loading"))),
            Some(Err(e)) => Some(
                dom::el("p")
                    .attr("class", "status error")
                    .attr("role", "alert")
                    .text(&i18n.with(|c| c.fmt("targets.failed", &[("error", e)]))),
            ),
            Some(Ok(_)) => None,
        });
        dom::draw(&host, status.map(|p| p.attr("data-testid", "targets-status")));
    });
    view! { <div class="targets-status-host" node_ref=host></div> }
}

/// The catalogue for the page's language, loaded once at start.
pub(crate) fn load_language(
    i18n: I18n,
    language: &'static i18n::Language,
    failed: RwSignal<bool>,
    busy: RwSignal<bool>,
) {
    busy.set(true);
    failed.set(false);
    spawn_local(async move {
        match i18n::load(language).await {
            Ok(c) => i18n.0.set(c),
            Err(_) => failed.set(true),
        }
        busy.set(false);
    });
}
