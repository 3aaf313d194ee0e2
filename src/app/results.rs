//! The run as it goes and once it is done: a progress bar and a live status line (which
//! becomes the summary), one row per target redrawn alone as it progresses, what each verdict
//! found means, and the ways to take the result away.

use vantage_report::Verdict;
use web_sys::Element;

use super::bars::timing_bars;
use super::dom::{self, el, svg, El};
use super::share::Share;
use super::{I18n, Page, Phase, Row, RunState};
use crate::i18n::{words, Catalogue};

fn icon_path(verdict: &str) -> &'static str {
    match verdict {
        "reachable" => "M3.5 8.5l3 3 6-7",
        "blocked" => "M4.5 4.5l7 7M11.5 4.5l-7 7",
        "timeout" => "M8 4.5V8l2.5 1.5",
        "throttled" => "M4 5l4 3 4-3M4 9l4 3 4-3",
        "tampered" => "M8 4v5M8 11v1",
        "local_block" => "M4.5 11.5l7-7",
        "inconclusive" => "M6 6.2a2 2 0 1 1 2.6 1.9c-.4.2-.6.5-.6 1v.4M8 11.5v.5",
        _ => "M5 8h.01M8 8h.01M11 8h.01",
    }
}

/// An icon per verdict, so a verdict is never told by colour alone (the words follow it).
fn icon_dom(verdict: &str) -> El {
    svg("svg")
        .attr("class", "icon")
        .attr("viewBox", "0 0 16 16")
        .attr("width", "16")
        .attr("height", "16")
        .attr("aria-hidden", "true")
        .attr("focusable", "false")
        .child(svg("circle").attr("cx", "8").attr("cy", "8").attr("r", "7"))
        .child(svg("path").attr("d", icon_path(verdict)))
}

/// Targets finished, and attempts done and planned over the whole run.
fn progress_counts(rows: &[Row]) -> (usize, usize, usize) {
    let finished = rows.iter().filter(|r| !matches!(r.phase, Phase::Measuring { .. })).count();
    let (done, planned) = rows.iter().fold((0, 0), |(d, p), r| match r.phase {
        Phase::Measuring { done, planned } => (d + done, p + planned),
        // Finished rows count as complete, whatever they had planned.
        _ => (d + 1, p + 1),
    });
    (finished, done, planned)
}

/// The results section's elements.
pub struct Results {
    section: Option<Element>,
    heading: Option<Element>,
    progress: Option<Element>,
    status: Option<Element>,
    when: Option<Element>,
    table: Option<Element>,
    meanings: Option<Element>,
    pub(super) share: Share,
}

impl Results {
    pub fn build(i18n: &I18n) -> (Results, El) {
        let (mut section, mut status, mut when, mut table, mut meanings) = (None, None, None, None, None);
        let share = Share::build(i18n);
        let heading =
            i18n.label(el("h2").attr("id", "results-heading").attr("tabindex", "-1"), "results.heading").element();
        let progress = i18n.attr(el("progress"), "aria-label", "progress.label").element();
        let view = el("section")
            .attr("class", "results")
            .attr("data-testid", "results")
            .child(
                el("p")
                    .attr("data-testid", "summary")
                    .attr("role", "status")
                    .attr("aria-live", "polite")
                    .keep(&mut status),
            )
            .child(el("p").attr("class", "when").keep(&mut when))
            .child(el("div").attr("class", "table-host").keep(&mut table))
            .child(el("div").attr("class", "meanings-host").keep(&mut meanings))
            .keep(&mut section);
        (Results { section, heading, progress, status, when, table, meanings, share }, view)
    }

    pub fn wire(&self, page: &'static Page) {
        self.share.wire(page);
    }

    /// The results take the focus when they arrive.
    pub fn focus_heading(&self) {
        if let Some(h) = self.heading.as_ref().and_then(|h| wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(h)) {
            let _ = h.focus();
        }
    }
}

impl Page {
    /// The section's state, heading, progress bar and status line.
    pub(super) fn draw_results(&self) {
        let r = &self.results;
        let (Some(section), Some(heading), Some(status)) = (&r.section, &r.heading, &r.status) else { return };
        let state = self.run.borrow().state;
        let _ = section.set_attribute("data-state", state.as_str());
        if state == RunState::Idle {
            let _ = section.remove_attribute("aria-labelledby");
            heading.remove();
        } else {
            let _ = section.set_attribute("aria-labelledby", "results-heading");
            if !heading.is_connected() {
                let _ = section.prepend_with_node_1(heading);
            }
        }
        let _ = status.set_attribute("class", &format!("status-line {}", state.as_str()));
        if let Some(progress) = &r.progress {
            dom::show_after(heading, progress, state == RunState::Running);
        }
        self.draw_progress();
        let c = self.i18n.get();
        let run = self.run.borrow();
        let when =
            run.report.as_ref().map(|r| c.fmt("results.when", &[("time", &c.datetime(&r.measurement_start_time))]));
        if let Some(e) = &r.when {
            e.set_text_content(Some(&when.unwrap_or_default()));
        }
    }

    /// The progress bar and the status line, which says how far the run is or, once it is
    /// done, sums it up.
    pub(super) fn draw_progress(&self) {
        let c = self.i18n.get();
        let run = self.run.borrow();
        let (finished, done, planned) = progress_counts(&run.rows);
        let text = match run.state {
            RunState::Idle => String::new(),
            RunState::Running => {
                let total = run.rows.len();
                c.plural(
                    "progress.status",
                    total as f64,
                    &[("done", &c.num(finished as f64)), ("total", &c.num(total as f64))],
                )
            }
            RunState::Cancelled => c.text("run.cancelled"),
            RunState::Done => {
                run.report.as_ref().map(|r| words::summary(&c, words::tally(&r.measurements))).unwrap_or_default()
            }
        };
        if let Some(status) = &self.results.status {
            dom::set_text(status, &text);
        }
        if let Some(p) = &self.results.progress {
            let _ = p.set_attribute("max", &planned.max(1).to_string());
            let _ = p.set_attribute("value", &done.to_string());
        }
    }

