//! The Vantage collector: one process that is a whole deployment.
//!
//! It serves the built web client and the target list, takes anonymised reports
//! (`POST /api/v1/reports`), stores them, and publishes them as open data
//! (`GET /api/v1/export`). [`app`] builds the whole service; the binary only binds and serves.
//!
//! Privacy by construction: the peer address reaches handlers only through `peer::Peer`, which
//! they hand straight to the GeoIP lookup; what is kept is a country code and a network number.

pub mod citizenlab;
pub mod config;
pub mod crowd;
pub mod error;
pub mod export;
pub mod geoip;
pub mod headers;
pub mod ingest;
pub mod metrics;
pub mod peer;
pub mod ratelimit;
pub mod serve;
pub mod site;
pub mod sizes;
pub mod store;
pub mod targets;
pub mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use crate::geoip::GeoIp;
use crate::store::Store;
use crate::targets::Catalogue;
use axum::routing::{any, get, post};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;
use vantage_report::wire::path;

/// Largest report body accepted.
pub const MAX_REPORT_BYTES: usize = 64 * 1024;

/// Everything a request handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub catalogue: Arc<Catalogue>,
    pub geo: Arc<GeoIp>,
    pub metrics: Arc<metrics::Metrics>,
    /// Per-network limit on submissions; none when off.
    pub limiter: Option<Arc<ratelimit::RateLimiter>>,
    /// Which header trusted reverse proxies put the client address in, and which peers they are.
    pub proxy: Option<peer::ProxyConfig>,
    /// Origins (embedding sites) allowed to submit cross-origin.
    pub cors_origins: Vec<axum::http::HeaderValue>,
    /// A report's body must arrive within this.
    pub body_timeout: std::time::Duration,
    /// One permit per export that may run at once.
    pub export_slots: Arc<tokio::sync::Semaphore>,
    /// Aggregates and events (`GET /api/v1/aggregates`, `/events`); not served when none.
    pub crowd: Option<crowd::api::CrowdState>,
    /// Origins whose pages may frame the widget (`frame-ancestors`); any when empty.
    pub embed_allow: Vec<String>,
}

/// Exports that may run at once by default.
pub const DEFAULT_MAX_EXPORTS: usize = 8;
/// Default deadline for a report's body.
pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl AppState {
    pub fn new(store: impl Store, catalogue: Catalogue, geo: GeoIp) -> Self {
        AppState::shared(Arc::new(store), catalogue, geo)
    }

    /// The same, for a store already behind a pointer (what `store::open` gives).
    pub fn shared(store: Arc<dyn Store>, catalogue: Catalogue, geo: GeoIp) -> Self {
        AppState {
            store,
            catalogue: Arc::new(catalogue),
            geo: Arc::new(geo),
            metrics: Arc::default(),
            limiter: None,
            proxy: None,
            cors_origins: Vec::new(),
            body_timeout: DEFAULT_BODY_TIMEOUT,
            export_slots: Arc::new(tokio::sync::Semaphore::new(DEFAULT_MAX_EXPORTS)),
            crowd: None,
            embed_allow: Vec::new(),
        }
    }

    /// Lets only pages of these origins frame the widget (`frame-ancestors`).
    pub fn with_embed_allow(mut self, origins: Vec<String>) -> Self {
        self.embed_allow = origins;
        self
    }

    /// Lets pages on these origins submit reports (CORS), e.g. a widget's host.
    pub fn with_cors_origins(mut self, origins: Vec<axum::http::HeaderValue>) -> Self {
        self.cors_origins = origins;
        self
    }

    /// Limits submissions to `per_minute` per IPv4 address or IPv6 /64 (bursts of `burst`).
    /// Called inside a Tokio runtime, it also starts the sweep of full buckets.
    pub fn with_rate_limit(mut self, per_minute: u32, burst: u32) -> Self {
        let limiter = Arc::new(ratelimit::RateLimiter::new(per_minute, burst));
        ratelimit::spawn_sweeper(&limiter);
        self.limiter = Some(limiter);
        self
    }

    /// Believes the client address in `header` (`X-Forwarded-For` or `Forwarded`), as set by
    /// a reverse proxy in front, when the request comes from a trusted proxy: loopback, unless
    /// [`AppState::with_trusted_proxies`] says otherwise.
    pub fn with_proxy_header(mut self, header: axum::http::HeaderName) -> Self {
        let trusted = self.proxy.take().map_or_else(peer::Cidr::loopback, |p| p.trusted);
        self.proxy = Some(peer::ProxyConfig { header, trusted });
        self
    }

    /// The networks trusted proxies connect from (`--trusted-proxy`).
    pub fn with_trusted_proxies(mut self, trusted: Vec<peer::Cidr>) -> Self {
        if let Some(p) = &mut self.proxy {
            p.trusted = trusted;
        }
        self
    }

    /// How long a report's body may take to arrive, and how many exports may run at once.
    pub fn with_limits(mut self, body_timeout: std::time::Duration, max_exports: usize) -> Self {
        self.body_timeout = body_timeout;
        self.export_slots = Arc::new(tokio::sync::Semaphore::new(max_exports.max(1)));
        self
    }
}

