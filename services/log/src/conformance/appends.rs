//! Appends, conflicts, subscriptions and verify: the suite's first checks,
//! and what an appender may rely on after an ambiguous failure.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::task::Poll;

use super::{event, Backend};
use crate::{verify, EventLog, ExpectedVersion, LogError, NewEvent, MAX_NAME, MAX_PAYLOAD};

/// Appends are read back in order, with gap-free positions and stream versions.
pub async fn append_then_read<B: Backend>(mut backend: B) {
    let log = backend.create().await;
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
pub async fn conflicts_append_nothing<B: Backend>(mut backend: B) {
    let log = backend.create().await;
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

/// An append over a limit (stream id, event type or actor longer than
/// [`MAX_NAME`], an empty stream id or type, a payload over [`MAX_PAYLOAD`])
/// is refused and appends nothing; one exactly at each limit is stored.
pub async fn limits_are_refused_and_reached<B: Backend>(mut backend: B) {
    let log = backend.create().await;
    let long = "n".repeat(MAX_NAME + 1);
    let full = "n".repeat(MAX_NAME);
    let with = |event_type: &str, actor: &str, payload: usize| {
        NewEvent::new(event_type, actor, vec![7; payload])
    };
    let refused = [
        ("", with("T", "a", 1)),
        (long.as_str(), with("T", "a", 1)),
        ("s", with("", "a", 1)),
        ("s", with(&long, "a", 1)),
        ("s", with("T", &long, 1)),
    ];
    for (stream, e) in refused {
        let r = log.append(stream, ExpectedVersion::Any, vec![e]).await;
        assert!(matches!(r, Err(LogError::Invalid(_))), "{stream:.8}: {r:?}");
    }
    let big = log
        .append(
            "s",
            ExpectedVersion::Any,
            vec![with("T", "a", MAX_PAYLOAD + 1)],
        )
        .await;
    assert!(
        matches!(big, Err(LogError::TooLarge { size, max: MAX_PAYLOAD }) if size == MAX_PAYLOAD + 1),
        "{big:?}"
    );
    assert_eq!(*log.head().borrow(), 0, "a refused append appends nothing");
    let at_limits = [
        (full.as_str(), with(&full, &full, 0)),
        ("s", with("T", "", MAX_PAYLOAD)),
    ];
    for (stream, e) in at_limits {
        let r = log.append(stream, ExpectedVersion::Any, vec![e]).await;
        assert!(r.is_ok(), "{stream:.8}: {r:?}");
    }
    assert_eq!(*log.head().borrow(), 2);
}

/// Many appenders racing on one stream with expected versions: each version is
/// won exactly once, and every event that was acknowledged is stored once.
pub async fn optimistic_concurrency_under_contention<B: Backend>(mut backend: B) {
    let log = backend.create().await;
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
pub async fn subscribe_mid_stream_sees_each_event_once<B: Backend>(mut backend: B) {
    let log = backend.create().await;
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
pub async fn verify_passes_on_an_intact_log<B: Backend>(mut backend: B) {
    let log = backend.create().await;
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

/// Polls `fut` once and drops it: an appender cancelled after its request
/// may have gone out (a client that hung up, a timeout).
async fn poll_once_then_drop<F: Future>(fut: F) {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        let _ = fut.as_mut().poll(cx);
        Poll::Ready(())
    })
    .await;
}

/// An append whose outcome the appender never learnt (its future dropped
/// after the request was sent, or its answer lost), retried with the same
/// events and the same expectation: the events are stored exactly once, and
/// the retry is either acknowledged or refused with a `Conflict` whose actual
/// version covers them, readable as soon as the answer arrives.
pub async fn retried_append_after_an_ambiguous_failure_is_stored_once<B: Backend>(mut backend: B) {
    let log = backend.create().await;
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                for round in 0..6 {
                    let stream = format!("retry-{t}-{round}");
                    let expected = if round % 2 == 0 {
                        ExpectedVersion::NoStream
                    } else {
                        log.append(&stream, ExpectedVersion::NoStream, vec![event(0)])
                            .await
                            .expect("setup");
                        ExpectedVersion::Exact(1)
                    };
                    let events = vec![event(t * 100 + round), event(t * 100 + round + 1)];
                    let first = log.append(&stream, expected, events.clone());
                    if round % 3 == 0 {
                        let _lost = first.await;
                    } else {
                        poll_once_then_drop(first).await;
                    }
                    let retry = log.append(&stream, expected, events.clone()).await;
                    let stored = log.read_stream(&stream, 1).await.expect("read");
                    let ids: Vec<_> = stored.iter().map(|e| e.event_id).collect();
                    for e in &events {
                        let n = ids.iter().filter(|id| **id == e.event_id).count();
                        assert_eq!(n, 1, "{stream}: event stored {n} times after {retry:?}");
                    }
                    let ours = stored
                        .iter()
                        .filter(|e| events.iter().any(|n| n.event_id == e.event_id))
                        .map(|e| e.stream_version)
                        .max()
                        .expect("stored");
                    match retry {
                        Ok(a) => assert_eq!(a.stream_version, ours, "{stream}"),
                        Err(LogError::Conflict { actual, .. }) => {
                            assert!(actual >= ours, "{stream}: conflict at {actual} < {ours}")
                        }
                        Err(e) => panic!("{stream}: retry failed: {e}"),
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("retrying appender");
    }
}

/// Whenever an appender gets `Conflict { actual }`, the stream is readable
/// at version `actual` or later right away, and still after a reopen: a
/// conflict is never answered from a commit that is not yet durable.
pub async fn conflicts_are_never_answered_before_their_commit<B: Backend>(mut backend: B) {
    let log = backend.create().await;
    let mut conflicts: HashMap<String, u64> = HashMap::new();
    for round in 0..24 {
        let stream = format!("race-{round}");
        let racers: Vec<_> = (0..8)
            .map(|t| {
                let (log, stream) = (log.clone(), stream.clone());
                tokio::spawn(async move {
                    let expected = match t % 3 {
                        0 => ExpectedVersion::NoStream,
                        1 => ExpectedVersion::Exact(0),
                        _ => ExpectedVersion::Exact(1),
                    };
                    match log.append(&stream, expected, vec![event(t)]).await {
                        Ok(_) => None,
                        Err(LogError::Conflict { actual, .. }) => {
                            let seen = log.read_stream(&stream, 1).await.expect("read");
                            let seen = seen.len() as u64;
                            assert!(
                                seen >= actual,
                                "{stream}: conflict at {actual}, read {seen}"
                            );
                            Some(actual)
                        }
                        Err(e) => panic!("{stream}: {e}"),
                    }
                })
            })
            .collect();
        for r in racers {
            if let Some(actual) = r.await.expect("racer") {
                let top = conflicts.entry(stream.clone()).or_default();
                *top = (*top).max(actual);
            }
        }
    }
    assert!(!conflicts.is_empty(), "no appender ever conflicted");
    let log = backend.reopen(log).await;
    for (stream, actual) in conflicts {
        let stored = log.read_stream(&stream, 1).await.expect("read");
        assert!(stored.len() as u64 >= actual, "{stream} after reopen");
    }
}
