//! The conformance suite every [`EventLog`] backend must pass.
//!
//! Each check takes a fresh, empty log and panics on a violation; a backend's
//! tests call every check (see `tests/sled_conformance.rs`). Checks spawn
//! tasks, so they run inside a multi-threaded Tokio runtime.

use std::collections::HashSet;

use crate::{verify, EventLog, ExpectedVersion, LogError, NewEvent};

fn event(n: usize) -> NewEvent {
    NewEvent::new(
        "TestEvent",
        "conformance",
        format!("payload-{n}").into_bytes(),
    )
}

/// Appends are read back in order, with gap-free positions and stream versions.
pub async fn append_then_read<L: EventLog + Clone>(log: L) {
    let a = log
        .append("a", ExpectedVersion::NoStream, vec![event(1), event(2)])
        .await;
    let a = a.expect("first append");
    assert_eq!(
        (a.first_position, a.last_position, a.stream_version),
        (1, 2, 2)
    );
    let b = log
        .append("b", ExpectedVersion::Any, vec![event(3)])
        .await
        .expect("append b");
    assert_eq!((b.first_position, b.stream_version), (3, 1));
    let a2 = log
        .append("a", ExpectedVersion::Exact(2), vec![event(4)])
        .await
        .expect("a again");
    assert_eq!((a2.first_position, a2.stream_version), (4, 3));

    let all = log.read_all(1, 100).await.expect("read_all");
    let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![1, 2, 3, 4]);
    let payloads: Vec<&[u8]> = all.iter().map(|e| e.payload.as_slice()).collect();
    assert_eq!(
        payloads,
        [&b"payload-1"[..], b"payload-2", b"payload-3", b"payload-4"]
    );
    let stream_a = log.read_stream("a", 1).await.expect("read a");
    let versions: Vec<u64> = stream_a.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, vec![1, 2, 3]);
    assert_eq!(log.read_stream("a", 3).await.expect("tail of a").len(), 1);
    assert!(log
        .read_stream("nope", 1)
        .await
        .expect("unknown stream")
        .is_empty());
    assert_eq!(log.read_all(3, 1).await.expect("page").len(), 1);
    assert!(log.read_all(5, 10).await.expect("past head").is_empty());
    assert_eq!(*log.head().borrow(), 4);
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "hash chain");
    }
}

/// A wrong expectation is a `Conflict` carrying the actual version, and appends nothing.
pub async fn conflicts_append_nothing<L: EventLog + Clone>(log: L) {
    log.append("s", ExpectedVersion::NoStream, vec![event(1)])
        .await
        .expect("first");
    let cases = [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Exact(5),
    ];
    for expected in cases {
        match log.append("s", expected, vec![event(2), event(3)]).await {
            Err(LogError::Conflict { actual, .. }) => assert_eq!(actual, 1),
            other => panic!("expected a conflict for {expected:?}, got {other:?}"),
        }
    }
    assert_eq!(
        *log.head().borrow(),
        1,
        "a refused batch must append nothing"
    );
    assert_eq!(log.read_stream("s", 1).await.expect("read").len(), 1);
    let empty = log.append("s", ExpectedVersion::Any, vec![]).await;
    assert!(matches!(empty, Err(LogError::Invalid(_))));
}

/// Many appenders racing on one stream with expected versions: each version is
/// won exactly once, and every event that was acknowledged is stored once.
pub async fn optimistic_concurrency_under_contention<L: EventLog + Clone>(log: L) {
    const TASKS: usize = 16;
    const PER_TASK: usize = 25;
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            let mut won = Vec::new();
            while won.len() < PER_TASK {
                let current = log.read_stream("hot", 1).await.expect("read").len() as u64;
                let e = event(t * 1000 + won.len());
                let id = e.event_id;
                match log
                    .append("hot", ExpectedVersion::Exact(current), vec![e])
                    .await
                {
                    Ok(a) => {
                        assert_eq!(a.stream_version, current + 1);
                        won.push((a.stream_version, id));
                    }
                    Err(LogError::Conflict { actual, .. }) => assert!(actual > current),
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            won
        }));
    }
    let mut versions = HashSet::new();
    let mut ids = HashSet::new();
    for h in handles {
        for (v, id) in h.await.expect("task") {
            assert!(versions.insert(v), "version {v} won twice");
            ids.insert(id);
        }
    }
    let stored = log.read_stream("hot", 1).await.expect("read");
    assert_eq!(stored.len(), TASKS * PER_TASK);
    let stored_ids: HashSet<_> = stored.iter().map(|e| e.event_id).collect();
    assert_eq!(stored_ids, ids);
    for (i, e) in stored.iter().enumerate() {
        assert_eq!(e.stream_version, i as u64 + 1);
    }
}

/// A subscription started mid-log while appends go on sees every event from
/// its start exactly once, in order, across the switch from stored to live.
pub async fn subscribe_mid_stream_sees_each_event_once<L: EventLog + Clone>(log: L) {
    for i in 0..100 {
        log.append(&format!("s{}", i % 7), ExpectedVersion::Any, vec![event(i)])
            .await
            .expect("pre");
    }
    let mut sub = log.subscribe(50);
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    let batch = vec![event(i), event(i + 1)];
                    log.append(&format!("w{t}"), ExpectedVersion::Any, batch)
                        .await
                        .expect("live");
                }
            })
        })
        .collect();
    let total = 100 + 8 * 50 * 2;
    for want in 50..=total as u64 {
        let e = tokio::time::timeout(std::time::Duration::from_secs(20), sub.next())
            .await
            .expect("subscription stalled")
            .expect("next");
        assert_eq!(e.position, want);
    }
    for w in writers {
        w.await.expect("writer");
    }
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(100), sub.next()).await;
    assert!(quiet.is_err(), "no event beyond the head");
}

/// An intact log verifies, and the report names its head.
pub async fn verify_passes_on_an_intact_log<L: EventLog + Clone>(log: L) {
    let empty = verify(&log, 1, None, &mut |_| {})
        .await
        .expect("empty verifies");
    assert_eq!(empty.events, 0);
    for i in 0..300 {
        log.append(
            &format!("v{}", i % 11),
            ExpectedVersion::Any,
            vec![event(i)],
        )
        .await
        .expect("a");
    }
    let report = verify(&log, 1, None, &mut |_| {}).await.expect("verifies");
    assert_eq!((report.events, report.last_position), (300, 300));
    let last = log
        .read_all(300, 1)
        .await
        .expect("last")
        .pop()
        .expect("exists");
    assert_eq!(report.head_hash, last.hash);
    let part = verify(&log, 101, Some(200), &mut |_| {})
        .await
        .expect("range verifies");
    assert_eq!(
        (part.first_position, part.last_position, part.events),
        (101, 200, 100)
    );
}
