//! The target list: which platforms a client measures and how, served by the collector.
//!
//! The list is data, not code, so the collector can change it without a client release. A
//! client refuses a list that fails [`TargetList::validate`]: a broken or compromised list must
//! never make visitors fetch arbitrary URLs.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::evidence::{Attempt, ProbeKind};
use crate::verdict::is_independent_control;

/// A versioned list of targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetList {
    /// Identifies this revision of the list; reports carry it.
    pub version: String,
    pub targets: Vec<Target>,
}

/// One platform (or control) and the resources that probe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Stable identifier, `[a-z0-9_-]`, used in reports and in the page's `data-target`.
    pub id: String,
    /// Display name shown to the visitor.
    pub name: String,
    /// Citizen Lab style category code (e.g. `GRP` for social networking, `CTRL` for controls).
    pub category: String,
    /// Controls are resources unlikely to be blocked; if they fail too, nothing is concluded.
    #[serde(default)]
    pub control: bool,
    /// Small images the platform serves (favicons, logo sprites), loaded as `<img>`; trials
    /// take them in turn, so a platform's site and its CDN are both tried.
    pub images: Vec<String>,
    /// A URL fetched with a no-cors request to test transport reachability.
    pub fetch: String,
    /// A large image on the platform's CDN (or the control's), to estimate throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Asset>,
}

/// A large image whose load time, over its size, gives throughput.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub url: String,
    /// Its size in bytes as served, when known: from the list's author (an immutable file of
    /// known size) or learned by the collector (`--verify-targets`, once two fetches agree).
    /// Throughput is size over transfer time, because most browsers do not tell the size of a
    /// cross-origin load. Unknown (absent), the client reads the size from Resource Timing
    /// where the host sends `Timing-Allow-Origin`, and otherwise times the load but gives no
    /// rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

impl Asset {
    /// Is `bytes` a size a throughput asset may have (the list's rule, and what a client may
    /// read from Resource Timing)?
    pub fn size_allowed(bytes: u64) -> bool {
        (MIN_ASSET_BYTES..=MAX_ASSET_BYTES).contains(&bytes)
    }
}

/// Why a target list was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("target list: {field}: {detail}")]
pub struct TargetListError {
    pub field: String,
    pub detail: String,
}

fn err(field: impl Into<String>, detail: impl Into<String>) -> TargetListError {
    TargetListError { field: field.into(), detail: detail.into() }
}

/// Throughput assets must be large enough to time a transfer, small enough to be polite.
pub const MIN_ASSET_BYTES: u64 = 50_000;
pub const MAX_ASSET_BYTES: u64 = 5_000_000;

/// Most images a target may name.
pub const MAX_IMAGES: usize = 4;

/// Largest number of targets a list may hold: keeps a run (and a report) bounded.
pub const MAX_TARGETS: usize = 100;

/// Is `id` a valid identifier: 1 to 64 of `[a-z0-9_-]`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks a probe URL: an absolute `https://` URL naming a host (no credentials, no IP
/// literal), or a path on the collector's own origin (`/...`), which is how the collector
/// offers itself as a control.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.len() > 2048 {
        return Err("longer than 2048 characters".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters".into());
    }
    if let Some(path) = url.strip_prefix('/') {
        return if path.starts_with('/') {
            Err("protocol-relative URLs (`//host`) are not allowed; use https://".into())
        } else {
            Ok(())
        };
    }
    let Some(rest) = url.strip_prefix("https://") else {
        return Err("must start with https:// (or / for the collector's own origin)".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("must not carry credentials".into());
    }
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    if host.is_empty() {
        return Err("has no host".into());
    }
    if host.starts_with('[') || host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("must name a host, not an IP address".into());
    }
    if !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
        return Err("host has characters outside [A-Za-z0-9.-]".into());
    }
    Ok(())
}

