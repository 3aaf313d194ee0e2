//! Ingest benchmark: realistic reports (about 20 targets × 3 trials) posted by a load generator
//! over loopback keep-alive connections to a real `vantage-collector serve` process, for SQLite
//! and PostgreSQL, and beside each the raw batched-insert ceiling of the same database through
//! the store alone, measured in the same run.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p vantage-collector --bench ingest`).

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use vantage_collector::store::{self, Origin, Store};
use vantage_lab::postgres::TestPostgres;
use vantage_report::{
    measurements_from, Asset, Attempt, BrowserInfo, Outcome, ProbeKind, Report, Target, TargetList, TimingSource,
    SCHEMA_VERSION,
};

const REPORTS: usize = 20_000;
const CONNECTIONS: usize = 32;
const GOAL_PER_SEC: f64 = 5_000.0;
const GOAL_P99_MS: f64 = 50.0;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The list the benchmark's reports are made with; the collector serves it, so its
/// measurements name served targets.
fn bench_list() -> TargetList {
    let targets: Vec<Target> = (0..20)
        .map(|i| Target {
            id: format!("t{i}"),
            name: format!("Target {i}"),
            category: if i < 3 { "CTRL" } else { "GRP" }.into(),
            control: i < 3,
            images: vec![format!("https://cdn{i}.example/favicon.ico")],
            fetch: format!("https://cdn{i}.example/"),
            throughput: (i % 4 == 0)
                .then(|| Asset { url: format!("https://cdn{i}.example/big.jpg"), bytes: Some(120_000) }),
        })
        .collect();
    TargetList { version: "bench-1".into(), targets }
}

/// A report as a real run of the default list would make it: 20 targets, 3 trials of an image
/// and a fetch each, and a throughput attempt on some.
fn realistic(n: usize) -> Report {
    let list = bench_list();
    let attempts = list
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let outcome = if i % 7 == 5 { Outcome::Error } else { Outcome::Ok };
            let mut a: Vec<Attempt> = (0..3u8)
                .flat_map(|trial| {
                    [ProbeKind::Image, ProbeKind::Fetch].map(|probe| Attempt {
                        probe,
                        outcome,
                        duration_ms: 20.0 + f64::from(trial) * 3.5 + i as f64,
                        trial,
                        cold: trial == 0,
                        timing: TimingSource::ResourceTiming,
                        phases: None,
                        bytes: None,
                        cross_host: probe == ProbeKind::Image && t.image_is_cross_host(trial),
                    })
                })
                .collect();
            if let (Some(asset), Outcome::Ok) = (&t.throughput, outcome) {
                a.push(Attempt { bytes: asset.bytes, ..Attempt::new(ProbeKind::Throughput, Outcome::Ok, 180.0) });
            }
            a
        })
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        report_id: format!("{n:032x}"),
        software_name: "vantage-web".into(),
        software_version: "0.1.0".into(),
        targets_version: list.version.clone(),
        measurement_start_time: format!(
            "{}.000Z",
            vantage_report::timestamp::format_minute(now()).trim_end_matches('Z')
        ),
        deadline_ms: 5000.0,
        browser: BrowserInfo { family: "chromium".into(), major: 156 },
        connection_type: Some("wifi".into()),
        measurements: measurements_from(&list, attempts, 5000.0),
    }
}

