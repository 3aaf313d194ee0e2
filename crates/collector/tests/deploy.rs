//! The large deployment of `docs/deploy.md`, really started: Debian's nginx in front of two
//! collectors sharing one PostgreSQL. Visitors are named in `X-Forwarded-For` (as a CDN in
//! front of nginx would); the collectors believe the header only from nginx
//! (`--trusted-proxy 127.0.0.1/32`), place each report by it, and keep no address anywhere.
//! Then one collector is killed mid-load: clients that retry through nginx get every report
//! acknowledged, and the survivor holds each acknowledged report exactly once.
//!
//! Run with `cargo test -p vantage-collector --test deploy` (needs Debian's nginx and
//! postgresql, which `cargo xtask test` installs).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::Value;
use vantage_lab::collector::serve_collector_with;
use vantage_lab::geoip::write_db;
use vantage_lab::http::{request, try_request};
use vantage_lab::nginx::Nginx;
use vantage_lab::postgres::TestPostgres;
use vantage_lab::report::{sample_report, sample_targets};
use vantage_lab::{free_port, now_secs};

const BIN: &str = env!("CARGO_BIN_EXE_vantage-collector");
/// Visitors in Pakistan (AS17557) and Iran (AS58224), by documentation addresses.
const PAKISTAN: &str = "203.0.113.9";
const IRAN: &str = "198.51.100.7";
const CLIENTS: usize = 8;
const REPORTS_PER_CLIENT: usize = 60;

struct Collector {
    child: Child,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collector(database: &str, files: &tempfile::TempDir, port: u16) -> Collector {
    let path = |name: &str| files.path().join(name).into_os_string();
    let (targets, country, asn) = (path("targets.json"), path("country.mmdb"), path("asn.mmdb"));
    let extra: Vec<&OsStr> = vec![
        OsStr::new("--targets"),
        &targets,
        OsStr::new("--geoip-country"),
        &country,
        OsStr::new("--geoip-asn"),
        &asn,
        OsStr::new("--trust-proxy-header"),
        OsStr::new("X-Forwarded-For"),
        OsStr::new("--trusted-proxy"),
        OsStr::new("127.0.0.1/32"),
    ];
    Collector { child: serve_collector_with(BIN, database, port, &extra, None) }
}

/// The target list and GeoIP databases both collectors read.
fn deployment_files() -> tempfile::TempDir {
    let files = tempfile::tempdir().expect("a directory");
    let targets = serde_json::to_string(&sample_targets()).expect("serialisable");
    std::fs::write(files.path().join("targets.json"), targets).expect("write the list");
    let pk = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 0));
    let ir = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 0));
    write_db(
        &files.path().join("country.mmdb"),
        "GeoLite2-Country",
        &[
            (pk, 24, serde_json::json!({"country": {"iso_code": "PK"}})),
            (ir, 24, serde_json::json!({"country": {"iso_code": "IR"}})),
        ],
    );
    write_db(
        &files.path().join("asn.mmdb"),
        "GeoLite2-ASN",
        &[
            (pk, 24, serde_json::json!({"autonomous_system_number": 17557u32})),
            (ir, 24, serde_json::json!({"autonomous_system_number": 58224u32})),
        ],
    );
    files
}

