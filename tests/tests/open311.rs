//! Open311 GeoReport v2 end to end: a client this project did not write
//! (PyPI's georeport 0.3.1, installed into target/venv by
//! scripts/install-open311-client.sh) discovers the services of a running
//! `aduan serve`, posts a request with coordinates, follows its status, and
//! sees it closed once the OPD it was routed to resolves it over the HTTP
//! actions API. And `aduan rules check` on the boundary file a rule set names.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aduan_e2e::{aduan_bin, Aduan};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The venv python with georeport, installed if missing.
fn python() -> PathBuf {
    let out = Command::new(root().join("scripts/install-open311-client.sh"))
        .output()
        .expect("run scripts/install-open311-client.sh");
    assert!(out.status.success(), "{}", text(&out));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn an_open311_client_discovers_posts_follows_and_sees_its_request_closed() {
    let python = python();
    let data = tempfile::tempdir().expect("data dir");
    // The built-in sample rule set and its built-in sample boundaries.
    let a = Aduan::serve(data.path(), None, &[]);
    let org = "kab-pati-pupr";
    let out = Command::new(aduan_bin())
        .args(["token", "issue", "--role", "opd", "--org", org, "--data"])
        .arg(data.path())
        .output()
        .expect("aduan token issue");
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let out = Command::new(python)
        .arg(root().join("tests/open311_client.py"))
        .args([a.base().as_str(), org, token.as_str()])
        .output()
        .expect("run the Open311 client");
    let said = text(&out);
    assert!(out.status.success(), "client failed:\n{said}");
    // The point in Pati was routed by the Pati rule to Pati's public works office.
    assert!(
        said.contains("agency_responsible: Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Pati"),
        "{said}"
    );
    assert!(
        said.contains("status: open") && said.contains("status: closed"),
        "{said}"
    );
}

fn check(rule_file: &Path) -> Output {
    Command::new(aduan_bin())
        .args(["rules", "check"])
        .arg(rule_file)
        .output()
        .expect("aduan rules check")
}

#[test]
fn rules_check_reports_a_missing_or_invalid_boundary_file() {
    let sample = root().join("deploy/rules/sample.toml");
    let out = check(&sample);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("sample-boundaries.geojson: 7 regions"));

    let dir = tempfile::tempdir().expect("dir");
    let rules = dir.path().join("rules.toml");
    std::fs::copy(&sample, &rules).expect("copy rules");
    let out = check(&rules);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("[geo] boundaries: cannot read the boundary file"),
        "{}",
        text(&out)
    );
    let geo = dir.path().join("sample-boundaries.geojson");
    std::fs::write(&geo, r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":null}]}"#)
        .expect("write");
    let out = check(&rules);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("feature 0: no \"region_code\" property"),
        "{}",
        text(&out)
    );
    std::fs::copy(root().join("deploy/rules/sample-boundaries.geojson"), &geo).expect("copy");
    assert!(check(&rules).status.success());
}

#[test]
fn serve_refuses_to_start_when_the_boundary_file_of_its_rules_is_missing() {
    let dir = tempfile::tempdir().expect("dir");
    let rules = dir.path().join("rules.toml");
    std::fs::copy(root().join("deploy/rules/sample.toml"), &rules).expect("copy rules");
    let port = aduan_e2e::free_port();
    let mut child = Command::new(aduan_bin())
        .args(["serve", "--http", &format!("127.0.0.1:{port}"), "--data"])
        .arg(dir.path().join("data"))
        .arg("--rules")
        .arg(&rules)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn aduan serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("aduan serve started without its boundary file");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let out = child.wait_with_output().expect("output");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("[geo] boundaries"), "{said}");
    assert!(said.contains("sample-boundaries.geojson"), "{said}");
}
