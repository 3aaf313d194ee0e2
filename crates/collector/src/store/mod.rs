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
use vantage_report::{Report, Verdict};

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

/// A stored verdict name as the [`Verdict`] it names.
pub(crate) fn stored_verdict(name: &str) -> Result<Verdict, StoreError> {
    Verdict::parse(name).ok_or_else(|| StoreError::Data(format!("verdict {name:?}")))
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

/// A storage failure, with the error beneath it as its source (`{:#}` with anyhow, or
/// [`crate::error::chain`], prints the whole story).
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("a report with this report_id is already stored")]
    Duplicate,
    #[error(transparent)]
    Database(#[from] rusqlite::Error),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error("cannot create the database directory {path}")]
    Path {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("storage is shutting down")]
    Closed,
    #[error("a storage task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("the storage writer thread cannot start")]
    Thread(#[source] std::io::Error),
    #[error("stored measurements are not the JSON they were written as")]
    Json(#[from] serde_json::Error),
    /// The commit of the batch this report was in failed; nothing in it was acknowledged.
    #[error("the batch this report was in was not committed")]
    Batch(#[source] std::sync::Arc<StoreError>),
    #[error("storage cannot be written: {0}")]
    Unwritable(String),
    /// A stored value is not one the collector writes (a hand-edited or damaged database).
    #[error("stored data is not what the collector writes: {0}")]
    Data(String),
}

/// Where an export page ends: the next page starts after this report. Exports are ordered by
/// measurement minute, then report id — random — so their order says nothing about arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCursor {
    /// The report's measurement minute, seconds since the epoch.
    pub start: i64,
    pub report_id: String,
}

/// One page of an export: the measurements of up to `limit` reports, and where the next page
/// starts (none when this was the last).
#[derive(Debug, Default)]
pub struct ExportPage {
    pub rows: Vec<ExportRow>,
    pub next: Option<ExportCursor>,
}

/// Reports per export page: each page is one short read, so no snapshot is held while a
/// client is slow to take the previous page.
pub const EXPORT_PAGE: usize = 200;

/// The writer's latest outcome, for `/healthz`: whether its last commit (or probe) failed,
/// and when it last succeeded.
#[derive(Debug)]
pub(crate) struct WriterHealth {
    state: std::sync::Mutex<(Option<String>, std::time::Instant)>,
}

/// With no write for this long, a health check makes one (a probe).
const PROBE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

impl WriterHealth {
    pub fn new() -> Self {
        WriterHealth { state: std::sync::Mutex::new((None, std::time::Instant::now())) }
    }

    pub fn record<T>(&self, outcome: &Result<T, StoreError>) {
        if let Ok(mut s) = self.state.lock() {
            match outcome {
                Ok(_) => *s = (None, std::time::Instant::now()),
                Err(e) => s.0 = Some(crate::error::chain(e)),
            }
        }
    }

    /// Should a health check try a write of its own? After a failure (to see the recovery),
    /// or when nothing was written for a while (to see a failure before a visitor does).
    pub fn wants_probe(&self) -> bool {
        self.state.lock().map_or(true, |s| s.0.is_some() || s.1.elapsed() >= PROBE_AFTER)
    }

    pub fn status(&self) -> Result<(), StoreError> {
        match self.state.lock().map(|s| s.0.clone()) {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(StoreError::Unwritable(e)),
            Err(_) => Err(StoreError::Unwritable("health state poisoned".into())),
        }
    }
}

/// Most reports committed in one transaction.
const MAX_BATCH: usize = 1_000;
/// Reports that may wait for the writer before submitters wait too.
const QUEUE: usize = 20_000;

/// A report waiting for the writer, with the channel its acknowledgement goes back on.
pub(crate) struct Job {
    pub report: Report,
    pub origin: Origin,
    pub received: i64,
    ack: tokio::sync::oneshot::Sender<Result<i64, StoreError>>,
}

/// The channel between request handlers and a backend's single writer, which commits reports
/// in batches and acknowledges each only after its commit.
pub(crate) struct WriteQueue {
    jobs: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    depth: mpsc::WeakSender<Job>,
}

impl WriteQueue {
    pub fn new() -> (WriteQueue, mpsc::Receiver<Job>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let depth = tx.downgrade();
        (WriteQueue { jobs: std::sync::Mutex::new(Some(tx)), depth }, rx)
    }

    /// Queues a report and waits for its commit.
    pub async fn submit(&self, report: Report, origin: Origin, received: i64) -> Result<i64, StoreError> {
        let jobs = self.jobs.lock().ok().and_then(|j| j.clone()).ok_or(StoreError::Closed)?;
        let (ack, done) = tokio::sync::oneshot::channel();
        jobs.send(Job { report, origin, received, ack }).await.map_err(|_| StoreError::Closed)?;
        done.await.map_err(|_| StoreError::Closed)?
    }

    pub fn depth(&self) -> usize {
        self.depth.upgrade().map_or(0, |tx| tx.max_capacity() - tx.capacity())
    }

    /// Refuses new reports; the writer drains what is queued and ends.
    pub fn close(&self) {
        drop(self.jobs.lock().ok().and_then(|mut j| j.take()));
    }
}

/// After the first job of a batch: takes whatever else is queued, up to a full batch.
pub(crate) fn fill_batch(first: Job, rx: &mut mpsc::Receiver<Job>) -> Vec<Job> {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    batch.push(first);
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// Answers every job of a batch: its own result after a commit, or the batch's error (then
/// nothing in it was acknowledged as stored).
pub(crate) fn acknowledge(
    batch: Vec<Job>,
    outcome: Result<Vec<Result<i64, StoreError>>, StoreError>,
    health: &WriterHealth,
) {
    health.record(&outcome);
    match outcome {
        Ok(results) => {
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.ack.send(result);
            }
        }
        Err(e) => {
            tracing::error!(error = %crate::error::chain(&e), reports = batch.len(), "batch commit failed; nothing in it was acknowledged");
            let e = std::sync::Arc::new(e);
            for job in batch {
                let _ = job.ack.send(Err(StoreError::Batch(e.clone())));
            }
        }
    }
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

    /// The measurements of up to `limit` matching reports after `after`, in export order
    /// (measurement minute, then report id), read in one short transaction.
    async fn export_page(
        &self,
        filter: &ExportFilter,
        after: Option<ExportCursor>,
        limit: usize,
    ) -> Result<ExportPage, StoreError>;

    /// Sends every matching measurement, in export order, into `sink`, a page at a time; stops
    /// early if the receiver goes away (a client that hung up).
    async fn export(&self, filter: ExportFilter, sink: mpsc::Sender<ExportRow>) -> Result<(), StoreError> {
        let mut after = None;
        loop {
            let page = self.export_page(&filter, after, EXPORT_PAGE).await?;
            for row in page.rows {
                if sink.send(row).await.is_err() {
                    return Ok(());
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Can the storage be read and written right now? Reads are tried; writes are judged by
    /// the writer's last commit, with a probe write when there was none for a while or the
    /// last one failed.
    async fn check(&self) -> Result<(), StoreError>;

    /// Reports waiting to be written.
    fn queue_depth(&self) -> usize;

    /// Writes everything queued and stops accepting; called once, at shutdown.
    async fn close(&self);
}
