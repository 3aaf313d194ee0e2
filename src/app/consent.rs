//! Informed consent before the first run: what the test does, that anyone watching the
//! connection can see it, what is submitted and what is never kept, and the data policy.
//!
//! The choice is remembered only if the visitor asks, and only in this browser's
//! `localStorage` (one key, [`KEY`]); unticking either box or "Forget my choice" removes it.

use leptos::prelude::*;

use super::I18n;

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

#[component]
pub fn Consent(consent: RwSignal<bool>) -> impl IntoView {
    let i18n = expect_context::<I18n>();
    let was_remembered = remembered();
    let keep = RwSignal::new(was_remembered);
    if was_remembered {
        consent.set(true);
    }
    // Stored exactly while both boxes are ticked.
    Effect::new(move || remember(consent.get() && keep.get()));
    let forget = move |_| {
        keep.set(false);
        consent.set(false);
    };
    view! {
        <section class="consent-section" aria-labelledby="consent-heading">
            <h2 id="consent-heading">{i18n.tr("consent.heading")}</h2>
            <Show when=move || was_remembered && keep.get()>
                <p class="remembered">
                    {i18n.tr("consent.remembered")}
                    " "
                    <button class="link" data-testid="forget" on:click=forget>
                        {i18n.tr("consent.forget")}
                    </button>
                </p>
            </Show>
            <details open=!was_remembered>
                <summary>{i18n.tr("consent.details")}</summary>
                <p>{i18n.tr("consent.what")}</p>
                <p class="risk">{i18n.tr("consent.observer")}</p>
                <p>{i18n.tr("consent.kept")}</p>
                <p>
                    <a href="/static/privacy.html" hreflang="en">{i18n.tr("consent.privacy")}</a>
                </p>
            </details>
            <label class="check consent">
                <input
                    type="checkbox"
                    data-testid="consent"
                    prop:checked=consent
                    on:change=move |ev| consent.set(event_target_checked(&ev))
                />
                <span>{i18n.tr("consent.agree")}</span>
            </label>
            <label class="check remember">
                <input
                    type="checkbox"
                    data-testid="remember"
                    prop:checked=keep
                    on:change=move |ev| keep.set(event_target_checked(&ev))
                />
                <span>{i18n.tr("consent.remember")}</span>
            </label>
        </section>
    }
}
