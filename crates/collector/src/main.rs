//! `vantage-collector`: the collector service.
//!
//! Run with `vantage-collector serve --listen 127.0.0.1:8080 --database data/vantage.sqlite
//! --site dist` (or `cargo xtask run`, which builds the client first).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vantage_collector::{app, store::sqlite::SqliteStore, targets, AppState};

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
        /// SQLite database file (created with its directory if missing).
        #[arg(long, default_value = "data/vantage.sqlite")]
        database: PathBuf,
        /// Target list (JSON); the built-in default list when absent.
        #[arg(long)]
        targets: Option<PathBuf>,
        /// Directory of the built client (Trunk's `dist/`); API only when absent.
        #[arg(long)]
        site: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "vantage_collector=info,tower_http=warn".into()),
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

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve { listen, database, targets, site } => {
            let list = targets::load(targets.as_deref())?;
            if let Some(site) = &site {
                if !site.join("index.html").is_file() {
                    return Err(format!("--site {}: no index.html there (build the client with `cargo xtask run`)", site.display()));
                }
            }
            let store = SqliteStore::open(&database).map_err(|e| format!("--database {}: {e}", database.display()))?;
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("--listen {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(targets = list.targets.len(), version = %list.version, "target list loaded");
            println!("Vantage collector listening on http://{addr}/");
            axum::serve(listener, app(AppState::new(store, list), site))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .map_err(|e| e.to_string())
        }
    }
}
