//! Informed consent before the first run: what the test does, that anyone watching the
//! connection can see it, what is submitted and what is never kept, and the data policy.
//!
//! The choice is remembered only if the visitor asks, and only in this browser's
//! `localStorage` (one key, [`KEY`]); unticking either box or "Forget my choice" removes it.

use std::cell::Cell;

use web_sys::Element;

use super::dom::{self, el, El};
use super::{I18n, Page};

/// The one thing the page ever stores, and only when asked to.
pub const KEY: &str = "vantage.consent";
const VALUE: &str = "v1";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Whether the visitor asked this browser to remember their consent.
pub fn remembered() -> bool {
    storage().and_then(|s| s.get_item(KEY).ok()?).is_some_and(|v| v == VALUE)
}

fn remember(yes: bool) {
    if let Some(s) = storage() {
        let _ = if yes { s.set_item(KEY, VALUE) } else { s.remove_item(KEY) };
    }
}

fn checked(e: &Element) -> bool {
    js_sys::Reflect::get(e, &"checked".into()).is_ok_and(|v| v.is_truthy())
}

fn set_checked(e: &Element, on: bool) {
    let _ = js_sys::Reflect::set(e, &"checked".into(), &on.into());
}

pub struct Consent {
    given: Cell<bool>,
    keep: Cell<bool>,
    was_remembered: bool,
    heading: Option<Element>,
    note: Option<Element>,
    forget: Option<Element>,
    agree: Option<Element>,
    remember: Option<Element>,
}

impl Consent {
    pub fn build(i18n: &I18n) -> (Consent, El) {
        let was_remembered = remembered();
        let (mut heading, mut forget, mut agree, mut remember) = (None, None, None, None);
        let forget_button =
            i18n.label(el("button").attr("class", "link").attr("data-testid", "forget"), "consent.forget");
        let note = i18n
            .label(el("p").attr("class", "remembered"), "consent.remembered")
            .text(" ")
            .child(forget_button.keep(&mut forget))
            .element();
        let details = el("details")
            .child(i18n.label(el("summary"), "consent.details"))
            .child(i18n.label(el("p"), "consent.what"))
            .child(i18n.label(el("p").attr("class", "risk"), "consent.observer"))
            .child(i18n.label(el("p"), "consent.kept"))
            .child(el("p").child(
                i18n.label(el("a").attr("href", "/static/privacy.html").attr("hreflang", "en"), "consent.privacy"),
            ));
        let details = if was_remembered { details } else { details.attr("open", "") };
        let check = |testid: &str, class: &str, key: &'static str, keep: &mut Option<Element>| {
            el("label")
                .attr("class", class)
                .child(el("input").attr("type", "checkbox").attr("data-testid", testid).keep(keep))
                .child(i18n.label(el("span"), key))
        };
        let view = el("section")
            .attr("class", "consent-section")
            .attr("aria-labelledby", "consent-heading")
            .child(i18n.label(el("h2").attr("id", "consent-heading"), "consent.heading").keep(&mut heading))
            .child(details)
            .child(check("consent", "check consent", "consent.agree", &mut agree))
            .child(check("remember", "check remember", "consent.remember", &mut remember));
        let consent = Consent {
            given: Cell::new(was_remembered),
            keep: Cell::new(was_remembered),
            was_remembered,
            heading,
            note,
            forget,
            agree,
            remember,
        };
        (consent, view)
    }

    /// Whether the visitor has agreed to this run.
    pub fn given(&self) -> bool {
        self.given.get()
    }

    /// Each box with the choice it holds: consent to this run, and remembering it.
    fn boxes(&self) -> [(&Option<Element>, &Cell<bool>); 2] {
        [(&self.agree, &self.given), (&self.remember, &self.keep)]
    }

    pub fn wire(&self, page: &'static Page) {
        for (i, (input, _)) in self.boxes().into_iter().enumerate() {
            let Some(input) = input else { continue };
            let on_change = move |_| {
                let (input, value) = page.consent.boxes()[i];
                value.set(input.as_ref().is_some_and(checked));
                page.consent_changed();
            };
            dom::on(input, "change", Box::new(on_change));
        }
        if let Some(forget) = &self.forget {
            let on_forget = move |_| {
                page.consent.keep.set(false);
                page.consent.given.set(false);
                page.consent_changed();
            };
            dom::on(forget, "click", Box::new(on_forget));
        }
        page.consent_changed();
    }
}

impl Page {
    /// Stores the choice exactly while both boxes are ticked, and redraws what depends on it.
    fn consent_changed(&self) {
        let c = &self.consent;
        remember(c.given.get() && c.keep.get());
        for (input, value) in c.boxes() {
            if let Some(input) = input {
                set_checked(input, value.get());
            }
        }
        if let (Some(heading), Some(note)) = (&c.heading, &c.note) {
            dom::show_after(heading, note, c.was_remembered && c.keep.get());
        }
        self.draw_controls();
    }
}
