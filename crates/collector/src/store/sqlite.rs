//! SQLite storage: one file, WAL journal, synchronous commits, and one writer thread that
//! takes reports from a channel and commits them in batches, so thousands of reports a second
//! cost a few fsyncs rather than thousands. A report is acknowledged only after the commit
//! that holds it. Reads (export, health) use their own connections and never wait for writes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;

use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags};
use tokio::sync::mpsc;
use vantage_report::timestamp::{format_minute, parse_utc};
use vantage_report::Report;

use super::{acknowledge, fill_batch, ExportFilter, Job, Origin, Store, StoreError, WriteQueue};
use crate::export::ExportRow;

/// Schema migrations, applied in order at start; `PRAGMA user_version` records how many ran.
/// Append, never edit: a deployed database has run the earlier ones.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/sqlite/0001_reports.sql")];

pub struct SqliteStore {
    path: PathBuf,
    queue: WriteQueue,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, brings its schema up to date and starts
    /// the writer.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::Path { path: dir.display().to_string(), source })?;
        }
        let mut conn = open(path)?;
        migrate(&mut conn)?;
        let (queue, rx) = WriteQueue::new();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(conn, rx))
            .map_err(|e| StoreError::Task(e.to_string()))?;
        Ok(SqliteStore { path: path.to_path_buf(), queue, writer: Mutex::new(Some(writer)) })
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The writer: block for one job, take whatever else is queued (up to a batch), commit them
/// together, then acknowledge each. Ends when every sender is gone and the queue is empty.
fn write_loop(mut conn: Connection, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.blocking_recv() {
        let batch = fill_batch(first, &mut rx);
        let outcome = write_batch(&mut conn, &batch).map_err(StoreError::from);
        acknowledge(batch, outcome);
    }
}

/// One transaction for the whole batch; a duplicate affects only its own report.
fn write_batch(conn: &mut Connection, batch: &[Job]) -> Result<Vec<Result<i64, StoreError>>, rusqlite::Error> {
    let tx = conn.transaction()?;
    let mut results = Vec::with_capacity(batch.len());
    {
        let mut report_stmt = tx.prepare_cached(
            "INSERT INTO reports (report_id, received_minute, measurement_start_minute, measurement_start, probe_cc, probe_asn,
                software_name, software_version, targets_version, browser_family, browser_major, connection_type, deadline_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (report_id) DO NOTHING",
        )?;
        let mut measurement_stmt = tx.prepare_cached(
            "INSERT INTO measurements (report, target_id, input, control, verdict, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for Job { report: r, origin, received, .. } in batch {
            // Validation has parsed the start time already; minute precision is all that is kept.
            let start = parse_utc(&r.measurement_start_time).unwrap_or(*received);
            let start_minute = start - start.rem_euclid(60);
            let inserted = report_stmt.execute(params![
                r.report_id,
                format_minute(*received),
                format_minute(start),
                start_minute,
                origin.country,
                origin.asn,
                r.software_name,
                r.software_version,
                r.targets_version,
                r.browser.family,
                r.browser.major,
                r.connection_type,
                r.deadline_ms,
            ])?;
            if inserted == 0 {
                results.push(Err(StoreError::Duplicate));
                continue;
            }
            let id = tx.last_insert_rowid();
            for m in &r.measurements {
                let evidence = serde_json::json!({ "reason": m.reason, "attempts": m.attempts }).to_string();
                measurement_stmt.execute(params![id, m.target_id, m.input, m.control, m.verdict.as_str(), evidence])?;
            }
            results.push(Ok(id));
        }
    }
    tx.commit()?;
    Ok(results)
}

fn export_rows(path: &Path, filter: &ExportFilter, sink: &mpsc::Sender<ExportRow>) -> Result<(), StoreError> {
    let conn = open_reader(path)?;
    let mut stmt = conn.prepare(
        "SELECT r.report_id, r.measurement_start_minute, r.probe_cc, r.probe_asn, r.software_name,
                r.software_version, r.targets_version, r.browser_family, r.browser_major,
                r.connection_type, r.deadline_ms, m.target_id, m.input, m.control, m.verdict, m.evidence
         FROM measurements m JOIN reports r ON r.id = m.report
         WHERE (?1 IS NULL OR r.measurement_start >= ?1)
           AND (?2 IS NULL OR r.measurement_start < ?2)
           AND (?3 IS NULL OR r.probe_cc = ?3)
         ORDER BY m.id",
    )?;
    let mut rows = stmt.query(params![filter.since, filter.until, filter.country])?;
    while let Some(row) = rows.next()? {
        let item = ExportRow {
            report_id: row.get(0)?,
            measurement_start_minute: row.get(1)?,
            probe_cc: row.get(2)?,
            probe_asn: row.get(3)?,
            software_name: row.get(4)?,
            software_version: row.get(5)?,
            targets_version: row.get(6)?,
            browser_family: row.get(7)?,
            browser_major: row.get(8)?,
            connection_type: row.get(9)?,
            deadline_ms: row.get(10)?,
            target_id: row.get(11)?,
            input: row.get(12)?,
            control: row.get(13)?,
            verdict: row.get(14)?,
            evidence: row.get(15)?,
        };
        if sink.blocking_send(item).is_err() {
            break; // the client hung up
        }
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert(&self, report: Report, origin: Origin, received: i64) -> Result<i64, StoreError> {
        self.queue.submit(report, origin, received).await
    }

    async fn export(&self, filter: ExportFilter, sink: mpsc::Sender<ExportRow>) -> Result<(), StoreError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || export_rows(&path, &filter, &sink))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn check(&self) -> Result<(), StoreError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            open_reader(&path)?.query_row("SELECT count(*) FROM reports WHERE 0", [], |_| Ok(()))?;
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    fn queue_depth(&self) -> usize {
        self.queue.depth()
    }

    async fn close(&self) {
        self.queue.close();
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
    }
}
