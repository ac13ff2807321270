//! Runs the quick validation report into a temporary directory, checks its files, and
//! renders `index.html` in headless Chromium to verify that every figure decodes.

use oplab_validation::{run, Options, Status};
use std::path::Path;
use std::process::Command;

fn find_chromium() -> Option<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name).arg("--version").output().map(|o| o.status.success()).unwrap_or(false) {
            return Some(name.to_string());
        }
    }
    None
}

/// Installs Debian's chromium when running as root and it is missing.
fn ensure_chromium() -> Option<String> {
    if let Some(c) = find_chromium() {
        return Some(c);
    }
    let is_root = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false);
    if is_root {
        let _ = Command::new("apt-get").args(["install", "-y", "chromium"]).env("DEBIAN_FRONTEND", "noninteractive").status();
    }
    find_chromium()
}

fn dump_dom(chromium: &str, page: &Path) -> String {
    let profile = tempfile::tempdir().expect("temp profile dir");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn quick_report_passes_and_renders_in_a_browser() {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = Options { quick: true, only: vec![], out_dir: dir.path().to_path_buf(), ..Options::default() };
    let report = run(&opts).expect("quick report runs");
    for c in &report.checks {
        eprintln!("{:<22} {:?} {:.1}s", c.name, c.status, c.wall_s);
        for m in c.measurements.iter().filter(|m| !m.passed) {
            eprintln!("    FAILED {}: predicted {} measured {} ({})", m.quantity, m.predicted, m.measured, m.tolerance);
        }
    }
    assert!(report.passed, "failed checks: {:?}", report.failed());
    assert!(report.checks.iter().any(|c| c.status == Status::Pass));

    let index = dir.path().join("index.html");
    let html = std::fs::read_to_string(&index).expect("index.html");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).expect("summary.json")).expect("valid JSON");
    assert_eq!(json["checks"].as_array().map(|a| a.len()), Some(report.checks.len()));
    let figures: Vec<&String> = report.checks.iter().flat_map(|c| &c.figures).collect();
    assert!(!figures.is_empty());
    for f in &figures {
        for ext in ["png", "svg"] {
            let p = dir.path().join(format!("{f}.{ext}"));
            assert!(std::fs::metadata(&p).map(|m| m.len() > 1000).unwrap_or(false), "missing or empty {}", p.display());
        }
        assert!(html.contains(&format!("src=\"{f}.png\"")));
    }

    let Some(chromium) = ensure_chromium() else {
        eprintln!(
            "\n!!!!!!!! SKIPPING the headless-browser rendering check: no chromium found and it could not be installed \
                   (run `apt-get install -y chromium` as root). !!!!!!!!\n"
        );
        return;
    };
    let dom = dump_dom(&chromium, &index);
    assert!(dom.contains("data-loaded=\"1\""), "page did not finish loading in chromium:\n{}", &dom[..dom.len().min(2000)]);
    let decoded = dom.matches("data-natural-width=\"900\"").count();
    let broken = dom.matches("data-natural-width=\"0\"").count();
    assert_eq!(broken, 0, "{broken} images failed to decode in chromium");
    assert_eq!(decoded, figures.len(), "expected every figure to decode at 900 px width");
}

#[test]
fn unknown_check_name_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = Options { only: vec!["no-such-check".into()], out_dir: dir.path().to_path_buf(), ..Options::default() };
    let err = run(&opts).expect_err("unknown name rejected");
    let msg = err.to_string();
    assert!(msg.contains("only") && msg.contains("no-such-check") && msg.contains("rmt-curves"), "{msg}");
}
