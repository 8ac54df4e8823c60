//! Against a single nats-server 2.15.1 node: bad options and over-large
//! appends are refused with nothing created or appended, and an export
//! moves sled → JetStream → sled with every position and hash kept.

mod common;

use aduan_log::conformance::Backend as _;
use aduan_log::{verify, EventLog, ExpectedVersion, LogError, NewEvent, RecordedEvent};
use aduan_log_jetstream::{JetStreamLog, JetStreamOptions, Replicas};
use aduan_log_sled::{SledLog, SledOptions};

fn event(i: usize) -> NewEvent {
    NewEvent::new("Moved", "test", format!("{i}").into_bytes())
}

async fn stream_names(client: &async_nats::Client) -> Vec<String> {
    let reply = client
        .request("$JS.API.STREAM.NAMES", "".into())
        .await
        .expect("stream names");
    let v: serde_json::Value = serde_json::from_slice(&reply.payload).expect("json");
    v["streams"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A malformed stream name or subject is refused before anything is
/// created; an existing stream whose configuration differs (replicas, or
/// deletes allowed) is refused without a write; an append of more events
/// than one atomic batch holds is refused and appends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_and_oversized_appends_are_refused_and_write_nothing() {
    let js = common::Js::single();
    let client = js.cluster.connect(0).await;
    let before = stream_names(&client).await;
    let bad = [
        JetStreamOptions::new("has.dot", "ok.subject"),
        JetStreamOptions::new("", "ok.subject"),
        JetStreamOptions::new("OK_NAME", "wild.*"),
        JetStreamOptions::new("OK_NAME", "two..dots"),
        JetStreamOptions {
            max_batch: 1001,
            ..JetStreamOptions::new("OK_NAME", "ok.subject")
        },
    ];
    for opts in bad {
        let shown = format!("{opts:?}");
        let r = JetStreamLog::open(client.clone(), opts).await;
        assert!(matches!(r, Err(LogError::Invalid(_))), "{shown}: {r:?}");
    }
    assert_eq!(stream_names(&client).await, before, "nothing was created");

    let opts = common::fresh_options(Replicas::One);
    let log = JetStreamLog::open(client.clone(), opts.clone())
        .await
        .expect("open");
    log.append("s", ExpectedVersion::NoStream, vec![event(0)])
        .await
        .expect("one event");
    let other = JetStreamOptions::new(opts.stream.clone(), "another.subject");
    let r = JetStreamLog::open(client.clone(), other).await;
    assert!(matches!(r, Err(LogError::Invalid(_))), "{r:?}");
    let more_replicas = opts.clone().replicas(Replicas::Three);
    let r = JetStreamLog::open(client.clone(), more_replicas).await;
    assert!(matches!(r, Err(LogError::Invalid(_))), "{r:?}");

    let too_many: Vec<_> = (0..opts.max_batch + 1).map(event).collect();
    let r = log.append("s", ExpectedVersion::Exact(1), too_many).await;
    assert!(matches!(r, Err(LogError::Invalid(_))), "{r:?}");
    let at_limit: Vec<_> = (0..opts.max_batch).map(event).collect();
    let a = log
        .append("t", ExpectedVersion::NoStream, at_limit)
        .await
        .expect("a full batch");
    assert_eq!(
        (a.first_position, a.last_position),
        (2, 1 + opts.max_batch as u64)
    );
    let full = 1 + opts.max_batch as u64;
    let reopened = JetStreamLog::open(client, opts).await.expect("reopen");
    assert_eq!(*reopened.head().borrow(), full);
    assert_eq!(reopened.read_stream("s", 1).await.expect("read").len(), 1);
}

async fn everything<L: EventLog>(log: &L) -> Vec<RecordedEvent> {
    log.read_all(1, 100_000).await.expect("read")
}

/// sled → JetStream → sled: the same records, positions, hashes and head
/// hash, and the JetStream copy appends on after them like the original.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_between_sled_and_jetstream_keeps_every_position_and_hash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sled = SledLog::open(SledOptions::new(dir.path().join("a"))).expect("sled");
    for i in 0..700 {
        let batch = (0..1 + i % 3).map(|j| event(i * 10 + j)).collect();
        sled.append(&format!("m{}", i % 9), ExpectedVersion::Any, batch)
            .await
            .expect("append");
    }
    let original = everything(&sled).await;
    let mut js = common::Js::single();
    let jet = js.create().await;
    // More records than one atomic batch: the import goes in several.
    assert!(original.len() > 1000);
    let a = jet.import(original.clone()).await.expect("into JetStream");
    assert_eq!(a.last_position, original.len() as u64);
    assert_eq!(everything(&jet).await, original);
    let back = SledLog::open(SledOptions::new(dir.path().join("b"))).expect("sled b");
    back.import(everything(&jet).await)
        .await
        .expect("back into sled");
    assert_eq!(everything(&back).await, original);
    let x = verify(&sled, 1, None, &mut |_| {})
        .await
        .expect("verify sled");
    let y = verify(&jet, 1, None, &mut |_| {}).await.expect("verify js");
    let z = verify(&back, 1, None, &mut |_| {})
        .await
        .expect("verify back");
    assert_eq!((&x, &x), (&y, &z));
    let jet = js.reopen(jet).await;
    let version = jet.read_stream("m0", 1).await.expect("m0").len() as u64;
    let next = jet
        .append("m0", ExpectedVersion::Exact(version), vec![event(1)])
        .await
        .expect("append after import");
    assert_eq!(next.first_position, original.len() as u64 + 1);
    let last = jet.read_all(next.first_position, 1).await.expect("read");
    assert_eq!(last[0].prev_hash, x.head_hash, "the chain continues");
}
