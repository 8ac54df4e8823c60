//! Fuzz-style tests of the log's record format (issue 7): record decoding, on
//! raw bytes and on valid records mutated by bit flips,
//! truncation, extension, splicing and overwrites. Properties: nothing panics,
//! every refusal is `LogError::Corrupt` naming the position asked for, valid
//! records round-trip, a record with any change is refused, and a record whose
//! hash was recomputed after a change (so the parser behind the hash check is
//! reached) decodes only when it is the canonical encoding of what it decodes to.
//!
//! Cases per property default to a CI-sized number; `ADUAN_FUZZ_CASES=N` runs a
//! sustained campaign (`cargo test --release -p aduan-log --test fuzz_record`).
//! `fuzz/corpus/record/` is replayed by `replay_corpus`; a file named `ok-*`
//! must be accepted, `err-*` refused. The sled backend's segments are fuzzed
//! in `aduan-log-sled` (`tests/fuzz_segment.rs`).

use aduan_fuzz::{config, corpus, corpus_files, mutate, mutation};

use aduan_log::record::{decode, encode, HASH_LEN};
use aduan_log::{LogError, RecordedEvent};
use proptest::prelude::*;
use uuid::Uuid;

/// Position under which every corpus record is stored.
const CORPUS_POSITION: u64 = 7;

