//! The target lists the collector serves: a global list (a file given with `--targets`, or the
//! built-in default) plus, with `--targets-dir`, one file of additions per country
//! (`PK.json`, `IR.json`, ...). A visitor gets the global list with their country's additions,
//! the country coming from the GeoIP lookup of their address. Every list is validated, merged
//! and serialised once, at start; a broken file stops the collector with its name.
//!
//! Reports are checked against what was served: a measurement must name a target of the list
//! version the report says it used, with one of that target's URLs, so invented targets and
//! attacker-chosen URLs never reach the open data. The lists served now are known; a few
//! earlier versions can be added with [`Catalogue::with_previous`], for visitors who loaded the
//! page just before an update.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use vantage_report::{ProbeKind, Report, TargetList};

use crate::error::ApiError;
use crate::peer::Peer;
use crate::AppState;

/// Earlier list versions accepted at most, besides those served now.
pub const MAX_PREVIOUS: usize = 8;

/// The built-in list: see `docs/targets.md` for why each entry is there.
pub const DEFAULT_TARGETS: &str = include_str!("../targets/default.json");

/// Loads and validates a list; `None` gives the built-in default.
pub fn load(path: Option<&Path>) -> anyhow::Result<TargetList> {
    match path {
        Some(p) => TargetList::from_json(&read(p)?).with_context(|| p.display().to_string()),
        None => TargetList::from_json(DEFAULT_TARGETS).context("the built-in default list"),
    }
}

/// A file's text; the error names the file.
pub fn read(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
}

/// Is `name` a country file name (`PK.json`)? Returns the country code.
pub fn country_of_file(name: &str) -> Option<&str> {
    let code = name.strip_suffix(".json")?;
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())).then_some(code)
}

/// Every list the collector serves, serialised once (and again when it learns sizes).
pub struct Catalogue {
    pub global: TargetList,
    by_country: BTreeMap<String, TargetList>,
    /// What is served, as JSON: the global list, then each country's, with the throughput sizes
    /// learned so far ([`Catalogue::learn_sizes`]).
    served: RwLock<Served>,
    /// Earlier versions still accepted in reports, by version.
    previous: BTreeMap<String, TargetList>,
}

/// The lists as served.
#[derive(Default)]
struct Served {
    global: Arc<str>,
    by_country: BTreeMap<String, Arc<str>>,
    learned: BTreeMap<String, u64>,
}

fn to_json(list: &TargetList) -> Arc<str> {
    serde_json::to_string(list).expect("a TargetList always serialises").into()
}

fn unknown_target(field: String, detail: impl Into<String>) -> ApiError {
    ApiError::new(vantage_report::wire::ErrorCode::UnknownTarget, detail).with_field(field)
}

impl Catalogue {
    pub fn new(global: TargetList) -> Catalogue {
        let served = RwLock::new(Served { global: to_json(&global), ..Served::default() });
        Catalogue { global, by_country: BTreeMap::new(), served, previous: BTreeMap::new() }
    }

    /// Serves `sizes` (throughput asset URL → bytes, learned by verification) in every list
    /// from now on, in place of unknown or different sizes. Lists, versions and the reports
    /// they accept stay as they are: a report carries the size its client used in each
    /// attempt. A size learned earlier for a URL in `forget` (one whose verification failed
    /// since: it changed, or no longer answers) is no longer served: an unknown size gives no
    /// rate, a stale one a wrong rate. Returns the sizes that changed what is served.
    pub fn learn_sizes(&self, sizes: &BTreeMap<String, u64>, forget: &BTreeSet<String>) -> BTreeMap<String, u64> {
        let mut served = self.served.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed: BTreeMap<String, u64> =
            sizes.iter().filter(|(url, b)| served.learned.get(*url) != Some(b)).map(|(u, b)| (u.clone(), *b)).collect();
        let forgotten = forget.iter().filter(|url| served.learned.remove(*url).is_some()).count();
        if changed.is_empty() && forgotten == 0 {
            return changed;
        }
        served.learned.extend(changed.clone());
        let learned = served.learned.clone();
        served.global = to_json(&with_sizes(&self.global, &learned));
        served.by_country =
            self.by_country.iter().map(|(c, list)| (c.clone(), to_json(&with_sizes(list, &learned)))).collect();
        changed
    }

