//! `vantage-collector targets verify`: what a visitor's browser meets at every URL of a target
//! list, fetched by a real client (rustls against the public web roots, hyper) from the
//! operator's network.
//!
//! Run with `vantage-collector targets verify crates/collector/targets/default.json --json out.json`
//! from a network nobody filters.
//!
//! A URL that a browser refuses or mistakes turns into a false verdict for every visitor: an
//! image refused cross-origin (`Cross-Origin-Resource-Policy: same-origin`), an HTML 403 in
//! place of an image, a certificate browsers do not trust, or a redirect to another host makes
//! the client say `tampered` or `blocked` about a network that did nothing. Such URLs are
//! *problems* and fail the command; what a browser tolerates but a reader should know (a
//! declared type that differs from the bytes, a body sent compressed) is a *warning*.
//!
//! | kind         | must                                                                            |
//! |--------------|---------------------------------------------------------------------------------|
//! | `image`      | answer 2xx on its own host, `image/*`, with image bytes (PNG, GIF, JPEG, ICO, WebP, AVIF, SVG), no CORP same-origin/same-site |
//! | `fetch`      | answer anything on its own host (a no-cors fetch resolves on a 404), no CORP same-origin/same-site |
//! | `throughput` | as an image, uncompressed, and the same size and sha256 over two fetches, equal to the list's `bytes` |

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::Url;
use vantage_report::target::MAX_ASSET_BYTES;
use vantage_report::TargetList;

/// Redirects followed on the same host before giving up (browsers follow 20; a probe needs 0).
const MAX_REDIRECTS: usize = 5;
/// URLs fetched at once: polite to the platforms, quick enough for a hundred targets.
const CONCURRENCY: usize = 6;
/// How long each fetch may take by default (connection, TLS, answer and body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// What a browser says it accepts for an `<img>` (Chromium's header).
const ACCEPT_IMAGE: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

/// `targets verify`'s options.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Target lists (JSON), global lists or a country's additions.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also write the result as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Trust the certificates of this PEM file instead of the public web roots (for tests).
    #[arg(long)]
    pub roots: Option<PathBuf>,
    /// Connect to ADDR for HOST:PORT, keeping the name for TLS and Host, as curl's --resolve
    /// (repeatable; e.g. abs.twimg.com:443:127.0.0.1). For tests.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Each fetch (connection, TLS, answer and body) must finish within this.
    #[arg(long, default_value = "20s", value_parser = crate::serve::parse_duration)]
    pub timeout: Duration,
    /// Write the list (one FILE only) without what failed to OUT: failing images and throughput
    /// assets are dropped, and a target whose fetch or every image fails is left out. For lists
    /// whose URLs are guesses, like an import's `/favicon.ico`s.
    #[arg(long, value_name = "OUT")]
    pub keep_passing: Option<PathBuf>,
}

/// `list` without what verification found misleading (`urls` for the list named `name`): failing
/// images and throughput assets are dropped, and a target left with no image or with a failing
/// fetch is left out. Returns the list and one line per change.
pub fn keep_passing(list: &TargetList, name: &str, urls: &[UrlReport]) -> (TargetList, Vec<String>) {
    let failed = |target: &str, kind: Kind, url: &str| {
        urls.iter().any(|u| u.list == name && u.target == target && u.kind == kind && u.url == url && !u.ok())
    };
    let mut notes = Vec::new();
    let mut targets = Vec::new();
    for t in &list.targets {
        let mut t = t.clone();
        let (kept, dropped): (Vec<String>, Vec<String>) =
            t.images.iter().cloned().partition(|u| !failed(&t.id, Kind::Image, u));
        if failed(&t.id, Kind::Fetch, &t.fetch) || kept.is_empty() {
            notes.push(format!(
                "target {} left out: {}",
                t.id,
                if kept.is_empty() { "no image passed" } else { "its fetch failed" }
            ));
            continue;
        }
        for u in dropped {
            notes.push(format!("target {}: image {u} dropped", t.id));
        }
        t.images = kept;
        if t.throughput.as_ref().is_some_and(|a| failed(&t.id, Kind::Throughput, &a.url)) {
            notes.push(format!("target {}: throughput asset dropped", t.id));
            t.throughput = None;
        }
        targets.push(t);
    }
    (TargetList { version: list.version.clone(), targets }, notes)
}