/// `GET /healthz`: 200 when the storage can be read and written, 503 otherwise.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    match state.store.check().await {
        Ok(()) => (axum::http::StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::error!(error = %error::chain(&e), "health check failed");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "storage unavailable for reading or writing\n")
        }
    }
}

/// Builds the whole service: the API under `/api/v1`, and the built client from `site` (with
/// `/dashboard` leading to the crowd dashboard, a static page in it)
/// (any unknown path falls back to its `index.html`, as a single-page app needs; hostile paths
/// are turned away first, see [`site`]). Serve it with [`serve::serve`] (or with
/// `into_make_service_with_connect_info::<SocketAddr>()`) so GeoIP sees the peer.
pub fn app(state: AppState, site: Option<PathBuf>) -> Router {
    // Cross-origin submissions only from the origins configured; text/plain bodies (what
    // navigator.sendBeacon sends) need no preflight, JSON ones are allowed one.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(state.cors_origins.clone())
        .allow_methods([axum::http::Method::POST])
        .allow_headers([axum::http::header::CONTENT_TYPE]);
    // Routes are the wire's paths; whatever else starts with /api is answered by the API's
    // JSON errors, never by the site's index.html.
    let mut router = Router::new()
        .route(path::TARGETS, get(targets::get_targets))
        // The handler reads the body itself, within its size limit and deadline.
        // Its 405 goes through the CORS layer too, or a preflight would be answered without it.
        .route(path::REPORTS, post(ingest::post_report).fallback(error::method_not_allowed).layer(cors))
        .route(path::EXPORT, get(export::get_export));
    if let Some(crowd) = state.crowd.clone() {
        router = router.nest("/api/v1", crowd::api::router(crowd));
    }
    let mut router = router
        .route("/api", any(error::not_found))
        .route("/api/", any(error::not_found))
        .route("/api/{*rest}", any(error::not_found))
        .route(path::HEALTH, get(healthz))
        .route(path::METRICS, get(metrics::get_metrics))
        .method_not_allowed_fallback(error::method_not_allowed);
    if let Some(site) = site {
        let index = ServeFile::new(site.join("index.html")).precompressed_gzip();
        let guard = Arc::new(site::SiteRoot::new(&site));
        let policy = Arc::new(headers::SiteHeaders::from_site(&site, state.catalogue.urls(), &state.embed_allow));
        // The `.gz` files `cargo xtask build` writes beside each file are sent to browsers
        // that accept gzip: no compression work per request.
        let files = ServeDir::new(site).precompressed_gzip().fallback(index);
        router = router.route("/dashboard", get(site::dashboard)).fallback_service(
            tower::ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(policy, headers::site_headers))
                .layer(axum::middleware::from_fn_with_state(guard, site::guard))
                .service(files),
        );
    }
    router.layer(TraceLayer::new_for_http()).with_state(state)
}
