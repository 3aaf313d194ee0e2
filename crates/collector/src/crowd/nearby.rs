//! `GET /api/v1/nearby?hours=N`: the recent crowd picture of the requester's own place, for the
//! self-test page ("others on your network") and the widget's live status line.
//!
//! The place is the GeoIP lookup of the connection (through a trusted proxy's header, as for
//! submissions); the address goes no further than that lookup — it is not stored, logged or
//! returned. Per target, the window's 15-minute cells summed for the whole country and for the
//! requester's network; a sum with fewer than `min_reports` distinct reports is left out
//! entirely, not even marked. An unknown country gives nulls and empty lists.
//!
//! ```text
//! {"country":"PK","asn":17557,"since":"…","until":"…","min_reports":5,
//!  "country_cells":[Cell],"network_cells":[Cell],"events":[Event]}
//! Cell = {"target","control","reports","controls_loaded","verdicts","decided","disrupted"}
//! ```

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use vantage_report::timestamp::{format_minute, parse_utc};

use super::api::{bad, check_keys, internal, one, pairs};
use super::cells::{bucket_of, Rollup, TargetCell};
use super::store::EventFilter;
use crate::error::ApiError;
use crate::peer::Peer;
use crate::store::Origin;
use crate::AppState;

/// The window when `hours` is not given, and the longest one asked for.
pub const DEFAULT_HOURS: i64 = 2;
pub const MAX_HOURS: i64 = 24;
/// Browsers may reuse an answer this long; `private`: it depends on who asks, so no shared
/// cache may keep it.
pub const CACHE_CONTROL: &str = "private, max-age=60";

/// `hours` (1 to 24, default 2), the only parameter.
pub fn parse_hours(query: Option<&str>) -> Result<i64, ApiError> {
    let p = pairs(query);
    check_keys(&p, &["hours"])?;
    match one(&p, "hours")? {
        None => Ok(DEFAULT_HOURS),
        Some(h) => h
            .parse::<i64>()
            .ok()
            .filter(|h| (1..=MAX_HOURS).contains(h))
            .ok_or_else(|| bad("hours", format!("must be a whole number of hours from 1 to {MAX_HOURS}"))),
    }
}

/// The window of `hours` up to `now`, in whole 15-minute cells: [since, now).
pub fn window(hours: i64, now: i64) -> (i64, i64) {
    (bucket_of(now - hours * 3600), now)
}

fn cell_json(target: &str, c: &TargetCell) -> Value {
    json!({
        "target": target,
        "control": c.control,
        "reports": c.reports,
        "controls_loaded": c.controls_loaded,
        "verdicts": c.verdicts,
        "decided": c.verdicts.decided(),
        "disrupted": c.verdicts.disrupted(),
    })
}

/// Per target, the cells of `rollup` in [since, until) from `country` (and `asn`, when given)
/// summed; only sums with at least `min_reports` distinct reports, by target id.
pub fn summed(
    rollup: &Rollup,
    country: &str,
    asn: Option<u32>,
    since: i64,
    until: i64,
    min_reports: u32,
) -> Vec<Value> {
    let mut sums: BTreeMap<&str, TargetCell> = BTreeMap::new();
    for (k, c) in &rollup.targets {
        if k.country == country && asn.is_none_or(|a| a == k.asn) && (since..until).contains(&k.bucket) {
            sums.entry(k.target.as_str()).or_default().merge(c);
        }
    }
    sums.iter().filter(|(_, c)| c.reports >= min_reports).map(|(t, c)| cell_json(t, c)).collect()
}

/// Does a stored event (as the API returns it) touch `country` and run at or after `since`?
/// Country events of that country, and outages that name it among their countries.
fn touches(event: &Value, country: &str, since: i64) -> bool {
    let here = event["country"] == country
        || (event["kind"] == "outage"
            && event["countries"].as_array().is_some_and(|cs| cs.iter().any(|c| c == country)));
    let running = match event["end"].as_str() {
        None => true,
        Some(end) => parse_utc(end).is_some_and(|end| end >= since),
    };
    here && running
}

