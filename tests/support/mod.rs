//! The end-to-end harness: a real collector, a censor lab of real HTTPS servers, and real
//! headless Chromium told by `--host-resolver-rules` that platform hosts live in the lab.
//!
//! `browser` starts chromedriver and Chromium, `lab` the censor's servers, `collector` a
//! collector on a free port, and `page` is the page object tests read the self-test page with.

#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod browser;
pub mod collector;
pub mod lab;
pub mod page;

use std::net::TcpListener;

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free loopback port")
}

/// GETs a loopback URL and returns status and body.
pub async fn http_get(url: &str) -> (u16, String) {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let res = client.get(url.parse().expect("a valid URL")).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.expect("a readable body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
