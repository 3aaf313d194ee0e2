//! Throughput sizes the collector learns by verifying its own lists (`serve --verify-targets`).
//!
//! A throughput asset's size is what turns a load time into a rate, and a wrong size is a wrong
//! rate for every visitor. A platform's large images are not files of published size, so the
//! list may name one without `bytes`; the collector then fetches it as `targets verify` would
//! (twice, on fresh connections, checked as a browser would meet it) when it starts and every
//! day after, and serves the size only once both fetches gave the same bytes. Until then the
//! list is served as it was, and when a later verification fails, a size learned before is
//! forgotten (it may be stale) and the list's own served again: a client times an asset of
//! unknown size but gives no rate from it (unless its browser reads the size from Resource
//! Timing), so nothing false is said while nothing is known.
//!
//! A size the list states is verified the same way; if both fetches agree on another size,
//! that size is served instead and the difference logged, since the file changed under its URL.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use vantage_report::Asset;

use crate::targets::Catalogue;
use crate::verify::{Kind, Verifier};

/// What one verification of one asset concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Learned {
    /// Two fetches agreed on this size, one a list may carry.
    Size(u64),
    /// Nothing learned, and why (logged; what is served stays as it was).
    Not(String),
}

/// Verifies the throughput asset at `url` (listed with `listed` bytes, if any).
pub async fn learn_one(verifier: &Verifier, target: &str, url: &str, listed: Option<u64>) -> Learned {
    // The listed size is compared here, not by the verifier: a file that changed is learned.
    let r = verifier.verify_url("(served)", target, Kind::Throughput, url, None).await;
    if let Some(p) = r.problems.first() {
        return Learned::Not(p.to_string());
    }
    match r.bytes {
        Some(bytes) if Asset::size_allowed(bytes) => {
            if listed.is_some_and(|l| l != bytes) {
                tracing::warn!(
                    target,
                    url,
                    listed,
                    served = bytes,
                    "a throughput asset's size differs from the list's"
                );
            }
            Learned::Size(bytes)
        }
        Some(bytes) => Learned::Not(format!("{bytes} bytes: not a size a throughput asset may have")),
        None => Learned::Not("no body".into()),
    }
}

/// Verifies every throughput asset of every list `catalogue` serves, once per URL, and serves
/// the sizes learned. Returns the sizes learned (URL → bytes).
pub async fn learn(verifier: &Verifier, catalogue: &Catalogue) -> BTreeMap<String, u64> {
    let mut assets: BTreeMap<&str, (&str, Option<u64>)> = BTreeMap::new();
    for t in catalogue.lists().flat_map(|l| &l.targets) {
        if let Some(a) = t.throughput.as_ref().filter(|a| !a.url.starts_with('/')) {
            assets.entry(a.url.as_str()).or_insert((t.id.as_str(), a.bytes));
        }
    }
    let (mut sizes, mut failed) = (BTreeMap::new(), BTreeSet::new());
    for (url, (target, listed)) in assets {
        match learn_one(verifier, target, url, listed).await {
            Learned::Size(bytes) => {
                sizes.insert(url.to_string(), bytes);
            }
            Learned::Not(why) => {
                tracing::warn!(target, url, why, "throughput size not learned; any size learned before is forgotten");
                failed.insert(url.to_string());
            }
        }
    }
    for (url, bytes) in catalogue.learn_sizes(&sizes, &failed) {
        tracing::info!(url, bytes, "throughput size learned: served from now on");
    }
    sizes
}

/// Learns at once, then every `every`, for as long as the collector runs.
pub fn spawn(verifier: Verifier, catalogue: Arc<Catalogue>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            learn(&verifier, &catalogue).await;
        }
    })
}
