//! Several log instances on separate connections (as separate processes
//! would be) sharing one stream on the three-node R3 cluster: global order,
//! the hash chain and per-stream versions hold across them, and each sees
//! the others' appends.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aduan_log::{verify, EventLog, ExpectedVersion, LogError, NewEvent};
use aduan_log_jetstream::{JetStreamLog, Replicas};
use tokio::sync::Barrier;

fn event(tag: &str) -> NewEvent {
    NewEvent::new("Raced", "test", tag.as_bytes().to_vec())
}

/// Opens `n` instances of one fresh R3 stream, each on its own connection
/// (to the nodes in turn).
async fn instances(js: &mut common::Js, n: usize) -> Vec<JetStreamLog> {
    let opts = common::fresh_options(Replicas::Three);
    let mut logs = Vec::new();
    for _ in 0..n {
        logs.push(js.open(opts.clone()).await);
    }
    logs
}

/// The test nats-server #4320 (2.9 before 2.9.21) would have failed: writers
/// on separate connections race to append version k of one stream, round
/// after round, while each also appends to a stream of its own so the
/// fence keeps moving. Every version is won exactly once, every loser gets
/// a `Conflict` naming exactly that version, and the shared log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_on_separate_connections_win_each_version_once() {
    const WRITERS: usize = 6;
    const ROUNDS: u64 = 40;
    let mut js = common::Js::three();
    let logs = instances(&mut js, WRITERS).await;
    let barrier = Arc::new(Barrier::new(WRITERS));
    let tasks: Vec<_> = logs
        .iter()
        .cloned()
        .enumerate()
        .map(|(w, log)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut won = Vec::new();
                let own = format!("own-{w}");
                for k in 0..ROUNDS {
                    barrier.wait().await;
                    let e = event(&format!("w{w}-k{k}"));
                    let id = e.event_id;
                    let noise = log.append(&own, ExpectedVersion::Any, vec![event("n")]);
                    let race = log.append("hot", ExpectedVersion::Exact(k), vec![e]);
                    let (noise, race) = tokio::join!(noise, race);
                    noise.expect("an append without expectation");
                    match race {
                        Ok(a) => {
                            assert_eq!(a.stream_version, k + 1);
                            won.push((k + 1, id));
                        }
                        Err(LogError::Conflict { actual, .. }) => assert_eq!(actual, k + 1),
                        Err(e) => panic!("writer {w} round {k}: {e}"),
                    }
                    barrier.wait().await;
                }
                won
            })
        })
        .collect();
    // A writer that panics leaves the others at the barrier: the join of
    // all of them is bounded, and any panic is reported.
    let joined = tokio::time::timeout(Duration::from_secs(180), futures::future::join_all(tasks));
    let mut winners = Vec::new();
    for t in joined.await.expect("racing writers stalled") {
        winners.extend(t.expect("writer"));
    }
    winners.sort();
    let versions: Vec<u64> = winners.iter().map(|(v, _)| *v).collect();
    assert_eq!(
        versions,
        (1..=ROUNDS).collect::<Vec<_>>(),
        "each version won once"
    );

    let fresh = js.open(common_options_of(&logs[0])).await;
    let hot = fresh.read_stream("hot", 1).await.expect("read hot");
    let stored: Vec<_> = hot.iter().map(|e| (e.stream_version, e.event_id)).collect();
    assert_eq!(
        stored, winners,
        "the stored versions are the acknowledged ones"
    );
    let total = ROUNDS * (1 + WRITERS as u64);
    assert_eq!(*fresh.head().borrow(), total);
    let report = verify(&fresh, 1, None, &mut |_| {})
        .await
        .expect("verifies");
    assert_eq!(report.events, total);
    for log in &logs {
        let head = wait_for_head(log, total).await;
        assert_eq!(head, total, "every instance reaches the same head");
    }
}

