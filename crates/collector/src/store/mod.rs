//! Where reports are kept, behind one trait ([`Store`]) so SQLite (embedded default) and
//! PostgreSQL (several collectors sharing one database) are interchangeable.
//!
//! Only anonymised data arrives here: the report as validated, plus country and network codes
//! and minute-precision times. There is no column an address could go into.

pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;
use thiserror::Error;
use tokio::sync::mpsc;
use vantage_report::Report;

use crate::export::ExportRow;

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

/// Which stored measurements an export wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Measurement start, inclusive, seconds since the epoch.
    pub since: Option<i64>,
    /// Measurement start, exclusive.
    pub until: Option<i64>,
    /// ISO country code.
    pub country: Option<String>,
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("a report with this report_id is already stored")]
    Duplicate,
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(String),
    #[error("database path {path}: {source}")]
    Path { path: String, source: std::io::Error },
    #[error("storage is shutting down")]
    Closed,
    #[error("storage task failed: {0}")]
    Task(String),
}

/// Opens the store a `--database` value names: a `postgres://` URL, or a SQLite file path.
pub async fn open(database: &str) -> Result<Box<dyn Store>, StoreError> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        Ok(Box::new(postgres::PostgresStore::open(database).await?))
    } else {
        Ok(Box::new(sqlite::SqliteStore::open(std::path::Path::new(database))?))
    }
}

/// A report store.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a validated report; returns its row id only once the commit is durable.
    async fn insert(&self, report: Report, origin: Origin, received: i64) -> Result<i64, StoreError>;

    /// Sends every matching measurement, oldest first, into `sink`; stops early if the
    /// receiver goes away (a client that hung up).
    async fn export(&self, filter: ExportFilter, sink: mpsc::Sender<ExportRow>) -> Result<(), StoreError>;

    /// Can the storage be read right now?
    async fn check(&self) -> Result<(), StoreError>;

    /// Reports waiting to be written.
    fn queue_depth(&self) -> usize;

    /// Writes everything queued and stops accepting; called once, at shutdown.
    async fn close(&self);
}
