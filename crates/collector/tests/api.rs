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
use vantage_lab::report::sample_report;
use vantage_collector::{app, ingest::now_secs, store::sqlite::SqliteStore, targets, AppState};
use vantage_report::Report;

fn report(report_id: &str) -> Report {
    sample_report(report_id, now_secs())
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
    assert_eq!(lines[0]["test_keys"]["attempts"][0]["duration_ms"], 20.5);
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
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

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
    vantage_lab::geoip::write_db(path, kind, &[(loopback, 8, record)]);
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
    stream
        .write_all(format!("GET /api/v1/export HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
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

/// Every kind of bad input gets its documented 4xx, nothing is stored, and the collector stays
/// healthy.
#[tokio::test]
async fn the_bad_input_suite() {
    let h = harness();
    let good = serde_json::to_value(report(ID)).unwrap();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string().into_bytes()
    };
    let many: Vec<Value> = (0..101)
        .map(|i| {
            let mut m = good["measurements"][0].clone();
            m["target_id"] = format!("t{i}").into();
            m
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            b"{\"schema_version\": 1,".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        ("not JSON at all", b"report=1".to_vec(), "application/json", StatusCode::BAD_REQUEST, "malformed_json"),
        (
            "not UTF-8",
            [b"{\"report_id\": \"".as_slice(), &[0xff, 0xfe], b"\"}"].concat(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "wrong type",
            with(&|v| v["deadline_ms"] = "fast".into()),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "missing field",
            with(&|v| {
                v.as_object_mut().unwrap().remove("report_id");
            }),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "unknown field",
            with(&|v| v["probe_ip"] = "127.0.0.1".into()),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "huge array",
            with(&|v| v["measurements"] = Value::Array(many.clone())),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "negative timing",
            with(&|v| v["measurements"][0]["attempts"][0]["duration_ms"] = (-1.0).into()),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "absurd timing",
            with(&|v| v["measurements"][0]["attempts"][0]["duration_ms"] = 1e12.into()),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "invalid enum",
            with(&|v| v["measurements"][0]["attempts"][0]["outcome"] = "maybe".into()),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "future timestamp",
            with(&|v| v["measurement_start_time"] = "2099-01-01T00:00:00.000Z".into()),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
        ),
        (
            "wrong media type",
            serde_json::to_vec(&good).unwrap(),
            "multipart/form-data",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        ("oversized body", vec![b' '; 65 * 1024], "application/json", StatusCode::PAYLOAD_TOO_LARGE, ""),
    ];
    for (what, body, content_type, status, error) in cases {
        let (got, answer) = call(&h.router, post(body, content_type)).await;
        assert_eq!(got, status, "{what}: {answer}");
        if !error.is_empty() {
            let v: Value =
                serde_json::from_str(&answer).unwrap_or_else(|_| panic!("{what}: not a JSON error: {answer}"));
            assert_eq!(v["error"], error, "{what}: {answer}");
            assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: {answer}");
        }
    }
    let (_, export) = call(&h.router, Request::get("/api/v1/export").body(Body::empty()).unwrap()).await;
    assert_eq!(export, "", "nothing may be stored from refused reports");
    let (status, _) = call(&h.router, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "still healthy");
    let (status, _) = call(&h.router, post(serde_json::to_vec(&good).unwrap(), "application/json")).await;
    assert_eq!(status, StatusCode::CREATED, "and still taking good reports");
}

/// Concurrent submissions are batched by the writer; each is acknowledged with its own id and
/// stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reports_are_each_stored_once() {
    let h = harness();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let router = h.router.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("{i:032x}");
            let body = serde_json::to_vec(&report(&id)).unwrap();
            call(&router, post(body, "application/json")).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.insert(serde_json::from_str::<Value>(&body).unwrap()["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 300, "every report has its own row");
    let (_, export) = call(&h.router, Request::get("/api/v1/export").body(Body::empty()).unwrap()).await;
    assert_eq!(export.lines().count(), 600);
}

#[tokio::test]
async fn exports_filter_by_time_and_country_and_speak_csv() {
    let h = harness();
    let (status, _) = call(&h.router, post(serde_json::to_vec(&report(ID)).unwrap(), "application/json")).await;
    assert_eq!(status, StatusCode::CREATED);
    let get = |q: &str| Request::get(format!("/api/v1/export?{q}")).body(Body::empty()).unwrap();
    let (_, all) = call(&h.router, get("country=ZZ")).await;
    assert_eq!(all.lines().count(), 2);
    let (_, none) = call(&h.router, get("country=PK")).await;
    assert_eq!(none, "");
    let (_, old) = call(&h.router, get("until=2023-12-18")).await;
    assert_eq!(old, "", "nothing was measured before the report's time");
    let (_, csv) = call(&h.router, get("format=csv")).await;
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), vantage_collector::export::CSV_COLUMNS.join(","));
    let row = lines.next().unwrap();
    assert!(row.contains(",ZZ,AS0,") && row.contains(ID) && row.contains(",blocked,failed_fast,2,"), "{row}");
    let (status, body) = call(&h.router, get("format=xml")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["field"], "format");
}

/// The export's JSON Lines follow OONI's base data format.
#[tokio::test]
async fn export_lines_follow_the_ooni_base_data_format() {
    let h = harness();
    call(&h.router, post(serde_json::to_vec(&report(ID)).unwrap(), "application/json")).await;
    let (_, export) = call(&h.router, Request::get("/api/v1/export").body(Body::empty()).unwrap()).await;
    let line: Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    for key in [
        "data_format_version",
        "report_id",
        "measurement_start_time",
        "probe_cc",
        "probe_asn",
        "software_name",
        "software_version",
        "test_name",
        "test_version",
        "input",
        "annotations",
        "test_keys",
    ] {
        assert!(line.get(key).is_some(), "{key} missing: {line}");
    }
    assert!(line.get("probe_ip").is_none(), "no address, not even a redacted one");
    let time = line["measurement_start_time"].as_str().unwrap();
    assert!(time.len() == 19 && &time[10..11] == " " && time.ends_with(":00"), "{time}");
    assert!(line["probe_asn"].as_str().unwrap().starts_with("AS"));
    assert_eq!(line["software_name"], "vantage-web");
    assert_eq!(line["data_format_version"], "0.2.0");
}

fn harness_with(f: impl FnOnce(AppState) -> AppState, geo: GeoIp) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vantage.sqlite")).unwrap();
    let state = f(AppState::new(store, Catalogue::new(targets::load(None).unwrap()), geo));
    let peer: std::net::SocketAddr = "127.0.0.1:50000".parse().unwrap();
    let router = app(state, None).layer(axum::extract::connect_info::MockConnectInfo(peer));
    Harness { _dir: dir, router }
}

#[tokio::test]
async fn submissions_are_rate_limited_per_address_and_counted_in_metrics() {
    let h = harness_with(|s| s.with_rate_limit(60, 2), GeoIp::default());
    for i in 0..2 {
        let (status, body) =
            call(&h.router, post(serde_json::to_vec(&report(&format!("{i:032x}"))).unwrap(), "application/json")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) =
        call(&h.router, post(serde_json::to_vec(&report(&format!("{:032x}", 9))).unwrap(), "application/json")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "rate_limited");

    let (status, metrics) = call(&h.router, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("vantage_reports_accepted_total 2"), "{metrics}");
    assert!(metrics.contains("vantage_reports_rejected_total{reason=\"rate_limited\"} 1"), "{metrics}");
    assert!(metrics.contains("vantage_ingest_seconds_count 3"), "{metrics}");
    assert!(metrics.contains("vantage_write_queue_depth 0"), "{metrics}");
    assert!(!metrics.contains("127.0.0.1"), "{metrics}");
}

#[tokio::test]
async fn the_proxy_header_is_believed_only_when_configured() {
    let geo_dir = tempfile::tempdir().unwrap();
    let db = geo_dir.path().join("country.mmdb");
    let net = std::net::IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 0));
    vantage_lab::geoip::write_db(
        &db,
        "GeoLite2-Country",
        &[(net, 24, serde_json::json!({"country": {"iso_code": "PK"}}))],
    );
    let forwarded = |id: &str| {
        Request::post("/api/v1/reports")
            .header("content-type", "application/json")
            // A client can send anything before the proxy's own entry; the last one counts.
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
            .body(Body::from(serde_json::to_vec(&report(id)).unwrap()))
            .unwrap()
    };
    let trusting = harness_with(
        |s| s.with_proxy_header("x-forwarded-for".parse().unwrap()),
        GeoIp::open(Some(&db), None).unwrap(),
    );
    assert_eq!(call(&trusting.router, forwarded(ID)).await.0, StatusCode::CREATED);
    let (_, export) = call(&trusting.router, Request::get("/api/v1/export").body(Body::empty()).unwrap()).await;
    assert!(export.contains(r#""probe_cc":"PK""#), "{export}");
    assert!(!export.contains("203.0.113.9") && !export.contains("198.51.100.1"));

    let default = harness_with(|s| s, GeoIp::open(Some(&db), None).unwrap());
    assert_eq!(call(&default.router, forwarded(ID)).await.0, StatusCode::CREATED);
    let (_, export) = call(&default.router, Request::get("/api/v1/export").body(Body::empty()).unwrap()).await;
    assert!(export.contains(r#""probe_cc":"ZZ""#), "the header must be ignored by default: {export}");
}

#[tokio::test]
async fn cross_origin_submissions_only_from_allowed_origins() {
    let h = harness_with(|s| s.with_cors_origins(vec!["https://news.example".parse().unwrap()]), GeoIp::default());
    let preflight = |origin: &str| {
        Request::options("/api/v1/reports")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let res = h.router.clone().oneshot(preflight("https://news.example")).await.unwrap();
    assert_eq!(
        res.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap()),
        Some("https://news.example")
    );
    let res = h.router.clone().oneshot(preflight("https://elsewhere.example")).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
