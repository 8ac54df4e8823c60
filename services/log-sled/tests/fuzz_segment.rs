//! Fuzz-style tests of the sled backend's stored form (issue 7): segment
//! parsing on raw bytes and on valid segments mutated by bit flips,
//! truncation, extension, splicing and overwrites, and segments damaged in the
//! sled database under a closed log. Properties: nothing panics, what a
//! segment yields lies inside it, and a log with any changed segment (bytes
//! after its last record included) is refused with `LogError::Corrupt` or
//! `LogError::Storage` by opening or by `verify`, while an unchanged one verifies.
//!
//! Cases per property default to a CI-sized number; `ADUAN_FUZZ_CASES=N` runs a
//! sustained campaign (`cargo test --release -p aduan-log-sled --test fuzz_segment`).
//! `fuzz/corpus/segment/` is replayed by `replay_corpus`; a file named `ok-*`
//! must be accepted, `err-*` refused. Records themselves are fuzzed in
//! `aduan-log` (`tests/fuzz_record.rs`).

mod common;

use aduan_fuzz::{cases, config, corpus, corpus_files, mutate, mutation, Mutation};

use aduan_log::record::{decode, encode};
use aduan_log::{verify, EventLog, ExpectedVersion, LogError, NewEvent, RecordedEvent};
use aduan_log_sled::{SledLog, SledOptions};
use proptest::prelude::*;
use proptest::sample::Index;
use uuid::Uuid;

/// The private segment module, compiled into this test so its parser can be
/// fuzzed directly (it has no dependencies of its own).
#[allow(dead_code)]
#[path = "../src/segment.rs"]
mod segment;

/// Position of the first record of every corpus segment.
const CORPUS_POSITION: u64 = 7;

/// A decode result must be a `Corrupt` naming `position`, or a success.
fn refused_properly(position: u64, r: &Result<RecordedEvent, LogError>) -> bool {
    match r {
        Ok(_) => true,
        Err(LogError::Corrupt { position: p, .. }) => *p == position,
        Err(_) => false,
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn raw_segments_never_panic(seg in proptest::collection::vec(any::<u8>(), 0..200), i in 0usize..64) {
        check_segment(&seg, i)?;
    }

    #[test]
    fn built_segments_round_trip(records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..20)) {
        let mut b = segment::Builder::new(1);
        for r in &records {
            b.push(r);
        }
        prop_assert_eq!(b.is_empty(), records.is_empty());
        let seg = b.finish();
        prop_assert_eq!(segment::count(&seg), records.len());
        let back: Vec<&[u8]> = segment::records(&seg).collect();
        let want: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(back, want);
    }

    #[test]
    fn mutated_segments_never_panic(
        records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..12),
        ms in proptest::collection::vec(mutation(), 1..4),
        i in 0usize..16,
    ) {
        let mut b = segment::Builder::new(1);
        for r in &records {
            b.push(r);
        }
        let original = b.finish();
        let mut seg = original.clone();
        for m in &ms {
            mutate(&mut seg, m, &original);
        }
        check_segment(&seg, i)?;
    }
}

/// Segment parsing never panics, and what it returns lies inside the segment.
fn check_segment(seg: &[u8], i: usize) -> Result<(), TestCaseError> {
    let n = segment::count(seg);
    prop_assert!(4 + 4 * n <= seg.len().max(4) || n == 0);
    let all: Vec<&[u8]> = segment::records(seg).collect();
    prop_assert!(all.len() <= n);
    for r in &all {
        prop_assert!(r.len() <= seg.len());
    }
    let one = segment::record(seg, i);
    if i >= n {
        prop_assert!(one.is_none());
    }
    Ok(())
}