/// The host (with port) a list URL names, lower-cased; empty for a path on the page's own origin.
fn host_of(url: &str) -> String {
    url.strip_prefix("https://")
        .map_or("", |rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .to_ascii_lowercase()
}

impl Target {
    /// The image a trial loads: trials take the images in turn.
    pub fn image_for_trial(&self, trial: u8) -> &str {
        match self.images.len() {
            0 => "",
            n => &self.images[usize::from(trial) % n],
        }
    }

    /// Whether the image a trial loads is on another host than the fetch probe: then a fetch
    /// that answered proves nothing about the image's host, and an image that failed fast is
    /// that host failing, not proof that something other than an image came back from it.
    pub fn image_is_cross_host(&self, trial: u8) -> bool {
        host_of(self.image_for_trial(trial)) != host_of(&self.fetch)
    }

    /// Records on each image attempt whether its image was on another host than the fetch
    /// ([`Attempt::cross_host`]), as the rules need to tell tampering from a blocked content host.
    pub fn mark_hosts(&self, attempts: &mut [Attempt]) {
        for a in attempts.iter_mut().filter(|a| a.probe == ProbeKind::Image) {
            a.cross_host = self.image_is_cross_host(a.trial);
        }
    }

    /// Every URL the target makes a browser request.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.images
            .iter()
            .map(String::as_str)
            .chain([self.fetch.as_str()])
            .chain(self.throughput.as_ref().map(|a| a.url.as_str()))
    }
}

impl TargetList {
    /// Parses and validates a list from JSON.
    pub fn from_json(json: &str) -> Result<Self, TargetListError> {
        let list = TargetList::parse(json)?;
        list.validate()?;
        Ok(list)
    }

    /// Parses without validating: for country additions, which are validated once merged with
    /// the global list, and for `targets check`, which lists every problem.
    pub fn parse(json: &str) -> Result<Self, TargetListError> {
        Self::deserialize_tracked(&mut serde_json::Deserializer::from_str(json))
    }

    /// Parses and validates a list from any serde deserializer: the browser's own `JSON.parse`
    /// result in the web client, so no JSON parser is compiled into the wasm.
    pub fn from_deserializer<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Self, TargetListError> {
        let list = Self::deserialize_tracked(de)?;
        list.validate()?;
        Ok(list)
    }

