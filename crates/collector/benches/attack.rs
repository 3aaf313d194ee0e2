//! Attack benchmark: a real `vantage-collector serve` process on loopback, with its default
//! rate limit, while 1,000 slow-header clients, 100 export readers that never read, and a flood
//! of invalid submissions (about 1,000 a second from one address, as one attacker's network)
//! run against it. Beside
//! them normal visitors (each from its own loopback address, 127.0.1.x) submit reports and a
//! load balancer polls `/healthz`; both must keep p99 under 100 ms. Also measured: the collector's resident memory
//! (from /proc), the SQLite write-ahead log during and after, and a SIGTERM in the middle of the
//! attack, which must end the process within its grace period with every acknowledged report
//! stored.
//!
//! Run with `cargo xtask bench` (or `cargo bench -p vantage-collector --bench attack`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use vantage_collector::store::{self, Origin, Store};

const SLOW_HEADER_CLIENTS: usize = 1_000;
const STALLED_EXPORTS: usize = 100;
const FLOOD_CONNECTIONS: usize = 4;
/// Pause between one flood connection's submissions: 4 connections make about 1,000 a second.
/// (Unpaced, the flood reached 40,000 a second and, sharing this machine's two cores with the
/// collector, pushed the normal visitor's p99 to about 270 ms.)
const FLOOD_PAUSE: Duration = Duration::from_millis(2);
const ATTACK: Duration = Duration::from_secs(20);
const PREFILLED_REPORTS: u32 = 10_000;
const GRACE: Duration = Duration::from_secs(3);
const GOAL_P99_MS: f64 = 100.0;
const GOAL_RSS_MIB: f64 = 256.0;
const GOAL_WAL_AFTER_KIB: u64 = 1_024;

const LIST: &str = r#"{"version":"t-1","targets":[
  {"id":"x","name":"X","category":"GRP","images":["https://x.example/favicon.ico"],"fetch":"https://x.example/"},
  {"id":"control","name":"Control","category":"CTRL","control":true,"images":["https://control.example/favicon.ico"],"fetch":"https://control.example/"}]}"#;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn report(id: &str) -> String {
    serde_json::to_string(&vantage_lab::report::sample_report(id, now())).unwrap_or_default()
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn wal_kib(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len()) / 1024
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

async fn prefill(db: &Path) {
    let store: Arc<dyn Store> = store::open(db.to_str().unwrap_or_default()).await.expect("open SQLite").into();
    let mut tasks = Vec::new();
    for n in 0..PREFILLED_REPORTS {
        let s = store.clone();
        let r = vantage_lab::report::sample_report(&format!("{:032x}", 0xe000_0000u32 + n), now());
        tasks.push(tokio::spawn(async move { s.insert(r, Origin::unknown(), now()).await }));
    }
    for t in tasks {
        t.await.expect("insert task").expect("prefill insert");
    }
    store.close().await;
}

