//! Tampering and ownership: what `verify` and reads do when stored history was
//! altered offline, and what a second opener of a data directory gets.

use std::time::Duration;

use aduan_log::{verify, EventLog, ExpectedVersion, LogError, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};

mod common;

async fn populated(dir: &std::path::Path, n: usize) -> SledLog {
    let log = SledLog::open(SledOptions::new(dir)).expect("open");
    for i in 0..n {
        let e = NewEvent::new("Tamper", "test", format!("event {i}").into_bytes());
        log.append(&format!("s{}", i % 5), ExpectedVersion::Any, vec![e])
            .await
            .expect("append");
    }
    log
}

fn corrupt_at(r: Result<aduan_log::VerifyReport, LogError>) -> u64 {
    match r {
        Err(LogError::Corrupt { position, .. }) => position,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn a_flipped_byte_is_named_by_verify_and_refused_by_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = populated(dir.path(), 50).await;
    let mut raw = log.raw_record(23).expect("raw").expect("exists");
    let last = raw.len() - 3;
    raw[last] ^= 0x01;
    log.tamper(23, Some(&raw)).expect("tamper");

    assert_eq!(corrupt_at(verify(&log, 1, None, &mut |_| {}).await), 23);
    let read = log.read_all(23, 1).await;
    assert!(
        matches!(read, Err(LogError::Corrupt { position: 23, .. })),
        "{read:?}"
    );
    // Streams that do not hold the damaged event still read.
    // Position 23 belongs to s2 (event i goes to s{i % 5} at position i + 1).
    for s in ["s0", "s1", "s2", "s3", "s4"] {
        let r = log.read_stream(s, 1).await;
        assert_eq!(r.is_err(), s == "s2", "{s}: {r:?}");
    }
    // verify of a range before the damage still passes.
    verify(&log, 1, Some(22), &mut |_| {})
        .await
        .expect("untouched range verifies");
}

#[tokio::test]
async fn a_deleted_event_is_named_by_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = populated(dir.path(), 30).await;
    log.tamper(12, None).expect("delete");
    assert_eq!(corrupt_at(verify(&log, 1, None, &mut |_| {}).await), 12);
}

#[tokio::test]
async fn reordered_events_are_named_by_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = populated(dir.path(), 30).await;
    let a = log.raw_record(7).expect("raw").expect("7");
    let b = log.raw_record(8).expect("raw").expect("8");
    log.tamper(7, Some(&b)).expect("swap");
    log.tamper(8, Some(&a)).expect("swap");
    assert_eq!(corrupt_at(verify(&log, 1, None, &mut |_| {}).await), 7);
}

#[tokio::test]
async fn a_rewritten_chain_is_caught_by_the_anchored_head() {
    // Re-hashing one record so it passes its own check still breaks the chain.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = populated(dir.path(), 10).await;
    let mut e = log.read_all(4, 1).await.expect("read").remove(0);
    e.payload = b"rewritten history".to_vec();
    let (bytes, _) = aduan_log::record::encode(&e);
    log.tamper(4, Some(&bytes)).expect("tamper");
    assert_eq!(corrupt_at(verify(&log, 1, None, &mut |_| {}).await), 5);
}

#[tokio::test]
async fn a_second_opener_gets_a_clear_locked_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = populated(dir.path(), 1).await;
    let mut opts = SledOptions::new(dir.path());
    opts.lock_timeout = Duration::from_millis(200);
    match SledLog::open(opts) {
        Err(LogError::Locked { path }) => assert_eq!(path, dir.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
    first.close();
    drop(first);
    let again = SledLog::open(SledOptions::new(dir.path())).expect("reopen after close");
    assert_eq!(*again.head().borrow(), 1);
}

#[tokio::test]
async fn oversized_and_malformed_appends_are_refused_and_append_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = populated(dir.path(), 3).await;
    let big = NewEvent::new("Big", "test", vec![0; aduan_log::MAX_PAYLOAD + 1]);
    let r = log.append("s", ExpectedVersion::Any, vec![big]).await;
    assert!(matches!(r, Err(LogError::TooLarge { .. })), "{r:?}");
    let r = log
        .append(
            "",
            ExpectedVersion::Any,
            vec![NewEvent::new("T", "a", vec![])],
        )
        .await;
    assert!(matches!(r, Err(LogError::Invalid(_))), "{r:?}");
    let r = log
        .append(
            "s",
            ExpectedVersion::Any,
            vec![NewEvent::new("", "a", vec![])],
        )
        .await;
    assert!(matches!(r, Err(LogError::Invalid(_))), "{r:?}");
    assert_eq!(*log.head().borrow(), 3);
}

