//! The target-list tools of the `vantage-collector` binary, run as a user would.
//!
//! Run with `cargo test -p vantage-collector --test cli`.

use std::process::Command;

use vantage_report::TargetList;

fn collector(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vantage-collector")).args(args).output().expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_prints_every_problem_on_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("list.json");
    std::fs::write(
        &bad,
        r#"{"version":"1","targets":[
            {"id":"a","name":"A","category":"GRP","images":["http://a.example/i.png"],"fetch":"https://user:pw@a.example/"},
            {"id":"a","name":"A2","category":"GRP","images":["https://10.1.2.3/i.png"],"fetch":"https://a.example/"}]}"#,
    )
    .unwrap();
    let (ok, stdout, stderr) = collector(&["targets", "check", bad.to_str().unwrap()]);
    assert!(!ok, "a bad list must fail the check");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    for (line, field) in lines.iter().zip([
        "targets[0].images[0]",
        "targets[0].fetch",
        "targets[1].id",
        "targets[1].images[0]",
        "targets: needs",
    ]) {
        assert!(line.contains("list.json") && line.contains(field), "{line} should name {field}");
    }
    assert!(stderr.contains("5 problem(s)"), "{stderr}");

    let syntax = dir.path().join("broken.json");
    std::fs::write(&syntax, r#"{"version": "1", "targets": [}"#).unwrap();
    let (ok, stdout, _) = collector(&["targets", "check", syntax.to_str().unwrap()]);
    assert!(!ok && stdout.contains("broken.json") && stdout.contains("line 1"), "{stdout}");
}

#[test]
fn check_accepts_the_default_list_and_checks_country_files_against_it() {
    let dir = tempfile::tempdir().unwrap();
    let default = dir.path().join("default.json");
    std::fs::write(&default, vantage_collector::targets::DEFAULT_TARGETS).unwrap();
    let country = dir.path().join("PK.json");
    std::fs::write(&country, r#"{"version":"pk-1","targets":[{"id":"dawn","name":"Dawn","category":"NEWS","images":["https://www.dawn.com/favicon.ico"],"fetch":"https://www.dawn.com/"}]}"#).unwrap();
    let (ok, stdout, stderr) = collector(&["targets", "check", default.to_str().unwrap(), country.to_str().unwrap()]);
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.ends_with(": ok")).count(), 2, "{stdout}");

    // The same additions clash with the global list when they reuse an id.
    std::fs::write(&country, r#"{"version":"pk-1","targets":[{"id":"x","name":"X again","category":"GRP","images":["https://x.com/favicon.ico"],"fetch":"https://x.com/"}]}"#).unwrap();
    let (ok, stdout, _) = collector(&["targets", "check", country.to_str().unwrap()]);
    assert!(!ok && stdout.contains("more than once"), "{stdout}");
}

#[test]
fn import_writes_a_list_and_says_what_it_skipped() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/citizenlab-ir.csv");
    let (ok, stdout, stderr) = collector(&["targets", "import-citizenlab", fixture, "--version", "ir-2024"]);
    assert!(ok, "{stderr}");
    let list = TargetList::parse(&stdout).expect("the output is a target list");
    assert_eq!(list.version, "ir-2024");
    assert_eq!(list.targets.len(), 5);
    assert!(stderr.contains("line 8") && stderr.contains("5 target(s) imported"), "{stderr}");
}

#[tokio::test]
async fn export_dumps_stored_measurements_offline() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.sqlite");
    let store = vantage_collector::store::open(db.to_str().unwrap()).await.unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let report = vantage_lab::report::sample_report(&"ab".repeat(16), now);
    store.insert(report, vantage_collector::store::Origin { country: "IR".into(), asn: 197207 }, now).await.unwrap();
    store.close().await;

    let out = dir.path().join("dump.csv");
    let (ok, _, stderr) = collector(&[
        "export",
        "--database",
        db.to_str().unwrap(),
        "--country",
        "IR",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let dump = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = dump.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two measurements: {dump}");
    assert!(lines[1].contains(",IR,AS197207,") && lines[1].contains(&"ab".repeat(16)), "{dump}");
    assert!(stderr.contains("2 measurement(s) exported"), "{stderr}");

    let (ok, _, stderr) = collector(&["export", "--database", db.to_str().unwrap(), "--since", "last week"]);
    assert!(!ok && stderr.contains("--since"), "{stderr}");
}
