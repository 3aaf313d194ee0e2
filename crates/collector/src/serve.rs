//! The accept loop: what stands between the network and the router. Hostile clients are held
//! to deadlines here — headers within `header_timeout`, no connection silent in both directions
//! for `idle_timeout`, no response write stalled for `send_timeout` — and to a cap on open
//! connections, so that neither slow clients nor readers that stop reading can use up the
//! process. A shutdown stops accepting, lets requests in flight finish for `shutdown_grace`, then
//! drops whatever is still open.
//!
//! Nothing here logs or keeps a peer address: it goes into the request's extensions as
//! `ConnectInfo`, where only [`crate::peer::Peer`] reads it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tower::ServiceExt;

use crate::metrics::Metrics;

/// Deadlines and limits of the HTTP server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// A request's headers must arrive within this (also how long an idle kept-alive
    /// connection stays open).
    pub header_timeout: Duration,
    /// A connection on which nothing moves in either direction for this long is closed.
    pub idle_timeout: Duration,
    /// A response write that makes no progress for this long (a client that stopped reading)
    /// closes the connection.
    pub send_timeout: Duration,
    /// Most connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// After a shutdown signal, how long requests in flight may take before their connections
    /// are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(30),
            max_connections: 4_096,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains as [`ServeConfig`]
/// says. Returns once every connection has ended or been dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(config.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // Reap finished connections so the set stays as small as what is open.
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    metrics.accept_error();
                    if !is_per_connection(&e) {
                        // Out of file descriptors or memory: say so at the default level, and
                        // give the process a moment instead of spinning.
                        tracing::warn!(error = %e, "accepting a connection failed; retrying in 100 ms");
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_millis(100)) => {}
                            () = &mut shutdown => break,
                        }
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small responses (headers, then a file) go out at once, not after a delayed ACK.
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Deadlines::new(stream, config.idle_timeout, config.send_timeout));
        let service = router.clone().map_request(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(addr));
            req
        });
        let connection = graceful.watch(http.serve_connection(io, TowerToHyperService::new(service)));
        let metrics = metrics.clone();
        metrics.connection_opened();
        connections.spawn(async move {
            // A client that vanished or broke the protocol is no event worth a log line.
            let _ = connection.await;
            metrics.connection_closed();
            drop(permit);
        });
    }
    drop(listener);
    let open = connections.len();
    tracing::info!(connections = open, grace = ?config.shutdown_grace, "shutting down: no new connections");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(config.shutdown_grace) => {
            tracing::warn!(
                connections = connections.len(),
                "shutdown grace period over; dropping the connections still open"
            );
        }
    }
    connections.shutdown().await;
}

/// Errors of one connection that was already gone when accepted; the listener is fine.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// A TCP stream with two deadlines: a write that cannot progress for `send` fails (the client
/// stopped reading), and a read that waits for `idle` while nothing was written either fails
/// (the client went silent). Any progress restarts both.
pub struct Deadlines {
    inner: TcpStream,
    idle: Duration,
    send: Duration,
    read_deadline: Option<Pin<Box<Sleep>>>,
    write_deadline: Option<Pin<Box<Sleep>>>,
}

impl Deadlines {
    pub fn new(inner: TcpStream, idle: Duration, send: Duration) -> Self {
        Deadlines { inner, idle, send, read_deadline: None, write_deadline: None }
    }

    fn progressed(&mut self) {
        self.read_deadline = None;
        self.write_deadline = None;
    }
}

fn expired(deadline: &mut Option<Pin<Box<Sleep>>>, after: Duration, cx: &mut Context<'_>) -> bool {
    let sleep = deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(after)));
    sleep.as_mut().poll(cx).is_ready()
}

impl AsyncRead for Deadlines {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.progressed();
                Poll::Ready(r)
            }
            Poll::Pending => {
                if expired(&mut this.read_deadline, this.idle, cx) {
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle")))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl AsyncWrite for Deadlines {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.progressed();
                Poll::Ready(r)
            }
            Poll::Pending => this.write_stalled(cx),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.progressed();
                Poll::Ready(r)
            }
            Poll::Pending => this.write_stalled(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Deadlines {
    fn write_stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if expired(&mut self.write_deadline, self.send, cx) {
            Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")))
        } else {
            Poll::Pending
        }
    }
}

/// Parses `10s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = number.parse().map_err(|_| format!("{text:?}: expected a duration such as 10s or 500ms"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        _ => return Err(format!("{text:?}: the unit must be ms, s or m")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{text:?}: not a usable duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").is_err() && parse_duration("5h").is_err() && parse_duration("-1s").is_err());
    }
}