/// The version of a list changed by [`keep_passing`] at `verified_at` (`YYYY-MM-DDTHH:MM:SSZ`): a
/// new one, as reports name the list they measured by version and a collector must not check
/// an old page's report against the changed list.
fn kept_version(version: &str, verified_at: &str) -> String {
    let stamp: String = verified_at.chars().filter(char::is_ascii_digit).collect();
    let suffix = format!(".kept{stamp}");
    let base: String = version.chars().take(64 - suffix.len()).collect();
    format!("{base}{suffix}")
}

/// Writes [`keep_passing`]'s list to `out`, checked as the collector would serve it (a file
/// named like `PK.json` is a country's additions, checked beside the built-in global list).
fn write_passing(out: &Path, file: &Path, list: &TargetList, result: &Verification) -> Result<(), String> {
    let name = file.display().to_string();
    let (mut kept, notes) = keep_passing(list, &name, &result.urls);
    if !notes.is_empty() {
        kept.version = kept_version(&list.version, &result.verified_at);
    }
    for note in &notes {
        println!("{name}: {note}");
    }
    let country = file.file_name().and_then(|n| n.to_str()).and_then(crate::targets::country_of_file);
    let checked = match country {
        Some(code) => crate::targets::load(None)
            .map_err(|e| e.to_string())?
            .with_additions(code, &kept)
            .map(|_| ())
            .map_err(|e| format!("{code}'s additions without the failing URLs would not serve: {e}")),
        None => kept.validate().map_err(|e| format!("the list without the failing URLs would not serve: {e}")),
    };
    if kept.targets.is_empty() {
        return Err(format!("{name}: nothing passed; {} not written", out.display()));
    }
    checked.map_err(|e| format!("{name}: {e}; {} not written", out.display()))?;
    let json = serde_json::to_string_pretty(&kept).map_err(|e| e.to_string())?;
    std::fs::write(out, json + "\n").map_err(|e| format!("--keep-passing {}: {e}", out.display()))?;
    let (n, of) = (kept.targets.len(), list.targets.len());
    println!("{name}: {n} of {of} target(s) kept, written to {} as version {}", out.display(), kept.version);
    Ok(())
}

/// Why verification could not start.
#[derive(Debug, Error)]
pub enum VerifyError {
    #[error(
        "--resolve {0:?}: expected HOST:PORT:ADDR, as curl's (abs.twimg.com:443:127.0.0.1), or HOST:PORT:ADDR:PORT2"
    )]
    Resolve(String),
    #[error("--roots {path}: {detail}")]
    Roots { path: String, detail: String },
}

/// Which probe of a target a URL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Image,
    Fetch,
    Throughput,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Fetch => "fetch",
            Kind::Throughput => "throughput",
        }
    }
}

/// What would mislead a browser, or what kept the URL from being checked at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    #[error("not a URL a browser would probe: {0}")]
    InvalidUrl(String),
    #[error("the name does not resolve: {0}")]
    Dns(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("TLS fails (a browser refuses it too): {0}")]
    Tls(String),
    #[error("no HTTP answer: {0}")]
    Http(String),
    #[error("no answer within {0} s")]
    Timeout(u64),
    #[error("redirects to another host ({0}): the probe would test that host instead")]
    RedirectElsewhere(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("answers {0}: an image must answer 2xx")]
    Status(u16),
    #[error("served as {0:?}, not image/*: a browser will not decode it")]
    NotImageType(String),
    #[error("the body is not an image ({0}): a browser fails to decode it, a false `tampered`")]
    BodyNotImage(String),
    #[error("Cross-Origin-Resource-Policy: {0}: a browser refuses it cross-origin, a false `tampered`/`blocked`")]
    Corp(String),
    #[error("sent with Content-Encoding {0}: bytes on the wire are not the file's size")]
    Encoded(String),
    #[error("larger than {MAX_ASSET_BYTES} bytes")]
    TooLarge,
    #[error("size changed between two fetches ({0} then {1} bytes): no size can be listed")]
    SizeChanged(u64, u64),
    #[error("content changed between two fetches (sha256 {0} then {1})")]
    HashChanged(String, String),
    #[error("{served} bytes served, the list says {listed}: throughput would be off by the ratio")]
    SizeMismatch { listed: u64, served: u64 },
}

