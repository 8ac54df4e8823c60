//! Append rates of the JetStream log, printed, not asserted (ignored by
//! default; run `cargo test -p aduan-log-jetstream --test measure --
//! --ignored --nocapture`). Every node runs `sync_interval: always`.

mod common;

use std::time::Instant;

use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_jetstream::{JetStreamLog, Replicas};

/// `instances` logs on separate connections, `appenders` tasks on each,
/// `per_task` single-event appends each (to a stream of its own, version
/// checked): durable appends per second.
async fn rate(js: &mut common::Js, instances: usize, appenders: usize, per_task: usize) -> f64 {
    let opts = common::fresh_options(js.replicas);
    let mut logs: Vec<JetStreamLog> = Vec::new();
    for _ in 0..instances {
        logs.push(js.open(opts.clone()).await);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, log) in logs.iter().enumerate() {
        for t in 0..appenders {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let stream = format!("s{i}-{t}");
                for v in 0..per_task as u64 {
                    let e = NewEvent::new("Measured", "bench", vec![7; 256]);
                    log.append(&stream, ExpectedVersion::Exact(v), vec![e])
                        .await
                        .expect("append");
                }
            }));
        }
    }
    for t in tasks {
        t.await.expect("appender");
    }
    let total = (instances * appenders * per_task) as f64;
    total / started.elapsed().as_secs_f64()
}

async fn table(mut js: common::Js, label: &str) {
    for (instances, appenders, per_task) in [(1, 1, 300), (1, 16, 100), (1, 256, 20), (4, 16, 25)] {
        let r = rate(&mut js, instances, appenders, per_task).await;
        println!("{label}: {instances} instance(s) x {appenders} appenders: {r:.0} appends/s");
    }
}

/// How fast opening rebuilds the stream index (reading every record).
async fn reopen_rate(js: &mut common::Js, records: usize) -> f64 {
    use aduan_log::conformance::Backend as _;
    let log = js.create().await;
    for b in 0..records / 500 {
        let batch = (0..500)
            .map(|_| NewEvent::new("Measured", "bench", vec![7; 256]))
            .collect();
        log.append(&format!("r{}", b % 50), ExpectedVersion::Any, batch)
            .await
            .expect("append");
    }
    let started = Instant::now();
    let log = js.reopen(log).await;
    let rate = records as f64 / started.elapsed().as_secs_f64();
    assert_eq!(*log.head().borrow(), records as u64);
    rate
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn reopen_rates() {
    let r1 = reopen_rate(&mut common::Js::single(), 50_000).await;
    println!("R1, one node: open reads 50,000 records at {r1:.0} records/s");
    let r3 = reopen_rate(&mut common::Js::three(), 50_000).await;
    println!("R3, three nodes: open reads 50,000 records at {r3:.0} records/s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn append_rates_single_node_r1() {
    table(common::Js::single(), "R1, one node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn append_rates_cluster_r3() {
    let js = common::Js::three();
    assert_eq!(js.replicas, Replicas::Three);
    table(js, "R3, three nodes").await;
}
