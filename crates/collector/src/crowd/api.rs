//! `GET /api/v1/aggregates` and `GET /api/v1/events` (and the router that adds `nearby.rs`), read from the rollup and event tables
//! only. Cells with fewer than `min_reports` distinct reports say "not enough reports" and
//! never their counts.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use vantage_report::timestamp::{format_minute, parse_utc};

use super::cells::{publish, CellKey, Published, Rollup, TargetCell, BUCKET_SECS};
use super::store::{CrowdDb, EventFilter};
use crate::error::ApiError;

/// What the crowd endpoints need.
#[derive(Clone)]
pub struct CrowdState {
    pub db: Arc<CrowdDb>,
    pub min_reports: u32,
}

/// The crowd endpoints, to be nested under `/api/v1` beside the others. `/nearby` needs the
/// whole state (the requester's place comes from the GeoIP lookup of the connection).
pub fn router(state: CrowdState) -> Router<crate::AppState> {
    Router::new()
        .route("/aggregates", get(get_aggregates))
        .route("/events", get(get_events))
        .with_state(state)
        .route("/nearby", get(super::nearby::get_nearby))
}

/// Grain of an aggregates query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Quarter,
    Hour,
    Day,
    /// One cell for the whole range (its start is the range's): totals per place and target.
    Total,
}

impl Grain {
    pub fn secs(self) -> i64 {
        match self {
            // A total starts where its range does, to the 15 minutes.
            Grain::Quarter | Grain::Total => BUCKET_SECS,
            Grain::Hour => 3600,
            Grain::Day => 86_400,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Grain::Quarter => "15m",
            Grain::Hour => "hour",
            Grain::Day => "day",
            Grain::Total => "total",
        }
    }
    /// Longest range a query of this grain may ask for, so a response stays small.
    fn max_range(self) -> i64 {
        match self {
            Grain::Quarter => 7 * 86_400,
            Grain::Hour => 31 * 86_400,
            Grain::Day | Grain::Total => 400 * 86_400,
        }
    }
}

/// `asn=`: absent for the whole country (networks summed), a number for one network, `each`
/// for every network apart (a per-network breakdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Networks {
    Summed,
    One(u32),
    Each,
}

/// An aggregates query, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateQuery {
    pub country: Option<String>,
    /// Which networks: summed into the whole country, or each apart.
    pub networks: Networks,
    pub target: Option<String>,
    pub since: i64,
    pub until: i64,
    pub grain: Grain,
}

pub(super) fn bad(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(vantage_report::wire::ErrorCode::InvalidQuery, detail).with_field(field)
}

/// `YYYY-MM-DD` (midnight UTC) or a UTC timestamp like `2023-12-17T15:00:00Z`.
pub fn parse_time(s: &str) -> Option<i64> {
    if s.len() == 10 {
        return parse_utc(&format!("{s}T00:00:00Z"));
    }
    parse_utc(s)
}

pub(super) fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect()
}

pub(super) fn one<'a>(pairs: &'a [(String, String)], key: &str) -> Result<Option<&'a str>, ApiError> {
    let mut found = pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(bad(key, "given more than once"));
    }
    Ok(first.filter(|v| !v.is_empty()))
}

pub(super) fn check_keys(pairs: &[(String, String)], known: &[&str]) -> Result<(), ApiError> {
    match pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        Some((k, _)) => Err(bad(k, format!("unknown parameter; known: {}", known.join(", ")))),
        None => Ok(()),
    }
}

fn country_param(v: Option<&str>) -> Result<Option<String>, ApiError> {
    match v {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) => Ok(Some(c.to_string())),
        Some(_) => Err(bad("country", "must be an ISO 3166-1 alpha-2 code like PK")),
        None => Ok(None),
    }
}

fn time_param(v: Option<&str>, field: &str) -> Result<Option<i64>, ApiError> {
    v.map(|s| {
        parse_time(s).ok_or_else(|| bad(field, "must be a date like 2023-12-17 or a time like 2023-12-17T15:00:00Z"))
    })
    .transpose()
}

impl AggregateQuery {
    /// Parses `country`, `asn` (a number or `each`), `target`, `since`, `until`, `bucket` (`15m`,
    /// `hour`, `day` or `total`).
    /// Without `until`, now; without `since`, a day, a week or 30 days before it.
    pub fn parse(query: Option<&str>, now: i64) -> Result<Self, ApiError> {
        let p = pairs(query);
        check_keys(&p, &["country", "asn", "target", "since", "until", "bucket"])?;
        let grain = match one(&p, "bucket")?.unwrap_or("hour") {
            "15m" => Grain::Quarter,
            "hour" => Grain::Hour,
            "day" => Grain::Day,
            "total" => Grain::Total,
            _ => return Err(bad("bucket", "must be 15m, hour, day or total")),
        };
        let networks = match one(&p, "asn")? {
            None => Networks::Summed,
            Some("each") => Networks::Each,
            Some(a) => Networks::One(
                a.trim_start_matches("AS")
                    .parse::<u32>()
                    .map_err(|_| bad("asn", "must be a number like 17557, or each for every network apart"))?,
            ),
        };
        let target = one(&p, "target")?.map(str::to_string);
        if target.as_deref().is_some_and(|t| !vantage_report::target::is_valid_id(t)) {
            return Err(bad("target", "must be a target id like x or youtube"));
        }
        let until = time_param(one(&p, "until")?, "until")?.unwrap_or(now);
        let default_span = match grain {
            Grain::Quarter => 86_400,
            Grain::Hour => 7 * 86_400,
            Grain::Day | Grain::Total => 30 * 86_400,
        };
        let since = time_param(one(&p, "since")?, "since")?.unwrap_or(until - default_span);
        if since >= until {
            return Err(bad("since", "must be before until"));
        }
        if until - since > grain.max_range() {
            return Err(bad(
                "since",
                format!("{} buckets cover at most {} days", grain.name(), grain.max_range() / 86_400),
            ));
        }
        let country = country_param(one(&p, "country")?)?;
        Ok(AggregateQuery { country, networks, target, since, until, grain })
    }
}

