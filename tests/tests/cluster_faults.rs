//! The cluster fault test of issue 12, on loopback: three nats-server 2.15.1
//! nodes; two `aduan intake`, an active `aduan router` with a standby, one
//! `aduan projections` and one `aduan api`, each a process with its own
//! --data, all on the R3 JetStream log. A client submits complaints at a
//! steady rate over `aduan.intake.submit`, resending the same submission
//! (same channel_ref) on a timeout or error. Meanwhile the node leading the
//! log stream is SIGKILLed and later restarted, and the active router is
//! SIGKILLed. Then: every acknowledged complaint is in the log exactly once
//! and served by the api, every complaint is routed exactly once on
//! `ADUAN_OPD`, and a fresh api rebuilt from the log serves the same. The
//! unavailability windows are printed (`--nocapture`).

#[path = "cluster_faults/client.rs"]
mod client;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use aduan_e2e::processes::Service;
use aduan_e2e::{aduan_bin, http};
use aduan_nats_cluster::Cluster;
use aduan_proto::v1;
use async_nats::jetstream;
use prost::Message;

use client::{Sent, Window};

/// Submissions per second, and for how long.
const RATE: u64 = 25;
const SEND_FOR: Duration = Duration::from_secs(24);
/// When, after the first submission, the faults happen.
const LEADER_KILL_AT: Duration = Duration::from_secs(4);
const LEADER_RESTART_AT: Duration = Duration::from_secs(11);
const ROUTER_KILL_AT: Duration = Duration::from_secs(14);

/// `aduan <sub> --log jetstream --log-replicas 3 --nats <urls> <extra>`.
fn service(dir: &Path, name: &str, sub: &str, urls: &str, extra: &[&str], http: bool) -> Service {
    let mut args = vec![sub, "--log", "jetstream", "--log-replicas", "3"];
    args.extend(["--nats", urls]);
    args.extend(extra);
    Service::start(dir, name, &args, http)
}

