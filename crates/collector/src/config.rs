//! What `vantage-collector serve` is told, and the one function that turns it into a service.
//!
//! Options are typed where clap reads them: addresses, durations, networks, header names and
//! origins are parsed before anything starts, so a bad value stops the collector with a message
//! naming the flag. [`ServeArgs::service`] then loads lists and databases (each failure says which
//! file or flag) and returns the [`Service`] the binary binds and serves; tests can build the
//! very same service from the same arguments without a process.
//!
//! The database URL may come from `VANTAGE_DATABASE` instead of `--database`, so a PostgreSQL
//! password stays out of the process list (`ps` shows every argument).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::http::{HeaderName, HeaderValue};

use crate::geoip::GeoIp;
use crate::peer::Cidr;
use crate::serve::{parse_duration, ServeConfig};
use crate::targets::{self, Catalogue};
use crate::AppState;

/// The environment variable `--database` falls back to.
pub const DATABASE_ENV: &str = "VANTAGE_DATABASE";

/// Where reports are kept; shared by every subcommand that opens the store.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArg {
    /// SQLite database file (created with its directory if missing), or a
    /// `postgres://user@host:port/db` URL that several collectors may share. Read from
    /// VANTAGE_DATABASE when not given, which keeps a password out of the process list.
    #[arg(long, env = DATABASE_ENV, hide_env_values = true, default_value = "data/vantage.sqlite")]
    pub database: String,
}

impl DatabaseArg {
    /// The database for messages: a URL's password is replaced by `***`.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.database) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            _ => self.database.clone(),
        }
    }
}

/// A parser for the period of a repeating task: a duration of at least `min` (a zero period
/// would spin, and a verification every few seconds would hammer the platforms it checks).
fn period(min: Duration) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |text| match parse_duration(text)? {
        d if d < min => Err(format!("{text:?}: must be at least {} ms", min.as_millis())),
        d => Ok(d),
    }
}

/// `serve`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArg,
    /// Global target list (JSON); the built-in default list when absent.
    #[arg(long)]
    pub targets: Option<PathBuf>,
    /// An earlier global list whose reports are still accepted (repeatable, at most 8), so
    /// visitors who loaded the page just before an update can still submit.
    #[arg(long = "accept-targets")]
    pub accept_targets: Vec<PathBuf>,
    /// Directory of per-country additions, one file per ISO code (`PK.json`).
    #[arg(long)]
    pub targets_dir: Option<PathBuf>,
    /// MaxMind-format country database (GeoLite2-Country); countries are `ZZ` without it.
    #[arg(long)]
    pub geoip_country: Option<PathBuf>,
    /// MaxMind-format ASN database (GeoLite2-ASN); networks are AS0 without it.
    #[arg(long)]
    pub geoip_asn: Option<PathBuf>,
    /// Directory of the built client (Trunk's `dist/`); API only when absent.
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// Reports accepted per address per minute (held in memory only); 0 turns the limit off.
    #[arg(long, default_value_t = 30)]
    pub rate_limit: u32,
    /// How many reports an address may send at once before the per-minute rate applies.
    #[arg(long, default_value_t = 10)]
    pub rate_burst: u32,
    /// Believe the client address in this header (X-Forwarded-For or Forwarded), when the
    /// request comes from a --trusted-proxy. Only behind a reverse proxy that sets it.
    #[arg(long, value_parser = parse_header_name)]
    pub trust_proxy_header: Option<HeaderName>,
    /// A network the reverse proxies connect from (repeatable), e.g. 10.0.0.0/8; loopback
    /// when none is given. The proxy header of anyone else is ignored.
    #[arg(long = "trusted-proxy", requires = "trust_proxy_header", value_parser = parse_cidr)]
    pub trusted_proxies: Vec<Cidr>,
    /// An origin allowed to submit reports from its pages (repeatable), e.g.
    /// https://news.example for a news site embedding the widget.
    #[arg(long = "allow-origin", value_parser = parse_origin)]
    pub allow_origins: Vec<HeaderValue>,
    /// An origin whose pages may frame the newsroom widget (repeatable); any origin when none
    /// is given. The self-test page itself is never framed.
    #[arg(long = "embed-allow", value_parser = parse_origin)]
    pub embed_allow: Vec<HeaderValue>,
    /// A request's headers must arrive within this (also the keep-alive idle limit).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// A report's body must arrive within this.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub body_timeout: Duration,
    /// A connection with no traffic either way for this long is closed.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// A client that takes nothing of a response for this long is cut off.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub send_timeout: Duration,
    /// Most connections open at once (default: 4,096, or fewer if the open-file limit is low).
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Most exports running at once; further ones get 503 with Retry-After.
    #[arg(long, default_value_t = crate::DEFAULT_MAX_EXPORTS)]
    pub max_exports: usize,
    /// On SIGTERM, how long requests in flight may take before their connections are dropped.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// Aggregate cells with fewer distinct reports are published only as "not enough reports".
    #[arg(long, default_value_t = crate::crowd::DEFAULT_MIN_REPORTS)]
    pub min_reports: u32,
    /// How often the crowd task counts new reports and, on the collector leading it, detects.
    #[arg(long, default_value = "60s", value_parser = period(Duration::from_millis(100)))]
    pub crowd_every: Duration,
    /// Verify the throughput assets of the lists served, at start and every --verify-every,
    /// as `targets verify` does, and serve each size once two fetches agree (a platform's
    /// large image has no published size). Needs the collector's network to reach the
    /// platforms unfiltered.
    #[arg(long)]
    pub verify_targets: bool,
    /// How often --verify-targets verifies again.
    #[arg(long, default_value = "1440m", value_parser = period(Duration::from_secs(60)), requires = "verify_targets")]
    pub verify_every: Duration,
    /// For tests against the censor lab only: trust the certificates of this PEM file instead
    /// of the public web roots when verifying. Production never needs it.
    #[arg(long, requires = "verify_targets")]
    pub verify_roots: Option<PathBuf>,
    /// For tests only: connect to ADDR[:PORT2] for HOST:PORT when verifying, as curl's
    /// --resolve and --connect-to (repeatable).
    #[arg(long = "verify-resolve", value_name = "HOST:PORT:ADDR[:PORT2]", requires = "verify_targets")]
    pub verify_resolve: Vec<String>,
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    s.parse()
}

