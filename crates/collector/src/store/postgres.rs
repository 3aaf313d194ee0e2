//! PostgreSQL storage, for several collectors behind a load balancer sharing one database.
//! Same contract as SQLite: one writer task per collector commits batches and acknowledges each
//! report after its commit; a report id is stored once whichever collector gets it (the primary
//! key), so a client retrying against another collector after a crash cannot double-count.
//! Reports are partitioned by day, partitions created as days arrive.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, Mutex};
use tokio_postgres::{Client, NoTls};
use vantage_report::timestamp::parse_utc;
use vantage_report::{Report, Verdict};

use super::{
    acknowledge, fill_batch, ExportCursor, ExportFilter, ExportPage, Job, Origin, Store, StoreError, WriteQueue,
    WriterHealth,
};
use crate::export::ExportRow;

/// Migrations in order; `schema_migrations` records which ran. Append, never edit.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_reports.sql"),
    include_str!("../../migrations/postgres/0002_export_order_and_health.sql"),
];
/// Serialises migrations and partition creation across collectors.
const LOCK_KEY: i64 = 0x7661_6e74; // "vant"

pub struct PostgresStore {
    url: String,
    queue: WriteQueue,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    health: Arc<WriterHealth>,
    /// One connection for reads (export pages, health), reconnected when it breaks; queries on
    /// it are pipelined, and each is one short statement.
    reader: Mutex<Option<Arc<Client>>>,
}

fn db(e: tokio_postgres::Error) -> StoreError {
    StoreError::Postgres(e)
}

async fn connect(url: &str) -> Result<Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(db)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY]).await.map_err(db)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY)").await.map_err(db)?;
    let done: i64 = tx.query_one("SELECT count(*) FROM schema_migrations", &[]).await.map_err(db)?.get(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
        tx.batch_execute(sql).await.map_err(db)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(i as i32 + 1)]).await.map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

impl PostgresStore {
    /// Connects, applies migrations and starts the writer.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let mut client = connect(url).await?;
        migrate(&mut client).await?;
        let (queue, rx) = WriteQueue::new();
        let health = Arc::new(WriterHealth::new());
        let writer = tokio::spawn(write_loop(url.to_string(), client, rx, health.clone()));
        Ok(PostgresStore {
            url: url.to_string(),
            queue,
            writer: Mutex::new(Some(writer)),
            health,
            reader: Mutex::new(None),
        })
    }

    async fn reader(&self) -> Result<Arc<Client>, StoreError> {
        let mut reader = self.reader.lock().await;
        if let Some(c) = reader.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let c = Arc::new(connect(&self.url).await?);
        *reader = Some(c.clone());
        Ok(c)
    }
}

async fn write_loop(url: String, mut client: Client, mut rx: mpsc::Receiver<Job>, health: Arc<WriterHealth>) {
    let mut days = HashSet::new();
    while let Some(first) = rx.recv().await {
        let batch = fill_batch(first, &mut rx);
        if client.is_closed() {
            match connect(&url).await {
                Ok(c) => client = c,
                Err(e) => tracing::error!(error = %e, "reconnecting to postgres failed"),
            }
        }
        let outcome = write_batch(&mut client, &mut days, &batch).await;
        acknowledge(batch, outcome, &health);
    }
}