fn cell_json(key: &CellKey, cell: Published<&TargetCell>, whole_country: bool) -> Value {
    let asn = if whole_country { Value::Null } else { json!(key.asn) };
    let mut v = json!({"start": format_minute(key.bucket), "country": key.country, "asn": asn, "target": key.target});
    match cell {
        Published::Counts(c) => {
            v["control"] = json!(c.control);
            v["reports"] = json!(c.reports);
            v["controls_loaded"] = json!(c.controls_loaded);
            v["verdicts"] = json!(c.verdicts);
            v["decided"] = json!(c.verdicts.decided());
            v["disrupted"] = json!(c.verdicts.disrupted());
        }
        Published::Withheld { status } => v["status"] = json!(status),
    }
    v
}

/// The cells a query asks for, as published: pure, over rollup cells of its range.
pub fn aggregate(rollup: &Rollup, q: &AggregateQuery, min_reports: u32) -> Value {
    let whole_country = q.networks == Networks::Summed;
    let mut cells = Rollup::default();
    for (k, c) in &rollup.targets {
        let wanted = (k.bucket >= q.since - q.since.rem_euclid(BUCKET_SECS) && k.bucket < q.until)
            && q.country.as_ref().is_none_or(|cc| *cc == k.country)
            && match q.networks {
                Networks::One(a) => a == k.asn,
                Networks::Summed | Networks::Each => true,
            }
            && q.target.as_ref().is_none_or(|t| *t == k.target);
        if wanted {
            let bucket = if q.grain == Grain::Total { q.since } else { k.bucket };
            let key = CellKey { bucket, asn: if whole_country { 0 } else { k.asn }, ..k.clone() };
            cells.targets.entry(key).or_default().merge(c);
        }
    }
    let cells = if q.grain == Grain::Total { cells } else { cells.coarsen(q.grain.secs()) };
    let out: Vec<Value> =
        cells.targets.iter().map(|(k, c)| cell_json(k, publish(c, c.reports, min_reports), whole_country)).collect();
    json!({
        "bucket": q.grain.name(),
        "since": format_minute(q.since),
        "until": format_minute(q.until),
        "min_reports": min_reports,
        "cells": out,
    })
}

pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    ApiError::internal(e).into_response()
}

/// `GET /api/v1/aggregates`.
pub async fn get_aggregates(State(state): State<CrowdState>, RawQuery(query): RawQuery) -> Response {
    let q = match AggregateQuery::parse(query.as_deref(), crate::ingest::now_secs()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let since = q.since.div_euclid(q.grain.secs()) * q.grain.secs();
    // A total reads whole days where it can, like a daily query.
    let read_grain = if q.grain == Grain::Total { Grain::Day.secs() } else { q.grain.secs() };
    match state.db.cells(since, q.until, q.country.as_deref(), read_grain).await {
        Ok(rollup) => Json(aggregate(&rollup, &AggregateQuery { since, ..q }, state.min_reports)).into_response(),
        Err(e) => internal(e),
    }
}

/// An events query, checked: `country`, `since`, `until`, `kind`.
pub fn parse_events(query: Option<&str>) -> Result<EventFilter, ApiError> {
    let p = pairs(query);
    check_keys(&p, &["country", "since", "until", "kind"])?;
    let kind = one(&p, "kind")?.map(str::to_string);
    if kind.as_deref().is_some_and(|k| super::detect::EventKind::parse(k).is_none()) {
        return Err(bad("kind", "must be censorship, outage or connectivity"));
    }
    Ok(EventFilter {
        country: country_param(one(&p, "country")?)?,
        since: time_param(one(&p, "since")?, "since")?,
        until: time_param(one(&p, "until")?, "until")?,
        kind,
    })
}

/// `GET /api/v1/events`.
pub async fn get_events(State(state): State<CrowdState>, RawQuery(query): RawQuery) -> Response {
    let filter = match parse_events(query.as_deref()) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    match state.db.events(&filter).await {
        Ok(events) => Json(json!({ "events": events })).into_response(),
        Err(e) => internal(e),
    }
}

impl crate::AppState {
    /// Serves aggregates and events from these tables.
    pub fn with_crowd(mut self, crowd: CrowdState) -> Self {
        self.crowd = Some(crowd);
        self
    }
}
