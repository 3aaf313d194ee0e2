//! Target lists built as typed values, so a test's list is checked by the compiler and by the
//! same validation the collector applies, never by hand-written JSON.

use vantage_report::{Asset, Target, TargetList};

/// A platform (or, with `control`, a control) with one image and a fetch URL.
pub fn target(id: &str, name: &str, category: &str, image: &str, fetch: &str) -> Target {
    Target {
        id: id.into(),
        name: name.into(),
        category: category.into(),
        control: category == "CTRL",
        images: vec![image.into()],
        fetch: fetch.into(),
        throughput: None,
    }
}

/// The same target with a large asset of `bytes` at `url`, for the throughput probe.
pub fn with_throughput(mut target: Target, url: String, bytes: u64) -> Target {
    target.throughput = Some(Asset { url, bytes: Some(bytes) });
    target
}

/// A list called `version`.
pub fn list(version: &str, targets: Vec<Target>) -> TargetList {
    TargetList { version: version.into(), targets }
}

/// X as the lab names it: its favicon on `abs.twimg.com`, a fetch of `x.com`.
pub fn x() -> Target {
    target("x", "X", "GRP", "https://abs.twimg.com/favicons/twitter.3.ico", "https://x.com/favicon.ico")
}

/// Facebook, image and fetch on `www.facebook.com`.
pub fn facebook() -> Target {
    let url = "https://www.facebook.com/favicon.ico";
    target("facebook", "Facebook", "GRP", url, url)
}

/// The host of [`lab_control`]; every lab's certificate names it.
pub const CONTROL_HOST: &str = "control.lab.test";

/// An independent control, as the shipped list's CDNs are: a site of its own, served by the
/// lab (map [`CONTROL_HOST`] to a healthy lab server). Without one, a run proves nothing.
pub fn lab_control() -> Target {
    let url = "https://control.lab.test/favicon.ico";
    target("cdn", "Control CDN", "CTRL", url, url)
}

/// The control every page has: the collector's own origin (the page's `/static/control.png`).
/// It shows the page itself loaded, and is no control of the connection on its own.
pub fn own_origin_control() -> Target {
    target("vantage", "Control", "CTRL", "/static/control.png", "/static/control.png")
}