#[tokio::test]
async fn history_survives_reopen_and_the_chain_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = populated(dir.path(), 10).await;
    log.close();
    drop(log);
    let log = populated(dir.path(), 10).await;
    assert_eq!(*log.head().borrow(), 20);
    let report = verify(&log, 1, None, &mut |_| {}).await.expect("verify");
    assert_eq!(report.events, 20);
    assert_eq!(log.read_stream("s0", 1).await.expect("s0").len(), 4);
}

#[tokio::test]
async fn an_import_reproduces_positions_and_hashes_and_refuses_a_broken_chain() {
    let src_dir = tempfile::tempdir().expect("tempdir");
    let src = populated(src_dir.path(), 40).await;
    let all = src.read_all(1, 100).await.expect("read");
    let dst_dir = tempfile::tempdir().expect("tempdir");
    let dst = SledLog::open(SledOptions::new(dst_dir.path())).expect("open");

    // A record whose contents no longer match its hash is refused, and nothing is stored.
    let mut forged = all[..5].to_vec();
    forged[3].payload = b"forged".to_vec();
    assert!(matches!(
        dst.import(forged).await,
        Err(LogError::Corrupt { position: 4, .. })
    ));
    // So is a batch that does not continue the log.
    assert!(matches!(
        dst.import(all[1..5].to_vec()).await,
        Err(LogError::Corrupt { position: 2, .. })
    ));
    assert_eq!(*dst.head().borrow(), 0);

    dst.import(all[..25].to_vec()).await.expect("first part");
    dst.import(all[25..].to_vec()).await.expect("second part");
    let a = verify(&src, 1, None, &mut |_| {}).await.expect("src");
    let b = verify(&dst, 1, None, &mut |_| {}).await.expect("dst");
    assert_eq!(a, b);
    assert_eq!(
        dst.read_stream("s3", 1).await.expect("s3"),
        src.read_stream("s3", 1).await.expect("s3")
    );
    // The imported log goes on appending from where it stands.
    let e = NewEvent::new("After", "test", vec![]);
    let appended = dst
        .append("s3", ExpectedVersion::Exact(8), vec![e])
        .await
        .expect("append");
    assert_eq!((appended.first_position, appended.stream_version), (41, 9));
}

/// sled writes a value (or a node of values) too big for a quarter of its log
/// buffer to a blob file of its own, which it never fsyncs: an acknowledgement
/// would then rest on a file that a power loss can leave empty. No value the log
/// stores goes there: not its usual segments, nor ones holding events of up to
/// `MAX_PAYLOAD`, appended or imported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_data_is_stored_outside_the_fsynced_database_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = SledLog::open(SledOptions::new(dir.path())).expect("open");
    // 60 commits of about one full segment each: enough for sled to split
    // and consolidate the nodes that hold them many times over.
    for i in 0..60u32 {
        let events = (0..100)
            .map(|_| NewEvent::new("Big", "test", vec![i as u8; 600]))
            .collect();
        log.append(&format!("s{i}"), ExpectedVersion::NoStream, events)
            .await
            .expect("append");
    }
    // Large events: alone (as a big `rules publish` is), after small ones in
    // the same commit, and several in one commit.
    let max = aduan_log::MAX_PAYLOAD;
    for i in 0..40usize {
        let mut events = vec![NewEvent::new("Huge", "test", vec![i as u8; max - i * 997])];
        if i % 4 == 1 {
            events.insert(0, NewEvent::new("Small", "test", vec![1; 300]));
        }
        if i % 4 == 2 {
            events.push(NewEvent::new("Mid", "test", vec![2; 200_000 + i]));
            events.push(NewEvent::new("Huge", "test", vec![3; max]));
        }
        log.append(&format!("big{i}"), ExpectedVersion::NoStream, events)
            .await
            .expect("append a large event");
    }
    let report = verify(&log, 1, None, &mut |_| {}).await.expect("verify");
    let head = *log.head().borrow();
    assert_eq!(report.events, head);
    let big = log.read_stream("big38", 1).await.expect("big38");
    assert_eq!(big[0].payload, vec![38u8; max - 38 * 997]);

    // The same records imported into another log.
    let copy_dir = tempfile::tempdir().expect("tempdir");
    let copy = SledLog::open(SledOptions::new(copy_dir.path())).expect("open copy");
    let mut from = 1;
    while from <= head {
        let page = log.read_all(from, 50).await.expect("read");
        from = page.last().expect("a page").position + 1;
        copy.import(page).await.expect("import");
    }
    let copied = verify(&copy, 1, None, &mut |_| {})
        .await
        .expect("verify copy");
    assert_eq!(copied, report);
    for (log, dir) in [(log, &dir), (copy, &copy_dir)] {
        log.close();
        drop(log);
        assert_eq!(blob_files(dir.path()), 0, "sled wrote blob files");
        // And what was stored in parts reads back after reopening.
        let log = SledLog::open(SledOptions::new(dir.path())).expect("reopen");
        let again = verify(&log, 1, None, &mut |_| {}).await.expect("verify");
        assert_eq!(again, report);
    }
}