fn start(db: &Path, list: &Path, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_vantage-collector"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database"])
        .arg(db)
        .arg("--targets")
        .arg(list)
        .args(["--header-timeout", "10s", "--send-timeout", "5s", "--max-exports", "8"])
        .args(["--shutdown-grace", &format!("{}s", GRACE.as_secs())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the collector starts");
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(20), "the collector did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Keeps one slow-header client connected until `stop`: part of a request, then a byte every
/// two seconds, reconnecting when the collector cuts it off.
async fn slow_header(port: u16, stop: Arc<AtomicBool>, cut: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a").await.is_err() {
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if s.write_all(b"a").await.is_err() {
                cut.fetch_add(1, Ordering::Relaxed);
                break;
            }
            let mut probe = [0u8; 64];
            if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe)).await {
                cut.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Keeps one export reader that never reads until `stop`.
async fn stalled_export(port: u16, stop: Arc<AtomicBool>, refused: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(socket) = TcpSocket::new_v4() else { return };
        let _ = socket.set_recv_buffer_size(4096);
        let Ok(mut s) = socket.connect(([127, 0, 0, 1], port).into()).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let _ = s.write_all(b"GET /api/v1/export HTTP/1.1\r\nHost: x\r\n\r\n").await;
        // Peek at the status once (a 503 is short), then read nothing more until cut off.
        let mut head = [0u8; 12];
        if let Ok(Ok(12)) = tokio::time::timeout(Duration::from_secs(1), s.read_exact(&mut head)).await {
            if &head[9..12] == b"503" {
                refused.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        }
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if s.peer_addr().is_err() {
                break;
            }
        }
    }
}

/// Sends invalid submissions back to back on one kept-alive connection until `stop`.
async fn flood(port: u16, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>, n: usize) {
    let mut invented =
        serde_json::from_str::<serde_json::Value>(&report(&format!("{:032x}", 0xd000_0000u32 + n as u32)))
            .unwrap_or_default();
    invented["measurements"][0]["target_id"] = "invented".into();
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{\"schema_version\": 1,".to_vec()),
        ("application/json", b"report=1".to_vec()),
        ("application/json", invented.to_string().into_bytes()),
        ("application/xml", b"<report/>".to_vec()),
        ("application/json", format!("{}garbage", report(&"f".repeat(32))).into_bytes()),
    ];
    let mut i = n;
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = s.set_nodelay(true);
        let mut buf = vec![0u8; 16 * 1024];
        while !stop.load(Ordering::Relaxed) {
            let (ct, body) = &bodies[i % bodies.len()];
            i += 1;
            let mut req = format!(
                "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            req.extend_from_slice(body);
            if s.write_all(&req).await.is_err() {
                break;
            }
            // Each error answer is small and comes in one read.
            match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                _ => break,
            }
            tokio::time::sleep(FLOOD_PAUSE).await;
        }
    }
}

