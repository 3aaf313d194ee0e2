//! The storage suite, run against both backends: SQLite (a real file) and PostgreSQL (a real
//! server, started for the test in a temporary directory).
//!
//! Run with `cargo test -p vantage-collector --test storage` (PostgreSQL must be installed;
//! `cargo xtask test` installs it).

use std::sync::Arc;

use tokio::sync::mpsc;
use vantage_collector::export::ExportRow;
use vantage_collector::store::{ExportFilter, Origin, Store, StoreError};
use vantage_lab::postgres::TestPostgres;
use vantage_lab::report::sample_report;
use vantage_report::Report;

const START: i64 = 1_702_825_230; // 2023-12-17T15:00:30Z

fn report(n: u32, start: i64) -> Report {
    sample_report(&format!("{n:032x}"), start)
}

fn pk() -> Origin {
    Origin { country: "PK".into(), asn: 17557 }
}

async fn export(store: &Arc<dyn Store>, filter: ExportFilter) -> Vec<ExportRow> {
    let (tx, mut rx) = mpsc::channel(16);
    let s = store.clone();
    let task = tokio::spawn(async move { s.export(filter, tx).await });
    let mut rows = Vec::new();
    while let Some(r) = rx.recv().await {
        rows.push(r);
    }
    task.await.unwrap().unwrap();
    rows
}

/// The contract every backend keeps.
async fn suite(store: Arc<dyn Store>) {
    store.check().await.expect("a fresh store is healthy");

    // Stored once, acknowledged with an id; the same report again is a duplicate.
    let id = store.insert(report(1, START), pk(), START + 60).await.unwrap();
    assert!(id > 0);
    assert!(matches!(store.insert(report(1, START), pk(), START + 61).await, Err(StoreError::Duplicate)));

    // Another day, another country.
    store.insert(report(2, START + 86_400), Origin::unknown(), START + 86_460).await.unwrap();

    let rows = export(&store, ExportFilter::default()).await;
    assert_eq!(rows.len(), 4, "two measurements per report");
    let first = &rows[0];
    assert_eq!(first.report_id, format!("{:032x}", 1));
    assert_eq!(first.measurement_start_minute, "2023-12-17T15:00:00Z", "minute precision");
    assert_eq!((first.probe_cc.as_str(), first.probe_asn), ("PK", 17557));
    assert_eq!((first.target_id.as_str(), first.verdict.as_str(), first.control), ("x", "blocked", false));
    assert_eq!(first.browser_major, 156);
    let evidence: serde_json::Value = serde_json::from_str(&first.evidence).unwrap();
    assert_eq!(evidence["attempts"][0]["duration_ms"], 20.5);
    assert_eq!(evidence["reason"]["kind"], "failed_fast");
    assert_eq!(rows[1].target_id, "control");

    let pk_only = export(&store, ExportFilter { country: Some("PK".into()), ..Default::default() }).await;
    assert_eq!(pk_only.len(), 2);
    let second_day = export(&store, ExportFilter { since: Some(START + 3_600), ..Default::default() }).await;
    assert_eq!(second_day.len(), 2);
    assert!(second_day.iter().all(|r| r.probe_cc == "ZZ"));
    let first_day =
        export(&store, ExportFilter { since: Some(START - 3_600), until: Some(START + 3_600), country: None }).await;
    assert_eq!(first_day.len(), 2);

    // Concurrent submissions are batched; closing writes whatever is queued.
    let mut tasks = Vec::new();
    for n in 100..400 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move { s.insert(report(n, START), pk(), START + 60).await }));
    }
    let mut ok = 0;
    for t in tasks {
        t.await.unwrap().unwrap();
        ok += 1;
    }
    assert_eq!(ok, 300);

    // Within a minute the export is ordered by report id, not by arrival: nothing in it tells
    // who came first. Reports arrive here in descending id order.
    let later = START + 7_200;
    for n in [903, 902, 901] {
        store.insert(report(n, later), pk(), later + 60).await.unwrap();
    }
    let rows = export(&store, ExportFilter { since: Some(later - 30), until: Some(later + 60), country: None }).await;
    let ids: Vec<&str> = rows.iter().step_by(2).map(|r| r.report_id.as_str()).collect();
    assert_eq!(ids, [901, 902, 903].map(|n| format!("{n:032x}")), "arrival order leaked");
    // The 300 reports of one minute come out whole and in report-id order, across pages.
    let minute = export(&store, ExportFilter { until: Some(START + 3_600), ..Default::default() }).await;
    assert_eq!(minute.len(), 2 + 600);
    assert!(minute.windows(2).all(|w| w[0].report_id <= w[1].report_id), "not in report-id order");
    store.close().await;
    assert!(
        matches!(store.insert(report(999, START), pk(), START).await, Err(StoreError::Closed)),
        "closed stores refuse work"
    );
    assert_eq!(export(&store, ExportFilter::default()).await.len(), 4 + 600 + 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_the_storage_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = vantage_collector::store::open(dir.path().join("s.sqlite").to_str().unwrap()).await.unwrap();
    suite(store.into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_storage_contract_with_daily_partitions() {
    let pg = TestPostgres::start().expect("a PostgreSQL server");
    let url = pg.database("storage").unwrap();
    let store = vantage_collector::store::open(&url).await.unwrap();
    suite(store.into()).await;
    let partitions =
        pg.psql("storage", "SELECT count(*) FROM pg_inherits WHERE inhparent = 'reports'::regclass").unwrap();
    assert_eq!(partitions.trim(), "2", "one partition per day");
    // Migrations ran once and are recorded.
    assert_eq!(pg.psql("storage", "SELECT max(version) FROM schema_migrations").unwrap().trim(), "2");
    // A second collector opening the same database finds the schema in place.
    let again = vantage_collector::store::open(&url).await.unwrap();
    again.check().await.unwrap();
}

/// A verdict no collector writes (a hand-edited or damaged database) stops the export with an
/// error naming it, not a panic and not a made-up verdict.
#[tokio::test]
async fn an_unknown_stored_verdict_is_an_error_not_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sqlite");
    let store: Arc<dyn Store> = vantage_collector::store::open(path.to_str().unwrap()).await.unwrap().into();
    store.insert(report(1, START), pk(), START + 60).await.unwrap();
    rusqlite::Connection::open(&path).unwrap().execute("UPDATE measurements SET verdict = 'censored'", []).unwrap();
    let page = store.export_page(&ExportFilter::default(), None, 10).await;
    let e = page.expect_err("an unknown verdict is refused");
    assert!(matches!(e, StoreError::Data(_)) && e.to_string().contains("censored"), "{e}");
    store.close().await;
}