/// Stored damage, end to end: a segment overwritten in the sled database under
/// a closed log. A segment's bytes are exactly what was written, so every change
/// (trailing bytes included) must be refused with `Corrupt`/`Storage`, by
/// opening or else by `verify`; an unchanged segment must verify. Never a
/// panic. Each case opens sled twice, so this runs a hundredth of the
/// campaign's cases; it prints how many cases were refused where.
#[test]
fn damaged_stored_segments_are_refused_not_panicked() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let n = (cases(2_000) / 100).max(8);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (
        1usize..40,
        any::<Index>(),
        proptest::collection::vec(mutation(), 1..4),
    );
    let tally = std::sync::Mutex::new(std::collections::BTreeMap::<Outcome, u32>::new());
    runner
        .run(&strategy, |(events, which, ms)| {
            let outcome = rt.block_on(damaged_segment(events, which, ms))?;
            *tally.lock().unwrap().entry(outcome).or_default() += 1;
            Ok(())
        })
        .expect("every changed segment refused with Corrupt/Storage, no panic");
    let tally = tally.into_inner().unwrap();
    eprintln!("damaged stored segments, {n} cases: {tally:?}");
    // Proptest runs exactly `n` passing cases.
    assert_eq!(tally.values().sum::<u32>(), n);
}

/// Where a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// The mutations left the segment as it was; the log verified.
    Unchanged,
    /// Opening the log refused the damage.
    RefusedAtOpen,
    /// The log opened; `verify` refused the damage.
    RefusedAtVerify,
}

async fn damaged_segment(
    events: usize,
    which: Index,
    ms: Vec<Mutation>,
) -> Result<Outcome, TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = || {
        let mut o = SledOptions::new(dir.path());
        o.fsync = false;
        o
    };
    {
        let log = SledLog::open(opts()).expect("open");
        for i in 0..events {
            // Several commits, so there are several segments to damage.
            let e = NewEvent::new("Fuzzed", "fuzz", vec![i as u8; 64]);
            log.append(&format!("s{}", i % 3), ExpectedVersion::Any, vec![e])
                .await
                .expect("append");
        }
        log.close();
    }
    let changed = {
        let db = common::raw_sled(dir.path());
        let keys: Vec<sled::IVec> = db
            .scan_prefix([b'g'])
            .keys()
            .map(|k| k.expect("key"))
            .collect();
        let key = &keys[which.index(keys.len())];
        let original = db.get(key).expect("get").expect("segment").to_vec();
        let mut seg = original.clone();
        for m in &ms {
            mutate(&mut seg, m, &original);
        }
        db.insert(key, seg.clone()).expect("insert");
        db.flush().expect("flush");
        seg != original
    };

    let log = match SledLog::open(opts()) {
        Ok(log) => log,
        Err(e) => {
            prop_assert!(refusal(&e), "open: {:?}", e);
            prop_assert!(changed, "an unchanged log must open: {:?}", e);
            return Ok(Outcome::RefusedAtOpen);
        }
    };
    let read = log.read_all(1, events + 10).await;
    prop_assert!(read.as_ref().err().is_none_or(refusal), "{:?}", read);
    let verified = verify(&log, 1, None, &mut |_| {}).await;
    log.close();
    match verified {
        Ok(report) => {
            prop_assert!(!changed, "a changed segment verified: {:?}", report);
            prop_assert_eq!(report.events, events as u64);
            Ok(Outcome::Unchanged)
        }
        Err(e) => {
            prop_assert!(refusal(&e), "verify: {:?}", e);
            prop_assert!(changed, "an unchanged log must verify: {:?}", e);
            Ok(Outcome::RefusedAtVerify)
        }
    }
}

