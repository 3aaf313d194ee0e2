//! Errors as the API answers them: the status of an [`ErrorCode`] and a JSON [`ErrorBody`]
//! `{error, field, detail}` that tells the caller what to change. Every refusal under `/api`
//! takes this form, unknown paths and methods included.
//!
//! Constructing an error logs nothing; the one log line is written when it becomes a response
//! ([`IntoResponse`]), and holds no client address: an internal error at `error` level with its
//! cause (never sent to the client), a refusal at `debug` level with its code and field only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use vantage_report::wire::{ErrorBody, ErrorCode};
use vantage_report::ValidationError;

use crate::store::StoreError;

/// An API error: its code (which decides the status), the field to blame, what to change.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    /// The field or parameter to change, when one is to blame.
    pub field: Option<String>,
    pub detail: String,
    /// Seconds after which trying again makes sense (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
    /// What failed inside the collector: logged with the response, never sent.
    cause: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError { code, field: None, detail: detail.into(), retry_after: None, cause: None }
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

    /// The collector failed: the client is told to try later, `cause` goes to the log when the
    /// answer is made.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError {
            cause: Some(cause.to_string()),
            ..ApiError::new(ErrorCode::Internal, "the collector failed; try again later")
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// What the client receives.
    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: self.code, field: self.field.clone(), detail: self.detail.clone() }
    }
}

/// An error and every error beneath it, `outer: inner: innermost`, for the log.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        let code = if e.malformed { ErrorCode::MalformedJson } else { ErrorCode::InvalidReport };
        ApiError::new(code, e.detail).with_field(e.field)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate => {
                ApiError::new(ErrorCode::DuplicateReport, "a report with this report_id is already stored")
                    .with_field("report_id")
            }
            StoreError::Closed => {
                ApiError::new(ErrorCode::ShuttingDown, "the collector is restarting; send the report again shortly")
                    .retry_after(5)
            }
            e => ApiError::internal(chain(&e)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self.cause {
            Some(cause) => tracing::error!(code = %self.code, %cause, "request failed inside the collector"),
            None => tracing::debug!(code = %self.code, field = ?self.field, "request refused"),
        }
        let mut res = (self.status(), Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

/// Any path under `/api` that is no endpoint.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such API endpoint")
}

/// An endpoint asked with a method it does not take (the `Allow` header lists those it does).
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this endpoint does not take this method; see the Allow header")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line logged while `f` runs.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().map_or(Ok(0), |mut l| {
                    l.extend_from_slice(buf);
                    Ok(buf.len())
                })
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = lines.0.lock().map(|l| l.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn an_internal_error_is_logged_once_when_answered_and_its_cause_is_not_sent() {
        let mut error = None;
        let at_construction = logged(|| error = Some(ApiError::internal("disk I/O error: /var/lib/vantage")));
        assert_eq!(at_construction, "", "constructing an error must not log");
        let mut response = None;
        let at_answer = logged(|| response = error.map(IntoResponse::into_response));
        assert_eq!(at_answer.lines().count(), 1, "{at_answer}");
        assert!(at_answer.contains("ERROR") && at_answer.contains("disk I/O error"), "{at_answer}");
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn store_errors_keep_their_meaning_and_their_cause_stays_inside() {
        let dup = ApiError::from(StoreError::Duplicate);
        assert_eq!(
            (dup.code, dup.status(), dup.field.as_deref()),
            (ErrorCode::DuplicateReport, StatusCode::CONFLICT, Some("report_id"))
        );
        let closed = ApiError::from(StoreError::Closed);
        assert_eq!((closed.status(), closed.retry_after), (StatusCode::SERVICE_UNAVAILABLE, Some(5)));
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only file system");
        let broken = ApiError::from(StoreError::Path { path: "/data".into(), source: io });
        assert_eq!(broken.code, ErrorCode::Internal);
        assert!(broken.cause.as_deref().is_some_and(|c| c.contains("read-only file system")), "{broken:?}");
        assert!(!broken.body().detail.contains("read-only"), "the cause is not sent: {:?}", broken.body());
    }
}
