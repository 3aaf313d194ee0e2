//! Where the crowd's rollups and events live: tables beside the reports (migration
//! `0003_rollups.sql`), kept by a follow-up job that reads the reports stored since its last
//! position, so that aggregates and the detector never scan raw measurements.
//!
//! SQLite: the job uses its own connection (short `BEGIN IMMEDIATE` transactions beside the
//! store's writer). PostgreSQL: several collectors may run the job; each batch is one
//! transaction that locks the position row, so no report is counted twice. Row ids are given
//! before commit there, so the job only reads reports received more than two minutes ago: a
//! report whose transaction was still open when a later one was read is not skipped. Exactly one
//! collector runs the detector at a time: the one holding the advisory lock
//! ([`CrowdDb::try_lead`]) on its session.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};
use thiserror::Error;
use tokio::sync::Mutex;
use vantage_report::Verdict;

use super::cells::{CellKey, PlaceCell, PlaceKey, Rollup, TargetCell, VerdictCounts};
use super::detect::Event;

const SQLITE_MIGRATION: &str = include_str!("../../migrations/sqlite/0003_rollups.sql");
const POSTGRES_MIGRATION: &str = include_str!("../../migrations/postgres/0003_rollups.sql");
/// The PostgreSQL advisory lock the detector's leader holds ("crow").
pub const LEADER_LOCK_KEY: i64 = 0x6372_6f77;
/// Reports read per batch.
pub const BATCH: usize = 5_000;

#[derive(Debug, Error)]
pub enum CrowdError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(String),
    #[error("crowd job task failed: {0}")]
    Task(String),
    #[error("stored data the crowd job cannot read: {0}")]
    Data(String),
}

fn pg(e: tokio_postgres::Error) -> CrowdError {
    CrowdError::Postgres(e.to_string())
}

/// Which events an events query wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub country: Option<String>,
    /// Events still running at or after this (seconds since the epoch).
    pub since: Option<i64>,
    /// Events started before this.
    pub until: Option<i64>,
    pub kind: Option<String>,
}

/// The crowd tables of one database.
pub enum CrowdDb {
    Sqlite { path: PathBuf },
    Postgres { client: Arc<tokio_postgres::Client>, leading: Mutex<bool> },
}

fn verdict_of(s: &str) -> Result<Verdict, CrowdError> {
    Verdict::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| CrowdError::Data(format!("verdict {s:?}")))
}

/// The columns of a target cell, in table order after the key.
fn cell_values(c: &TargetCell) -> [i64; 9] {
    let v = &c.verdicts;
    [
        v.reachable,
        v.blocked,
        v.timeout,
        v.throttled,
        v.tampered,
        v.local_block,
        v.inconclusive,
        c.reports,
        c.controls_loaded,
    ]
    .map(i64::from)
}

fn cell_from(control: bool, n: [i64; 9]) -> TargetCell {
    let u = |x: i64| u32::try_from(x).unwrap_or(u32::MAX);
    TargetCell {
        control,
        verdicts: VerdictCounts {
            reachable: u(n[0]),
            blocked: u(n[1]),
            timeout: u(n[2]),
            throttled: u(n[3]),
            tampered: u(n[4]),
            local_block: u(n[5]),
            inconclusive: u(n[6]),
        },
        reports: u(n[7]),
        controls_loaded: u(n[8]),
    }
}

const UPSERT_TARGET: &str = "INSERT INTO rollup_targets (bucket, probe_cc, probe_asn, target_id, control, reachable,
    blocked, timeout, throttled, tampered, local_block, inconclusive, reports, controls_loaded)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
    ON CONFLICT (probe_cc, bucket, probe_asn, target_id) DO UPDATE SET
    reachable = rollup_targets.reachable + excluded.reachable, blocked = rollup_targets.blocked + excluded.blocked,
    timeout = rollup_targets.timeout + excluded.timeout, throttled = rollup_targets.throttled + excluded.throttled,
    tampered = rollup_targets.tampered + excluded.tampered, local_block = rollup_targets.local_block + excluded.local_block,
    inconclusive = rollup_targets.inconclusive + excluded.inconclusive, reports = rollup_targets.reports + excluded.reports,
    controls_loaded = rollup_targets.controls_loaded + excluded.controls_loaded";
