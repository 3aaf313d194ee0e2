//! SQLite storage: one file, WAL journal, synchronous commits so that a report acknowledged
//! with 201 survives a crash.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use vantage_report::timestamp::format_minute;
use vantage_report::{timestamp::parse_utc, Report};

use super::{Origin, StoreError};
use crate::export::ExportRow;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE reports (
    id                      INTEGER PRIMARY KEY,
    report_id               TEXT NOT NULL UNIQUE,
    received_minute         TEXT NOT NULL,
    measurement_start_minute TEXT NOT NULL,
    probe_cc                TEXT NOT NULL,
    probe_asn               INTEGER NOT NULL,
    software_name           TEXT NOT NULL,
    software_version        TEXT NOT NULL,
    targets_version         TEXT NOT NULL,
    browser_family          TEXT NOT NULL,
    browser_major           INTEGER NOT NULL,
    connection_type         TEXT,
    deadline_ms             REAL NOT NULL
);
CREATE TABLE measurements (
    id          INTEGER PRIMARY KEY,
    report      INTEGER NOT NULL REFERENCES reports(id),
    target_id   TEXT NOT NULL,
    input       TEXT NOT NULL,
    control     INTEGER NOT NULL,
    verdict     TEXT NOT NULL,
    evidence    TEXT NOT NULL
);
CREATE INDEX measurements_report ON measurements(report);
"#];

/// A SQLite store shared by all handlers; blocking work runs off the async threads.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Path { path: dir.display().to_string(), source })?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Task("database lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Stores a validated report; returns its row id once the commit is durable.
    pub async fn insert(&self, report: Report, origin: Origin, received: i64) -> Result<i64, StoreError> {
        self.with_conn(move |conn| insert(conn, &report, &origin, received)).await
    }

    /// Every stored measurement, oldest first.
    pub async fn export(&self) -> Result<Vec<ExportRow>, StoreError> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.report_id, r.measurement_start_minute, r.probe_cc, r.probe_asn, r.software_name,
                        r.software_version, r.targets_version, r.browser_family, r.browser_major,
                        r.connection_type, r.deadline_ms, m.target_id, m.input, m.control, m.verdict, m.evidence
                 FROM measurements m JOIN reports r ON r.id = m.report ORDER BY m.id",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok(ExportRow {
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
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
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

fn insert(conn: &mut Connection, r: &Report, origin: &Origin, received: i64) -> Result<i64, StoreError> {
    let tx = conn.transaction()?;
    let exists: Option<i64> =
        tx.query_row("SELECT id FROM reports WHERE report_id = ?1", [&r.report_id], |row| row.get(0)).optional()?;
    if exists.is_some() {
        return Err(StoreError::Duplicate);
    }
    // Validation has already parsed the start time; minute precision is all that is kept.
    let start = parse_utc(&r.measurement_start_time).unwrap_or(received);
    tx.prepare_cached(
        "INSERT INTO reports (report_id, received_minute, measurement_start_minute, probe_cc, probe_asn,
            software_name, software_version, targets_version, browser_family, browser_major, connection_type, deadline_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        r.report_id,
        format_minute(received),
        format_minute(start),
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
    let id = tx.last_insert_rowid();
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO measurements (report, target_id, input, control, verdict, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for m in &r.measurements {
            let evidence = serde_json::json!({ "reason": m.reason, "attempts": m.attempts }).to_string();
            stmt.execute(params![id, m.target_id, m.input, m.control, m.verdict.as_str(), evidence])?;
        }
    }
    tx.commit()?;
    Ok(id)
}
