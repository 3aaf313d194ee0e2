//! The client's address, for the GeoIP lookup and the in-memory rate limit and nothing else.
//! Handlers receive it only through [`Peer`] and never store, log or return it.
//!
//! Behind a reverse proxy every connection comes from the proxy. With `--trust-proxy-header`
//! (`X-Forwarded-For` or RFC 7239 `Forwarded`), the header is believed only when the connection
//! comes from a trusted proxy (`--trusted-proxy CIDR`, loopback by default), and the client is
//! the rightmost hop that is not itself a trusted proxy. A value that names no usable address
//! (`unknown`, an obfuscated `_id`, garbage, no header at all) makes the client unknown — `ZZ`,
//! AS0 — never the proxy's own address; such requests are counted in `/metrics`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};

use crate::AppState;

/// An IP network, `203.0.113.0/24` or `2001:db8::/32`; a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = addr.trim().parse().map_err(|_| format!("{s:?}: not an address or network"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or(format!("{s:?}: bad prefix length"))?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    /// 127.0.0.0/8 and ::1: a proxy on the same host, the default when none is configured.
    pub fn loopback() -> Vec<Cidr> {
        vec![
            Cidr { network: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), prefix: 8 },
            Cidr { network: IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), prefix: 128 },
        ]
    }
}

/// IPv4 peers on a dual-stack socket arrive as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Which header a trusted proxy puts the client in, and which peers are trusted proxies.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub header: HeaderName,
    pub trusted: Vec<Cidr>,
}

impl ProxyConfig {
    fn is_forwarded(&self) -> bool {
        self.header == axum::http::header::FORWARDED
    }
}

/// The client as far as this request tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The client's address for GeoIP; none when unknown (then `ZZ`/AS0).
    pub addr: Option<IpAddr>,
    /// Whose rate-limit bucket the request uses: the client's, or the proxy's when the client
    /// is unknown.
    pub bucket: Option<IpAddr>,
}

/// One hop of a forwarding chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    Addr(IpAddr),
    /// `unknown`, an obfuscated identifier, or something unparseable.
    Unknown,
}

/// A node as RFC 7239 writes it (`192.0.2.43`, `"192.0.2.43:47011"`, `"[2001:db8::17]:4711"`,
/// `unknown`, `_hidden`) or as X-Forwarded-For does (a bare address, sometimes with a port).
fn parse_node(raw: &str) -> Hop {
    let node = raw.trim().trim_matches('"').trim();
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Hop::Addr(canonical(ip));
    }
    if let Some(rest) = node.strip_prefix('[') {
        // [v6] or [v6]:port
        return match rest.split_once(']') {
            Some((v6, tail)) if tail.is_empty() || is_port(tail) => {
                v6.parse::<std::net::Ipv6Addr>().map_or(Hop::Unknown, |ip| Hop::Addr(canonical(IpAddr::V6(ip))))
            }
            _ => Hop::Unknown,
        };
    }
    if let Some((v4, port)) = node.rsplit_once(':') {
        if is_port(&format!(":{port}")) {
            if let Ok(ip) = v4.parse::<std::net::Ipv4Addr>() {
                return Hop::Addr(IpAddr::V4(ip));
            }
        }
    }
    Hop::Unknown
}

/// `:4711`, or an obfuscated port `:_abc` (RFC 7239 §6.3).
fn is_port(tail: &str) -> bool {
    tail.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && (p.bytes().all(|b| b.is_ascii_digit()) || p.starts_with('_')))
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// The hops of the chain, nearest the client first, from every instance of the header.
fn hops(headers: &HeaderMap, config: &ProxyConfig) -> Vec<Hop> {
    let mut out = Vec::new();
    for value in headers.get_all(&config.header) {
        let Ok(value) = value.to_str() else {
            out.push(Hop::Unknown);
            continue;
        };
        for element in split_unquoted(value, ',') {
            if element.trim().is_empty() {
                continue;
            }
            if config.is_forwarded() {
                let node = split_unquoted(element, ';').into_iter().find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then_some(v)
                });
                // An element without `for=` says nothing about the client.
                out.push(node.map_or(Hop::Unknown, parse_node));
            } else {
                out.push(parse_node(element));
            }
        }
    }
    out
}

/// The client of a request that came from `peer`, by `config`'s rules.
pub fn client(peer: Option<IpAddr>, headers: &HeaderMap, config: Option<&ProxyConfig>) -> Peer {
    let peer = peer.map(canonical);
    let direct = Peer { addr: peer, bucket: peer };
    let (Some(config), Some(proxy)) = (config, peer) else { return direct };
    if !config.trusted.iter().any(|c| c.contains(proxy)) {
        return direct;
    }
    let unknown = Peer { addr: None, bucket: Some(proxy) };
    let chain = hops(headers, config);
    let mut last_trusted = None;
    for hop in chain.iter().rev() {
        match *hop {
            Hop::Addr(ip) if config.trusted.iter().any(|c| c.contains(ip)) => last_trusted = Some(ip),
            Hop::Addr(ip) => return Peer { addr: Some(ip), bucket: Some(ip) },
            Hop::Unknown => return unknown,
        }
    }
    // Every hop a trusted proxy: the leftmost one is as near the client as we can know.
    last_trusted.map_or(unknown, |ip| Peer { addr: Some(ip), bucket: Some(ip) })
}

