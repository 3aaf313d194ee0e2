//! A tiny loopback CONNECT proxy: Firefox's stand-in for Chromium's `--host-resolver-rules`.
//!
//! Firefox cannot be told where a name leads, but a PAC script can send chosen names to a proxy.
//! This one tunnels each name of its table to that name's loopback port, so the browser still
//! does its own TLS with the lab server (certificate checks included), and answers the rest as a
//! proxy answers what it cannot reach. Firefox turns those answers into the errors the censor
//! meant (its `nsHttpChannel::ProcessFailedProxyConnect`):
//!
//! | table entry         | answer                          | what Firefox makes of it            |
//! |---------------------|---------------------------------|-------------------------------------|
//! | `Port(p)`, p listens| `200`, then bytes both ways     | a connection to the lab server (a reset passed on as a reset) |
//! | `Port(p)`, p closed | `503 Service Unavailable`       | `NS_ERROR_CONNECTION_REFUSED`       |
//! | `NotFound`          | `404 Not Found`                 | `NS_ERROR_UNKNOWN_HOST` (no such name) |
//! | not in the table    | `403 Forbidden`                 | refused: the lab never reaches out  |
//!
//! The port a CONNECT asks for is ignored, as a `MAP host 127.0.0.1:PORT` rule ignores it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Where the proxy sends one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Tunnel to this loopback port.
    Port(u16),
    /// The name does not exist.
    NotFound,
}

/// The longest request head the proxy reads (a CONNECT head is a few hundred bytes).
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A running proxy; it stops when dropped.
pub struct ConnectProxy {
    pub port: u16,
    task: JoinHandle<()>,
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectProxy {
    /// Starts a proxy on a free loopback port with `table` (names are matched without case).
    pub async fn start(table: HashMap<String, Route>) -> ConnectProxy {
        let table: Arc<HashMap<String, Route>> =
            Arc::new(table.into_iter().map(|(name, route)| (name.to_ascii_lowercase(), route)).collect());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy's port");
        let port = listener.local_addr().expect("proxy address").port();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                let _ = client.set_nodelay(true);
                tokio::spawn(serve(client, table.clone()));
            }
        });
        ConnectProxy { port, task }
    }

    /// Parses `MAP host 127.0.0.1:PORT` and `MAP host ~NOTFOUND` rules (Chromium's
    /// `--host-resolver-rules` entries, as the lab writes them) into a proxy table.
    pub fn table_from_rules<'a>(rules: impl IntoIterator<Item = &'a str>) -> Result<HashMap<String, Route>, String> {
        let mut table = HashMap::new();
        for rule in rules {
            let words: Vec<&str> = rule.split_whitespace().collect();
            let [verb, host, target] = words[..] else {
                return Err(format!("not a MAP rule: {rule}"));
            };
            if !verb.eq_ignore_ascii_case("MAP") {
                return Err(format!("not a MAP rule: {rule}"));
            }
            let route = if target == "~NOTFOUND" {
                Route::NotFound
            } else {
                let port = target
                    .strip_prefix("127.0.0.1:")
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| format!("the lab maps names to 127.0.0.1:PORT only: {rule}"))?;
                Route::Port(port)
            };
            table.insert(host.to_ascii_lowercase(), route);
        }
        Ok(table)
    }
}

/// One client connection: read the head, answer or tunnel.
async fn serve(mut client: TcpStream, table: Arc<HashMap<String, Route>>) {
    let Ok(Some(head)) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client)).await else { return };
    let Some(host) = connect_host(&head) else {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n").await;
        return;
    };
    match table.get(&host.to_ascii_lowercase()) {
        None => answer(&mut client, "403 Forbidden").await,
        Some(Route::NotFound) => answer(&mut client, "404 Not Found").await,
        Some(&Route::Port(port)) => match TcpStream::connect(("127.0.0.1", port)).await {
            Err(_) => answer(&mut client, "503 Service Unavailable").await,
            Ok(mut server) => {
                let _ = server.set_nodelay(true);
                if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.is_ok() {
                    // Ends when either side closes. A reset is passed on as a reset, not as a
                    // polite close: the browser must see what the censor did.
                    let copied = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    if copied.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset) {
                        // A zero linger resets at once on drop (as the lab's Reset server does).
                        #[allow(deprecated)]
                        let _ = client.set_linger(Some(Duration::ZERO));
                        #[allow(deprecated)]
                        let _ = server.set_linger(Some(Duration::ZERO));
                    }
                }
            }
        },
    }
}

async fn answer(client: &mut TcpStream, status: &str) {
    let _ = client
        .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes())
        .await;
    let _ = client.shutdown().await;
}

/// Reads up to the blank line that ends a request head; `None` if the client closed first or
/// sent too much.
async fn read_head(client: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    // Byte by byte, so nothing after the head (a tunnelled ClientHello) is taken from the socket.
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD || client.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

/// The host of `CONNECT host:port HTTP/1.1`, if that is what `head` asks.
fn connect_host(head: &str) -> Option<&str> {
    let mut words = head.lines().next()?.split_whitespace();
    let (method, authority) = (words.next()?, words.next()?);
    if method != "CONNECT" {
        return None;
    }
    // `[::1]:443` or `name:443`.
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    Some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_become_a_table() {
        let t = ConnectProxy::table_from_rules(["MAP X.com 127.0.0.1:4443", "MAP gone.example ~NOTFOUND"]).unwrap();
        assert_eq!(t["x.com"], Route::Port(4443));
        assert_eq!(t["gone.example"], Route::NotFound);
        assert!(ConnectProxy::table_from_rules(["MAP x.com 10.0.0.1:443"]).is_err());
        assert!(ConnectProxy::table_from_rules(["EXCLUDE x.com"]).is_err());
    }

    #[test]
    fn the_host_of_a_connect() {
        assert_eq!(connect_host("CONNECT x.com:443 HTTP/1.1\r\nHost: x.com:443\r\n\r\n"), Some("x.com"));
        assert_eq!(connect_host("CONNECT [::1]:443 HTTP/1.1\r\n\r\n"), Some("::1"));
        assert_eq!(connect_host("GET http://x.com/ HTTP/1.1\r\n\r\n"), None);
    }
}
