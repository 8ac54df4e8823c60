//! Fuzz-style tests of the sled backend's stored form (issue 7): segment
//! parsing on raw bytes and on valid segments mutated by bit flips,
//! truncation, extension, splicing and overwrites, and segments damaged in the
//! sled database under a closed log. Properties: nothing panics, what a
//! segment yields lies inside it, and opening, reading and verifying a damaged
//! log either succeed or refuse with `LogError::Corrupt` or `LogError::Storage`.
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
/// a closed log. Opening, reading and verifying must refuse it with
/// `Corrupt`/`Storage`, or succeed; never panic. Each case opens sled twice,
/// so this runs a hundredth of the campaign's cases.
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
    runner
        .run(&strategy, |(events, which, ms)| {
            rt.block_on(damaged_segment(events, which, ms))
        })
        .expect("no panic and only Corrupt/Storage refusals");
}

async fn damaged_segment(
    events: usize,
    which: Index,
    ms: Vec<Mutation>,
) -> Result<(), TestCaseError> {
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
            prop_assert!(refusal(&e), "{:?}", e);
            return Ok(());
        }
    };
    let read = log.read_all(1, events + 10).await;
    prop_assert!(read.as_ref().err().is_none_or(refusal), "{:?}", read);
    let verified = verify(&log, 1, None, &mut |_| {}).await;
    prop_assert!(
        verified.as_ref().err().is_none_or(refusal),
        "{:?}",
        verified
    );
    if !changed {
        prop_assert!(verified.is_ok());
    }
    log.close();
    Ok(())
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
        let mut whole = !records.is_empty() && records.len() == segment::count(seg);
        for (i, rec) in records.into_iter().enumerate() {
            let r = decode(CORPUS_POSITION + i as u64, rec);
            assert!(
                refused_properly(CORPUS_POSITION + i as u64, &r),
                "{}: {r:?}",
                f.name
            );
            whole &= r.is_ok();
        }
        // An `ok-` segment yields every record its header describes, each valid.
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
}
