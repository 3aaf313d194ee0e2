//! `vantage-collector import`: loads what `export` produced (JSON Lines, one OONI-style
//! measurement per line, a report's lines together) back into a store. It moves data between
//! collectors and loads historic or synthetic crowds (the replay).
//!
//! Each report is rebuilt from its lines and checked as the API checks a submission — the
//! schema rules with every verdict and reason re-derived from its attempts, and every
//! measurement naming a target of a list the collector serves — without the API's recency
//! check. Report ids make it idempotent: a report already stored is counted, not stored again.
//! Times come back at the minute precision the export kept, so export → import → export gives
//! the same file.

use std::io::BufRead;

use serde_json::Value;
use thiserror::Error;
use vantage_report::timestamp::parse_utc;
use vantage_report::{BrowserInfo, Measurement, Report, SCHEMA_VERSION};

use crate::store::{Origin, Store, StoreError};
use crate::targets::Catalogue;

/// Why an import stopped; `line` counts from 1.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("line {line}: {detail}")]
    Line { line: usize, detail: String },
    #[error("reading the file: {0}")]
    Read(#[from] std::io::Error),
    #[error("storing report {report_id}: {source}")]
    Store { report_id: String, source: StoreError },
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub reports: usize,
    pub stored: usize,
    /// Already stored (same report id): left as they were.
    pub duplicates: usize,
}

/// One report rebuilt from its lines, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub report: Report,
    pub origin: Origin,
    /// The first line it came from.
    pub line: usize,
}

fn field<'a>(v: &'a Value, path: &[&str], line: usize) -> Result<&'a Value, ImportError> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .ok_or_else(|| ImportError::Line { line, detail: format!("missing {}", path.join(".")) })
}

fn text(v: &Value, path: &[&str], line: usize) -> Result<String, ImportError> {
    field(v, path, line)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ImportError::Line { line, detail: format!("{} must be a string", path.join(".")) })
}

fn typed<T: serde::de::DeserializeOwned>(v: &Value, path: &[&str], line: usize) -> Result<T, ImportError> {
    serde_json::from_value(field(v, path, line)?.clone())
        .map_err(|e| ImportError::Line { line, detail: format!("{}: {e}", path.join(".")) })
}

/// `2023-12-17 15:00:00` (OONI's format, as exported) → `2023-12-17T15:00:00Z`.
fn from_ooni_time(s: &str, line: usize) -> Result<String, ImportError> {
    let t = format!("{}Z", s.replacen(' ', "T", 1));
    parse_utc(&t).map(|_| t).ok_or_else(|| ImportError::Line {
        line,
        detail: format!("measurement_start_time {s:?} is not a time like 2023-12-17 15:00:00"),
    })
}

/// Reads exported lines into reports, one per run of lines with the same report id. Nothing
/// is validated here beyond the shape; see [`check`].
pub fn read(input: impl BufRead) -> Result<Vec<Imported>, ImportError> {
    let mut out: Vec<Imported> = Vec::new();
    for (i, l) in input.lines().enumerate() {
        let (line, l) = (i + 1, l?);
        if l.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(&l).map_err(|e| ImportError::Line { line, detail: format!("not JSON: {e}") })?;
        let report_id = text(&v, &["report_id"], line)?;
        let measurement = Measurement {
            target_id: typed(&v, &["test_keys", "target_id"], line)?,
            input: text(&v, &["input"], line)?,
            control: typed(&v, &["test_keys", "control"], line)?,
            verdict: typed(&v, &["test_keys", "verdict"], line)?,
            reason: typed(&v, &["test_keys", "reason"], line)?,
            attempts: typed(&v, &["test_keys", "attempts"], line)?,
        };
        if let Some(last) = out.last_mut().filter(|r| r.report.report_id == report_id) {
            last.report.measurements.push(measurement);
            continue;
        }
        let asn = text(&v, &["probe_asn"], line)?;
        let asn = asn
            .strip_prefix("AS")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ImportError::Line { line, detail: format!("probe_asn {asn:?} is not like AS17557") })?;
        let report = Report {
            schema_version: SCHEMA_VERSION,
            report_id,
            software_name: text(&v, &["software_name"], line)?,
            software_version: text(&v, &["software_version"], line)?,
            targets_version: text(&v, &["annotations", "targets_version"], line)?,
            measurement_start_time: from_ooni_time(&text(&v, &["measurement_start_time"], line)?, line)?,
            deadline_ms: typed(&v, &["test_keys", "deadline_ms"], line)?,
            browser: BrowserInfo {
                family: text(&v, &["annotations", "browser_family"], line)?,
                major: typed(&v, &["annotations", "browser_major"], line)?,
            },
            connection_type: typed(&v, &["annotations", "connection_type"], line)?,
            measurements: vec![measurement],
        };
        out.push(Imported { report, origin: Origin { country: text(&v, &["probe_cc"], line)?, asn }, line });
    }
    Ok(out)
}

/// The API's rules without its recency check: the schema, verdicts and reasons re-derived, and
/// targets of a list the collector serves.
pub fn check(imported: &Imported, catalogue: &Catalogue) -> Result<(), ImportError> {
    let line = imported.line;
    let start = parse_utc(&imported.report.measurement_start_time).unwrap_or_default();
    let country = &imported.origin.country;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ImportError::Line { line, detail: format!("probe_cc {country:?} is not a country code") });
    }
    imported.report.validate(start).map_err(|e| ImportError::Line { line, detail: format!("report: {e}") })?;
    catalogue.check_report(&imported.report).map_err(|e| {
        let field = e.field.as_deref().unwrap_or("report");
        let hint = if field == "targets_version" {
            format!(" (list {:?}: give it with --targets or --accept-targets)", imported.report.targets_version)
        } else {
            String::new()
        };
        ImportError::Line { line, detail: format!("{field}: {}{hint}", e.detail) }
    })
}

/// Checks every report first (nothing is stored if one is refused), then stores them,
/// many at a time so the store's writer can batch them.
pub async fn import(
    store: &dyn Store,
    catalogue: &Catalogue,
    input: impl BufRead,
) -> Result<ImportSummary, ImportError> {
    let reports = read(input)?;
    for r in &reports {
        check(r, catalogue)?;
    }
    let mut summary = ImportSummary { reports: reports.len(), ..ImportSummary::default() };
    for chunk in reports.chunks(500) {
        let inserts = chunk.iter().map(|r| {
            let received = parse_utc(&r.report.measurement_start_time).unwrap_or_default();
            store.insert(r.report.clone(), r.origin.clone(), received)
        });
        for (r, result) in chunk.iter().zip(futures_util::future::join_all(inserts).await) {
            match result {
                Ok(_) => summary.stored += 1,
                Err(StoreError::Duplicate) => summary.duplicates += 1,
                Err(source) => return Err(ImportError::Store { report_id: r.report.report_id.clone(), source }),
            }
        }
    }
    Ok(summary)
}