/// A header name as HTTP allows it (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`).
fn parse_header_name(s: &str) -> Result<HeaderName, String> {
    HeaderName::try_from(s.trim()).map_err(|_| format!("{s:?} is not an HTTP header name (e.g. X-Forwarded-For)"))
}

/// An origin as a browser sends it: `https://host` or `http://host:port`, nothing after. A
/// trailing `/` is dropped and the host lower-cased, so the value matches what `Origin` carries.
pub fn parse_origin(s: &str) -> Result<HeaderValue, String> {
    let hint = "an origin is scheme://host[:port], e.g. https://news.example";
    let url = url::Url::parse(s.trim()).map_err(|e| format!("{s:?}: {e}; {hint}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{s:?}: only http and https pages can submit; {hint}"));
    }
    if url.host().is_none()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(format!("{s:?}: {hint}"));
    }
    // `ascii_serialization` is exactly what a browser puts in `Origin` (punycode, no default port).
    HeaderValue::try_from(url.origin().ascii_serialization()).map_err(|e| format!("{s:?}: {e}"))
}

/// What the binary binds and serves.
pub struct Service {
    pub listen: SocketAddr,
    pub state: AppState,
    pub site: Option<PathBuf>,
    pub config: ServeConfig,
}

impl ServeArgs {
    /// Loads every list and database the options name and builds the service's state; the
    /// first failure stops the start, naming its flag or file. `open_files` is the process's
    /// open-file limit, which bounds the default connection cap.
    pub async fn service(self, open_files: Option<u64>) -> anyhow::Result<Service> {
        let previous = self.accept_targets.iter().map(|p| targets::load(Some(p))).collect::<Result<Vec<_>, _>>()?;
        let mut catalogue = Catalogue::new(targets::load(self.targets.as_deref())?).with_previous(previous);
        if let Some(dir) = &self.targets_dir {
            catalogue = catalogue.with_country_dir(dir)?;
        }
        let geo = GeoIp::open(self.geoip_country.as_deref(), self.geoip_asn.as_deref())?;
        let verifier = if self.verify_targets { Some(self.verifier()?) } else { None };
        if let Some(site) = &self.site {
            if !site.join("index.html").is_file() {
                bail!("--site {}: no index.html there (build the client with `cargo xtask run`)", site.display());
            }
        }
        let database = &self.database.database;
        let store =
            crate::store::open(database).await.with_context(|| format!("--database {}", self.database.redacted()))?;
        let crowd = crate::crowd::cli::start(database, self.min_reports, &catalogue, self.crowd_every)
            .await
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("--database {}", self.database.redacted()))?;
        tracing::info!(
            targets = catalogue.global.targets.len(),
            version = %catalogue.global.version,
            countries = ?catalogue.countries().collect::<Vec<_>>(),
            "target lists loaded"
        );
        let mut state = AppState::shared(store.into(), catalogue, geo)
            .with_limits(self.body_timeout, self.max_exports)
            .with_cors_origins(self.allow_origins)
            .with_embed_allow(self.embed_allow.iter().filter_map(|o| o.to_str().ok()).map(str::to_string).collect())
            .with_crowd(crowd);
        if self.rate_limit > 0 {
            state = state.with_rate_limit(self.rate_limit, self.rate_burst);
        }
        if let Some(verifier) = verifier {
            crate::sizes::spawn(verifier, state.catalogue.clone(), self.verify_every);
        }
        if let Some(header) = self.trust_proxy_header {
            state = state.with_proxy_header(header);
            if !self.trusted_proxies.is_empty() {
                state = state.with_trusted_proxies(self.trusted_proxies);
            }
        }
        let config = ServeConfig {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            send_timeout: self.send_timeout,
            max_connections: connection_cap(self.max_connections, open_files),
            shutdown_grace: self.shutdown_grace,
        };
        Ok(Service { listen: self.listen, state, site: self.site, config })
    }
}

