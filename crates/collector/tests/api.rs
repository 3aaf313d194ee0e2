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
use vantage_lab::report::sample_report;
use vantage_report::wire::{ErrorBody, ErrorCode};
use vantage_report::Report;

fn report(report_id: &str) -> Report {
    sample_report(report_id, now_secs())
}

struct Harness {
    _dir: tempfile::TempDir,
    router: axum::Router,
}

/// What `sample_report` measures, as a list this collector serves.
const SAMPLE_LIST: &str = r#"{"version":"t-1","targets":[
  {"id":"x","name":"X","category":"GRP","images":["https://x.example/favicon.ico"],"fetch":"https://x.example/"},
  {"id":"control","name":"Control","category":"CTRL","control":true,"images":["https://control.example/favicon.ico"],"fetch":"https://control.example/"}]}"#;

fn sample_catalogue() -> Catalogue {
    Catalogue::new(vantage_report::TargetList::from_json(SAMPLE_LIST).unwrap())
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db/vantage.sqlite")).unwrap();
    let router = app(AppState::new(store, sample_catalogue(), GeoIp::default()), None);
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
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vantage.sqlite")).unwrap();
    let router = app(AppState::new(store, Catalogue::new(targets::load(None).unwrap()), GeoIp::default()), None);
    let h = Harness { _dir: dir, router };
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
    // Nothing that counts or orders visitors leaves the collector: no row id.
    assert_eq!(stored.as_object().unwrap().len(), 1, "only the report id comes back: {body}");

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

/// Every refusal under `/api` is the API's JSON error body with the status of its code: unknown
/// paths (even beside a site whose `index.html` answers every other path) and methods an
/// endpoint does not take (with `Allow`).
#[tokio::test]
async fn unknown_api_paths_and_methods_answer_json_errors() {
    let (h, _outside) = site_harness();
    for (method, path, code) in [
        ("GET", "/api/v1/nope", ErrorCode::NotFound),
        ("GET", "/api/v2/reports", ErrorCode::NotFound),
        ("GET", "/api", ErrorCode::NotFound),
        ("POST", "/api/", ErrorCode::NotFound),
        ("GET", "/api/v1/reports", ErrorCode::MethodNotAllowed),
        ("DELETE", "/api/v1/export", ErrorCode::MethodNotAllowed),
        ("POST", "/api/v1/targets", ErrorCode::MethodNotAllowed),
    ] {
        let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        let res = h.router.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let allow = res.headers().get("allow").cloned();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let error: ErrorBody = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{method} {path}: not an error body ({e}): {body:?}"));
        assert_eq!((status, error.error), (code.status(), code), "{method} {path}");
        if code == ErrorCode::MethodNotAllowed {
            assert!(allow.is_some(), "{method} {path}: a 405 names the methods allowed");
        }
    }
    // The site still answers its own paths.
    assert_eq!(call(&h.router, get("/somewhere")).await.0, StatusCode::OK);
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
    let router = app(AppState::new(store, sample_catalogue(), geo), None);
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
        ids.insert(serde_json::from_str::<Value>(&body).unwrap()["report_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 300, "every report is acknowledged with its own id");
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
    harness_from(f, geo, "127.0.0.1:50000")
}

/// The same, for a client connecting from `peer`.
fn harness_from(f: impl FnOnce(AppState) -> AppState, geo: GeoIp, peer: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vantage.sqlite")).unwrap();
    let state = f(AppState::new(store, sample_catalogue(), geo));
    let peer: std::net::SocketAddr = peer.parse().unwrap();
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
    let res = h
        .router
        .clone()
        .oneshot(post(serde_json::to_vec(&report(&format!("{:032x}", 10))).unwrap(), "application/json"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 =
        res.headers().get("retry-after").expect("429 says when to retry").to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");

    let (status, metrics) = call(&h.router, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(metrics.contains("vantage_reports_accepted_total 2"), "{metrics}");
    assert!(metrics.contains("vantage_reports_rejected_total{reason=\"rate_limited\"} 2"), "{metrics}");
    assert!(metrics.contains("vantage_ingest_seconds_count 4"), "{metrics}");
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

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn json_error(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not a JSON error: {body}"))
}

/// `--allow-origin` decides who may submit: a page elsewhere cannot store reports, even with a
/// `text/plain` POST that needs no preflight. Same-origin and allowed pages still can, and so can
/// clients that send no `Origin` (curl, the CLI tools).
#[tokio::test]
async fn submissions_from_other_origins_are_refused() {
    let h = harness_with(|s| s.with_cors_origins(vec!["https://news.example".parse().unwrap()]), GeoIp::default());
    let from = |origin: Option<&str>, id: &str| {
        let mut req = Request::post("/api/v1/reports").header("content-type", "text/plain;charset=UTF-8");
        req = req.header("host", "vantage.example:8080");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.body(Body::from(serde_json::to_vec(&report(id)).unwrap())).unwrap()
    };
    let (status, body) = call(&h.router, from(Some("https://evil.example"), &format!("{:032x}", 1))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(json_error(&body)["error"], "forbidden_origin");
    let (status, _) = call(&h.router, from(Some("null"), &format!("{:032x}", 2))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an opaque origin is not an allowed one");
    for (n, origin) in [(3, Some("https://news.example")), (4, Some("https://vantage.example:8080")), (5, None)] {
        let (status, body) = call(&h.router, from(origin, &format!("{n:032x}"))).await;
        assert_eq!(status, StatusCode::CREATED, "{origin:?}: {body}");
    }
    let (_, export) = call(&h.router, get("/api/v1/export")).await;
    assert_eq!(export.lines().count(), 6, "three reports stored, none from elsewhere");
}

/// Measurements must be of a list the collector served: invented targets and URLs (which
/// would otherwise be published verbatim as open data) are refused with the field named.
#[tokio::test]
async fn measurements_must_name_a_served_target_and_url() {
    let h = harness();
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        ("targets_version", Box::new(|v| v["targets_version"] = "t-999".into())),
        ("measurements[0].target_id", Box::new(|v| v["measurements"][0]["target_id"] = "invented".into())),
        (
            "measurements[0].input",
            Box::new(|v| v["measurements"][0]["input"] = "https://x.example/\u{202e}gpj.exe\u{200b}".into()),
        ),
        // x's image is on the host of its fetch: a report claiming otherwise could turn
        // tampering into a block (or back), so the served list decides.
        (
            "measurements[0].attempts[0].cross_host",
            Box::new(|v| v["measurements"][0]["attempts"][0]["cross_host"] = true.into()),
        ),
    ];
    for (n, (field, change)) in cases.into_iter().enumerate() {
        let mut v = serde_json::to_value(report(&format!("{n:032x}"))).unwrap();
        change(&mut v);
        let (status, body) = call(&h.router, post(v.to_string(), "application/json")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        let e = json_error(&body);
        assert_eq!(e["field"], field, "{body}");
        assert_eq!(e["error"], "unknown_target", "{body}");
    }
    let (_, export) = call(&h.router, get("/api/v1/export")).await;
    assert_eq!(export, "");
}

#[tokio::test]
async fn data_after_the_json_document_is_refused() {
    let h = harness();
    let mut body = serde_json::to_vec(&report(ID)).unwrap();
    body.extend_from_slice(b"garbage");
    let (status, answer) = call(&h.router, post(body, "application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(json_error(&answer)["error"], "malformed_json");
    let mut two = serde_json::to_vec(&report(ID)).unwrap();
    two.extend_from_slice(&serde_json::to_vec(&report(ID)).unwrap());
    assert_eq!(call(&h.router, post(two, "application/json")).await.0, StatusCode::BAD_REQUEST);
    let (_, export) = call(&h.router, get("/api/v1/export")).await;
    assert_eq!(export, "");
}

/// Too large is a JSON 413 however the body comes: with a `Content-Length`, or chunked with
/// no length announced.
#[tokio::test]
async fn an_oversized_body_gets_a_json_error() {
    let h = harness();
    let (status, body) = call(&h.router, post(vec![b' '; 70 * 1024], "application/json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_error(&body)["error"], "too_large");
    let chunks = (0..70).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; 1024])));
    let (status, body) =
        call(&h.router, post(Body::from_stream(futures_util::stream::iter(chunks)), "application/json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let error: ErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(error.error, ErrorCode::TooLarge);
}

/// A MaxMind country database for the proxy tests: the proxy on loopback is in `US`, the
/// visitor behind it in `PK` (IPv4) or `IR` (IPv6), an untrusted peer in `DE`.
fn proxy_geo(dir: &std::path::Path) -> GeoIp {
    let db = dir.join("country.mmdb");
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let cc = |c: &str| serde_json::json!({"country": {"iso_code": c}});
    vantage_lab::geoip::write_db(
        &db,
        "GeoLite2-Country",
        &[
            (ip("127.0.0.0"), 8, cc("US")),
            (ip("203.0.113.0"), 24, cc("PK")),
            (ip("198.51.100.0"), 24, cc("DE")),
            (ip("2001:db8::"), 32, cc("IR")),
        ],
    );
    GeoIp::open(Some(&db), None).unwrap()
}

/// Countries stored per report id, from the export.
async fn countries(router: &axum::Router) -> std::collections::HashMap<String, String> {
    let (_, export) = call(router, get("/api/v1/export")).await;
    export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["report_id"].as_str().unwrap().to_string(), v["probe_cc"].as_str().unwrap().to_string()))
        .collect()
}

/// RFC 7239 `Forwarded` in its standard forms; what cannot be parsed is unknown (`ZZ`), never
/// the proxy's own address, and is counted.
#[tokio::test]
async fn forwarded_headers_are_parsed_in_their_standard_forms() {
    let geo_dir = tempfile::tempdir().unwrap();
    let h = harness_with(|s| s.with_proxy_header("forwarded".parse().unwrap()), proxy_geo(geo_dir.path()));
    let cases: [(Option<&str>, &str); 9] = [
        (Some("for=203.0.113.9"), "PK"),
        (Some("for=\"203.0.113.9:4711\""), "PK"),
        (Some("for=\"[2001:db8:cafe::17]:4711\""), "IR"),
        (Some("For=\"[2001:db8:cafe::17]\";proto=https;by=127.0.0.1"), "IR"),
        (Some("for=198.51.100.1, for=203.0.113.9"), "PK"),
        (Some("for=unknown"), "ZZ"),
        (Some("for=_hidden"), "ZZ"),
        (Some("for=\"not an address\""), "ZZ"),
        (None, "ZZ"),
    ];
    for (n, (header, _)) in cases.iter().enumerate() {
        let mut req = Request::post("/api/v1/reports").header("content-type", "application/json");
        if let Some(hv) = header {
            req = req.header("forwarded", *hv);
        }
        let req = req.body(Body::from(serde_json::to_vec(&report(&format!("{n:032x}"))).unwrap())).unwrap();
        assert_eq!(call(&h.router, req).await.0, StatusCode::CREATED, "{header:?}");
    }
    let stored = countries(&h.router).await;
    for (n, (header, cc)) in cases.iter().enumerate() {
        assert_eq!(stored[&format!("{n:032x}")], *cc, "{header:?}");
    }
    let (_, metrics) = call(&h.router, get("/metrics")).await;
    assert!(metrics.contains("vantage_client_address_unknown_total 4"), "{metrics}");
}

/// The proxy header is believed only from a trusted proxy (loopback unless `--trusted-proxy`
/// says otherwise): a client connecting directly cannot claim another address.
#[tokio::test]
async fn the_proxy_header_is_ignored_from_an_untrusted_peer() {
    let geo_dir = tempfile::tempdir().unwrap();
    let h = harness_from(
        |s| s.with_proxy_header("x-forwarded-for".parse().unwrap()),
        proxy_geo(geo_dir.path()),
        "198.51.100.7:40000",
    );
    let req = Request::post("/api/v1/reports")
        .header("content-type", "application/json")
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::from(serde_json::to_vec(&report(ID)).unwrap()))
        .unwrap();
    assert_eq!(call(&h.router, req).await.0, StatusCode::CREATED);
    assert_eq!(countries(&h.router).await[ID], "DE", "the header of an untrusted peer was believed");
}

/// `/healthz` covers writes: with the disk full, every submission fails, and health says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_when_writes_fail() {
    let mount = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(mount.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.path().to_path_buf());
    let store = SqliteStore::open(&mount.path().join("v.sqlite")).unwrap();
    let router = app(AppState::new(store, sample_catalogue(), GeoIp::default()), None);
    assert_eq!(
        call(&router, post(serde_json::to_vec(&report(ID)).unwrap(), "application/json")).await.0,
        StatusCode::CREATED
    );
    assert_eq!(call(&router, get("/healthz")).await.0, StatusCode::OK);
    // Fill the disk.
    let mut filler = std::fs::File::create(mount.path().join("filler")).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while std::io::Write::write_all(&mut filler, &chunk).is_ok() {}
    let mut refused = 0;
    for n in 1..40 {
        let (status, _) =
            call(&router, post(serde_json::to_vec(&report(&format!("{n:032x}"))).unwrap(), "application/json")).await;
        if status == StatusCode::INTERNAL_SERVER_ERROR || status == StatusCode::SERVICE_UNAVAILABLE {
            refused += 1;
        }
    }
    assert!(refused > 0, "the disk is full, yet every write succeeded");
    let (status, body) = call(&router, get("/healthz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "healthy while writes fail: {body}");
    // Room again: health recovers without a restart.
    drop(filler);
    std::fs::remove_file(mount.path().join("filler")).unwrap();
    let t0 = std::time::Instant::now();
    loop {
        if call(&router, get("/healthz")).await.0 == StatusCode::OK {
            break;
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(15), "health did not recover");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A test log that keeps every line written while it is the thread's default subscriber.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

fn site_harness() -> (Harness, tempfile::TempDir) {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "not part of the site").unwrap();
    let h = harness();
    let site = h._dir.path().join("site");
    std::fs::create_dir_all(site.join("static")).unwrap();
    std::fs::write(site.join("index.html"), "<!doctype html><title>Vantage</title>").unwrap();
    std::fs::write(site.join("static/app.js"), "console.log(1)").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), site.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path(), site.join("outside")).unwrap();
    let store = SqliteStore::open(&h._dir.path().join("site.sqlite")).unwrap();
    let router = app(AppState::new(store, sample_catalogue(), GeoIp::default()), Some(site));
    (Harness { _dir: h._dir, router }, outside)
}

/// Hostile paths to the built client: a very long segment is a plain 404 (not a 500 with
/// ERROR lines), `//static` never redirects to a protocol-relative URL, and symlinks do not
/// lead out of `--site`.
#[tokio::test]
async fn hostile_static_paths_stay_inside_the_site() {
    let (h, _outside) = site_harness();
    let log = Captured::default();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt().with_writer(log.clone()).with_max_level(tracing::Level::TRACE).finish(),
    );

    let long = format!("/{}", "a".repeat(300));
    let (status, _) = call(&h.router, get(&long)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a 300-character segment");
    let (status, _) = call(&h.router, get(&format!("/static/{}.js", "b".repeat(256)))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for path in ["//static", "//static/", "///static", "//evil.example/static"] {
        let res = h.router.clone().oneshot(get(path)).await.unwrap();
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        assert!(
            !location.as_deref().is_some_and(|l| l.starts_with("//") || l.contains("://")),
            "{path} redirects to {location:?}"
        );
    }
    let (status, body) = call(&h.router, get("/static/app.js")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "console.log(1)"));

    for path in ["/leak.txt", "/outside/secret.txt"] {
        let (status, body) = call(&h.router, get(path)).await;
        assert!(!body.contains("not part of the site"), "{path} followed a symlink out of the site");
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(!logged.contains("ERROR"), "hostile paths logged errors: {logged}");
}

/// A visitor who loaded the page just before the list was updated can still submit: recent
/// earlier versions are accepted when the operator names them (`--accept-targets`).
#[tokio::test]
async fn reports_of_an_accepted_earlier_list_are_stored() {
    let current = SAMPLE_LIST.replace("\"t-1\"", "\"t-2\"");
    let catalogue = Catalogue::new(vantage_report::TargetList::from_json(&current).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("v.sqlite")).unwrap();
    let only_current = app(AppState::new(store, catalogue, GeoIp::default()), None);
    let body = serde_json::to_vec(&report(ID)).unwrap();
    assert_eq!(call(&only_current, post(body.clone(), "application/json")).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    let previous = vantage_report::TargetList::from_json(SAMPLE_LIST).unwrap();
    let catalogue = Catalogue::new(vantage_report::TargetList::from_json(&current).unwrap()).with_previous([previous]);
    let store = SqliteStore::open(&dir.path().join("w.sqlite")).unwrap();
    let with_previous = app(AppState::new(store, catalogue, GeoIp::default()), None);
    assert_eq!(call(&with_previous, post(body, "application/json")).await.0, StatusCode::CREATED);
}
