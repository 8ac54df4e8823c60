//! Reopening and verbatim import: what a restart and a restore must keep.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::{event, Backend};
use crate::record::{self, GENESIS};
use crate::{verify, EventLog, ExpectedVersion, LogError, NewEvent, RecordedEvent, MAX_NAME};

/// Appends `n` events over seven streams in batches of one to three, with
/// correlation and causation ids on some; returns each stream's version.
async fn populate<L: EventLog>(log: &L, n: usize) -> BTreeMap<String, u64> {
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    let mut i = 0;
    while i < n {
        let stream = format!("p{}", i % 7);
        let version = versions.get(&stream).copied().unwrap_or(0);
        let batch: Vec<NewEvent> = (i..n.min(i + 1 + i % 3))
            .map(|j| {
                let mut e = event(j);
                if j % 2 == 1 {
                    e.correlation_id = Some(Uuid::from_u128(j as u128));
                    e.causation_id = Some(Uuid::now_v7());
                    e.schema_version = 2;
                }
                e
            })
            .collect();
        let expected = match version {
            0 => ExpectedVersion::NoStream,
            v => ExpectedVersion::Exact(v),
        };
        i += batch.len();
        let a = log
            .append(&stream, expected, batch)
            .await
            .expect("populate");
        versions.insert(stream, a.stream_version);
    }
    versions
}

