//! The stream index: the positions of each stream's events, in version order.
//!
//! It lives in memory, as JetStream keeps its per-subject state, because a
//! sled key per event cost about 8 µs of the writer's time, half of an append
//! (`aduan bench log`, 2026-11-23). The log itself is what makes it durable:
//! every record names its stream and version, so the index is rebuilt at open
//! from a snapshot (written at close, and every so many events while open)
//! plus a scan of the records after it.
//! Memory: about 220 bytes for a stream of two events with a 46-byte id
//! (1,000,000 such streams, measured), 8 more per further event.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fs::{self, File};
use std::hash::BuildHasherDefault;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use aduan_log::record::{self, HASH_LEN};
use aduan_log::LogError;

use crate::segment;
use crate::store::{be_u64, segment_at, segment_key, whole};

/// File name of the snapshot, in the log's directory.
pub(crate) const SNAPSHOT: &str = "aduan-streams.idx";
/// Format tag of the snapshot; bump when the layout changes.
const MAGIC: &[u8; 8] = b"ADUSTRM1";
/// A rebuild that scanned more records than this writes a snapshot at once, so
/// that a crash soon after does not pay for the same scan again.
const SNAPSHOT_AFTER_SCAN: u64 = 100_000;

/// Stream id → position of version v at index v − 1 (0 where a record was unreadable).
#[derive(Debug, Default)]
pub(crate) struct Streams {
    positions: HashMap<String, Vec<u64>, SameOrder>,
}

/// The same hash in every process (SipHash with fixed keys), so that the
/// snapshot, written in the map's own order, is read back into a map of the
/// same size in that order: each insert lands next to the one before instead
/// of at a random place in a table of millions, which an open of 10 M events
/// spent most of its time on. Stream ids are the log's own: a complaint id
/// is random, or a BLAKE3 hash of its channel reference, so a client could
/// aim ids at one part of the table only by searching through hashes.
type SameOrder = BuildHasherDefault<DefaultHasher>;

/// The index shared by the writer (the only one that changes it) and readers.
#[derive(Debug, Clone)]
pub(crate) struct SharedStreams(Arc<RwLock<Streams>>);

impl SharedStreams {
    pub(crate) fn new(streams: Streams) -> Self {
        Self(Arc::new(RwLock::new(streams)))
    }
    /// Read access; a writer that panicked mid-update left at worst a stream
    /// without its newest events, which reads report as missing.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Streams> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }
    /// Write access, for the writer.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Streams> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Streams {
    /// The stream's current version (0 when it has no events).
    pub(crate) fn version(&self, stream: &str) -> u64 {
        self.positions.get(stream).map_or(0, |p| p.len() as u64)
    }

    /// Positions of the stream's events from `from_version` (1-based) on.
    pub(crate) fn positions(&self, stream: &str, from_version: u64) -> Vec<u64> {
        let from = from_version.max(1) as usize - 1;
        match self.positions.get(stream) {
            Some(p) if from < p.len() => p[from..].to_vec(),
            _ => Vec::new(),
        }
    }

    /// Records that `stream`'s version `version` is at `position`.
    pub(crate) fn insert(&mut self, stream: &str, version: u64, position: u64) {
        let Some(slot) = (version as usize).checked_sub(1) else {
            return;
        };
        let positions = match self.positions.get_mut(stream) {
            Some(p) => p,
            None => self.positions.entry(stream.to_owned()).or_default(),
        };
        if slot >= positions.len() {
            positions.resize(slot, 0);
            positions.push(position);
        } else {
            positions[slot] = position;
        }
    }

    /// Indexes the records of one stored segment whose first position is `first`,
    /// skipping positions up to `after`. Returns how many it indexed.
    fn index_segment(&mut self, first: u64, seg: &[u8], after: u64) -> u64 {
        let mut n = 0;
        for (i, rec) in segment::records(seg).enumerate() {
            let position = first + i as u64;
            if position <= after {
                continue;
            }
            // An unreadable header is left to `verify` and to the reads that
            // hit it. A version that does not follow its stream's last is
            // believed only from an intact record: a damaged one could claim
            // any version, and the gap before it would be allocated.
            let Some((stream, version)) = record::peek_stream(rec) else {
                continue;
            };
            if version == self.version(stream) + 1 || record::is_intact(rec) {
                self.insert(stream, version, position);
                n += 1;
            }
        }
        n
    }

    /// Loads the snapshot in `dir` if it belongs to this log, then indexes every
    /// record after it up to `head`, whose hash is `head_hash`. After a long
    /// scan it writes a new snapshot, unless `head_hash` is `None` (a log
    /// opened for salvage writes nothing).
    pub(crate) fn open(
        db: &sled::Db,
        dir: &Path,
        head: u64,
        head_hash: Option<&[u8; HASH_LEN]>,
    ) -> Result<Self, LogError> {
        let started = Instant::now();
        let (mut streams, from) = load(&snapshot_path(dir), db, head).unwrap_or_default();
        let mut scanned = 0;
        if from < head {
            let start = segment_at(db, from + 1)?.map_or(from + 1, |(first, _)| first);
            for item in db.range(segment_key(start)..=segment_key(head)) {
                let (key, seg) = item.map_err(LogError::storage)?;
                let first = be_u64(&key[1..]);
                // A segment whose parts are damaged is left to `verify` and to the reads that hit it.
                if let Ok(seg) = whole(db, first, seg) {
                    scanned += streams.index_segment(first, &seg, from);
                }
            }
        }
        tracing::info!(
            streams = streams.positions.len(),
            from_snapshot = from,
            scanned,
            ms = started.elapsed().as_millis() as u64,
            "stream index ready"
        );
        match head_hash {
            Some(hash) if scanned > SNAPSHOT_AFTER_SCAN => {
                report(write_snapshot(dir, &streams.encode(head, hash)));
            }
            _ => {}
        }
        Ok(streams)
    }

