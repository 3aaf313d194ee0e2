//! Taking the result away: the whole report as a JSON file, or a short text to share that
//! names no report, browser or person.

use std::cell::Cell;

use vantage_report::Report;
use wasm_bindgen::JsCast;
use web_sys::Element;

use super::dom::{self, el};
use super::{I18n, Page};
use crate::i18n::Catalogue;
use crate::{api, i18n::words};

/// Offers `text` as a file named `name` for download.
fn download(name: &str, text: &str) -> Option<()> {
    let doc = web_sys::window()?.document()?;
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").ok()?.dyn_into().ok()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Some(())
}

/// `navigator.clipboard.writeText(text)`, resolved to whether it worked.
async fn copy(text: &str) -> bool {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else { return false };
    let Ok(clipboard) = js_sys::Reflect::get(&navigator, &"clipboard".into()) else { return false };
    let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into()) else { return false };
    let Some(write) = write.dyn_ref::<js_sys::Function>() else { return false };
    let Ok(promise) = write.call1(&clipboard, &text.into()) else { return false };
    match promise.dyn_into::<js_sys::Promise>() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p).await.is_ok(),
        Err(_) => false,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Copied {
    Not,
    Yes,
    Failed,
}

/// The download and copy buttons with the text they share; in the results section while a
/// finished run's report is there.
pub struct Share {
    view: Option<Element>,
    download: Option<Element>,
    copy: Option<Element>,
    status: Option<Element>,
    details: Option<Element>,
    text: Option<Element>,
    copied: Cell<Copied>,
}

impl Share {
    pub fn build(i18n: &I18n) -> Share {
        let (mut download, mut copy, mut status, mut details, mut text) = (None, None, None, None, None);
        let button = |testid: &str, key: &'static str, keep: &mut Option<Element>| {
            i18n.label(el("button").attr("class", "secondary").attr("data-testid", testid), key).keep(keep)
        };
        let area = el("textarea").attr("readonly", "").attr("rows", "8").attr("data-testid", "share-text");
        let view = el("div")
            .attr("class", "share")
            .child(button("download", "actions.download", &mut download))
            .child(button("copy", "actions.copy", &mut copy))
            .child(el("p").attr("class", "share-status").attr("role", "status").keep(&mut status))
            .child(
                el("details")
                    .child(i18n.label(el("summary"), "actions.share_text"))
                    .child(i18n.attr(area, "aria-label", "actions.share_text").keep(&mut text))
                    .keep(&mut details),
            )
            .element();
        Share { view, download, copy, status, details, text, copied: Cell::new(Copied::Not) }
    }

    pub fn wire(&self, page: &'static Page) {
        if let Some(b) = &self.download {
            let on_download = move |_| {
                if let Some(report) = &page.run.borrow().report {
                    let minute: String = report.measurement_start_time.chars().take(16).filter(|c| *c != ':').collect();
                    download(&format!("vantage-{minute}.json"), &api::report_json(report));
                }
            };
            dom::on(b, "click", Box::new(on_download));
        }
        if let Some(b) = &self.copy {
            let on_copy = move |_| {
                let share = &page.results.share;
                let text = share.text.as_ref().and_then(|t| js_sys::Reflect::get(t, &"value".into()).ok());
                let text = text.and_then(|t| t.as_string()).unwrap_or_default();
                let run = page.run.borrow().number;
                wasm_bindgen_futures::spawn_local(async move {
                    let copied = if copy(&text).await { Copied::Yes } else { Copied::Failed };
                    // A slow clipboard's answer for an earlier run is not this run's.
                    if page.run.borrow().number == run {
                        let share = &page.results.share;
                        share.copied.set(copied);
                        // The text to copy by hand opens when the clipboard refused it.
                        if let Some(d) = &share.details {
                            dom::flag(d, "open", copied == Copied::Failed);
                        }
                        share.draw_status(&page.i18n.get());
                    }
                });
            };
            dom::on(b, "click", Box::new(on_copy));
        }
    }

    fn draw_status(&self, c: &Catalogue) {
        let text = match self.copied.get() {
            Copied::Not => String::new(),
            Copied::Yes => c.text("actions.copied"),
            Copied::Failed => c.text("actions.copy_failed"),
        };
        if let Some(s) = &self.status {
            dom::set_text(s, &text);
        }
    }

    /// In `section` with `report`'s share text in `c`'s language, or out while there is no
    /// report; `names` are the targets' ids and names.
    pub fn draw(&self, section: &Element, c: &Catalogue, report: Option<&Report>, names: &[(String, String)]) {
        let Some(view) = &self.view else { return };
        let Some(report) = report else {
            // Out with its run: the next run's share starts closed, with nothing copied.
            self.copied.set(Copied::Not);
            if let Some(d) = &self.details {
                dom::flag(d, "open", false);
            }
            return view.remove();
        };
        if !view.is_connected() {
            let _ = section.append_with_node_1(view);
        }
        let text = words::share_text(c, &report.measurement_start_time, &report.measurements, names);
        if let Some(t) = &self.text {
            let _ = js_sys::Reflect::set(t, &"value".into(), &text.into());
        }
        self.draw_status(c);
    }
}
