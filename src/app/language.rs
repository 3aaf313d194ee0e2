//! The language switcher: the browser's preferred language at first, any other on demand.
//! Only the chosen language's catalogue is fetched; the choice goes into the address
//! (`?lang=ur`) so a reload or a shared link keeps it, and nowhere else.

use leptos::prelude::*;

use super::{load_language, I18n};
use crate::i18n::{self, LANGUAGES};

#[component]
pub fn Switcher(i18n: I18n) -> impl IntoView {
    let failed = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let preferred = i18n::preferred();
    if preferred.code != "en" {
        load_language(i18n, preferred, failed, busy);
    }
    let on_change = move |ev| {
        let Some(language) = i18n::language(&event_target_value(&ev)) else { return };
        load_language(i18n, language, failed, busy);
        if let Some(w) = web_sys::window() {
            let url = format!("?lang={}", language.code);
            let _ = w.history().and_then(|h| h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url)));
        }
    };
    view! {
        <div class="language">
            <label for="language">{i18n.tr("lang.label")}</label>
            " "
            <select id="language" data-testid="language" on:change=on_change>
                {LANGUAGES
                    .iter()
                    .map(|l| {
                        view! {
                            <option value=l.code lang=l.code selected=Signal::derive(move || i18n.with(|c| c.lang() == l.code))>
                                {l.name}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <span class="language-status" role="status">
                {Signal::derive(move || {
                    if busy.get() {
                        i18n.text("lang.loading")
                    } else if failed.get() {
                        i18n.text("lang.failed")
                    } else {
                        String::new()
                    }
                })}
            </span>
        </div>
    }
}
