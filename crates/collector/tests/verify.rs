//! `vantage-collector targets verify` against the censor lab's real TLS servers: one test per
//! kind of URL that would mislead a browser, and a healthy list that passes. The binary runs as
//! an operator would run it, told the lab's CA (`--roots`) and where the lab's hosts listen
//! (`--resolve`, as curl's).
//!
//! Run with `cargo test -p vantage-collector --test verify`.

use serde_json::{json, Value};
use vantage_lab::censor::{Behaviour, Lab, BIG_PATH, REDIRECT_HOST};

const HOST: &str = "abs.twimg.com";

/// What one run of `targets verify` gave.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
    json: Value,
}

impl Run {
    /// The problem kinds of every URL of `kind`.
    fn problems(&self, kind: &str) -> Vec<String> {
        self.json["urls"]
            .as_array()
            .expect("urls")
            .iter()
            .filter(|u| u["kind"] == kind)
            .flat_map(|u| u["problems"].as_array().cloned().unwrap_or_default())
            .map(|p| p["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

async fn run(args: &[String]) -> (bool, String, String) {
    // tokio's process: the lab's servers keep serving on this runtime while the binary runs.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_vantage-collector"))
        .args(args)
        .output()
        .await
        .expect("the binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Verifies a one-target list whose URLs are `paths` on a lab server with `behaviour`.
async fn verify(lab: &Lab, behaviour: Behaviour, image: &str, fetch: &str, throughput: Option<u64>) -> Run {
    let port = lab.serve(behaviour).await;
    let base = format!("https://{HOST}:{port}");
    let mut target = json!({
        "id": "x", "name": "X", "category": "GRP",
        "images": [format!("{base}{image}")],
        "fetch": format!("{base}{fetch}"),
    });
    if let Some(bytes) = throughput {
        target["throughput"] = json!({"url": format!("{base}{BIG_PATH}"), "bytes": bytes});
    }
    let list = json!({"version": "t1", "targets": [
        target,
        {"id": "vantage", "name": "This site", "category": "CTRL", "control": true,
         "images": ["/static/control.png"], "fetch": "/static/control.png"},
    ]});
    let dir = tempfile::tempdir().unwrap();
    let (list_path, roots, out) =
        (dir.path().join("list.json"), dir.path().join("ca.pem"), dir.path().join("out.json"));
    std::fs::write(&list_path, list.to_string()).unwrap();
    std::fs::write(&roots, lab.ca_pem()).unwrap();
    let args: Vec<String> = vec![
        "targets".into(),
        "verify".into(),
        list_path.display().to_string(),
        "--roots".into(),
        roots.display().to_string(),
        "--resolve".into(),
        format!("{HOST}:{port}:127.0.0.1"),
        "--timeout".into(),
        "5s".into(),
        "--json".into(),
        out.display().to_string(),
    ];
    let (ok, stdout, stderr) = run(&args).await;
    let json = serde_json::from_str(&std::fs::read_to_string(&out).unwrap_or_default()).unwrap_or(Value::Null);
    Run { ok, stdout, stderr, json }
}

fn lab() -> Lab {
    Lab::new(&[HOST])
}

#[tokio::test]
async fn a_healthy_list_passes_with_a_table_and_a_json_result() {
    let lab = lab();
    let r = verify(&lab, Behaviour::Healthy, "/favicons/twitter.3.ico", "/", Some(lab.big_bytes())).await;
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json["failed"], 0, "{}", r.json);
    assert_eq!(r.json["checked"], 5, "image, fetch, throughput and the own origin's two: {}", r.json);
    let urls = r.json["urls"].as_array().unwrap();
    let image = urls.iter().find(|u| u["kind"] == "image" && u["target"] == "x").unwrap();
    assert_eq!((image["status"].as_u64(), image["image"].as_str()), (Some(200), Some("png")), "{image}");
    assert_eq!(image["tao"], "*", "the lab sends Timing-Allow-Origin: {image}");
    let asset = urls.iter().find(|u| u["kind"] == "throughput").unwrap();
    assert_eq!(asset["bytes"].as_u64(), Some(lab.big_bytes()), "{asset}");
    assert_eq!(asset["sha256"].as_str().map(str::len), Some(64), "{asset}");
    assert!(
        urls.iter().filter(|u| u["target"] == "vantage").all(|u| u["skipped"] == true),
        "own origin is not fetched"
    );
    // The table: a header, one line per URL, the verdict first.
    assert!(r.stdout.starts_with("RESULT"), "{}", r.stdout);
    assert_eq!(r.stdout.lines().filter(|l| l.starts_with("ok ")).count(), 3, "{}", r.stdout);
    assert!(r.stdout.contains("same over two fetches"), "{}", r.stdout);
}

#[tokio::test]
async fn corp_same_origin_is_a_false_tampered_and_fails() {
    let lab = lab();
    let r = verify(&lab, Behaviour::CorpSameOrigin, "/favicon.ico", "/", None).await;
    assert!(!r.ok, "{}", r.stdout);
    assert_eq!(r.problems("image"), ["corp"], "{}", r.json);
    assert_eq!(r.problems("fetch"), ["corp"], "CORP rejects a no-cors fetch too: {}", r.json);
    assert!(r.stdout.contains("Cross-Origin-Resource-Policy: same-origin"), "{}", r.stdout);
    assert!(r.stderr.contains("2 of 4 URL(s) would mislead a browser"), "{}", r.stderr);
}

#[tokio::test]
async fn html_in_place_of_an_image_fails() {
    let lab = lab();
    let r = verify(&lab, Behaviour::Blockpage, "/favicon.ico", "/", None).await;
    assert!(!r.ok);
    assert_eq!(r.problems("image"), ["not_image_type", "body_not_image"], "{}", r.json);
    assert!(r.problems("fetch").is_empty(), "any answer is what a no-cors fetch expects: {}", r.json);
    assert!(r.stdout.contains("an HTML page"), "{}", r.stdout);
}

#[tokio::test]
async fn an_untrusted_certificate_fails() {
    let lab = lab();
    let r = verify(&lab, Behaviour::WrongCert, "/favicon.ico", "/", None).await;
    assert!(!r.ok);
    assert_eq!(r.problems("image"), ["tls"], "{}", r.json);
    assert_eq!(r.problems("fetch"), ["tls"], "{}", r.json);
    assert!(r.stdout.contains("UnknownIssuer"), "{}", r.stdout);
}

#[tokio::test]
async fn a_redirect_to_another_host_fails_and_names_the_host() {
    let lab = lab();
    let r = verify(&lab, Behaviour::RedirectAway, "/favicon.ico", "/", None).await;
    assert!(!r.ok);
    assert_eq!(r.problems("image"), ["redirect_elsewhere"], "{}", r.json);
    assert_eq!(r.problems("fetch"), ["redirect_elsewhere"], "a fetch must stay on the host it tests: {}", r.json);
    assert!(r.stdout.contains(REDIRECT_HOST), "{}", r.stdout);
}

#[tokio::test]
async fn a_throughput_size_that_changes_between_fetches_fails() {
    let lab = lab();
    let r = verify(&lab, Behaviour::Shifting, "/favicon.ico", "/", Some(lab.big_bytes())).await;
    assert!(!r.ok);
    assert_eq!(r.problems("throughput"), ["size_changed"], "{}", r.json);
    assert!(r.problems("image").is_empty(), "{}", r.json);
}

#[tokio::test]
async fn a_throughput_size_other_than_the_lists_fails() {
    let lab = lab();
    let r = verify(&lab, Behaviour::Healthy, "/favicon.ico", "/", Some(lab.big_bytes() + 1)).await;
    assert!(!r.ok);
    assert_eq!(r.problems("throughput"), ["size_mismatch"], "{}", r.json);
    assert!(r.stdout.contains(&format!("{} bytes served, the list says {}", lab.big_bytes(), lab.big_bytes() + 1)));
}

#[tokio::test]
async fn the_public_roots_are_trusted_by_default_and_not_the_labs() {
    let lab = lab();
    let port = lab.serve(Behaviour::Healthy).await;
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.json");
    let url = format!("https://{HOST}:{port}/favicon.ico");
    std::fs::write(
        &list,
        json!({"version": "t", "targets": [{"id": "x", "name": "X", "category": "GRP", "images": [url], "fetch": url}]})
            .to_string(),
    )
    .unwrap();
    let (ok, stdout, _) = run(&[
        "targets".into(),
        "verify".into(),
        list.display().to_string(),
        "--resolve".into(),
        format!("{HOST}:{port}:127.0.0.1"),
    ])
    .await;
    assert!(!ok && stdout.contains("TLS fails"), "{stdout}");
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.json");
    std::fs::write(&list, r#"{"version": "1", "targets": [}"#).unwrap();
    let not_pem = dir.path().join("roots.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let path = |p: &std::path::Path| p.display().to_string();
    for (args, expected) in [
        (vec![path(&dir.path().join("missing.json"))], "cannot read"),
        (vec![path(&list)], "list.json: target list"),
        (vec![path(&list), "--resolve".into(), "abs.twimg.com:443".into()], "expected HOST:PORT:ADDR"),
        (vec![path(&list), "--roots".into(), path(&not_pem)], "holds no certificate"),
        (vec![path(&list), "--timeout".into(), "soon".into()], "expected a duration"),
    ] {
        let mut all = vec!["targets".to_string(), "verify".to_string()];
        all.extend(args);
        let (ok, _, stderr) = run(&all).await;
        assert!(!ok && stderr.contains(expected), "{all:?}: {stderr}");
    }
}

/// `serve --verify-targets`: the collector verifies its own list at start and serves the size
/// of a throughput asset the list leaves unknown once two fetches agreed; an asset whose size
/// changes between fetches stays unknown, and a listed size the file no longer has is replaced.
/// The lab's CA is trusted through `--verify-roots` and its servers found through
/// `--verify-resolve` (HOST:PORT:ADDR:PORT2, as the shipped list's URLs name no port).
#[tokio::test]
async fn serve_learns_unknown_throughput_sizes_from_two_agreeing_fetches() {
    const STEADY: &str = "steady.lab.test";
    const SHIFTING: &str = "shifting.lab.test";
    const STALE: &str = "stale.lab.test";
    let lab = Lab::new(&[STEADY, SHIFTING, STALE]);
    let (healthy, shifting) = (lab.serve(Behaviour::Healthy).await, lab.serve(Behaviour::Shifting).await);
    let big = lab.big_bytes();
    let target = |id: &str, host: &str, bytes: Option<u64>| {
        let mut asset = json!({"url": format!("https://{host}{BIG_PATH}")});
        if let Some(b) = bytes {
            asset["bytes"] = json!(b);
        }
        json!({"id": id, "name": id, "category": "GRP", "images": [format!("https://{host}/i.png")],
               "fetch": format!("https://{host}/"), "throughput": asset})
    };
    let list = json!({"version": "learn-1", "targets": [
        target("steady", STEADY, None),
        target("shifting", SHIFTING, None),
        target("stale", STALE, Some(big + 1)),
        {"id": "c", "name": "C", "category": "CTRL", "control": true,
         "images": [format!("https://{STEADY}/c.png")], "fetch": format!("https://{STEADY}/c.png")},
    ]});
    let dir = tempfile::tempdir().unwrap();
    let (list_path, roots) = (dir.path().join("list.json"), dir.path().join("ca.pem"));
    std::fs::write(&list_path, list.to_string()).unwrap();
    std::fs::write(&roots, lab.ca_pem()).unwrap();
    let port = vantage_lab::free_port();
    let resolve = |host: &str, to: u16| format!("{host}:443:127.0.0.1:{to}");
    let args: Vec<std::ffi::OsString> = [
        "--targets".to_string(),
        list_path.display().to_string(),
        "--verify-targets".into(),
        "--verify-roots".into(),
        roots.display().to_string(),
        "--verify-resolve".into(),
        resolve(STEADY, healthy),
        "--verify-resolve".into(),
        resolve(SHIFTING, shifting),
        "--verify-resolve".into(),
        resolve(STALE, healthy),
    ]
    .into_iter()
    .map(Into::into)
    .collect();
    let extra: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let mut child = vantage_lab::collector::serve_collector_with(
        env!("CARGO_BIN_EXE_vantage-collector"),
        dir.path().join("v.sqlite"),
        port,
        &extra,
        None,
    );
    let sizes = |body: &str| -> Vec<Option<u64>> {
        let served: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        ["steady", "shifting", "stale"]
            .iter()
            .map(|id| {
                let t = served["targets"].as_array().and_then(|ts| ts.iter().find(|t| t["id"] == *id).cloned());
                t.and_then(|t| t["throughput"]["bytes"].as_u64())
            })
            .collect()
    };
    let url = format!("http://127.0.0.1:{port}/api/v1/targets");
    let started = std::time::Instant::now();
    let mut body = vantage_lab::http::get(&url).await.1;
    while sizes(&body)[0].is_none() && started.elapsed() < std::time::Duration::from_secs(30) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        body = vantage_lab::http::get(&url).await.1;
    }
    let _ = child.kill();
    let _ = child.wait();
    // Learned sizes arrive together, once every asset was verified.
    assert_eq!(sizes(&body), [Some(big), None, Some(big)], "{body}");
}

#[test]
fn verify_options_need_verify_targets_and_bad_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    // `serve` with `args` must refuse to start; what it said.
    let refused = |args: &[&str]| -> String {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vantage-collector"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .arg("--database")
            .arg(dir.path().join("v.sqlite"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = refused(&["--verify-roots", "/nonexistent.pem"]);
    assert!(err.contains("--verify-targets"), "{err}");
    let err = refused(&["--verify-targets", "--verify-roots", "/nonexistent.pem"]);
    assert!(err.contains("--verify-roots /nonexistent.pem"), "{err}");
    let err = refused(&["--verify-targets", "--verify-resolve", "nowhere"]);
    assert!(err.contains("--verify-resolve \"nowhere\"") && err.contains("HOST:PORT:ADDR"), "{err}");
    // A period of zero would panic the repeating task (and a few seconds would hammer the
    // platforms): refused at start, with the option named.
    for (option, value) in [("--verify-every", "0s"), ("--verify-every", "30s"), ("--crowd-every", "0s")] {
        let err = refused(&["--verify-targets", option, value]);
        assert!(err.contains(option) && err.contains("must be at least"), "{err}");
    }
}

/// `--keep-passing`: an imported list's guessed favicons are checked and the ones that would
/// mislead a browser are dropped, in a list that still serves; the healthy site stays whole.
#[tokio::test]
async fn keep_passing_writes_the_list_without_the_guesses_that_fail() {
    const GUESS: &str = "guess.lab.test";
    const CONTROL: &str = "control.lab.test";
    let lab = Lab::new(&[HOST, GUESS, CONTROL]);
    let (healthy, blockpage) = (lab.serve(Behaviour::Healthy).await, lab.serve(Behaviour::Blockpage).await);
    let dir = tempfile::tempdir().unwrap();
    let (list, roots, out) = (dir.path().join("list.json"), dir.path().join("ca.pem"), dir.path().join("kept.json"));
    let site = |host: &str, id: &str, category: &str, images: Vec<String>| {
        json!({"id": id, "name": id, "category": category, "control": category == "CTRL",
               "images": images, "fetch": format!("https://{host}/")})
    };
    std::fs::write(
        &list,
        json!({"version": "pk-1", "targets": [
            site(HOST, "x", "GRP", vec![format!("https://{HOST}/favicon.ico"), format!("https://{GUESS}/favicon.ico")]),
            site(GUESS, "guess", "NEWS", vec![format!("https://{GUESS}/favicon.ico")]),
            site(CONTROL, "control", "CTRL", vec![format!("https://{CONTROL}/favicon.ico")]),
        ]})
        .to_string(),
    )
    .unwrap();
    std::fs::write(&roots, lab.ca_pem()).unwrap();
    let path = |p: &std::path::Path| p.display().to_string();
    let args = |extra: &[String]| -> Vec<String> {
        let mut a: Vec<String> = ["targets", "verify"].map(String::from).to_vec();
        a.extend(extra.iter().cloned());
        a.extend([
            "--roots".into(),
            path(&roots),
            "--resolve".into(),
            format!("{HOST}:443:127.0.0.1:{healthy}"),
            "--resolve".into(),
            format!("{CONTROL}:443:127.0.0.1:{healthy}"),
            "--resolve".into(),
            format!("{GUESS}:443:127.0.0.1:{blockpage}"),
        ]);
        a
    };
    // Without --keep-passing the guesses fail the run, and nothing is written.
    let (ok, stdout, _) = run(&args(&[path(&list)])).await;
    assert!(!ok && stdout.contains("an HTML page"), "{stdout}");
    let (ok, stdout, stderr) = run(&args(&[path(&list), "--keep-passing".into(), path(&out)])).await;
    assert!(ok, "{stdout}{stderr}");
    let kept = vantage_report::TargetList::parse(&std::fs::read_to_string(&out).unwrap()).expect("a valid list");
    let ids: Vec<&str> = kept.targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["x", "control"], "{stdout}");
    assert_eq!(kept.targets[0].images, [format!("https://{HOST}/favicon.ico")], "the failing image is dropped");
    assert!(stdout.contains("target guess left out: no image passed"), "{stdout}");
    assert!(stdout.contains("2 of 3 target(s) kept"), "{stdout}");
    // A changed list is another list: reports of the old one must not be checked against it.
    assert!(
        kept.version.strip_prefix("pk-1.kept").is_some_and(|t| t.len() >= 12 && t.bytes().all(|b| b.is_ascii_digit())),
        "{}",
        kept.version
    );
    // One list only, and a list left without a control is not written.
    std::fs::remove_file(&out).unwrap();
    let (ok, _, stderr) = run(&args(&[path(&list), path(&list), "--keep-passing".into(), path(&out)])).await;
    assert!(!ok && stderr.contains("give one FILE"), "{stderr}");
    let no_control = args(&[path(&list), "--keep-passing".into(), path(&out)])
        .into_iter()
        .map(|a| {
            a.replace(&format!("{CONTROL}:443:127.0.0.1:{healthy}"), &format!("{CONTROL}:443:127.0.0.1:{blockpage}"))
        })
        .collect::<Vec<_>>();
    let (ok, _, stderr) = run(&no_control).await;
    assert!(!ok && stderr.contains("would not serve") && !out.exists(), "{stderr}");
}
