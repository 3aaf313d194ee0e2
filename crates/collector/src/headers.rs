//! The headers the collector sends with the site it serves: a strict Content-Security-Policy
//! for the self-test page and the widget whose `img-src`/`connect-src` are exactly the origins
//! of the target lists being served (so an injected script could neither run nor send the
//! result anywhere else), `frame-ancestors` (the self-test page is never framed; the widget
//! only by the origins of `--embed-allow`, any when none is given), `Cross-Origin-Resource-Policy`
//! (`cross-origin` only for what other sites load: the widget loader and the widget page),
//! and caching: long-lived and immutable for Trunk's hashed files, revalidation for the rest.
//!
//! The page's one inline script (Trunk's loader) is allowed by its SHA-256, computed from the
//! built `index.html` when the collector starts; nothing else inline runs.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// What the middleware sends, built once at start.
#[derive(Debug, Clone)]
pub struct SiteHeaders {
    page_csp: HeaderValue,
    widget_csp: HeaderValue,
}

/// `scheme://host[:port]` of an absolute URL; `None` for paths on the collector's own origin.
fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.origin() {
        url::Origin::Tuple(..) => Some(parsed.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// The SHA-256 sources (`'sha256-...'`) of the inline `<script>` elements of `html`.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else { break };
        let tag = &after[..open_end];
        let body_and_rest = &after[open_end + 1..];
        let Some(close) = body_and_rest.find("</script>") else { break };
        if !tag.contains(" src=") {
            let digest = Sha256::digest(&body_and_rest.as_bytes()[..close]);
            out.push(format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest)));
        }
        rest = &body_and_rest[close..];
    }
    out
}

impl SiteHeaders {
    /// Policies for a site whose `index.html` is `index_html`, measuring `urls` (every URL of
    /// every list served), framed only by `embed_allow` (any origin when empty).
    pub fn new<'a>(index_html: &str, urls: impl IntoIterator<Item = &'a str>, embed_allow: &[String]) -> SiteHeaders {
        let origins: BTreeSet<String> = urls.into_iter().filter_map(origin).collect();
        let probed = origins.into_iter().collect::<Vec<_>>().join(" ");
        let probed = if probed.is_empty() { String::new() } else { format!(" {probed}") };
        let hashes = inline_script_hashes(index_html).join(" ");
        let common = format!(
            "default-src 'none'; img-src 'self'{probed}; connect-src 'self'{probed}; style-src 'self'; \
             base-uri 'none'; form-action 'none'"
        );
        let page = format!("{common}; script-src 'self' 'wasm-unsafe-eval' {hashes}; frame-ancestors 'none'");
        let ancestors = if embed_allow.is_empty() { "*".to_string() } else { embed_allow.join(" ") };
        let widget = format!("{common}; script-src 'self' 'wasm-unsafe-eval'; frame-ancestors {ancestors}");
        SiteHeaders {
            page_csp: HeaderValue::from_str(page.trim()).unwrap_or(HeaderValue::from_static("default-src 'self'")),
            widget_csp: HeaderValue::from_str(&widget).unwrap_or(HeaderValue::from_static("default-src 'self'")),
        }
    }

    /// From the built site directory.
    pub fn from_site<'a>(site: &Path, urls: impl IntoIterator<Item = &'a str>, embed_allow: &[String]) -> SiteHeaders {
        let index = std::fs::read_to_string(site.join("index.html")).unwrap_or_default();
        SiteHeaders::new(&index, urls, embed_allow)
    }

    /// The policy for a request path: the widget's page, or every other page (the self-test
    /// page answers any unknown path, as a single-page app does).
    pub fn csp_for(&self, path: &str) -> &HeaderValue {
        if path == WIDGET_PAGE {
            &self.widget_csp
        } else {
            &self.page_csp
        }
    }
}

/// The widget's page, framed by newsrooms' articles.
pub const WIDGET_PAGE: &str = "/static/widget.html";
/// The widget's loader, a script other sites load.
pub const EMBED_SCRIPT: &str = "/static/embed.js";

/// Is this file name one of Trunk's content-hashed outputs (`name-0123456789abcdef.ext`,
/// `name-0123456789abcdef_bg.wasm`)? Their content never changes under their name.
pub fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `Cache-Control` for a site path.
pub fn cache_control(path: &str) -> &'static str {
    if is_hashed(path) {
        "public, max-age=31536000, immutable"
    } else {
        // Revalidated on every use (ETag / Last-Modified), so a new build is seen at once.
        "no-cache"
    }
}

/// Middleware for the site's files: the headers above, on every answer of the file server.
pub async fn site_headers(State(headers): State<Arc<SiteHeaders>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let html = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
    if html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, headers.csp_for(&path).clone());
    }
    let shared = path == WIDGET_PAGE || path == EMBED_SCRIPT;
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static(if shared { "cross-origin" } else { "same-origin" }),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if response.status().is_success() || response.status() == axum::http::StatusCode::NOT_MODIFIED {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control(&path)));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str =
        "<!doctype html><script type=\"module\">\nimport init from '/vantage-0123456789abcdef.js';\n</script>\
                         <script src=\"/x.js\"></script>";

    #[test]
    fn policies_name_the_lists_origins_and_the_inline_loader_only() {
        let h = SiteHeaders::new(
            INDEX,
            ["https://abs.twimg.com/favicons/twitter.3.ico", "/static/control.png", "https://x.com/favicon.ico"],
            &[],
        );
        let page = h.csp_for("/").to_str().unwrap().to_string();
        assert!(page.contains("img-src 'self' https://abs.twimg.com https://x.com;"), "{page}");
        assert!(page.contains("connect-src 'self' https://abs.twimg.com https://x.com;"), "{page}");
        assert!(page.contains("frame-ancestors 'none'"), "{page}");
        let hashes = inline_script_hashes(INDEX);
        assert_eq!(hashes.len(), 1, "one inline script, the src one is not hashed: {hashes:?}");
        assert!(page.contains(&hashes[0]) && page.contains("script-src 'self' 'wasm-unsafe-eval'"), "{page}");
        assert!(!page.contains("unsafe-inline"), "{page}");
        let widget = h.csp_for(WIDGET_PAGE).to_str().unwrap().to_string();
        assert!(widget.ends_with("frame-ancestors *"), "{widget}");
        assert!(!widget.contains("sha256"), "the widget has no inline script: {widget}");
        let allowed = SiteHeaders::new(INDEX, [], &["https://news.example".to_string()]);
        assert!(allowed.csp_for(WIDGET_PAGE).to_str().unwrap().ends_with("frame-ancestors https://news.example"));
    }

    #[test]
    fn only_trunks_hashed_files_are_immutable() {
        for hashed in
            ["/vantage-c7ce800584cc27af.js", "/vantage-c7ce800584cc27af_bg.wasm", "/style-446157fae07b1608.css"]
        {
            assert!(is_hashed(hashed), "{hashed}");
            assert_eq!(cache_control(hashed), "public, max-age=31536000, immutable");
        }
        for plain in
            ["/", "/index.html", "/static/embed.js", "/static/widget.html", "/static/engine/engine.js", "/a-b.js"]
        {
            assert!(!is_hashed(plain), "{plain}");
            assert_eq!(cache_control(plain), "no-cache");
        }
    }
}
