//! The collector process under load: a SIGTERM stops it cleanly with nothing lost, and a
//! SIGKILL loses nothing that was acknowledged. Real binary, real socket, real SQLite file.
//!
//! Run with `cargo test -p vantage-collector --test lifecycle`.

use std::io::Write;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::Method;
use vantage_lab::free_port;

mod process;

/// The list the sample reports were made with, in a file of its own.
fn list_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(process::SAMPLE_LIST.as_bytes()).unwrap();
    f
}

/// Starts the collector on `db` (a SQLite path or a postgres URL) serving the sample list,
/// without rate limit; with `debug_log`, debug-level logs go there.
fn serve_collector(db: impl AsRef<std::ffi::OsStr>, port: u16, debug_log: Option<std::process::Stdio>) -> Child {
    let list = list_file();
    let targets = [std::ffi::OsStr::new("--targets"), list.path().as_os_str()];
    vantage_lab::collector::serve_collector_with(process::BIN, db, port, &targets, debug_log)
}

fn start(db: impl AsRef<std::ffi::OsStr>, port: u16) -> Child {
    serve_collector(db, port, None)
}

fn report(n: u32) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    serde_json::to_string(&vantage_lab::report::sample_report(&format!("{n:032x}"), now)).unwrap()
}

/// POSTs a report; true only on a 201.
fn submit(port: u16, body: &str) -> bool {
    status_of(port, body) == Some(201)
}

/// Runs one request through the lab's HTTP client on a runtime of its own (the load runs
/// on plain threads).
fn exchange(method: Method, port: u16, path: &str, body: &str) -> Option<vantage_lab::http::Answer> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let url = format!("http://127.0.0.1:{port}{path}");
    let headers = [("content-type", "application/json")];
    let answer = vantage_lab::http::try_request(method, &url, &headers, body.to_string());
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), answer).await.ok()?.ok() })
}

/// POSTs a report and returns the HTTP status, if an answer came.
fn status_of(port: u16, body: &str) -> Option<u16> {
    exchange(Method::POST, port, "/api/v1/reports", body).map(|a| a.status)
}

/// Report ids in the export, with how often each appears.
fn stored(port: u16) -> std::collections::HashMap<String, usize> {
    let answer = exchange(Method::GET, port, "/api/v1/export?format=csv", "").expect("the export answers");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut counts = std::collections::HashMap::new();
    // One line per measurement, two measurements per report.
    for line in answer.body.lines().filter(|l| l.contains(",x,")) {
        if let Some(id) = line.split(',').nth(3) {
            *counts.entry(id.to_string()).or_default() += 1;
        }
    }
    counts
}

/// Restarts a collector on `db` and checks its export: each acknowledged report exactly once,
/// and no report twice.
fn assert_every_acknowledged_report_stored_once(db: &std::path::Path, acked: &[u32]) {
    assert!(acked.len() >= 20, "the load produced too few acknowledged reports: {}", acked.len());
    eprintln!("{} reports acknowledged before the signal", acked.len());
    let port = free_port();
    let mut child = start(db, port);
    let stored = stored(port);
    child.kill().unwrap();
    let _ = child.wait();
    for n in acked {
        assert_eq!(stored.get(&format!("{n:032x}")), Some(&1), "acknowledged report {n} lost or doubled");
    }
    assert!(stored.values().all(|c| *c == 1), "no report stored twice");
}

/// Acknowledged report numbers, shared by the load threads.
type Acked = Arc<Mutex<Vec<u32>>>;
type Stop = Arc<std::sync::atomic::AtomicBool>;

/// Submits from `threads` threads until told to stop; returns the acknowledged ids.
fn load(port: u16, threads: u32) -> (Acked, Stop, Vec<std::thread::JoinHandle<()>>) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handles = (0..threads)
        .map(|t| {
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = t * 1_000_000;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < t * 1_000_000 + 5_000 {
                    if submit(port, &report(n)) {
                        acked.lock().unwrap().push(n);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    (acked, stop, handles)
}

#[test]
fn sigterm_under_load_exits_cleanly_with_every_acknowledged_report_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.sqlite");
    let port = free_port();
    let log_path = dir.path().join("collector.log");
    let mut child = serve_collector(&db, port, Some(std::fs::File::create(&log_path).unwrap().into()));
    let (acked, stop, handles) = load(port, 4);
    std::thread::sleep(Duration::from_millis(700));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert!(status.success(), "SIGTERM must end in exit 0, got {status}");
    // Privacy: not even debug logs of a loaded collector hold the client's address.
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("stopped; every acknowledged report is stored"), "{log}");
    assert!(log.lines().count() > 100, "debug logging was on: {} lines", log.lines().count());
    let leaked: Vec<&str> = log.lines().filter(|l| l.contains("127.0.0.1")).collect();
    assert!(leaked.is_empty(), "the client address is in the logs: {:?}", &leaked[..leaked.len().min(3)]);

    assert_every_acknowledged_report_stored_once(&db, &acked.lock().unwrap());
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.sqlite");
    let port = free_port();
    let mut child = start(&db, port);
    let (acked, stop, handles) = load(port, 4);
    std::thread::sleep(Duration::from_millis(700));
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    handles.into_iter().for_each(|h| h.join().unwrap());

    assert_every_acknowledged_report_stored_once(&db, &acked.lock().unwrap());
}

/// Two collectors share one PostgreSQL; submissions go to both, one is SIGKILLed mid-load and
/// clients retry on the other, as behind a load balancer. Every acknowledged report is stored
/// exactly once, and the database dump holds no client address.
#[test]
fn two_collectors_sharing_postgres_lose_nothing_when_one_is_killed() {
    let pg = vantage_lab::postgres::TestPostgres::start().expect("a PostgreSQL server");
    let url = pg.database("shared").unwrap();
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = start(&url, port_a);
    let mut b = start(&url, port_b);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handles: Vec<_> = (0..4u32)
        .map(|t| {
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = t * 1_000_000;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < t * 1_000_000 + 3_000 {
                    let body = report(n);
                    let (first, other) = if n % 2 == 0 { (port_a, port_b) } else { (port_b, port_a) };
                    match status_of(first, &body) {
                        Some(201) => acked.lock().unwrap().push(n),
                        // No answer: the collector died; retry on the other. A 409 there means the
                        // first had stored it before dying, which is not an acknowledgement.
                        None => {
                            if status_of(other, &body) == Some(201) {
                                acked.lock().unwrap().push(n);
                            }
                        }
                        Some(_) => {}
                    }
                    n += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1_000));
    a.kill().unwrap(); // SIGKILL, mid-load
    let _ = a.wait();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    handles.into_iter().for_each(|h| h.join().unwrap());

    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 20, "too few acknowledged reports: {}", acked.len());
    eprintln!("{} reports acknowledged across two collectors", acked.len());
    let stored = stored(port_b);
    b.kill().unwrap();
    let _ = b.wait();
    for n in &acked {
        assert_eq!(stored.get(&format!("{n:032x}")), Some(&1), "acknowledged report {n} lost or doubled");
    }
    assert!(stored.values().all(|c| *c == 1), "no report stored twice");
    let dump = pg.dump("shared").unwrap();
    assert!(dump.contains(&format!("{:032x}", acked[0])), "the dump holds the reports");
    assert!(!dump.contains("127.0.0.1"), "the client address is in the PostgreSQL dump");
}