/// Every record of `log`, read in pages.
async fn export<L: EventLog>(log: &L) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    loop {
        let page = log.read_all(out.len() as u64 + 1, 64).await.expect("read");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// What a reader can see of a log: its records, each stream and the head.
async fn snapshot<L: EventLog>(
    log: &L,
    streams: &BTreeMap<String, u64>,
) -> (Vec<RecordedEvent>, Vec<Vec<RecordedEvent>>, u64) {
    let mut per_stream = Vec::new();
    for (stream, version) in streams {
        let events = log.read_stream(stream, 1).await.expect("read stream");
        assert_eq!(events.len() as u64, *version, "{stream}");
        per_stream.push(events);
    }
    (export(log).await, per_stream, *log.head().borrow())
}

/// Closing and opening a log keeps every event, position, hash, stream
/// version and the head, and appends go on from where it stood.
pub async fn reopen_keeps_every_event_and_the_head<B: Backend>(mut backend: B) {
    let log = backend.create().await;
    let log = backend.reopen(log).await;
    assert_eq!(*log.head().borrow(), 0, "an empty log reopens empty");
    let streams = populate(&log, 150).await;
    let before = snapshot(&log, &streams).await;
    let verified = verify(&log, 1, None, &mut |_| {}).await.expect("verify");
    let log = backend.reopen(log).await;
    assert_eq!(snapshot(&log, &streams).await, before, "after reopen");
    let again = verify(&log, 1, None, &mut |_| {}).await.expect("verify");
    assert_eq!(again, verified);

    let v = streams["p3"];
    let a = log
        .append("p3", ExpectedVersion::Exact(v), vec![event(999)])
        .await
        .expect("append after reopen");
    assert_eq!((a.first_position, a.stream_version), (151, v + 1));
    let last = log.read_all(151, 1).await.expect("read").remove(0);
    assert_eq!(last.prev_hash, verified.head_hash, "the chain continues");
    let stale = log.append("p3", ExpectedVersion::Exact(v), vec![event(1000)]);
    assert!(matches!(stale.await, Err(LogError::Conflict { actual, .. }) if actual == v + 1));
    let log = backend.reopen(log).await;
    assert_eq!(*log.head().borrow(), 151);
    assert_eq!(
        log.read_stream("p3", v + 1).await.expect("read"),
        vec![last]
    );
}

/// An export imported into a fresh log gives identical records (positions,
/// hashes, ids, `recorded_at`), the same `verify` head hash, and a log that
/// reopens and appends on like the original.
pub async fn import_of_an_export_is_identical<B: Backend>(mut backend: B) {
    let src = backend.create().await;
    let streams = populate(&src, 120).await;
    let exported = export(&src).await;
    let dst = backend.create().await;
    let a = dst
        .import(exported[..45].to_vec())
        .await
        .expect("first part");
    assert_eq!((a.first_position, a.last_position), (1, 45));
    assert_eq!(a.stream_version, exported[44].stream_version);
    let a = dst.import(exported[45..].to_vec()).await.expect("the rest");
    assert_eq!((a.first_position, a.last_position), (46, 120));

    let original = snapshot(&src, &streams).await;
    assert_eq!(snapshot(&dst, &streams).await, original);
    let a = verify(&src, 1, None, &mut |_| {}).await.expect("src");
    let b = verify(&dst, 1, None, &mut |_| {}).await.expect("dst");
    assert_eq!(a, b);

    let again = dst.import(exported[..1].to_vec()).await;
    assert!(
        matches!(again, Err(LogError::Corrupt { position: 1, .. })),
        "an import must continue at the head: {again:?}"
    );
    let dst = backend.reopen(dst).await;
    assert_eq!(snapshot(&dst, &streams).await, original, "after reopen");
    let v = streams["p1"];
    let next = dst
        .append("p1", ExpectedVersion::Exact(v), vec![event(7)])
        .await
        .expect("append after import");
    assert_eq!((next.first_position, next.stream_version), (121, v + 1));
    let last = dst.read_all(121, 1).await.expect("read").remove(0);
    assert_eq!(last.prev_hash, a.head_hash);
}

/// Re-hashes `e` after a change, so only the import's own checks can refuse it.
fn resealed(mut e: RecordedEvent) -> RecordedEvent {
    e.hash = record::encode(&e).1;
    e
}

/// An import refuses a batch with a record that breaks the chain, is out of
/// position or stream version, fails its hash, or breaks the limits of an
/// append (a name over 256 bytes), and appends nothing of it.
pub async fn import_refuses_what_would_break_the_log<B: Backend>(mut backend: B) {
    let src = backend.create().await;
    populate(&src, 20).await;
    let good = export(&src).await;
    let dst = backend.create().await;
    let with = |at: usize, change: &dyn Fn(&mut RecordedEvent)| {
        let mut batch = good[..10].to_vec();
        change(&mut batch[at]);
        batch
    };
    let long = "n".repeat(MAX_NAME + 1);
    let cases: Vec<(&str, Vec<RecordedEvent>)> = vec![
        ("nothing", vec![]),
        ("a gap", good[1..10].to_vec()),
        (
            "a forged payload",
            with(4, &|e| e.payload = b"forged".to_vec()),
        ),
        (
            "a broken chain",
            with(5, &|e| {
                *e = resealed(RecordedEvent {
                    prev_hash: GENESIS,
                    ..e.clone()
                })
            }),
        ),
        (
            "a repeated stream version",
            with(8, &|e| {
                *e = resealed(RecordedEvent {
                    stream_version: 1,
                    ..e.clone()
                })
            }),
        ),
        (
            "an over-long actor",
            with(3, &|e| {
                *e = resealed(RecordedEvent {
                    actor: long.clone(),
                    ..e.clone()
                })
            }),
        ),
        (
            "an over-long stream id",
            with(6, &|e| {
                *e = resealed(RecordedEvent {
                    stream_id: long.clone(),
                    ..e.clone()
                })
            }),
        ),
        (
            "an event type whose length does not fit 16 bits",
            with(2, &|e| {
                let event_type = "t".repeat(70_000);
                *e = resealed(RecordedEvent {
                    event_type,
                    ..e.clone()
                })
            }),
        ),
    ];
    for (what, batch) in cases {
        let r = dst.import(batch).await;
        let refused = matches!(
            r,
            Err(LogError::Corrupt { .. } | LogError::Invalid(_) | LogError::TooLarge { .. })
        );
        assert!(refused, "{what}: {r:?}");
        assert_eq!(*dst.head().borrow(), 0, "{what} appended something");
        assert!(export(&dst).await.is_empty(), "{what} stored something");
    }
    dst.import(good[..10].to_vec())
        .await
        .expect("the good part");
    let unchained = resealed(RecordedEvent {
        prev_hash: GENESIS,
        ..good[10].clone()
    });
    let r = dst.import(vec![unchained]).await;
    assert!(
        matches!(r, Err(LogError::Corrupt { position: 11, .. })),
        "{r:?}"
    );
    let r = dst
        .import(vec![resealed(RecordedEvent {
            actor: long.clone(),
            ..good[10].clone()
        })])
        .await;
    assert!(matches!(r, Err(LogError::Invalid(_))), "{r:?}");
    assert_eq!(*dst.head().borrow(), 10);
    assert_eq!(export(&dst).await, good[..10]);
    dst.import(good[10..].to_vec()).await.expect("the rest");
    assert_eq!(export(&dst).await, good);
}
