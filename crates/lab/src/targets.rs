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
    target.throughput = Some(Asset { url, bytes });
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

/// The control every page has: the collector's own origin (the page's `/static/control.png`).
pub fn own_origin_control() -> Target {
    target("vantage", "Control", "CTRL", "/static/control.png", "/static/control.png")
}
