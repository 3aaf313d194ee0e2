//! The CONNECT proxy that maps names for Firefox, checked without a browser: a mapped name is
//! tunnelled to its lab server (a TLS handshake through the tunnel works, with the lab CA
//! trusted), a closed port and a name that must not resolve get the answers Firefox turns into
//! "refused" and "no such name", and a name outside the table never leaves the proxy.
//!
//! Run with `cargo test -p vantage-lab --test proxy`.

use std::collections::HashMap;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use vantage_lab::censor::{closed_port, Behaviour, Lab, FAVICON};
use vantage_lab::proxy::{ConnectProxy, Route};

const HOST: &str = "abs.twimg.com";
const LIMIT: Duration = Duration::from_secs(10);

/// Sends `CONNECT host:443` and returns the stream and the proxy's status line.
async fn connect(proxy: u16, host: &str) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(("127.0.0.1", proxy)).await.expect("the proxy listens");
    let ask = format!("CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n");
    tcp.write_all(ask.as_bytes()).await.expect("send CONNECT");
    // Read the head byte by byte, so nothing after it is taken.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(LIMIT, tcp.read(&mut byte)).await.expect("an answer in time").expect("read");
        assert!(n == 1 && head.len() < 4096, "the proxy closed or rambled: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("an ASCII head");
    let status = head.lines().next().unwrap_or_default().to_string();
    (tcp, status)
}

#[tokio::test]
async fn a_mapped_name_is_tunnelled_to_its_lab_server() {
    let lab = Lab::new(&[HOST]);
    let port = lab.serve(Behaviour::Healthy).await;
    let proxy = ConnectProxy::start(HashMap::from([(HOST.to_string(), Route::Port(port))])).await;
    // The name is matched without case, and the port asked for does not matter.
    let (tcp, status) = connect(proxy.port, "ABS.twimg.com").await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");

    let name = ServerName::try_from(HOST).expect("a valid name");
    let tls = TlsConnector::from(lab.client_config()).connect(name, tcp).await.expect("TLS through the tunnel");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.expect("HTTP/1.1");
    tokio::spawn(conn);
    let req = hyper::Request::get("/favicon.ico").header("host", HOST).body(Empty::<Bytes>::new()).expect("request");
    let res = tokio::time::timeout(LIMIT, sender.send_request(req)).await.expect("in time").expect("an answer");
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.expect("a whole body").to_bytes();
    assert_eq!(&body[..], FAVICON);
}

#[tokio::test]
async fn a_reset_behind_the_tunnel_reaches_the_client_as_a_reset() {
    let lab = Lab::new(&[HOST]);
    let port = lab.serve(Behaviour::Reset).await;
    let proxy = ConnectProxy::start(HashMap::from([(HOST.to_string(), Route::Port(port))])).await;
    let (mut tcp, status) = connect(proxy.port, HOST).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // Something for the Reset server to read, as a ClientHello would be.
    tcp.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]).await.expect("send through the tunnel");
    let mut rest = [0u8; 16];
    let read = tokio::time::timeout(LIMIT, tcp.read(&mut rest)).await.expect("an end in time");
    let kind = read.err().map(|e| e.kind());
    assert_eq!(kind, Some(std::io::ErrorKind::ConnectionReset), "a reset, not a polite close");
}

#[tokio::test]
async fn a_closed_port_fails_the_connect_as_refused() {
    let proxy = ConnectProxy::start(HashMap::from([(HOST.to_string(), Route::Port(closed_port()))])).await;
    let (_, status) = connect(proxy.port, HOST).await;
    // Firefox reads 503 as NS_ERROR_CONNECTION_REFUSED.
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");
}

#[tokio::test]
async fn a_name_that_must_not_resolve_gets_not_found() {
    let table = ConnectProxy::table_from_rules(["MAP x.com ~NOTFOUND"]).expect("a valid rule");
    let proxy = ConnectProxy::start(table).await;
    let (_, status) = connect(proxy.port, "x.com").await;
    // Firefox reads 404 as NS_ERROR_UNKNOWN_HOST, as Squid sends it for a failed lookup.
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
}

#[tokio::test]
async fn an_unmapped_name_is_refused_and_never_dialled() {
    let proxy = ConnectProxy::start(HashMap::from([(HOST.to_string(), Route::NotFound)])).await;
    let (mut tcp, status) = connect(proxy.port, "example.com").await;
    assert!(status.starts_with("HTTP/1.1 403"), "{status}");
    // ... and the proxy closes the connection rather than tunnelling anything.
    let mut rest = [0u8; 16];
    let n = tokio::time::timeout(LIMIT, tcp.read(&mut rest)).await.expect("closed in time").unwrap_or(0);
    assert_eq!(n, 0, "bytes after a refusal");
}

#[tokio::test]
async fn what_is_not_a_connect_is_not_proxied() {
    let proxy = ConnectProxy::start(HashMap::from([(HOST.to_string(), Route::Port(closed_port()))])).await;
    let mut tcp = TcpStream::connect(("127.0.0.1", proxy.port)).await.expect("the proxy listens");
    tcp.write_all(b"GET http://abs.twimg.com/ HTTP/1.1\r\nHost: abs.twimg.com\r\n\r\n").await.expect("send");
    let mut answer = String::new();
    tokio::time::timeout(LIMIT, tcp.read_to_string(&mut answer)).await.expect("in time").expect("read");
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
}
