//! `GET /api/v1/export`: stored measurements as JSON Lines, one OONI-style measurement per line
//! (`probe_cc`, `probe_asn`, `report_id`, `measurement_start_time`, `input`, `software_name`,
//! `test_name`, `test_keys`, ...), so existing OONI tooling can read them.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use vantage_report::timestamp::parse_utc;
use vantage_report::wire::{CountryCode, ErrorCode};
use vantage_report::Verdict;

use crate::error::ApiError;
use crate::store::{ExportCursor, ExportFilter, StoreError, EXPORT_PAGE};
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
    pub verdict: Verdict,
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
            "measurement_start_time": ooni_time(&self.measurement_start_minute),
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

/// Columns of the CSV export, in order.
pub const CSV_COLUMNS: [&str; 15] = [
    "measurement_start_time",
    "probe_cc",
    "probe_asn",
    "report_id",
    "input",
    "target_id",
    "control",
    "verdict",
    "reason",
    "attempts",
    "software_name",
    "software_version",
    "targets_version",
    "browser_family",
    "browser_major",
];

impl ExportRow {
    /// The measurement as one CSV record (see [`CSV_COLUMNS`]).
    pub fn to_csv_record(&self) -> Vec<String> {
        let evidence: Value = serde_json::from_str(&self.evidence).unwrap_or(Value::Null);
        vec![
            ooni_time(&self.measurement_start_minute),
            self.probe_cc.clone(),
            format!("AS{}", self.probe_asn),
            self.report_id.clone(),
            self.input.clone(),
            self.target_id.clone(),
            self.control.to_string(),
            self.verdict.as_str().to_string(),
            evidence["reason"]["kind"].as_str().unwrap_or("").to_string(),
            evidence["attempts"].as_array().map_or(0, Vec::len).to_string(),
            self.software_name.clone(),
            self.software_version.clone(),
            self.targets_version.clone(),
            self.browser_family.clone(),
            self.browser_major.to_string(),
        ]
    }
}

/// `2023-12-17T15:00:00Z` → `2023-12-17 15:00:00`, OONI's format.
fn ooni_time(minute: &str) -> String {
    minute.replace('T', " ").trim_end_matches('Z').to_string()
}

/// Output format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// OONI-style measurements, one JSON object a line.
    Jsonl,
    /// One measurement a row, formulas neutralised.
    Csv,
}

/// An export request's parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportQuery {
    pub filter: ExportFilter,
    pub format: Format,
}

fn bad(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, detail).with_field(field)
}

/// What `since` and `until` take.
pub const TIME_HINT: &str = "must be a UTC date (2023-12-17) or time (2023-12-17T15:00:00Z)";

/// `YYYY-MM-DD` (midnight UTC) or a full UTC timestamp, as seconds since the epoch.
pub fn parse_day_or_time(value: &str) -> Option<i64> {
    if value.len() == 10 {
        parse_utc(&format!("{value}T00:00:00Z"))
    } else {
        parse_utc(value)
    }
}

fn parse_time(field: &str, value: &str) -> Result<i64, ApiError> {
    parse_day_or_time(value).ok_or_else(|| bad(field, TIME_HINT))
}

impl ExportQuery {
    /// Parses `since`, `until`, `country` and `format`; anything else is refused.
    pub fn parse(query: Option<&str>) -> Result<ExportQuery, ApiError> {
        let mut filter = ExportFilter::default();
        let mut format = Format::Jsonl;
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "since" => filter.since = Some(parse_time("since", &value)?),
                "until" => filter.until = Some(parse_time("until", &value)?),
                "country" => {
                    let code = CountryCode::parse(&value)
                        .ok_or_else(|| bad("country", "must be a two-letter ISO code such as PK"))?;
                    filter.country = Some(code.to_string());
                }
                "format" => {
                    format =
                        clap::ValueEnum::from_str(&value, false).map_err(|_| bad("format", "must be jsonl or csv"))?
                }
                other => return Err(bad(other, "unknown parameter; use since, until, country, format")),
            }
        }
        ExportQuery::new(filter, format)
    }

    /// A query of these parts, if they make sense together (`since` before `until`).
    pub fn new(filter: ExportFilter, format: Format) -> Result<ExportQuery, ApiError> {
        if let (Some(since), Some(until)) = (filter.since, filter.until) {
            if since >= until {
                return Err(bad("until", "must be after since"));
            }
        }
        Ok(ExportQuery { filter, format })
    }
}

