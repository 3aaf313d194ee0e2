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
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, error, field: None, detail: detail.into() }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the collector failed; try again later")
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        if e.malformed {
            ApiError {
                status: StatusCode::BAD_REQUEST,
                error: "malformed_json",
                field: Some(e.field),
                detail: e.detail,
            }
        } else {
            ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                error: "invalid_report",
                field: Some(e.field),
                detail: e.detail,
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint")
}
