//! Image probe: loads a URL as an `<img>` and waits for it to decode. Only a real image
//! decodes; a block page or an injected error served in its place fails. A load fires only
//! once the whole body has arrived, so the same probe times large assets for throughput.

use futures::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use vantage_report::Outcome;
use wasm_bindgen_futures::JsFuture;

/// Loads `url` as an image, giving up after `deadline_ms`.
pub async fn load(url: &str, deadline_ms: u32) -> Outcome {
    let Ok(img) = web_sys::HtmlImageElement::new() else {
        return Outcome::Error;
    };
    img.set_referrer_policy("no-referrer");
    img.set_src(url);
    let decoded = JsFuture::from(img.decode());
    // Dropped unfinished (the visitor cancelled the run): stop the load at once.
    let _on_cancel = ClearOnDrop(img.clone());
    match select(decoded, TimeoutFuture::new(deadline_ms)).await {
        Either::Left((Ok(_), _)) => Outcome::Ok,
        Either::Left((Err(_), _)) => Outcome::Error,
        Either::Right(_) => {
            // Stop the load so a black-holed connection does not linger.
            img.set_src("");
            Outcome::Timeout
        }
    }
}

/// Stops an image load by clearing its source when the probe is dropped: harmless once the
/// image has loaded or failed, and the only way to stop a load that is still pending.
struct ClearOnDrop(web_sys::HtmlImageElement);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        if !self.0.complete() {
            self.0.set_src("");
        }
    }
}
