//! The censor lab: local servers that stand in for platforms, each behaving as one scenario's
//! censor would. Chromium reaches them through `--host-resolver-rules` and trusts the lab's key
//! alone (`--ignore-certificate-errors-spki-list`), so a server with another key fails as a
//! wrong certificate should.
//!
//! | behaviour   | what the server does                                   |
//! |-------------|--------------------------------------------------------|
//! | `Healthy`   | serves the favicon, and `/lab/big.png` (about 100 KB)  |
//! | `Reset`     | reads the TLS ClientHello, then resets the connection  |
//! | `Blackhole` | accepts and never answers                              |
//! | `WrongCert` | healthy, but with a certificate from an untrusted key  |
//! | `Blockpage` | answers every request with an HTML block page          |
//! | `Throttled` | healthy content dripped at a fixed rate                |
//! | `Slow`      | healthy content after a fixed delay                    |
//!
//! Refused connections need no server ([`closed_port`]) and NXDOMAIN none either (`~NOTFOUND`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response};
use axum::Router;
use base64::Engine;
use futures::StreamExt as _;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rcgen::{CertificateParams, KeyPair, PublicKeyData};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A small real PNG, served where a platform's favicon is expected.
pub const FAVICON: &[u8] = include_bytes!("../../static/control.png");
/// Path of the large throughput asset on every lab host.
pub const BIG_PATH: &str = "/lab/big.png";

/// How a lab server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Healthy,
    Reset,
    Blackhole,
    WrongCert,
    Blockpage,
    /// Bodies dripped at this many kilobits per second.
    Throttled {
        kbps: u32,
    },
    /// Every answer held back this long.
    Slow {
        delay_ms: u64,
    },
}

/// A loopback port with nothing listening: connecting is refused at once.
pub fn closed_port() -> u16 {
    super::free_port()
}

/// An incompressible PNG of `side`×`side` RGBA pixels, deflate-stored so its size is known:
/// the large asset whose load time gives throughput.
pub fn big_png(side: u32) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((side * 4 + 1) * side) as usize);
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..side {
        raw.push(0); // filter: none
        for _ in 0..side * 4 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            raw.push(x as u8);
        }
    }
    // zlib stream of stored blocks.
    let mut z = vec![0x78, 0x01];
    let mut chunks = raw.chunks(65_535).peekable();
    while let Some(chunk) = chunks.next() {
        z.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        png.extend_from_slice(&crc_input);
        png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &z);
    chunk(b"IEND", &[]);
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn tls_config(hosts: &[String]) -> (Arc<rustls::ServerConfig>, String) {
    let key = KeyPair::generate().expect("key generation");
    let cert = CertificateParams::new(hosts.to_vec())
        .expect("valid host names")
        .self_signed(&key)
        .expect("self-signed certificate");
    let spki = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(key.subject_public_key_info()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("certificate and key match");
    (Arc::new(config), spki)
}

/// The lab: its trusted key, an untrusted one, and the large asset.
pub struct Lab {
    tls: Arc<rustls::ServerConfig>,
    untrusted_tls: Arc<rustls::ServerConfig>,
    /// Base64 SHA-256 of the trusted key's SubjectPublicKeyInfo, for Chromium to trust.
    pub spki: String,
    big: Arc<Vec<u8>>,
}

impl Lab {
    /// A lab whose certificates name `hosts`.
    pub fn new(hosts: &[&str]) -> Lab {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let (tls, spki) = tls_config(&hosts);
        let (untrusted_tls, _) = tls_config(&hosts);
        Lab { tls, untrusted_tls, spki, big: Arc::new(big_png(160)) }
    }

    /// Size of the large asset at [`BIG_PATH`].
    pub fn big_bytes(&self) -> u64 {
        self.big.len() as u64
    }

    /// Starts a server with `behaviour` on a free loopback port and returns the port.
    pub async fn serve(&self, behaviour: Behaviour) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a lab port");
        let port = listener.local_addr().expect("lab address").port();
        let tls = TlsAcceptor::from(if behaviour == Behaviour::WrongCert {
            self.untrusted_tls.clone()
        } else {
            self.tls.clone()
        });
        let router = router(behaviour, self.big.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut tcp, _)) = listener.accept().await else { continue };
                // As real front ends do: no Nagle delay between headers and body.
                let _ = tcp.set_nodelay(true);
                let (tls, router) = (tls.clone(), router.clone());
                tokio::spawn(async move {
                    match behaviour {
                        Behaviour::Reset => {
                            // Let the ClientHello (and its SNI) arrive, as a censor would, then RST.
                            let mut hello = [0u8; 512];
                            let _ = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut hello)).await;
                            // A zero linger resets at once instead of blocking on drop.
                            #[allow(deprecated)]
                            let _ = tcp.set_linger(Some(Duration::ZERO));
                            drop(tcp);
                        }
                        Behaviour::Blackhole => {
                            let mut sink = [0u8; 4096];
                            while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
                        }
                        _ => {
                            let Ok(stream) = tls.accept(tcp).await else { return };
                            let _ = auto::Builder::new(TokioExecutor::new())
                                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router))
                                .await;
                        }
                    }
                });
            }
        });
        port
    }
}

/// Holds an answer back for `delay`, precisely: tokio's timer wheel sleeps a millisecond or
/// more too long, while a thread's nanosleep is off by tens of microseconds, and it does not
/// spin (which would take a core from the browser being measured). The benchmark's "known
/// delay" must be known to well under the error it measures.
async fn hold(delay: Duration) {
    let _ = tokio::task::spawn_blocking(move || std::thread::sleep(delay)).await;
}

/// The platform's content: the large asset at [`BIG_PATH`], the favicon anywhere else.
fn content(path: &str, big: &[u8]) -> (&'static str, Vec<u8>) {
    if path == BIG_PATH {
        ("image/png", big.to_vec())
    } else {
        ("image/png", FAVICON.to_vec())
    }
}

fn response(content_type: &str, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).expect("a valid content type"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Lets the client record connection phases, as some CDNs do.
    h.insert("timing-allow-origin", HeaderValue::from_static("*"));
    res
}

fn router(behaviour: Behaviour, big: Arc<Vec<u8>>) -> Router {
    Router::new().fallback(move |req: Request<Body>| {
        let big = big.clone();
        async move {
            let path = req.uri().path().to_string();
            match behaviour {
                Behaviour::Blockpage => response(
                    "text/html; charset=utf-8",
                    Body::from("<!doctype html><title>Blocked</title><h1>This site has been blocked by order of the authority.</h1>"),
                ),
                Behaviour::Slow { delay_ms } => {
                    hold(Duration::from_millis(delay_ms)).await;
                    let (ct, bytes) = content(&path, &big);
                    response(ct, Body::from(bytes))
                }
                Behaviour::Throttled { kbps } => {
                    let (ct, bytes) = content(&path, &big);
                    // Chunks every 100 ms at the given rate.
                    let chunk = (kbps as usize * 1000 / 8 / 10).max(1);
                    let chunks: Vec<Vec<u8>> = bytes.chunks(chunk).map(<[u8]>::to_vec).collect();
                    let stream = futures::stream::iter(chunks.into_iter().enumerate()).then(|(i, c)| async move {
                        if i > 0 {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Ok::<_, std::io::Error>(c)
                    });
                    response(ct, Body::from_stream(stream))
                }
                _ => {
                    let (ct, bytes) = content(&path, &big);
                    response(ct, Body::from(bytes))
                }
            }
        }
    })
}
