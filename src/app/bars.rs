//! A target's typical time as a small bar beside the controls' typical time, on one scale per
//! row. Drawn with SVG attributes (no inline styles, so a strict Content-Security-Policy keeps
//! them), mirrored by the stylesheet in right-to-left languages. A failed target's bar is an
//! outline, not a different colour, and the legend beside it says the same in words. Plain
//! DOM ([`super::dom`]), drawn with the row it belongs to.

use super::dom::{el, svg, El};
use crate::i18n::format::fixed;
use crate::i18n::Catalogue;

/// Width in percent of `v` on a scale up to `max`, never too thin to see.
fn width(v: f64, max: f64) -> f64 {
    if max <= 0.0 {
        return 2.0;
    }
    (v / max * 100.0).clamp(2.0, 100.0)
}

fn bar(class: &str, y: &str, v: f64, max: f64) -> El {
    svg("rect")
        .attr("class", class)
        .attr("x", "0.5")
        .attr("y", y)
        .attr("height", "7")
        .attr("width", &fixed(width(v, max) - 1.0, 1))
}

/// The bars of a target whose typical time is `this` (`(ms, succeeded)`), beside the
/// controls' typical time; nothing without a time of its own.
pub fn timing_bars(c: &Catalogue, this: Option<(f64, bool)>, controls: Option<f64>) -> Option<El> {
    let (ms, ok) = this?;
    let max = ms.max(controls.unwrap_or(0.0));
    let time = if ok { c.ms(ms) } else { c.fmt("bars.failed_after", &[("time", &c.ms(ms))]) };
    let mut chart = svg("svg")
        .attr("viewBox", "0 0 100 20")
        .attr("preserveAspectRatio", "none")
        .attr("aria-hidden", "true")
        .attr("focusable", "false")
        .child(bar(if ok { "bar this" } else { "bar this failed" }, "1.5", ms, max));
    let mut legend =
        el("span").attr("class", "bar-legend").child(el("span").text(&format!("{}: {time}", c.text("bars.this"))));
    if let Some(v) = controls {
        chart = chart.child(bar("bar control", "11.5", v, max));
        legend = legend.child(el("span").text(&format!("{}: {}", c.text("bars.controls"), c.ms(v))));
    }
    Some(el("div").attr("class", "bars").child(chart).child(legend))
}
