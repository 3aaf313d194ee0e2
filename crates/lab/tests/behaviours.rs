//! The censor behaviours checked without a browser, through a real TLS client (rustls trusting
//! the lab CA alone) and hyper: if one of these drifts, every browser scenario built on it
//! would test something other than it claims.
//!
//! Run with `cargo test -p vantage-lab`.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use vantage_lab::censor::{closed_port, Behaviour, Lab, BIG_PATH, FAVICON};
use vantage_lab::png::big_png;

const HOST: &str = "abs.twimg.com";

fn lab() -> Lab {
    Lab::new(&[HOST])
}

async fn handshake(lab: &Lab, port: u16) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from(HOST).expect("a valid name");
    TlsConnector::from(lab.client_config()).connect(name, tcp).await
}

/// GETs `path` over TLS; returns status, content type, body and how long the body took.
async fn get(lab: &Lab, port: u16, path: &str) -> (u16, String, Bytes, Duration) {
    let tls = handshake(lab, port).await.expect("a TLS session with a lab server");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.expect("HTTP/1.1");
    tokio::spawn(conn);
    let req = hyper::Request::get(path).header("host", HOST).body(Empty::<Bytes>::new()).expect("a request");
    let started = Instant::now();
    let res = sender.send_request(req).await.expect("an answer");
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let body = res.into_body().collect().await.expect("a whole body").to_bytes();
    (status, content_type, body, started.elapsed())
}

#[tokio::test]
async fn healthy_serves_the_favicon_and_the_large_asset() {
    let lab = lab();
    let port = lab.serve(Behaviour::Healthy).await;
    let (status, content_type, body, _) = get(&lab, port, "/favicon.ico").await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert_eq!(&body[..], FAVICON);
    let (_, _, big, _) = get(&lab, port, BIG_PATH).await;
    assert_eq!(big.len() as u64, lab.big_bytes());
    assert!(big.len() > 100_000, "the throughput asset must be at least 100 KB, is {}", big.len());
}

#[tokio::test]
async fn reset_lets_the_client_hello_arrive_then_resets() {
    let lab = lab();
    let port = lab.serve(Behaviour::Reset).await;
    let started = Instant::now();
    let err = handshake(&lab, port).await.expect_err("the handshake must fail");
    // The TCP connection was accepted (not refused): the censor waited for the ClientHello.
    assert_ne!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert!(
        matches!(err.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof),
        "expected a reset, got {err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1), "a reset is fast: {:?}", started.elapsed());
}

#[tokio::test]
async fn blackhole_accepts_and_never_answers() {
    let lab = lab();
    let port = lab.serve(Behaviour::Blackhole).await;
    TcpStream::connect(("127.0.0.1", port)).await.expect("the black hole accepts connections");
    let waited = tokio::time::timeout(Duration::from_millis(1500), handshake(&lab, port)).await;
    assert!(waited.is_err(), "the black hole answered: {:?}", waited.map(|r| r.map(|_| ())));
}

#[tokio::test]
async fn wrong_cert_is_refused_by_a_client_that_trusts_the_lab() {
    let lab = lab();
    let port = lab.serve(Behaviour::WrongCert).await;
    let err = handshake(&lab, port).await.expect_err("an untrusted certificate must fail the handshake");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
    // The trusted server, for contrast, completes the handshake with the same client.
    let healthy = lab.serve(Behaviour::Healthy).await;
    handshake(&lab, healthy).await.expect("the lab's own certificate is trusted");
}

#[tokio::test]
async fn blockpage_answers_html_in_place_of_the_image() {
    let lab = lab();
    let port = lab.serve(Behaviour::Blockpage).await;
    let (status, content_type, body, _) = get(&lab, port, "/favicon.ico").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(String::from_utf8_lossy(&body).contains("blocked"), "{body:?}");
}

#[tokio::test]
async fn throttled_drips_at_the_configured_rate() {
    let lab = lab();
    let kbps = 800;
    let port = lab.serve(Behaviour::Throttled { kbps }).await;
    let (_, _, body, took) = get(&lab, port, BIG_PATH).await;
    assert_eq!(body.len() as u64, lab.big_bytes(), "throttled, not truncated");
    let measured_kbps = body.len() as f64 * 8.0 / 1000.0 / took.as_secs_f64();
    // Chunks leave every 100 ms, the first at once: a little faster than the rate, never slower
    // by more than scheduling noise.
    assert!(
        measured_kbps > kbps as f64 * 0.8 && measured_kbps < kbps as f64 * 1.25,
        "{measured_kbps:.0} kbit/s against {kbps}"
    );
}

#[tokio::test]
async fn slow_holds_every_answer_back() {
    let lab = lab();
    let port = lab.serve(Behaviour::Slow { delay_ms: 300 }).await;
    let started = Instant::now();
    let (status, _, body, _) = get(&lab, port, "/favicon.ico").await;
    let took = started.elapsed();
    assert_eq!((status, &body[..]), (200, FAVICON));
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(1300), "{took:?}");
}

#[tokio::test]
async fn a_closed_port_refuses_at_once() {
    let err = TcpStream::connect(("127.0.0.1", closed_port())).await.expect_err("nothing listens");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn the_large_png_is_well_formed_and_of_known_size() {
    let png = big_png(16);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // Deflate-stored: raw scanlines (16 * 4 + 1 bytes each) plus fixed overhead.
    // The IEND chunk and its fixed CRC close every well-formed PNG.
    assert_eq!(&png[png.len() - 8..], b"IEND\xae\x42\x60\x82");
    assert_eq!(png, big_png(16), "deterministic");
    assert!(png.len() > 16 * (16 * 4 + 1), "stored, not compressed: {}", png.len());
}

#[tokio::test]
async fn shifting_grows_the_large_asset_on_every_request_and_redirect_away_leaves_the_host() {
    let lab = lab();
    let port = lab.serve(Behaviour::Shifting).await;
    let (_, _, first, _) = get(&lab, port, BIG_PATH).await;
    let (_, _, second, _) = get(&lab, port, BIG_PATH).await;
    assert_eq!(second.len(), first.len() + 1, "each answer one byte longer");
    let (_, _, favicon, _) = get(&lab, port, "/favicon.ico").await;
    assert_eq!(&favicon[..], FAVICON, "only the large asset shifts");
    let away = lab.serve(Behaviour::RedirectAway).await;
    let (status, _, _, _) = get(&lab, away, "/favicon.ico").await;
    assert_eq!(status, 302);
}
