//! The self-test page: consent first, then the run with its progress, results that explain
//! themselves, and the separate choice to submit — in the visitor's language.
//!
//! One file per part: [`language`] (the switcher), [`consent`] (what the test does, who sees
//! it, the remembered choice), [`results`] (progress, summary, rows, meanings), [`bars`]
//! (timings against the controls), [`share`] (download, copy), [`submit`] (sending, retries,
//! beacon), [`crowd`] (what others see), [`dom`] (the plain DOM calls everything is drawn
//! with, and why there is no framework). This file holds the page's state, the run itself, and
//! what each change redraws.
//!
//! Each part is built once as plain DOM and keeps the elements it changes; its words are
//! [`I18n`] labels, rewritten when the language changes. A change of state calls the drawing
//! of exactly the parts it touches: a target's progress redraws its row and the progress bar,
//! the end of a run the rows, summary, meanings, sharing, submission and crowd.
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

use std::cell::RefCell;
use std::sync::Arc;

use futures::future::{abortable, AbortHandle};
use vantage_report::{Measurement, Report, Target, TargetList};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, Node};

use self::dom::{el, El};
use crate::i18n::{self, Catalogue};
use crate::{api, run};

/// The current catalogue, and every fixed text on the page that comes from it.
pub struct I18n {
    catalogue: RefCell<Arc<Catalogue>>,
    /// Text nodes (attribute `None`) and attributes holding one message each.
    labels: RefCell<Vec<(Node, &'static str, Option<&'static str>)>>,
}

impl I18n {
    fn new() -> I18n {
        I18n { catalogue: RefCell::new(Catalogue::english()), labels: RefCell::new(Vec::new()) }
    }

    /// The current catalogue (cheap: shared).
    pub fn get(&self) -> Arc<Catalogue> {
        self.catalogue.borrow().clone()
    }

    pub fn text(&self, key: &str) -> String {
        self.get().text(key)
    }

    /// Appends the message `key` to `e` as text that follows the language.
    pub fn label(&self, e: El, key: &'static str) -> El {
        let node = dom::text_node(&self.text(key));
        if let Some(n) = &node {
            self.labels.borrow_mut().push((n.clone(), key, None));
        }
        e.node(node.as_ref())
    }

    /// Sets attribute `name` of `e` to the message `key`, following the language.
    pub fn attr(&self, e: El, name: &'static str, key: &'static str) -> El {
        if let Some(element) = e.element() {
            self.labels.borrow_mut().push((element.into(), key, Some(name)));
        }
        e.attr(name, &self.text(key))
    }