struct Figures {
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((p * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
}

/// One keep-alive connection posting its share of the bodies; returns each request's latency.
async fn client(port: u16, bodies: Vec<Arc<String>>) -> Vec<f64> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    stream.set_nodelay(true).ok();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut latencies = Vec::with_capacity(bodies.len());
    let mut line = String::new();
    for body in bodies {
        let t0 = Instant::now();
        let head = format!(
            "POST /api/v1/reports HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        write.write_all(head.as_bytes()).await.expect("write");
        write.write_all(body.as_bytes()).await.expect("write");
        line.clear();
        read.read_line(&mut line).await.expect("status");
        assert!(line.starts_with("HTTP/1.1 201"), "not stored: {line}");
        let mut length = 0;
        loop {
            line.clear();
            read.read_line(&mut line).await.expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut sink = vec![0; length];
        read.read_exact(&mut sink).await.expect("body");
        latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    latencies
}

async fn http_load(database: &str, offset: usize) -> Figures {
    let port = vantage_lab::free_port();
    let list = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(list.path(), serde_json::to_string(&bench_list()).expect("the list serialises")).expect("write");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_vantage-collector"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--rate-limit", "0", "--database", database])
        .arg("--targets")
        .arg(list.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the collector starts");
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed().as_secs() < 20, "the collector did not listen on port {port}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let bodies: Vec<Arc<String>> =
        (0..REPORTS).map(|n| Arc::new(serde_json::to_string(&realistic(offset + n)).unwrap())).collect();
    let mut shares: Vec<Vec<Arc<String>>> = vec![Vec::new(); CONNECTIONS];
    for (i, b) in bodies.into_iter().enumerate() {
        shares[i % CONNECTIONS].push(b);
    }
    let t0 = Instant::now();
    let tasks: Vec<_> = shares.into_iter().map(|s| tokio::spawn(client(port, s))).collect();
    let mut latencies = Vec::with_capacity(REPORTS);
    for t in tasks {
        latencies.extend(t.await.expect("client"));
    }
    let took = t0.elapsed().as_secs_f64();
    let _ = server.kill();
    let _ = server.wait();
    latencies.sort_by(f64::total_cmp);
    Figures {
        per_sec: REPORTS as f64 / took,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
    }
}

/// The same reports straight into the store: what the database can take, with no HTTP,
/// JSON or validation in the way.
async fn raw_ceiling(database: &str, offset: usize) -> f64 {
    let store: Arc<dyn Store> = store::open(database).await.expect("open the store").into();
    let reports: Vec<Report> = (0..REPORTS).map(|n| realistic(offset + n)).collect();
    let t0 = Instant::now();
    let received = now();
    let tasks: Vec<_> = reports
        .into_iter()
        .map(|r| {
            let s = store.clone();
            tokio::spawn(async move { s.insert(r, Origin::unknown(), received).await.expect("stored") })
        })
        .collect();
    for t in tasks {
        t.await.expect("insert");
    }
    let per_sec = REPORTS as f64 / t0.elapsed().as_secs_f64();
    store.close().await;
    per_sec
}

fn print(name: &str, http: &Figures, ceiling: f64, goals: bool) -> bool {
    let share = http.per_sec / ceiling;
    println!(
        "  {name:<11} HTTP {:>7.0} reports/s, p50 {:>5.1} ms, p99 {:>5.1} ms | raw batched inserts {:>7.0} reports/s | HTTP at {:>3.0}% of raw",
        http.per_sec, http.p50_ms, http.p99_ms, ceiling, share * 100.0
    );
    if !goals {
        return true;
    }
    let met = http.per_sec >= GOAL_PER_SEC && http.p99_ms <= GOAL_P99_MS && share >= 0.5;
    println!(
        "  {:<11} goal: >= {GOAL_PER_SEC:.0} reports/s, p99 <= {GOAL_P99_MS:.0} ms, >= 50% of raw: {}",
        "",
        if met { "met" } else { "MISSED" }
    );
    met
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let size = serde_json::to_string(&realistic(0)).unwrap().len();
    println!("Ingest: {REPORTS} reports of {size} bytes (20 targets × 3 trials), {CONNECTIONS} keep-alive connections on loopback");
    let dir = tempfile::tempdir().unwrap();
    let sqlite_http = http_load(dir.path().join("http.sqlite").to_str().unwrap(), 0).await;
    let sqlite_raw = raw_ceiling(dir.path().join("raw.sqlite").to_str().unwrap(), 0).await;
    let met = print("SQLite", &sqlite_http, sqlite_raw, true);

    let pg = TestPostgres::start().expect("a PostgreSQL server");
    let pg_http = http_load(&pg.database("bench_http").unwrap(), 0).await;
    let pg_raw = raw_ceiling(&pg.database("bench_raw").unwrap(), 0).await;
    print("PostgreSQL", &pg_http, pg_raw, false);
    drop(pg);
    if !met {
        eprintln!("The SQLite ingest goal was missed.");
        std::process::exit(1);
    }
}
