//! The censor lab: local servers that stand in for platforms, each behaving as one scenario's
//! censor would. Chromium reaches them through `--host-resolver-rules` and trusts the lab's key
//! alone (`--ignore-certificate-errors-spki-list`), so a server with another key fails as a
//! wrong certificate should.
//!
//! | behaviour        | what the server does                                             |
//! |------------------|------------------------------------------------------------------|
//! | `Healthy`        | serves the favicon, `/lab/big.png` (about 100 KB) and the lab's assets |
//! | `Reset`          | reads the TLS ClientHello, then resets the connection            |
//! | `Blackhole`      | accepts and never answers                                        |
//! | `WrongCert`      | healthy, but with a certificate from an untrusted key            |
//! | `Blockpage`      | answers every request with an HTML block page                    |
//! | `Throttled`      | healthy content dripped at a fixed rate                          |
//! | `Slow`           | healthy content after a fixed delay                              |
//! | `CorpSameOrigin` | healthy content with `Cross-Origin-Resource-Policy: same-origin` |
//! | `RedirectAway`   | every request redirected to [`REDIRECT_HOST`]                    |
//! | `Shifting`       | the large asset one byte longer on every request                 |
//!
//! Refused connections need no server ([`closed_port`]) and NXDOMAIN none either (`~NOTFOUND`).

use std::sync::atomic::{AtomicU64, Ordering};
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
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PublicKeyData};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::png::{big_png, png_of_size};

/// A small real PNG, served where a platform's favicon is expected.
pub const FAVICON: &[u8] = include_bytes!("../../../static/control.png");
/// Path of the large throughput asset on every lab host.
pub const BIG_PATH: &str = "/lab/big.png";
/// Where [`Behaviour::RedirectAway`] sends every request: another host than the one asked.
pub const REDIRECT_HOST: &str = "elsewhere.lab.test";

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
    /// Healthy, but refusing cross-origin use (`Cross-Origin-Resource-Policy: same-origin`),
    /// as WhatsApp Web's favicon and Meta's signed image URLs are.
    CorpSameOrigin,
    /// Every request answered `302` to the same path on [`REDIRECT_HOST`].
    RedirectAway,
    /// Healthy, but the large asset grows by a byte on every request: a size nobody can list.
    Shifting,
}

/// A loopback port with nothing listening: connecting is refused at once.
pub fn closed_port() -> u16 {
    crate::free_port()
}

/// A certificate authority of the lab's own: leaf certificates are issued by it (and say
/// nothing of being a CA, as Firefox requires of server certificates).
struct Authority {
    key: KeyPair,
    params: CertificateParams,
    der: CertificateDer<'static>,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let key = KeyPair::generate().expect("key generation");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty names are valid");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let der = params.self_signed(&key).expect("self-signed CA certificate").der().clone();
        Authority { key, params, der }
    }

    /// A server configuration presenting a certificate for `hosts` issued by this authority,
    /// and the base64 SHA-256 of that certificate's key (for Chromium's SPKI allow-list).
    fn issue(&self, hosts: &[String]) -> (Arc<rustls::ServerConfig>, String) {
        let key = KeyPair::generate().expect("key generation");
        let params = CertificateParams::new(hosts.to_vec()).expect("valid host names");
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("a certificate issued by the lab CA");
        let spki = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(key.subject_public_key_info()));
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), self.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("certificate and key match");
        (Arc::new(config), spki)
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The lab: its trusted authority and key, an untrusted one, and the large asset.
pub struct Lab {
    tls: Arc<rustls::ServerConfig>,
    untrusted_tls: Arc<rustls::ServerConfig>,
    /// Base64 SHA-256 of the trusted key's SubjectPublicKeyInfo, for Chromium to trust.
    pub spki: String,
    /// The lab CA's certificate (DER), for clients that trust by authority (Firefox, rustls).
    pub ca_der: CertificateDer<'static>,
    big: Arc<Vec<u8>>,
    /// Throughput assets of given sizes, by path ([`Lab::with_asset`]).
    assets: Arc<Assets>,
    /// Connections accepted by every server of this lab, whatever their behaviour: how a test
    /// proves that nothing was measured before the visitor asked.
    connections: Arc<AtomicU64>,
}