/// The shrunk case of `damaged_stored_segments_are_refused_not_panicked`
/// before trailing bytes counted as damage: one byte appended to a stored
/// segment. Reads and `verify` refuse it, naming the segment's last record.
#[tokio::test]
async fn trailing_bytes_after_a_stored_segment_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = || {
        let mut o = SledOptions::new(dir.path());
        o.fsync = false;
        o
    };
    {
        let log = SledLog::open(opts()).expect("open");
        let events = (0..3).map(|i| NewEvent::new("Fuzzed", "fuzz", vec![i; 8]));
        log.append("s", ExpectedVersion::Any, events.collect())
            .await
            .expect("append");
        log.close();
    }
    {
        let db = common::raw_sled(dir.path());
        let (key, seg) = db
            .scan_prefix([b'g'])
            .next()
            .expect("a segment")
            .expect("read");
        let mut seg = seg.to_vec();
        seg.push(0);
        db.insert(key, seg).expect("insert");
        db.flush().expect("flush");
    }
    let log = SledLog::open(opts()).expect("trailing bytes do not stop the log opening");
    let verified = verify(&log, 1, None, &mut |_| {}).await;
    assert_eq!(corrupt_at(&verified), Some(3), "{verified:?}");
    let read = log.read_all(1, 10).await;
    assert_eq!(corrupt_at(&read), Some(3), "{read:?}");
    let stream = log.read_stream("s", 1).await;
    assert_eq!(corrupt_at(&stream), Some(3), "{stream:?}");
    log.close();
}

/// The position a `Corrupt` refusal names (None for success or another error).
fn corrupt_at<T>(r: &Result<T, LogError>) -> Option<u64> {
    match r {
        Err(LogError::Corrupt { position, .. }) => Some(*position),
        _ => None,
    }
}

/// How stored damage may be reported.
fn refusal(e: &LogError) -> bool {
    matches!(e, LogError::Corrupt { .. } | LogError::Storage(_))
}

/// Replays `fuzz/corpus/segment` (segments whose records must each be accepted or refused cleanly).
#[test]
fn replay_corpus() {
    for f in corpus_files("segment") {
        let seg = &f.bytes;
        check_segment(seg, 0).expect("segment parses without panic");
        let records: Vec<&[u8]> = segment::records(seg).collect();
        // A segment is whole when its layout checks out and every record decodes.
        let mut whole = segment::check(seg) == Ok(records.len());
        for (i, rec) in records.into_iter().enumerate() {
            let r = decode(CORPUS_POSITION + i as u64, rec);
            assert!(
                refused_properly(CORPUS_POSITION + i as u64, &r),
                "{}: {r:?}",
                f.name
            );
            whole &= r.is_ok();
        }
        // An `ok-` segment's layout checks out and every record it holds is valid.
        assert_eq!(f.must_pass(), whole, "{}", f.name);
    }
}

/// Writes the seed corpus (`cargo test -p aduan-log-sled --test fuzz_segment -- --ignored`).
#[test]
#[ignore = "writes fuzz/corpus; run by hand to regenerate the seeds"]
fn write_seed_corpus() {
    let full = RecordedEvent {
        event_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        stream_id: "complaint-0190".into(),
        stream_version: 3,
        position: CORPUS_POSITION,
        recorded_at_ms: 1_795_000_000_123,
        event_type: "ComplaintRouted".into(),
        schema_version: 1,
        actor: "router".into(),
        correlation_id: Uuid::from_u128(2),
        causation_id: Some(Uuid::from_u128(3)),
        payload: b"\x0a\x0fkab-pati-dinkes\x10\x01".to_vec(),
        prev_hash: [0x5a; 32],
        hash: [0; 32],
    };
    let (full_bytes, _) = encode(&full);
    let dir = corpus("segment");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let write = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).expect("write");
    let mut b = segment::Builder::new(CORPUS_POSITION);
    b.push(&full_bytes);
    let mut next = full.clone();
    next.position += 1;
    b.push(&encode(&next).0);
    let seg = b.finish();
    write("ok-two-records.bin", &seg);
    write("err-empty.bin", b"");
    write("err-huge-count.bin", &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]);
    write(
        "err-ends-past-data.bin",
        &[0, 0, 0, 1, 0, 0, 0x10, 0, 1, 2, 3],
    );
    write(
        "err-decreasing-ends.bin",
        &[0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1, 1, 2, 3],
    );
    let mut cut = seg.clone();
    cut.truncate(seg.len() - 5);
    write("err-truncated.bin", &cut);
    let mut trailing = seg.clone();
    trailing.push(0);
    write("err-trailing-byte.bin", &trailing);
}
