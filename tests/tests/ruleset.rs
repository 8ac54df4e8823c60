//! The rule set in force lives in the log. A restart of `aduan serve` without
//! `--rules` keeps routing by the set published with `aduan rules publish`
//! (the built-in sample goes only into an empty log); and the read models
//! rebuilt by `aduan projections rebuild` and `aduan audit replay --until`
//! equal the live run's even after serve was restarted with another
//! `--rules` file than the one that routed the complaints.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aduan_e2e::{aduan_bin, get_json, http, post_json, wait_ready, Aduan};
use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};
use serde_json::{json, Value};

const SAMPLE: &str = include_str!("../../deploy/rules/sample.toml");
const PATI_HEALTH: &str =
    "id = \"pati-kesehatan\"\nregion = \"33.18\"\ncategories = [\"kesehatan\"]\nto = \"kab-pati-dinkes\"";
const RSUD_NAME: &str = "name = \"RSUD RAA Soewondo Pati\"";

/// The sample without its `[geo]` boundary file, which `serve --rules`
/// would look for next to the copies these tests write.
fn sample() -> String {
    SAMPLE.replace("[geo]\nboundaries = \"sample-boundaries.geojson\"\n", "")
}

/// Rule set A: Pati's health complaints go to the RSUD, renamed "(A)".
fn rules_a() -> String {
    sample()
        .replace("version = \"sample-2026-11\"", "version = \"e2e-a\"")
        .replace(
            PATI_HEALTH,
            &PATI_HEALTH.replace("kab-pati-dinkes", "kab-pati-rsud"),
        )
        .replace(RSUD_NAME, "name = \"RSUD Pati (A)\"")
}

/// Rule set B: the sample's routing, another SLA and the RSUD renamed "(B)".
fn rules_b() -> String {
    sample()
        .replace("version = \"sample-2026-11\"", "version = \"e2e-b\"")
        .replace("acknowledge = 3", "acknowledge = 1")
        .replace("resolve = 60", "resolve = 20")
        .replace(RSUD_NAME, "name = \"RSUD Pati (B)\"")
}

