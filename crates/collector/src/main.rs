//! `vantage-collector`: the collector service and its target-list tools.
//!
//! Run with `vantage-collector serve --listen 127.0.0.1:8080 --database data/vantage.sqlite
//! --site dist` (or `cargo xtask run`, which builds the client first);
//! `vantage-collector targets check FILE` and `vantage-collector targets import-citizenlab FILE.csv`
//! manage target lists.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use vantage_collector::export::ExportQuery;
use vantage_collector::geoip::GeoIp;
use vantage_collector::peer::Cidr;
use vantage_collector::serve::{parse_duration, ServeConfig};
use vantage_collector::targets::{self, country_of_file, Catalogue};
use vantage_collector::{app, citizenlab, AppState};
use vantage_report::TargetList;

#[derive(Parser)]
#[command(name = "vantage-collector", version, about = "Collects anonymised Vantage reports and serves the client")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the built client.
    Serve(Box<ServeArgs>),
    /// Work with target lists.
    #[command(subcommand)]
    Targets(TargetsCommand),
    /// Dump stored measurements for offline use, as the API's export would give them.
    Export {
        /// SQLite file or postgres:// URL, as for `serve`.
        #[arg(long, default_value = "data/vantage.sqlite")]
        database: String,
        /// Measurements that started at or after this UTC date or time (2023-12-17, 2023-12-17T15:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// ... and before this one.
        #[arg(long)]
        until: Option<String>,
        /// Only this country (ISO code).
        #[arg(long)]
        country: Option<String>,
        /// jsonl (OONI-style measurements) or csv.
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// Output file (standard output when absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load what `export` wrote (JSON Lines) into a database: the API's checks without its
    /// recency rule; reports already there are left alone.
    Import(vantage_collector::crowd::cli::ImportArgs),
    /// Count stored reports into the rollups, run the disruption detector over a stretch of
    /// time and print its events, one JSON object a line.
    Detect(vantage_collector::crowd::cli::DetectArgs),
}

/// `serve`'s options.
#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// SQLite database file (created with its directory if missing), or a
    /// `postgres://user@host:port/db` URL that several collectors may share.
    #[arg(long, default_value = "data/vantage.sqlite")]
    database: String,
    /// Global target list (JSON); the built-in default list when absent.
    #[arg(long)]
    targets: Option<PathBuf>,
    /// An earlier global list whose reports are still accepted (repeatable, at most 8), so
    /// visitors who loaded the page just before an update can still submit.
    #[arg(long = "accept-targets")]
    accept_targets: Vec<PathBuf>,
    /// Directory of per-country additions, one file per ISO code (`PK.json`).
    #[arg(long)]
    targets_dir: Option<PathBuf>,
    /// MaxMind-format country database (GeoLite2-Country); countries are `ZZ` without it.
    #[arg(long)]
    geoip_country: Option<PathBuf>,
    /// MaxMind-format ASN database (GeoLite2-ASN); networks are AS0 without it.
    #[arg(long)]
    geoip_asn: Option<PathBuf>,
    /// Directory of the built client (Trunk's `dist/`); API only when absent.
    #[arg(long)]
    site: Option<PathBuf>,
    /// Reports accepted per address per minute (held in memory only); 0 turns the limit off.
    #[arg(long, default_value_t = 30)]
    rate_limit: u32,
    /// How many reports an address may send at once before the per-minute rate applies.
    #[arg(long, default_value_t = 10)]
    rate_burst: u32,
    /// Believe the client address in this header (X-Forwarded-For or Forwarded), when the
    /// request comes from a --trusted-proxy. Only behind a reverse proxy that sets it.
    #[arg(long)]
    trust_proxy_header: Option<String>,
    /// A network the reverse proxies connect from (repeatable), e.g. 10.0.0.0/8; loopback
    /// when none is given. The proxy header of anyone else is ignored.
    #[arg(long = "trusted-proxy", value_parser = parse_cidr)]
    trusted_proxies: Vec<Cidr>,
    /// An origin allowed to submit reports from its pages (repeatable), e.g. a news site
    /// embedding the widget.
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
    /// A request's headers must arrive within this (also the keep-alive idle limit).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// A report's body must arrive within this.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    body_timeout: Duration,
    /// A connection with no traffic either way for this long is closed.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// A client that takes nothing of a response for this long is cut off.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    send_timeout: Duration,
    /// Most connections open at once (default: 4,096, or fewer if the open-file limit is low).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Most exports running at once; further ones get 503 with Retry-After.
    #[arg(long, default_value_t = vantage_collector::DEFAULT_MAX_EXPORTS)]
    max_exports: usize,
    /// On SIGTERM, how long requests in flight may take before their connections are dropped.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    shutdown_grace: Duration,
    /// Aggregate cells with fewer distinct reports are published only as "not enough reports".
    #[arg(long, default_value_t = vantage_collector::crowd::DEFAULT_MIN_REPORTS)]
    min_reports: u32,
}