    /// The snapshot of the index of a log whose head is `head`, with hash `head_hash`.
    pub(crate) fn encode(&self, head: u64, head_hash: &[u8; HASH_LEN]) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.positions.len() * 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&head.to_be_bytes());
        out.extend_from_slice(head_hash);
        out.extend_from_slice(&(self.positions.len() as u64).to_be_bytes());
        for (stream, positions) in &self.positions {
            out.extend_from_slice(&(stream.len() as u16).to_be_bytes());
            out.extend_from_slice(stream.as_bytes());
            out.extend_from_slice(&(positions.len() as u32).to_be_bytes());
            for p in positions {
                out.extend_from_slice(&p.to_be_bytes());
            }
        }
        let sum = blake3::hash(&out);
        out.extend_from_slice(sum.as_bytes());
        out
    }
}

/// Replaces the snapshot in `dir` with `snapshot` (from [`Streams::encode`]).
pub(crate) fn write_snapshot(dir: &Path, snapshot: &[u8]) -> Result<(), LogError> {
    let tmp = dir.join(format!("{SNAPSHOT}.tmp"));
    let mut file = File::create(&tmp).map_err(LogError::storage)?;
    file.write_all(snapshot).map_err(LogError::storage)?;
    file.sync_all().map_err(LogError::storage)?;
    fs::rename(&tmp, snapshot_path(dir)).map_err(LogError::storage)
}

/// A snapshot that could not be written only costs the next open a longer
/// scan, so the failure is logged, not returned.
pub(crate) fn report(written: Result<(), LogError>) {
    if let Err(e) = written {
        tracing::warn!(error = %e, "stream index snapshot not written; the next open scans the log");
    }
}

fn snapshot_path(dir: &Path) -> PathBuf {
    dir.join(SNAPSHOT)
}

/// The stored hash of the record at `position` (zeros for position 0), if it is there.
fn stored_hash(db: &sled::Db, position: u64) -> Option<[u8; HASH_LEN]> {
    if position == 0 {
        return Some([0; HASH_LEN]);
    }
    let (first, seg) = segment_at(db, position).ok()??;
    let rec = segment::record(&seg, (position - first) as usize)?;
    rec.get(..HASH_LEN)?.try_into().ok()
}

/// The snapshot and the position it covers, if it is intact and was taken of
/// this log: at or before `head`, and ending at a record whose hash it names.
fn load(path: &Path, db: &sled::Db, head: u64) -> Option<(Streams, u64)> {
    let bytes = fs::read(path).ok()?;
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != sum {
        tracing::warn!(path = %path.display(), "stream index snapshot is damaged; scanning the log");
        return None;
    }
    let mut r = body.strip_prefix(MAGIC)?;
    let covered = be_u64(take(&mut r, 8)?);
    let hash = take(&mut r, HASH_LEN)?;
    if covered > head || stored_hash(db, covered)?[..] != *hash {
        tracing::warn!(path = %path.display(), covered, head, "stream index snapshot is of another log; scanning the log");
        return None;
    }
    let count = be_u64(take(&mut r, 8)?);
    let mut streams = Streams::default();
    streams.positions.reserve(count.min(1 << 24) as usize);
    for _ in 0..count {
        let len = u16::from_be_bytes(take(&mut r, 2)?.try_into().ok()?) as usize;
        let stream = std::str::from_utf8(take(&mut r, len)?).ok()?.to_owned();
        let n = u32::from_be_bytes(take(&mut r, 4)?.try_into().ok()?) as usize;
        let raw = take(&mut r, n.checked_mul(8)?)?;
        let positions = raw.chunks_exact(8).map(be_u64).collect();
        streams.positions.insert(stream, positions);
    }
    r.is_empty().then_some((streams, covered))
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = r.split_at_checked(n)?;
    *r = rest;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_positions_follow_inserts() {
        let mut s = Streams::default();
        s.insert("a", 1, 10);
        s.insert("a", 2, 12);
        s.insert("b", 1, 11);
        assert_eq!(s.version("a"), 2);
        assert_eq!(s.version("c"), 0);
        assert_eq!(s.positions("a", 0), vec![10, 12]);
        assert_eq!(s.positions("a", 2), vec![12]);
        assert!(s.positions("a", 3).is_empty());
    }

    fn record(stream: &str, version: u64, position: u64) -> Vec<u8> {
        let e = aduan_log::RecordedEvent {
            stream_id: stream.into(),
            stream_version: version,
            position,
            ..Default::default()
        };
        record::encode(&e).0
    }

    #[test]
    fn a_damaged_record_claiming_a_far_version_is_not_indexed() {
        let mut seg = segment::Builder::new(1);
        seg.push(&record("a", 1, 1));
        let mut damaged = record("a", 2, 2);
        // The version's most significant byte (after hash, format and position).
        damaged[HASH_LEN + 9] = 0x7f;
        seg.push(&damaged);
        seg.push(&record("b", 1, 3));
        let mut s = Streams::default();
        assert_eq!(s.index_segment(1, &seg.finish(), 0), 2);
        assert_eq!(s.positions("a", 1), vec![1]);
        assert_eq!(s.positions("b", 1), vec![3]);
    }

    #[test]
    fn a_gap_left_by_an_unreadable_record_keeps_later_versions_in_place() {
        let mut s = Streams::default();
        s.insert("a", 1, 3);
        s.insert("a", 3, 9);
        assert_eq!(s.positions("a", 1), vec![3, 0, 9]);
        s.insert("a", 0, 99);
        assert_eq!(s.version("a"), 3);
    }
}
