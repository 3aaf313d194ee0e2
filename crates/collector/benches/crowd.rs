//! Crowd query benchmark: a 30-day, one-country `GET /api/v1/aggregates` over 10 million stored
//! measurements, on SQLite and PostgreSQL, against the budget (p50 under 100 ms).
//!
//! The data is written by SQL inside each database (a few minutes in all, rather than hours
//! through the API): 500,000 reports of 20 targets each over 40 days, ten countries of four
//! networks, mostly reachable with a few blocked, timed-out and inconclusive verdicts, every
//! 15-minute cell of every network filled. The crowd job then counts them into the rollups as
//! a collector would, and the query goes through the collector's own router.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p vantage-collector --bench crowd`);
//! `CROWD_BENCH_REPORTS=50000` loads fewer for a quick look.

use std::sync::Arc;
use std::time::Instant;

use tower::ServiceExt;
use vantage_collector::crowd::api::CrowdState;
use vantage_collector::crowd::store::CrowdDb;
use vantage_collector::targets::Catalogue;
use vantage_collector::{app, AppState};
use vantage_lab::postgres::TestPostgres;

const TARGETS: i64 = 20;
const DAYS: i64 = 40;
const BUDGET_MS: f64 = 100.0;
const RUNS: usize = 21;
/// Ten countries, two letters each, in one string the SQL cuts.
const COUNTRIES: &str = "PKINBDIRRUDEBRTRMMET";

fn reports() -> i64 {
    std::env::var("CROWD_BENCH_REPORTS").ok().and_then(|n| n.parse().ok()).unwrap_or(500_000)
}

/// The verdict of target `k` in report `i`, as SQL both dialects read: mostly reachable.
fn verdict_sql(i: &str, k: &str) -> String {
    format!(
        "CASE WHEN ({i} * 7 + {k} * 13) % 97 = 0 THEN 'inconclusive' WHEN ({i} * 11 + {k} * 3) % 41 = 0 THEN 'blocked'
              WHEN ({i} * 5 + {k}) % 67 = 0 THEN 'timeout' ELSE 'reachable' END"
    )
}

/// The first second of the data: `DAYS` days before the current minute.
fn first_second(now: i64) -> i64 {
    (now - DAYS * 86_400) / 86_400 * 86_400
}

fn load_sqlite(path: &std::path::Path, n: i64, start: i64) {
    let conn = rusqlite::Connection::open(path).expect("open SQLite");
    conn.execute_batch("PRAGMA synchronous = OFF").expect("pragma");
    let span = DAYS * 86_400;
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {n} - 1)
         INSERT INTO reports (id, report_id, received_minute, measurement_start_minute, measurement_start, probe_cc,
             probe_asn, software_name, software_version, targets_version, browser_family, browser_major, connection_type,
             deadline_ms)
         SELECT i + 1, printf('%032x', i), '', '', {start} + (i * {span} / {n}) / 60 * 60,
             substr('{COUNTRIES}', (i % 10) * 2 + 1, 2), 64500 + (i % 10) * 4 + (i / 10) % 4,
             'vantage-web', '0.1.0', 'bench-1', 'chromium', 156, NULL, 5000.0 FROM g;
         WITH RECURSIVE t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k < {TARGETS} - 1)
         INSERT INTO measurements (report, target_id, input, control, verdict, evidence)
         SELECT r.id, 't' || k, 'https://t' || k || '.example/', k < 3, {verdict}, '{{}}' FROM reports r, t;
         COMMIT;",
        verdict = verdict_sql("r.id", "k"),
    ))
    .expect("bulk load");
}

