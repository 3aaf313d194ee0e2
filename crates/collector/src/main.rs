//! `vantage-collector`: the collector service and its target-list tools.
//!
//! Run with `vantage-collector serve --listen 127.0.0.1:8080 --database data/vantage.sqlite
//! --site dist` (or `cargo xtask run`, which builds the client first);
//! `vantage-collector targets check FILE` and `vantage-collector targets import-citizenlab FILE.csv --country XX`
//! manage target lists; `vantage-collector targets verify FILE` fetches every URL of a list as a
//! browser would meet it. Options are declared in [`vantage_collector::config`]; this file only
//! runs what they say.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use vantage_collector::config::{DatabaseArg, ServeArgs};
use vantage_collector::export::{parse_day_or_time, ExportQuery, Format, TIME_HINT};
use vantage_collector::store::ExportFilter;
use vantage_collector::targets::{self, country_of_file};
use vantage_collector::{app, citizenlab};
use vantage_report::wire::CountryCode;
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
    Export(ExportArgs),
    /// Load what `export` wrote (JSON Lines) into a database: the API's checks without its
    /// recency rule; reports already there are left alone.
    Import(vantage_collector::crowd::cli::ImportArgs),
    /// Count stored reports into the rollups, run the disruption detector over a stretch of
    /// time and print its events, one JSON object a line.
    Detect(vantage_collector::crowd::cli::DetectArgs),
}

/// `export`'s options: the parameters of `GET /api/v1/export`, checked the same way.
#[derive(clap::Args)]
struct ExportArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Measurements that started at or after this UTC date or time (2023-12-17, 2023-12-17T15:00:00Z).
    #[arg(long, value_parser = parse_time)]
    since: Option<i64>,
    /// ... and before this one.
    #[arg(long, value_parser = parse_time)]
    until: Option<i64>,
    /// Only this country (ISO code).
    #[arg(long, value_parser = parse_country)]
    country: Option<CountryCode>,
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Output file (standard output when absent).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_time(s: &str) -> Result<i64, String> {
    parse_day_or_time(s).ok_or_else(|| format!("{s:?} {TIME_HINT}"))
}

fn parse_country(s: &str) -> Result<CountryCode, String> {
    CountryCode::parse(s).ok_or_else(|| format!("{s:?} is not a two-letter ISO country code such as PK"))
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
    /// Convert a Citizen Lab test-list CSV into a Vantage list a collector can serve (written to
    /// standard output): a country's additions (`--country XX`, save as XX.json in
    /// --targets-dir) or a list of its own (`--standalone`, the global list's controls added).
    #[command(group(clap::ArgGroup::new("scope").required(true).args(["country", "standalone"])))]
    ImportCitizenlab {
        file: PathBuf,
        /// Version of the list produced.
        #[arg(long, default_value = "citizenlab")]
        version: String,
        /// The list is this country's additions to the global list.
        #[arg(long, value_parser = parse_country)]
        country: Option<CountryCode>,
        /// The list is served on its own (`--targets FILE`).
        #[arg(long)]
        standalone: bool,
        /// Keep only rows of these category codes (repeatable or comma-separated: NEWS,HUMR,POLR).
        #[arg(long = "category", value_delimiter = ',')]
        categories: Vec<String>,
        /// At most this many targets (default: the room the list has).
        #[arg(long)]
        limit: Option<usize>,
        /// The global list the result must serve beside (default: the built-in list).
        #[arg(long)]
        global: Option<PathBuf>,
    },
    /// Fetch every URL of the lists as a browser would meet it (TLS, redirects, status, type,
    /// image bytes, CORP/ACAO/TAO, throughput sizes); fails on any URL that would mislead.
    Verify(vantage_collector::verify::VerifyArgs),
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
        // `export | head`: the reader had all it wanted; that is no failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            say(format_args!("vantage-collector: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Did standard output's reader go away?
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
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

/// `targets check`: every problem of every file, one per line; fails if any.
fn check(files: &[PathBuf], global: Option<&Path>) -> anyhow::Result<()> {
    let global = targets::load(global)?;
    let mut out = std::io::stdout().lock();
    let mut bad = 0;
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let problems = match TargetList::parse(&targets::read(file)?) {
            Err(e) => vec![e],
            Ok(list) => match country_of_file(name) {
                Some(country) => global.merge(country, &list).problems(),
                None => list.problems(),
            },
        };
        if problems.is_empty() {
            writeln!(out, "{}: ok", file.display())?;
        }
        for p in &problems {
            writeln!(out, "{}: {}: {}", file.display(), p.field, p.detail)?;
        }
        bad += problems.len();
    }
    if bad > 0 {
        bail!("{bad} problem(s) found");
    }
    Ok(())
}

