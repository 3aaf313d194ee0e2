//! What researchers receive, pinned: a fixed report (17 December 2023, 15:03 UTC, from a
//! network in Pakistan) is stored and exported by the real binary in both formats, and the
//! output must equal the golden files in `tests/testdata/` byte for byte. A change to the open
//! data's format is then always a visible diff; when it is meant, regenerate the files with
//! `VANTAGE_BLESS=1 cargo test -p vantage-collector --test golden_export` and say why in the
//! commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use vantage_collector::store::Origin;
use vantage_lab::report::sample_report;

/// 2023-12-17T15:03:27Z, when X, Facebook, Instagram and YouTube went dark in Pakistan.
const START: i64 = 1_702_825_407;
const REPORT_ID: &str = "0123456789abcdef0123456789abcdef";

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata").join(name)
}

async fn stored_database(dir: &Path) -> PathBuf {
    let db = dir.join("v.sqlite");
    let store = vantage_collector::store::open(db.to_str().expect("a UTF-8 path")).await.expect("open SQLite");
    store
        .insert(sample_report(REPORT_ID, START), Origin { country: "PK".into(), asn: 17557 }, START + 40)
        .await
        .expect("the report is stored");
    store.close().await;
    db
}

fn export(db: &Path, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vantage-collector"))
        .args(["export", "--database"])
        .arg(db)
        .args(["--format", format])
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("the export is UTF-8")
}

fn compare(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var_os("VANTAGE_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if expected != actual {
        panic!(
            "the export differs from {} (rerun with VANTAGE_BLESS=1 if the change is meant):\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}

#[tokio::test]
async fn the_export_is_exactly_the_golden_files() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = stored_database(dir.path()).await;
    compare("export.jsonl", &export(&db, "jsonl"));
    compare("export.csv", &export(&db, "csv"));
}
