//! `vantage-collector`: the collector service and its target-list tools.
//!
//! Run with `vantage-collector serve --listen 127.0.0.1:8080 --database data/vantage.sqlite
//! --site dist` (or `cargo xtask run`, which builds the client first);
//! `vantage-collector targets check FILE` and `vantage-collector targets import-citizenlab FILE.csv`
//! manage target lists.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vantage_collector::export::ExportQuery;
use vantage_collector::geoip::GeoIp;
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
    Serve {
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
        /// Believe the client address in this header (e.g. X-Forwarded-For). Only behind a
        /// reverse proxy that sets it: otherwise any client could claim any address.
        #[arg(long)]
        trust_proxy_header: Option<String>,
        /// An origin allowed to submit reports from its pages (repeatable), e.g. a news site
        /// embedding the widget.
        #[arg(long = "allow-origin")]
        allow_origins: Vec<String>,
    },
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

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "vantage_collector=info,tower_http=warn".into()),
        )
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vantage-collector: {e}");
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
    eprintln!("{count} measurement(s) exported");
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
        Command::Serve {
            listen,
            database,
            targets,
            targets_dir,
            geoip_country,
            geoip_asn,
            site,
            rate_limit,
            rate_burst,
            trust_proxy_header,
            allow_origins,
        } => {
            let mut catalogue = Catalogue::new(targets::load(targets.as_deref())?);
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
            let listener =
                tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("--listen {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(
                targets = catalogue.global.targets.len(),
                version = %catalogue.global.version,
                countries = ?catalogue.countries().collect::<Vec<_>>(),
                "target lists loaded"
            );
            println!("Vantage collector listening on http://{addr}/");
            let mut state = AppState::shared(store.into(), catalogue, geo);
            if rate_limit > 0 {
                state = state.with_rate_limit(rate_limit, rate_burst);
            }
            if let Some(name) = trust_proxy_header {
                let header = axum::http::HeaderName::try_from(name.as_str())
                    .map_err(|e| format!("--trust-proxy-header {name:?}: {e}"))?;
                state = state.with_proxy_header(header);
            }
            let origins = allow_origins
                .iter()
                .map(|o| axum::http::HeaderValue::from_str(o).map_err(|e| format!("--allow-origin {o:?}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            state = state.with_cors_origins(origins);
            let store = state.store.clone();
            let service = app(state, site).into_make_service_with_connect_info::<SocketAddr>();
            // On SIGTERM or Ctrl-C: stop accepting, let requests in flight finish (each waits
            // for its report's commit), then write whatever is still queued.
            let served = axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await;
            store.close().await;
            tracing::info!("stopped; every acknowledged report is stored");
            served.map_err(|e| e.to_string())
        }
    }
}
