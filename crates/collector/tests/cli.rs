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
    let import = |extra: &[&str]| {
        collector(&[&["targets", "import-citizenlab", fixture, "--version", "ir-2024"], extra].concat())
    };
    // The operator must say what the list is for: a country's additions or a list of its own.
    let (ok, _, stderr) = import(&[]);
    assert!(!ok && stderr.contains("--country") && stderr.contains("--standalone"), "{stderr}");
    let (ok, stdout, stderr) = import(&["--country", "IR"]);
    assert!(ok, "{stderr}");
    let list = TargetList::parse(&stdout).expect("the output is a target list");
    assert_eq!(list.version, "ir-2024");
    assert_eq!(list.targets.len(), 3, "{stdout}");
    assert!(stderr.contains("line 8") && stderr.contains("3 target(s) imported"), "{stderr}");
    // Written as IR.json, `targets check` accepts it as the country's additions.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("IR.json");
    std::fs::write(&file, &stdout).unwrap();
    let (ok, out, _) = collector(&["targets", "check", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    // Chosen by category; a bad country code or limit changes nothing and says why.
    let (ok, stdout, stderr) = import(&["--standalone", "--category", "NEWS,GOVT"]);
    assert!(ok, "{stderr}");
    let list = TargetList::parse(&stdout).unwrap();
    assert!(list.targets.iter().all(|t| t.control || ["NEWS", "GOVT"].contains(&t.category.as_str())), "{stdout}");
    let (ok, stdout, stderr) = import(&["--country", "Iran"]);
    assert!(!ok && stdout.is_empty() && stderr.contains("two-letter"), "{stderr}");
    let (ok, stdout, stderr) = import(&["--country", "IR", "--limit", "1000"]);
    assert!(!ok && stdout.is_empty() && stderr.contains("room for"), "{stderr}");
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

/// Stores `count` sample reports in a fresh SQLite file, as an earlier `serve` would have.
async fn filled_database(dir: &std::path::Path, count: u32) -> std::path::PathBuf {
    let db = dir.join("v.sqlite");
    let store: std::sync::Arc<dyn vantage_collector::store::Store> =
        vantage_collector::store::open(db.to_str().unwrap()).await.unwrap().into();
    let now = vantage_lab::now_secs();
    let inserts: Vec<_> = (0..count)
        .map(|n| {
            let (store, report) = (store.clone(), vantage_lab::report::sample_report(&format!("{n:032x}"), now));
            tokio::spawn(async move { store.insert(report, vantage_collector::store::Origin::unknown(), now).await })
        })
        .collect();
    for insert in inserts {
        insert.await.unwrap().unwrap();
    }
    store.close().await;
    db
}

/// `export | head -1`: the reader goes away after one line; the export stops there, with
/// status 0 and nothing said about it.
#[tokio::test]
async fn export_into_a_reader_that_closes_early_exits_quietly() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = filled_database(dir.path(), 2_000).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vantage-collector"))
        .args(["export", "--database", db.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("\"report_id\""), "{first}");
    // The reader is gone, with megabytes still to come. The export must end, not wait for
    // room in a pipe nobody reads (it once did, forever).
    let t0 = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the export hung after its reader went away");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "a closed pipe is no failure: {}: {stderr}", out.status);
    assert!(!stderr.contains("panicked") && !stderr.contains("error") && !stderr.contains("Broken pipe"), "{stderr}");
}

/// The database from the environment, so a PostgreSQL password never shows in `ps`; and
/// `--help` does not print it either.
#[tokio::test]
async fn the_database_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = filled_database(dir.path(), 3).await;
    let out = Command::new(env!("CARGO_BIN_EXE_vantage-collector"))
        .args(["export", "--format", "csv"])
        .env("VANTAGE_DATABASE", &db)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 1 + 3 * 2, "a header and two measurements per report: {stdout}");
    let help = Command::new(env!("CARGO_BIN_EXE_vantage-collector"))
        .args(["serve", "--help"])
        .env("VANTAGE_DATABASE", "postgres://vantage:s3cret@db.internal/vantage")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("VANTAGE_DATABASE") && !help.contains("s3cret"), "{help}");
}

/// A value clap can check is checked before anything starts, and the message names the flag.
#[test]
fn bad_serve_options_stop_the_start_with_a_message_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.sqlite");
    for (flag, value, says) in [
        ("--trust-proxy-header", "X Forwarded For", "not an HTTP header name"),
        ("--allow-origin", "https://news.example/embed/", "scheme://host"),
        ("--trusted-proxy", "10.0.0.0/8", "--trust-proxy-header"),
        ("--listen", "localhost", "--listen"),
    ] {
        let (ok, _, stderr) =
            collector(&["serve", "--listen", "127.0.0.1:0", "--database", db.to_str().unwrap(), flag, value]);
        assert!(!ok, "{flag} {value} was accepted");
        assert!(stderr.contains(flag) && stderr.contains(says), "{flag} {value}: {stderr}");
    }
    assert!(!db.exists(), "a refused start touched the database");
    let (ok, _, stderr) = collector(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        db.to_str().unwrap(),
        "--targets",
        "/nonexistent.json",
    ]);
    assert!(!ok && stderr.contains("cannot read /nonexistent.json") && stderr.contains("No such file"), "{stderr}");
}
