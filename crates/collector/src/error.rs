//! Errors as the API answers them: a status and a JSON body `{error, field, detail}` that
//! tells the caller what to change.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use vantage_report::ValidationError;

/// An API error with its status.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// A stable machine-readable code.
    pub error: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub detail: String,
    /// Seconds after which trying again makes sense (`Retry-After`), for 429 and 503.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, error, field: None, detail: detail.into(), retry_after: None }
    }

    /// The same error, naming the field or parameter to change.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The same error, saying when to try again.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the collector failed; try again later")
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        if e.malformed {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.detail).with_field(e.field)
        } else {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_report", e.detail).with_field(e.field)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(&self)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint")
}
