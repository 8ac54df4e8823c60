//! The in-memory stream index against a model: random appends and restarts
//! (clean, without the snapshot, with an older snapshot, with a damaged one)
//! must always leave every stream reading back exactly what was appended to
//! it, and expected versions checked against the true current version.

mod common;

use std::collections::HashMap;
use std::path::Path;

use aduan_log::{EventLog, ExpectedVersion, LogError, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// Append `events` events to stream `stream`, expecting its true version
    /// (or one more than it, which must be refused).
    Append {
        stream: u8,
        events: u8,
        stale_expectation: bool,
    },
    Restart(Restart),
}

#[derive(Debug, Clone, Copy)]
enum Restart {
    Clean,
    WithoutSnapshot,
    WithOlderSnapshot,
    WithDamagedSnapshot,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..4, 1u8..4, prop::bool::weighted(0.15)).prop_map(|(stream, events, stale_expectation)| Step::Append { stream, events, stale_expectation }),
        1 => prop_oneof![
            Just(Restart::Clean),
            Just(Restart::WithoutSnapshot),
            Just(Restart::WithOlderSnapshot),
            Just(Restart::WithDamagedSnapshot),
        ].prop_map(Step::Restart),
    ]
}

fn open(dir: &Path) -> SledLog {
    let mut opts = SledOptions::new(dir);
    opts.fsync = false;
    // Snapshots in the background too, racing the one written at close.
    opts.index_snapshot_every = 3;
    SledLog::open(opts).expect("open")
}

async fn check(log: &SledLog, model: &HashMap<String, Vec<Vec<u8>>>) -> Result<(), TestCaseError> {
    for s in 0..4 {
        let stream = format!("stream-{s}");
        let read = log.read_stream(&stream, 1).await.expect("read");
        let payloads: Vec<Vec<u8>> = read.iter().map(|e| e.payload.clone()).collect();
        let want = model.get(&stream).cloned().unwrap_or_default();
        prop_assert_eq!(&payloads, &want, "stream {}", stream);
        let versions: Vec<u64> = read.iter().map(|e| e.stream_version).collect();
        prop_assert_eq!(versions, (1..=want.len() as u64).collect::<Vec<_>>());
        if want.len() > 1 {
            let tail = log.read_stream(&stream, 2).await.expect("read tail");
            prop_assert_eq!(tail.len(), want.len() - 1);
        }
    }
    Ok(())
}

async fn run(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join(SledLog::STREAM_INDEX_FILE);
    let mut log = open(dir.path());
    let mut model: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    let mut older: Option<Vec<u8>> = None;
    let mut n = 0u32;
    for step in steps {
        match step {
            Step::Append {
                stream,
                events,
                stale_expectation,
            } => {
                let stream = format!("stream-{stream}");
                let have = model.entry(stream.clone()).or_default();
                let payloads: Vec<Vec<u8>> = (0..events)
                    .map(|_| {
                        n += 1;
                        format!("event {n}").into_bytes()
                    })
                    .collect();
                let batch = payloads
                    .iter()
                    .map(|p| NewEvent::new("Model", "test", p.clone()))
                    .collect();
                let expected = have.len() as u64 + u64::from(stale_expectation);
                let r = log
                    .append(&stream, ExpectedVersion::Exact(expected), batch)
                    .await;
                if stale_expectation {
                    let refused = matches!(r, Err(LogError::Conflict { actual, .. }) if actual == have.len() as u64);
                    prop_assert!(refused, "{:?}", r);
                } else {
                    prop_assert_eq!(r.expect("append").stream_version, expected + events as u64);
                    have.extend(payloads);
                }
            }
            Step::Restart(how) => {
                log.close();
                drop(log);
                let current = std::fs::read(&snapshot).expect("close writes the snapshot");
                match how {
                    Restart::Clean => {}
                    Restart::WithoutSnapshot => std::fs::remove_file(&snapshot).expect("rm"),
                    Restart::WithOlderSnapshot => {
                        if let Some(old) = &older {
                            std::fs::write(&snapshot, old).expect("write");
                        }
                    }
                    Restart::WithDamagedSnapshot => {
                        let mut bad = current.clone();
                        let mid = bad.len() / 2;
                        bad[mid] ^= 0x40;
                        std::fs::write(&snapshot, bad).expect("write");
                    }
                }
                older = Some(current);
                log = open(dir.path());
            }
        }
        check(&log, &model).await?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(aduan_fuzz::config(24))]

    #[test]
    fn streams_read_back_what_was_appended_across_restarts(steps in prop::collection::vec(step(), 1..16)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(run(steps))?;
    }
}

#[tokio::test]
async fn a_snapshot_from_another_log_is_ignored() {
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    for (dir, stream) in [(a.path(), "only-in-a"), (b.path(), "only-in-b")] {
        let log = open(dir);
        for i in 0..5 {
            let e = NewEvent::new("Model", "test", vec![i]);
            log.append(stream, ExpectedVersion::Any, vec![e])
                .await
                .expect("append");
        }
        log.close();
    }
    let file = SledLog::STREAM_INDEX_FILE;
    std::fs::copy(a.path().join(file), b.path().join(file)).expect("copy");
    let log = open(b.path());
    assert!(log.read_stream("only-in-a", 1).await.expect("a").is_empty());
    assert_eq!(log.read_stream("only-in-b", 1).await.expect("b").len(), 5);
}

#[tokio::test]
async fn the_stored_index_of_an_older_version_is_removed_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let e = NewEvent::new("Model", "test", vec![1]);
    log.append("a", ExpectedVersion::NoStream, vec![e])
        .await
        .expect("append");
    log.close();
    drop(log);
    // The key the first version wrote for ("a", 1) → position 1.
    let old_key = [&b"sa\xff"[..], &1u64.to_be_bytes()].concat();
    {
        let db = common::raw_sled(dir.path());
        db.insert(&old_key, &1u64.to_be_bytes()).expect("insert");
        db.flush().expect("flush");
    }
    let log = open(dir.path());
    assert_eq!(log.read_stream("a", 1).await.expect("a").len(), 1);
    log.close();
    drop(log);
    let db = common::raw_sled(dir.path());
    assert!(db.get(&old_key).expect("get").is_none());
}