    /// Deserializes, naming the path of the first field that does not fit.
    fn deserialize_tracked<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Self, TargetListError> {
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            err(if path == "." { "(document)".to_string() } else { path }, e.inner().to_string())
        })
    }

    /// Checks every rule; the first broken one is returned.
    pub fn validate(&self) -> Result<(), TargetListError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every broken rule, in document order (what `vantage-collector targets check` prints).
    pub fn problems(&self) -> Vec<TargetListError> {
        let mut out = Vec::new();
        if self.version.is_empty()
            || self.version.len() > 64
            || !self.version.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        {
            out.push(err("version", "must be 1 to 64 of [A-Za-z0-9._-+]"));
        }
        if self.targets.is_empty() || self.targets.len() > MAX_TARGETS {
            out.push(err("targets", format!("must hold 1 to {MAX_TARGETS} targets")));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            let at = |f: &str| format!("targets[{i}].{f}");
            if !is_valid_id(&t.id) {
                out.push(err(at("id"), format!("{:?} must be 1 to 64 of [a-z0-9_-]", t.id)));
            }
            if !seen.insert(t.id.as_str()) {
                out.push(err(at("id"), format!("{:?} appears more than once", t.id)));
            }
            if t.name.trim().is_empty() || t.name.chars().count() > 80 {
                out.push(err(at("name"), "must be 1 to 80 characters"));
            }
            if t.category.is_empty()
                || t.category.len() > 16
                || !t.category.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                out.push(err(at("category"), "must be a category code of 1 to 16 of [A-Z0-9_], like GRP or CTRL"));
            }
            if t.images.is_empty() || t.images.len() > MAX_IMAGES {
                out.push(err(at("images"), format!("must hold 1 to {MAX_IMAGES} image URLs")));
            }
            for (j, image) in t.images.iter().enumerate() {
                if let Err(d) = check_url(image) {
                    out.push(err(format!("targets[{i}].images[{j}]"), d));
                }
            }
            if let Err(d) = check_url(&t.fetch) {
                out.push(err(at("fetch"), d));
            }
            if let Some(asset) = &t.throughput {
                if let Err(d) = check_url(&asset.url) {
                    out.push(err(at("throughput.url"), d));
                }
                if asset.bytes.is_some_and(|b| !Asset::size_allowed(b)) {
                    out.push(err(
                        at("throughput.bytes"),
                        format!("must be between {MIN_ASSET_BYTES} and {MAX_ASSET_BYTES}"),
                    ));
                }
            }
        }
        if !self.targets.iter().any(|t| t.control && t.images.first().is_some_and(|u| is_independent_control(u))) {
            out.push(err(
                "targets",
                "needs at least one control on a site of its own (\"control\": true, an https:// image): \
                 the page's own origin proves only that the page loaded",
            ));
        }
        out
    }

    /// Adds a country's additions to this (global) list: the version names both, and the
    /// result must pass every rule (ids may not clash with the global list's).
    pub fn with_additions(&self, country: &str, additions: &TargetList) -> Result<TargetList, TargetListError> {
        let merged = self.merge(country, additions);
        merged.validate()?;
        Ok(merged)
    }

    /// The merge of [`TargetList::with_additions`], not yet validated.
    pub fn merge(&self, country: &str, additions: &TargetList) -> TargetList {
        TargetList {
            version: format!("{}+{country}.{}", self.version, additions.version),
            targets: self.targets.iter().chain(&additions.targets).cloned().collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Outcome;

    fn list() -> TargetList {
        TargetList {
            version: "test-1".into(),
            targets: vec![
                Target {
                    id: "x".into(),
                    name: "X".into(),
                    category: "GRP".into(),
                    control: false,
                    images: vec!["https://abs.twimg.com/favicons/twitter.3.ico".into()],
                    fetch: "https://x.com/favicon.ico".into(),
                    throughput: Some(Asset { url: "https://pbs.twimg.com/big.jpg".into(), bytes: Some(120_000) }),
                },
                Target {
                    id: "vantage".into(),
                    name: "Vantage".into(),
                    category: "CTRL".into(),
                    control: true,
                    images: vec!["https://cdn.example/control.png".into()],
                    fetch: "https://cdn.example/control.png".into(),
                    throughput: None,
                },
            ],
        }
    }

    #[test]
    fn a_good_list_passes() {
        assert_eq!(list().validate(), Ok(()));
    }

    #[test]
    fn the_page_own_origin_is_no_control_of_its_own() {
        let mut l = list();
        l.targets[1].images = vec!["/static/control.png".into()];
        let e = l.validate().unwrap_err();
        assert!(e.field == "targets" && e.detail.contains("own origin"), "{e}");
        // Beside an independent control it is welcome (it tells the page itself loaded).
        let mut both = list();
        both.targets.push(Target {
            id: "own".into(),
            images: vec!["/static/control.png".into()],
            ..l.targets[1].clone()
        });
        assert_eq!(both.validate(), Ok(()));
    }

    #[test]
    fn urls_must_be_https_or_own_origin() {
        for (url, why) in [
            ("http://x.com/a.png", "https"),
            ("//x.com/a.png", "protocol-relative"),
            ("https://user:pw@x.com/a.png", "credentials"),
            ("https://10.0.0.1/a.png", "IP address"),
            ("https://[::1]/a.png", "IP address"),
            ("https:///a.png", "no host"),
            ("https://x.com/a b.png", "whitespace"),
            ("javascript:alert(1)", "https"),
        ] {
            let mut l = list();
            l.targets[0].images.push(url.into());
            let e = l.validate().unwrap_err();
            assert_eq!(e.field, "targets[0].images[1]", "{url}");
            assert!(e.detail.contains(why), "{url}: {}", e.detail);
        }
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut l = list();
        l.targets[1].id = "x".into();
        assert!(l.validate().unwrap_err().detail.contains("more than once"));
        let mut l = list();
        l.targets[0].id = "X Twitter".into();
        assert_eq!(l.validate().unwrap_err().field, "targets[0].id");
    }

    #[test]
    fn throughput_assets_are_checked() {
        let mut l = list();
        l.targets[0].throughput = Some(Asset { url: "https://pbs.twimg.com/big.jpg".into(), bytes: Some(1_000) });
        assert_eq!(l.validate().unwrap_err().field, "targets[0].throughput.bytes");
        l.targets[0].throughput = Some(Asset { url: "http://pbs.twimg.com/big.jpg".into(), bytes: Some(100_000) });
        assert_eq!(l.validate().unwrap_err().field, "targets[0].throughput.url");
        // A size not known yet is allowed (learned by the collector, or read by the browser).
        l.targets[0].throughput = Some(Asset { url: "https://pbs.twimg.com/big.jpg".into(), bytes: None });
        assert_eq!(l.validate(), Ok(()));
    }

    #[test]
    fn an_asset_without_a_size_is_read_and_written_without_one() {
        let json = r#"{"version":"1","targets":[{"id":"c","name":"C","category":"CTRL","control":true,
            "images":["https://c.example/c.png"],"fetch":"https://c.example/",
            "throughput":{"url":"https://c.example/big.jpg"}}]}"#;
        let list = TargetList::from_json(json).unwrap();
        assert_eq!(list.targets[0].throughput.as_ref().unwrap().bytes, None);
        let written = serde_json::to_string(&list).unwrap();
        assert!(written.contains(r#""throughput":{"url":"https://c.example/big.jpg"}"#), "{written}");
        assert!(!Asset::size_allowed(MIN_ASSET_BYTES - 1) && Asset::size_allowed(MIN_ASSET_BYTES));
        assert!(Asset::size_allowed(MAX_ASSET_BYTES) && !Asset::size_allowed(MAX_ASSET_BYTES + 1));
    }

    #[test]
    fn names_categories_and_image_counts_are_checked() {
        let mut l = list();
        l.targets[0].name = " ".into();
        assert_eq!(l.validate().unwrap_err().field, "targets[0].name");
        let mut l = list();
        l.targets[0].category = "social networks".into();
        assert_eq!(l.validate().unwrap_err().field, "targets[0].category");
        let mut l = list();
        l.targets[0].images.clear();
        assert_eq!(l.validate().unwrap_err().field, "targets[0].images");
        let mut l = list();
        l.targets[0].images = vec!["https://a.example/i.png".into(); MAX_IMAGES + 1];
        assert_eq!(l.validate().unwrap_err().field, "targets[0].images");
        let mut l = list();
        l.version = "1 2".into();
        assert_eq!(l.validate().unwrap_err().field, "version");
        let mut l = list();
        l.targets = (0..=MAX_TARGETS).map(|i| Target { id: format!("t{i}"), ..l.targets[1].clone() }).collect();
        assert_eq!(l.validate().unwrap_err().field, "targets");
    }

    #[test]
    fn every_problem_is_listed_not_only_the_first() {
        let mut l = list();
        l.targets[0].fetch = "http://x.com/".into();
        l.targets[1].id = "x".into();
        l.targets[1].control = false;
        let fields: Vec<String> = l.problems().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["targets[0].fetch", "targets[1].id", "targets"]);
    }

    #[test]
    fn country_additions_merge_without_clashes() {
        let global = list();
        let additions = TargetList {
            version: "7".into(),
            targets: vec![Target {
                id: "aparat".into(),
                name: "Aparat".into(),
                category: "MMED".into(),
                control: false,
                ..global.targets[0].clone()
            }],
        };
        let merged = global.with_additions("IR", &additions).unwrap();
        assert_eq!(merged.version, "test-1+IR.7");
        assert_eq!(merged.targets.len(), 3);
        let clash = TargetList { version: "7".into(), targets: vec![global.targets[0].clone()] };
        assert!(global.with_additions("IR", &clash).unwrap_err().detail.contains("more than once"));
    }

    #[test]
    fn trials_take_images_in_turn() {
        let mut t = list().targets[0].clone();
        t.images.push("https://pbs.twimg.com/i.png".into());
        assert_eq!(
            [t.image_for_trial(0), t.image_for_trial(1), t.image_for_trial(2)],
            [
                "https://abs.twimg.com/favicons/twitter.3.ico",
                "https://pbs.twimg.com/i.png",
                "https://abs.twimg.com/favicons/twitter.3.ico"
            ]
        );
        assert_eq!(t.urls().count(), 4);
    }

    #[test]
    fn a_control_is_required() {
        let mut l = list();
        l.targets[1].control = false;
        assert!(l.validate().unwrap_err().detail.contains("control"));
    }

    /// The field of the first problem, or `None` for a good list.
    fn refused(l: &TargetList) -> Option<String> {
        l.validate().err().map(|e| e.field)
    }

    #[test]
    fn ids_are_accepted_up_to_64_of_their_alphabet() {
        for good in ["a", "x_twitter-2", "_", "-", &"a".repeat(64)] {
            assert!(is_valid_id(good), "{good}");
        }
        for bad in ["", "X", "a.b", "a b", "é", &"a".repeat(65)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn urls_are_accepted_up_to_2048_characters() {
        let base = "https://x.example/";
        let at_limit = format!("{base}{}", "a".repeat(2048 - base.len()));
        assert_eq!(check_url(&at_limit), Ok(()));
        assert!(check_url(&format!("{at_limit}a")).unwrap_err().contains("2048"));
    }

    #[test]
    fn image_attempts_are_marked_when_their_image_is_on_another_host_than_the_fetch() {
        let t = Target {
            images: vec!["https://abs.twimg.com/favicons/twitter.3.ico".into(), "https://X.com/a.png".into()],
            fetch: "https://x.com/favicon.ico".into(),
            ..list().targets[0].clone()
        };
        assert!(t.image_is_cross_host(0));
        assert!(!t.image_is_cross_host(1), "hosts compare without case");
        assert!(t.image_is_cross_host(2), "trials take the images in turn");
        let mut attempts = vec![
            Attempt { trial: 0, ..Attempt::new(ProbeKind::Image, Outcome::Error, 1.0) },
            Attempt { trial: 0, ..Attempt::new(ProbeKind::Fetch, Outcome::Ok, 1.0) },
            Attempt { trial: 1, cross_host: true, ..Attempt::new(ProbeKind::Image, Outcome::Error, 1.0) },
        ];
        t.mark_hosts(&mut attempts);
        assert_eq!(attempts.iter().map(|a| a.cross_host).collect::<Vec<_>>(), [true, false, false]);
        // A port makes another origin; the page's own origin is a host of its own.
        let own =
            Target { images: vec!["/static/control.png".into()], fetch: "/static/control.png".into(), ..t.clone() };
        assert!(!own.image_is_cross_host(0));
        let port = Target { images: vec!["https://x.com:8443/a.png".into()], ..t };
        assert!(port.image_is_cross_host(0));
    }

    #[test]
    fn host_names_may_hold_letters_digits_dots_and_hyphens_only() {
        for good in ["https://my-cdn.example/a.png", "https://a1.example:8443/a.png", "/static/a.png"] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for bad in ["https://a_b.example/a.png", "https://a%2eb.example/", "https://1.2.3.4:443/"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_limit_is_inclusive() {
        let mut l = list();
        l.version = "v".repeat(64);
        l.targets[0].name = "é".repeat(80); // characters, not bytes
        l.targets[0].category = "A_B0".repeat(4);
        l.targets[0].images = vec!["https://a.example/i.png".into(); MAX_IMAGES];
        l.targets[0].throughput = Some(Asset { url: "https://a.example/big.jpg".into(), bytes: Some(MIN_ASSET_BYTES) });
        l.targets[1].throughput = Some(Asset { url: "/big.jpg".into(), bytes: Some(MAX_ASSET_BYTES) });
        assert_eq!(refused(&l), None);
        let mut full = list();
        full.targets = (0..MAX_TARGETS).map(|i| Target { id: format!("t{i}"), ..full.targets[1].clone() }).collect();
        assert_eq!(refused(&full), None);
    }

    #[test]
    fn every_limit_is_refused_one_past_and_when_empty() {
        type Break = fn(&mut TargetList);
        let cases: [(&str, Break); 10] = [
            ("version", |l| l.version = "v".repeat(65)),
            ("version", |l| l.version.clear()),
            ("targets[0].name", |l| l.targets[0].name = "é".repeat(81)),
            ("targets[0].name", |l| l.targets[0].name.clear()),
            ("targets[0].category", |l| l.targets[0].category = "A".repeat(17)),
            ("targets[0].category", |l| l.targets[0].category.clear()),
            ("targets[0].category", |l| l.targets[0].category = "Grp".into()),
            ("targets[0].throughput.bytes", |l| {
                l.targets[0].throughput.as_mut().unwrap().bytes = Some(MIN_ASSET_BYTES - 1)
            }),
            ("targets[0].throughput.bytes", |l| {
                l.targets[0].throughput.as_mut().unwrap().bytes = Some(MAX_ASSET_BYTES + 1)
            }),
            ("targets", |l| l.targets.clear()),
        ];
        for (field, break_it) in cases {
            let mut l = list();
            break_it(&mut l);
            assert_eq!(refused(&l).as_deref(), Some(field), "{l:?}");
        }
    }

    #[test]
    fn targets_are_found_by_id() {
        let l = list();
        assert_eq!(l.get("vantage").map(|t| t.name.as_str()), Some("Vantage"));
        assert_eq!(l.get("x").map(|t| t.name.as_str()), Some("X"));
        assert_eq!(l.get("nope"), None);
    }

    #[test]
    fn parse_errors_name_the_field_or_the_document() {
        assert_eq!(TargetList::parse("[]").unwrap_err().field, "(document)");
        let e = TargetList::parse(r#"{"version":"1","targets":[{"id":1}]}"#).unwrap_err();
        assert_eq!(e.field, "targets[0].id");
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = TargetList::from_json(r#"{"version":"1","targets":[],"extra":1}"#).unwrap_err();
        assert!(e.detail.contains("unknown field `extra`"), "{e}");
    }
}