    /// Every list served now, for verification: the global list, then each country's.
    pub fn lists(&self) -> impl Iterator<Item = &TargetList> {
        std::iter::once(&self.global).chain(self.by_country.values())
    }

    /// Also accepts reports made with these earlier lists (the most recent [`MAX_PREVIOUS`]).
    pub fn with_previous(mut self, lists: impl IntoIterator<Item = TargetList>) -> Catalogue {
        for list in lists {
            if self.previous.len() < MAX_PREVIOUS {
                self.previous.insert(list.version.clone(), list);
            }
        }
        self
    }

    /// The list of this version, if it was served.
    fn served(&self, version: &str) -> Option<&TargetList> {
        if self.global.version == version {
            return Some(&self.global);
        }
        self.by_country.values().find(|l| l.version == version).or_else(|| self.previous.get(version))
    }

    /// Does every measurement of `report` name a target of the list it says it used, with that
    /// target's URL and kind? The first mismatch is the error, naming its field.
    pub fn check_report(&self, report: &Report) -> Result<(), ApiError> {
        let Some(list) = self.served(&report.targets_version) else {
            return Err(unknown_target(
                "targets_version".into(),
                "not a target list this collector served; load the page again for the current list",
            ));
        };
        for (i, m) in report.measurements.iter().enumerate() {
            let Some(target) = list.get(&m.target_id) else {
                return Err(unknown_target(
                    format!("measurements[{i}].target_id"),
                    format!("no such target in list {}", list.version),
                ));
            };
            if !target.urls().any(|u| u == m.input) {
                return Err(unknown_target(
                    format!("measurements[{i}].input"),
                    format!("not a URL of target {} in list {}", target.id, list.version),
                ));
            }
            // Whether an image was on another host than the fetch decides tampered against
            // blocked, so it must be what the served target says, not what a report claims.
            if let Some(j) = m
                .attempts
                .iter()
                .position(|a| a.probe == ProbeKind::Image && a.cross_host != target.image_is_cross_host(a.trial))
            {
                return Err(unknown_target(
                    format!("measurements[{i}].attempts[{j}].cross_host"),
                    format!("does not match the hosts of target {} in list {}", target.id, list.version),
                ));
            }
            if target.control != m.control {
                return Err(unknown_target(
                    format!("measurements[{i}].control"),
                    format!("target {} is {}a control", target.id, if target.control { "" } else { "not " }),
                ));
            }
        }
        Ok(())
    }

    /// Reads every `XX.json` in `dir` as that country's additions to the global list.
    pub fn with_country_dir(mut self, dir: &Path) -> anyhow::Result<Catalogue> {
        let entries = std::fs::read_dir(dir).with_context(|| format!("--targets-dir {}", dir.display()))?;
        for entry in entries {
            let path = entry.with_context(|| format!("--targets-dir {}", dir.display()))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Some(country) = country_of_file(name) else {
                anyhow::bail!("{}: country files are named by ISO code, like PK.json", path.display());
            };
            let additions = TargetList::parse(&read(&path)?).with_context(|| path.display().to_string())?;
            let merged = self.global.with_additions(country, &additions).with_context(|| path.display().to_string())?;
            let learned = self.served.read().unwrap_or_else(std::sync::PoisonError::into_inner).learned.clone();
            let json = to_json(&with_sizes(&merged, &learned));
            self.served
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .by_country
                .insert(country.into(), json);
            self.by_country.insert(country.to_string(), merged);
        }
        Ok(self)
    }

    /// The list for a visitor from `country`, as JSON.
    pub fn json_for(&self, country: &str) -> Arc<str> {
        let served = self.served.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        served.by_country.get(country).unwrap_or(&served.global).clone()
    }

    /// Every URL of every list served or accepted: what the pages may load (their CSP).
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&self.global)
            .chain(self.by_country.values())
            .chain(self.previous.values())
            .flat_map(|list| list.targets.iter().flat_map(|t| t.urls()))
    }

    /// Countries with additions.
    pub fn countries(&self) -> impl Iterator<Item = &str> {
        self.by_country.keys().map(String::as_str)
    }
}