const UPSERT_PLACE: &str = "INSERT INTO rollup_places (bucket, probe_cc, probe_asn, reports, controls_loaded)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (probe_cc, bucket, probe_asn) DO UPDATE SET
    reports = rollup_places.reports + excluded.reports,
    controls_loaded = rollup_places.controls_loaded + excluded.controls_loaded";
const TARGET_COLUMNS: &str = "bucket, probe_cc, probe_asn, target_id, control, reachable, blocked, timeout, throttled,
    tampered, local_block, inconclusive, reports, controls_loaded";

impl CrowdDb {
    /// Opens the crowd tables of `database` (a SQLite path or `postgres://` URL whose reports
    /// tables exist: open the report store first), creating them if needed.
    pub async fn open(database: &str) -> Result<Self, CrowdError> {
        if database.starts_with("postgres://") || database.starts_with("postgresql://") {
            let (client, conn) = tokio_postgres::connect(database, tokio_postgres::NoTls).await.map_err(pg)?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::error!(error = %e, "crowd job's database connection ended");
                }
            });
            client.batch_execute(POSTGRES_MIGRATION).await.map_err(pg)?;
            Ok(CrowdDb::Postgres { client: Arc::new(client), leading: Mutex::new(false) })
        } else {
            let path = PathBuf::from(database);
            let p = path.clone();
            blocking(move || Ok(connect(&p)?.execute_batch(SQLITE_MIGRATION)?)).await?;
            Ok(CrowdDb::Sqlite { path })
        }
    }

    /// Counts the reports stored since the last position (at most `limit`) into the rollups,
    /// in one transaction with the new position; returns how many were counted.
    pub async fn advance(&self, limit: usize) -> Result<usize, CrowdError> {
        match self {
            CrowdDb::Sqlite { path } => {
                let path = path.clone();
                blocking(move || advance_sqlite(&mut connect(&path)?, limit)).await
            }
            CrowdDb::Postgres { client, .. } => advance_postgres(client, limit).await,
        }
    }

    /// Advances until every stored report is counted.
    pub async fn catch_up(&self) -> Result<usize, CrowdError> {
        let mut total = 0;
        loop {
            let n = self.advance(BATCH).await?;
            total += n;
            if n < BATCH {
                return Ok(total);
            }
        }
    }

    /// The 15-minute cells of [since, until), of one country or all.
    pub async fn rollup(&self, since: i64, until: i64, country: Option<&str>) -> Result<Rollup, CrowdError> {
        let country = country.map(str::to_string);
        match self {
            CrowdDb::Sqlite { path } => {
                let path = path.clone();
                blocking(move || read_sqlite(&connect(&path)?, since, until, country.as_deref())).await
            }
            CrowdDb::Postgres { client, .. } => read_postgres(client, since, until, country.as_deref()).await,
        }
    }

    /// Replaces the stored events that are still running at or after `from` with `events`
    /// (those the detector found over the same stretch).
    pub async fn replace_events(&self, from: i64, events: &[Event]) -> Result<(), CrowdError> {
        let rows: Vec<(String, String, Option<String>, i64, i64, String)> = events
            .iter()
            .filter(|e| e.last_secs >= from || e.ongoing)
            .map(|e| {
                let body = serde_json::to_string(e).map_err(|x| CrowdError::Data(x.to_string()))?;
                Ok((e.id.clone(), e.kind.as_str().to_string(), e.country.clone(), e.start_secs, e.last_secs, body))
            })
            .collect::<Result<_, CrowdError>>()?;
        match self {
            CrowdDb::Sqlite { path } => {
                let path = path.clone();
                blocking(move || {
                    let mut conn = connect(&path)?;
                    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    tx.execute("DELETE FROM crowd_events WHERE last >= ?1", params![from])?;
                    for (id, kind, country, start, last, body) in &rows {
                        tx.execute(
                            "INSERT OR REPLACE INTO crowd_events (id, kind, country, start, last, body)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            params![id, kind, country, start, last, body],
                        )?;
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await
            }
            CrowdDb::Postgres { client, .. } => {
                client.batch_execute("BEGIN").await.map_err(pg)?;
                let result = async {
                    client.execute("DELETE FROM crowd_events WHERE last >= $1", &[&from]).await.map_err(pg)?;
                    for (id, kind, country, start, last, body) in &rows {
                        client
                            .execute(
                                "INSERT INTO crowd_events (id, kind, country, start, last, body)
                                 VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)
                                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, country = excluded.country,
                                 start = excluded.start, last = excluded.last, body = excluded.body",
                                &[id, kind, country, start, last, body],
                            )
                            .await
                            .map_err(pg)?;
                    }
                    Ok::<(), CrowdError>(())
                }
                .await;
                client.batch_execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" }).await.map_err(pg)?;
                result
            }
        }
    }

    /// Stored events matching `filter`, by start, as the API returns them.
    pub async fn events(&self, filter: &EventFilter) -> Result<Vec<serde_json::Value>, CrowdError> {
        let f = filter.clone();
        let (since, until) = (f.since.unwrap_or(i64::MIN), f.until.unwrap_or(i64::MAX));
        let bodies: Vec<String> = match self {
            CrowdDb::Sqlite { path } => {
                let path = path.clone();
                blocking(move || {
                    let conn = connect(&path)?;
                    let mut stmt = conn.prepare(
                        "SELECT body FROM crowd_events WHERE last >= ?1 AND start < ?2
                         AND (?3 IS NULL OR country = ?3) AND (?4 IS NULL OR kind = ?4) ORDER BY start, id",
                    )?;
                    let rows = stmt.query_map(params![since, until, f.country, f.kind], |r| r.get(0))?;
                    Ok(rows.collect::<Result<Vec<String>, _>>()?)
                })
                .await?
            }
            CrowdDb::Postgres { client, .. } => client
                .query(
                    "SELECT body::text FROM crowd_events WHERE last >= $1 AND start < $2
                     AND ($3::text IS NULL OR country = $3) AND ($4::text IS NULL OR kind = $4) ORDER BY start, id",
                    &[&since, &until, &f.country, &f.kind],
                )
                .await
                .map_err(pg)?
                .iter()
                .map(|r| r.get(0))
                .collect(),
        };
        bodies.iter().map(|b| serde_json::from_str(b).map_err(|e| CrowdError::Data(e.to_string()))).collect()
    }

    /// Is this process the detector's leader? SQLite has one collector: always. PostgreSQL:
    /// whoever holds the session-level advisory lock, taken here if free and kept until the
    /// connection ends (a collector that dies lets another take over).
    pub async fn try_lead(&self) -> Result<bool, CrowdError> {
        match self {
            CrowdDb::Sqlite { .. } => Ok(true),
            CrowdDb::Postgres { client, leading } => {
                let mut leading = leading.lock().await;
                if !*leading {
                    let row =
                        client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK_KEY]).await.map_err(pg)?;
                    *leading = row.get(0);
                    if *leading {
                        tracing::info!("this collector now runs the crowd detector (advisory lock held)");
                    }
                }
                Ok(*leading)
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CrowdError> + Send + 'static,
) -> Result<T, CrowdError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| CrowdError::Task(e.to_string()))?
}