fn aduan(args: &[&str], data: &Path) -> String {
    let out = Command::new(aduan_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run aduan");
    assert!(
        out.status.success(),
        "aduan {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Submits a health complaint from Pati; its tracking number.
async fn submit(a: &Aduan, reference: &str, category: &str, region: &str) -> String {
    let body = json!({"channel": "web", "channel_ref": reference, "kind": "complaint",
        "title": "Keluhan", "body": "Mohon ditindaklanjuti", "category": category,
        "location": {"region_code": region}});
    let (code, ack) = post_json(a.http, "/v1/complaints", &body).await;
    assert_eq!(code, 201, "{ack}");
    ack["tracking_no"].as_str().expect("tracking").to_owned()
}

/// The status view once the complaint has an owner.
async fn routed(a: &Aduan, tracking: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, v) = get_json(a.http, &format!("/v1/complaints/{tracking}")).await;
        if code == 200 && v["status"] == "routed" && v["org"] != "" {
            return v;
        }
        assert!(Instant::now() < deadline, "{tracking} never routed: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get_auth(a: &Aduan, path: &str, token: &str) -> Value {
    let auth = format!("Bearer {token}");
    let (code, body) = http(a.http, "GET", path, &[("Authorization", &auth)], b"").await;
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// Versions of every rule set published in the log (serve must be stopped).
async fn published(data: &Path) -> Vec<String> {
    let log = SledLog::open(SledOptions::new(data.join("log"))).expect("open log");
    let events = log.read_stream("ruleset", 1).await.expect("read");
    log.close();
    events
        .iter()
        .map(|e| {
            let ev =
                aduan_domain::RuleSetEvent::decode(&e.event_type, e.schema_version, &e.payload)
                    .expect("decode");
            let aduan_domain::RuleSetEvent::Published(p) = ev;
            p.version
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_rules_keeps_routing_by_the_published_set() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let a_file = dir.path().join("a.toml");
    std::fs::write(&a_file, rules_a()).expect("write");
    let out = aduan(&["rules", "publish", a_file.to_str().expect("path")], &data);
    assert!(out.contains("published"), "{out}");

    let a = Aduan::serve(&data, None, &[]);
    let first = submit(&a, "rs-1", "kesehatan", "33.18").await;
    let v = routed(&a, &first).await;
    assert_eq!(
        (v["org"].as_str(), v["org_name"].as_str()),
        (Some("kab-pati-rsud"), Some("RSUD Pati (A)"))
    );
    assert_eq!(a.terminate(), Some(0));

    let a = Aduan::serve(&data, None, &[]);
    let second = submit(&a, "rs-2", "kesehatan", "33.18").await;
    let v = routed(&a, &second).await;
    assert_eq!(v["org"], "kab-pati-rsud", "{v}");
    assert_eq!(a.terminate(), Some(0));
    assert_eq!(
        published(&data).await,
        ["e2e-a"],
        "no other rule set was published"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_log_gets_the_sample_and_an_explicit_file_only_when_it_differs() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let b_file = dir.path().join("b.toml");
    std::fs::write(&b_file, rules_b()).expect("write");
    let b = b_file.to_str().expect("path");
    for args in [&[][..], &[], &["--rules", b], &["--rules", b], &[]] {
        let a = Aduan::serve(&data, None, args);
        assert_eq!(a.terminate(), Some(0));
    }
    assert_eq!(published(&data).await, ["sample-2026-11", "e2e-b"]);
}

/// The status views of `trackings` and the recaps and ranking, as served now.
async fn read_models(a: &Aduan, admin: &str, trackings: &[String]) -> Value {
    // A serve just started may not yet have folded the rule set it published.
    wait_ready(a.http).await;
    let mut views = Vec::new();
    for t in trackings {
        let (code, v) = get_json(a.http, &format!("/v1/complaints/{t}")).await;
        assert_eq!(code, 200, "{v}");
        views.push(v);
    }
    json!({
        "views": views,
        "recap_pati": get_auth(a, "/v1/stats/recap?org=kab-pati", admin).await,
        "recap_nasional": get_auth(a, "/v1/stats/recap?org=nasional", admin).await,
        "ranking_pati": get_auth(a, "/v1/stats/ranking?parent=kab-pati", admin).await,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_and_a_replay_match_the_live_run_under_another_start_up_rule_set() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let (a_file, b_file) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    std::fs::write(&a_file, rules_a()).expect("write");
    std::fs::write(&b_file, rules_b()).expect("write");
    let admin = aduan(
        &["token", "issue", "--role", "admin", "--name", "budi"],
        &data,
    )
    .trim()
    .to_owned();

    let a = Aduan::serve(&data, None, &["--rules", a_file.to_str().expect("path")]);
    let mut trackings = Vec::new();
    for (i, (category, region)) in [
        ("kesehatan", "33.18"),
        ("kesehatan", "33.18"),
        ("infrastruktur", "33.18"),
        ("kesehatan", "33.17"),
    ]
    .into_iter()
    .enumerate()
    {
        let t = submit(&a, &format!("rb-{i}"), category, region).await;
        routed(&a, &t).await;
        trackings.push(t);
    }
    let live = read_models(&a, &admin, &trackings).await;
    assert_eq!(live["views"][0]["org"], "kab-pati-rsud", "{live}");
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    assert_eq!(a.terminate(), Some(0));

    // Serve again with another rule set, which takes effect for new complaints
    // only; the live read models now include its publication (org names are
    // those in force now), and a rebuild must give exactly these.
    let b = Aduan::serve(&data, None, &["--rules", b_file.to_str().expect("path")]);
    let live_now = read_models(&b, &admin, &trackings).await;
    assert_eq!(b.terminate(), Some(0));
    assert_eq!(
        live_now["views"][0]["org"], "kab-pati-rsud",
        "routed under A: {live_now}"
    );

    let out = aduan(&["projections", "rebuild"], &data);
    assert!(out.contains("rebuilt"), "{out}");
    let replay = aduan(
        &[
            "audit", "replay", "--until", &now, "--org", "kab-pati", "--parent", "kab-pati",
        ],
        &data,
    );
    let replay: Value = serde_json::from_str(&replay).expect("replay prints JSON");

    let b = Aduan::serve(&data, None, &["--rules", b_file.to_str().expect("path")]);
    let rebuilt = read_models(&b, &admin, &trackings).await;
    assert_eq!(b.terminate(), Some(0));
    assert_eq!(replay["recap"], live["recap_pati"], "replayed recap");
    assert_eq!(replay["ranking"], live["ranking_pati"], "replayed ranking");
    assert_eq!(
        rebuilt, live_now,
        "the rebuilt read models equal the live run's"
    );
}