/// One request on a fresh connection from `from`; the status and the time to the whole answer.
async fn timed(port: u16, from: [u8; 4], request: &[u8]) -> Option<(u16, f64)> {
    let t0 = Instant::now();
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind((from, 0).into()).ok()?;
    let mut s = socket.connect(([127, 0, 0, 1], port).into()).await.ok()?;
    s.write_all(request).await.ok()?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await.ok()?.ok()?;
    let status = std::str::from_utf8(answer.get(9..12)?).ok()?.parse().ok()?;
    Some((status, t0.elapsed().as_secs_f64() * 1000.0))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("attack.sqlite");
    let list = dir.path().join("targets.json");
    std::fs::write(&list, LIST).expect("the target list is written");
    rt.block_on(prefill(&db));
    let port = vantage_lab::free_port();
    let mut child = start(&db, &list, port);
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(300));
    let rss_idle = rss_mib(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let (cut, refused, flooded) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut attackers = Vec::new();
    for _ in 0..SLOW_HEADER_CLIENTS {
        attackers.push(rt.spawn(slow_header(port, stop.clone(), cut.clone())));
    }
    for _ in 0..STALLED_EXPORTS {
        attackers.push(rt.spawn(stalled_export(port, stop.clone(), refused.clone())));
    }
    for n in 0..FLOOD_CONNECTIONS {
        attackers.push(rt.spawn(flood(port, stop.clone(), flooded.clone(), n)));
    }

    // The normal visitor and the load balancer, side by side with the attack.
    let (submit_ms, health_ms, acked, peak_rss, peak_wal) = rt.block_on(async {
        tokio::time::sleep(Duration::from_secs(2)).await; // let the attack build up
        let (mut submit_ms, mut health_ms, mut acked) = (Vec::new(), Vec::new(), Vec::new());
        let (mut peak_rss, mut peak_wal) = (0.0f64, 0u64);
        let t0 = Instant::now();
        let mut n = 0u32;
        while t0.elapsed() < ATTACK {
            let id = format!("{n:032x}");
            let body = report(&id);
            let req = format!(
                "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            // A different visitor each time, as many readers would be.
            let visitor = [127, 0, 1, (n % 250 + 1) as u8];
            match timed(port, visitor, req.as_bytes()).await {
                Some((201, ms)) => {
                    submit_ms.push(ms);
                    acked.push(id);
                }
                // A refused or unanswered submission counts as infinitely slow.
                _ => submit_ms.push(f64::INFINITY),
            }
            match timed(port, [127, 0, 0, 3], b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await {
                Some((200, ms)) => health_ms.push(ms),
                _ => health_ms.push(f64::INFINITY),
            }
            peak_rss = peak_rss.max(rss_mib(pid));
            peak_wal = peak_wal.max(wal_kib(&db));
            n += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (submit_ms, health_ms, acked, peak_rss, peak_wal)
    });

    // SIGTERM in the middle of the attack.
    let t_term = Instant::now();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let mut status = None;
    while t_term.elapsed() < GRACE + Duration::from_secs(10) {
        if let Ok(Some(s)) = child.try_wait() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let exit_after = t_term.elapsed();
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.abort();
    }
    if status.is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();

    // The WAL once the process has gone, and what is stored.
    let wal_after = wal_kib(&db);
    let stored: HashSet<String> = rt.block_on(async {
        let store: Arc<dyn Store> = store::open(db.to_str().unwrap_or_default()).await.expect("reopen").into();
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let s = store.clone();
        let task = tokio::spawn(async move { s.export(Default::default(), tx).await });
        let mut ids = HashSet::new();
        while let Some(row) = rx.recv().await {
            ids.insert(row.report_id);
        }
        let _ = task.await;
        ids
    });
    let lost = acked.iter().filter(|id| !stored.contains(*id)).count();

    let mut submit_sorted = submit_ms.clone();
    submit_sorted.sort_by(f64::total_cmp);
    let mut health_sorted = health_ms.clone();
    health_sorted.sort_by(f64::total_cmp);
    let (s50, s99) = (percentile(&submit_sorted, 0.5), percentile(&submit_sorted, 0.99));
    let (h50, h99) = (percentile(&health_sorted, 0.5), percentile(&health_sorted, 0.99));
    println!("attack on a real collector (default rate limit), loopback, {} s:", ATTACK.as_secs());
    println!(
        "  attackers: {SLOW_HEADER_CLIENTS} slow-header clients ({} cut off at the header timeout), \
         {STALLED_EXPORTS} stalled export readers ({} refused with 503), {FLOOD_CONNECTIONS} flood connections \
         ({} invalid submissions answered)",
        cut.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        flooded.load(Ordering::Relaxed)
    );
    println!(
        "  normal submissions: {} sent, {} acknowledged, p50 {s50:.1} ms, p99 {s99:.1} ms (goal < {GOAL_P99_MS} ms)",
        submit_ms.len(),
        acked.len()
    );
    println!("  /healthz: {} polls, p50 {h50:.1} ms, p99 {h99:.1} ms (goal < {GOAL_P99_MS} ms)", health_ms.len());
    println!("  collector memory (VmRSS): {rss_idle:.1} MiB idle, {peak_rss:.1} MiB peak (goal < {GOAL_RSS_MIB} MiB)");
    println!("  write-ahead log: {peak_wal} KiB peak during the attack, {wal_after} KiB after shutdown (goal < {GOAL_WAL_AFTER_KIB} KiB)");
    println!(
        "  SIGTERM during the attack: exit {:?} after {:.2} s (grace {} s); {lost} of {} acknowledged reports missing",
        status.and_then(|s| s.code()),
        exit_after.as_secs_f64(),
        GRACE.as_secs(),
        acked.len()
    );
    let mut missed = Vec::new();
    if s99.is_nan() || s99 >= GOAL_P99_MS {
        missed.push("submission p99");
    }
    if h99.is_nan() || h99 >= GOAL_P99_MS {
        missed.push("health p99");
    }
    if peak_rss >= GOAL_RSS_MIB {
        missed.push("memory");
    }
    if wal_after >= GOAL_WAL_AFTER_KIB {
        missed.push("WAL size");
    }
    if !status.is_some_and(|s| s.success()) || exit_after > GRACE + Duration::from_secs(1) {
        missed.push("SIGTERM within the grace period");
    }
    if lost > 0 || acked.is_empty() {
        missed.push("acknowledged reports stored");
    }
    if missed.is_empty() {
        println!("  every goal met");
    } else {
        println!("  MISSED: {}", missed.join(", "));
        std::process::exit(1);
    }
}
