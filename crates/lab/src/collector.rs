//! The collector two ways: in this process on a free loopback port with its SQLite file in a
//! temporary directory the test can inspect ([`Collector`]), and as it is deployed, the real
//! `vantage-collector` binary in its own process ([`serve_collector`]).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vantage_collector::crowd::api::CrowdState;
use vantage_collector::crowd::store::CrowdDb;
use vantage_collector::geoip::GeoIp;
use vantage_collector::targets::Catalogue;
use vantage_collector::{app, store::sqlite::SqliteStore, AppState};
use vantage_report::TargetList;

/// How a test collector differs from the default one.
#[derive(Default)]
pub struct Options {
    /// Content-Security-Policy on every answer.
    pub csp: Option<String>,
    /// `--targets-dir`.
    pub country_dir: Option<PathBuf>,
    /// `--geoip-country`, `--geoip-asn`.
    pub geoip_country: Option<PathBuf>,
    pub geoip_asn: Option<PathBuf>,
    /// Learn the throughput sizes of the list before serving, as `serve --verify-targets`
    /// does at start, from the lab: trusting its CA (PEM) alone and connecting as the
    /// `--verify-resolve` entries say.
    pub verify: Option<VerifyFrom>,
    /// Serve the crowd endpoints (aggregates, events, nearby) from the collector's own
    /// database with this `--min-reports`; no crowd task runs: the test counts and detects
    /// when it wants to (see [`Collector::database`]).
    pub crowd_min_reports: Option<u32>,
}

/// Where a test collector verifies its list: the lab's CA and addresses.
pub struct VerifyFrom {
    pub roots_pem: String,
    pub resolve: Vec<String>,
}

pub struct Collector {
    pub port: u16,
    pub data: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

/// The built client (`cargo xtask test` builds it with Trunk before the tests run).
pub fn site_dir() -> PathBuf {
    let dir = std::env::var_os("VANTAGE_SITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist"));
    assert!(dir.join("index.html").is_file(), "no built client in {}: run `cargo xtask test`", dir.display());
    dir
}

impl Collector {
    pub async fn start(targets: &TargetList) -> Collector {
        Collector::start_with(targets, Options::default()).await
    }

    /// A collector serving `targets` (which must be a valid list), set up as `options` say.
    pub async fn start_with(targets: &TargetList, options: Options) -> Collector {
        let Options { csp, country_dir, geoip_country, geoip_asn, crowd_min_reports, verify } = options;
        let problems = targets.problems();
        assert!(problems.is_empty(), "the test's target list is invalid: {problems:?}");
        let mut catalogue = Catalogue::new(targets.clone());
        if let Some(dir) = country_dir {
            catalogue = catalogue.with_country_dir(&dir).expect("valid country files");
        }
        if let Some(from) = verify {
            let roots = Some(("the lab CA", from.roots_pem.as_bytes()));
            let verifier = vantage_collector::verify::Verifier::new(roots, &from.resolve, Duration::from_secs(10))
                .expect("a verifier trusting the lab");
            vantage_collector::sizes::learn(&verifier, &catalogue).await;
        }
        let geo = GeoIp::open(geoip_country.as_deref(), geoip_asn.as_deref()).expect("readable GeoIP databases");
        let data = tempfile::tempdir().expect("a data directory");
        let database = data.path().join("vantage.sqlite");
        let store = SqliteStore::open(&database).expect("open SQLite");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the collector");
        let port = listener.local_addr().expect("collector address").port();
        let mut state = AppState::new(store, catalogue, geo);
        if let Some(min_reports) = crowd_min_reports {
            let db = CrowdDb::open(database.to_str().expect("a UTF-8 path")).await.expect("open the crowd tables");
            state = state.with_crowd(CrowdState { db: std::sync::Arc::new(db), min_reports });
        }
        let mut router = app(state, Some(site_dir()));
        if let Some(csp) = csp {
            let value = axum::http::HeaderValue::from_str(&csp).expect("a valid policy");
            router = router.layer(axum::middleware::map_response(move |mut res: axum::response::Response| {
                let value = value.clone();
                async move {
                    res.headers_mut().insert(axum::http::header::CONTENT_SECURITY_POLICY, value);
                    res
                }
            }));
        }
        let server = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, service).await.expect("collector serves");
        });
        Collector { port, data, server }
    }

    /// The collector's SQLite database, for a test that stores or counts beside it.
    pub fn database(&self) -> PathBuf {
        self.data.path().join("vantage.sqlite")
    }

    /// Every byte of every file in the data directory (database, WAL, shared memory).
    pub fn data_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        std::fs::read_dir(self.data.path())
            .expect("data directory")
            .map(|e| e.expect("directory entry").path())
            .map(|p| {
                let bytes = std::fs::read(&p).expect("readable data file");
                (p, bytes)
            })
            .collect()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts `binary` (a test's `env!("CARGO_BIN_EXE_vantage-collector")`) serving on `port`
/// with `database` and no rate limit, and waits until it listens. With `debug_log`, every log
/// line at debug level goes there; otherwise logs are discarded.
pub fn serve_collector(
    binary: &str,
    database: impl AsRef<std::ffi::OsStr>,
    port: u16,
    debug_log: Option<Stdio>,
) -> Child {
    serve_collector_with(binary, database, port, &[], debug_log)
}

/// The same with `extra` flags after the usual ones (`--targets`, `--geoip-country`, ...).
pub fn serve_collector_with(
    binary: &str,
    database: impl AsRef<std::ffi::OsStr>,
    port: u16,
    extra: &[&std::ffi::OsStr],
    debug_log: Option<Stdio>,
) -> Child {
    let mut cmd = Command::new(binary);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--rate-limit", "0", "--database"])
        .arg(database)
        .args(extra)
        .stdout(Stdio::null());
    match debug_log {
        Some(log) => cmd.env("RUST_LOG", "debug").stderr(log),
        None => cmd.stderr(Stdio::null()),
    };
    let mut child = cmd.spawn().expect("the collector starts");
    wait_listening(&mut child, port);
    child
}

/// Waits until `child` listens on loopback `port`; panics (failing the test) if it exits first
/// or takes over 20 s.
pub fn wait_listening(child: &mut Child, port: u16) {
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the collector exited before listening on port {port}: {status}");
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "the collector did not listen on port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