fn connect(path: &std::path::Path) -> Result<Connection, CrowdError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// One report as the job reads it: start, place, and its measurements.
type StoredReport = (i64, String, u32, Vec<(String, bool, Verdict)>);

fn count_into(rollup: &mut Rollup, reports: &[StoredReport]) {
    for (start, cc, asn, ms) in reports {
        // Verdicts were re-derived at ingestion: controls failed exactly when every verdict is
        // inconclusive.
        let loaded = ms.iter().any(|(_, _, v)| *v != Verdict::Inconclusive);
        rollup.add_measured(*start, cc, *asn, loaded, ms.iter().map(|(t, c, v)| (t.as_str(), *c, *v)));
    }
}

fn position_sqlite(conn: &Connection) -> Result<i64, CrowdError> {
    Ok(conn
        .query_row("SELECT last_report FROM rollup_position WHERE id = 1", [], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Reads the new reports outside the write lock, then writes their counts in a short
/// `BEGIN IMMEDIATE` transaction, so the store's writer (and ingest latency) barely waits. If
/// another process advanced meanwhile (`detect` beside `serve`), nothing is written this time.
fn advance_sqlite(conn: &mut Connection, limit: usize) -> Result<usize, CrowdError> {
    let read = conn.transaction()?;
    let position = position_sqlite(&read)?;
    let mut reports: BTreeMap<i64, StoredReport> = BTreeMap::new();
    {
        let mut stmt = read.prepare(
            "SELECT r.id, r.measurement_start, r.probe_cc, r.probe_asn, m.target_id, m.control, m.verdict
             FROM (SELECT id, measurement_start, probe_cc, probe_asn FROM reports WHERE id > ?1 ORDER BY id LIMIT ?2) r
             JOIN measurements m ON m.report = r.id",
        )?;
        let mut rows = stmt.query(params![position, limit as i64])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let verdict: String = row.get(6)?;
            let entry = reports.entry(id).or_insert_with(|| (0, String::new(), 0, Vec::new()));
            (entry.0, entry.1, entry.2) = (row.get(1)?, row.get(2)?, row.get(3)?);
            entry.3.push((row.get(4)?, row.get::<_, i64>(5)? != 0, verdict_of(&verdict)?));
        }
    }
    read.finish()?;
    let Some(&last) = reports.keys().next_back() else { return Ok(0) };
    let mut delta = Rollup::default();
    count_into(&mut delta, &reports.into_values().collect::<Vec<_>>());
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if position_sqlite(&tx)? != position {
        return Ok(0);
    }
    {
        let mut target = tx.prepare(&UPSERT_TARGET.replace('$', "?"))?;
        for (k, c) in &delta.targets {
            let n = cell_values(c);
            target.execute(params![
                k.bucket, k.country, k.asn, k.target, c.control, n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8]
            ])?;
        }
        let mut place = tx.prepare(&UPSERT_PLACE.replace('$', "?"))?;
        for (k, c) in &delta.places {
            place.execute(params![k.bucket, k.country, k.asn, c.reports, c.controls_loaded])?;
        }
    }
    let counted = delta.places.values().map(|p| p.reports as usize).sum();
    tx.execute(
        "INSERT INTO rollup_position (id, last_report) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET last_report = excluded.last_report",
        params![last],
    )?;
    tx.commit()?;
    Ok(counted)
}

async fn advance_postgres(client: &tokio_postgres::Client, limit: usize) -> Result<usize, CrowdError> {
    client.batch_execute("BEGIN").await.map_err(pg)?;
    let result = async {
        client
            .execute("INSERT INTO rollup_position (id, last_report) VALUES (1, 0) ON CONFLICT (id) DO NOTHING", &[])
            .await
            .map_err(pg)?;
        let position: i64 = client
            .query_one("SELECT last_report FROM rollup_position WHERE id = 1 FOR UPDATE", &[])
            .await
            .map_err(pg)?
            .get(0);
        let rows = client
            .query(
                "SELECT id, extract(epoch FROM measurement_start)::bigint, probe_cc, probe_asn, measurements::text
                 FROM reports WHERE id > $1 AND received_minute < now() - interval '2 minutes' ORDER BY id LIMIT $2",
                &[&position, &(limit as i64)],
            )
            .await
            .map_err(pg)?;
        let Some(last) = rows.last().map(|r| r.get::<_, i64>(0)) else { return Ok(0) };
        let mut reports = Vec::with_capacity(rows.len());
        for r in &rows {
            let ms: Vec<serde_json::Value> =
                serde_json::from_str(r.get::<_, &str>(4)).map_err(|e| CrowdError::Data(e.to_string()))?;
            let mut measured = Vec::with_capacity(ms.len());
            for m in &ms {
                let target = m["target_id"].as_str().unwrap_or_default().to_string();
                let verdict = verdict_of(m["verdict"].as_str().unwrap_or_default())?;
                measured.push((target, m["control"].as_bool().unwrap_or(false), verdict));
            }
            let asn = u32::try_from(r.get::<_, i64>(3)).unwrap_or(0);
            reports.push((r.get::<_, i64>(1), r.get::<_, String>(2), asn, measured));
        }
        let mut delta = Rollup::default();
        count_into(&mut delta, &reports);
        for (k, c) in &delta.targets {
            let n = cell_values(c);
            let asn = i64::from(k.asn);
            client
                .execute(
                    UPSERT_TARGET,
                    &[
                        &k.bucket, &k.country, &asn, &k.target, &c.control, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5],
                        &n[6], &n[7], &n[8],
                    ],
                )
                .await
                .map_err(pg)?;
        }
        for (k, c) in &delta.places {
            let (asn, reports, loaded) = (i64::from(k.asn), i64::from(c.reports), i64::from(c.controls_loaded));
            client.execute(UPSERT_PLACE, &[&k.bucket, &k.country, &asn, &reports, &loaded]).await.map_err(pg)?;
        }
        client.execute("UPDATE rollup_position SET last_report = $1 WHERE id = 1", &[&last]).await.map_err(pg)?;
        Ok(rows.len())
    }
    .await;
    client.batch_execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" }).await.map_err(pg)?;
    result
}