    /// Takes `catalogue` as the page's language and rewrites every label in it.
    fn set(&self, catalogue: Arc<Catalogue>) {
        for (node, key, attr) in self.labels.borrow().iter() {
            let text = catalogue.text(key);
            match (attr, node.dyn_ref::<Element>()) {
                (Some(name), Some(e)) => {
                    let _ = e.set_attribute(name, &text);
                }
                _ => node.set_text_content(Some(&text)),
            }
        }
        *self.catalogue.borrow_mut() = catalogue;
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

/// One target's row in the current run.
pub struct Row {
    pub target: Target,
    pub phase: Phase,
    /// Its table row, once drawn.
    pub tr: Option<Element>,
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

/// The run as the page shows it.
pub struct RunView {
    pub state: RunState,
    pub rows: Vec<Row>,
    /// The finished run's report: what is shared and submitted.
    pub report: Option<Report>,
    /// Counts runs: a finished run that was cancelled in the meantime stands down.
    number: u32,
    abort: Option<AbortHandle>,
}

/// The whole self-test page.
pub struct Page {
    i18n: I18n,
    /// The list, once fetched.
    targets: RefCell<Option<Result<TargetList, String>>>,
    run: RefCell<RunView>,
    language: language::Switcher,
    consent: consent::Consent,
    results: results::Results,
    crowd: crowd::Crowd,
    submit: submit::Submit,
    /// The page's own top-level elements.
    roots: Vec<Element>,
    targets_status: Element,
    run_button: Element,
    cancel_button: Element,
}

/// Builds the page into `parent` and starts it: the target list is fetched, the language
/// loaded, and nothing is measured before the visitor ticks consent and clicks. `None` when
/// the document cannot make elements.
pub fn mount(parent: &Element) -> Option<&'static Page> {
    let i18n = I18n::new();
    let (language, language_el) = language::Switcher::build(&i18n);
    let (consent, consent_el) = consent::Consent::build(&i18n);
    let (results, results_el) = results::Results::build(&i18n);
    let (crowd, crowd_el) = crowd::Crowd::build();
    let (submit, submit_el) = submit::Submit::build(&i18n);
    let (mut targets_status, mut run_button) = (None, None);
    let actions = el("div")
        .attr("class", "actions")
        .child(el("button").attr("class", "run").attr("data-testid", "run").keep(&mut run_button));
    let cancel_button = i18n
        .label(el("button").attr("class", "cancel secondary").attr("data-testid", "cancel"), "run.cancel")
        .element();
    let header = el("header").attr("class", "top").child(language_el);
    let main = el("main")
        .attr("class", "vantage")
        .child(i18n.label(el("h1"), "app.title"))
        .child(i18n.label(el("p").attr("class", "lead"), "app.lead"))
        .child(el("div").attr("class", "targets-status-host").keep(&mut targets_status))
        .child(consent_el)
        .child(actions)
        .child(results_el)
        .child(crowd_el)
        .child(submit_el);
    let (targets_status, run_button, cancel_button) = (targets_status?, run_button?, cancel_button?);
    let roots: Vec<Element> = [header.element(), main.element()].into_iter().flatten().collect();
    for r in &roots {
        let _ = parent.append_with_node_1(r);
    }
    // The page lives as long as the document: its listeners and tasks hold it for good.
    let page: &'static Page = Box::leak(Box::new(Page {
        i18n,
        targets: RefCell::new(None),
        run: RefCell::new(RunView { state: RunState::Idle, rows: Vec::new(), report: None, number: 0, abort: None }),
        language,
        consent,
        results,
        crowd,
        submit,
        roots,
        targets_status,
        run_button,
        cancel_button,
    }));
    dom::on(&page.run_button, "click", Box::new(move |_| page.start()));
    dom::on(&page.cancel_button, "click", Box::new(move |_| page.cancel()));
    page.language.wire(page);
    page.consent.wire(page);
    page.results.wire(page);
    page.submit.wire(page);
    page.draw_all();
    spawn_local(async move {
        let list = api::fetch_targets().await;
        *page.targets.borrow_mut() = Some(list);
        page.draw_targets_status();
        page.draw_controls();
    });
    Some(page)
}

impl Page {
    /// Takes the page out of the document, for tests that mount it again. Its listeners and
    /// tasks stay until the document goes: a task finishing later (a catalogue, the list, a
    /// submission) still draws into the detached page and may set the document's language.
    pub fn unmount(&self) {
        for r in &self.roots {
            r.remove();
        }
    }

