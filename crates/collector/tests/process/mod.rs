//! The real `vantage-collector` binary for the hostile-client tests: started with chosen flags
//! on a free loopback port, a database filled beforehand, and raw HTTP/1.1 over loopback so a
//! test can behave as badly as an attacker would (stall, drip, never read).

#![allow(dead_code)] // each test file uses its own part

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use vantage_collector::store::{Origin, Store};

pub const BIN: &str = env!("CARGO_BIN_EXE_vantage-collector");

/// A target list naming what `vantage_lab::report::sample_report` measures, so its reports are
/// of a list the collector served.
pub const SAMPLE_LIST: &str = r#"{"version":"t-1","targets":[
  {"id":"x","name":"X","category":"GRP","images":["https://x.example/favicon.ico"],"fetch":"https://x.example/"},
  {"id":"control","name":"Control","category":"CTRL","control":true,"images":["https://control.example/favicon.ico"],"fetch":"https://control.example/"}]}"#;

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A sample report with id `n`, as JSON.
pub fn report(n: u32) -> String {
    serde_json::to_string(&vantage_lab::report::sample_report(&format!("{n:032x}"), now())).unwrap()
}

/// Writes [`SAMPLE_LIST`] into `dir` and returns its path.
pub fn sample_list(dir: &Path) -> PathBuf {
    let path = dir.join("targets.json");
    std::fs::write(&path, SAMPLE_LIST).unwrap();
    path
}

/// Stores `count` sample reports in the SQLite file `db` before any collector runs, so an
/// export has megabytes to send.
pub fn prefill(db: &Path, count: u32) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = vantage_collector::store::open(db.to_str().unwrap()).await.unwrap();
        let store: std::sync::Arc<dyn Store> = store.into();
        let mut tasks = Vec::new();
        for n in 0..count {
            let s = store.clone();
            let r = vantage_lab::report::sample_report(&format!("{:032x}", 0xf000_0000u32 + n), now());
            tasks.push(tokio::spawn(async move { s.insert(r, Origin::unknown(), now()).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        store.close().await;
    });
}

pub struct Running {
    pub child: Child,
    pub port: u16,
}

/// Starts `serve` on `db` with the sample list, no rate limit, and `extra` flags; `env` adds
/// environment variables (e.g. `RUST_LOG`). Waits until it listens.
pub fn spawn(db: &Path, extra: &[&str], stderr: Stdio, env: &[(&str, &str)]) -> Running {
    let port = vantage_lab::free_port();
    let list = sample_list(db.parent().unwrap());
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--rate-limit", "0", "--database"])
        .arg(db)
        .arg("--targets")
        .arg(&list)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(stderr);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("the collector starts");
    wait_listening(child, port)
}

/// Runs a shell command line that ends in `exec` of the collector listening on `port`.
pub fn spawn_shell(script: &str, port: u16, stderr: Stdio) -> Running {
    let child =
        Command::new("sh").args(["-c", script]).stdout(Stdio::null()).stderr(stderr).spawn().expect("sh starts");
    wait_listening(child, port)
}

fn wait_listening(mut child: Child, port: u16) -> Running {
    vantage_lab::collector::wait_listening(&mut child, port);
    Running { child, port }
}

impl Running {
    pub fn sigterm(&self) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
    }

    /// Waits up to `limit` for the process to end.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The resident memory of the process in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`): status, headers and
/// body as text, or none when no answer came within `timeout`.
pub fn exchange(port: u16, request: &str, timeout: Duration) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    Some((status, answer))
}

pub fn get(port: u16, path: &str, timeout: Duration) -> Option<(u16, String)> {
    exchange(port, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"), timeout)
}

pub fn post(port: u16, body: &str, timeout: Duration) -> Option<(u16, String)> {
    exchange(
        port,
        &format!(
            "POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        timeout,
    )
}

/// A connection that asks for the export and then never reads: its receive buffer is made
/// tiny so the collector's writes stall at once.
pub fn stalled_export(port: u16) -> Option<std::net::TcpStream> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.set_recv_buffer_size(4096).ok()?;
        socket.connect(([127, 0, 0, 1], port).into()).await.ok()
    })?;
    let mut stream = stream.into_std().ok()?;
    stream.set_nonblocking(false).ok()?;
    stream.write_all(format!("GET /api/v1/export HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes()).ok()?;
    Some(stream)
}

/// A connection that sends part of a request's headers and then nothing.
pub fn slow_header(port: u16) -> Option<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").ok()?;
    Some(s)
}

/// Has the collector closed this connection (within `limit`)?
pub fn closed_by_server(s: &mut TcpStream, limit: Duration) -> bool {
    let _ = s.set_read_timeout(Some(limit));
    let mut buf = [0u8; 4096];
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                return false
            }
            Err(_) => return true,
        }
    }
    false
}

/// Size of the SQLite write-ahead log beside `db`, 0 when absent.
pub fn wal_size(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len())
}