impl ServeArgs {
    /// The client `--verify-targets` fetches with: the public web roots, or `--verify-roots`.
    fn verifier(&self) -> anyhow::Result<crate::verify::Verifier> {
        let pem = match &self.verify_roots {
            Some(p) => Some(std::fs::read(p).with_context(|| format!("--verify-roots {}", p.display()))?),
            None => None,
        };
        let name = self.verify_roots.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        let roots = pem.as_deref().map(|pem| (name.as_str(), pem));
        crate::verify::Verifier::new(roots, &self.verify_resolve, crate::verify::DEFAULT_TIMEOUT).map_err(|e| {
            anyhow::anyhow!(
                "{}",
                e.to_string().replace("--roots", "--verify-roots").replace("--resolve", "--verify-resolve")
            )
        })
    }
}

/// `--max-connections`, or as many as the open-file limit allows (at most 4,096), leaving room
/// for the database, logs and GeoIP files.
fn connection_cap(asked: Option<usize>, open_files: Option<u64>) -> usize {
    let fitting = open_files.map_or(4_096, |n| usize::try_from(n.saturating_sub(64)).unwrap_or(4_096).max(16));
    match asked {
        Some(n) => {
            if n > fitting {
                tracing::warn!(max_connections = n, ?open_files, "--max-connections is above the open-file limit");
            }
            n
        }
        None => fitting.min(4_096),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<ServeArgs, String> {
        Serve::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .map(|s| s.args)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn origins_are_taken_as_browsers_send_them_and_anything_else_is_refused() {
        let args =
            parse(&["--allow-origin", "https://News.Example/", "--allow-origin", "http://127.0.0.1:8081"]).unwrap();
        assert_eq!(args.allow_origins, ["https://news.example", "http://127.0.0.1:8081"]);
        for bad in ["news.example", "https://news.example/embed", "ftp://news.example", "https://a@news.example", "*"] {
            let e = parse(&["--allow-origin", bad]).unwrap_err();
            assert!(e.contains("--allow-origin") && e.contains("scheme://host"), "{bad}: {e}");
        }
    }

    #[test]
    fn header_names_and_networks_are_checked_before_anything_starts() {
        let args = parse(&["--trust-proxy-header", "X-Forwarded-For", "--trusted-proxy", "10.0.0.0/8"]).unwrap();
        assert_eq!(args.trust_proxy_header.unwrap(), "x-forwarded-for");
        let e = parse(&["--trust-proxy-header", "X Forwarded"]).unwrap_err();
        assert!(e.contains("--trust-proxy-header") && e.contains("not an HTTP header name"), "{e}");
        let e = parse(&["--trust-proxy-header", "Forwarded", "--trusted-proxy", "10.0.0.0/33"]).unwrap_err();
        assert!(e.contains("--trusted-proxy") && e.contains("prefix"), "{e}");
        let e = parse(&["--trusted-proxy", "10.0.0.0/8"]).unwrap_err();
        assert!(e.contains("--trust-proxy-header"), "a trusted proxy without its header: {e}");
        let e = parse(&["--header-timeout", "soon"]).unwrap_err();
        assert!(e.contains("--header-timeout"), "{e}");
    }

    #[test]
    fn a_database_password_is_never_shown() {
        let db = DatabaseArg { database: "postgres://vantage:s3cret@db.internal/vantage".into() };
        assert_eq!(db.redacted(), "postgres://vantage:***@db.internal/vantage");
        let file = DatabaseArg { database: "data/vantage.sqlite".into() };
        assert_eq!(file.redacted(), "data/vantage.sqlite");
    }

    #[test]
    fn the_connection_cap_follows_the_open_file_limit() {
        assert_eq!(connection_cap(None, None), 4_096);
        assert_eq!(connection_cap(None, Some(1_024)), 960);
        assert_eq!(connection_cap(None, Some(70)), 16);
        assert_eq!(connection_cap(None, Some(1 << 20)), 4_096);
        assert_eq!(connection_cap(Some(500), Some(64)), 500);
    }

    /// The same arguments give the same service the binary runs: here without a process.
    #[tokio::test]
    async fn arguments_become_the_service() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("v.sqlite");
        let args = parse(&[
            "--listen",
            "127.0.0.1:0",
            "--database",
            db.to_str().unwrap(),
            "--rate-limit",
            "0",
            "--max-exports",
            "3",
            "--trust-proxy-header",
            "Forwarded",
        ])
        .unwrap();
        let service = args.service(Some(1_024)).await.unwrap();
        assert_eq!(service.config.max_connections, 960);
        assert!(service.state.limiter.is_none());
        assert_eq!(service.state.export_slots.available_permits(), 3);
        assert_eq!(service.state.proxy.as_ref().map(|p| p.header.as_str()), Some("forwarded"));
        assert!(db.is_file(), "the database was created");
        service.state.store.close().await;

        let missing = parse(&["--database", db.to_str().unwrap(), "--targets", "/nonexistent/list.json"]).unwrap();
        let e = format!("{:#}", missing.service(None).await.err().unwrap());
        assert!(e.contains("/nonexistent/list.json"), "{e}");
    }
}
