//! PostgreSQL storage, for several collectors behind a load balancer sharing one database.
//! Same contract as SQLite: one writer task per collector commits batches and acknowledges each
//! report after its commit; a report id is stored once whichever collector gets it (the primary
//! key), so a client retrying against another collector after a crash cannot double-count.
//! Reports are partitioned by day, partitions created as days arrive.

use std::collections::HashSet;

use async_trait::async_trait;
use tokio::sync::{mpsc, Mutex};
use tokio_postgres::{Client, NoTls};
use vantage_report::timestamp::parse_utc;
use vantage_report::Report;

use super::{acknowledge, fill_batch, ExportFilter, Job, Origin, Store, StoreError, WriteQueue};
use crate::export::ExportRow;

/// Migrations in order; `schema_migrations` records which ran. Append, never edit.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/postgres/0001_reports.sql")];
/// Serialises migrations and partition creation across collectors.
const LOCK_KEY: i64 = 0x7661_6e74; // "vant"

pub struct PostgresStore {
    url: String,
    queue: WriteQueue,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn db(e: tokio_postgres::Error) -> StoreError {
    StoreError::Postgres(e.to_string())
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
        let writer = tokio::spawn(write_loop(url.to_string(), client, rx));
        Ok(PostgresStore { url: url.to_string(), queue, writer: Mutex::new(Some(writer)) })
    }
}

async fn write_loop(url: String, mut client: Client, mut rx: mpsc::Receiver<Job>) {
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
        acknowledge(batch, outcome);
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
        let measurements = serde_json::to_value(&r.measurements).map_err(|e| StoreError::Task(e.to_string()))?;
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

    async fn export(&self, filter: ExportFilter, sink: mpsc::Sender<ExportRow>) -> Result<(), StoreError> {
        use futures_util::{pin_mut, TryStreamExt};
        let client = connect(&self.url).await?;
        let since = filter.since.map(|s| s as f64);
        let until = filter.until.map(|s| s as f64);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&since, &until, &filter.country];
        let rows = client
            .query_raw(
                "SELECT r.report_id,
                        to_char(r.measurement_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:00\"Z\"'),
                        r.probe_cc, r.probe_asn, r.software_name, r.software_version, r.targets_version,
                        r.browser_family, r.browser_major, r.connection_type, r.deadline_ms,
                        m->>'target_id', m->>'input', (m->>'control')::boolean, m->>'verdict',
                        jsonb_build_object('reason', m->'reason', 'attempts', m->'attempts')::text
                 FROM reports r, jsonb_array_elements(r.measurements) WITH ORDINALITY AS e(m, n)
                 WHERE ($1::float8 IS NULL OR r.measurement_start >= to_timestamp($1::float8))
                   AND ($2::float8 IS NULL OR r.measurement_start < to_timestamp($2::float8))
                   AND ($3::text IS NULL OR r.probe_cc = $3::text)
                 ORDER BY r.id, e.n",
                params,
            )
            .await
            .map_err(db)?;
        pin_mut!(rows);
        while let Some(row) = rows.try_next().await.map_err(db)? {
            let item = ExportRow {
                report_id: row.get(0),
                measurement_start_minute: row.get(1),
                probe_cc: row.get(2),
                probe_asn: row.get::<_, i64>(3) as u32,
                software_name: row.get(4),
                software_version: row.get(5),
                targets_version: row.get(6),
                browser_family: row.get(7),
                browser_major: row.get::<_, i32>(8) as u32,
                connection_type: row.get(9),
                deadline_ms: row.get(10),
                target_id: row.get(11),
                input: row.get(12),
                control: row.get(13),
                verdict: row.get(14),
                evidence: row.get(15),
            };
            if sink.send(item).await.is_err() {
                break;
            }
        }
        Ok(())
    }

    async fn check(&self) -> Result<(), StoreError> {
        connect(&self.url).await?.query_one("SELECT 1", &[]).await.map_err(db)?;
        Ok(())
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
