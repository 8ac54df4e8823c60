//! The sled database under the log: opening it, and the keys of its segments.

use std::path::Path;
use std::time::{Duration, Instant};

use aduan_log::record::{self, GENESIS, HASH_LEN};
use aduan_log::LogError;

use crate::segment;

/// sled's log buffer size for new logs, its largest. sled writes any log
/// message bigger than a quarter of it, less headers, to a blob file of its own
/// that it never fsyncs (sled 0.34.7 `pagecache/logger.rs`, `reserve_inner`:
/// `segment_size / MINIMUM_ITEMS_PER_SEGMENT - SEG_HEADER_LEN`, with 4 and 20),
/// so an acknowledged record could rest on a file a power loss empties. A
/// message is one inserted value, or a whole leaf node of them when sled
/// consolidates or splits it; a leaf splits past 16 items (`node.rs`,
/// `should_split`), so it holds 17, or a few more when a sparse neighbour is
/// merged into it. Every stored value is kept under [`segment::MAX_VALUE`], so
/// [`BLOB_HEADROOM`] of them fit under the threshold (checked below).
const SLED_SEGMENT_SIZE: usize = 16 << 20;

/// How many values of the largest size (with their keys and sled's per-item
/// overhead) a leaf node can hold and still stay out of a blob file.
const BLOB_HEADROOM: usize = 24;
const _: () = assert!(
    BLOB_HEADROOM * (segment::MAX_VALUE + 64) < SLED_SEGMENT_SIZE / 4 - 20 - 32,
    "a full leaf node of the largest values would go to a sled blob file"
);

/// A segment stored in parts starts with this where a segment's record count would be
/// (no segment holds 2³² - 1 records), then the number of parts (u32) and the segment's
/// length (u64). Part `i` is stored under [`part_key`]`(first, i)`.
const PARTED: [u8; 4] = [0xFF; 4];