/// `list` with each throughput asset whose URL `sizes` names given that size.
pub fn with_sizes(list: &TargetList, sizes: &BTreeMap<String, u64>) -> TargetList {
    let mut list = list.clone();
    for asset in list.targets.iter_mut().filter_map(|t| t.throughput.as_mut()) {
        if let Some(&bytes) = sizes.get(&asset.url) {
            asset.bytes = Some(bytes);
        }
    }
    list
}

/// `GET /api/v1/targets`: the global list with the visitor's country additions.
pub async fn get_targets(State(state): State<AppState>, peer: Peer) -> impl IntoResponse {
    let origin = state.geo.lookup(peer.addr);
    (
        [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "private, no-cache")],
        state.catalogue.json_for(&origin.country).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_is_valid_and_covers_the_platforms_it_promises() {
        let list = load(None).unwrap();
        for id in [
            "x",
            "facebook",
            "instagram",
            "youtube",
            "whatsapp",
            "telegram",
            "tiktok",
            "signal",
            "snapchat",
            "reddit",
            "wikipedia",
            "google",
            "discord",
            "linkedin",
            "threads",
            "bluesky",
            "mastodon",
        ] {
            assert!(list.get(id).is_some_and(|t| !t.control), "{id} missing");
        }
        // At least three controls on different CDNs besides the collector's own origin.
        let cdn_controls: std::collections::BTreeSet<&str> = list
            .targets
            .iter()
            .filter(|t| t.control)
            .filter_map(|t| t.images[0].strip_prefix("https://"))
            .filter_map(|rest| rest.split('/').next())
            .collect();
        assert!(cdn_controls.len() >= 3, "{cdn_controls:?}");
        // X and YouTube are probed on their image CDNs too.
        assert!(list.get("x").unwrap().images.iter().any(|u| u.contains("twimg.com")));
        assert!(list.get("youtube").unwrap().urls().any(|u| u.contains("ytimg.com")));
    }

    /// What docs/targets.md and ../shared/targets-evidence.md say about the shipped URLs.
    #[test]
    fn the_default_list_keeps_the_urls_known_to_mislead_out() {
        let list = load(None).unwrap();
        let urls: Vec<&str> = list.targets.iter().flat_map(|t| t.urls()).collect();
        for risky in [
            "https://web.whatsapp.com/favicon.ico", // refused cross-origin
            "https://chat.signal.org/",             // a certificate browsers do not trust
            "https://code.jquery.com/",             // redirects to another host
        ] {
            assert!(!urls.contains(&risky), "{risky} is back in the list");
        }
        // Reddit answers data centres and VPNs with an HTML 403: not as an image.
        assert!(!list.get("reddit").unwrap().images.iter().any(|u| u.contains("www.reddit.com")));
        // Signed, expiring, same-origin Meta URLs never.
        assert!(!urls.iter().any(|u| u.contains("scontent") || u.contains("fbcdn.net/v/")));
        // Throughput on at least two controls on different hosts, each of a size the list knows.
        let control_assets: std::collections::BTreeSet<&str> = list
            .targets
            .iter()
            .filter(|t| t.control)
            .filter_map(|t| t.throughput.as_ref())
            .filter(|a| a.bytes.is_some())
            .filter_map(|a| a.url.strip_prefix("https://")?.split('/').next())
            .collect();
        assert!(control_assets.len() >= 2, "{control_assets:?}");
        // ... and on every platform of 17 December 2023, on the platform's own CDN host, with no
        // size in the file: sizes of platform assets are learned, never written from memory.
        for (id, host) in [
            ("x", "abs.twimg.com"),
            ("facebook", "static.xx.fbcdn.net"),
            ("instagram", "static.cdninstagram.com"),
            ("youtube", "i.ytimg.com"),
        ] {
            let asset = list.get(id).and_then(|t| t.throughput.as_ref()).unwrap_or_else(|| panic!("{id}: no asset"));
            assert!(asset.url.starts_with(&format!("https://{host}/")), "{id}: {}", asset.url);
            assert_eq!(asset.bytes, None, "{id}: a size no verification gave");
        }
    }

    #[test]
    fn learned_sizes_are_served_in_every_list_and_nothing_else_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("IR.json"), ADDITION).unwrap();
        let c = Catalogue::new(load(None).unwrap()).with_country_dir(dir.path()).unwrap();
        let x_asset = c.global.get("x").and_then(|t| t.throughput.clone()).unwrap();
        let served = |country: &str| -> TargetList { serde_json::from_str(&c.json_for(country)).unwrap() };
        assert_eq!(served("PK").get("x").unwrap().throughput.as_ref().unwrap().bytes, None);
        let sizes =
            BTreeMap::from([(x_asset.url.clone(), 123_456), ("https://elsewhere.example/a.png".into(), 99_999)]);
        let none = BTreeSet::new();
        assert_eq!(c.learn_sizes(&sizes, &none).len(), 2);
        for country in ["PK", "IR"] {
            let list = served(country);
            assert_eq!(list.get("x").unwrap().throughput.as_ref().unwrap().bytes, Some(123_456), "{country}");
            let mut expected = if country == "IR" { c.by_country["IR"].clone() } else { c.global.clone() };
            expected = with_sizes(&expected, &sizes);
            assert_eq!(list, expected, "only the size changed ({country})");
        }
        // The same sizes again change nothing; a new one replaces the old.
        assert!(c.learn_sizes(&sizes, &none).is_empty());
        let again = BTreeMap::from([(x_asset.url.clone(), 123_457)]);
        assert_eq!(c.learn_sizes(&again, &none), again);
        assert_eq!(served("PK").get("x").unwrap().throughput.as_ref().unwrap().bytes, Some(123_457));
        // A size whose verification fails later is forgotten: unknown again, not stale.
        assert!(c.learn_sizes(&BTreeMap::new(), &BTreeSet::from([x_asset.url.clone()])).is_empty());
        assert_eq!(served("PK").get("x").unwrap().throughput.as_ref().unwrap().bytes, None);
        assert_eq!(served("IR").get("x").unwrap().throughput.as_ref().unwrap().bytes, None);
        // What reports are checked against is the list as loaded.
        assert_eq!(c.global.get("x").unwrap().throughput, Some(x_asset));
    }

    /// docs/targets.md keeps a verification record of every shipped URL.
    #[test]
    fn every_shipped_url_has_a_verification_record() {
        let docs = include_str!("../../../docs/targets.md");
        let record = &docs[docs.find("## Verification record").expect("the record's section")..];
        let list = load(None).unwrap();
        for url in list.targets.iter().flat_map(|t| t.urls()).filter(|u| !u.starts_with('/')) {
            assert!(record.contains(&format!("`{url}`")), "docs/targets.md has no record of {url}");
        }
    }

    #[test]
    fn a_bad_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json");
        std::fs::write(&p, r#"{"version":"1","targets":[{"id":"a","name":"A","category":"GRP","images":["http://a.example/x.png"],"fetch":"https://a.example/"}]}"#).unwrap();
        let e = format!("{:#}", load(Some(&p)).unwrap_err());
        assert!(e.contains("t.json") && e.contains("targets[0].images[0]"), "{e}");
    }

    const ADDITION: &str = r#"{"version":"3","targets":[{"id":"aparat","name":"Aparat","category":"MMED","images":["https://www.aparat.com/favicon.ico"],"fetch":"https://www.aparat.com/"}]}"#;

    #[test]
    fn country_files_add_to_the_global_list() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("IR.json"), ADDITION).unwrap();
        let c = Catalogue::new(load(None).unwrap()).with_country_dir(dir.path()).unwrap();
        assert_eq!(c.countries().collect::<Vec<_>>(), ["IR"]);
        let ir: TargetList = serde_json::from_str(&c.json_for("IR")).unwrap();
        assert!(ir.get("aparat").is_some() && ir.get("x").is_some());
        assert!(ir.version.ends_with("+IR.3"), "{}", ir.version);
        let pk: TargetList = serde_json::from_str(&c.json_for("PK")).unwrap();
        assert!(pk.get("aparat").is_none());
    }

    #[test]
    fn a_bad_country_file_stops_the_start_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("iran.json"), ADDITION).unwrap();
        let e = format!("{:#}", Catalogue::new(load(None).unwrap()).with_country_dir(dir.path()).err().unwrap());
        assert!(e.contains("iran.json") && e.contains("ISO code"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("IR.json"), ADDITION.replace("aparat", "x")).unwrap();
        let e = format!("{:#}", Catalogue::new(load(None).unwrap()).with_country_dir(dir.path()).err().unwrap());
        assert!(e.contains("IR.json") && e.contains("more than once"), "{e}");
    }
}
