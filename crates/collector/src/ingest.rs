//! `POST /api/v1/reports`: the door. Strict schema, clear errors, nothing stored unless valid.
//!
//! Checks run cheapest first, so a flood of bad submissions costs little: the rate limit, the
//! `Origin`, the media type, then the body (read within a deadline and a size limit), the JSON
//! (one document, nothing after it), the schema, and the served target lists.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use vantage_report::wire::{ErrorCode, Stored};
use vantage_report::Report;

use crate::error::ApiError;
use crate::peer::Peer;
use crate::AppState;

pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// JSON bodies are accepted as `application/json` and, so that `navigator.sendBeacon` works
/// without a preflight, as `text/plain`.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime == "application/json" || mime == "text/plain" {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("send the report as application/json (got {:?})", ct),
        ))
    }
}

/// A page elsewhere must not submit through its visitors' browsers (a `text/plain` POST needs
/// no preflight, so CORS alone does not stop it). Allowed: no `Origin` (not a browser page), the
/// collector's own origin (its `Host`), and the `--allow-origin` list.
fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
    if state.cors_origins.iter().any(|allowed| allowed == origin) {
        return Ok(());
    }
    let own = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let authority = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest);
    if let (Some(own), Some(authority)) = (own, authority) {
        if own.eq_ignore_ascii_case(authority) {
            return Ok(());
        }
    }
    Err(ApiError::new(
        ErrorCode::ForbiddenOrigin,
        "reports are accepted from this collector's own pages and the sites its operator allows",
    )
    .with_field("Origin"))
}

/// The body, within the size limit and the body deadline.
async fn read_body(body: Body, limit: usize, deadline: Duration) -> Result<axum::body::Bytes, ApiError> {
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(ApiError::new(
            ErrorCode::BodyTimeout,
            format!("the report did not arrive within {} s", deadline.as_secs_f64()),
        )),
        Ok(Err(e)) if is_too_large(&e) => {
            Err(ApiError::new(ErrorCode::TooLarge, format!("a report is at most {limit} bytes")))
        }
        Ok(Err(_)) => Err(ApiError::new(ErrorCode::IncompleteBody, "the report was cut off")),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

fn is_too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// One JSON document and nothing after it (the schema check would accept `{...}garbage`).
fn check_single_document(body: &[u8]) -> Result<(), ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    if serde::de::IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_err() {
        return Err(ApiError::new(ErrorCode::MalformedJson, "data after the JSON document; send exactly one report")
            .with_field("(body)"));
    }
    Ok(())
}

pub async fn post_report(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Stored>), ApiError> {
    let started = std::time::Instant::now();
    let result = ingest(&state, peer, &headers, body).await;
    match &result {
        Ok(_) => state.metrics.accepted(started.elapsed()),
        Err(e) => state.metrics.rejected(e.code, started.elapsed()),
    }
    result
}

async fn ingest(
    state: &AppState,
    peer: Peer,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Stored>), ApiError> {
    if let (Some(limiter), Some(bucket)) = (&state.limiter, peer.bucket) {
        if let Err(wait) = limiter.check(bucket) {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "too many reports from your network in a short time; try again in a minute",
            )
            .retry_after(wait.as_secs_f64().ceil() as u64));
        }
    }
    check_origin(state, headers)?;
    check_content_type(headers)?;
    let body = read_body(body, crate::MAX_REPORT_BYTES, state.body_timeout).await?;
    check_single_document(&body)?;
    let now = now_secs();
    let report = Report::from_json(&body, now)?;
    state.catalogue.check_report(&report)?;
    let report_id = report.report_id.clone();
    // The address is used here and dropped with `peer`: only its country and network go on.
    let origin = state.geo.lookup(peer.addr);
    state.store.insert(report, origin, now).await?;
    Ok((StatusCode::CREATED, Json(Stored { report_id })))
}