impl FromRequestParts<AppState> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let connected = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await.ok();
        let peer = connected.map(|ConnectInfo(addr)| addr.ip());
        let found = client(peer, &parts.headers, state.proxy.as_ref());
        if state.proxy.is_some() && found.addr.is_none() && peer.is_some() {
            state.metrics.client_address_unknown();
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(header: &str, trusted: &[&str]) -> ProxyConfig {
        ProxyConfig { header: header.parse().unwrap(), trusted: trusted.iter().map(|c| c.parse().unwrap()).collect() }
    }

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name.parse::<HeaderName>().unwrap(), v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()) && !net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.1".parse().unwrap()), "IPv4-mapped");
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()) && !v6.contains("2001:db9::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nonsense", "::/129", "10.0.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn x_forwarded_for_gives_the_rightmost_untrusted_hop() {
        let c = config("x-forwarded-for", &["10.0.0.0/8", "127.0.0.1"]);
        let from = |v: &[&str]| client(ip("127.0.0.1"), &headers("x-forwarded-for", v), Some(&c)).addr;
        assert_eq!(from(&["198.51.100.1, 203.0.113.9"]), ip("203.0.113.9"), "the client's own claim is ignored");
        assert_eq!(from(&["203.0.113.9, 10.0.0.2"]), ip("203.0.113.9"), "a second trusted proxy is skipped");
        assert_eq!(from(&["198.51.100.1", "203.0.113.9, 10.1.1.1"]), ip("203.0.113.9"), "several header lines");
        assert_eq!(from(&["203.0.113.9:5555"]), ip("203.0.113.9"));
        assert_eq!(from(&["[2001:db8::1]:80"]), ip("2001:db8::1"));
        assert_eq!(from(&["10.0.0.3, 10.0.0.2"]), ip("10.0.0.3"), "all trusted: the leftmost");
        assert_eq!(from(&["garbage"]), None);
        assert_eq!(from(&[]), None, "no header: unknown, not the proxy");
        let missing = client(ip("127.0.0.1"), &HeaderMap::new(), Some(&c));
        assert_eq!(missing.bucket, ip("127.0.0.1"), "unknown clients share the proxy's bucket");
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_proxy() {
        let c = config("x-forwarded-for", &["10.0.0.0/8"]);
        let h = headers("x-forwarded-for", &["203.0.113.9"]);
        assert_eq!(client(ip("198.51.100.7"), &h, Some(&c)).addr, ip("198.51.100.7"));
        assert_eq!(client(ip("10.0.0.1"), &h, Some(&c)).addr, ip("203.0.113.9"));
        assert_eq!(client(ip("198.51.100.7"), &h, None).addr, ip("198.51.100.7"), "no proxy configured");
    }

    #[test]
    fn rfc_7239_nodes_are_parsed() {
        let c = config("forwarded", &["127.0.0.0/8"]);
        let from = |v: &str| client(ip("127.0.0.1"), &headers("forwarded", &[v]), Some(&c)).addr;
        assert_eq!(from("for=192.0.2.43"), ip("192.0.2.43"));
        assert_eq!(from("for=\"192.0.2.43:47011\""), ip("192.0.2.43"));
        assert_eq!(from("for=\"[2001:db8:cafe::17]:4711\""), ip("2001:db8:cafe::17"));
        assert_eq!(from("for=\"[2001:db8:cafe::17]\""), ip("2001:db8:cafe::17"));
        assert_eq!(from("proto=https;For=192.0.2.60;by=203.0.113.43"), ip("192.0.2.60"));
        assert_eq!(from("for=192.0.2.43, for=198.51.100.17"), ip("198.51.100.17"));
        assert_eq!(from("for=\"_gazonk\""), None);
        assert_eq!(from("for=unknown"), None);
        assert_eq!(from("for=198.51.100.17, for=unknown"), None, "the nearest hop is unknown");
        assert_eq!(from("for=\"[2001:db8::1]:_port\""), ip("2001:db8::1"));
        assert_eq!(from("for=\"[not-v6]\""), None);
        assert_eq!(from("by=127.0.0.1"), None);
        assert_eq!(from("for=\"a,b\";by=x, for=192.0.2.1"), ip("192.0.2.1"), "commas inside quotes");
    }
}
