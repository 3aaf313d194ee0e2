//! SQLite storage: one file, WAL journal, synchronous commits, and one writer thread that
//! takes reports from a channel and commits them in batches, so thousands of reports a second
//! cost a few fsyncs rather than thousands. A report is acknowledged only after the commit
//! that holds it. Reads (export, health) use their own connections and never wait for writes.
//!
//! No read transaction outlives one export page, so nothing pins an old snapshot while a
//! client is slow: checkpoints can always complete. When the writer has been idle for a second
//! it checkpoints with `TRUNCATE`, bringing the write-ahead log back to nothing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags};
use tokio::sync::mpsc;
use vantage_report::timestamp::{format_minute, parse_utc};
use vantage_report::{Report, Verdict};

use super::{
    acknowledge, fill_batch, ExportCursor, ExportFilter, ExportPage, Job, Origin, Store, StoreError, WriteQueue,
    WriterHealth,
};
use crate::export::ExportRow;

/// Schema migrations, applied in order at start; `PRAGMA user_version` records how many ran.
/// Append, never edit: a deployed database has run the earlier ones.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_reports.sql"),
    include_str!("../../migrations/sqlite/0002_export_order_and_health.sql"),
];

/// After this long without a report the writer truncates the write-ahead log, whatever its size.
const WAL_TRUNCATE_EVERY: Duration = Duration::from_secs(1);
/// Under load it truncates only a log larger than this (SQLite's own checkpoints keep it
/// near 4 MiB when no reader is in the way), at most every [`WAL_TRUNCATE_EVERY`].
const WAL_TRUNCATE_UNDER_LOAD_ABOVE: u64 = 6 << 20;
/// Read connections kept for reuse.
const IDLE_READERS: usize = 8;

pub struct SqliteStore {
    path: PathBuf,
    queue: WriteQueue,
    writer: Mutex<Option<JoinHandle<()>>>,
    health: Arc<WriterHealth>,
    readers: Arc<Mutex<Vec<Connection>>>,
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // After a checkpoint the log is reused rather than shrunk; keep what is left of it small.
    conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)?;
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
        let health = Arc::new(WriterHealth::new());
        let (wal, writer_health) = (wal_path(path), health.clone());
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(conn, rx, &wal, &writer_health))
            .map_err(StoreError::Thread)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            queue,
            writer: Mutex::new(Some(writer)),
            health,
            readers: Arc::default(),
        })
    }

    /// Runs `f` on a read connection from the pool (opening one if none is idle).
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (path, readers) = (self.path.clone(), self.readers.clone());
        tokio::task::spawn_blocking(move || {
            let idle = readers.lock().ok().and_then(|mut r| r.pop());
            let conn = match idle {
                Some(c) => c,
                None => open_reader(&path)?,
            };
            let result = f(&conn);
            if let Ok(mut r) = readers.lock() {
                if r.len() < IDLE_READERS {
                    r.push(conn);
                }
            }
            result
        })
        .await?
    }
}

fn wal_path(db: &Path) -> PathBuf {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
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
fn write_loop(mut conn: Connection, mut rx: mpsc::Receiver<Job>, wal: &Path, health: &WriterHealth) {
    // A clock for this thread alone, so an idle writer wakes up to tidy the log.
    let clock = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            tracing::warn!(error = %e, "no timer for the writer; the write-ahead log is tidied only under load");
            None
        }
    };
    let mut last_truncate = Instant::now();
    loop {
        let next = match &clock {
            Some(rt) => rt.block_on(async { tokio::time::timeout(WAL_TRUNCATE_EVERY, rx.recv()).await }),
            None => Ok(rx.blocking_recv()),
        };
        match next {
            Ok(Some(first)) => {
                let batch = fill_batch(first, &mut rx);
                let outcome = write_batch(&mut conn, &batch).map_err(StoreError::from);
                acknowledge(batch, outcome, health);
                if rx.is_empty() && last_truncate.elapsed() >= WAL_TRUNCATE_EVERY {
                    last_truncate = Instant::now();
                    truncate_wal_above(&conn, wal, WAL_TRUNCATE_UNDER_LOAD_ABOVE);
                }
            }
            Ok(None) => break,
            // Idle for a while: a good moment to give the log back.
            Err(_) => {
                last_truncate = Instant::now();
                truncate_wal_above(&conn, wal, 0);
            }
        }
    }
    truncate_wal_above(&conn, wal, 0);
}

