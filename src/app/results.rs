//! The run as it goes and once it is done: a progress bar and a live status line (which
//! becomes the summary), one row per target updated through its own signal, what each verdict
//! found means, and the ways to take the result away.

use leptos::html;
use leptos::prelude::*;
use vantage_report::{Report, Verdict};

use super::bars::timing_bars;
use super::dom::{self, el, svg, El};
use super::share::Share;
use super::{I18n, Phase, Row, RunState};
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

fn progress_counts(rows: &[Row]) -> (usize, usize, usize) {
    let finished = rows.iter().filter(|r| r.phase.with(|p| !matches!(p, Phase::Measuring { .. }))).count();
    let (done, planned) = rows.iter().fold((0, 0), |(d, p), r| {
        r.phase.with(|phase| match phase {
            Phase::Measuring { done, planned } => (d + done, p + planned),
            // Finished rows count as complete, whatever they had planned.
            _ => (d + 1, p + 1),
        })
    });
    (finished, done, planned)
}

#[component]
pub fn Results(
    rows: RwSignal<Vec<Row>>,
    run_state: RwSignal<RunState>,
    report: RwSignal<Option<Report>>,
    heading: NodeRef<html::H2>,
) -> impl IntoView {
    let i18n = expect_context::<I18n>();
    let counts = Memo::new(move |_| rows.with(|rs| progress_counts(rs)));
    let controls_ms =
        Memo::new(move |_| report.with(|r| r.as_ref().and_then(|r| words::controls_typical_ms(&r.measurements))));
    let status = move || match run_state.get() {
        RunState::Idle => String::new(),
        RunState::Running => {
            let (finished, _, _) = counts.get();
            let total = rows.with(Vec::len);
            i18n.with(|c| {
                c.plural(
                    "progress.status",
                    total as f64,
                    &[("done", &c.num(finished as f64)), ("total", &c.num(total as f64))],
                )
            })
        }
        RunState::Cancelled => i18n.text("run.cancelled"),
        RunState::Done => report
            .with(|r| r.as_ref().map(|r| i18n.with(|c| words::summary(c, words::tally(&r.measurements)))))
            .unwrap_or_default(),
    };
    let when = move || {
        report.with(|r| {
            r.as_ref()
                .map(|r| i18n.with(|c| c.fmt("results.when", &[("time", &c.datetime(&r.measurement_start_time))])))
        })
    };
    // The table as plain DOM ([`dom`]), rebuilt when a run starts (or the language changes);
    // each row is then redrawn by its own effect, so other targets' progress leaves it alone.
    let host = NodeRef::<html::Div>::new();
    Effect::new(move || {
        let Some(host) = host.get() else { return };
        let rows = rows.get();
        if rows.is_empty() {
            return dom::draw(&host, None);
        }
        let mut head = el("tr");
        for key in ["col.platform", "col.result", "col.evidence", "col.timings"] {
            head = head.child(el("th").attr("scope", "col").text(&i18n.text(key)));
        }
        let mut body = el("tbody");
        for row in rows {
            let tr = el("tr").attr("data-target", &row.target.id);
            if let Some(e) = tr.element() {
                Effect::new(move || {
                    let controls = controls_ms.get();
                    row.phase.with(|p| i18n.with(|c| draw_row(&e, &row, p, controls, c)));
                });
            }
            body = body.child(tr);
        }
        dom::draw(&host, Some(el("table").child(el("thead").child(head)).child(body)));
    });
    view! {
        <section
            class="results"
            data-testid="results"
            data-state=Signal::derive(move || run_state.get().as_str())
            aria-labelledby=Signal::derive(move || (run_state.get() != RunState::Idle).then_some("results-heading"))
        >
            <Show when=move || run_state.get() != RunState::Idle>
                <h2 id="results-heading" tabindex="-1" node_ref=heading>{i18n.tr("results.heading")}</h2>
            </Show>
            <Show when=move || run_state.get() == RunState::Running>
                <progress
                    max=Signal::derive(move || counts.get().2.max(1))
                    value=Signal::derive(move || counts.get().1)
                    aria-label=i18n.tr("progress.label")
                ></progress>
            </Show>
            <p
                class=Signal::derive(move || format!("status-line {}", run_state.get().as_str()))
                data-testid="summary"
                role="status"
                aria-live="polite"
            >
                {Signal::derive(status)}
            </p>
            <p class="when">{Signal::derive(when)}</p>
            <div class="table-host" node_ref=host></div>
            <Meanings report/>
            {move || {
                report
                    .get()
                    .map(|r| {
                        let names = rows.with_untracked(|rs| {
                            rs.iter().map(|row| (row.target.id.clone(), row.target.name.clone())).collect()
                        });
                        view! { <Share report=r names/> }
                    })
            }}
        </section>
    }
}

/// One target's cells for where it stands (`tr` is its row, which keeps its own element).
fn draw_row(tr: &web_sys::Element, row: &Row, phase: &Phase, controls_ms: Option<f64>, c: &Catalogue) {
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

/// What each verdict seen in this run means, and what the visitor can do next: drawn as
/// plain DOM ([`dom`]), whole, whenever the report or the language changes.
#[component]
fn Meanings(report: RwSignal<Option<Report>>) -> impl IntoView {
    let i18n = expect_context::<I18n>();
    let host = NodeRef::<html::Div>::new();
    Effect::new(move || {
        let Some(host) = host.get() else { return };
        let seen = report.with(|r| {
            let Some(r) = r else { return Vec::new() };
            Verdict::ALL.into_iter().filter(|v| r.measurements.iter().any(|m| m.verdict == *v)).collect::<Vec<_>>()
        });
        let content = i18n.with(|c| {
            if seen.is_empty() {
                return Vec::new();
            }
            let mut list = el("ul").attr("class", "meanings");
            for v in seen {
                let (meaning, next) = words::meaning(c, v);
                list = list.child(
                    el("li")
                        .attr("class", &format!("verdict-{}", v.as_str()))
                        .child(el("strong").child(icon_dom(v.as_str())).text(&words::verdict(c, v)))
                        .child(el("span").text(&meaning))
                        .child(el("span").attr("class", "next").text(&next)),
                );
            }
            vec![el("h3").text(&c.text("meanings.heading")), list]
        });
        dom::draw(&host, content);
    });
    view! { <div class="meanings-host" node_ref=host></div> }
}