fn day_of(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

async fn write_batch(
    client: &mut Client,
    days: &mut HashSet<i64>,
    batch: &[Job],
) -> Result<Vec<Result<i64, StoreError>>, StoreError> {
    let starts: Vec<i64> =
        batch.iter().map(|j| parse_utc(&j.report.measurement_start_time).unwrap_or(j.received)).collect();
    let tx = client.transaction().await.map_err(db)?;
    for day in starts.iter().map(|s| day_of(*s)) {
        if days.contains(&day) {
            continue;
        }
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY]).await.map_err(db)?;
        let from = day * 86_400;
        let name = vantage_report::timestamp::format_minute(from)[..10].replace('-', "");
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS reports_{name} PARTITION OF reports
             FOR VALUES FROM ((to_timestamp({from}) AT TIME ZONE 'UTC')::date) TO ((to_timestamp({to}) AT TIME ZONE 'UTC')::date)",
            to = from + 86_400
        ))
        .await
        .map_err(db)?;
        days.insert(day);
    }
    let insert = tx
        .prepare(
            "INSERT INTO reports (report_id, day, received_minute, measurement_start, probe_cc, probe_asn, software_name,
                 software_version, targets_version, browser_family, browser_major, connection_type, deadline_ms, measurements)
             VALUES ($1, (to_timestamp($2) AT TIME ZONE 'UTC')::date, to_timestamp($3), to_timestamp($2), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (report_id, day) DO NOTHING
             RETURNING id",
        )
        .await
        .map_err(db)?;
    let mut results = Vec::with_capacity(batch.len());
    for (job, start) in batch.iter().zip(&starts) {
        let r = &job.report;
        // Minute precision is all that is kept.
        let start_minute = (start - start.rem_euclid(60)) as f64;
        let received_minute = (job.received - job.received.rem_euclid(60)) as f64;
        let measurements = serde_json::to_value(&r.measurements)?;
        let row = tx
            .query_opt(
                &insert,
                &[
                    &r.report_id,
                    &start_minute,
                    &received_minute,
                    &job.origin.country,
                    &i64::from(job.origin.asn),
                    &r.software_name,
                    &r.software_version,
                    &r.targets_version,
                    &r.browser.family,
                    &(r.browser.major as i32),
                    &r.connection_type,
                    &r.deadline_ms,
                    &measurements,
                ],
            )
            .await
            .map_err(db)?;
        results.push(row.map(|row| row.get::<_, i64>(0)).ok_or(StoreError::Duplicate));
    }
    tx.commit().await.map_err(db)?;
    Ok(results)
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert(&self, report: Report, origin: Origin, received: i64) -> Result<i64, StoreError> {
        self.queue.submit(report, origin, received).await
    }

    async fn export_page(
        &self,
        filter: &ExportFilter,
        after: Option<ExportCursor>,
        limit: usize,
    ) -> Result<ExportPage, StoreError> {
        let client = self.reader().await?;
        let since = filter.since.map(|s| s as f64);
        let until = filter.until.map(|s| s as f64);
        let after_start = after.as_ref().map(|a| a.start as f64);
        let after_id = after.as_ref().map(|a| a.report_id.clone());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT r.report_id,
                        to_char(r.measurement_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:00\"Z\"'),
                        extract(epoch FROM r.measurement_start)::bigint,
                        r.probe_cc, r.probe_asn, r.software_name, r.software_version, r.targets_version,
                        r.browser_family, r.browser_major, r.connection_type, r.deadline_ms, r.measurements::text
                 FROM reports r
                 WHERE ($1::float8 IS NULL OR r.measurement_start >= to_timestamp($1::float8))
                   AND ($2::float8 IS NULL OR r.measurement_start < to_timestamp($2::float8))
                   AND ($3::text IS NULL OR r.probe_cc = $3::text)
                   AND ($4::float8 IS NULL OR (r.measurement_start, r.report_id) > (to_timestamp($4::float8), $5::text))
                 ORDER BY r.measurement_start, r.report_id
                 LIMIT $6",
                &[&since, &until, &filter.country, &after_start, &after_id, &limit],
            )
            .await
            .map_err(db)?;
        let mut page = ExportPage::default();
        let full = rows.len() as i64 == limit;
        for row in &rows {
            let base = ExportRow {
                report_id: row.get(0),
                measurement_start_minute: row.get(1),
                probe_cc: row.get(3),
                probe_asn: u32::try_from(row.get::<_, i64>(4)).unwrap_or(0),
                software_name: row.get(5),
                software_version: row.get(6),
                targets_version: row.get(7),
                browser_family: row.get(8),
                browser_major: u32::try_from(row.get::<_, i32>(9)).unwrap_or(0),
                connection_type: row.get(10),
                deadline_ms: row.get(11),
                target_id: String::new(),
                input: String::new(),
                control: false,
                // Set per measurement below.
                verdict: Verdict::Inconclusive,
                evidence: String::new(),
            };
            let measurements: serde_json::Value = serde_json::from_str(row.get::<_, &str>(12))?;
            for m in measurements.as_array().into_iter().flatten() {
                let text = |k: &str| m[k].as_str().unwrap_or_default().to_string();
                page.rows.push(ExportRow {
                    target_id: text("target_id"),
                    input: text("input"),
                    control: m["control"].as_bool().unwrap_or(false),
                    verdict: super::stored_verdict(m["verdict"].as_str().unwrap_or_default())?,
                    evidence: serde_json::json!({ "reason": m["reason"], "attempts": m["attempts"] }).to_string(),
                    ..base.clone()
                });
            }
            page.next = Some(ExportCursor { start: row.get(2), report_id: base.report_id });
        }
        if !full {
            page.next = None;
        }
        Ok(page)
    }

    async fn check(&self) -> Result<(), StoreError> {
        let client = self.reader().await?;
        client.query_one("SELECT 1", &[]).await.map_err(db)?;
        if self.health.wants_probe() {
            let probed = client
                .execute(
                    "INSERT INTO health (id, checked_at) VALUES (1, date_trunc('minute', now()))
                     ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                    &[],
                )
                .await
                .map_err(db);
            self.health.record(&probed);
        }
        self.health.status()
    }

    fn queue_depth(&self) -> usize {
        self.queue.depth()
    }

    async fn close(&self) {
        self.queue.close();
        if let Some(writer) = self.writer.lock().await.take() {
            let _ = writer.await;
        }
    }
}
