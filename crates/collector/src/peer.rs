//! The peer address, for the GeoIP lookup and nothing else. Handlers receive it only through
//! [`Peer`], pass it to `GeoIp::lookup`, and never store, log or return it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// The connecting address, when the server was started with connect info (tests driving
/// `app()` without a socket have none, and get `ZZ`/AS0).
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())))
    }
}
