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

use super::cells::{CellKey, PlaceCell, PlaceKey, Rollup, TargetCell, VerdictCounts, BUCKET_SECS};
use super::detect::Event;

const SQLITE_MIGRATIONS: [&str; 2] = [
    include_str!("../../migrations/sqlite/0003_rollups.sql"),
    include_str!("../../migrations/sqlite/0004_rollup_hours_days.sql"),
];
const POSTGRES_MIGRATIONS: [&str; 2] = [
    include_str!("../../migrations/postgres/0003_rollups.sql"),
    include_str!("../../migrations/postgres/0004_rollup_hours_days.sql"),
];
/// The target-cell tables by grain: 15 minutes, hours, days.
const GRAINS: [(i64, &str); 3] =
    [(900, "rollup_targets"), (3600, "rollup_targets_hour"), (86_400, "rollup_targets_day")];
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

/// Adds counts to a target-cell table (`table`), from `source`: a `VALUES` row of
/// placeholders (SQLite) or the `UNNEST` of one array per column (PostgreSQL, a batch at once).
fn upsert_target(table: &str, source: &str) -> String {
    let add = |c: &str| format!("{c} = {table}.{c} + excluded.{c}");
    let counted =
        ["reachable", "blocked", "timeout", "throttled", "tampered", "local_block", "inconclusive", "reports"];
    let sets: Vec<String> = counted.iter().chain(&["controls_loaded"]).map(|c| add(c)).collect();
    format!(
        "INSERT INTO {table} ({TARGET_COLUMNS}) {source}
         ON CONFLICT (probe_cc, bucket, probe_asn, target_id) DO UPDATE SET {}",
        sets.join(", ")
    )
}
const SQLITE_TARGET_ROW: &str = "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
const POSTGRES_TARGET_ARRAYS: &str = "SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[],
    $5::boolean[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],
    $13::bigint[], $14::bigint[])";
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
            for sql in POSTGRES_MIGRATIONS {
                client.batch_execute(sql).await.map_err(pg)?;
            }
            Ok(CrowdDb::Postgres { client: Arc::new(client), leading: Mutex::new(false) })
        } else {
            let path = PathBuf::from(database);
            let p = path.clone();
            blocking(move || {
                let conn = connect(&p)?;
                for sql in SQLITE_MIGRATIONS {
                    conn.execute_batch(sql)?;
                }
                Ok(())
            })
            .await?;
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

    /// The target cells of [since, until), of one country or all, read from the hour or day
    /// tables where whole cells of up to `grain` seconds fit (a month of days is a few thousand
    /// rows), in 15-minute cells at the edges. Sum them to `grain` with [`Rollup::coarsen`].
    pub async fn cells(&self, since: i64, until: i64, country: Option<&str>, grain: i64) -> Result<Rollup, CrowdError> {
        let parts = stretches(since, until, grain);
        let country = country.map(str::to_string);
        match self {
            CrowdDb::Sqlite { path } => {
                let path = path.clone();
                blocking(move || {
                    let conn = connect(&path)?;
                    let mut out = Rollup::default();
                    for (table, a, b) in parts {
                        read_targets_sqlite(&conn, table, a, b, country.as_deref(), &mut out)?;
                    }
                    Ok(out)
                })
                .await
            }
            CrowdDb::Postgres { client, .. } => {
                let mut out = Rollup::default();
                for (table, a, b) in parts {
                    read_targets_postgres(client, table, a, b, country.as_deref(), &mut out).await?;
                }
                Ok(out)
            }
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
        for (grain, table) in GRAINS {
            let mut target = tx.prepare(&upsert_target(table, SQLITE_TARGET_ROW))?;
            for (k, c) in &delta.coarsen(grain).targets {
                let n = cell_values(c);
                target.execute(params![
                    k.bucket, k.country, k.asn, k.target, c.control, n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7],
                    n[8]
                ])?;
            }
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
        for (grain, table) in GRAINS {
            upsert_targets_postgres(client, table, &delta.coarsen(grain)).await?;
        }
        if !delta.places.is_empty() {
            let places = &delta.places;
            let buckets: Vec<i64> = places.keys().map(|k| k.bucket).collect();
            let countries: Vec<&str> = places.keys().map(|k| k.country.as_str()).collect();
            let asns: Vec<i64> = places.keys().map(|k| i64::from(k.asn)).collect();
            let reports: Vec<i64> = places.values().map(|c| i64::from(c.reports)).collect();
            let loaded: Vec<i64> = places.values().map(|c| i64::from(c.controls_loaded)).collect();
            let sql = UPSERT_PLACE.replace(
                "VALUES ($1, $2, $3, $4, $5)",
                "SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])",
            );
            client.execute(&sql, &[&buckets, &countries, &asns, &reports, &loaded]).await.map_err(pg)?;
        }
        client.execute("UPDATE rollup_position SET last_report = $1 WHERE id = 1", &[&last]).await.map_err(pg)?;
        Ok(rows.len())
    }
    .await;
    client.batch_execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" }).await.map_err(pg)?;
    result
}

/// One statement per table and batch: every cell's columns as arrays.
async fn upsert_targets_postgres(
    client: &tokio_postgres::Client,
    table: &str,
    cells: &Rollup,
) -> Result<(), CrowdError> {
    if cells.targets.is_empty() {
        return Ok(());
    }
    let len = cells.targets.len();
    let (mut buckets, mut countries, mut asns, mut targets, mut controls) = (
        Vec::with_capacity(len),
        Vec::with_capacity(len),
        Vec::with_capacity(len),
        Vec::with_capacity(len),
        Vec::with_capacity(len),
    );
    let mut counts: [Vec<i64>; 9] = std::array::from_fn(|_| Vec::with_capacity(len));
    for (k, c) in &cells.targets {
        buckets.push(k.bucket);
        countries.push(k.country.as_str());
        asns.push(i64::from(k.asn));
        targets.push(k.target.as_str());
        controls.push(c.control);
        for (column, n) in counts.iter_mut().zip(cell_values(c)) {
            column.push(n);
        }
    }
    let [c0, c1, c2, c3, c4, c5, c6, c7, c8] = &counts;
    client
        .execute(
            &upsert_target(table, POSTGRES_TARGET_ARRAYS),
            &[&buckets, &countries, &asns, &targets, &controls, c0, c1, c2, c3, c4, c5, c6, c7, c8],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

/// ` AND probe_cc = <placeholder>` when one country is asked for: written out rather than
/// `(? IS NULL OR probe_cc = ?)`, which keeps both planners off the (country, bucket) key.
fn country_clause(country: Option<&str>, placeholder: &str) -> String {
    country.map_or_else(String::new, |_| format!(" AND probe_cc = {placeholder}"))
}

fn read_targets_sqlite(
    conn: &Connection,
    table: &str,
    since: i64,
    until: i64,
    country: Option<&str>,
    out: &mut Rollup,
) -> Result<(), CrowdError> {
    let sql = format!(
        "SELECT {TARGET_COLUMNS} FROM {table} WHERE bucket >= ?1 AND bucket < ?2{}",
        country_clause(country, "?3")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = query_range(&mut stmt, since, until, country)?;
    while let Some(r) = rows.next()? {
        let key = CellKey { bucket: r.get(0)?, country: r.get(1)?, asn: r.get(2)?, target: r.get(3)? };
        let mut n = [0i64; 9];
        for (i, slot) in n.iter_mut().enumerate() {
            *slot = r.get(5 + i)?;
        }
        out.targets.entry(key).or_default().merge(&cell_from(r.get::<_, i64>(4)? != 0, n));
    }
    Ok(())
}

/// Runs a statement over `[since, until)`, with the country as its third parameter when given
/// (the statement's SQL says so through `country_clause`).
fn query_range<'a>(
    stmt: &'a mut rusqlite::Statement<'_>,
    since: i64,
    until: i64,
    country: Option<&str>,
) -> rusqlite::Result<rusqlite::Rows<'a>> {
    match country {
        Some(c) => stmt.query(params![since, until, c]),
        None => stmt.query(params![since, until]),
    }
}

fn read_sqlite(conn: &Connection, since: i64, until: i64, country: Option<&str>) -> Result<Rollup, CrowdError> {
    let mut out = Rollup::default();
    read_targets_sqlite(conn, "rollup_targets", since, until, country, &mut out)?;
    let sql = format!(
        "SELECT bucket, probe_cc, probe_asn, reports, controls_loaded FROM rollup_places
         WHERE bucket >= ?1 AND bucket < ?2{}",
        country_clause(country, "?3")
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = query_range(&mut stmt, since, until, country)?;
    while let Some(r) = rows.next()? {
        let key = PlaceKey { bucket: r.get(0)?, country: r.get(1)?, asn: r.get(2)? };
        out.places.insert(key, PlaceCell { reports: r.get(3)?, controls_loaded: r.get(4)? });
    }
    Ok(out)
}

/// [`query_range`] for PostgreSQL: `[since, until)`, with the country as `$3` when given.
async fn query_range_postgres(
    client: &tokio_postgres::Client,
    sql: &str,
    since: i64,
    until: i64,
    country: Option<&str>,
) -> Result<Vec<tokio_postgres::Row>, CrowdError> {
    match country {
        Some(c) => client.query(sql, &[&since, &until, &c]).await,
        None => client.query(sql, &[&since, &until]).await,
    }
    .map_err(pg)
}

async fn read_targets_postgres(
    client: &tokio_postgres::Client,
    table: &str,
    since: i64,
    until: i64,
    country: Option<&str>,
    out: &mut Rollup,
) -> Result<(), CrowdError> {
    let u = |x: i64| u32::try_from(x).unwrap_or(0);
    let sql = format!(
        "SELECT {TARGET_COLUMNS} FROM {table} WHERE bucket >= $1 AND bucket < $2{}",
        country_clause(country, "$3")
    );
    let rows = query_range_postgres(client, &sql, since, until, country).await?;
    for r in rows {
        let key = CellKey { bucket: r.get(0), country: r.get(1), asn: u(r.get(2)), target: r.get(3) };
        let n: [i64; 9] = std::array::from_fn(|i| r.get(5 + i));
        out.targets.entry(key).or_default().merge(&cell_from(r.get(4), n));
    }
    Ok(())
}

async fn read_postgres(
    client: &tokio_postgres::Client,
    since: i64,
    until: i64,
    country: Option<&str>,
) -> Result<Rollup, CrowdError> {
    let mut out = Rollup::default();
    let u = |x: i64| u32::try_from(x).unwrap_or(0);
    read_targets_postgres(client, "rollup_targets", since, until, country, &mut out).await?;
    let sql = format!(
        "SELECT bucket, probe_cc, probe_asn, reports, controls_loaded FROM rollup_places
         WHERE bucket >= $1 AND bucket < $2{}",
        country_clause(country, "$3")
    );
    let rows = query_range_postgres(client, &sql, since, until, country).await?;
    for r in rows {
        let key = PlaceKey { bucket: r.get(0), country: r.get(1), asn: u(r.get(2)) };
        out.places.insert(key, PlaceCell { reports: u(r.get(3)), controls_loaded: u(r.get(4)) });
    }
    Ok(out)
}

/// The stretches of [since, until) to read from each table for cells of up to `grain` seconds:
/// the coarsest table whose cells fit wholly inside, then the edges at finer grains, down to
/// 15-minute cells (which, as everywhere, count when they start inside).
pub fn stretches(since: i64, until: i64, grain: i64) -> Vec<(&'static str, i64, i64)> {
    let ceil = |t: i64, g: i64| t.div_euclid(g) * g + if t.rem_euclid(g) == 0 { 0 } else { g };
    let floor = |t: i64, g: i64| t.div_euclid(g) * g;
    let coarse = GRAINS
        .iter()
        .rev()
        .find(|(secs, _)| *secs > BUCKET_SECS && *secs <= grain && ceil(since, *secs) < floor(until, *secs));
    let Some(&(secs, table)) = coarse else { return vec![(GRAINS[0].1, since, until)] };
    let (a, b) = (ceil(since, secs), floor(until, secs));
    let mut out = vec![(table, a, b)];
    if since < a {
        out.extend(stretches(since, a, secs - 1));
    }
    if b < until {
        out.extend(stretches(b, until, secs - 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::stretches;

    #[test]
    fn a_month_is_read_in_days_and_its_edges_finer() {
        let day = 1_702_771_200; // 2023-12-17T00:00:00Z
        assert_eq!(stretches(day, day + 30 * 86_400, 86_400), vec![("rollup_targets_day", day, day + 30 * 86_400)]);
        let (since, until) = (day - 3600, day + 2 * 86_400 + 5400);
        assert_eq!(
            stretches(since, until, 86_400),
            vec![
                ("rollup_targets_day", day, day + 2 * 86_400),
                ("rollup_targets_hour", since, day),
                ("rollup_targets_hour", day + 2 * 86_400, day + 2 * 86_400 + 3600),
                ("rollup_targets", day + 2 * 86_400 + 3600, until),
            ]
        );
        assert_eq!(stretches(since, until, 3600)[0], ("rollup_targets_hour", since, day + 2 * 86_400 + 3600));
        assert_eq!(stretches(since, since + 1800, 3600), vec![("rollup_targets", since, since + 1800)]);
        assert_eq!(stretches(since, until, 900), vec![("rollup_targets", since, until)]);
    }
}
