//! The headers of the site the collector serves (the self-test page, the widget, their files):
//! a strict Content-Security-Policy from the served lists, frame-ancestors per page (the
//! widget's from `--embed-allow`), Cross-Origin-Resource-Policy, caching, and the `.gz` files
//! of the build sent precompressed.
//!
//! Run with `cargo test -p vantage-collector --test site_headers`.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vantage_collector::geoip::GeoIp;
use vantage_collector::headers::inline_script_hashes;
use vantage_collector::targets::Catalogue;
use vantage_collector::{app, store::sqlite::SqliteStore, AppState};

const INDEX: &str = "<!doctype html><html><head><script type=\"module\">\nimport init from '/vantage-0123456789abcdef.js';\nawait init();\n</script></head><body></body></html>";

/// A built site in miniature: the page with Trunk's inline loader, a hashed script (and its
/// `.gz`), the widget's page and loader.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("static")).unwrap();
    std::fs::write(p.join("index.html"), INDEX).unwrap();
    let script = "export default function init() {}\n".repeat(50);
    std::fs::write(p.join("vantage-0123456789abcdef.js"), &script).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, script.as_bytes()).unwrap();
    std::fs::write(p.join("vantage-0123456789abcdef.js.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(p.join("static/widget.html"), "<!doctype html><title>w</title>").unwrap();
    std::fs::write(p.join("static/embed.js"), "(function(){})();").unwrap();
    dir
}

fn router(site: &std::path::Path, embed_allow: Vec<String>) -> (tempfile::TempDir, axum::Router) {
    let data = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&data.path().join("vantage.sqlite")).unwrap();
    let catalogue = Catalogue::new(vantage_collector::targets::load(None).unwrap());
    let state = AppState::new(store, catalogue, GeoIp::default()).with_embed_allow(embed_allow);
    (data, app(state, Some(site.to_path_buf())))
}

async fn get(router: &axum::Router, path: &str, gzip: bool) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::get(path);
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let res = router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn the_self_test_page_runs_only_its_own_code_and_loads_only_the_lists_sites() {
    let site = site();
    let (_data, r) = router(site.path(), Vec::new());
    for path in ["/", "/index.html", "/some/app/route"] {
        let (status, h, _) = get(&r, path, false).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let csp = header(&h, "content-security-policy");
        assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "the self-test page is never framed: {csp}");
        let hash = &inline_script_hashes(INDEX)[0];
        assert!(csp.contains(&format!("script-src 'self' 'wasm-unsafe-eval' {hash}")), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        // The shipped list's sites, and nothing else.
        for origin in ["https://abs.twimg.com", "https://cdn.jsdelivr.net"] {
            assert!(csp.contains("img-src 'self' ") && csp.contains(origin), "{origin}: {csp}");
        }
        assert!(!csp.contains("/static/control.png"), "paths are 'self': {csp}");
        assert_eq!(header(&h, "cross-origin-resource-policy"), "same-origin");
        assert_eq!(header(&h, "x-content-type-options"), "nosniff");
        assert_eq!(header(&h, "cache-control"), "no-cache", "{path}: a new build is seen at once");
    }
}

#[tokio::test]
async fn the_widget_may_be_framed_by_the_allowed_origins_and_its_loader_by_anyone() {
    let site = site();
    let (_data, any) = router(site.path(), Vec::new());
    let (_, h, _) = get(&any, "/static/widget.html", false).await;
    assert!(header(&h, "content-security-policy").ends_with("frame-ancestors *"), "{h:?}");
    assert_eq!(header(&h, "cross-origin-resource-policy"), "cross-origin");
    let (_data2, allowed) = router(site.path(), vec!["https://news.example".into()]);
    let (_, h, _) = get(&allowed, "/static/widget.html", false).await;
    assert!(header(&h, "content-security-policy").ends_with("frame-ancestors https://news.example"), "{h:?}");
    let (status, h, _) = get(&allowed, "/static/embed.js", false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&h, "cross-origin-resource-policy"), "cross-origin", "loaded by other sites");
    assert_eq!(header(&h, "content-security-policy"), "", "a script carries no page policy");
}

#[tokio::test]
async fn hashed_files_are_immutable_and_sent_precompressed() {
    let site = site();
    let (_data, r) = router(site.path(), Vec::new());
    let (status, h, body) = get(&r, "/vantage-0123456789abcdef.js", true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&h, "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(&h, "content-encoding"), "gzip", "the build's .gz file is sent");
    let plain = std::fs::read(site.path().join("vantage-0123456789abcdef.js")).unwrap();
    assert!(body.len() < plain.len() / 4, "{} gzip bytes for {} plain", body.len(), plain.len());
    let (_, h, body) = get(&r, "/vantage-0123456789abcdef.js", false).await;
    assert_eq!(header(&h, "content-encoding"), "", "a client without gzip gets the file itself");
    assert_eq!(body, plain);
}
