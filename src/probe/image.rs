//! Image probe: loads a favicon as an `<img>` and waits for it to decode. Only a real image
//! decodes; a block page or an injected error served in its place fails.

use futures::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use vantage_report::{Attempt, Outcome, ProbeKind};
use wasm_bindgen_futures::JsFuture;

use super::{attempt, cache_busted, now_ms};

/// Loads `url` (cache-busted) as an image, giving up after `deadline_ms`.
pub async fn probe(url: &str, deadline_ms: u32) -> Attempt {
    let start = now_ms();
    let Ok(img) = web_sys::HtmlImageElement::new() else {
        return attempt(ProbeKind::Image, Outcome::Error, start, deadline_ms);
    };
    img.set_referrer_policy("no-referrer");
    img.set_src(&cache_busted(url));
    let decoded = JsFuture::from(img.decode());
    let outcome = match select(decoded, TimeoutFuture::new(deadline_ms)).await {
        Either::Left((Ok(_), _)) => Outcome::Ok,
        Either::Left((Err(_), _)) => Outcome::Error,
        Either::Right(_) => {
            // Stop the load so a black-holed connection does not linger.
            img.set_src("");
            Outcome::Timeout
        }
    };
    attempt(ProbeKind::Image, outcome, start, deadline_ms)
}
