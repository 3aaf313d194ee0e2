//! Where reports are kept. Only anonymised data arrives here: the report as validated, plus
//! country and network codes and minute-precision times. There is no column an address could
//! go into.

pub mod sqlite;

use thiserror::Error;

/// Country and network derived from the source address, which is then forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// ISO 3166-1 alpha-2, `ZZ` when unknown.
    pub country: String,
    /// Autonomous system number, 0 when unknown.
    pub asn: u32,
}

impl Origin {
    pub fn unknown() -> Self {
        Origin { country: "ZZ".into(), asn: 0 }
    }
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("a report with this report_id is already stored")]
    Duplicate,
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("database path {path}: {source}")]
    Path { path: String, source: std::io::Error },
    #[error("storage task failed: {0}")]
    Task(String),
}