/// Checkpoints the whole log and truncates it when it is larger than `above` bytes, unless a
/// reader is in the middle of a page (then it waits at most briefly and tries again later).
fn truncate_wal_above(conn: &Connection, wal: &Path, above: u64) {
    if std::fs::metadata(wal).map_or(0, |m| m.len()) <= above {
        return;
    }
    let _ = conn.busy_timeout(Duration::from_millis(20));
    let result = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
    if let Err(e) = result {
        tracing::debug!(error = %e, "write-ahead log checkpoint deferred");
    }
    let _ = conn.busy_timeout(Duration::from_secs(5));
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

const REPORT_COLUMNS: &str = "id, measurement_start, report_id, measurement_start_minute, probe_cc, probe_asn,
    software_name, software_version, targets_version, browser_family, browser_major, connection_type, deadline_ms";

/// One page of an export in one read transaction: the reports first, then their measurements.
fn export_page(
    conn: &Connection,
    filter: &ExportFilter,
    after: Option<&ExportCursor>,
    limit: usize,
) -> Result<ExportPage, StoreError> {
    let keyset = if after.is_some() { "AND (measurement_start, report_id) > (?4, ?5)" } else { "" };
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM reports
         WHERE (?1 IS NULL OR measurement_start >= ?1)
           AND (?2 IS NULL OR measurement_start < ?2)
           AND (?3 IS NULL OR probe_cc = ?3) {keyset}
         ORDER BY measurement_start, report_id
         LIMIT ?6"
    );
    let tx = conn.unchecked_transaction()?;
    let mut reports = tx.prepare_cached(&sql)?;
    let (after_start, after_id) = after.map_or((None, None), |a| (Some(a.start), Some(a.report_id.as_str())));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = reports.query(params![filter.since, filter.until, filter.country, after_start, after_id, limit])?;
    let mut page = Vec::new();
    let mut count = 0;
    let mut last = None;
    let mut measurements = tx.prepare_cached(
        "SELECT target_id, input, control, verdict, evidence FROM measurements WHERE report = ?1 ORDER BY id",
    )?;
    while let Some(r) = rows.next()? {
        count += 1;
        let (id, start, report_id): (i64, i64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let base = ExportRow {
            report_id: report_id.clone(),
            measurement_start_minute: r.get(3)?,
            probe_cc: r.get(4)?,
            probe_asn: r.get(5)?,
            software_name: r.get(6)?,
            software_version: r.get(7)?,
            targets_version: r.get(8)?,
            browser_family: r.get(9)?,
            browser_major: r.get(10)?,
            connection_type: r.get(11)?,
            deadline_ms: r.get(12)?,
            target_id: String::new(),
            input: String::new(),
            control: false,
            // Set per measurement below.
            verdict: Verdict::Inconclusive,
            evidence: String::new(),
        };
        let mut ms = measurements.query(params![id])?;
        while let Some(m) = ms.next()? {
            page.push(ExportRow {
                target_id: m.get(0)?,
                input: m.get(1)?,
                control: m.get(2)?,
                verdict: super::stored_verdict(&m.get::<_, String>(3)?)?,
                evidence: m.get(4)?,
                ..base.clone()
            });
        }
        last = Some(ExportCursor { start, report_id });
    }
    drop(rows);
    drop(reports);
    drop(measurements);
    tx.finish()?;
    let next = if count as i64 == limit { last } else { None };
    Ok(ExportPage { rows: page, next })
}

/// A write of its own for `/healthz`, beside the writer's batches.
fn probe_write(path: &Path) -> Result<(), StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(2))?;
    let minute = crate::ingest::now_secs().div_euclid(60) * 60;
    conn.execute(
        "INSERT INTO health (id, checked_minute) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET checked_minute = excluded.checked_minute",
        params![minute],
    )?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert(&self, report: Report, origin: Origin, received: i64) -> Result<i64, StoreError> {
        self.queue.submit(report, origin, received).await
    }

    async fn export_page(
        &self,
        filter: &ExportFilter,
        after: Option<ExportCursor>,
        limit: usize,
    ) -> Result<ExportPage, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| export_page(conn, &filter, after.as_ref(), limit)).await
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM reports WHERE 0", [], |_| Ok(()))?;
            Ok(())
        })
        .await?;
        if self.health.wants_probe() {
            let path = self.path.clone();
            let probed = tokio::task::spawn_blocking(move || probe_write(&path)).await?;
            self.health.record(&probed);
        }
        self.health.status()
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
