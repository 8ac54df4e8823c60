//! SIGKILL of the stream leader of the R3 cluster while appenders run: no
//! acknowledged append is lost, none is stored twice, the log verifies, and
//! appends resume; the unavailability window is printed.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aduan_log::{verify, EventLog, ExpectedVersion, LogError, NewEvent};
use aduan_log_jetstream::{JetStreamLog, Replicas};

/// The index of the node leading `stream`, from its info.
async fn leader(client: &async_nats::Client, stream: &str) -> usize {
    loop {
        let reply = client
            .request(format!("$JS.API.STREAM.INFO.{stream}"), "".into())
            .await;
        if let Ok(m) = reply {
            let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap_or_default();
            let name = v["cluster"]["leader"].as_str().unwrap_or_default();
            if let Some(i) = name.strip_prefix('n').and_then(|i| i.parse().ok()) {
                return i;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_stream_leader_loses_and_duplicates_no_acknowledged_append() {
    let mut cluster = common::Cluster::three();
    let opts = common::fresh_options(Replicas::Three);
    let log = JetStreamLog::open(cluster.connect(0).await, opts.clone())
        .await
        .expect("open");
    let admin = cluster.connect(1).await;
    let victim = leader(&admin, &opts.stream).await;

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (log, stop) = (log.clone(), stop.clone());
            tokio::spawn(async move {
                let stream = format!("f{t}");
                let (mut version, mut acked, mut failed) = (0, Vec::new(), 0);
                let mut unexplained_conflicts = 0;
                while !stop.load(Ordering::Relaxed) {
                    let e = NewEvent::new("Survived", "test", vec![t as u8; 64]);
                    let id = e.event_id;
                    match log
                        .append(&stream, ExpectedVersion::Exact(version), vec![e])
                        .await
                    {
                        Ok(a) => {
                            version = a.stream_version;
                            acked.push((id, started.elapsed()));
                        }
                        // Only this task writes its stream: a conflict is
                        // right only after a failed append that landed after all.
                        Err(LogError::Conflict { actual, .. }) => {
                            if actual <= version || failed == 0 {
                                unexplained_conflicts += 1;
                            }
                            version = actual;
                        }
                        Err(_) => {
                            failed += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
                assert_eq!(
                    unexplained_conflicts, 0,
                    "{stream}: conflicts on its own appends"
                );
                (acked, failed)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed_at = started.elapsed();
    cluster.nodes[victim].kill();
    tokio::time::sleep(Duration::from_secs(15)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (a, f) = t.await.expect("appender");
        acked.extend(a);
        failed += f;
    }
    acked.sort_by_key(|(_, at)| *at);
    let after: Vec<_> = acked.iter().filter(|(_, at)| *at > killed_at).collect();
    assert!(
        after.len() > 100,
        "appends resumed after the kill: {}",
        after.len()
    );
    // The longest stretch without an acknowledgement once the kill happened.
    let window = acked
        .windows(2)
        .filter(|w| w[1].1 > killed_at)
        .map(|w| w[1].1 - w[0].1)
        .max()
        .unwrap_or_default();
    println!(
        "leader n{victim} killed at {killed_at:?}: no acknowledgement for {window:?}; \
         {} acknowledged, {failed} appends failed and were retried, \
         {} batches in doubt settled by looking",
        acked.len(),
        log.batches_in_doubt()
    );

    let survivor = (victim + 1) % 3;
    let fresh = JetStreamLog::open(cluster.connect(survivor).await, opts)
        .await
        .expect("open on a survivor");
    let head = *fresh.head().borrow();
    let all = fresh.read_all(1, head as usize).await.expect("read all");
    assert_eq!(all.len() as u64, head);
    let mut stored: HashMap<_, usize> = HashMap::new();
    for e in &all {
        *stored.entry(e.event_id).or_default() += 1;
    }
    assert!(stored.values().all(|n| *n == 1), "an event stored twice");
    let missing: HashSet<_> = acked
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !stored.contains_key(id))
        .collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let report = verify(&fresh, 1, None, &mut |_| {})
        .await
        .expect("verifies");
    assert_eq!(report.events, head);
}