impl Lab {
    /// A lab whose certificates name `hosts` and [`crate::targets::CONTROL_HOST`].
    pub fn new(hosts: &[&str]) -> Lab {
        // Every lab can serve the independent control of the small lists.
        let hosts: Vec<String> =
            hosts.iter().copied().chain([crate::targets::CONTROL_HOST]).map(|h| h.to_string()).collect();
        let trusted = Authority::new("Vantage censor lab CA");
        let (tls, spki) = trusted.issue(&hosts);
        let (untrusted_tls, _) = Authority::new("Untrusted CA").issue(&hosts);
        Lab {
            tls,
            untrusted_tls,
            spki,
            ca_der: trusted.der,
            big: Arc::new(big_png(160)),
            assets: Arc::default(),
            connections: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The lab CA's certificate in PEM, for `certutil` and other tools that read files.
    pub fn ca_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.ca_der);
        let lines: Vec<&str> =
            b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    }

    /// A TLS client configuration that trusts the lab CA and nothing else.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone()).expect("the lab CA is a valid trust anchor");
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }

    /// How many connections the lab's servers have accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// Also serves, from every server started after this, a PNG of exactly `bytes` bytes at
    /// `path` (whatever the query): how the lab serves a real list's throughput assets at the
    /// size the list gives or the collector must learn.
    pub fn with_asset(mut self, path: &str, bytes: usize) -> Lab {
        Arc::make_mut(&mut self.assets).insert(path.to_string(), Arc::new(png_of_size(bytes)));
        self
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
        let router = router(behaviour, self.big.clone(), self.assets.clone());
        let connections = self.connections.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut tcp, _)) = listener.accept().await else { continue };
                connections.fetch_add(1, Ordering::SeqCst);
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

/// Throughput assets by path.
type Assets = std::collections::BTreeMap<String, Arc<Vec<u8>>>;

/// The platform's content: the large asset at [`BIG_PATH`], an asset of the lab's at its path,
/// the favicon anywhere else.
fn content(path: &str, big: &[u8], assets: &Assets) -> (&'static str, Vec<u8>) {
    if path == BIG_PATH {
        ("image/png", big.to_vec())
    } else if let Some(asset) = assets.get(path) {
        ("image/png", asset.to_vec())
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

fn router(behaviour: Behaviour, big: Arc<Vec<u8>>, assets: Arc<Assets>) -> Router {
    let served = Arc::new(AtomicU64::new(0));
    Router::new().fallback(move |req: Request<Body>| {
        let big = big.clone();
        let assets = assets.clone();
        let served = served.clone();
        async move {
            let path = req.uri().path().to_string();
            match behaviour {
                Behaviour::Blockpage => response(
                    "text/html; charset=utf-8",
                    Body::from("<!doctype html><title>Blocked</title><h1>This site has been blocked by order of the authority.</h1>"),
                ),
                Behaviour::Slow { delay_ms } => {
                    hold(Duration::from_millis(delay_ms)).await;
                    let (ct, bytes) = content(&path, &big, &assets);
                    response(ct, Body::from(bytes))
                }
                Behaviour::Throttled { kbps } => {
                    let (ct, bytes) = content(&path, &big, &assets);
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
                Behaviour::CorpSameOrigin => {
                    let (ct, bytes) = content(&path, &big, &assets);
                    let mut res = response(ct, Body::from(bytes));
                    res.headers_mut().insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
                    res
                }
                Behaviour::RedirectAway => {
                    let mut res = response("text/html; charset=utf-8", Body::from("<a href=\"elsewhere\">moved</a>"));
                    *res.status_mut() = axum::http::StatusCode::FOUND;
                    let to = format!("https://{REDIRECT_HOST}{path}");
                    res.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&to).expect("a valid location"));
                    res
                }
                Behaviour::Shifting => {
                    let (ct, mut bytes) = content(&path, &big, &assets);
                    if path == BIG_PATH {
                        let extra = served.fetch_add(1, Ordering::SeqCst) + 1;
                        bytes.extend(std::iter::repeat_n(0u8, extra as usize));
                    }
                    response(ct, Body::from(bytes))
                }
                _ => {
                    let (ct, bytes) = content(&path, &big, &assets);
                    response(ct, Body::from(bytes))
                }
            }
        }
    })
}
