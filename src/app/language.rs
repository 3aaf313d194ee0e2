//! The language switcher: the browser's preferred language at first, any other on demand.
//! Only the chosen language's catalogue is fetched; the choice goes into the address
//! (`?lang=ur`) so a reload or a shared link keeps it, and nowhere else.

use std::cell::Cell;

use wasm_bindgen::JsValue;
use web_sys::Element;

use super::dom::{self, el, El};
use super::{I18n, Page};
use crate::i18n::{self, LANGUAGES};

pub struct Switcher {
    select: Option<Element>,
    status: Option<Element>,
    busy: Cell<bool>,
    failed: Cell<bool>,
}

impl Switcher {
    pub fn build(i18n: &I18n) -> (Switcher, El) {
        let (mut select, mut status) = (None, None);
        let mut options = el("select").attr("id", "language").attr("data-testid", "language");
        for l in &LANGUAGES {
            options = options.child(el("option").attr("value", l.code).attr("lang", l.code).text(l.name));
        }
        let view = el("div")
            .attr("class", "language")
            .child(i18n.label(el("label").attr("for", "language"), "lang.label"))
            .text(" ")
            .child(options.keep(&mut select))
            .child(el("span").attr("class", "language-status").attr("role", "status").keep(&mut status));
        (Switcher { select, status, busy: Cell::new(false), failed: Cell::new(false) }, view)
    }

    pub fn loading(&self, busy: bool, failed: bool) {
        self.busy.set(busy);
        self.failed.set(failed);
    }

    pub fn wire(&self, page: &'static Page) {
        let preferred = i18n::preferred();
        if preferred.code != "en" {
            page.load_language(preferred);
        }
        let Some(select) = &self.select else { return };
        let on_change = move |_| {
            let Some(value) = page.language.select.as_ref().and_then(|s| js_sys::Reflect::get(s, &"value".into()).ok())
            else {
                return;
            };
            let Some(language) = value.as_string().and_then(|v| i18n::language(&v)) else { return };
            page.load_language(language);
            if let Some(w) = web_sys::window() {
                let url = format!("?lang={}", language.code);
                let _ = w.history().and_then(|h| h.replace_state_with_url(&JsValue::NULL, "", Some(&url)));
            }
        };
        dom::on(select, "change", Box::new(on_change));
    }
}

impl Page {
    /// The switcher shows the page's language.
    pub(super) fn draw_language(&self) {
        if let Some(select) = &self.language.select {
            let _ = js_sys::Reflect::set(select, &"value".into(), &self.i18n.get().lang().into());
        }
        self.draw_language_status();
    }

    /// Whether another language is loading or failed to (the select keeps the visitor's choice
    /// meanwhile).
    pub(super) fn draw_language_status(&self) {
        let c = self.i18n.get();
        let s = &self.language;
        let status = if s.busy.get() {
            c.text("lang.loading")
        } else if s.failed.get() {
            c.text("lang.failed")
        } else {
            String::new()
        };
        if let Some(e) = &s.status {
            dom::set_text(e, &status);
        }
    }
}
