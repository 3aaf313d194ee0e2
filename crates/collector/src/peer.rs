//! The peer address, for the GeoIP lookup and the in-memory rate limit and nothing else.
//! Handlers receive it only through [`Peer`] and never store, log or return it.
//!
//! Behind a reverse proxy every connection comes from the proxy; with
//! `--trust-proxy-header X-Forwarded-For` (off by default, since a client can send any header)
//! the address the proxy appended last is used instead.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::AppState;

/// The connecting address, when the server was started with connect info (tests driving
/// `app()` without a socket have none, and get `ZZ`/AS0).
pub struct Peer(pub Option<IpAddr>);

impl FromRequestParts<AppState> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(header) = &state.proxy_header {
            // The proxy appends the address it saw; anything before it came from the client.
            let forwarded = parts.headers.get_all(header).iter().filter_map(|v| v.to_str().ok()).next_back();
            if let Some(ip) = forwarded.and_then(|v| v.rsplit(',').next()).and_then(|s| s.trim().parse().ok()) {
                return Ok(Peer(Some(ip)));
            }
        }
        let connected = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await.ok();
        Ok(Peer(connected.map(|ConnectInfo(addr)| addr.ip())))
    }
}