    /// Everything that depends on the language or on the state, drawn afresh.
    fn draw_all(&self) {
        let c = self.i18n.get();
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            if let Some(root) = doc.document_element() {
                let _ = root.set_attribute("lang", c.lang());
                let _ = root.set_attribute("dir", c.dir());
            }
            doc.set_title(&c.text("app.title"));
        }
        self.draw_language();
        self.draw_targets_status();
        self.draw_controls();
        self.draw_results();
        self.draw_table();
        self.draw_after_run();
        self.draw_crowd();
        self.draw_submit();
    }

    /// The page in `catalogue`'s language.
    fn set_language(&'static self, catalogue: Arc<Catalogue>) {
        self.i18n.set(catalogue);
        self.draw_all();
    }

    /// Shows that the list is loading, or why it could not be used.
    fn draw_targets_status(&self) {
        let c = self.i18n.get();
        let status = match &*self.targets.borrow() {
            None => Some(el("p").attr("class", "status").text(&c.text("targets.loading"))),
            Some(Err(e)) => Some(
                el("p")
                    .attr("class", "status error")
                    .attr("role", "alert")
                    .text(&c.fmt("targets.failed", &[("error", e)])),
            ),
            Some(Ok(_)) => None,
        };
        dom::draw(&self.targets_status, status.map(|p| p.attr("data-testid", "targets-status")));
    }

    /// The run button (enabled with consent and a list, worded for the state) and the cancel
    /// button, which exists only during a run.
    fn draw_controls(&self) {
        let c = self.i18n.get();
        let state = self.run.borrow().state;
        let running = state == RunState::Running;
        let ready = matches!(&*self.targets.borrow(), Some(Ok(_)));
        dom::flag(&self.run_button, "disabled", !self.consent.given() || !ready || running);
        let label = match state {
            RunState::Running => "run.running",
            RunState::Done | RunState::Cancelled => "run.again",
            RunState::Idle => "run.start",
        };
        self.run_button.set_text_content(Some(&c.text(label)));
        dom::show_after(&self.run_button, &self.cancel_button, running);
    }

    /// Starts a run. Nothing is measured before this click, and only with consent given.
    fn start(&'static self) {
        let list = match &*self.targets.borrow() {
            Some(Ok(list)) if self.consent.given() && self.run.borrow().state != RunState::Running => list.clone(),
            _ => return,
        };
        let plan = run::Plan::default();
        let number = {
            let mut run = self.run.borrow_mut();
            run.number += 1;
            run.state = RunState::Running;
            run.report = None;
            run.rows = list
                .targets
                .iter()
                .map(|t| Row {
                    target: t.clone(),
                    phase: Phase::Measuring { done: 0, planned: plan.planned(t) },
                    tr: None,
                })
                .collect();
            run.number
        };
        self.draw_controls();
        self.draw_results();
        self.draw_table();
        self.draw_after_run();
        self.new_report();
        // Keyboard users land on the cancel button when a run starts.
        if let Some(b) = self.cancel_button.dyn_ref::<web_sys::HtmlElement>() {
            let _ = b.focus();
        }
        let (measured, handle) = abortable(async move {
            let progress = move |p: run::Progress| {
                let phase =
                    if p.finished { Phase::Measured } else { Phase::Measuring { done: p.done, planned: p.planned } };
                if let Some(row) = self.run.borrow_mut().rows.get_mut(p.target) {
                    row.phase = phase;
                }
                self.draw_row(p.target);
                self.draw_progress();
            };
            run::run(&list, plan, progress).await
        });
        self.run.borrow_mut().abort = Some(handle);
        // Dropping the run's future (on cancel) drops every pending probe, and each probe
        // aborts its fetch or clears its image as it goes.
        spawn_local(async move {
            let Ok(report) = measured.await else { return };
            {
                let mut run = self.run.borrow_mut();
                if run.number != number || run.state != RunState::Running {
                    return;
                }
                for (row, m) in run.rows.iter_mut().zip(&report.measurements) {
                    row.phase = Phase::Done(m.clone());
                }
                run.report = Some(report);
                run.state = RunState::Done;
                run.abort = None;
            }
            self.draw_controls();
            self.draw_results();
            self.draw_rows();
            self.draw_after_run();
            self.new_report();
            self.results.focus_heading();
        });
    }

    fn cancel(&'static self) {
        let was_running = {
            let mut run = self.run.borrow_mut();
            if let Some(h) = run.abort.take() {
                h.abort();
            }
            let was_running = run.state == RunState::Running;
            if was_running {
                run.state = RunState::Cancelled;
                for row in run.rows.iter_mut().filter(|r| !matches!(r.phase, Phase::Done(_))) {
                    row.phase = Phase::Cancelled;
                }
            }
            was_running
        };
        if was_running {
            self.draw_controls();
            self.draw_results();
            self.draw_rows();
        }
        if let Some(b) = self.run_button.dyn_ref::<web_sys::HtmlElement>() {
            let _ = b.focus();
        }
    }

    /// A new run, or none: submission starts afresh, and the crowd is asked anew once a run
    /// has finished (never before).
    fn new_report(&'static self) {
        self.submit.reset();
        self.draw_submit();
        self.crowd.clear();
        self.draw_crowd();
        if self.run.borrow().report.is_some() {
            let number = self.run.borrow().number;
            spawn_local(async move {
                let nearby = api::nearby().await.ok();
                if self.run.borrow().number == number {
                    self.crowd.set(nearby);
                    self.draw_crowd();
                }
            });
        }
    }

    /// The catalogue of `language`, loaded (the switcher shows that it is loading or failed).
    fn load_language(&'static self, language: &'static i18n::Language) {
        self.language.loading(true, false);
        self.draw_language_status();
        spawn_local(async move {
            match i18n::load(language).await {
                Ok(c) => {
                    self.language.loading(false, false);
                    self.set_language(c);
                }
                Err(_) => {
                    self.language.loading(false, true);
                    self.draw_language_status();
                }
            }
        });
    }
}
