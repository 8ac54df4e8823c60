//! deploy/'s files themselves: the three nats-server configs of
//! deploy/cluster started on one machine, and the systemd units of
//! deploy/systemd checked by `systemd-analyze verify`.
//!
//! The configs are copied to a temporary directory with only these
//! substitutions (each must occur in the file, so none is skipped quietly):
//! `0.0.0.0:4222` (clients), `0.0.0.0:6222` (routes) and `127.0.0.1:8222`
//! (monitoring) become free loopback ports of their node; each route
//! `nats-route://nats-N.aduan.internal:6222` becomes node N's loopback route
//! port; `/var/lib/nats` becomes the node's own temporary store. The
//! `include aduan-auth.conf` is kept: the config `aduan deploy nats-config`
//! generates for the sample rule set is written beside the copies. The
//! server is nats-server 2.15.1 (`ADUAN_TEST_NATS_SERVER` or the venv's).
//!
//! The units are copied with `/usr/local/bin/aduan` and
//! `/usr/local/bin/nats-server` replaced by the binaries built and installed
//! here (`systemd-analyze verify` refuses a unit whose command is missing).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use aduan_e2e::auth::{deploy, server_2_15};
use aduan_e2e::connect_as;
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_jetstream::{JetStreamLog, JetStreamOptions, Replicas};
use aduan_nats_cluster::{free_port, Cluster, Ports};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Replaces `from` with `to` in `text`, which must hold it.
fn replace(text: &str, from: &str, to: &str, file: &str) -> String {
    assert!(text.contains(from), "{file} no longer holds {from:?}");
    text.replace(from, to)
}

/// deploy/cluster/node-<i+1>.conf with the documented substitutions.
fn node_config(i: usize, dir: &Path, ports: &[Ports], http: u16) -> String {
    let file = format!("node-{}.conf", i + 1);
    let text = std::fs::read_to_string(deploy_dir().join("cluster").join(&file)).expect(&file);
    let mut text = replace(
        &text,
        "0.0.0.0:4222",
        &format!("127.0.0.1:{}", ports[i].client),
        &file,
    );
    text = replace(
        &text,
        "0.0.0.0:6222",
        &format!("127.0.0.1:{}", ports[i].cluster),
        &file,
    );
    text = replace(&text, "127.0.0.1:8222", &format!("127.0.0.1:{http}"), &file);
    for (j, p) in ports.iter().enumerate() {
        let route = format!("nats-route://nats-{}.aduan.internal:6222", j + 1);
        text = replace(
            &text,
            &route,
            &format!("nats-route://127.0.0.1:{}", p.cluster),
            &file,
        );
    }
    let store = dir.join(format!("store-{}", i + 1));
    replace(&text, "\"/var/lib/nats\"", &format!("{store:?}"), &file)
}

