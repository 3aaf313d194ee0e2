//! The crowd's storage, API queries, import and leader lock, on real databases (issue 11).
//! Run with `cargo test -p vantage-collector --test crowd`.

use std::sync::Arc;

use vantage_collector::crowd::api::{aggregate, AggregateQuery};
use vantage_collector::crowd::store::{CrowdDb, EventFilter};
use vantage_collector::crowd::{detect, import, job, Config, Rollup};
use vantage_collector::export::{ExportRow, Format};
use vantage_collector::store::{ExportFilter, Origin, Store};
use vantage_collector::targets::Catalogue;
use vantage_lab::report::{sample_report, sample_targets};
use vantage_report::{decide, Outcome, Report};

const PAKISTAN: i64 = 1_702_825_200; // 2023-12-17T15:00:00Z

/// A report from the lab's sample list: `x` blocked or loading, controls loading or not.
fn report(n: u32, start: i64, x_loads: bool, controls_load: bool) -> Report {
    let mut r = sample_report(&format!("{n:032x}"), start);
    for m in &mut r.measurements {
        let ok = if m.control { controls_load } else { x_loads };
        for a in &mut m.attempts {
            a.outcome = if ok { Outcome::Ok } else { Outcome::Error };
        }
    }
    let ctx = r.run_context();
    for m in &mut r.measurements {
        let d = decide(&m.attempts, &ctx);
        (m.verdict, m.reason) = (d.verdict, d.reason);
    }
    r
}

fn origin(country: &str, asn: u32) -> Origin {
    Origin { country: country.into(), asn }
}

/// Pakistan's x blocked on two networks for an hour, Germany fine, a few offline visitors.
fn crowd() -> Vec<(Report, Origin)> {
    crowd_from(PAKISTAN)
}

/// The same hour starting at `from` (a bucket start).
fn crowd_from(from: i64) -> Vec<(Report, Origin)> {
    let mut out = Vec::new();
    for i in 0..80u32 {
        let start = from + i64::from(i % 4) * 900 + i64::from(i % 7) * 60;
        let (country, asn) = if i % 2 == 0 { ("PK", 17557 + i % 4 / 2) } else { ("DE", 3320) };
        out.push((report(i, start, country != "PK", i % 10 != 8), origin(country, asn)));
    }
    out
}

async fn store_with(path: &std::path::Path, reports: &[(Report, Origin)]) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = vantage_collector::store::open(path.to_str().unwrap()).await.unwrap().into();
    for (r, o) in reports {
        let start = vantage_report::timestamp::parse_utc(&r.measurement_start_time).unwrap();
        store.insert(r.clone(), o.clone(), start + 30).await.unwrap();
    }
    store
}

fn in_memory(reports: &[(Report, Origin)]) -> Rollup {
    let mut rollup = Rollup::default();
    for (r, o) in reports {
        rollup.add(r, &o.country, o.asn).unwrap();
    }
    rollup
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_on_sqlite_count_what_was_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("c.sqlite");
    let reports = crowd();
    let _store = store_with(&db_path, &reports[..50]).await;
    let db = CrowdDb::open(db_path.to_str().unwrap()).await.unwrap();
    assert_eq!(db.advance(20).await.unwrap(), 20, "a batch at a time");
    assert_eq!(db.catch_up().await.unwrap(), 30);
    assert_eq!(db.catch_up().await.unwrap(), 0, "nothing counted twice");
    let range = (PAKISTAN - 86_400, PAKISTAN + 86_400);
    assert_eq!(db.rollup(range.0, range.1, None).await.unwrap(), in_memory(&reports[..50]));
    // More reports: only they are counted.
    let _store = store_with(&db_path, &reports[50..]).await;
    assert_eq!(db.catch_up().await.unwrap(), 30);
    assert_eq!(db.rollup(range.0, range.1, None).await.unwrap(), in_memory(&reports));
    let pk = db.rollup(range.0, range.1, Some("PK")).await.unwrap();
    assert!(pk.targets.keys().all(|k| k.country == "PK") && !pk.targets.is_empty());
}

