//! The collector's HTTP API, driven through `app()` without a socket, plus one real-socket test.
//!
//! Run with `cargo test -p vantage-collector`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vantage_collector::geoip::GeoIp;
use vantage_collector::targets::Catalogue;
use vantage_collector::{app, ingest::now_secs, store::sqlite::SqliteStore, targets, AppState};
use vantage_report::{decide, timestamp, Attempt, BrowserInfo, ControlStatus, Measurement, Outcome, ProbeKind, Report, RunContext, SCHEMA_VERSION};

fn measurement(id: &str, control: bool, outcome: Outcome) -> Measurement {
    let attempts = vec![Attempt::new(ProbeKind::Image, outcome, 31.5), Attempt::new(ProbeKind::Fetch, outcome, 12.25)];
    let d = decide(&attempts, &RunContext { controls: ControlStatus::Ok, control_kbps: None, deadline_ms: 5000.0 });
    Measurement { target_id: id.into(), input: format!("https://{id}.example/favicon.ico"), control, verdict: d.verdict, reason: d.reason, attempts }
}

fn report(report_id: &str) -> Report {
    let now = now_secs();
    Report {
        schema_version: SCHEMA_VERSION,
        report_id: report_id.into(),
        software_name: "vantage-web".into(),
        software_version: "0.1.0".into(),
        targets_version: "test".into(),
        measurement_start_time: format!("{}.000Z", timestamp::format_minute(now).trim_end_matches('Z')),
        deadline_ms: 5000.0,
        browser: BrowserInfo { family: "chromium".into(), major: 156 },
        connection_type: Some("wifi".into()),
        measurements: vec![measurement("x", false, Outcome::Error), measurement("control", true, Outcome::Ok)],
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    router: axum::Router,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db/vantage.sqlite")).unwrap();
    let router = app(AppState::new(store, Catalogue::new(targets::load(None).unwrap()), GeoIp::default()), None);
    Harness { _dir: dir, router }
}

async fn call(router: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn post(body: impl Into<Body>, content_type: &str) -> Request<Body> {
    Request::post("/api/v1/reports").header("content-type", content_type).body(body.into()).unwrap()
}

const ID: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn serves_the_target_list() {
    let h = harness();
    let (status, body) = call(&h.router, Request::get("/api/v1/targets").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = v["targets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    for id in ["x", "facebook", "instagram", "youtube"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
}

#[tokio::test]
async fn a_valid_report_is_stored_once_and_exported() {
    let h = harness();
    let json = serde_json::to_string(&report(ID)).unwrap();
    let (status, body) = call(&h.router, post(json.clone(), "application/json")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stored: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stored["report_id"], ID);
    assert!(stored["id"].as_i64().unwrap() > 0);

    let (status, body) = call(&h.router, post(json, "text/plain;charset=UTF-8")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, body) = call(&h.router, Request::get("/api/v1/export").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["probe_cc"], "ZZ");
    assert_eq!(lines[0]["probe_asn"], "AS0");
    assert_eq!(lines[0]["test_name"], "vantage_web");
    assert_eq!(lines[0]["input"], "https://x.example/favicon.ico");
    assert_eq!(lines[0]["test_keys"]["verdict"], "blocked");
    assert_eq!(lines[1]["test_keys"]["verdict"], "reachable");
    assert_eq!(lines[0]["test_keys"]["attempts"][0]["duration_ms"], 31.5);
    // Minute precision: seconds are always zero.
    assert!(lines[0]["measurement_start_time"].as_str().unwrap().ends_with(":00"), "{}", lines[0]);
}

#[tokio::test]
async fn invalid_reports_get_a_json_error_naming_the_field_and_change_nothing() {
    let h = harness();
    let mut v = serde_json::to_value(report(ID)).unwrap();
    v["measurements"][0]["attempts"][0]["duration_ms"] = (-5.0).into();
    let (status, body) = call(&h.router, post(v.to_string(), "application/json")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["error"], "invalid_report");
    assert_eq!(e["field"], "measurements[0].attempts[0].duration_ms");

    let mut v = serde_json::to_value(report(ID)).unwrap();
    v["ip"] = "198.51.100.7".into();
    let (status, body) = call(&h.router, post(v.to_string(), "application/json")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["field"], "ip");

    let (status, body) = call(&h.router, post("{not json", "application/json")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (status, _) = call(&h.router, post(serde_json::to_string(&report(ID)).unwrap(), "application/xml")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, _) = call(&h.router, post(vec![b' '; 70 * 1024], "application/json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let (_, body) = call(&h.router, Request::get("/api/v1/export").body(Body::empty()).unwrap()).await;
    assert_eq!(body, "", "nothing may be stored from a refused report");
}

#[tokio::test]
async fn unknown_api_paths_answer_json_404() {
    let h = harness();
    let (status, body) = call(&h.router, Request::get("/api/v1/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "not_found");
}

/// A MaxMind database mapping 127.0.0.0/8 to `record`.
fn loopback_db(path: &std::path::Path, kind: &str, record: serde_json::Value) {
    let loopback = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0));
    vantage_collector::geoip::testing::write_db(path, kind, &[(loopback, 8, record)]);
}

/// Over a real socket the peer address exists: it gives country and network, and must not
/// reach the database files.
#[tokio::test]
async fn the_peer_address_gives_country_and_network_and_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let geo_dir = tempfile::tempdir().unwrap();
    let (country_db, asn_db) = (geo_dir.path().join("country.mmdb"), geo_dir.path().join("asn.mmdb"));
    loopback_db(&country_db, "GeoLite2-Country", serde_json::json!({"country": {"iso_code": "PK"}}));
    loopback_db(&asn_db, "GeoLite2-ASN", serde_json::json!({"autonomous_system_number": 17557}));
    let geo = GeoIp::open(Some(&country_db), Some(&asn_db)).unwrap();
    let db = dir.path().join("vantage.sqlite");
    let store = SqliteStore::open(&db).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(AppState::new(store, Catalogue::new(targets::load(None).unwrap()), geo), None);
    let server = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
    });

    let body = serde_json::to_string(&report(ID)).unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /api/v1/reports HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(format!("GET /api/v1/export HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut export = String::new();
    stream.read_to_string(&mut export).await.unwrap();
    assert!(export.contains(r#""probe_cc":"PK""#) && export.contains(r#""probe_asn":"AS17557""#), "{export}");
    assert!(!export.contains("127.0.0.1"), "{export}");
    server.abort();

    let mut scanned = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        scanned += bytes.len();
        assert!(!bytes.windows(9).any(|w| w == b"127.0.0.1"), "peer address found in the database files");
    }
    assert!(scanned > 0);
}