#[derive(Subcommand)]
enum TargetsCommand {
    /// Validate lists and print every problem, one per line. A file named like `PK.json` is
    /// checked as a country's additions to the global list.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The global list country files are checked against; the built-in default when absent.
        #[arg(long)]
        global: Option<PathBuf>,
    },
    /// Convert a Citizen Lab test-list CSV into a Vantage list (written to standard output).
    ImportCitizenlab {
        file: PathBuf,
        /// Version of the list produced.
        #[arg(long, default_value = "citizenlab")]
        version: String,
    },
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    s.parse()
}

/// Standard error for logs, where a failed write (a full disk, a log pipe whose reader is
/// gone) loses that line and nothing else: logging must never take the service down.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// A line on standard error that may be lost but never panics (unlike `eprintln!`).
fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Raises the soft open-file limit to the hard one: every connection is a descriptor, and
/// the common default of 1,024 is what a slow-client attack exhausts first. Returns the limit.
fn raise_open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    Some(limit.rlim_cur)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(|| Stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "vantage_collector=info,tower_http=warn".into()),
        )
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(format_args!("vantage-collector: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// A database URL without its password, for messages.
fn redacted(database: &str) -> String {
    match url::Url::parse(database) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => database.to_string(),
    }
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `targets check`: every problem of every file, one per line; fails if any.
fn check(files: &[PathBuf], global: Option<&Path>) -> Result<(), String> {
    let global = targets::load(global)?;
    let mut bad = 0;
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let problems = match TargetList::parse(&read(file)?) {
            Err(e) => vec![e],
            Ok(list) => match country_of_file(name) {
                Some(country) => global.merge(country, &list).problems(),
                None => list.problems(),
            },
        };
        if problems.is_empty() {
            println!("{}: ok", file.display());
        }
        for p in &problems {
            println!("{}: {}: {}", file.display(), p.field, p.detail);
        }
        bad += problems.len();
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(format!("{bad} problem(s) found"))
    }
}

/// `export`: the same parameters, checks and lines as `GET /api/v1/export`.
async fn export(database: &str, params: &[(&str, Option<String>)], out: Option<&Path>) -> Result<(), String> {
    use std::io::Write;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter_map(|(k, v)| v.as_ref().map(|v| (*k, v))))
        .finish();
    let q = ExportQuery::parse(Some(&query)).map_err(|e| format!("--{}: {}", e.field.unwrap_or_default(), e.detail))?;
    let store = vantage_collector::store::open(database).await.map_err(|e| format!("--database: {e}"))?;
    let mut sink: Box<dyn Write + Send> = match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("--out {}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let filter = q.filter.clone();
    let reader = async {
        let result = store.export(filter, tx).await;
        result.map_err(|e| e.to_string())
    };
    let writer = async {
        let mut count = 0u64;
        if let Some(h) = q.format.header() {
            sink.write_all(h.as_bytes()).map_err(|e| e.to_string())?;
        }
        while let Some(row) = rx.recv().await {
            sink.write_all(q.format.line(&row).as_bytes()).map_err(|e| e.to_string())?;
            count += 1;
        }
        sink.flush().map_err(|e| e.to_string())?;
        Ok::<_, String>(count)
    };
    let (read, written) = tokio::join!(reader, writer);
    read?;
    let count = written?;
    store.close().await;
    say(format_args!("{count} measurement(s) exported"));
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Export { database, since, until, country, format, out } => {
            export(
                &database,
                &[("since", since), ("until", until), ("country", country), ("format", Some(format))],
                out.as_deref(),
            )
            .await
        }
        Command::Import(args) => {
            vantage_collector::crowd::cli::import_command(args).await.map(|line| say(format_args!("{line}")))
        }
        Command::Detect(args) => vantage_collector::crowd::cli::detect_command(args).await,
        Command::Targets(TargetsCommand::Check { files, global }) => check(&files, global.as_deref()),
        Command::Targets(TargetsCommand::ImportCitizenlab { file, version }) => {
            let import = citizenlab::import(&read(&file)?, &version).map_err(|e| format!("{}: {e}", file.display()))?;
            for note in &import.notes {
                eprintln!("{}: {note}", file.display());
            }
            eprintln!("{}: {} target(s) imported", file.display(), import.list.targets.len());
            println!("{}", serde_json::to_string_pretty(&import.list).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Serve(args) => {
            let ServeArgs {
                listen,
                database,
                targets,
                accept_targets,
                targets_dir,
                geoip_country,
                geoip_asn,
                site,
                rate_limit,
                rate_burst,
                trust_proxy_header,
                trusted_proxies,
                allow_origins,
                header_timeout,
                body_timeout,
                idle_timeout,
                send_timeout,
                max_connections,
                max_exports,
                shutdown_grace,
                min_reports,
            } = *args;
            let previous = accept_targets.iter().map(|p| targets::load(Some(p))).collect::<Result<Vec<_>, _>>()?;
            let mut catalogue = Catalogue::new(targets::load(targets.as_deref())?).with_previous(previous);
            if let Some(dir) = &targets_dir {
                catalogue = catalogue.with_country_dir(dir)?;
            }
            let geo = GeoIp::open(geoip_country.as_deref(), geoip_asn.as_deref())?;
            if let Some(site) = &site {
                if !site.join("index.html").is_file() {
                    return Err(format!(
                        "--site {}: no index.html there (build the client with `cargo xtask run`)",
                        site.display()
                    ));
                }
            }
            let store = vantage_collector::store::open(&database)
                .await
                .map_err(|e| format!("--database {}: {e}", redacted(&database)))?;
            let crowd = vantage_collector::crowd::cli::start(&database, min_reports, &catalogue).await?;
            let listener =
                tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("--listen {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(
                targets = catalogue.global.targets.len(),
                version = %catalogue.global.version,
                countries = ?catalogue.countries().collect::<Vec<_>>(),
                "target lists loaded"
            );
            let _ = writeln!(std::io::stdout(), "Vantage collector listening on http://{addr}/");
            let files = raise_open_file_limit();
            // Leave room for the database, logs and GeoIP files.
            let fitting = files.map_or(4_096, |n| usize::try_from(n.saturating_sub(64)).unwrap_or(4_096).max(16));
            let max_connections = match max_connections {
                Some(n) => {
                    if n > fitting {
                        tracing::warn!(max_connections = n, open_files = ?files, "--max-connections is above the open-file limit");
                    }
                    n
                }
                None => fitting.min(4_096),
            };
            let config = ServeConfig { header_timeout, idle_timeout, send_timeout, max_connections, shutdown_grace };
            tracing::info!(?config, max_exports, "serving");
            let mut state = AppState::shared(store.into(), catalogue, geo).with_limits(body_timeout, max_exports);
            if rate_limit > 0 {
                state = state.with_rate_limit(rate_limit, rate_burst);
            }
            if let Some(name) = trust_proxy_header {
                let header = axum::http::HeaderName::try_from(name.as_str())
                    .map_err(|e| format!("--trust-proxy-header {name:?}: {e}"))?;
                state = state.with_proxy_header(header);
                if !trusted_proxies.is_empty() {
                    state = state.with_trusted_proxies(trusted_proxies);
                }
            } else if !trusted_proxies.is_empty() {
                return Err("--trusted-proxy needs --trust-proxy-header (X-Forwarded-For or Forwarded)".into());
            }
            let origins = allow_origins
                .iter()
                .map(|o| axum::http::HeaderValue::from_str(o).map_err(|e| format!("--allow-origin {o:?}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            state = state.with_cors_origins(origins);
            state = state.with_crowd(crowd);
            let (store, metrics) = (state.store.clone(), state.metrics.clone());
            // On SIGTERM or Ctrl-C: stop accepting, let requests in flight finish (each waits
            // for its report's commit) for up to the grace period, drop what is still open, then
            // write whatever is still queued.
            vantage_collector::serve::serve(listener, app(state, site), config, metrics, shutdown_signal()).await;
            store.close().await;
            tracing::info!("stopped; every acknowledged report is stored");
            Ok(())
        }
    }
}