/// Waits until `what` appears in the service's stderr.
fn wait_for_output(s: &mut Service, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s.output().contains(what) {
        assert!(s.exited().is_none(), "exited early:\n{}", s.output());
        assert!(Instant::now() < deadline, "no '{what}':\n{}", s.output());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `aduan <args>` on the cluster's log, which must succeed; its stdout.
fn aduan_ok(args: &[&str], urls: &str) -> String {
    let out = std::process::Command::new(aduan_bin())
        .args(args)
        .args(["--log", "jetstream", "--log-replicas", "3", "--nats", urls])
        .output()
        .expect("run aduan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "aduan {args:?}: {err}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The index of the node a generated config named `server_name` (`n<i>`).
fn node_index(server_name: &str) -> usize {
    server_name
        .strip_prefix('n')
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("not a generated node: {server_name}"))
}

/// The server leading `stream` (its Raft group), once it has one other than `not`.
async fn stream_leader(js: &jetstream::Context, stream: &str, not: Option<&str>) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut s) = js.get_stream(stream).await {
            if let Ok(info) = s.info().await {
                if let Some(leader) = info.cluster.as_ref().and_then(|c| c.leader.clone()) {
                    if not != Some(leader.as_str()) {
                        return leader;
                    }
                }
            }
        }
        assert!(Instant::now() < deadline, "{stream} has no leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The pid in the router lease's holder (`router-<pid>-<nonce>`), once held.
async fn lease_holder(js: &jetstream::Context) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(kv) = js.get_key_value(aduan_router::LEASE_BUCKET).await {
            if let Ok(Some(v)) = kv.get("active").await {
                let text = String::from_utf8_lossy(&v).into_owned();
                let pid = text
                    .split_once(' ')
                    .and_then(|(_, holder)| holder.split('-').nth(1))
                    .and_then(|p| p.parse().ok());
                if let Some(pid) = pid {
                    return pid;
                }
            }
        }
        assert!(Instant::now() < deadline, "nobody holds the router lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every assignment on `ADUAN_OPD`: complaint id → the times it was stored.
async fn assignments(js: &jetstream::Context) -> BTreeMap<String, Vec<SystemTime>> {
    let mut by_complaint: BTreeMap<String, Vec<SystemTime>> = BTreeMap::new();
    let mut stream = js.get_stream("ADUAN_OPD").await.expect("ADUAN_OPD");
    let last = stream.info().await.expect("info").state.last_sequence;
    for seq in 1..=last {
        let m = stream.get_raw_message(seq).await.expect("an assignment");
        let a = v1::Assignment::decode(m.payload).expect("decodes");
        by_complaint
            .entry(a.complaint_id)
            .or_default()
            .push(SystemTime::from(m.time));
    }
    by_complaint
}

/// Every assignment, once every complaint of `ids` has one.
async fn all_routed(
    js: &jetstream::Context,
    ids: &BTreeSet<String>,
) -> BTreeMap<String, Vec<SystemTime>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let routed = assignments(js).await;
        let missing = ids.iter().filter(|id| !routed.contains_key(*id)).count();
        if missing == 0 {
            return routed;
        }
        assert!(Instant::now() < deadline, "{missing} complaints not routed");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// ComplaintReceived events per channel_ref, from a CloudEvents export of the log.
fn received_per_channel_ref(urls: &str, dir: &Path) -> BTreeMap<String, usize> {
    let file = dir.join("export.jsonl");
    let out = file.to_str().expect("utf-8 path");
    let args = ["audit", "export", "--format", "cloudevents", "--out", out];
    aduan_ok(&args, urls);
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(&file).expect("export").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a json line");
        if v["type"] == "id.go.lapor.aduan.ComplaintReceived" {
            let r = v["data"]["channel_ref"].as_str().expect("channel_ref");
            *counts.entry(r.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

/// What an api serves: every complaint's status view, the root's recap and ranking.
async fn served(api: SocketAddr, bearer: &str, tracking: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in tracking {
        let (status, body) = http(api, "GET", &format!("/v1/complaints/{t}"), &[], b"").await;
        out.push((t.clone(), format!("{status} {body}")));
    }
    for path in ["/v1/stats/recap", "/v1/stats/ranking"] {
        let auth = [("Authorization", bearer)];
        let (status, body) = http(api, "GET", path, &auth, b"").await;
        out.push((path.to_owned(), format!("{status} {body}")));
    }
    out
}

/// True for "200 <a status view past `received`>".
fn is_routed(reply: &str) -> bool {
    let view = reply
        .strip_prefix("200 ")
        .and_then(|body| serde_json::from_str::<serde_json::Value>(body).ok());
    view.is_some_and(|v| v["status"].is_string() && v["status"] != "received")
}

/// Polls until `check` passes on what `api` serves.
async fn served_when(
    api: SocketAddr,
    bearer: &str,
    tracking: &[String],
    what: &str,
    check: impl Fn(&[(String, String)]) -> Option<String>,
) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = served(api, bearer, tracking).await;
        match check(&now) {
            None => return now,
            Some(why) => assert!(Instant::now() < deadline, "{what}: {why}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acked_complaints_survive_a_killed_stream_leader_and_a_killed_router() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let began = Instant::now();
    let bin = aduan_e2e::processes::nats_server_2_15();
    let mut cluster = tokio::task::block_in_place(|| Cluster::start(&bin, 3)).expect("cluster");
    let urls: Vec<String> = cluster.nodes.iter().map(|n| n.url()).collect();
    let urls = urls.join(",");
    let nc = cluster.connect(0).await.expect("connect");
    let js = jetstream::new(nc.clone());
    eprintln!("cluster ready after {:?}", began.elapsed());

    // The first router puts the sample rule set in force and takes the lease.
    let r3 = ["--opd-replicas", "3"];
    let mut router_a = service(dir, "router-a", "router", &urls, &r3, false);
    let first = tokio::time::timeout(Duration::from_secs(60), lease_holder(&js)).await;
    assert!(router_a.exited().is_none(), "{}", router_a.output());
    assert_eq!(
        first.ok(),
        Some(router_a.pid()),
        "router-a leads:\n{}",
        router_a.output()
    );
    let router_b = service(dir, "router-b", "router", &urls, &r3, false);
    let mut intakes = [
        service(dir, "intake-a", "intake", &urls, &[], false),
        service(dir, "intake-b", "intake", &urls, &[], false),
    ];
    let _projections = service(dir, "projections", "projections", &urls, &[], false);
    let api_process = service(dir, "api", "api", &urls, &[], true);
    let api = api_process.http.expect("the api listens");
    for intake in &mut intakes {
        wait_for_output(intake, "subject=aduan.intake.submit");
    }
    let token_data = dir.join("token");
    let token_data = token_data.to_str().expect("utf-8 path");
    let issue = ["token", "issue", "--role", "admin", "--name", "rina"];
    let token = aduan_ok(&[&issue[..], &["--data", token_data]].concat(), &urls);
    let bearer = format!("Bearer {}", token.trim());
    eprintln!("services ready after {:?}", began.elapsed());

    // The load, and the faults on its clock.
    let load = tokio::spawn(client::submit_steadily(nc.clone(), RATE, SEND_FOR));
    let start = Instant::now();
    tokio::time::sleep(LEADER_KILL_AT).await;
    let leader = stream_leader(&js, "ADUAN_LOG", None).await;
    let leader_killed = Instant::now();
    let leader_node = node_index(&leader);
    cluster.nodes[leader_node].kill();
    let next = stream_leader(&js, "ADUAN_LOG", Some(&leader)).await;
    eprintln!(
        "SIGKILLed {leader}, the ADUAN_LOG leader, at {:?}; {next} leads after {:?}",
        leader_killed - start,
        leader_killed.elapsed()
    );
    tokio::time::sleep(LEADER_RESTART_AT.saturating_sub(start.elapsed())).await;
    tokio::task::block_in_place(|| cluster.restart(leader_node)).expect("restart");
    eprintln!("restarted {leader} at {:?}", start.elapsed());

    tokio::time::sleep(ROUTER_KILL_AT.saturating_sub(start.elapsed())).await;
    let active = lease_holder(&js).await;
    let (killed, standby) = if active == router_a.pid() {
        (router_a, router_b)
    } else {
        (router_b, router_a)
    };
    assert_eq!(
        active,
        killed.pid(),
        "one of the two routers holds the lease"
    );
    let router_killed = Instant::now();
    let router_killed_wall = SystemTime::now();
    drop(killed); // SIGKILL
    let deadline = Instant::now() + Duration::from_secs(30);
    while lease_holder(&js).await != standby.pid() {
        assert!(Instant::now() < deadline, "the standby never took over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "SIGKILLed the active router at {:?}; the standby holds the lease after {:?}",
        router_killed - start,
        router_killed.elapsed()
    );

    let sent: Vec<Sent> = load.await.expect("the client");
    let send_end = start + SEND_FOR;
    eprintln!(
        "{} submissions, {} resends",
        sent.len(),
        sent.iter().map(|s| s.attempts - 1).sum::<u32>()
    );
    let unacked: Vec<&str> = sent
        .iter()
        .filter(|s| s.ack.is_none())
        .map(|s| s.channel_ref.as_str())
        .collect();
    assert!(unacked.is_empty(), "never acknowledged: {unacked:?}");

    // The unavailability windows.
    let windows = [
        ("before the faults", start, leader_killed),
        ("stream leader kill", leader_killed, router_killed),
        ("router kill", router_killed, send_end),
    ];
    for (what, from, to) in windows {
        let w = Window::of(&sent, from, to);
        eprintln!(
            "{what}: longest span without an ack {:?}, longest submit-to-ack {:?} ({} submissions, up to {} attempts)",
            w.longest_gap, w.longest_latency, w.submissions, w.most_attempts
        );
    }

    // Each acked complaint is in the log exactly once, and no other.
    let received = received_per_channel_ref(&urls, dir);
    let refs: BTreeSet<&str> = sent.iter().map(|s| s.channel_ref.as_str()).collect();
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "received more than once: {twice:?}");
    let logged: BTreeSet<&str> = received.keys().map(String::as_str).collect();
    assert_eq!(
        logged, refs,
        "the log holds exactly the submitted complaints"
    );

    // Each complaint routed exactly once.
    let acks: Vec<&v1::SubmitAck> = sent
        .iter()
        .filter_map(|s| s.ack.as_ref())
        .map(|a| &a.ack)
        .collect();
    let ids: BTreeSet<String> = acks.iter().map(|a| a.complaint_id.clone()).collect();
    assert_eq!(ids.len(), sent.len(), "one complaint per submission");
    let routed = all_routed(&js, &ids).await;
    let extra: Vec<_> = routed
        .iter()
        .filter(|(id, t)| t.len() != 1 || !ids.contains(*id))
        .collect();
    assert!(extra.is_empty(), "routed twice or unknown: {extra:?}");
    let delay = |s: &Sent| {
        let ack = s.ack.as_ref().expect("acked");
        let at = routed[&ack.ack.complaint_id][0];
        at.duration_since(ack.wall).unwrap_or_default()
    };
    let around = |s: &&Sent| {
        let wall = s.ack.as_ref().expect("acked").wall;
        wall + Duration::from_secs(2) > router_killed_wall
    };
    let max_delay = sent.iter().map(delay).max().unwrap_or_default();
    let router_delay = sent
        .iter()
        .filter(around)
        .map(delay)
        .max()
        .unwrap_or_default();
    eprintln!(
        "every complaint routed once: {} assignments; longest ack-to-assignment {max_delay:?}, {router_delay:?} for those acked from 2 s before the router kill on",
        routed.len()
    );

    // The api serves every acked complaint, routed; a fresh api rebuilt from
    // the log serves the same views, recap and ranking.
    let tracking: Vec<String> = acks.iter().map(|a| a.tracking_no.clone()).collect();
    let all_routed_views = |v: &[(String, String)]| {
        v.iter()
            .find(|(t, r)| !t.starts_with('/') && !is_routed(r))
            .map(|(t, r)| format!("{t}: {r}"))
    };
    served_when(api, &bearer, &tracking, "the api", all_routed_views).await;
    let rebuilt_process = service(dir, "rebuilt", "api", &urls, &[], true);
    let rebuilt = rebuilt_process.http.expect("the rebuilt api listens");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (a, b) = (
            served(api, &bearer, &tracking).await,
            served(rebuilt, &bearer, &tracking).await,
        );
        let differs = a.iter().zip(&b).find(|(x, y)| x != y);
        let Some((x, y)) = differs else { break };
        assert!(
            Instant::now() < deadline,
            "the rebuilt api differs:\n{x:?}\n{y:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "a fresh api rebuilt from the log serves the same {} views, recap and ranking; whole test {:?}",
        tracking.len(),
        began.elapsed()
    );
}
