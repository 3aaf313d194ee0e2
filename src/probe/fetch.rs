//! Fetch probe: a no-cors `fetch` that resolves as soon as response headers arrive, whatever
//! the body, and rejects with the same `TypeError` for every network failure. It tells
//! transport reachability and time to first byte or to failure.

use gloo_timers::callback::Timeout;
use vantage_report::Outcome;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, ReferrerPolicy, RequestCache, RequestCredentials, RequestInit, RequestMode};

/// Fetches `url` (no cookies, no referrer, no cache), aborting after `deadline_ms`.
pub async fn load(url: &str, deadline_ms: u32) -> Outcome {
    let (Some(window), Ok(controller)) = (web_sys::window(), AbortController::new()) else {
        return Outcome::Error;
    };
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_mode(RequestMode::NoCors);
    init.set_cache(RequestCache::NoStore);
    init.set_credentials(RequestCredentials::Omit);
    init.set_referrer_policy(ReferrerPolicy::NoReferrer);
    let signal = controller.signal();
    init.set_signal(Some(&signal));
    let fetched = JsFuture::from(window.fetch_with_str_and_init(url, &init));
    // Dropped unfinished (the visitor cancelled the run): abort the request at once.
    let mut on_cancel = AbortOnDrop(Some(controller.clone()));
    let deadline = Timeout::new(deadline_ms, move || controller.abort());
    let result = fetched.await;
    on_cancel.0 = None;
    drop(deadline);
    match result {
        Ok(_) => Outcome::Ok,
        Err(_) if signal.aborted() => Outcome::Timeout,
        Err(_) => Outcome::Error,
    }
}

/// Aborts a fetch whose future is dropped before it settled.
struct AbortOnDrop(Option<AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.abort();
        }
    }
}