/// `export`: the same checks and lines as `GET /api/v1/export`. A reader that goes away
/// (`export | head`) ends it early, quietly.
async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let filter = ExportFilter { since: args.since, until: args.until, country: args.country.map(|c| c.to_string()) };
    let q = ExportQuery::new(filter, args.format)
        .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.unwrap_or_default(), e.detail))?;
    let mut sink: Box<dyn Write + Send> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("--out {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let store = vantage_collector::store::open(&args.database.database)
        .await
        .with_context(|| format!("--database {}", args.database.redacted()))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let reader = store.export(q.filter, tx);
    let format = q.format;
    // The writer owns the receiving end: when it stops early (a closed pipe) the channel
    // closes with it and the reader stops too, instead of waiting for room forever.
    let writer = async move {
        let mut count = 0u64;
        if let Some(h) = format.header() {
            sink.write_all(h.as_bytes())?;
        }
        while let Some(row) = rx.recv().await {
            sink.write_all(format.line(&row).as_bytes())?;
            count += 1;
        }
        sink.flush()?;
        Ok::<_, std::io::Error>(count)
    };
    let (read, written) = tokio::join!(reader, writer);
    store.close().await;
    let count = written.context("writing the export")?;
    read.context("reading the export")?;
    say(format_args!("{count} measurement(s) exported"));
    Ok(())
}

/// `targets import-citizenlab`: the list on standard output, notes on standard error.
fn import_citizenlab(file: &Path, options: &citizenlab::Options, global: Option<&Path>) -> anyhow::Result<()> {
    let global = targets::load(global)?;
    let import = citizenlab::import(&targets::read(file)?, options, &global)
        .map_err(anyhow::Error::msg)
        .with_context(|| file.display().to_string())?;
    for note in &import.notes {
        say(format_args!("{}: {note}", file.display()));
    }
    say(format_args!("{}: {} target(s) imported", file.display(), import.list.targets.len()));
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &import.list)?;
    writeln!(out)?;
    Ok(())
}

/// `serve`: builds the service from its options, then binds and serves until a signal.
async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let service = args.service(raise_open_file_limit()).await?;
    let listener =
        tokio::net::TcpListener::bind(service.listen).await.with_context(|| format!("--listen {}", service.listen))?;
    let addr = listener.local_addr()?;
    let _ = writeln!(std::io::stdout(), "Vantage collector listening on http://{addr}/");
    let max_exports = service.state.export_slots.available_permits();
    tracing::info!(config = ?service.config, max_exports, "serving");
    let (store, metrics) = (service.state.store.clone(), service.state.metrics.clone());
    // On SIGTERM or Ctrl-C: stop accepting, let requests in flight finish (each waits for its
    // report's commit) for up to the grace period, drop what is still open, then write whatever
    // is still queued.
    let router = app(service.state, service.site);
    vantage_collector::serve::serve(listener, router, service.config, metrics, shutdown_signal()).await;
    store.close().await;
    tracing::info!("stopped; every acknowledged report is stored");
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Export(args) => export(args).await,
        Command::Import(args) => {
            let line = vantage_collector::crowd::cli::import_command(args).await.map_err(anyhow::Error::msg)?;
            say(format_args!("{line}"));
            Ok(())
        }
        Command::Detect(args) => vantage_collector::crowd::cli::detect_command(args).await.map_err(anyhow::Error::msg),
        Command::Targets(TargetsCommand::Check { files, global }) => check(&files, global.as_deref()),
        Command::Targets(TargetsCommand::Verify(args)) => {
            vantage_collector::verify::command(args).await.map_err(anyhow::Error::msg)
        }
        Command::Targets(TargetsCommand::ImportCitizenlab {
            file,
            version,
            country,
            standalone: _,
            categories,
            limit,
            global,
        }) => {
            let scope = match country {
                Some(c) => citizenlab::Scope::Country(c.to_string()),
                None => citizenlab::Scope::Standalone,
            };
            import_citizenlab(&file, &citizenlab::Options { version, scope, categories, limit }, global.as_deref())
        }
    }
}