/// GET `path` from the monitoring port `port`, as JSON.
fn monitor(port: u16, path: &str) -> serde_json::Value {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("monitoring port");
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_node_configs_form_a_cluster_that_holds_an_r3_log_of_large_events() {
    let auth = deploy();
    let http: Mutex<HashMap<usize, u16>> = Mutex::new(HashMap::new());
    let svc = auth.user("svc-intake");
    let cluster = Cluster::start_as(
        &server_2_15(),
        3,
        |i, dir, ports| {
            std::fs::write(dir.join("aduan-auth.conf"), &auth.config).expect("auth config");
            let port = free_port().expect("free port");
            http.lock().expect("ports").insert(i, port);
            node_config(i, dir, ports, port)
        },
        Some(svc),
    )
    .expect("the cluster of deploy/cluster starts");
    eprintln!(
        "JetStream answered on all three nodes after {:?}",
        cluster.ready_after
    );
    let http = http.into_inner().expect("ports");

    // One meta leader, the same on every node, of a cluster of three named as configured.
    let mut leaders = Vec::new();
    for i in 0..3 {
        let jsz = monitor(http[&i], "/jsz");
        assert_eq!(jsz["meta_cluster"]["cluster_size"], 3, "{jsz}");
        leaders.push(
            jsz["meta_cluster"]["leader"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        );
        let varz = monitor(http[&i], "/varz");
        assert_eq!(varz["server_name"], format!("aduan-nats-{}", i + 1));
        assert_eq!(varz["max_payload"], 4 << 20, "max_payload");
    }
    assert!(leaders[0].starts_with("aduan-nats-"), "{leaders:?}");
    assert!(leaders.iter().all(|l| *l == leaders[0]), "{leaders:?}");

    // svc-intake creates an R3 log and appends a 1 MiB event (the largest aduan
    // stores; it needs the raised max_payload) and small ones.
    let url = cluster.nodes[0].url();
    let opts = JetStreamOptions::new("ADUAN_LOG", "aduan.log.ADUAN_LOG").replicas(Replicas::Three);
    let log = JetStreamLog::open(connect_as(&url, Some(svc)).await, opts.clone())
        .await
        .expect("svc-intake opens the R3 log");
    let large = NewEvent::new("ComplaintReceived", "t", vec![b'x'; 1 << 20]);
    log.append("c-large", ExpectedVersion::NoStream, vec![large])
        .await
        .expect("a 1 MiB event is stored");
    for n in 0..10 {
        let e = NewEvent::new("ComplaintReceived", "t", format!("event {n}").into_bytes());
        log.append(&format!("c-{n}"), ExpectedVersion::NoStream, vec![e])
            .await
            .expect("append");
    }
    // svc-api reads it all through another node.
    let api = auth.user("svc-api");
    let other = JetStreamLog::open(connect_as(&cluster.nodes[2].url(), Some(api)).await, opts)
        .await
        .expect("svc-api opens the log on node 3");
    assert_eq!(*other.head().borrow(), 11);
    let events = other.read_all(1, 100).await.expect("read");
    assert_eq!(events.len(), 11);
    assert_eq!(events[0].payload.len(), 1 << 20);
    assert_eq!(events[10].payload, b"event 9");
    log.close().await;
    other.close().await;
}

/// The unit files of deploy/systemd.
fn units() -> Vec<PathBuf> {
    let mut units: Vec<PathBuf> = std::fs::read_dir(deploy_dir().join("systemd"))
        .expect("deploy/systemd")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "service"))
        .collect();
    units.sort();
    assert_eq!(units.len(), 5, "{units:?}");
    units
}

#[test]
fn every_systemd_unit_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().expect("dir");
    let aduan = aduan_e2e::aduan_bin();
    let nats = server_2_15();
    let mut names = Vec::new();
    for unit in units() {
        let name = unit
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&unit).expect("unit");
        for section in ["[Unit]", "[Service]", "[Install]"] {
            assert!(text.contains(section), "{name} lacks {section}");
        }
        let text = text
            .replace("/usr/local/bin/aduan ", &format!("{} ", aduan.display()))
            .replace(
                "/usr/local/bin/nats-server ",
                &format!("{} ", nats.display()),
            );
        std::fs::write(dir.path().join(&name), text).expect("copy");
        // A template is verified through an instance of it.
        names.push(name.replace("@.service", "@1.service"));
    }
    for name in names {
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(dir.path().join(&name))
            .output()
            .expect("systemd-analyze (systemd) is installed");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && said.trim().is_empty(),
            "{name}: {said}"
        );
    }
}

/// `aduan <cmd> --help`.
fn help(cmd: &str) -> String {
    let out = Command::new(aduan_e2e::aduan_bin())
        .args([cmd, "--help"])
        .output()
        .expect("aduan");
    assert!(out.status.success(), "aduan {cmd} is not a command");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_aduan_unit_names_a_subcommand_and_flags_it_lists() {
    for unit in units() {
        let text = std::fs::read_to_string(&unit).expect("unit");
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart");
        let mut words = exec.split_whitespace();
        if words.next() != Some("/usr/local/bin/aduan") {
            continue;
        }
        let cmd = words.next().expect("a subcommand");
        let listed = help(cmd);
        for flag in words.filter(|w| w.starts_with("--")) {
            assert!(
                listed.contains(flag),
                "aduan {cmd} --help does not list {flag}"
            );
        }
    }
}