fn csv_line(fields: &[String]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(fields);
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, carriage return
/// first) gets a leading `'`, as OWASP advises against CSV injection.
fn neutralised(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

impl Format {
    /// The first line of an export in this format, if it has one.
    pub fn header(self) -> Option<String> {
        (self == Format::Csv).then(|| csv_line(&CSV_COLUMNS.map(String::from)))
    }

    /// One measurement as a line of this format.
    pub fn line(self, row: &ExportRow) -> String {
        match self {
            Format::Jsonl => format!("{}\n", row.to_ooni()),
            Format::Csv => csv_line(&row.to_csv_record().into_iter().map(neutralised).collect::<Vec<_>>()),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Seconds a refused export is told to wait.
const EXPORT_RETRY_SECS: u64 = 30;

/// What an export body needs between pages; dropping it (the client hung up or stopped
/// reading and was cut off) frees its export slot.
struct Paging {
    store: std::sync::Arc<dyn crate::store::Store>,
    filter: ExportFilter,
    format: Format,
    after: Option<ExportCursor>,
    header: Option<String>,
    done: bool,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

/// The next chunk of the body: the header line, then one page of lines per call.
async fn next_chunk(mut p: Paging) -> Option<(Result<String, StoreError>, Paging)> {
    if let Some(h) = p.header.take() {
        return Some((Ok(h), p));
    }
    if p.done {
        return None;
    }
    match p.store.export_page(&p.filter, p.after.take(), EXPORT_PAGE).await {
        Ok(page) => {
            p.done = page.next.is_none();
            p.after = page.next;
            let chunk: String = page.rows.iter().map(|row| p.format.line(row)).collect();
            Some((Ok(chunk), p))
        }
        Err(e) => {
            // The client sees a cut-off body, not a silently shorter export.
            tracing::error!(error = %crate::error::chain(&e), "export failed part way");
            p.done = true;
            Some((Err(e), p))
        }
    }
}

/// `GET /api/v1/export?since=&until=&country=&format=jsonl|csv`, a page at a time: each page
/// is one short read, taken only when the client has taken the previous one, so a client that
/// stops reading holds no database snapshot and no thread. At most `--max-exports` run at once;
/// further requests get 503 with `Retry-After`.
pub async fn get_export(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let q = ExportQuery::parse(query.as_deref())?;
    let Ok(slot) = state.export_slots.clone().try_acquire_owned() else {
        state.metrics.export_refused();
        return Err(ApiError::new(ErrorCode::Busy, "every export slot is in use; try again shortly")
            .retry_after(EXPORT_RETRY_SECS));
    };
    let paging = Paging {
        store: state.store.clone(),
        filter: q.filter.clone(),
        format: q.format,
        after: None,
        header: q.format.header(),
        done: false,
        _slot: slot,
    };
    let body = Body::from_stream(futures_util::stream::unfold(paging, next_chunk));
    Ok(([(header::CONTENT_TYPE, q.format.content_type())], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_parameters_are_checked() {
        let q = ExportQuery::parse(Some("since=2023-12-17&until=2023-12-18T00:00:00Z&country=pk&format=csv")).unwrap();
        assert_eq!(q.filter.since, Some(1_702_771_200));
        assert_eq!(q.filter.until, Some(1_702_857_600));
        assert_eq!(q.filter.country.as_deref(), Some("PK"));
        assert_eq!(q.format, Format::Csv);
        assert_eq!(ExportQuery::parse(None).unwrap().format, Format::Jsonl);
        for (query, field) in [
            ("since=yesterday", "since"),
            ("country=Pakistan", "country"),
            ("format=xml", "format"),
            ("ip=1", "ip"),
            ("since=2023-12-18&until=2023-12-17", "until"),
        ] {
            assert_eq!(ExportQuery::parse(Some(query)).unwrap_err().field.as_deref(), Some(field), "{query}");
        }
    }

    fn row(field: &str) -> ExportRow {
        ExportRow {
            report_id: "0".repeat(32),
            measurement_start_minute: "2023-12-17T15:00:00Z".into(),
            probe_cc: "PK".into(),
            probe_asn: 17557,
            software_name: field.into(),
            software_version: "-1".into(),
            targets_version: "+t".into(),
            browser_family: "@chromium".into(),
            browser_major: 1,
            connection_type: None,
            deadline_ms: 1.0,
            target_id: "x".into(),
            input: "=HYPERLINK(\"https://evil.example\")".into(),
            control: false,
            verdict: Verdict::Blocked,
            evidence: "{}".into(),
        }
    }

    /// OWASP's advice for CSV injection: a cell a spreadsheet would read as a formula starts
    /// with a `'` instead.
    #[test]
    fn csv_cells_are_never_formulas() {
        for first in ["=", "+", "-", "@", "\t", "\r"] {
            let line = Format::Csv.line(&row(&format!("{first}1+1")));
            let cells: Vec<String> = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes())
                .records()
                .next()
                .unwrap()
                .unwrap()
                .iter()
                .map(String::from)
                .collect();
            for cell in &cells {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{first:?}: a cell could be a formula: {cell:?} in {line}"
                );
            }
            assert!(cells.contains(&format!("'{first}1+1")), "{line}");
        }
    }
}