/// `head()`, subscriptions and the stream index of one instance follow the
/// appends another instance makes on its own connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_subscribe_see_appends_of_another_instance() {
    let mut js = common::Js::three();
    let logs = instances(&mut js, 2).await;
    let (a, b) = (&logs[0], &logs[1]);
    let mut sub = b.subscribe(1);
    let mut ids = Vec::new();
    for i in 0..50 {
        let e = event(&format!("a{i}"));
        ids.push(e.event_id);
        let expected = if i == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(i)
        };
        a.append("shared", expected, vec![e])
            .await
            .expect("a appends");
    }
    assert_eq!(
        wait_for_head(b, 50).await,
        50,
        "b's head follows a's appends"
    );
    let mut seen = Vec::new();
    for want in 1..=50 {
        let e = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("b's subscription stalled")
            .expect("next");
        assert_eq!(e.position, want);
        seen.push(e.event_id);
    }
    assert_eq!(seen, ids);
    let read = b.read_stream("shared", 1).await.expect("b reads");
    assert_eq!(read.len(), 50);
    let next = b
        .append("shared", ExpectedVersion::Exact(50), vec![event("b")])
        .await
        .expect("b appends after a, knowing the version");
    assert_eq!((next.first_position, next.stream_version), (51, 51));
    assert_eq!(wait_for_head(a, 51).await, 51, "and a sees b's");
}

/// An instance that has not yet seen another's append decides on the
/// stream's current state, not on its own stale view: right after b
/// creates a stream, a's append expecting version 1 succeeds (it is never
/// refused with a `Conflict` naming version 0), and a's append expecting
/// no stream is refused naming version 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_behind_another_decides_on_the_current_state() {
    let mut js = common::Js::three();
    let logs = instances(&mut js, 2).await;
    let (a, b) = (&logs[0], &logs[1]);
    for i in 0..40 {
        let stream = format!("t{i}");
        b.append(&stream, ExpectedVersion::NoStream, vec![event("b")])
            .await
            .expect("b creates it");
        let next = a
            .append(&stream, ExpectedVersion::Exact(1), vec![event("a")])
            .await;
        assert!(
            matches!(next, Ok(ref x) if x.stream_version == 2),
            "{stream}: {next:?}"
        );
        let other = format!("u{i}");
        b.append(&other, ExpectedVersion::NoStream, vec![event("b")])
            .await
            .expect("b creates another");
        let again = a
            .append(&other, ExpectedVersion::NoStream, vec![event("a")])
            .await;
        assert!(
            matches!(again, Err(LogError::Conflict { actual: 1, .. })),
            "{other}: {again:?}"
        );
    }
}

/// A record that does not continue the chain (published on the log's
/// subject by something else) stops every instance: appends are refused
/// with `Corrupt` naming its position, nothing more is stored by them, and
/// opening the stream again refuses it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_message_on_the_subject_is_refused_as_corrupt() {
    let mut js = common::Js::three();
    let opts = common::fresh_options(Replicas::Three);
    let log = js.open(opts.clone()).await;
    log.append("s", ExpectedVersion::NoStream, vec![event("1")])
        .await
        .expect("first");
    let client = js.cluster.connect(0).await;
    let jetstream = async_nats::jetstream::new(client);
    let ack = jetstream
        .publish(opts.subject.clone(), "not a record".into())
        .await
        .expect("publish");
    ack.await.expect("stored by JetStream");
    let mut head = log.head();
    let refused = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match log
                .append("s", ExpectedVersion::Any, vec![event("2")])
                .await
            {
                Err(LogError::Corrupt { position, .. }) => return position,
                Ok(a) => panic!("appended after a foreign record: {a:?}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .expect("the foreign record is noticed");
    assert_eq!(refused, 2);
    assert_eq!(*head.borrow_and_update(), 1);
    let reopened = JetStreamLog::open(js.cluster.connect(1).await, opts).await;
    assert!(
        matches!(reopened, Err(LogError::Corrupt { position: 2, .. })),
        "{reopened:?}"
    );
}

/// The options `log` was opened with (its stream and subject).
fn common_options_of(log: &JetStreamLog) -> aduan_log_jetstream::JetStreamOptions {
    let stream = log.stream();
    let rest = stream.trim_start_matches("LOG_").replace('_', ".");
    aduan_log_jetstream::JetStreamOptions::new(stream, format!("log.{rest}"))
        .replicas(Replicas::Three)
}

/// Waits (up to 10 s) for `log`'s head to reach `want`; returns the head.
async fn wait_for_head(log: &JetStreamLog, want: u64) -> u64 {
    let mut head = log.head();
    let reached = tokio::time::timeout(Duration::from_secs(10), head.wait_for(|h| *h >= want));
    let _ = reached.await;
    let now = *head.borrow();
    now
}