#[test]
fn aggregates_withhold_thin_cells_and_never_count_inconclusive_as_disruption() {
    let reports = crowd();
    let rollup = in_memory(&reports);
    let q = |query: &str| AggregateQuery::parse(Some(query), PAKISTAN + 86_400).unwrap();
    // Quarter hours on one network: 20 reports, withheld under a threshold of 21.
    let body = aggregate(&rollup, &q("country=PK&asn=17557&bucket=15m&since=2023-12-17"), 21).to_string();
    assert!(body.contains("not enough reports") && !body.contains("\"reports\""), "{body}");
    // The hour over the whole country has its counts, inconclusive apart from disruption.
    let body = aggregate(&rollup, &q("country=PK&target=x&since=2023-12-17"), 5);
    let cells = body["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "{body}");
    let c = &cells[0];
    assert_eq!(
        (c["asn"].is_null(), c["reports"].as_u64(), c["start"].as_str()),
        (true, Some(40), Some("2023-12-17T15:00:00Z"))
    );
    let (inconclusive, disrupted) = (c["verdicts"]["inconclusive"].as_u64().unwrap(), c["disrupted"].as_u64().unwrap());
    assert_eq!(inconclusive + disrupted, 40);
    assert!(inconclusive > 0);
    // Bad queries name their field.
    for (query, field) in
        [("bucket=minute", "bucket"), ("country=pk", "country"), ("since=yesterday", "since"), ("colour=red", "colour")]
    {
        assert_eq!(AggregateQuery::parse(Some(query), PAKISTAN).unwrap_err().field.as_deref(), Some(field));
    }
    assert!(AggregateQuery::parse(Some("bucket=15m&since=2023-12-01&until=2023-12-17"), PAKISTAN).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crowd_round_stores_events_the_api_filters() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("e.sqlite");
    let _store = store_with(&db_path, &crowd()).await;
    let db = CrowdDb::open(db_path.to_str().unwrap()).await.unwrap();
    assert_eq!(job::round(&db, &Config::default(), PAKISTAN + 3 * 3600).await.unwrap(), Some(1));
    let all = db.events(&EventFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!((all[0]["kind"].as_str(), all[0]["country"].as_str()), (Some("censorship"), Some("PK")));
    assert_eq!(all[0]["start"], "2023-12-17T15:00:00Z");
    let filter = |country: Option<&str>, kind: Option<&str>| EventFilter {
        country: country.map(Into::into),
        kind: kind.map(Into::into),
        ..EventFilter::default()
    };
    assert_eq!(db.events(&filter(Some("DE"), None)).await.unwrap().len(), 0);
    assert_eq!(db.events(&filter(Some("PK"), Some("outage"))).await.unwrap().len(), 0);
    assert_eq!(db.events(&filter(Some("PK"), Some("censorship"))).await.unwrap().len(), 1);
    let later = EventFilter { since: Some(PAKISTAN + 86_400), ..EventFilter::default() };
    assert_eq!(db.events(&later).await.unwrap().len(), 0);
    // A second round finds the same event, stored once.
    job::round(&db, &Config::default(), PAKISTAN + 3 * 3600 + 60).await.unwrap();
    assert_eq!(db.events(&EventFilter::default()).await.unwrap(), all);
    // What the detector finds in the stored rollups is what it finds in the reports.
    assert_eq!(detect(&in_memory(&crowd()), &Config::default()).len(), 1);
}

async fn export_all(store: &Arc<dyn Store>) -> String {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ExportRow>(64);
    let s = store.clone();
    let job = tokio::spawn(async move { s.export(ExportFilter::default(), tx).await });
    let mut out = String::new();
    while let Some(row) = rx.recv().await {
        out.push_str(&Format::Jsonl.line(&row));
    }
    job.await.unwrap().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_round_trips_an_export_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let a = store_with(&dir.path().join("a.sqlite"), &crowd()).await;
    let exported = export_all(&a).await;
    assert_eq!(exported.lines().count(), 160);
    let b = store_with(&dir.path().join("b.sqlite"), &[]).await;
    let catalogue = Catalogue::new(sample_targets());
    let summary = import::import(b.as_ref(), &catalogue, exported.as_bytes()).await.unwrap();
    assert_eq!((summary.reports, summary.stored, summary.duplicates), (80, 80, 0));
    assert_eq!(export_all(&b).await, exported, "export → import → export is identical");
    let again = import::import(b.as_ref(), &catalogue, exported.as_bytes()).await.unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 80));

    // A verdict that does not follow from its attempts is refused with its line, and nothing
    // of the file is stored.
    let c = store_with(&dir.path().join("c.sqlite"), &[]).await;
    let forged = exported.replacen("\"verdict\":\"blocked\"", "\"verdict\":\"reachable\"", 1);
    let e = import::import(c.as_ref(), &catalogue, forged.as_bytes()).await.unwrap_err().to_string();
    assert!(e.starts_with("line ") && e.contains("verdict"), "{e}");
    assert_eq!(export_all(&c).await, "");
    // A target the collector never served is refused.
    let other = Catalogue::new(vantage_lab::targets::list("t-1", vec![]));
    let e = import::import(c.as_ref(), &other, exported.as_bytes()).await;
    assert!(e.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_collector_at_a_time_leads_the_detector_on_postgres() {
    let pg = vantage_lab::postgres::TestPostgres::start().expect("a PostgreSQL server");
    let url = pg.database("crowd").unwrap();
    let store: Arc<dyn Store> = vantage_collector::store::open(&url).await.unwrap().into();
    let reports = crowd();
    let received = vantage_lab::now_secs() - 600;
    for (r, o) in &reports {
        store.insert(r.clone(), o.clone(), received).await.unwrap();
    }
    let first = CrowdDb::open(&url).await.unwrap();
    let second = CrowdDb::open(&url).await.unwrap();
    assert!(first.try_lead().await.unwrap());
    assert!(first.try_lead().await.unwrap(), "the leader stays the leader");
    assert!(!second.try_lead().await.unwrap(), "exactly one leads");
    // Both may count reports; each is counted once.
    let (a, b) = tokio::join!(first.catch_up(), second.catch_up());
    assert_eq!(a.unwrap() + b.unwrap(), 80);
    let range = (PAKISTAN - 86_400, PAKISTAN + 86_400);
    assert_eq!(second.rollup(range.0, range.1, None).await.unwrap(), in_memory(&reports));
    // The leader goes away: another takes over.
    drop(first);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !second.try_lead().await.unwrap() {
        assert!(std::time::Instant::now() < deadline, "the lock was never released");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn get(router: &axum::Router, uri: &str) -> (u16, serde_json::Value) {
    use tower::ServiceExt;
    let req = axum::http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_aggregates_and_events_from_the_rollups() {
    use vantage_collector::crowd::api::CrowdState;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("api.sqlite");
    let store = store_with(&db_path, &crowd()).await;
    let db = Arc::new(CrowdDb::open(db_path.to_str().unwrap()).await.unwrap());
    job::round(&db, &Config::default(), PAKISTAN + 3 * 3600).await.unwrap();
    let state = vantage_collector::AppState::shared(
        store,
        Catalogue::new(sample_targets()),
        vantage_collector::geoip::GeoIp::default(),
    )
    .with_crowd(CrowdState { db, min_reports: 21 });
    let router = vantage_collector::app(state, None);

    let (status, body) = get(&router, "/api/v1/aggregates?country=PK&since=2023-12-17&until=2023-12-18").await;
    assert_eq!(status, 200, "{body}");
    let cells = body["cells"].as_array().unwrap();
    assert!(cells.iter().any(|c| c["target"] == "x" && c["reports"] == 40), "{body}");
    // One network's quarter hour holds 20 reports, under the threshold of 21: no counts at all.
    let (_, body) =
        get(&router, "/api/v1/aggregates?country=PK&asn=17557&bucket=15m&since=2023-12-17&until=2023-12-18").await;
    assert!(body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "not enough reports" && c.get("reports").is_none()));
    let (status, body) = get(&router, "/api/v1/aggregates?bucket=minute").await;
    assert_eq!((status, body["field"].as_str()), (400, Some("bucket")));

    let (status, body) = get(&router, "/api/v1/events?country=PK&kind=censorship").await;
    assert_eq!(status, 200);
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{body}");
    assert!(events[0]["summary"].as_str().unwrap().starts_with("x unreachable from Pakistan"), "{body}");
    assert_eq!(get(&router, "/api/v1/events?kind=outage").await.1["events"], serde_json::json!([]));
    assert_eq!(get(&router, "/api/v1/events?kind=war").await.0, 400);
}

/// A router whose requests come through a trusted proxy on loopback (`X-Forwarded-For`), with
/// GeoIP placing 203.0.113.0/24 in PK AS17557, 198.51.100.0/24 in PK AS17558 and 192.0.2.0/24
/// nowhere; the crowd of the last hour stored and counted.
async fn nearby_router(dir: &std::path::Path, min_reports: u32, peer: &str) -> axum::Router {
    use vantage_collector::crowd::api::CrowdState;
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let (country_db, asn_db) = (dir.join("country.mmdb"), dir.join("asn.mmdb"));
    let pk = serde_json::json!({"country": {"iso_code": "PK"}});
    vantage_lab::geoip::write_db(
        &country_db,
        "GeoLite2-Country",
        &[(ip("203.0.113.0"), 24, pk.clone()), (ip("198.51.100.0"), 24, pk)],
    );
    let asn = |n: u32| serde_json::json!({"autonomous_system_number": n});
    vantage_lab::geoip::write_db(
        &asn_db,
        "GeoLite2-ASN",
        &[(ip("203.0.113.0"), 24, asn(17557)), (ip("198.51.100.0"), 24, asn(17558))],
    );
    let geo = vantage_collector::geoip::GeoIp::open(Some(&country_db), Some(&asn_db)).unwrap();
    let db_path = dir.join(format!("nearby-{min_reports}.sqlite"));
    let now = vantage_lab::now_secs();
    let first = vantage_collector::crowd::bucket_of(now) - 3 * 900;
    let store = store_with(&db_path, &crowd_from(first)).await;
    let db = Arc::new(CrowdDb::open(db_path.to_str().unwrap()).await.unwrap());
    job::round(&db, &Config::default(), now).await.unwrap();
    let state = vantage_collector::AppState::shared(store, Catalogue::new(sample_targets()), geo)
        .with_proxy_header("x-forwarded-for".parse().unwrap())
        .with_crowd(CrowdState { db, min_reports });
    let peer: std::net::SocketAddr = peer.parse().unwrap();
    vantage_collector::app(state, None).layer(axum::extract::connect_info::MockConnectInfo(peer))
}

/// `GET /api/v1/nearby` as a visitor at `client` (through the proxy) sees it: status, headers, body.
async fn nearby(router: &axum::Router, uri: &str, client: &str) -> (u16, axum::http::HeaderMap, String) {
    use tower::ServiceExt;
    let req = axum::http::Request::get(uri).header("x-forwarded-for", client).body(axum::body::Body::empty()).unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn cell<'a>(cells: &'a serde_json::Value, target: &str) -> Option<&'a serde_json::Value> {
    cells.as_array().unwrap().iter().find(|c| c["target"] == target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nearby_gives_the_requesters_country_and_network_over_the_last_hours() {
    let dir = tempfile::tempdir().unwrap();
    let router = nearby_router(dir.path(), 5, "127.0.0.1:40000").await;
    let (status, headers, body) = nearby(&router, "/api/v1/nearby", "203.0.113.9").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "private, max-age=60");
    assert!(!body.contains("203.0.113"), "the address is never returned: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["country"].as_str(), v["asn"].as_u64(), v["min_reports"].as_u64()),
        (Some("PK"), Some(17557), Some(5))
    );
    let (since, until) = (v["since"].as_str().unwrap(), v["until"].as_str().unwrap());
    let (since, until) =
        (vantage_report::timestamp::parse_utc(since).unwrap(), vantage_report::timestamp::parse_utc(until).unwrap());
    assert!(until - since > 2 * 3600 - 60 && until - since <= 2 * 3600 + 900, "two hours in whole cells");
    // The whole country: 40 reports of x, blocked where the controls loaded.
    let x = cell(&v["country_cells"], "x").expect("x in the country's cells");
    assert_eq!((x["reports"].as_u64(), x["control"].as_bool()), (Some(40), Some(false)), "{x}");
    let (decided, disrupted) = (x["decided"].as_u64().unwrap(), x["disrupted"].as_u64().unwrap());
    assert_eq!(decided, disrupted);
    assert_eq!(decided + x["verdicts"]["inconclusive"].as_u64().unwrap(), 40);
    assert!(x["controls_loaded"].as_u64().unwrap() < 40);
    assert_eq!(cell(&v["country_cells"], "control").unwrap()["control"], true);
    // The requester's network: half of them.
    assert_eq!(cell(&v["network_cells"], "x").unwrap()["reports"], 20);
    // The event the detector found for Pakistan.
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{body}");
    assert_eq!((events[0]["kind"].as_str(), events[0]["country"].as_str()), (Some("censorship"), Some("PK")));
    assert!(events[0]["summary"].as_str().unwrap().starts_with("x unreachable from Pakistan"));

    // A place with no country: nulls and nothing else.
    let (status, _, body) = nearby(&router, "/api/v1/nearby?hours=24", "192.0.2.1").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200);
    assert!(v["country"].is_null() && v["asn"].is_null(), "{body}");
    for list in ["country_cells", "network_cells", "events"] {
        assert_eq!(v[list], serde_json::json!([]), "{list}");
    }
    // Bad queries name their field, as JSON.
    for (uri, field) in [
        ("/api/v1/nearby?hours=25", "hours"),
        ("/api/v1/nearby?hours=0", "hours"),
        ("/api/v1/nearby?country=DE", "country"),
    ] {
        let (status, _, body) = nearby(&router, uri, "203.0.113.9").await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, v["field"].as_str()), (400, Some(field)), "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nearby_leaves_out_thin_sums_and_believes_only_trusted_proxies() {
    let dir = tempfile::tempdir().unwrap();
    // 20 reports per network and target, 40 per country: over a threshold of 21 only the country.
    let router = nearby_router(dir.path(), 21, "127.0.0.1:40000").await;
    let (_, _, body) = nearby(&router, "/api/v1/nearby?hours=1", "203.0.113.9").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(cell(&v["country_cells"], "x").unwrap()["reports"], 40, "{body}");
    assert_eq!(v["network_cells"], serde_json::json!([]), "withheld sums do not appear at all");
    assert!(!body.contains("not enough reports") && !body.contains("\"reports\":20"), "{body}");

    // A client connecting directly cannot claim another place with the header.
    let direct = nearby_router(dir.path(), 5, "198.51.100.7:40000").await;
    let (_, _, body) = nearby(&direct, "/api/v1/nearby", "203.0.113.9").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["country"].as_str(), v["asn"].as_u64()), (Some("PK"), Some(17558)), "{body}");
    assert_eq!(cell(&v["network_cells"], "x").unwrap()["reports"], 20);
}

/// Waits until `log` has `words` at least `times` times; panics with the log after `within`.
fn wait_for_log(log: &std::path::Path, words: &str, times: usize, within: std::time::Duration) -> String {
    let deadline = std::time::Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches(words).count() >= times {
            return text;
        }
        assert!(std::time::Instant::now() < deadline, "{words:?} not {times} times in {}:\n{text}", log.display());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Two `serve` processes on one PostgreSQL, a crowd round a second: exactly one runs the
/// detector, both serve what it found, and when the leader stops the other takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serving_collectors_on_postgres_take_turns_running_the_detector() {
    use std::time::Duration;
    let pg = vantage_lab::postgres::TestPostgres::start().expect("a PostgreSQL server");
    let url = pg.database("leaders").unwrap();
    let store: Arc<dyn Store> = vantage_collector::store::open(&url).await.unwrap().into();
    let now = vantage_lab::now_secs();
    for (r, o) in &crowd_from(vantage_collector::crowd::bucket_of(now) - 3 * 900) {
        // Received long enough ago for the PostgreSQL job to count it.
        store.insert(r.clone(), o.clone(), now - 600).await.unwrap();
    }
    store.close().await;
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.json");
    std::fs::write(&targets, serde_json::to_string(&sample_targets()).unwrap()).unwrap();
    let start = |name: &str| {
        let log = dir.path().join(format!("{name}.log"));
        let port = vantage_lab::free_port();
        let extra: [&std::ffi::OsStr; 4] =
            ["--crowd-every".as_ref(), "1s".as_ref(), "--targets".as_ref(), targets.as_os_str()];
        let file = std::fs::File::create(&log).unwrap();
        let child = vantage_lab::collector::serve_collector_with(
            env!("CARGO_BIN_EXE_vantage-collector"),
            &url,
            port,
            &extra,
            Some(file.into()),
        );
        (child, port, log)
    };
    const LEADS: &str = "now runs the crowd detector";
    const RAN: &str = "crowd round: detector ran";
    const FOLLOWS: &str = "another collector leads the detector";
    let (mut first, _, first_log) = start("first");
    wait_for_log(&first_log, RAN, 1, Duration::from_secs(20));
    let (mut second, second_port, second_log) = start("second");
    let seen = wait_for_log(&second_log, FOLLOWS, 3, Duration::from_secs(20));
    assert!(!seen.contains(LEADS) && !seen.contains(RAN), "the second collector ran the detector too:\n{seen}");
    wait_for_log(&first_log, RAN, 3, Duration::from_secs(20));
    // Either serves what the leader found.
    let (status, body) =
        vantage_lab::http::get(&format!("http://127.0.0.1:{second_port}/api/v1/events?country=PK")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("x unreachable from Pakistan"), "{body}");

    // The leader stops: the other takes over within a few rounds.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(first.id() as i32, libc::SIGTERM) };
    first.wait().unwrap();
    let after = wait_for_log(&second_log, RAN, 1, Duration::from_secs(20));
    assert_eq!(after.matches(LEADS).count(), 1, "{after}");
    let _ = second.kill();
    let _ = second.wait();
    let first_text = std::fs::read_to_string(&first_log).unwrap();
    assert!(!first_text.contains(FOLLOWS), "the first led from its first round:\n{first_text}");
}

#[test]
fn aggregates_give_totals_per_network_for_a_breakdown() {
    let rollup = in_memory(&crowd());
    let q = |query: &str| AggregateQuery::parse(Some(query), PAKISTAN + 86_400).unwrap();
    let body = aggregate(&rollup, &q("country=PK&asn=each&bucket=total&since=2023-12-17T14:00:00Z"), 5);
    let cells = body["cells"].as_array().unwrap();
    let x: Vec<_> = cells.iter().filter(|c| c["target"] == "x").collect();
    assert_eq!(x.len(), 2, "one total per network: {body}");
    for c in &x {
        assert_eq!((c["reports"].as_u64(), c["start"].as_str()), (Some(20), Some("2023-12-17T14:00:00Z")), "{c}");
        assert!(c["asn"] == 17557 || c["asn"] == 17558);
    }
    // Under the threshold a network's total is withheld like any cell.
    let thin = aggregate(&rollup, &q("country=PK&asn=each&bucket=total&since=2023-12-17"), 21);
    assert!(thin["cells"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "not enough reports" && c.get("reports").is_none()));
    assert_eq!(AggregateQuery::parse(Some("asn=some"), PAKISTAN).unwrap_err().field.as_deref(), Some("asn"));
}