pub(crate) fn open_db(path: &Path, lock_timeout: Duration) -> Result<sled::Db, LogError> {
    let started = Instant::now();
    let segment_size = stored_segment_size(path).unwrap_or(SLED_SEGMENT_SIZE);
    if segment_size < SLED_SEGMENT_SIZE {
        tracing::warn!(
            segment_size,
            "this log was created with small sled buffers: some of its data may sit in blob files \
             that are not fsynced; export it and import it into a new directory"
        );
    }
    loop {
        let config = sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput)
            .segment_size(segment_size)
            // The writer flushes after every commit; a background flusher would only compete.
            .flush_every_ms(None);
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if is_lock_error(&e) => {
                if started.elapsed() >= lock_timeout {
                    return Err(LogError::Locked {
                        path: path.to_owned(),
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(LogError::storage(e)),
        }
    }
}

/// The buffer size an existing log was created with: sled refuses to open it
/// with another (its `conf` file holds a line `segment_size: N`, then a
/// binary checksum).
fn stored_segment_size(path: &Path) -> Option<usize> {
    let conf = std::fs::read(path.join("conf")).ok()?;
    String::from_utf8_lossy(&conf)
        .lines()
        .find_map(|l| l.strip_prefix("segment_size:"))
        .and_then(|v| v.trim().parse().ok())
}

/// sled wraps the `flock` failure in an error of its own; look inside it too.
fn is_lock_error(e: &std::io::Error) -> bool {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<std::io::Error>());
    e.kind() == std::io::ErrorKind::WouldBlock
        || inner.is_some_and(|i| i.kind() == std::io::ErrorKind::WouldBlock)
        || e.to_string().contains("could not acquire lock")
}

/// The durable head position and its hash, from the last stored record.
pub(crate) fn read_tail(db: &sled::Db) -> Result<(u64, [u8; HASH_LEN]), LogError> {
    let Some(item) = db.scan_prefix([b'g']).next_back() else {
        return Ok((0, GENESIS));
    };
    let (key, seg) = item.map_err(LogError::storage)?;
    let first = be_u64(&key[1..]);
    let seg = whole(db, first, seg)?;
    let n = segment::count(&seg);
    let last = n.checked_sub(1).and_then(|i| segment::record(&seg, i));
    let Some(rec) = last else {
        return Err(LogError::Corrupt {
            position: first,
            reason: "empty last segment".into(),
        });
    };
    let position = first + n as u64 - 1;
    Ok((position, record::decode(position, rec)?.hash))
}

/// The last stored position, found from the stored layout alone, and the hash
/// of its record when that record decodes: what a log opened for salvage
/// reads up to. A last segment whose layout is unreadable counts as its first
/// position, where reading then names the damage.
pub(crate) fn stored_tail(db: &sled::Db) -> Result<(u64, Option<[u8; HASH_LEN]>), LogError> {
    let Some(item) = db.scan_prefix([b'g']).next_back() else {
        return Ok((0, Some(GENESIS)));
    };
    let (key, seg) = item.map_err(LogError::storage)?;
    let first = be_u64(&key[1..]);
    let Ok(seg) = whole(db, first, seg) else {
        return Ok((first, None));
    };
    let n = segment::count(&seg).max(1);
    let position = first + n as u64 - 1;
    let hash = segment::record(&seg, n - 1)
        .and_then(|rec| record::decode(position, rec).ok())
        .map(|e| e.hash);
    Ok((position, hash))
}

/// Logs written before the stream index moved into memory kept it under
/// `s ‖ stream ‖ 0xFF ‖ version` keys; nothing reads them any more.
pub(crate) fn drop_stored_stream_index(db: &sled::Db) -> Result<(), LogError> {
    let mut dropped = 0u64;
    for key in db.scan_prefix([b's']).keys() {
        db.remove(key.map_err(LogError::storage)?)
            .map_err(LogError::storage)?;
        dropped += 1;
    }
    if dropped > 0 {
        db.flush().map_err(LogError::storage)?;
        tracing::info!(
            dropped,
            "removed the stored stream index of an older version"
        );
    }
    Ok(())
}

pub(crate) fn segment_key(first: u64) -> [u8; 9] {
    let mut k = [b'g'; 9];
    k[1..].copy_from_slice(&first.to_be_bytes());
    k
}

fn part_key(first: u64, i: u32) -> [u8; 13] {
    let mut k = [b'p'; 13];
    k[1..9].copy_from_slice(&first.to_be_bytes());
    k[9..].copy_from_slice(&i.to_be_bytes());
    k
}

/// Puts `seg` into `batch` and adds the keys it stores to `keys`: one, or, for a
/// segment larger than [`segment::MAX_VALUE`] (a single large record), a header
/// and its parts.
pub(crate) fn put_segment(batch: &mut sled::Batch, seg: segment::Builder, keys: &mut Vec<Vec<u8>>) {
    let first = seg.first();
    let bytes = seg.finish();
    let key = segment_key(first);
    keys.push(key.to_vec());
    if bytes.len() <= segment::MAX_VALUE {
        batch.insert(&key[..], bytes);
        return;
    }
    let parts = bytes.chunks(segment::MAX_VALUE);
    let mut header = PARTED.to_vec();
    header.extend_from_slice(&(parts.len() as u32).to_be_bytes());
    header.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    batch.insert(&key[..], header);
    for (i, part) in parts.enumerate() {
        let k = part_key(first, i as u32);
        batch.insert(&k[..], part);
        keys.push(k.to_vec());
    }
}

/// Removes every record after position `keep` from the log in `db`, stored in
/// `path`, and makes that durable (flush and fdatasync).
pub(crate) fn cut_after(db: &sled::Db, path: &Path, keep: u64) -> Result<(), LogError> {
    let mut batch = sled::Batch::default();
    for key in db.range(segment_key(keep + 1)..).keys() {
        let key = key.map_err(LogError::storage)?;
        if key.first() != Some(&b'g') {
            break;
        }
        remove_segment(db, &mut batch, be_u64(&key[1..]))?;
    }
    // The segment holding `keep` loses the records after it.
    if let Some((first, seg)) = segment_at(db, keep)? {
        if first + (segment::count(&seg) as u64) - 1 > keep {
            let mut kept = segment::Builder::new(first);
            for rec in segment::records(&seg).take((keep + 1 - first) as usize) {
                kept.push(rec);
            }
            remove_segment(db, &mut batch, first)?;
            put_segment(&mut batch, kept, &mut Vec::new());
        }
    }
    db.apply_batch(batch).map_err(LogError::storage)?;
    db.flush().map_err(LogError::storage)?;
    let file = std::fs::File::open(path.join("db")).map_err(LogError::storage)?;
    file.sync_data().map_err(LogError::storage)
}

/// Removes the segment whose first position is `first` (and its parts, if any) in `batch`.
pub(crate) fn remove_segment(
    db: &sled::Db,
    batch: &mut sled::Batch,
    first: u64,
) -> Result<(), LogError> {
    batch.remove(&segment_key(first)[..]);
    for key in db.scan_prefix(&part_key(first, 0)[..9]).keys() {
        batch.remove(key.map_err(LogError::storage)?);
    }
    Ok(())
}

/// The bytes of the segment whose first position is `first`, stored as
/// `stored`: itself, or the parts it names put together.
pub(crate) fn whole(db: &sled::Db, first: u64, stored: sled::IVec) -> Result<sled::IVec, LogError> {
    if stored.len() != 16 || stored[..4] != PARTED {
        return Ok(stored);
    }
    let parts = be_u64(&stored[4..8]) as u32;
    let len = be_u64(&stored[8..]) as usize;
    let damaged = |reason: String| LogError::Corrupt {
        position: first,
        reason,
    };
    if len > parts as usize * segment::MAX_VALUE {
        return Err(damaged(format!("segment of {len} bytes in {parts} parts")));
    }
    let mut bytes = Vec::with_capacity(len);
    for i in 0..parts {
        let part = db.get(part_key(first, i)).map_err(LogError::storage)?;
        let part =
            part.ok_or_else(|| damaged(format!("segment part {i} of {parts} is missing")))?;
        bytes.extend_from_slice(&part);
    }
    if bytes.len() != len {
        return Err(damaged(format!(
            "segment parts hold {} bytes, not {len}",
            bytes.len()
        )));
    }
    Ok(bytes.into())
}

/// The segment that holds `position` if it is stored: its first position and bytes.
pub(crate) fn segment_at(
    db: &sled::Db,
    position: u64,
) -> Result<Option<(u64, sled::IVec)>, LogError> {
    match db.range(segment_key(0)..=segment_key(position)).next_back() {
        None => Ok(None),
        Some(item) => {
            let (key, seg) = item.map_err(LogError::storage)?;
            let first = be_u64(&key[1..]);
            Ok(Some((first, whole(db, first, seg)?)))
        }
    }
}

/// The number of records of the segment whose first position is `first`, or
/// `Corrupt` naming the position where its layout is damaged.
pub(crate) fn checked(first: u64, seg: &[u8]) -> Result<usize, LogError> {
    segment::check(seg).map_err(|damage| LogError::Corrupt {
        position: first + damage.index(segment::count(seg)) as u64,
        reason: damage.to_string(),
    })
}

pub(crate) fn missing(position: u64) -> LogError {
    LogError::Corrupt {
        position,
        reason: "record is missing".into(),
    }
}

pub(crate) fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0; 8];
    let n = b.len().min(8);
    a[8 - n..].copy_from_slice(&b[b.len() - n..]);
    u64::from_be_bytes(a)
}
