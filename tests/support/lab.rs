//! The censor lab: local HTTPS servers that stand in for platforms, each behaving as one
//! scenario's censor would. Chromium reaches them through `--host-resolver-rules` and trusts
//! the lab's key alone (`--ignore-certificate-errors-spki-list`).

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::Router;
use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rcgen::{CertificateParams, KeyPair, PublicKeyData};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A small real PNG, served where a platform's favicon is expected.
pub const FAVICON: &[u8] = include_bytes!("../../static/control.png");

/// How a lab server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Serves the favicon for any path, as the platform would.
    Healthy,
}

/// The lab's certificate authority of one: a self-signed certificate for every lab host.
pub struct Lab {
    tls: Arc<rustls::ServerConfig>,
    /// Base64 SHA-256 of the lab key's SubjectPublicKeyInfo, for Chromium to trust.
    pub spki: String,
}

impl Lab {
    /// A lab whose certificate names `hosts`.
    pub fn new(hosts: &[&str]) -> Lab {
        let key = KeyPair::generate().expect("key generation");
        let params = CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>()).expect("valid host names");
        let cert = params.self_signed(&key).expect("self-signed certificate");
        let spki = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(key.subject_public_key_info()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("certificate and key match");
        Lab { tls: Arc::new(tls), spki }
    }

    /// Starts an HTTPS server with `behaviour` on a free loopback port and returns the port.
    pub async fn serve(&self, behaviour: Behaviour) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a lab port");
        let port = listener.local_addr().expect("lab address").port();
        let acceptor = TlsAcceptor::from(self.tls.clone());
        let router = router(behaviour);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let (acceptor, router) = (acceptor.clone(), router.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                        .await;
                });
            }
        });
        port
    }
}

fn router(behaviour: Behaviour) -> Router {
    match behaviour {
        Behaviour::Healthy => Router::new().fallback(|| async {
            ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], FAVICON).into_response()
        }),
    }
}
