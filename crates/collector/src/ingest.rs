//! `POST /api/v1/reports`: the door. Strict schema, clear errors, nothing stored unless valid.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::Serialize;
use vantage_report::Report;

use crate::error::ApiError;
use crate::peer::Peer;
use crate::store::StoreError;
use crate::AppState;

/// What a stored report is acknowledged with.
#[derive(Debug, Serialize)]
pub struct Stored {
    /// The row the report was stored as.
    pub id: i64,
    pub report_id: String,
}

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
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the report as application/json (got {:?})", ct),
        ))
    }
}

pub async fn post_report(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Stored>), ApiError> {
    let started = std::time::Instant::now();
    let result = ingest(&state, peer, &headers, &body).await;
    match &result {
        Ok(_) => state.metrics.accepted(started.elapsed()),
        Err(e) => state.metrics.rejected(e.error, started.elapsed()),
    }
    result
}

async fn ingest(
    state: &AppState,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(StatusCode, Json<Stored>), ApiError> {
    if let (Some(limiter), Some(ip)) = (&state.limiter, peer) {
        if !limiter.allow(ip) {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many reports from your network in a short time; try again in a minute",
            ));
        }
    }
    check_content_type(headers)?;
    let now = now_secs();
    let report = Report::from_json(body, now)?;
    let report_id = report.report_id.clone();
    // The address is used here and dropped with `peer`: only its country and network go on.
    let origin = state.geo.lookup(peer);
    match state.store.insert(report, origin, now).await {
        Ok(id) => Ok((StatusCode::CREATED, Json(Stored { id, report_id }))),
        Err(StoreError::Duplicate) => Err(ApiError {
            field: Some("report_id".into()),
            ..ApiError::new(StatusCode::CONFLICT, "duplicate_report", "a report with this report_id is already stored")
        }),
        Err(e) => Err(ApiError::internal(e)),
    }
}
