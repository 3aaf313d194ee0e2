//! What `vantage-collector import` and `vantage-collector detect` do, so the binary only parses
//! arguments.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::api::parse_time;
use super::detect::Config;
use super::import::{import, ImportSummary};
use super::store::CrowdDb;
use crate::targets::{self, Catalogue};

/// The lists an import accepts measurements of: as `serve` builds them from the same options.
pub fn catalogue(global: Option<&Path>, accept: &[PathBuf], country_dir: Option<&Path>) -> Result<Catalogue, String> {
    let text = |e: anyhow::Error| format!("{e:#}");
    let previous = accept.iter().map(|p| targets::load(Some(p))).collect::<Result<Vec<_>, _>>().map_err(text)?;
    let catalogue = Catalogue::new(targets::load(global).map_err(text)?).with_previous(previous);
    match country_dir {
        Some(dir) => catalogue.with_country_dir(dir).map_err(text),
        None => Ok(catalogue),
    }
}

/// `import`: loads `file` (what `export` wrote) into `database`.
pub async fn import_file(database: &str, file: &Path, catalogue: &Catalogue) -> Result<ImportSummary, String> {
    let input = std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let store = crate::store::open(database).await.map_err(|e| format!("opening the database: {e}"))?;
    let result = import(store.as_ref(), catalogue, BufReader::new(input)).await;
    store.close().await;
    result.map_err(|e| format!("{}: {e}", file.display()))
}

/// `detect`: counts stored reports into the rollups, runs the detector over [since, until)
/// (with the trailing history before it) and returns the events, one JSON object a line.
pub async fn detect_lines(
    database: &str,
    since: &str,
    until: Option<&str>,
    min_reports: u32,
    catalogue: &Catalogue,
) -> Result<Vec<String>, String> {
    let time = |s: &str, name: &str| {
        parse_time(s)
            .ok_or_else(|| format!("--{name} {s:?}: use a date like 2023-12-17 or a time like 2023-12-17T15:00:00Z"))
    };
    let since = time(since, "since")?;
    let until = match until {
        Some(u) => time(u, "until")?,
        None => crate::ingest::now_secs(),
    };
    if since >= until {
        return Err("--since must be before --until".into());
    }
    // Opening the report store brings the schema up to date before the crowd tables join it.
    let store = crate::store::open(database).await.map_err(|e| format!("opening the database: {e}"))?;
    let db = CrowdDb::open(database).await.map_err(|e| format!("opening the crowd tables: {e}"))?;
    let names = catalogue.global.targets.iter().map(|t| (t.id.clone(), t.name.clone())).collect();
    let cfg = Config { min_reports, names, ..Config::default() };
    let events = super::job::detect_range(&db, &cfg, since, until).await.map_err(|e| e.to_string());
    store.close().await;
    events?.iter().map(|e| serde_json::to_string(e).map_err(|e| e.to_string())).collect()
}

/// `vantage-collector import`'s options.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// SQLite file or postgres:// URL, as for `serve`.
    #[arg(long, env = crate::config::DATABASE_ENV, hide_env_values = true, default_value = "data/vantage.sqlite")]
    pub database: String,
    /// The global target list the measurements were made with (the built-in default when absent).
    #[arg(long)]
    pub targets: Option<PathBuf>,
    /// Earlier global lists whose measurements are accepted too (repeatable).
    #[arg(long = "accept-targets")]
    pub accept_targets: Vec<PathBuf>,
    /// Directory of per-country additions, as for `serve`.
    #[arg(long)]
    pub targets_dir: Option<PathBuf>,
    /// The export file (JSON Lines).
    pub file: PathBuf,
}

/// `vantage-collector detect`'s options.
#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// SQLite file or postgres:// URL, as for `serve`.
    #[arg(long, env = crate::config::DATABASE_ENV, hide_env_values = true, default_value = "data/vantage.sqlite")]
    pub database: String,
    /// Events running at or after this UTC date or time (2023-12-17, 2023-12-17T15:00:00Z).
    #[arg(long)]
    pub since: String,
    /// ... and starting before this one (now when absent).
    #[arg(long)]
    pub until: Option<String>,
    /// Fewest distinct reports behind any decision or figure.
    #[arg(long, default_value_t = super::DEFAULT_MIN_REPORTS)]
    pub min_reports: u32,
    /// The global target list, for platforms' names in summaries (the built-in default when absent).
    #[arg(long)]
    pub targets: Option<PathBuf>,
}

/// Runs `import`; returns the line to print.
pub async fn import_command(args: ImportArgs) -> Result<String, String> {
    let catalogue = catalogue(args.targets.as_deref(), &args.accept_targets, args.targets_dir.as_deref())?;
    let s = import_file(&args.database, &args.file, &catalogue).await?;
    Ok(format!("{}: {} report(s): {} stored, {} already there", args.file.display(), s.reports, s.stored, s.duplicates))
}

/// Runs `detect`, printing the events to standard output.
pub async fn detect_command(args: DetectArgs) -> Result<(), String> {
    use std::io::Write;
    let catalogue = catalogue(args.targets.as_deref(), &[], None)?;
    let lines = detect_lines(&args.database, &args.since, args.until.as_deref(), args.min_reports, &catalogue).await?;
    let mut out = std::io::stdout().lock();
    for line in &lines {
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    eprintln!("{} event(s)", lines.len());
    Ok(())
}

/// For `serve`: opens the crowd tables and starts the crowd task (a round every `every`);
/// returns what the crowd endpoints need. The task and the endpoints use connections of their
/// own, so a request never runs inside the task's transaction (PostgreSQL).
pub async fn start(
    database: &str,
    min_reports: u32,
    catalogue: &Catalogue,
    every: std::time::Duration,
) -> Result<super::api::CrowdState, String> {
    let open = || async { CrowdDb::open(database).await.map_err(|e| format!("opening the crowd tables: {e}")) };
    let (job_db, api_db) = (std::sync::Arc::new(open().await?), std::sync::Arc::new(open().await?));
    let names = catalogue.global.targets.iter().map(|t| (t.id.clone(), t.name.clone())).collect();
    let cfg = Config { min_reports, names, ..Config::default() };
    tokio::spawn(super::job::run(job_db, cfg, every));
    Ok(super::api::CrowdState { db: api_db, min_reports })
}
