//! "What others see": once a run is done, the crowd's recent aggregate for the visitor's own
//! network and country beside their own verdicts, so a visitor can tell a block that everyone
//! on their network meets from a problem of their own. Read from `/api/v1/nearby` (aggregates
//! only; cells under the collector's threshold never arrive) after the run, never before.
//! Drawn as plain DOM ([`dom`]): it is redrawn whole whenever it changes.

use std::cell::RefCell;

use vantage_report::Report;
use web_sys::Element;

use super::dom::{self, el, El};
use super::{Page, Row};
use crate::api::{Nearby, NearbyCell};
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

fn table(c: &Catalogue, nearby: &Nearby, rows: &[Row], report: &Report, section: El) -> El {
    let cell = |cells: &'_ [NearbyCell], id: &str| cells.iter().find(|x| x.target == id).cloned();
    let country = nearby.country.as_deref().map(|code| format::region(c.lang(), code)).unwrap_or_default();
    let mut body = el("tbody");
    for r in rows.iter().filter(|r| !r.target.control) {
        let id = &r.target.id;
        let yours = report.measurements.iter().find(|m| &m.target_id == id).map(|m| words::verdict(c, m.verdict));
        body = body.child(
            el("tr")
                .attr("data-crowd-target", id)
                .child(el("th").attr("scope", "row").text(&r.target.name))
                .child(el("td").text(&yours.unwrap_or_default()))
                .child(el("td").attr("data-scope", "network").text(&share(c, cell(&nearby.network_cells, id).as_ref())))
                .child(
                    el("td").attr("data-scope", "country").text(&share(c, cell(&nearby.country_cells, id).as_ref())),
                ),
        );
    }
    let mut head = el("tr");
    for key in ["crowd.platform", "crowd.you", "crowd.network", "crowd.country"] {
        head = head.child(el("th").attr("scope", "col").text(&c.text(key)));
    }
    section
        .child(
            el("p")
                .text(&c.fmt("crowd.intro", &[("country", &country), ("min", &c.num(f64::from(nearby.min_reports)))])),
        )
        .child(el("table").attr("class", "crowd-table").child(el("thead").child(head)).child(body))
}

/// The crowd's answer for the last finished run, and where it is drawn.
pub struct Crowd {
    host: Option<Element>,
    nearby: RefCell<Option<Nearby>>,
}

impl Crowd {
    pub fn build() -> (Crowd, El) {
        let mut host = None;
        let view = el("div").attr("class", "crowd-host").keep(&mut host);
        (Crowd { host, nearby: RefCell::new(None) }, view)
    }

    pub fn clear(&self) {
        *self.nearby.borrow_mut() = None;
    }

    pub fn set(&self, nearby: Option<Nearby>) {
        *self.nearby.borrow_mut() = nearby;
    }
}

impl Page {
    /// What others see, beside the finished run's verdicts (nothing before the crowd answered).
    pub(super) fn draw_crowd(&self) {
        let Some(host) = &self.crowd.host else { return };
        let c = self.i18n.get();
        let run = self.run.borrow();
        let nearby = self.crowd.nearby.borrow();
        let content = match (&*nearby, &run.report) {
            (Some(nearby), Some(report)) => {
                let known =
                    nearby.country.is_some() && !(nearby.country_cells.is_empty() && nearby.network_cells.is_empty());
                let section = el("section")
                    .attr("class", "crowd")
                    .attr("data-testid", "crowd")
                    .attr("data-state", if known { "known" } else { "none" })
                    .child(el("h2").text(&c.text("crowd.title")));
                Some(if known {
                    table(&c, nearby, &run.rows, report, section)
                } else {
                    section.child(el("p").text(&c.text("crowd.none")))
                })
            }
            _ => None,
        };
        dom::draw(host, content);
    }
}
