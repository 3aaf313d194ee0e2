//! Vantage's censor lab and test harness: everything a test needs to put the real client, the
//! real collector and a censored network on one machine.
//!
//! | module      | what it gives a test                                                          |
//! |-------------|-------------------------------------------------------------------------------|
//! | [`censor`]  | HTTPS servers that behave as a censor would (reset, black hole, wrong key, …)  |
//! | [`scenario`]| the scenario table: each censor behaviour and the verdicts it must produce     |
//! | [`shipped`] | the shipped default list in the lab: its hosts, its assets at their sizes      |
//! | [`browser`] | real headless Chromium or Firefox, told where platform hosts live              |
//! | [`firefox`] | Firefox's profile: PAC script, lab CA, prefs standing in for Chromium's flags  |
//! | [`proxy`]   | the loopback CONNECT proxy that maps names for Firefox                         |
//! | [`page`]    | the self-test page object, in the words of its DOM hooks                       |
//! | [`collector`]| the real `vantage-collector` binary in its own process                        |
//! | [`crowd`]   | a replayed crowd of reports with injected disruptions (the ground truth)        |
//! | [`nginx`]   | Debian's nginx in front of collectors, as `docs/deploy.md` configures it        |
//! | [`postgres`]| a throwaway PostgreSQL server from Debian's binaries                           |
//! | [`geoip`]   | MaxMind-format databases written by the test                                   |
//! | [`report`]  | a valid sample report                                                          |
//! | [`png`]     | an incompressible PNG of known size, the throughput payload                    |
//! | [`targets`] | target lists as typed values                                                   |
//! | [`http`]    | a plain HTTP client for loopback, and the clock tests agree on                 |
//!
//! Nothing here is a mock: every server listens on a real loopback socket, every browser is
//! real Chromium or Firefox. The lab's own tests (`tests/behaviours.rs`) check each censor behaviour
//! without a browser.

pub mod browser;
pub mod censor;
pub mod collector;
pub mod crowd;
pub mod firefox;
pub mod geoip;
pub mod group;
pub mod http;
pub mod nginx;
pub mod page;
pub mod png;
pub mod postgres;
pub mod proxy;
pub mod report;
pub mod scenario;
pub mod shipped;
pub mod targets;

use std::net::TcpListener;

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("no free loopback port")
}

/// Seconds since the Unix epoch: the one clock the tests use for report start times.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
