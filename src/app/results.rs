//! The run as it goes and once it is done: a progress bar and a live status line (which
//! becomes the summary), one row per target updated through its own signal, what each verdict
//! found means, and the ways to take the result away.

use leptos::html;
use leptos::prelude::*;
use vantage_report::{Report, Verdict};

use super::bars::TimingBars;
use super::dom::{self, el, svg, El};
use super::share::Share;
use super::{I18n, Phase, Row, RunState};
use crate::i18n::words;

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
fn icon(verdict: Signal<&'static str>) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">
            <circle cx="8" cy="8" r="7"></circle>
            <path d=Signal::derive(move || icon_path(verdict.get()))></path>
        </svg>
    }
}

/// The same icon as plain DOM, for the panels drawn by [`dom`].
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
            <Show when=move || rows.with(|rs| !rs.is_empty())>
                <table>
                    <thead>
                        <tr>
                            <th scope="col">{i18n.tr("col.platform")}</th>
                            <th scope="col">{i18n.tr("col.result")}</th>
                            <th scope="col">{i18n.tr("col.evidence")}</th>
                            <th scope="col">{i18n.tr("col.timings")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        // Rows change all at once (a new run), so they are rebuilt rather than
                        // diffed by key: `<For>` would bring its keyed diffing into the page.
                        {move || {
                            rows.get().into_iter().map(|row| view! { <ResultRow row controls_ms/> }).collect_view()
                        }}
                    </tbody>
                </table>
            </Show>
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

/// One target: its own signal drives it, so other targets' progress leaves it alone.
#[component]
fn ResultRow(row: Row, controls_ms: Memo<Option<f64>>) -> impl IntoView {
    let i18n = expect_context::<I18n>();
    let phase = row.phase;
    let verdict =
        Signal::derive(move || phase.with(|p| if let Phase::Done(m) = p { m.verdict.as_str() } else { "pending" }));
    let label = move || {
        phase.with(|p| {
            i18n.with(|c| match p {
                Phase::Measuring { done, planned } => {
                    c.fmt("row.measuring", &[("done", &c.num(*done as f64)), ("planned", &c.num(*planned as f64))])
                }
                Phase::Measured => c.text("row.measured"),
                Phase::Cancelled => c.text("row.cancelled"),
                Phase::Done(m) => words::verdict(c, m.verdict),
            })
        })
    };
    let why = move || {
        phase.with(|p| if let Phase::Done(m) = p { i18n.with(|c| words::reason(c, &m.reason)) } else { String::new() })
    };
    let timings = move || {
        phase.with(
            |p| if let Phase::Done(m) = p { i18n.with(|c| words::timings(c, &m.attempts)) } else { String::new() },
        )
    };
    let bars = move || {
        phase.with(|p| match p {
            Phase::Done(m) => {
                Some(view! { <TimingBars this=words::typical_ms(&m.attempts) controls=controls_ms.get()/> })
            }
            _ => None,
        })
    };
    let name = row.target.name.clone();
    let control = row.target.control;
    view! {
        <tr
            data-target=row.target.id.clone()
            data-verdict=verdict
            class=Signal::derive(move || format!("verdict-{}", verdict.get()))
        >
            <th scope="row" data-label=i18n.tr("col.platform")>
                {name}
                {control.then(|| view! { " " <span class="tag">{i18n.tr("row.control")}</span> })}
            </th>
            <td class="verdict" data-label=i18n.tr("col.result")>
                {icon(verdict)}
                <span>{Signal::derive(label)}</span>
            </td>
            <td class="why" data-label=i18n.tr("col.evidence")>{Signal::derive(why)}</td>
            <td class="timings" data-label=i18n.tr("col.timings")>
                {bars}
                <span class="timings-text">{Signal::derive(timings)}</span>
            </td>
        </tr>
    }
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