/// Submits a report through nginx as the visitor at `visitor` would, retrying (as the page does)
/// until the collector acknowledges it: stored (201) or already stored (409, when an earlier
/// attempt was stored but its answer was lost). Returns whether it was acknowledged in time.
async fn submit_until_acknowledged(nginx: u16, visitor: &str, body: String) -> bool {
    let url = format!("http://127.0.0.1:{nginx}/api/v1/reports");
    let headers = [("content-type", "application/json"), ("x-forwarded-for", visitor)];
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        match try_request(Method::POST, &url, &headers, body.clone()).await {
            Ok(answer) if answer.status == 201 || answer.status == 409 => return true,
            Ok(answer) if answer.status >= 500 => {}
            Ok(answer) => panic!("refused: {} {}", answer.status, answer.body),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_behind_nginx_place_visitors_by_the_header_keep_no_address_and_survive_a_kill() {
    let pg = TestPostgres::start().expect("a PostgreSQL server");
    let database = pg.database("vantage").expect("a database");
    let files = deployment_files();
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = Some(collector(&database, &files, port_a));
    let _b = collector(&database, &files, port_b);
    let nginx = Nginx::start(&[port_a, port_b]).expect("nginx in front of both");

    // Placed by the header nginx sets, not by the loopback peer.
    assert!(submit_until_acknowledged(nginx.port, PAKISTAN, report_json(1)).await);
    assert!(submit_until_acknowledged(nginx.port, IRAN, report_json(2)).await);
    let export = request(Method::GET, &format!("http://127.0.0.1:{}/api/v1/export", nginx.port), &[], "").await;
    assert_eq!(export.status, 200, "{}", export.body);
    let lines: Vec<Value> = export.body.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let place = |id: &str| {
        let line = lines.iter().find(|l| l["report_id"] == id).unwrap_or_else(|| panic!("{id} not exported"));
        (
            line["probe_cc"].as_str().unwrap_or_default().to_string(),
            line["probe_asn"].as_str().unwrap_or_default().to_string(),
        )
    };
    assert_eq!(place(&id(1)), ("PK".into(), "AS17557".into()));
    assert_eq!(place(&id(2)), ("IR".into(), "AS58224".into()));

    // Load from several clients; one collector is killed while it runs.
    let acknowledged = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let failed = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (acknowledged, failed, port) = (acknowledged.clone(), failed.clone(), nginx.port);
        tasks.push(tokio::spawn(async move {
            for r in 0..REPORTS_PER_CLIENT {
                let n = 1_000 + (c * REPORTS_PER_CLIENT + r) as u32;
                let visitor = if n.is_multiple_of(2) { PAKISTAN } else { IRAN };
                if submit_until_acknowledged(port, visitor, report_json(n)).await {
                    acknowledged.lock().expect("not poisoned").insert(id(n));
                } else {
                    failed.store(true, Ordering::SeqCst);
                }
            }
        }));
    }
    // SIGKILL one collector once a quarter of the load is acknowledged: mid-load, not after it.
    let total = CLIENTS * REPORTS_PER_CLIENT;
    let t0 = Instant::now();
    while acknowledged.lock().expect("not poisoned").len() < total / 4 && t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(a.take());
    let at_kill = acknowledged.lock().expect("not poisoned").len();
    assert!(at_kill < total, "the load was over before the kill ({at_kill} of {total})");
    for t in tasks {
        t.await.expect("a client task");
    }
    assert!(!failed.load(Ordering::SeqCst), "some report was never acknowledged through the survivor");
    let acknowledged = acknowledged.lock().expect("not poisoned").clone();
    assert_eq!(acknowledged.len(), total);
    println!("{at_kill} of {total} reports acknowledged when a collector was killed; all {total} after");

    // Every acknowledged report stored exactly once (one row per report).
    let counts = pg.psql("vantage", "SELECT report_id, count(*) FROM reports GROUP BY report_id").expect("psql");
    let stored: Vec<(String, u32)> = counts
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(id, n)| (id.to_string(), n.trim().parse().unwrap_or(0)))
        .collect();
    for id in &acknowledged {
        let n = stored.iter().find(|(s, _)| s == id).map_or(0, |(_, n)| *n);
        assert_eq!(n, 1, "report {id} stored {n} time(s)");
    }

    // No visitor's address (nor the proxy's) in the database or in nginx's log.
    let dump = pg.dump("vantage").expect("pg_dump");
    let log = nginx.error_log();
    for address in [PAKISTAN, IRAN, "127.0.0.1"] {
        assert!(!dump.contains(address), "{address} is in the database dump");
        assert!(!log.contains(address), "{address} is in nginx's log:\n{log}");
    }
}

fn id(n: u32) -> String {
    format!("{n:032x}")
}

fn report_json(n: u32) -> String {
    serde_json::to_string(&sample_report(&id(n), now_secs())).expect("serialisable")
}