#[tokio::test]
async fn a_missing_part_of_a_large_record_is_named_by_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = populated(dir.path(), 3).await;
    let huge = NewEvent::new("Huge", "test", vec![5; aduan_log::MAX_PAYLOAD]);
    log.append("big", ExpectedVersion::Any, vec![huge])
        .await
        .expect("append");
    let after = NewEvent::new("After", "test", vec![]);
    log.append("s", ExpectedVersion::Any, vec![after])
        .await
        .expect("append");
    log.close();
    drop(log);
    {
        let db = common::raw_sled(dir.path());
        // Part 2 of the segment that starts at position 4.
        let mut key = vec![b'p'];
        key.extend_from_slice(&4u64.to_be_bytes());
        key.extend_from_slice(&2u32.to_be_bytes());
        assert!(db.remove(key).expect("remove").is_some(), "no part 2");
        db.flush().expect("flush");
    }
    let log = SledLog::open(SledOptions::new(dir.path())).expect("reopen");
    assert_eq!(corrupt_at(verify(&log, 1, None, &mut |_| {}).await), 4);
    verify(&log, 1, Some(3), &mut |_| {})
        .await
        .expect("the records before it verify");
}

fn blob_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("blobs"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_log_created_with_sleds_default_buffers_still_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    // What the first version of aduan created: sled's 512 KiB default.
    drop(sled::open(dir.path()).expect("raw sled"));
    let log = populated(dir.path(), 5).await;
    log.close();
    drop(log);
    let log = SledLog::open(SledOptions::new(dir.path())).expect("reopen");
    assert_eq!(*log.head().borrow(), 5);
}

/// A backend whose pages are shorter than asked for, as a remote one may be.
#[derive(Clone)]
struct ShortPages(SledLog);

impl EventLog for ShortPages {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<aduan_log::Appended, LogError> {
        self.0.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
    ) -> Result<Vec<aduan_log::RecordedEvent>, LogError> {
        self.0.read_stream(stream, from_version).await
    }
    async fn read_all(
        &self,
        from: u64,
        max: usize,
    ) -> Result<Vec<aduan_log::RecordedEvent>, LogError> {
        self.0.read_all(from, max.min(7)).await
    }
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.head()
    }
    async fn import(
        &self,
        events: Vec<aduan_log::RecordedEvent>,
    ) -> Result<aduan_log::Appended, LogError> {
        self.0.import(events).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reads_on_after_a_short_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = ShortPages(populated(dir.path(), 50).await);
    let report = verify(&log, 1, None, &mut |_| {}).await.expect("verify");
    assert_eq!((report.events, report.last_position), (50, 50));
    log.0.tamper(33, None).expect("delete");
    assert_eq!(corrupt_at(verify(&log, 1, None, &mut |_| {}).await), 33);
}
