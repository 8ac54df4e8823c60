//! Holding and releasing a data directory: a second `aduan` on a directory
//! that a running `aduan serve` holds is refused with a message saying what
//! to do; and SIGTERM while many submissions are in flight ends with exit 0
//! within a bound, every acknowledged complaint in the log after the stop.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aduan_e2e::{aduan_bin, free_port, try_post_json, Aduan};
use serde_json::json;

fn aduan(args: &[&str], data: &Path) -> (Option<i32>, String) {
    let out = Command::new(aduan_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "error")
        .output()
        .expect("run aduan");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_aduan_on_a_held_directory_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let a = tokio::task::block_in_place(|| Aduan::serve(&data, None, &[]));
    let held = format!(
        "data directory {} is in use by a running aduan; stop it or pass another --data",
        data.join("log").display()
    );
    let http = format!("127.0.0.1:{}", free_port());
    for args in [
        &["serve", "--http", &http][..],
        &["router"],
        &["projections", "rebuild"],
        &["audit", "verify"],
        &["audit", "export"],
    ] {
        let started = Instant::now();
        let (code, out) = tokio::task::block_in_place(|| aduan(args, &data));
        assert_eq!(code, Some(1), "{args:?}: {out}");
        assert!(out.contains(&held), "{args:?}: {out}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{args:?} took {:?} to give up",
            started.elapsed()
        );
    }
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/rules/sample.toml");
    let sample = sample.to_str().expect("utf8");
    let (code, out) = tokio::task::block_in_place(|| aduan(&["rules", "publish", sample], &data));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "is in use by a running aduan (serve or router); stop it, or restart it with --rules"
        ),
        "{out}"
    );
    assert_eq!(tokio::task::block_in_place(|| a.terminate()), Some(0));
    // Released on a clean stop: the next one opens it at once.
    let (code, out) = tokio::task::block_in_place(|| aduan(&["audit", "verify"], &data));
    assert_eq!(code, Some(0), "{out}");
}

/// One submission's outcome.
enum Outcome {
    /// 201 with this complaint id and tracking number, answered this long after the SIGTERM
    /// (negative: before it).
    Acked(String, String, f64),
    /// Another status (503 while stopping, say).
    Refused(u16),
    /// No answer: not accepted, or the connection closed.
    Unanswered,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_submissions_in_flight_loses_no_ack_and_exits_0() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let a = tokio::task::block_in_place(|| Aduan::serve(&data, None, &[]));
    let addr = a.http;
    let acked = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let signal_at = Arc::new(std::sync::OnceLock::<Instant>::new());
    // 64 clients submit back to back until the server no longer answers.
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..64 {
        let (acked, stopped, signal_at) = (acked.clone(), stopped.clone(), signal_at.clone());
        clients.spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0.. {
                let body = json!({"channel": "sms", "channel_ref": format!("stop-{c}-{i}"),
                    "kind": "complaint", "title": "Jalan rusak",
                    "body": format!("Jalan berlubang di desa nomor {c}-{i}"),
                    "location": {"region_code": "33.18"}});
                let answer = try_post_json(addr, "/v1/complaints", &body).await;
                let since = signal_at.get().map_or(-1.0, |t| t.elapsed().as_secs_f64());
                let outcome = match answer {
                    Some((201, ack)) => {
                        acked.fetch_add(1, Ordering::Relaxed);
                        Outcome::Acked(
                            ack["complaint_id"].as_str().expect("id").to_owned(),
                            ack["tracking_no"].as_str().expect("tracking").to_owned(),
                            since,
                        )
                    }
                    Some((status, _)) => Outcome::Refused(status),
                    None => Outcome::Unanswered,
                };
                let done =
                    matches!(outcome, Outcome::Unanswered) && stopped.load(Ordering::Relaxed);
                outcomes.push(outcome);
                if done {
                    break;
                }
            }
            outcomes
        });
    }
    // Stop once the submissions are well under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.load(Ordering::Relaxed) < 200 {
        assert!(Instant::now() < deadline, "no submissions acknowledged");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    signal_at.set(Instant::now()).expect("signal once");
    let code = tokio::task::spawn_blocking(move || a.terminate());
    let code = tokio::time::timeout(Duration::from_secs(20), code)
        .await
        .expect("aduan did not stop within 20 s of SIGTERM")
        .expect("join");
    let took = signal_at.get().expect("signalled").elapsed();
    stopped.store(true, Ordering::Relaxed);
    assert_eq!(code, Some(0), "exit code after SIGTERM");

    let mut acks = Vec::new();
    let (mut refused, mut unanswered, mut after_signal) = (0, 0, 0);
    while let Some(outcomes) = clients.join_next().await {
        for o in outcomes.expect("client") {
            match o {
                Outcome::Acked(id, t, since) => {
                    after_signal += usize::from(since >= 0.0);
                    acks.push((id, t));
                }
                Outcome::Refused(s) => {
                    assert_eq!(s, 503, "only 503 may refuse a submission while stopping");
                    refused += 1;
                }
                Outcome::Unanswered => unanswered += 1,
            }
        }
    }
    eprintln!(
        "SIGTERM: {} acknowledged ({after_signal} answered after the signal), {refused} refused \
         with 503, {unanswered} unanswered; stopped in {took:?}",
        acks.len()
    );
    assert!(
        after_signal > 0,
        "no request was in flight at the signal: the test did not test a drain"
    );

    // Every ack is in the log, which verifies; the last ones are found by
    // tracking number too (intake's index was flushed on the way out).
    let (code, out) = aduan(&["audit", "verify"], &data);
    assert_eq!(code, Some(0), "{out}");
    let (code, export) = aduan(&["audit", "export"], &data);
    assert_eq!(code, Some(0));
    let logged: BTreeSet<&str> = export
        .lines()
        .filter(|l| l.contains("ComplaintReceived"))
        .filter_map(|l| l.split("\"complaint_id\":\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let lost: Vec<_> = acks
        .iter()
        .filter(|(id, _)| !logged.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged but not in the log: {lost:?}",
        lost.len()
    );
    for (id, t) in acks.iter().rev().take(20) {
        let (code, out) = aduan(&["audit", "history", t, "--json"], &data);
        assert_eq!(code, Some(0), "{t}: {out}");
        let canonical = t.replace('-', "");
        assert!(
            out.contains("ComplaintReceived") && out.contains(&canonical),
            "{t} ({id}): {out}"
        );
    }
}
