//! Every service as a process of its own on one JetStream log (issue 12):
//! two `aduan intake`, one `aduan router`, one `aduan projections` and one
//! `aduan api`, each with its own --data, all `--log jetstream`, on a
//! nats-server 2.15.1 started here. Dedupe holds across the intakes (and the
//! api's HTTP intake), every complaint is routed once onto `ADUAN_OPD`, the
//! api serves the status its own read models fold from the log, and a token
//! issued into the `aduan_tokens` bucket works on the running api at once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use aduan_e2e::auth::submit_as_adapter;
use aduan_e2e::processes::{jetstream_server, Service};
use aduan_e2e::{aduan_bin, http, post_json, wait_for_responders_as};
use aduan_proto::v1;
use prost::Message;

/// Starts `aduan <sub> --log jetstream --nats <url>`.
fn service(dir: &Path, name: &str, sub: &str, url: &str, http: bool) -> Service {
    let args = [sub, "--log", "jetstream", "--nats", url];
    Service::start(dir, name, &args, http)
}

/// Waits until `what` appears in the service's stderr.
fn wait_for_output(s: &mut Service, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s.output().contains(what) {
        assert!(s.exited().is_none(), "exited early:\n{}", s.output());
        assert!(
            Instant::now() < deadline,
            "no '{what}' in 60 s:\n{}",
            s.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every assignment on `ADUAN_OPD`, by complaint id, once `expected`
/// complaints have one (and a moment more for any second one to show).
async fn assignments(nc: &async_nats::Client, expected: usize) -> BTreeMap<String, Vec<String>> {
    let js = async_nats::jetstream::new(nc.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut settled = None;
    loop {
        let mut by_complaint: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Ok(mut stream) = js.get_stream("ADUAN_OPD").await {
            let n = stream
                .info()
                .await
                .expect("stream info")
                .state
                .last_sequence;
            for seq in 1..=n {
                let m = stream.get_raw_message(seq).await.expect("an assignment");
                let a = v1::Assignment::decode(m.payload).expect("decodes");
                by_complaint.entry(a.complaint_id).or_default().push(a.org);
            }
        }
        if by_complaint.len() >= expected {
            // Seen them all: look once more a second later.
            match settled {
                Some(at) if Instant::now() >= at => return by_complaint,
                Some(_) => {}
                None => settled = Some(Instant::now() + Duration::from_secs(1)),
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} of {expected} complaints routed in 60 s",
            by_complaint.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The status view of `tracking_no` once the api's read models show it routed.
async fn routed_status(api: SocketAddr, tracking_no: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let path = format!("/v1/complaints/{tracking_no}");
        let (status, body) = http(api, "GET", &path, &[], b"").await;
        if status == 200 {
            let view: serde_json::Value = serde_json::from_str(&body).expect("json");
            if view["status"] != "received" {
                return view;
            }
        }
        assert!(Instant::now() < deadline, "{tracking_no}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_service_runs_as_its_own_process_on_the_jetstream_log() {
    let nats = jetstream_server();
    let url = nats.url();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // The router first: it puts the sample rule set in force, which the api waits for.
    let _router = service(dir, "router", "router", &url, false);
    let mut intake_a = service(dir, "intake-a", "intake", &url, false);
    let mut intake_b = service(dir, "intake-b", "intake", &url, false);
    let _projections = service(dir, "projections", "projections", &url, false);
    let api_process = service(dir, "api", "api", &url, true);
    let api = api_process.http.expect("the api listens");
    for intake in [&mut intake_a, &mut intake_b] {
        wait_for_output(intake, "subject=aduan.intake.submit");
    }
    let probe = ["aduan.query.status", "aduan.opd.probe.cmd"];
    wait_for_responders_as(&url, None, &probe);
    let nc = nats.connect().await;

    // The same channel reference submitted eight times at once, over NATS
    // to whichever intake the queue group picks: one complaint, and every
    // other ack a duplicate with the same number and reporter token (the
    // key is the one in the aduan_keys bucket).
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let nc = nc.clone();
        racing.spawn(async move { submit_as_adapter(&nc, "race-1").await });
    }
    let acks = racing.join_all().await;
    let firsts = acks.iter().filter(|a| !a.duplicate).count();
    assert_eq!(firsts, 1, "one first ack: {acks:?}");
    let first = acks.iter().find(|a| !a.duplicate).expect("first");
    for a in &acks {
        assert_eq!(
            (&a.complaint_id, &a.tracking_no, &a.reporter_token),
            (
                &first.complaint_id,
                &first.tracking_no,
                &first.reporter_token
            )
        );
    }
    assert!(!first.reporter_token.is_empty());

    // More complaints, each also resubmitted: over NATS and over the api's HTTP.
    let mut distinct = BTreeSet::from([first.complaint_id.clone()]);
    for i in 0..12 {
        let channel_ref = format!("msg-{i}");
        let ack = submit_as_adapter(&nc, &channel_ref).await;
        assert!(!ack.duplicate, "{ack:?}");
        let again = submit_as_adapter(&nc, &channel_ref).await;
        assert!(again.duplicate, "{again:?}");
        assert_eq!(again.complaint_id, ack.complaint_id);
        distinct.insert(ack.complaint_id);
    }
    let body = serde_json::json!({
        "channel": "web", "channel_ref": "msg-0", "kind": "complaint",
        "title": "Obat kosong", "body": "Obat di puskesmas Juwana habis sejak minggu lalu",
        "location": {"region_code": "33.18"},
    });
    let (status, ack) = post_json(api, "/v1/complaints", &body).await;
    assert_eq!(status, 200, "a duplicate over HTTP: {ack}");
    assert_eq!(ack["duplicate"], true, "{ack}");

    // Both intake processes took submissions, and the complaints were
    // appended by both (each log names complaints it received).
    for intake in [&intake_a, &intake_b] {
        let out = intake.output();
        assert!(
            out.contains("complaint received") || out.contains("duplicate submission"),
            "an intake served nothing:\n{out}"
        );
    }

    // Each complaint routed exactly once, onto the sample's owner.
    let routed = assignments(&nc, distinct.len()).await;
    assert_eq!(
        routed.keys().cloned().collect::<BTreeSet<_>>(),
        distinct,
        "every complaint, and only those, routed"
    );
    for (id, orgs) in &routed {
        assert_eq!(orgs, &["kab-pati-dinkes"], "complaint {id}: {orgs:?}");
    }

    // The api serves the status from the read models of its own --data.
    let view = routed_status(api, &first.tracking_no).await;
    assert_eq!(view["org"], "kab-pati-dinkes", "{view}");
    assert!(dir.join("api/views").is_dir() && !dir.join("api/log").exists());
    // And the web console's status page, from the same read models.
    let page = format!("/lacak/{}", first.tracking_no);
    let (status, body) = http(api, "GET", &page, &[], b"").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("data-testid=\"owner\""), "{body}");

    // A token issued into the bucket works on the running api at once.
    let recap = "/v1/stats/recap";
    let (status, _) = http(api, "GET", recap, &[("Authorization", "Bearer nope")], b"").await;
    assert_eq!(status, 401);
    let out = std::process::Command::new(aduan_bin())
        .args(["token", "issue", "--role", "admin", "--name", "rina"])
        .args(["--log", "jetstream", "--nats", &url])
        .output()
        .expect("aduan token issue");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    let issued = Instant::now();
    let bearer = format!("Bearer {token}");
    loop {
        let (status, body) = http(api, "GET", recap, &[("Authorization", &bearer)], b"").await;
        if status == 200 {
            break;
        }
        assert!(issued.elapsed() < Duration::from_secs(1), "{status} {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "{} complaints, {} assignments; the issued token worked on the api after {:?}",
        distinct.len(),
        routed.values().map(Vec::len).sum::<usize>(),
        issued.elapsed()
    );
    // The auditor verifies and exports the JetStream log while it runs; the
    // export imports into a sled data directory with the same head hash.
    let (last, head_hash) = verified(&["--log", "jetstream", "--nats", &url]);
    let export = dir.join("export.jsonl");
    let to = last.to_string();
    let export_arg = export.to_str().expect("utf-8 path");
    let on_js = ["--log", "jetstream", "--nats", &url];
    aduan_ok(
        &[
            &["audit", "export", "--to", &to, "--out", export_arg][..],
            &on_js,
        ]
        .concat(),
    );
    let sled = dir.join("sled");
    let sled_arg = sled.to_str().expect("utf-8 path");
    aduan_ok(&["audit", "import", export_arg, "--data", sled_arg]);
    assert_eq!(verified(&["--data", sled_arg]), (last, head_hash.clone()));
    println!("audit verify of the JetStream log and of its import into sled: positions 1..{last}, head hash {head_hash}");
    assert_eq!(api_process.terminate(), Some(0));
}

/// Runs `aduan <args>`, which must succeed; its stdout.
fn aduan_ok(args: &[&str]) -> String {
    let out = std::process::Command::new(aduan_bin())
        .args(args)
        .output()
        .expect("run aduan");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "aduan {args:?}: {err}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `aduan audit verify <args>`: its last position and head hash.
fn verified(args: &[&str]) -> (u64, String) {
    let out = aduan_ok(&[&["audit", "verify"][..], args].concat());
    // "ok: N events in S streams, positions 1..N, head hash H"
    let positions = out.split("positions 1..").nth(1).expect("positions");
    let last = positions
        .split(',')
        .next()
        .expect("last")
        .parse()
        .expect("a number");
    let hash = out.trim().rsplit(' ').next().expect("hash").to_owned();
    assert!(out.contains("head hash"), "{out}");
    (last, hash)
}

#[test]
fn a_jetstream_log_without_nats_is_a_usage_error() {
    for sub in ["router", "projections", "api", "serve"] {
        let out = std::process::Command::new(aduan_bin())
            .args([sub, "--log", "jetstream", "--data", "/nonexistent/aduan"])
            .env_remove("ADUAN_NATS")
            .output()
            .expect("run aduan");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sub}: {err}");
        assert!(err.contains("--nats"), "{sub}: {err}");
    }
}
