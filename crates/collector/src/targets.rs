//! The target list the collector serves: a file given with `--targets`, or the built-in
//! default, validated before the collector starts.

use std::path::Path;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use vantage_report::TargetList;

use crate::AppState;

/// The built-in list: the four platforms of the Pakistan outage of 17 December 2023 and a
/// control on the collector's own origin.
pub const DEFAULT_TARGETS: &str = include_str!("../targets/default.json");

/// Loads and validates a list; `None` gives the built-in default.
pub fn load(path: Option<&Path>) -> Result<TargetList, String> {
    let (json, from) = match path {
        Some(p) => (std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?, p.display().to_string()),
        None => (DEFAULT_TARGETS.to_string(), "the built-in default list".to_string()),
    };
    TargetList::from_json(&json).map_err(|e| format!("{from}: {e}"))
}

/// `GET /api/v1/targets`
pub async fn get_targets(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache")],
        state.targets_json.to_string(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_list_is_valid_and_covers_the_platforms_it_promises() {
        let list = super::load(None).unwrap();
        for id in [
            "x", "facebook", "instagram", "youtube", "whatsapp", "telegram", "tiktok", "signal", "snapchat", "reddit",
            "wikipedia", "google", "discord", "linkedin", "threads", "bluesky", "mastodon",
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

    #[test]
    fn a_bad_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.json");
        std::fs::write(&p, r#"{"version":"1","targets":[{"id":"a","name":"A","category":"GRP","images":["http://a.example/x.png"],"fetch":"https://a.example/"}]}"#).unwrap();
        let e = super::load(Some(&p)).unwrap_err();
        assert!(e.contains("t.json") && e.contains("targets[0].images[0]"), "{e}");
    }
}