    /// The table, built afresh (a run starts, or the language changes); each row is then
    /// redrawn alone ([`Page::draw_row`]), so other targets' progress leaves it be.
    pub(super) fn draw_table(&self) {
        let Some(host) = &self.results.table else { return };
        let c = self.i18n.get();
        let count = {
            let mut run = self.run.borrow_mut();
            for row in run.rows.iter_mut() {
                row.tr = el("tr").attr("data-target", &row.target.id).element();
            }
            run.rows.len()
        };
        if count == 0 {
            return dom::draw(host, None);
        }
        let mut head = el("tr");
        for key in ["col.platform", "col.result", "col.evidence", "col.timings"] {
            head = head.child(el("th").attr("scope", "col").text(&c.text(key)));
        }
        let mut body = el("tbody");
        for row in self.run.borrow().rows.iter() {
            body = body.node(row.tr.as_ref().map(AsRef::as_ref));
        }
        dom::draw(host, Some(el("table").child(el("thead").child(head)).child(body)));
        self.draw_rows();
    }

    /// Every row, for where its target stands now.
    pub(super) fn draw_rows(&self) {
        for i in 0..self.run.borrow().rows.len() {
            self.draw_row(i);
        }
    }

    /// Row `i`'s cells for where its target stands.
    pub(super) fn draw_row(&self, i: usize) {
        let c = self.i18n.get();
        let run = self.run.borrow();
        let controls = run.report.as_ref().and_then(|r| words::controls_typical_ms(&r.measurements));
        if let Some(row) = run.rows.get(i) {
            if let Some(tr) = &row.tr {
                draw_row(tr, row, controls, &c);
            }
        }
    }

    /// What the verdicts mean, and the ways to take the result away, once a run is done.
    pub(super) fn draw_after_run(&self) {
        let c = self.i18n.get();
        let run = self.run.borrow();
        if let Some(host) = &self.results.meanings {
            let seen: Vec<Verdict> = run
                .report
                .as_ref()
                .map(|r| Verdict::ALL.into_iter().filter(|v| r.measurements.iter().any(|m| m.verdict == *v)).collect())
                .unwrap_or_default();
            dom::draw(host, meanings(&c, &seen));
        }
        let names: Vec<(String, String)> =
            run.rows.iter().map(|row| (row.target.id.clone(), row.target.name.clone())).collect();
        if let Some(section) = &self.results.section {
            self.results.share.draw(section, &c, run.report.as_ref(), &names);
        }
    }
}

/// One target's cells for where it stands (`tr` is its row, which keeps its own element).
fn draw_row(tr: &Element, row: &Row, controls_ms: Option<f64>, c: &Catalogue) {
    let phase = &row.phase;
    let verdict = if let Phase::Done(m) = phase { m.verdict.as_str() } else { "pending" };
    let _ = tr.set_attribute("data-verdict", verdict);
    let _ = tr.set_attribute("class", &format!("verdict-{verdict}"));
    let label = match phase {
        Phase::Measuring { done, planned } => {
            c.fmt("row.measuring", &[("done", &c.num(*done as f64)), ("planned", &c.num(*planned as f64))])
        }
        Phase::Measured => c.text("row.measured"),
        Phase::Cancelled => c.text("row.cancelled"),
        Phase::Done(m) => words::verdict(c, m.verdict),
    };
    let done = if let Phase::Done(m) = phase { Some(m) } else { None };
    let mut name = el("th").attr("scope", "row").attr("data-label", &c.text("col.platform")).text(&row.target.name);
    if row.target.control {
        name = name.text(" ").child(el("span").attr("class", "tag").text(&c.text("row.control")));
    }
    let mut timings = el("td").attr("class", "timings").attr("data-label", &c.text("col.timings"));
    if let Some(bars) = done.and_then(|m| timing_bars(c, words::typical_ms(&m.attempts), controls_ms)) {
        timings = timings.child(bars);
    }
    let cells = [
        name,
        el("td")
            .attr("class", "verdict")
            .attr("data-label", &c.text("col.result"))
            .child(icon_dom(verdict))
            .child(el("span").text(&label)),
        el("td")
            .attr("class", "why")
            .attr("data-label", &c.text("col.evidence"))
            .text(&done.map(|m| words::reason(c, &m.reason)).unwrap_or_default()),
        timings.child(
            el("span")
                .attr("class", "timings-text")
                .text(&done.map(|m| words::timings(c, &m.attempts)).unwrap_or_default()),
        ),
    ];
    dom::draw(tr, cells);
}

/// What each verdict seen in this run means, and what the visitor can do next.
fn meanings(c: &Catalogue, seen: &[Verdict]) -> Vec<El> {
    if seen.is_empty() {
        return Vec::new();
    }
    let mut list = el("ul").attr("class", "meanings");
    for v in seen {
        let (meaning, next) = words::meaning(c, *v);
        list = list.child(
            el("li")
                .attr("class", &format!("verdict-{}", v.as_str()))
                .child(el("strong").child(icon_dom(v.as_str())).text(&words::verdict(c, *v)))
                .child(el("span").text(&meaning))
                .child(el("span").attr("class", "next").text(&next)),
        );
    }
    vec![el("h3").text(&c.text("meanings.heading")), list]
}