fn arb_event() -> impl Strategy<Value = RecordedEvent> {
    (
        (
            any::<u64>(),
            any::<u64>(),
            any::<i64>(),
            any::<u128>(),
            any::<u128>(),
        ),
        (
            proptest::option::of(any::<u128>()),
            any::<u32>(),
            any::<[u8; 32]>(),
        ),
        (".{0,40}", ".{0,30}", ".{0,40}"),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(
            |((pos, ver, at, id, corr), (cause, sv, prev), (s, t, a), payload)| RecordedEvent {
                event_id: Uuid::from_u128(id),
                stream_id: s,
                stream_version: ver,
                position: pos,
                recorded_at_ms: at,
                event_type: t,
                schema_version: sv,
                actor: a,
                correlation_id: Uuid::from_u128(corr),
                causation_id: cause.map(Uuid::from_u128),
                payload,
                prev_hash: prev,
                hash: [0; 32],
            },
        )
}

/// A decode result must be a `Corrupt` naming `position`, or a success.
fn refused_properly(position: u64, r: &Result<RecordedEvent, LogError>) -> bool {
    match r {
        Ok(_) => true,
        Err(LogError::Corrupt { position: p, .. }) => *p == position,
        Err(_) => false,
    }
}

/// Recomputes the record hash over a (mutated) body.
fn reseal(body: &[u8]) -> Vec<u8> {
    let mut out = blake3::hash(body).as_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn raw_bytes_never_panic(position in any::<u64>(), bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let r = decode(position, &bytes);
        prop_assert!(refused_properly(position, &r), "{:?}", r);
    }

    #[test]
    fn raw_bodies_behind_a_valid_hash_never_panic(position in any::<u64>(), body in proptest::collection::vec(any::<u8>(), 0..400)) {
        // A matching hash gets random bytes past the first check into the parser.
        let r = decode(position, &reseal(&body));
        prop_assert!(refused_properly(position, &r), "{:?}", r);
    }

    #[test]
    fn valid_records_round_trip(e in arb_event()) {
        let (bytes, hash) = encode(&e);
        prop_assert_eq!(*blake3::hash(&bytes[HASH_LEN..]).as_bytes(), hash);
        let back = decode(e.position, &bytes).expect("a valid record decodes");
        prop_assert_eq!(&back, &RecordedEvent { hash, ..e.clone() });
        prop_assert_eq!(encode(&back).0, bytes);
    }

    #[test]
    fn a_record_under_another_position_is_refused(e in arb_event(), other in any::<u64>()) {
        prop_assume!(other != e.position);
        let (bytes, _) = encode(&e);
        let r = decode(other, &bytes);
        prop_assert!(matches!(r, Err(LogError::Corrupt { position, .. }) if position == other), "{:?}", r);
    }

    #[test]
    fn any_change_is_refused(
        e in arb_event(),
        donor in arb_event(),
        ms in proptest::collection::vec(mutation(), 1..4),
    ) {
        let (original, _) = encode(&e);
        let (other, _) = encode(&RecordedEvent { position: e.position, ..donor });
        let mut bytes = original.clone();
        for m in &ms {
            mutate(&mut bytes, m, &other);
        }
        let r = decode(e.position, &bytes);
        if bytes == original {
            prop_assert!(r.is_ok());
        } else {
            prop_assert!(
                matches!(r, Err(LogError::Corrupt { position, .. }) if position == e.position),
                "changed record accepted: {:?}", r
            );
        }
    }

    #[test]
    fn resealed_changes_decode_only_canonically(
        e in arb_event(),
        donor in arb_event(),
        ms in proptest::collection::vec(mutation(), 1..4),
    ) {
        // Mutate the body and recompute its hash: the parser proper must refuse
        // cleanly, or accept only bytes that are the encoding of what it returns.
        let (original, _) = encode(&e);
        let (other, _) = encode(&RecordedEvent { position: e.position, ..donor });
        let mut body = original[HASH_LEN..].to_vec();
        for m in &ms {
            mutate(&mut body, m, &other[HASH_LEN..]);
        }
        let bytes = reseal(&body);
        let r = decode(e.position, &bytes);
        prop_assert!(refused_properly(e.position, &r), "{:?}", r);
        if let Ok(back) = r {
            prop_assert_eq!(encode(&back).0, bytes);
        }
    }
}

/// Replays `fuzz/corpus/record` (records stored at position 7).
#[test]
fn replay_corpus() {
    for f in corpus_files("record") {
        let r = decode(CORPUS_POSITION, &f.bytes);
        assert!(refused_properly(CORPUS_POSITION, &r), "{}: {r:?}", f.name);
        if f.must_pass() {
            let back = r.unwrap_or_else(|e| panic!("{} must decode: {e}", f.name));
            assert_eq!(encode(&back).0, f.bytes, "{} is not canonical", f.name);
        } else {
            assert!(r.is_err(), "{} must be refused", f.name);
        }
    }
}

/// Writes the seed corpus (`cargo test -p aduan-log --test fuzz_record -- --ignored`).
#[test]
#[ignore = "writes fuzz/corpus; run by hand to regenerate the seeds"]
fn write_seed_corpus() {
    let dir = corpus("record");
    std::fs::create_dir_all(&dir).expect("mkdir");
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
    let minimal = RecordedEvent {
        position: CORPUS_POSITION,
        ..RecordedEvent::default()
    };
    let (full_bytes, _) = encode(&full);
    let (min_bytes, _) = encode(&minimal);
    let write = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).expect("write");
    write("ok-full.bin", &full_bytes);
    write("ok-minimal.bin", &min_bytes);
    write("err-empty.bin", b"");
    write("err-hash-only.bin", &full_bytes[..HASH_LEN]);
    let mut flipped = full_bytes.clone();
    flipped[HASH_LEN + 20] ^= 0x10;
    write("err-flipped-body.bin", &flipped);
    let mut flipped_hash = full_bytes.clone();
    flipped_hash[0] ^= 1;
    write("err-flipped-hash.bin", &flipped_hash);
    write("err-truncated.bin", &full_bytes[..full_bytes.len() - 1]);
    let mut trailing = full_bytes.clone();
    trailing.push(0);
    write("err-trailing-byte.bin", &trailing);
    let (other_pos, _) = encode(&RecordedEvent {
        position: 8,
        ..full.clone()
    });
    write("err-other-position.bin", &other_pos);
    // Behind a valid hash: the parser's own refusals.
    let body = |b: &[u8]| reseal(b);
    write("err-resealed-format.bin", &body(&[9]));
    let mut bad_flag = full_bytes[HASH_LEN..].to_vec();
    bad_flag[1 + 8 + 8 + 8 + 16 + 16] = 2;
    write("err-resealed-causation-flag.bin", &body(&bad_flag));
    let mut long_payload = full_bytes[HASH_LEN..].to_vec();
    let n = long_payload.len();
    long_payload[n - full.payload.len() - 4..n - full.payload.len()]
        .copy_from_slice(&u32::MAX.to_be_bytes());
    write("err-resealed-payload-length.bin", &body(&long_payload));
    let mut bad_utf8 = full_bytes[HASH_LEN..].to_vec();
    let at = 1 + 8 + 8 + 8 + 16 + 16 + 17 + 4 + 32 + 2;
    bad_utf8[at] = 0xff;
    write("err-resealed-not-utf8.bin", &body(&bad_utf8));
    write(
        "err-resealed-truncated.bin",
        &body(&full_bytes[HASH_LEN..HASH_LEN + 40]),
    );
}
