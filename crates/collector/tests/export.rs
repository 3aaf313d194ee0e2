//! Exports against clients that never read: they must neither exhaust the collector nor pin
//! a database snapshot (which stops SQLite's checkpoints and grows the write-ahead log).
//! Real binary, real sockets, loopback only.
//!
//! Run with `cargo test -p vantage-collector --test export`.

mod process;

use std::process::Stdio;
use std::time::{Duration, Instant};

use process::*;

const SHORT: Duration = Duration::from_secs(5);

/// `vantage_exports_refused_total` from `/metrics`.
fn refused(port: u16) -> u64 {
    get(port, "/metrics", SHORT)
        .and_then(|(_, m)| {
            m.lines().find_map(|l| l.strip_prefix("vantage_exports_refused_total ")).and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn stalled_export_readers_neither_hang_health_nor_block_exports_for_long() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.sqlite");
    prefill(&db, 8_000);
    let c = spawn(&db, &["--max-exports", "4", "--send-timeout", "5s"], Stdio::null(), &[]);
    // More than tokio's 512 blocking threads: each once held one, with a read transaction.
    let stalled: Vec<_> = (0..600).filter_map(|_| stalled_export(c.port)).collect();
    assert_eq!(stalled.len(), 600);
    // Wait until the collector has answered every one of them (4 streaming, the rest refused).
    let t0 = Instant::now();
    while refused(c.port) < 590 {
        assert!(t0.elapsed() < Duration::from_secs(10), "the stalled exports were not all answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    let t0 = Instant::now();
    let health = get(c.port, "/healthz", SHORT);
    assert_eq!(health.map(|h| h.0), Some(200), "health hung behind stalled exports");
    assert!(t0.elapsed() < Duration::from_secs(1), "health took {:?}", t0.elapsed());
    let (status, answer) = get(c.port, "/api/v1/export", SHORT).expect("an answer while exports are full");
    assert_eq!(status, 503, "{}", &answer[..answer.len().min(300)]);
    assert!(answer.to_ascii_lowercase().contains("retry-after:"), "{answer}");
    assert!(answer.contains(r#""error":"busy""#), "{answer}");
    // The stalled readers are abandoned after the send timeout; a reading client is then served.
    let t0 = Instant::now();
    let full = loop {
        match get(c.port, "/api/v1/export?format=csv", Duration::from_secs(20)) {
            Some((200, body)) => break body,
            _ => {
                assert!(t0.elapsed() < Duration::from_secs(20), "exports never came back");
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    };
    assert_eq!(full.lines().filter(|l| l.contains(",x,")).count(), 8_000, "the whole export, paged");
    drop(stalled);
}

#[test]
fn a_stalled_export_does_not_grow_the_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.sqlite");
    prefill(&db, 8_000);
    let c = spawn(&db, &[], Stdio::null(), &[]);
    let stalled = stalled_export(c.port).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let port = c.port;
    let largest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let largest = largest.clone();
            let db = db.clone();
            std::thread::spawn(move || {
                for n in 0..250 {
                    let answer = post(port, &report(t * 1_000 + n), SHORT);
                    assert_eq!(answer.map(|a| a.0), Some(201));
                    largest.fetch_max(wal_size(&db), std::sync::atomic::Ordering::Relaxed);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let largest = largest.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("largest WAL during 1,000 submissions beside a stalled export: {} KiB", largest / 1024);
    assert!(largest < 8 << 20, "the WAL grew to {} KiB", largest / 1024);
    // Back to its usual size once the load is over, although the stalled reader is still there.
    let t0 = Instant::now();
    while wal_size(&db) > 1 << 20 {
        assert!(t0.elapsed() < Duration::from_secs(10), "the WAL stayed at {} KiB", wal_size(&db) / 1024);
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stalled);
}
