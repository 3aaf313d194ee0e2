//! Page-weight budgets of the built client, measured on `dist/` as a browser receives it with
//! gzip (level 9, as the `.gz` files written beside each asset and served precompressed):
//!
//! - the widget before the click (its page, script, style, the largest of its catalogues and,
//!   read when the live status names platforms, the default target list): under 10,000 B, a
//!   hard limit;
//! - the widget after the click (the engine's script and wasm, the largest self-test catalogue
//!   it loads for a non-English reader, and the default target list): under 100,000 B, a hard
//!   limit;
//! - the self-test page's first visit (page, script, wasm, style, the default target list it
//!   fetches at once, and the largest catalogue a non-English visitor's language loads): under
//!   100,000 B, a hard limit.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

const WIDGET_BEFORE: u64 = 10_000;
const WIDGET_AFTER: u64 = 100_000;
const SELF_TEST: u64 = 100_000;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut z = GzEncoder::new(Vec::new(), Compression::best());
    z.write_all(bytes).expect("writing to memory");
    z.finish().expect("writing to memory")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Writes `NAME.gz` beside every compressible asset of `dist`, for the collector to serve
/// precompressed (no compression work per request).
pub fn precompress(dist: &Path) -> Result<(), String> {
    for p in files(dist) {
        let compressible = p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "html" | "js" | "css" | "wasm" | "json" | "svg"));
        if compressible {
            let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let gz = p.with_file_name(format!("{}.gz", p.file_name().and_then(|n| n.to_str()).unwrap_or_default()));
            std::fs::write(&gz, gzip(&bytes)).map_err(|e| format!("{}: {e}", gz.display()))?;
        }
    }
    Ok(())
}

fn gz_size(p: &Path) -> Result<u64, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(gzip(&bytes).len() as u64)
}

/// The one file of `dir` whose name starts with `prefix` and ends with `suffix` (Trunk hashes names).
fn hashed(dir: &Path, prefix: &str, suffix: &str) -> Result<PathBuf, String> {
    files(dir)
        .into_iter()
        .find(|p| {
            p.parent() == Some(dir)
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
        .ok_or_else(|| format!("no {prefix}*{suffix} in {}", dir.display()))
}

/// The largest gzip size among `dir`'s `.json` files.
fn largest_json(dir: &Path) -> Result<(u64, String), String> {
    let mut best = (0, String::new());
    for p in files(dir).into_iter().filter(|p| p.parent() == Some(dir) && p.extension().is_some_and(|e| e == "json")) {
        let n = gz_size(&p)?;
        if n > best.0 {
            best = (n, p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string());
        }
    }
    Ok(best)
}

/// Measures the three budgets, prints them, and fails on a hard limit.
pub fn check(dist: &Path) -> Result<(), String> {
    let root = dist.parent().unwrap_or(dist);
    let statics = dist.join("static");
    let list = gz_size(&root.join("crates/collector/targets/default.json"))?;
    let (widget_words, widget_lang) = largest_json(&statics.join("i18n/widget"))?;
    let before = gz_size(&statics.join("widget.html"))?
        + gz_size(&statics.join("widget.js"))?
        + gz_size(&statics.join("widget.css"))?
        + widget_words
        + list;
    let (page_words, page_lang) = largest_json(&statics.join("i18n"))?;
    let engine = gz_size(&statics.join("engine/engine.js"))? + gz_size(&statics.join("engine/engine_bg.wasm"))?;
    let after = engine + page_words + list;
    let client = gz_size(&hashed(dist, "vantage-", ".js")?)? + gz_size(&hashed(dist, "vantage-", "_bg.wasm")?)?;
    let shell = gz_size(&dist.join("index.html"))? + gz_size(&hashed(dist, "style-", ".css")?)?;
    let page = shell + client + page_words + list;
    let mut failures = Vec::new();
    let mut line = |what: &str, bytes: u64, limit: u64, detail: String| {
        let state = if bytes >= limit {
            failures.push(format!("{what}: {bytes} B gzip, limit {limit} B"));
            "OVER THE LIMIT"
        } else {
            "ok"
        };
        println!("  {what:<34} {bytes:>8} B gzip   limit {limit:>7} B   {state}   ({detail})");
    };
    println!("xtask: page weight (gzip -9, as served precompressed)");
    line(
        "widget before the click",
        before,
        WIDGET_BEFORE,
        format!("page, script, style, widget/{widget_lang}, target list"),
    );
    line(
        "widget after the click",
        after,
        WIDGET_AFTER,
        format!("engine {engine} B, catalogue {page_lang} {page_words} B, target list {list} B"),
    );
    line(
        "self-test page, first visit",
        page,
        SELF_TEST,
        format!(
            "page and style {shell} B, script and wasm {client} B, catalogue {page_lang} {page_words} B, target list {list} B"
        ),
    );
    if failures.is_empty() {
        precompress(dist)
    } else {
        Err(format!("page-weight budget exceeded:\n{}", failures.join("\n")))
    }
}