impl Problem {
    /// A stable name for the JSON result.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::InvalidUrl(_) => "invalid_url",
            Problem::Dns(_) => "dns",
            Problem::Connect(_) => "connect",
            Problem::Tls(_) => "tls",
            Problem::Http(_) => "http",
            Problem::Timeout(_) => "timeout",
            Problem::RedirectElsewhere(_) => "redirect_elsewhere",
            Problem::TooManyRedirects => "too_many_redirects",
            Problem::Status(_) => "status",
            Problem::NotImageType(_) => "not_image_type",
            Problem::BodyNotImage(_) => "body_not_image",
            Problem::Corp(_) => "corp",
            Problem::Encoded(_) => "encoded",
            Problem::TooLarge => "too_large",
            Problem::SizeChanged(..) => "size_changed",
            Problem::HashChanged(..) => "hash_changed",
            Problem::SizeMismatch { .. } => "size_mismatch",
        }
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Problem", 2)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("detail", &self.to_string())?;
        st.end()
    }
}

/// An image format told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageType {
    Png,
    Gif,
    Jpeg,
    Ico,
    Webp,
    Avif,
    Svg,
}

/// What the body's first bytes say it is; `None` for anything but an image.
pub fn sniff(body: &[u8]) -> Option<ImageType> {
    let b = body;
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageType::Png)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some(ImageType::Gif)
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageType::Jpeg)
    } else if b.starts_with(&[0, 0, 1, 0]) || b.starts_with(&[0, 0, 2, 0]) {
        Some(ImageType::Ico)
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some(ImageType::Webp)
    } else if b.len() >= 12 && &b[4..8] == b"ftyp" && (&b[8..12] == b"avif" || &b[8..12] == b"avis") {
        Some(ImageType::Avif)
    } else if is_svg(b) {
        Some(ImageType::Svg)
    } else {
        None
    }
}

/// SVG is text: an `<svg` element near the start, and no HTML document around it.
fn is_svg(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let start = head.trim_start_matches('\u{feff}').trim_start();
    (start.starts_with("<svg") || start.starts_with("<?xml") || start.starts_with("<!--"))
        && head.contains("<svg")
        && !head.contains("<html")
}

/// In words, what a body that is not an image looks like.
fn looks_like(body: &[u8]) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let start = head.trim_start();
    if body.is_empty() {
        "empty".into()
    } else if start.starts_with("<!doctype html") || start.starts_with("<html") || head.contains("<body") {
        "an HTML page".into()
    } else if start.starts_with('{') || start.starts_with('[') {
        "JSON".into()
    } else if body.iter().take(512).all(|&c| c.is_ascii_graphic() || c.is_ascii_whitespace()) {
        "text".into()
    } else {
        "unknown bytes".into()
    }
}

/// The image type a `Content-Type` declares, when it declares one this module knows.
fn declared(content_type: &str) -> Option<ImageType> {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    Some(match essence.as_str() {
        "image/png" | "image/apng" => ImageType::Png,
        "image/gif" => ImageType::Gif,
        "image/jpeg" | "image/jpg" | "image/pjpeg" => ImageType::Jpeg,
        "image/x-icon" | "image/vnd.microsoft.icon" | "image/ico" | "image/icon" => ImageType::Ico,
        "image/webp" => ImageType::Webp,
        "image/avif" => ImageType::Avif,
        "image/svg+xml" => ImageType::Svg,
        _ => return None,
    })
}