fn load_postgres(pg: &TestPostgres, db: &str, n: i64, start: i64) {
    let mut sql = String::new();
    for day in 0..=DAYS {
        let from = start + day * 86_400;
        let name = vantage_report::timestamp::format_minute(from)[..10].replace('-', "");
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS reports_{name} PARTITION OF reports FOR VALUES
             FROM ((to_timestamp({from}) AT TIME ZONE 'UTC')::date) TO ((to_timestamp({to}) AT TIME ZONE 'UTC')::date);\n",
            to = from + 86_400
        ));
    }
    let span = DAYS * 86_400;
    sql.push_str(&format!(
        "INSERT INTO reports (report_id, day, received_minute, measurement_start, probe_cc, probe_asn, software_name,
             software_version, targets_version, browser_family, browser_major, connection_type, deadline_ms, measurements)
         SELECT lpad(to_hex(i), 32, '0'), (to_timestamp(s) AT TIME ZONE 'UTC')::date, to_timestamp(s), to_timestamp(s),
             substr('{COUNTRIES}', (i % 10)::int * 2 + 1, 2), 64500 + (i % 10) * 4 + (i / 10) % 4, 'vantage-web', '0.1.0',
             'bench-1', 'chromium', 156, NULL, 5000,
             (SELECT jsonb_agg(jsonb_build_object('target_id', 't' || k, 'control', k < 3, 'verdict', {verdict}) ORDER BY k)
              FROM generate_series(0, {TARGETS} - 1) k)
         FROM (SELECT i, {start} + (i * {span} / {n}) / 60 * 60 AS s FROM generate_series(0::bigint, {n} - 1) i) g;
         ANALYZE;",
        verdict = verdict_sql("(i + 1)", "k"),
    ));
    pg.psql(db, &sql).expect("bulk load");
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((p * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
}

/// p50 and p95 of `RUNS` requests of `uri` through the collector's router, and the cells of one.
async fn time_query(router: &axum::Router, uri: &str) -> (f64, f64, usize) {
    let mut times = Vec::with_capacity(RUNS);
    let mut cells = 0;
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let req = axum::http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 200, "{uri}");
        let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        cells = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["cells"].as_array().map_or(0, Vec::len);
    }
    times.sort_by(f64::total_cmp);
    (percentile(&times, 0.5), percentile(&times, 0.95), cells)
}

/// Counts the loaded reports into the rollups, then times the 30-day queries; true when the
/// budget was met.
async fn measure(name: &str, database: &str, now: i64) -> bool {
    let store: Arc<dyn vantage_collector::store::Store> =
        vantage_collector::store::open(database).await.expect("open the store").into();
    let db = Arc::new(CrowdDb::open(database).await.expect("open the crowd tables"));
    let t0 = Instant::now();
    let counted = db.catch_up().await.expect("count the rollups");
    println!(
        "  {name:<11} crowd job counted {counted} reports into the rollups in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let geo = vantage_collector::geoip::GeoIp::default();
    let catalogue = Catalogue::new(vantage_lab::report::sample_targets());
    let state = AppState::shared(store, catalogue, geo).with_crowd(CrowdState { db, min_reports: 5 });
    let router = app(state, None);
    let until = vantage_report::timestamp::format_minute(now);
    let since = vantage_report::timestamp::format_minute(now - 30 * 86_400);
    let mut met = true;
    // A month is asked for by day (the dashboard does); by hour it is 720 columns of cells,
    // shown for reference.
    for (bucket, budgeted) in [("day", true), ("hour", false)] {
        let uri = format!("/api/v1/aggregates?country=PK&since={since}&until={until}&bucket={bucket}");
        let (p50, p95, cells) = time_query(&router, &uri).await;
        let verdict = match (budgeted, p50 < BUDGET_MS) {
            (false, _) => "not budgeted",
            (true, true) => "met",
            (true, false) => "MISSED",
        };
        met &= !budgeted || p50 < BUDGET_MS;
        println!(
            "  {name:<11} 30 days of PK by {bucket:<4}: p50 {p50:>6.1} ms, p95 {p95:>6.1} ms ({cells} cells) | budget p50 < {BUDGET_MS:.0} ms: {verdict}"
        );
    }
    met
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = reports();
    let now = vantage_lab::now_secs();
    let start = first_second(now);
    println!(
        "Crowd query: {n} reports × {TARGETS} targets = {} measurements over {DAYS} days, 10 countries × 4 networks",
        n * TARGETS
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crowd.sqlite");
    vantage_collector::store::open(path.to_str().unwrap()).await.expect("create the schema").close().await;
    let t0 = Instant::now();
    load_sqlite(&path, n, start);
    println!("  SQLite      loaded in {:.1} s", t0.elapsed().as_secs_f64());
    let sqlite = measure("SQLite", path.to_str().unwrap(), now).await;
    drop(dir);

    let pg = TestPostgres::start().expect("a PostgreSQL server");
    let url = pg.database("bench_crowd").unwrap();
    vantage_collector::store::open(&url).await.expect("create the schema").close().await;
    let t0 = Instant::now();
    load_postgres(&pg, "bench_crowd", n, start);
    println!("  PostgreSQL  loaded in {:.1} s", t0.elapsed().as_secs_f64());
    let postgres = measure("PostgreSQL", &url, now).await;
    drop(pg);
    if !(sqlite && postgres) {
        eprintln!("The crowd query budget was missed.");
        std::process::exit(1);
    }
}
