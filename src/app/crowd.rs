//! "What others see": once a run is done, the crowd's recent aggregate for the visitor's own
//! network and country beside their own verdicts, so a visitor can tell a block that everyone
//! on their network meets from a problem of their own. Read from `/api/v1/nearby` (aggregates
//! only; cells under the collector's threshold never arrive) after the run, never before.

use leptos::prelude::*;
use vantage_report::Report;

use super::{I18n, Row};
use crate::api::{self, Nearby, NearbyCell};
use crate::i18n::{format, words, Catalogue};

fn share(c: &Catalogue, cell: Option<&NearbyCell>) -> String {
    match cell {
        Some(cell) if cell.decided > 0 => c.fmt(
            "crowd.share",
            &[("disrupted", &c.num(f64::from(cell.disrupted))), ("decided", &c.num(f64::from(cell.decided)))],
        ),
        _ => c.text("crowd.withheld"),
    }
}

fn table(c: &Catalogue, nearby: &Nearby, rows: &[Row], report: &Report) -> impl IntoView {
    let cell = |cells: &[NearbyCell], id: &str| cells.iter().find(|x| x.target == id).cloned();
    let country = nearby.country.as_deref().map(|code| format::region(c.lang(), code)).unwrap_or_default();
    let body: Vec<_> = rows
        .iter()
        .filter(|r| !r.target.control)
        .map(|r| {
            let id = r.target.id.clone();
            let yours = report.measurements.iter().find(|m| m.target_id == id).map(|m| words::verdict(c, m.verdict));
            let network = share(c, cell(&nearby.network_cells, &id).as_ref());
            let in_country = share(c, cell(&nearby.country_cells, &id).as_ref());
            view! {
                <tr data-crowd-target=id>
                    <th scope="row">{r.target.name.clone()}</th>
                    <td>{yours.unwrap_or_default()}</td>
                    <td data-scope="network">{network}</td>
                    <td data-scope="country">{in_country}</td>
                </tr>
            }
        })
        .collect();
    view! {
        <p>{c.fmt("crowd.intro", &[("country", &country), ("min", &c.num(f64::from(nearby.min_reports)))])}</p>
        <table class="crowd-table">
            <thead>
                <tr>
                    <th scope="col">{c.text("crowd.platform")}</th>
                    <th scope="col">{c.text("crowd.you")}</th>
                    <th scope="col">{c.text("crowd.network")}</th>
                    <th scope="col">{c.text("crowd.country")}</th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
}

#[component]
pub fn Crowd(rows: RwSignal<Vec<Row>>, report: RwSignal<Option<Report>>) -> impl IntoView {
    let i18n = expect_context::<I18n>();
    // Asked once per finished run; nothing is asked while no run has finished.
    let nearby = RwSignal::new(None::<Nearby>);
    Effect::new(move || {
        nearby.set(None);
        if report.with(Option::is_some) {
            leptos::task::spawn_local(async move { nearby.set(api::nearby().await.ok()) });
        }
    });
    move || {
        nearby.with(|nearby| {
            let nearby = nearby.as_ref()?;
            let known =
                nearby.country.is_some() && !(nearby.country_cells.is_empty() && nearby.network_cells.is_empty());
            let content = report.with(|r| {
                let r = r.as_ref()?;
                Some(i18n.with(|c| {
                    if known {
                        rows.with(|rows| table(c, nearby, rows, r)).into_any()
                    } else {
                        view! { <p>{c.text("crowd.none")}</p> }.into_any()
                    }
                }))
            })?;
            Some(view! {
                <section class="crowd" data-testid="crowd" data-state=if known { "known" } else { "none" }>
                    <h2>{i18n.tr("crowd.title")}</h2>
                    {content}
                </section>
            })
        })
    }
}
