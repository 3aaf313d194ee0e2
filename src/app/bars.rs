//! A target's typical time as a small bar beside the controls' typical time, on one scale per
//! row. Drawn with SVG attributes (no inline styles, so a strict Content-Security-Policy keeps
//! them), mirrored by the stylesheet in right-to-left languages. A failed target's bar is an
//! outline, not a different colour, and the legend beside it says the same in words.

use leptos::prelude::*;

use super::I18n;
use crate::i18n::format::fixed;

/// Width in percent of `v` on a scale up to `max`, never too thin to see.
fn width(v: f64, max: f64) -> f64 {
    if max <= 0.0 {
        return 2.0;
    }
    (v / max * 100.0).clamp(2.0, 100.0)
}

#[component]
pub fn TimingBars(this: Option<(f64, bool)>, controls: Option<f64>) -> impl IntoView {
    let i18n = expect_context::<I18n>();
    let (ms, ok) = this?;
    let max = ms.max(controls.unwrap_or(0.0));
    let this_label = move || {
        i18n.with(|c| {
            let time = if ok { c.ms(ms) } else { c.fmt("bars.failed_after", &[("time", &c.ms(ms))]) };
            format!("{}: {time}", c.text("bars.this"))
        })
    };
    Some(view! {
        <div class="bars">
            <svg viewBox="0 0 100 20" preserveAspectRatio="none" aria-hidden="true" focusable="false">
                <rect
                    class=if ok { "bar this" } else { "bar this failed" }
                    x="0.5"
                    y="1.5"
                    height="7"
                    width=fixed(width(ms, max) - 1.0, 1)
                ></rect>
                {controls
                    .map(|v| {
                        view! {
                            <rect class="bar control" x="0.5" y="11.5" height="7" width=fixed(width(v, max) - 1.0, 1)></rect>
                        }
                    })}
            </svg>
            <span class="bar-legend">
                <span>{Signal::derive(this_label)}</span>
                {controls
                    .map(|v| {
                        let label = move || i18n.with(|c| format!("{}: {}", c.text("bars.controls"), c.ms(v)));
                        view! { <span>{Signal::derive(label)}</span> }
                    })}
            </span>
        </div>
    })
}
