//! Entry point of the self-test page: mounts the page, nothing else.

fn main() {
    if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
        let _ = vantage::app::mount(&body);
    }
}
