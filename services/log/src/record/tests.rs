//! Round trips, and refusals named by their [`Damage`].

use proptest::prelude::*;
use proptest::sample::Index;

use super::*;

fn arb_event() -> impl Strategy<Value = RecordedEvent> {
    (
        (1u64.., 1u64.., any::<i64>(), any::<u128>(), any::<u128>()),
        (
            proptest::option::of(any::<u128>()),
            any::<u32>(),
            any::<[u8; 32]>(),
        ),
        ("[a-z0-9-]{1,40}", "[A-Za-z]{1,30}", ".{0,40}"),
        proptest::collection::vec(any::<u8>(), 0..600),
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

/// Recomputes the record hash over a (changed) body, so the parser behind the
/// hash check sees it.
fn reseal(body: &[u8]) -> Vec<u8> {
    let mut out = blake3::hash(body).as_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// Offset in the body of the causation flag.
const FLAG_AT: usize = 1 + 8 + 8 + 8 + 16 + 16;

/// Offset in the body of the stream id's first byte.
fn stream_at(e: &RecordedEvent) -> usize {
    let causation = if e.causation_id.is_some() { 16 } else { 0 };
    FLAG_AT + 1 + causation + 4 + HASH_LEN + 2
}

proptest! {
    #[test]
    fn decode_inverts_encode(e in arb_event()) {
        let (bytes, hash) = encode(&e);
        let back = decode(e.position, &bytes).expect("decodes");
        prop_assert_eq!(back, RecordedEvent { hash, ..e });
    }

    #[test]
    fn any_flipped_byte_is_a_hash_mismatch(e in arb_event(), at in any::<Index>(), bit in 0u8..8) {
        let (mut bytes, _) = encode(&e);
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert_eq!(parse(e.position, &bytes).err(), Some(Damage::HashMismatch));
        // decode reports it as Corrupt at the position asked for, with the damage as reason.
        let err = decode(e.position, &bytes).expect_err("must be detected");
        let named = matches!(&err, LogError::Corrupt { position, reason }
            if *position == e.position && *reason == Damage::HashMismatch.to_string());
        prop_assert!(named, "wrong error {:?}", err);
    }

    #[test]
    fn peek_reads_what_decode_reads(e in arb_event()) {
        let (bytes, _) = encode(&e);
        prop_assert_eq!(peek_stream(&bytes), Some((e.stream_id.as_str(), e.stream_version)));
    }

    #[test]
    fn arbitrary_bytes_are_short_or_fail_the_hash(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        // Random bytes are never intact: too short for a hash and a format
        // tag, else their hash does not match.
        let want = if bytes.len() <= HASH_LEN { Damage::Truncated } else { Damage::HashMismatch };
        prop_assert_eq!(parse(7, &bytes).err(), Some(want));
    }

    #[test]
    fn a_record_cut_short_is_truncated(e in arb_event(), cut in any::<Index>()) {
        let (bytes, _) = encode(&e);
        let cut = cut.index(bytes.len());
        let want = if cut <= HASH_LEN { Damage::Truncated } else { Damage::HashMismatch };
        prop_assert_eq!(parse(e.position, &bytes[..cut]).err(), Some(want));
        // Resealed, the parser runs out of bytes wherever the cut is.
        let body = &bytes[HASH_LEN..cut.max(HASH_LEN)];
        prop_assert_eq!(parse(e.position, &reseal(body)).err(), Some(Damage::Truncated));
        // The header peek needs the bytes up to the end of the stream id.
        let stream_end = HASH_LEN + stream_at(&e) + e.stream_id.len();
        prop_assert_eq!(peek_stream(&bytes[..cut]).is_some(), cut >= stream_end);
    }

    #[test]
    fn the_parser_names_what_it_refuses(
        e in arb_event(),
        tag in any::<u8>(),
        flag in 2u8..,
        other in any::<u64>(),
        extra in proptest::collection::vec(any::<u8>(), 1..8),
    ) {
        let (bytes, _) = encode(&e);
        let body = &bytes[HASH_LEN..];
        let with = |at: usize, v: u8| {
            let mut b = body.to_vec();
            b[at] = v;
            reseal(&b)
        };
        if tag != FORMAT {
            prop_assert_eq!(parse(e.position, &with(0, tag)).err(), Some(Damage::UnknownFormat(tag)));
        }
        if other != e.position {
            prop_assert_eq!(parse(other, &bytes).err(), Some(Damage::OtherPosition(e.position)));
        }
        prop_assert_eq!(parse(e.position, &with(FLAG_AT, flag)).err(), Some(Damage::BadCausationFlag(flag)));
        prop_assert_eq!(parse(e.position, &with(stream_at(&e), 0xff)).err(), Some(Damage::NotUtf8));
        let mut longer = body.to_vec();
        longer.extend_from_slice(&extra);
        prop_assert_eq!(parse(e.position, &reseal(&longer)).err(), Some(Damage::TrailingBytes));
    }
}

#[test]
fn too_short_for_a_hash_and_a_format_tag_is_truncated() {
    for len in [0, 1, HASH_LEN - 1, HASH_LEN] {
        assert_eq!(
            parse(7, &vec![0; len]).err(),
            Some(Damage::Truncated),
            "{len} bytes"
        );
    }
    // One byte more reaches the hash check.
    assert_eq!(
        parse(7, &[0; HASH_LEN + 1]).err(),
        Some(Damage::HashMismatch)
    );
    assert_eq!(parse(7, &reseal(&[])).err(), Some(Damage::Truncated));
    assert_eq!(parse(7, &reseal(&[FORMAT])).err(), Some(Damage::Truncated));
}

#[test]
fn a_record_stored_under_another_position_is_refused() {
    let e = RecordedEvent {
        position: 5,
        ..RecordedEvent::default()
    };
    let (bytes, _) = encode(&e);
    assert_eq!(parse(6, &bytes).err(), Some(Damage::OtherPosition(5)));
    assert!(matches!(
        decode(6, &bytes),
        Err(LogError::Corrupt { position: 6, .. })
    ));
}