/// The whole answer for a requester from `origin`, from the rollup of its country and the
/// stored events that may touch it: pure.
pub fn picture(
    origin: &Origin,
    rollup: &Rollup,
    events: Vec<Value>,
    since: i64,
    until: i64,
    min_reports: u32,
) -> Value {
    let known = origin.country != Origin::unknown().country;
    let (country, asn) = (known.then_some(origin.country.as_str()), (known && origin.asn != 0).then_some(origin.asn));
    let (country_cells, network_cells, events) = match country {
        None => (Vec::new(), Vec::new(), Vec::new()),
        Some(cc) => (
            summed(rollup, cc, None, since, until, min_reports),
            asn.map_or_else(Vec::new, |a| summed(rollup, cc, Some(a), since, until, min_reports)),
            events.into_iter().filter(|e| touches(e, cc, since)).collect(),
        ),
    };
    json!({
        "country": country,
        "asn": asn,
        "since": format_minute(since),
        "until": format_minute(until),
        "min_reports": min_reports,
        "country_cells": country_cells,
        "network_cells": network_cells,
        "events": events,
    })
}

/// `GET /api/v1/nearby`.
pub async fn get_nearby(State(state): State<AppState>, peer: Peer, RawQuery(query): RawQuery) -> Response {
    let Some(crowd) = state.crowd.clone() else { return crate::error::not_found().await.into_response() };
    let hours = match parse_hours(query.as_deref()) {
        Ok(h) => h,
        Err(e) => return e.into_response(),
    };
    // The address is looked up here and dropped with `peer`.
    let origin = state.geo.lookup(peer.addr);
    let (since, until) = window(hours, crate::ingest::now_secs());
    let (rollup, events) = if origin.country == Origin::unknown().country {
        (Rollup::default(), Vec::new())
    } else {
        let rollup = crowd.db.rollup(since, until, Some(&origin.country)).await;
        // Events of the country and outages (which have no country of their own), filtered
        // to those touching it in `picture`.
        let of_country =
            EventFilter { country: Some(origin.country.clone()), until: Some(until), ..EventFilter::default() };
        let outages = EventFilter { kind: Some("outage".into()), until: Some(until), ..EventFilter::default() };
        let events = match (crowd.db.events(&of_country).await, crowd.db.events(&outages).await) {
            (Ok(mut a), Ok(b)) => {
                a.extend(b);
                Ok(a)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        match (rollup, events) {
            (Ok(r), Ok(e)) => (r, e),
            (Err(e), _) | (_, Err(e)) => return internal(e),
        }
    };
    let mut events = events;
    events.sort_by(|a, b| (a["start"].as_str(), a["id"].as_str()).cmp(&(b["start"].as_str(), b["id"].as_str())));
    events.dedup_by(|a, b| a["id"] == b["id"]);
    let body = picture(&origin, &rollup, events, since, until, crowd.min_reports);
    let mut res = Json(body).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_one_to_twenty_four() {
        assert_eq!(parse_hours(None).unwrap(), 2);
        assert_eq!(parse_hours(Some("hours=24")).unwrap(), 24);
        for bad in ["hours=0", "hours=25", "hours=1.5", "hours=two", "hours=1&hours=2", "country=PK"] {
            assert!(parse_hours(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(window(2, 1_702_832_460), (1_702_825_200, 1_702_832_460), "whole cells back from 16:41");
    }

    #[test]
    fn an_unknown_place_gets_nulls_and_nothing_else() {
        let mut rollup = Rollup::default();
        rollup.add_measured(
            1_702_825_200,
            "ZZ",
            0,
            true,
            (0..9).map(|_| ("x", false, vantage_report::Verdict::Blocked)),
        );
        let v = picture(&Origin::unknown(), &rollup, vec![json!({"country": "ZZ"})], 1_702_825_200, 1_702_832_400, 1);
        assert_eq!((v["country"].is_null(), v["asn"].is_null()), (true, true));
        assert_eq!((v["country_cells"].as_array().unwrap().len(), v["events"].as_array().unwrap().len()), (0, 0));
    }
}
