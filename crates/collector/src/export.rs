//! `GET /api/v1/export`: stored measurements as JSON Lines, one OONI-style measurement per line
//! (`probe_cc`, `probe_asn`, `report_id`, `measurement_start_time`, `input`, `software_name`,
//! `test_name`, `test_keys`, ...), so existing OONI tooling can read them.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::AppState;

/// The test name Vantage measurements carry in exports.
pub const TEST_NAME: &str = "vantage_web";

/// One stored measurement with its report's anonymised context.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub report_id: String,
    pub measurement_start_minute: String,
    pub probe_cc: String,
    pub probe_asn: u32,
    pub software_name: String,
    pub software_version: String,
    pub targets_version: String,
    pub browser_family: String,
    pub browser_major: u32,
    pub connection_type: Option<String>,
    pub deadline_ms: f64,
    pub target_id: String,
    pub input: String,
    pub control: bool,
    pub verdict: String,
    /// JSON object with `reason` and `attempts`.
    pub evidence: String,
}

impl ExportRow {
    /// The measurement in OONI's data format (times `YYYY-MM-DD HH:MM:SS`, UTC).
    pub fn to_ooni(&self) -> Value {
        let evidence: Value = serde_json::from_str(&self.evidence).unwrap_or(Value::Null);
        json!({
            "data_format_version": "0.2.0",
            "report_id": self.report_id,
            "measurement_start_time": self.measurement_start_minute.replace('T', " ").trim_end_matches('Z'),
            "probe_cc": self.probe_cc,
            "probe_asn": format!("AS{}", self.probe_asn),
            "software_name": self.software_name,
            "software_version": self.software_version,
            "test_name": TEST_NAME,
            "test_version": "0.1.0",
            "input": self.input,
            "annotations": {
                "targets_version": self.targets_version,
                "browser_family": self.browser_family,
                "browser_major": self.browser_major,
                "connection_type": self.connection_type,
            },
            "test_keys": {
                "target_id": self.target_id,
                "control": self.control,
                "verdict": self.verdict,
                "reason": evidence.get("reason"),
                "attempts": evidence.get("attempts"),
                "deadline_ms": self.deadline_ms,
            },
        })
    }
}

pub async fn get_export(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let rows = state.store.export().await.map_err(ApiError::internal)?;
    let mut body = String::new();
    for row in rows {
        body.push_str(&row.to_ooni().to_string());
        body.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body))
}