fn read_sqlite(conn: &Connection, since: i64, until: i64, country: Option<&str>) -> Result<Rollup, CrowdError> {
    let mut out = Rollup::default();
    let mut stmt = conn.prepare(&format!(
        "SELECT {TARGET_COLUMNS} FROM rollup_targets WHERE bucket >= ?1 AND bucket < ?2 AND (?3 IS NULL OR probe_cc = ?3)"
    ))?;
    let mut rows = stmt.query(params![since, until, country])?;
    while let Some(r) = rows.next()? {
        let key = CellKey { bucket: r.get(0)?, country: r.get(1)?, asn: r.get(2)?, target: r.get(3)? };
        let mut n = [0i64; 9];
        for (i, slot) in n.iter_mut().enumerate() {
            *slot = r.get(5 + i)?;
        }
        out.targets.insert(key, cell_from(r.get::<_, i64>(4)? != 0, n));
    }
    let mut stmt = conn.prepare(
        "SELECT bucket, probe_cc, probe_asn, reports, controls_loaded FROM rollup_places
         WHERE bucket >= ?1 AND bucket < ?2 AND (?3 IS NULL OR probe_cc = ?3)",
    )?;
    let mut rows = stmt.query(params![since, until, country])?;
    while let Some(r) = rows.next()? {
        let key = PlaceKey { bucket: r.get(0)?, country: r.get(1)?, asn: r.get(2)? };
        out.places.insert(key, PlaceCell { reports: r.get(3)?, controls_loaded: r.get(4)? });
    }
    Ok(out)
}

