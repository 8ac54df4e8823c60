//! The stored form of an event: a self-checking binary record.
//!
//! `record = hash (32 bytes) ‖ body`, where `hash = BLAKE3(body)` and the body
//! holds the envelope including the previous record's hash. A flipped byte
//! anywhere fails the record's own hash; a deleted or reordered record fails the
//! chain (`prev_hash`) or the position check. All integers are big-endian.

use uuid::Uuid;

use crate::{LogError, RecordedEvent};

/// Format tag of the body; bump when the layout changes.
const FORMAT: u8 = 1;
/// Length of a BLAKE3 hash.
pub const HASH_LEN: usize = 32;
/// The hash that precedes the first event.
pub const GENESIS: [u8; HASH_LEN] = [0; HASH_LEN];

/// Encodes `e` (whose `hash` field is ignored) and returns the record bytes and its hash.
pub fn encode(e: &RecordedEvent) -> (Vec<u8>, [u8; HASH_LEN]) {
    let mut out = Vec::with_capacity(HASH_LEN + 160 + e.payload.len() + e.stream_id.len());
    let hash = encode_into(&mut out, e);
    (out, hash)
}

/// Appends the record of `e` to `out` (no copy of its own) and returns its hash.
pub fn encode_into(out: &mut Vec<u8>, e: &RecordedEvent) -> [u8; HASH_LEN] {
    let start = out.len();
    out.extend_from_slice(&[0; HASH_LEN]);
    out.push(FORMAT);
    out.extend_from_slice(&e.position.to_be_bytes());
    out.extend_from_slice(&e.stream_version.to_be_bytes());
    out.extend_from_slice(&e.recorded_at_ms.to_be_bytes());
    out.extend_from_slice(e.event_id.as_bytes());
    out.extend_from_slice(e.correlation_id.as_bytes());
    match e.causation_id {
        Some(c) => {
            out.push(1);
            out.extend_from_slice(c.as_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&e.schema_version.to_be_bytes());
    out.extend_from_slice(&e.prev_hash);
    put_str(out, e.stream_id.as_bytes());
    put_str(out, e.event_type.as_bytes());
    put_str(out, e.actor.as_bytes());
    out.extend_from_slice(&(e.payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&e.payload);
    let hash = *blake3::hash(&out[start + HASH_LEN..]).as_bytes();
    out[start..start + HASH_LEN].copy_from_slice(&hash);
    hash
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    // Stream ids, types and actors are bounded well below 64 KiB before any
    // record is made (`check_new_event` at append, `check_recorded_event` at import).
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// Decodes and checks a record stored under `position`: its own hash, its
/// format and that it claims the position it is stored at.
pub fn decode(position: u64, bytes: &[u8]) -> Result<RecordedEvent, LogError> {
    let corrupt = |reason: &str| LogError::Corrupt {
        position,
        reason: reason.to_owned(),
    };
    if bytes.len() < HASH_LEN + 1 {
        return Err(corrupt("record is truncated"));
    }
    if !is_intact(bytes) {
        return Err(corrupt("record hash does not match its contents"));
    }
    let (stored_hash, body) = bytes.split_at(HASH_LEN);
    let mut r = Reader {
        buf: body,
        position,
    };
    if r.u8()? != FORMAT {
        return Err(corrupt("unknown record format"));
    }
    let stored_position = r.u64()?;
    if stored_position != position {
        return Err(corrupt(&format!(
            "record claims position {stored_position}"
        )));
    }
    let stream_version = r.u64()?;
    let recorded_at_ms = r.u64()? as i64;
    let event_id = r.uuid()?;
    let correlation_id = r.uuid()?;
    let causation_id = match r.u8()? {
        0 => None,
        1 => Some(r.uuid()?),
        _ => return Err(corrupt("bad causation flag")),
    };
    let schema_version = r.u32()?;
    let prev_hash = r.hash()?;
    let stream_id = r.string()?;
    let event_type = r.string()?;
    let actor = r.string()?;
    let len = r.u32()? as usize;
    let payload = r.take(len)?.to_vec();
    if !r.buf.is_empty() {
        return Err(corrupt("trailing bytes after payload"));
    }
    let mut hash = [0; HASH_LEN];
    hash.copy_from_slice(stored_hash);
    Ok(RecordedEvent {
        event_id,
        stream_id,
        stream_version,
        position,
        recorded_at_ms,
        event_type,
        schema_version,
        actor,
        correlation_id,
        causation_id,
        payload,
        prev_hash,
        hash,
    })
}

/// True when the record's bytes match the hash it starts with.
pub fn is_intact(bytes: &[u8]) -> bool {
    bytes
        .split_at_checked(HASH_LEN)
        .is_some_and(|(hash, body)| blake3::hash(body).as_bytes() == hash)
}

/// The stream id and version a record claims, read from its header without
/// checking its hash (for rebuilding the stream index; reads still check it).
/// `None` when the header is unreadable.
pub fn peek_stream(bytes: &[u8]) -> Option<(&str, u64)> {
    // hash ‖ format ‖ position ‖ version ‖ recorded_at ‖ event id ‖ correlation id ‖ causation flag
    const FLAG: usize = HASH_LEN + 1 + 8 + 8 + 8 + 16 + 16;
    let version = bytes.get(HASH_LEN + 9..HASH_LEN + 17)?;
    let version = u64::from_be_bytes(version.try_into().ok()?);
    let causation = match bytes.get(FLAG)? {
        0 => 0,
        1 => 16,
        _ => return None,
    };
    // ‖ schema version ‖ previous hash ‖ stream id length ‖ stream id
    let at = FLAG + 1 + causation + 4 + HASH_LEN;
    let len = u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as usize;
    let stream = std::str::from_utf8(bytes.get(at + 2..at + 2 + len)?).ok()?;
    Some((stream, version))
}

struct Reader<'a> {
    buf: &'a [u8],
    position: u64,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], LogError> {
        if self.buf.len() < n {
            return Err(LogError::Corrupt {
                position: self.position,
                reason: "record is truncated".to_owned(),
            });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], LogError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, LogError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, LogError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, LogError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn uuid(&mut self) -> Result<Uuid, LogError> {
        Ok(Uuid::from_bytes(self.array()?))
    }
    fn hash(&mut self) -> Result<[u8; HASH_LEN], LogError> {
        self.array()
    }
    fn string(&mut self) -> Result<String, LogError> {
        let len = u16::from_be_bytes(self.array()?) as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| LogError::Corrupt {
            position: self.position,
            reason: "text field is not UTF-8".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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

    proptest! {
        #[test]
        fn decode_inverts_encode(e in arb_event()) {
            let (bytes, hash) = encode(&e);
            let back = decode(e.position, &bytes).expect("decodes");
            prop_assert_eq!(back, RecordedEvent { hash, ..e });
        }

        #[test]
        fn any_flipped_byte_is_detected(e in arb_event(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let (mut bytes, _) = encode(&e);
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
            let err = decode(e.position, &bytes).expect_err("must be detected");
            let named = matches!(err, LogError::Corrupt { position, .. } if position == e.position);
            prop_assert!(named, "wrong error {:?}", err);
        }

        #[test]
        fn peek_reads_what_decode_reads(e in arb_event()) {
            let (bytes, _) = encode(&e);
            prop_assert_eq!(peek_stream(&bytes), Some((e.stream_id.as_str(), e.stream_version)));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(7, &bytes);
            let _ = peek_stream(&bytes);
        }
    }

    #[test]
    fn a_record_stored_under_another_position_is_refused() {
        let e = RecordedEvent {
            position: 5,
            ..RecordedEvent::default()
        };
        let (bytes, _) = encode(&e);
        assert!(matches!(
            decode(6, &bytes),
            Err(LogError::Corrupt { position: 6, .. })
        ));
    }
}
