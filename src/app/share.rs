//! Taking the result away: the whole report as a JSON file, or a short text to share that
//! names no report, browser or person.

use leptos::prelude::*;
use vantage_report::Report;
use wasm_bindgen::JsCast;

use super::I18n;
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

#[component]
pub fn Share(report: Report, names: Vec<(String, String)>) -> impl IntoView {
    let i18n = expect_context::<I18n>();
    let copied = RwSignal::new(Copied::Not);
    let text = {
        let report = report.clone();
        Signal::derive(move || {
            i18n.with(|c| words::share_text(c, &report.measurement_start_time, &report.measurements, &names))
        })
    };
    let on_download = move |_| {
        let minute: String = report.measurement_start_time.chars().take(16).filter(|c| *c != ':').collect();
        download(&format!("vantage-{minute}.json"), &api::report_json(&report));
    };
    let on_copy = move |_| {
        let t = text.get_untracked();
        leptos::task::spawn_local(async move { copied.set(if copy(&t).await { Copied::Yes } else { Copied::Failed }) });
    };
    view! {
        <div class="share">
            <button class="secondary" data-testid="download" on:click=on_download>
                {i18n.tr("actions.download")}
            </button>
            <button class="secondary" data-testid="copy" on:click=on_copy>
                {i18n.tr("actions.copy")}
            </button>
            <p class="share-status" role="status">
                {Signal::derive(move || match copied.get() {
                    Copied::Not => String::new(),
                    Copied::Yes => i18n.text("actions.copied"),
                    Copied::Failed => i18n.text("actions.copy_failed"),
                })}
            </p>
            <details open=Signal::derive(move || copied.get() == Copied::Failed)>
                <summary>{i18n.tr("actions.share_text")}</summary>
                <textarea
                    readonly
                    rows="8"
                    data-testid="share-text"
                    aria-label=i18n.tr("actions.share_text")
                    prop:value=text
                ></textarea>
            </details>
        </div>
    }
}
