//! The built client, served from `--site`, behind a guard that turns hostile paths away before
//! they reach the file server: a segment too long for any file name (which would otherwise
//! reach the file system and come back as a 500), an empty segment (`//static` would be
//! redirected to `//static/`, a protocol-relative URL to the host `static`), and any path that
//! resolves, through symlinks, outside the site directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Longest path segment that can name a file (Linux `NAME_MAX`).
const MAX_SEGMENT: usize = 255;

/// The site directory, resolved once.
pub struct SiteRoot {
    root: PathBuf,
    /// `root` with symlinks resolved, what every served file must be inside of.
    canonical: Option<PathBuf>,
}

impl SiteRoot {
    pub fn new(root: &Path) -> SiteRoot {
        SiteRoot { root: root.to_path_buf(), canonical: std::fs::canonicalize(root).ok() }
    }

    /// Is `path` (a request path) one the file server may look up?
    fn allows(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else { return false };
        let segments: Vec<&str> = rest.split('/').collect();
        let last = segments.len() - 1;
        for (i, raw) in segments.iter().enumerate() {
            // Only the last segment may be empty (`/static/` asks for a directory's index).
            if raw.is_empty() && i != last || raw.len() > MAX_SEGMENT {
                return false;
            }
        }
        let decoded = percent_encoding::percent_decode_str(rest).decode_utf8_lossy();
        if decoded.split('/').any(|s| s.len() > MAX_SEGMENT || s == ".." || s.contains('\0')) {
            return false;
        }
        let Some(canonical_root) = &self.canonical else { return true };
        match std::fs::canonicalize(self.root.join(decoded.as_ref())) {
            Ok(resolved) => resolved.starts_with(canonical_root),
            // Nothing there: the single-page app's index answers.
            Err(_) => true,
        }
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Middleware in front of the file server.
pub async fn guard(State(root): State<Arc<SiteRoot>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let allowed = tokio::task::spawn_blocking(move || root.allows(&path)).await.unwrap_or(false);
    if allowed {
        next.run(request).await
    } else {
        not_found()
    }
}

/// `GET /dashboard`: the public crowd dashboard, a static page of the built client
/// (`static/dashboard.html`), with the link's parameters (`?country=PK&days=7`) kept.
pub async fn dashboard(axum::extract::RawQuery(query): axum::extract::RawQuery) -> axum::response::Redirect {
    match query.filter(|q| !q.is_empty()) {
        Some(q) => axum::response::Redirect::to(&format!("/static/dashboard.html?{q}")),
        None => axum::response::Redirect::to("/static/dashboard.html"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_paths_are_refused_and_ordinary_ones_allowed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("static")).unwrap();
        std::fs::write(dir.path().join("static/app.js"), "1").unwrap();
        let root = SiteRoot::new(dir.path());
        for ok in ["/", "/static/", "/static/app.js", "/report/some/page", "/a%20b"] {
            assert!(root.allows(ok), "{ok}");
        }
        let long = format!("/{}", "a".repeat(256));
        for bad in ["//static", "///x", "/static//app.js", long.as_str(), "/%2e%2e/etc/passwd", "/a%00b", "x"] {
            assert!(!root.allows(bad), "{bad}");
        }
    }
}