/// The result for one URL of one target.
#[derive(Debug, Clone, Serialize)]
pub struct UrlReport {
    /// The list file it came from.
    pub list: String,
    pub target: String,
    pub kind: Kind,
    pub url: String,
    /// Not fetched: a path on the collector's own origin.
    pub skipped: bool,
    /// Same-host redirects followed, in order.
    pub redirects: Vec<String>,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    /// What the body's bytes are, for images and throughput assets.
    pub image: Option<ImageType>,
    pub content_encoding: Option<String>,
    pub corp: Option<String>,
    pub acao: Option<String>,
    pub tao: Option<String>,
    /// Body size and hash (of the first fetch), for images and throughput assets.
    pub bytes: Option<u64>,
    pub sha256: Option<String>,
    /// The list's `bytes`, for throughput assets.
    pub listed_bytes: Option<u64>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

impl UrlReport {
    fn new(list: &str, target: &str, kind: Kind, url: &str) -> UrlReport {
        UrlReport {
            list: list.to_string(),
            target: target.to_string(),
            kind,
            url: url.to_string(),
            skipped: false,
            redirects: Vec::new(),
            status: None,
            content_type: None,
            image: None,
            content_encoding: None,
            corp: None,
            acao: None,
            tao: None,
            bytes: None,
            sha256: None,
            listed_bytes: None,
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Would a browser meet this URL as the list means it?
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The whole result, as `--json` writes it.
#[derive(Debug, Serialize)]
pub struct Verification {
    /// When it ran (UTC, to the minute), and that it ran from the operator's network.
    pub verified_at: String,
    pub checked: usize,
    /// URLs with at least one problem.
    pub failed: usize,
    pub urls: Vec<UrlReport>,
}

/// One HTTP exchange as the client saw it, after same-host redirects.
struct Answer {
    redirects: Vec<String>,
    status: u16,
    header: HashMap<&'static str, String>,
    body: Option<Bytes>,
}

/// The fetching client: roots trusted, names overridden, deadline.
pub struct Verifier {
    tls: TlsConnector,
    resolve: HashMap<(String, u16), SocketAddr>,
    timeout: Duration,
}

/// Parses curl's `HOST:PORT:ADDR` (ADDR may be a bracketed IPv6 address), and
/// `HOST:PORT:ADDR:PORT2` for a server on another port (as curl's `--connect-to`): the lab's
/// servers listen on free ports while the shipped list's URLs name none.
pub fn parse_resolve(s: &str) -> Result<((String, u16), SocketAddr), VerifyError> {
    let bad = || VerifyError::Resolve(s.to_string());
    let mut parts = s.splitn(3, ':');
    let (Some(host), Some(port), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    let (addr, to_port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (addr, after) = bracketed.split_once(']').ok_or_else(bad)?;
        let to_port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => port,
            None => return Err(bad()),
        };
        (addr, to_port)
    } else {
        match rest.split_once(':') {
            Some((addr, p)) => (addr, p.parse().map_err(|_| bad())?),
            None => (rest, port),
        }
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    Ok(((host.to_ascii_lowercase(), port), SocketAddr::new(addr, to_port)))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Verifier {
    /// A client trusting the public web roots (Mozilla's, as `webpki-roots` ships them), or
    /// `roots_pem`'s certificates alone.
    pub fn new(roots_pem: Option<(&str, &[u8])>, resolve: &[String], timeout: Duration) -> Result<Self, VerifyError> {
        let mut roots = rustls::RootCertStore::empty();
        match roots_pem {
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some((path, pem)) => {
                let fail = |detail: String| VerifyError::Roots { path: path.to_string(), detail };
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| fail(format!("not a PEM certificate file: {e}")))?;
                    roots.add(cert).map_err(|e| fail(format!("not a usable trust anchor: {e}")))?;
                }
                if roots.is_empty() {
                    return Err(fail("holds no certificate".into()));
                }
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| VerifyError::Roots { path: "(TLS versions)".into(), detail: e.to_string() })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let resolve = resolve.iter().map(|s| parse_resolve(s)).collect::<Result<HashMap<_, _>, _>>()?;
        Ok(Verifier { tls: TlsConnector::from(Arc::new(config)), resolve, timeout })
    }

    /// Every URL of `list`, in list order (fetched a few at a time).
    pub async fn verify_list(&self, name: &str, list: &TargetList) -> Vec<UrlReport> {
        let mut jobs = Vec::new();
        for t in &list.targets {
            for image in &t.images {
                jobs.push((t.id.as_str(), Kind::Image, image.as_str(), None));
            }
            jobs.push((t.id.as_str(), Kind::Fetch, t.fetch.as_str(), None));
            if let Some(asset) = &t.throughput {
                jobs.push((t.id.as_str(), Kind::Throughput, asset.url.as_str(), asset.bytes));
            }
        }
        futures_util::stream::iter(jobs)
            .map(|(target, kind, url, listed)| self.verify_url(name, target, kind, url, listed))
            .buffered(CONCURRENCY)
            .collect()
            .await
    }

    /// One URL: fetched as the probe of `kind` would be, and judged.
    pub async fn verify_url(&self, list: &str, target: &str, kind: Kind, url: &str, listed: Option<u64>) -> UrlReport {
        let mut r = UrlReport::new(list, target, kind, url);
        r.listed_bytes = listed;
        if url.starts_with('/') && !url.starts_with("//") {
            r.skipped = true;
            r.warnings.push("on the collector's own origin: not fetched".into());
            return r;
        }
        if let Err(e) = vantage_report::target::check_url(url) {
            r.problems.push(Problem::InvalidUrl(e));
            return r;
        }
        let parsed = match Url::parse(url) {
            Ok(u) => u,
            Err(e) => {
                r.problems.push(Problem::InvalidUrl(e.to_string()));
                return r;
            }
        };
        let answer = match self.get(&parsed, kind).await {
            Ok(a) => a,
            Err(p) => {
                r.problems.push(p);
                return r;
            }
        };
        self.judge(&mut r, &answer);
        if kind == Kind::Throughput && r.ok() {
            match self.get(&parsed, kind).await {
                Err(p) => r.problems.push(p),
                Ok(second) => {
                    let first = (r.bytes.unwrap_or(0), r.sha256.clone().unwrap_or_default());
                    let body = second.body.unwrap_or_default();
                    let again = (body.len() as u64, sha256_hex(&body));
                    if again.0 != first.0 {
                        r.problems.push(Problem::SizeChanged(first.0, again.0));
                    } else if again.1 != first.1 {
                        r.problems.push(Problem::HashChanged(first.1, again.1));
                    }
                }
            }
            if let (Some(listed), Some(served)) = (listed, r.bytes) {
                if listed != served && !r.problems.iter().any(|p| matches!(p, Problem::SizeChanged(..))) {
                    r.problems.push(Problem::SizeMismatch { listed, served });
                }
            }
        }
        r
    }

    /// Fills `r` from one answer and records what would mislead a browser.
    fn judge(&self, r: &mut UrlReport, a: &Answer) {
        r.redirects = a.redirects.clone();
        r.status = Some(a.status);
        r.content_type = a.header.get("content-type").cloned();
        r.content_encoding = a.header.get("content-encoding").cloned().filter(|e| !e.eq_ignore_ascii_case("identity"));
        r.corp = a.header.get("cross-origin-resource-policy").cloned();
        r.acao = a.header.get("access-control-allow-origin").cloned();
        r.tao = a.header.get("timing-allow-origin").cloned();
        if let Some(corp) = &r.corp {
            let policy = corp.trim().to_ascii_lowercase();
            if policy == "same-origin" || policy == "same-site" {
                r.problems.push(Problem::Corp(corp.clone()));
            }
        }
        if !a.redirects.is_empty() {
            r.warnings.push(format!("redirected on the same host: {}", a.redirects.join(" -> ")));
        }
        if r.kind == Kind::Fetch {
            if a.status >= 500 {
                r.warnings.push(format!("answers {}: a no-cors fetch resolves, but the host is failing", a.status));
            }
            return;
        }
        if !(200..300).contains(&a.status) {
            r.problems.push(Problem::Status(a.status));
        }
        let content_type = r.content_type.clone().unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !essence.starts_with("image/") {
            r.problems.push(Problem::NotImageType(content_type.clone()));
        }
        let body = a.body.clone().unwrap_or_default();
        r.bytes = Some(body.len() as u64);
        r.sha256 = Some(sha256_hex(&body));
        if let Some(encoding) = &r.content_encoding {
            if r.kind == Kind::Throughput {
                r.problems.push(Problem::Encoded(encoding.clone()));
            } else {
                r.warnings.push(format!("sent with Content-Encoding {encoding}: the image bytes were not checked"));
            }
            return;
        }
        r.image = sniff(&body);
        match (r.image, declared(&content_type)) {
            (None, _) => r.problems.push(Problem::BodyNotImage(looks_like(&body))),
            // A browser renders SVG only when it is served as SVG.
            (Some(ImageType::Svg), d) if d != Some(ImageType::Svg) => {
                r.problems.push(Problem::NotImageType(content_type.clone()))
            }
            (Some(found), Some(said)) if found != said => r.warnings.push(format!(
                "served as {essence} but the bytes are {}: browsers sniff raster images, so it still decodes",
                format!("{found:?}").to_ascii_uppercase()
            )),
            _ => {}
        }
    }

    /// GETs `url` as a browser's probe of `kind` would, following redirects that stay on its
    /// host, within the deadline.
    async fn get(&self, url: &Url, kind: Kind) -> Result<Answer, Problem> {
        let secs = self.timeout.as_secs();
        tokio::time::timeout(self.timeout, self.get_following(url, kind)).await.map_err(|_| Problem::Timeout(secs))?
    }

    async fn get_following(&self, url: &Url, kind: Kind) -> Result<Answer, Problem> {
        let mut current = url.clone();
        let mut redirects = Vec::new();
        loop {
            let mut answer = self.exchange(&current, kind).await?;
            let location = answer.header.get("location").cloned();
            let (true, Some(location)) = ((300..400).contains(&answer.status), location) else {
                answer.redirects = redirects;
                return Ok(answer);
            };
            let next = current.join(&location).map_err(|e| Problem::Http(format!("bad Location {location:?}: {e}")))?;
            if next.scheme() != "https"
                || next.host_str() != url.host_str()
                || next.port_or_known_default() != url.port_or_known_default()
            {
                let to = match next.host_str() {
                    Some(h) if next.scheme() == "https" => h.to_string(),
                    Some(h) => format!("{}://{h}", next.scheme()),
                    None => location,
                };
                return Err(Problem::RedirectElsewhere(to));
            }
            if redirects.len() >= MAX_REDIRECTS {
                return Err(Problem::TooManyRedirects);
            }
            redirects.push(next.to_string());
            current = next;
        }
    }

    /// One request on a fresh connection (as a cold probe makes one).
    async fn exchange(&self, url: &Url, kind: Kind) -> Result<Answer, Problem> {
        let host = url.host_str().ok_or_else(|| Problem::InvalidUrl("no host".into()))?.to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        let tcp = self.connect(&host, port).await?;
        let name = ServerName::try_from(host.clone()).map_err(|e| Problem::InvalidUrl(e.to_string()))?;
        let tls = self.tls.connect(name, tcp).await.map_err(|e| Problem::Tls(e.to_string()))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(tls))
            .await
            .map_err(|e| Problem::Http(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
        let (dest, accept) = match kind {
            Kind::Fetch => ("empty", "*/*"),
            Kind::Image | Kind::Throughput => ("image", ACCEPT_IMAGE),
        };
        let request = hyper::Request::get(path)
            .header("host", authority)
            .header("user-agent", concat!("vantage-collector/", env!("CARGO_PKG_VERSION"), " (targets verify)"))
            .header("accept", accept)
            .header("accept-encoding", "gzip, deflate, br, zstd")
            .header("sec-fetch-dest", dest)
            .header("sec-fetch-mode", "no-cors")
            .header("sec-fetch-site", "cross-site")
            .body(Empty::<Bytes>::new())
            .map_err(|e| Problem::InvalidUrl(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| Problem::Http(e.to_string()))?;
        let status = response.status().as_u16();
        let mut header = HashMap::new();
        for name in [
            "content-type",
            "content-encoding",
            "cross-origin-resource-policy",
            "access-control-allow-origin",
            "timing-allow-origin",
            "location",
        ] {
            if let Some(v) = response.headers().get(name) {
                header.insert(name, String::from_utf8_lossy(v.as_bytes()).into_owned());
            }
        }
        let body = if kind == Kind::Fetch || (300..400).contains(&status) {
            // A no-cors fetch resolves on the headers; nothing of the body is visible.
            None
        } else {
            let limit = usize::try_from(MAX_ASSET_BYTES).unwrap_or(usize::MAX);
            let collected = Limited::new(response.into_body(), limit).collect().await.map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    Problem::TooLarge
                } else {
                    Problem::Http(format!("the body broke off: {e}"))
                }
            })?;
            Some(collected.to_bytes())
        };
        Ok(Answer { redirects: Vec::new(), status, header, body })
    }

    /// A TCP connection to `host:port`, or to the address `--resolve` gives for it.
    async fn connect(&self, host: &str, port: u16) -> Result<TcpStream, Problem> {
        let addrs: Vec<SocketAddr> = match self.resolve.get(&(host.to_ascii_lowercase(), port)) {
            Some(addr) => vec![*addr],
            None => tokio::net::lookup_host((host, port)).await.map_err(|e| Problem::Dns(e.to_string()))?.collect(),
        };
        let mut last = Problem::Dns("no address".into());
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    return Ok(tcp);
                }
                // The error's text, never the address.
                Err(e) => last = Problem::Connect(e.to_string()),
            }
        }
        Err(last)
    }
}

fn sha256_hex(body: &[u8]) -> String {
    Sha256::digest(body).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The per-URL table printed on standard output: one line per URL, then its problems and
/// warnings indented beneath it.
pub fn table(urls: &[UrlReport]) -> String {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut out = format!(
        "{:<7} {:<10} {:<12} {:>6} {:<24} {:<12} {:<5} {:<5} {:>9}  {}\n",
        "RESULT", "KIND", "TARGET", "STATUS", "TYPE", "CORP", "ACAO", "TAO", "BYTES", "URL"
    );
    for r in urls {
        let result = if r.skipped {
            "skip"
        } else if r.ok() {
            "ok"
        } else {
            "PROBLEM"
        };
        let status = r.status.map_or("-".into(), |s| s.to_string());
        let bytes = r.bytes.map_or("-".into(), |b| b.to_string());
        let _ = writeln!(
            out,
            "{:<7} {:<10} {:<12} {:>6} {:<24} {:<12} {:<5} {:<5} {:>9}  {}",
            result,
            r.kind.as_str(),
            r.target,
            status,
            dash(&r.content_type.as_ref().map(|c| c.split(';').next().unwrap_or("").to_string())),
            dash(&r.corp),
            dash(&r.acao),
            dash(&r.tao),
            bytes,
            r.url
        );
        for p in &r.problems {
            let _ = writeln!(out, "        problem: {p}");
        }
        for w in &r.warnings {
            let _ = writeln!(out, "        note: {w}");
        }
        if r.kind == Kind::Throughput && r.ok() {
            if let Some(sha) = &r.sha256 {
                let _ = writeln!(out, "        sha256 {sha} (same over two fetches)");
            }
        }
    }
    out
}

/// `targets verify`: verifies every list, prints the table, writes `--json`, and fails when any
/// URL would mislead a browser.
pub async fn command(args: VerifyArgs) -> Result<(), String> {
    let pem = match &args.roots {
        Some(p) => {
            Some((p.display().to_string(), std::fs::read(p).map_err(|e| format!("--roots {}: {e}", p.display()))?))
        }
        None => None,
    };
    if args.keep_passing.is_some() && args.files.len() != 1 {
        return Err("--keep-passing writes one list: give one FILE".into());
    }
    let verifier = Verifier::new(pem.as_ref().map(|(p, b)| (p.as_str(), b.as_slice())), &args.resolve, args.timeout)
        .map_err(|e| e.to_string())?;
    let mut lists = Vec::new();
    for file in &args.files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let list = TargetList::parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        lists.push((file.display().to_string(), list));
    }
    let mut urls = Vec::new();
    for (name, list) in &lists {
        urls.extend(verifier.verify_list(name, list).await);
    }
    let failed = urls.iter().filter(|u| !u.ok()).count();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let result = Verification {
        verified_at: vantage_report::timestamp::format_minute(i64::try_from(now).unwrap_or(0)),
        checked: urls.len(),
        failed,
        urls,
    };
    print!("{}", table(&result.urls));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
        std::fs::write(path, json + "\n").map_err(|e| format!("--json {}: {e}", path.display()))?;
    }
    if let (Some(out), [file], [(_, list)]) = (&args.keep_passing, args.files.as_slice(), lists.as_slice()) {
        // Dropping what fails is what was asked: the exit says whether the list was written.
        println!("{failed} of {} URL(s) would mislead a browser", result.checked);
        return write_passing(out, file, list, &result);
    }
    if failed == 0 {
        println!("{} URL(s) checked: every one is what a browser expects", result.checked);
        Ok(())
    } else {
        Err(format!("{failed} of {} URL(s) would mislead a browser (see the table)", result.checked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_changed_by_keep_passing_gets_a_version_of_its_own_within_the_limit() {
        assert_eq!(kept_version("pk-1", "2026-11-30T23:55:00Z"), "pk-1.kept20261130235500");
        let long = "v".repeat(64);
        let v = kept_version(&long, "2026-11-30T23:55:00Z");
        assert!(v.len() == 64 && v.ends_with(".kept20261130235500"), "{v}");
    }

    #[test]
    fn sniffing_tells_images_from_pages() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageType::Png));
        assert_eq!(sniff(b"GIF89a.."), Some(ImageType::Gif));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageType::Jpeg));
        assert_eq!(sniff(&[0, 0, 1, 0, 1, 0]), Some(ImageType::Ico));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(ImageType::Webp));
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"), Some(ImageType::Svg));
        assert_eq!(sniff(b"<!doctype html><html><svg></svg></html>"), None);
        assert_eq!(looks_like(b"  <!DOCTYPE html><title>403</title>"), "an HTML page");
        assert_eq!(looks_like(b""), "empty");
    }

    #[test]
    fn resolve_reads_curls_form_and_refuses_others() {
        let ((host, port), addr) = parse_resolve("Abs.twimg.com:8443:127.0.0.1").unwrap();
        assert_eq!((host.as_str(), port, addr.to_string().as_str()), ("abs.twimg.com", 8443, "127.0.0.1:8443"));
        assert_eq!(parse_resolve("abs.twimg.com:443:[::1]").unwrap().1.to_string(), "[::1]:443");
        // Another port, as curl's --connect-to.
        assert_eq!(parse_resolve("abs.twimg.com:443:127.0.0.1:9001").unwrap().1.to_string(), "127.0.0.1:9001");
        assert_eq!(parse_resolve("abs.twimg.com:443:[::1]:9001").unwrap().1.to_string(), "[::1]:9001");
        for bad in [
            "abs.twimg.com",
            "abs.twimg.com:443",
            "abs.twimg.com:x:127.0.0.1",
            ":443:127.0.0.1",
            "h:443:nowhere",
            "h:443:127.0.0.1:x",
            "h:443:[::1]x",
            "h:443:[::1",
        ] {
            let e = parse_resolve(bad).unwrap_err().to_string();
            assert!(e.contains("HOST:PORT:ADDR"), "{e}");
        }
    }
}
