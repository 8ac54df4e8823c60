//! The sled database under the log: opening it, and the keys of its segments.

use std::path::Path;
use std::time::{Duration, Instant};

use aduan_log::record::{self, GENESIS, HASH_LEN};
use aduan_log::LogError;

use crate::segment;

/// sled's log buffer size for new logs, its largest. sled writes anything
/// bigger than a quarter of it (a node of up to 17 segments, when it splits or
/// consolidates one) to a blob file of its own that it never fsyncs, so an
/// acknowledged segment could rest on a file a power loss empties. A quarter of
/// 16 MiB holds 17 segments of the usual 64 KiB with room to spare.
const SLED_SEGMENT_SIZE: usize = 16 << 20;

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

pub(crate) fn put_segment(batch: &mut sled::Batch, seg: segment::Builder) -> Vec<u8> {
    let key = segment_key(seg.first());
    batch.insert(&key[..], seg.finish());
    key.to_vec()
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
            Ok(Some((be_u64(&key[1..]), seg)))
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