async fn read_postgres(
    client: &tokio_postgres::Client,
    since: i64,
    until: i64,
    country: Option<&str>,
) -> Result<Rollup, CrowdError> {
    let mut out = Rollup::default();
    let u = |x: i64| u32::try_from(x).unwrap_or(0);
    let rows = client
        .query(
            &format!(
                "SELECT {TARGET_COLUMNS} FROM rollup_targets
                 WHERE bucket >= $1 AND bucket < $2 AND ($3::text IS NULL OR probe_cc = $3)"
            ),
            &[&since, &until, &country],
        )
        .await
        .map_err(pg)?;
    for r in rows {
        let key = CellKey { bucket: r.get(0), country: r.get(1), asn: u(r.get(2)), target: r.get(3) };
        let n: [i64; 9] = std::array::from_fn(|i| r.get(5 + i));
        out.targets.insert(key, cell_from(r.get(4), n));
    }
    let rows = client
        .query(
            "SELECT bucket, probe_cc, probe_asn, reports, controls_loaded FROM rollup_places
             WHERE bucket >= $1 AND bucket < $2 AND ($3::text IS NULL OR probe_cc = $3)",
            &[&since, &until, &country],
        )
        .await
        .map_err(pg)?;
    for r in rows {
        let key = PlaceKey { bucket: r.get(0), country: r.get(1), asn: u(r.get(2)) };
        out.places.insert(key, PlaceCell { reports: u(r.get(3)), controls_loaded: u(r.get(4)) });
    }
    Ok(out)
}
