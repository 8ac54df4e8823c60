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
    parse(position, bytes).map_err(|damage| LogError::Corrupt {
        position,
        reason: damage.to_string(),
    })
}

/// What a record that fails [`decode`] is wrong with, as a value to branch on
/// (its text is the `reason` of the `LogError::Corrupt` that `decode` returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The bytes end before the record does.
    Truncated,
    /// The record's hash does not match its body.
    HashMismatch,
    /// The body's format tag is not one this version reads.
    UnknownFormat(u8),
    /// The record claims another position than the one it is stored at.
    OtherPosition(u64),
    /// The causation flag is neither 0 (none) nor 1 (an id follows).
    BadCausationFlag(u8),
    /// A text field (stream id, event type, actor) is not UTF-8.
    NotUtf8,
    /// Bytes follow the payload.
    TrailingBytes,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated => write!(f, "record is truncated"),
            Self::HashMismatch => write!(f, "record hash does not match its contents"),
            Self::UnknownFormat(tag) => write!(f, "unknown record format {tag}"),
            Self::OtherPosition(p) => write!(f, "record claims position {p}"),
            Self::BadCausationFlag(flag) => write!(f, "bad causation flag {flag}"),
            Self::NotUtf8 => write!(f, "text field is not UTF-8"),
            Self::TrailingBytes => write!(f, "trailing bytes after payload"),
        }
    }
}

/// [`decode`], with the damage as a [`Damage`].
pub fn parse(position: u64, bytes: &[u8]) -> Result<RecordedEvent, Damage> {
    if bytes.len() < HASH_LEN + 1 {
        return Err(Damage::Truncated);
    }
    if !is_intact(bytes) {
        return Err(Damage::HashMismatch);
    }
    let (stored_hash, body) = bytes.split_at(HASH_LEN);
    let mut r = Reader { buf: body };
    let format = r.u8()?;
    if format != FORMAT {
        return Err(Damage::UnknownFormat(format));
    }
    let stored_position = r.u64()?;
    if stored_position != position {
        return Err(Damage::OtherPosition(stored_position));
    }
    let stream_version = r.u64()?;
    let recorded_at_ms = r.u64()? as i64;
    let event_id = r.uuid()?;
    let correlation_id = r.uuid()?;
    let causation_id = match r.u8()? {
        0 => None,
        1 => Some(r.uuid()?),
        flag => return Err(Damage::BadCausationFlag(flag)),
    };
    let schema_version = r.u32()?;
    let prev_hash = r.hash()?;
    let stream_id = r.string()?;
    let event_type = r.string()?;
    let actor = r.string()?;
    let len = r.u32()? as usize;
    let payload = r.take(len)?.to_vec();
    if !r.buf.is_empty() {
        return Err(Damage::TrailingBytes);
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
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Damage> {
        if self.buf.len() < n {
            return Err(Damage::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Damage> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, Damage> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, Damage> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, Damage> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn uuid(&mut self) -> Result<Uuid, Damage> {
        Ok(Uuid::from_bytes(self.array()?))
    }
    fn hash(&mut self) -> Result<[u8; HASH_LEN], Damage> {
        self.array()
    }
    fn string(&mut self) -> Result<String, Damage> {
        let len = u16::from_be_bytes(self.array()?) as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Damage::NotUtf8)
    }
}

#[cfg(test)]
mod tests;
