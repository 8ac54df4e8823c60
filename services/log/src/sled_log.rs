//! The embedded backend: one sled tree, one writer thread, group commit.
//!
//! Keys: `g ‖ first position` → a segment of records (see `segment`). The
//! segments of a whole group of appends go into one `sled::Batch`, which sled
//! applies atomically; one `flush()` plus `fdatasync` then covers the group.
//! Appenders wait on a oneshot that the writer answers only after that.
//! Which positions belong to which stream is kept in memory (see `streams`).
//! sled 0.34's `flush_async` hangs when called from many tasks, hence one
//! writer thread rather than a flush per appender (shared/PITFALLS.md).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::record::{self, GENESIS, HASH_LEN};
use crate::segment;

mod streams;
mod writer;

use crate::RecordedEvent;
use crate::{check_new_event, Appended, EventLog, ExpectedVersion, LogError, NewEvent};
use streams::{SharedStreams, Streams};
use writer::{Request, Writer};

/// How to open a [`SledLog`].
#[derive(Clone)]
pub struct SledOptions {
    /// The data directory.
    pub path: PathBuf,
    /// Follow each flush with `fdatasync`, so an acknowledgement survives power loss
    /// (sled's own flush uses `sync_file_range`, which does not; sled #1351).
    pub fsync: bool,
    /// How long to retry when the directory's lock is held (a killed owner can
    /// hold it briefly) before reporting [`LogError::Locked`].
    pub lock_timeout: Duration,
    /// The source of `recorded_at`, in Unix milliseconds; injectable for tests.
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Write the stream index snapshot in the background after this many
    /// appended events (it is also written at close), so that opening after
    /// a crash scans at most about this many records.
    pub index_snapshot_every: u64,
}

impl SledOptions {
    /// Defaults: fsync on, 3 s lock timeout, system clock, an index snapshot
    /// every 1,000,000 events.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            fsync: true,
            lock_timeout: Duration::from_secs(3),
            clock: Arc::new(system_millis),
            index_snapshot_every: 1_000_000,
        }
    }
}

impl std::fmt::Debug for SledOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledOptions")
            .field("path", &self.path)
            .field("fsync", &self.fsync)
            .field("lock_timeout", &self.lock_timeout)
            .field("index_snapshot_every", &self.index_snapshot_every)
            .finish_non_exhaustive()
    }
}

fn system_millis() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The sled-backed event log. Cheap to clone; the last clone dropped (or
/// [`SledLog::close`]) stops the writer after its last commit.
#[derive(Clone, Debug)]
pub struct SledLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: sled::Db,
    path: PathBuf,
    // A std Mutex: held only to clone or take the sender, never across an await.
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    head: watch::Receiver<u64>,
    streams: SharedStreams,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl SledLog {
    /// File in the data directory holding the stream index as of its last
    /// snapshot; deleting it only makes the next open rebuild the index from the log.
    pub const STREAM_INDEX_FILE: &'static str = streams::SNAPSHOT;

    /// Opens (or creates) the log in `opts.path`.
    pub fn open(opts: SledOptions) -> Result<Self, LogError> {
        let db = open_db(&opts.path, opts.lock_timeout)?;
        let (head, last_hash) = read_tail(&db)?;
        drop_stored_stream_index(&db)?;
        let streams = SharedStreams::new(Streams::open(&db, &opts.path, head, &last_hash)?);
        let file = if opts.fsync {
            // The directory too, once: fdatasync of a new file does not make
            // its name durable, and the first acknowledgement relies on both.
            let dir = File::open(&opts.path).and_then(|d| d.sync_all());
            dir.map_err(|e| storage(&e))?;
            Some(File::open(opts.path.join("db")).map_err(|e| storage(&e))?)
        } else {
            None
        };
        let (head_tx, head_rx) = watch::channel(head);
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            db: db.clone(),
            file,
            dir: opts.path.clone(),
            head,
            last_hash,
            streams: streams.clone(),
            snapshots: writer::Snapshots::new(head, opts.index_snapshot_every),
            head_tx,
            clock: opts.clock.clone(),
            poisoned: None,
        };
        let handle = std::thread::Builder::new()
            .name("aduan-log-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| storage(&e))?;
        tracing::info!(path = %opts.path.display(), head, "event log open");
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                path: opts.path,
                tx: Mutex::new(Some(tx)),
                head: head_rx,
                streams,
                writer: Mutex::new(Some(handle)),
            }),
        })
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Stops taking appends, lets the writer finish its last commit, and waits for it.
    pub fn close(&self) {
        self.inner.shutdown();
    }

    /// Stores exported records exactly as they were, continuing the log: each
    /// must have the next position, the previous hash, its stream's next
    /// version, and a hash that matches it. All or nothing; durable on return.
    pub async fn import(&self, events: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        let (reply, rx) = oneshot::channel();
        self.sender()?
            .send(Request::Import { events, reply })
            .map_err(|_| LogError::Closed)?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// The raw record bytes at `position`, for tools that inspect storage.
    pub fn raw_record(&self, position: u64) -> Result<Option<Vec<u8>>, LogError> {
        let Some((first, seg)) = segment_at(&self.inner.db, position)? else {
            return Ok(None);
        };
        Ok(segment::record(&seg, (position - first) as usize).map(<[u8]>::to_vec))
    }

    /// Overwrites or deletes the raw record at `position`, bypassing every check.
    /// Only for tamper tests: never called by aduan itself.
    #[doc(hidden)]
    pub fn tamper(&self, position: u64, bytes: Option<&[u8]>) -> Result<(), LogError> {
        let db = &self.inner.db;
        let Some((first, seg)) = segment_at(db, position)? else {
            return Ok(());
        };
        let mut rebuilt = segment::Builder::new(first);
        for (i, rec) in segment::records(&seg).enumerate() {
            match (first + i as u64 == position, bytes) {
                (false, _) => rebuilt.push(rec),
                (true, Some(b)) => rebuilt.push(b),
                (true, None) => {}
            }
        }
        let r = db.insert(segment_key(first), rebuilt.finish());
        r.and_then(|_| db.flush())
            .map(|_| ())
            .map_err(|e| storage(&e))
    }

    fn sender(&self) -> Result<mpsc::Sender<Request>, LogError> {
        let guard = self.inner.tx.lock().map_err(|_| LogError::Closed)?;
        guard.clone().ok_or(LogError::Closed)
    }

    fn durable_head(&self) -> u64 {
        *self.inner.head.borrow()
    }

    fn read_position(&self, position: u64) -> Result<Option<RecordedEvent>, LogError> {
        let Some((first, seg)) = segment_at(&self.inner.db, position)? else {
            return Ok(None);
        };
        match segment::record(&seg, (position - first) as usize) {
            Some(rec) => record::decode(position, rec).map(Some),
            None => Ok(None),
        }
    }
}

impl Inner {
    fn shutdown(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl EventLog for SledLog {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Appended, LogError> {
        if events.is_empty() {
            return Err(LogError::Invalid(
                "an append needs at least one event".into(),
            ));
        }
        for e in &events {
            check_new_event(stream, e)?;
        }
        let (reply, rx) = oneshot::channel();
        let req = Request::Append {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
        };
        self.sender()?.send(req).map_err(|_| LogError::Closed)?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, LogError> {
        let head = self.durable_head();
        let positions = self.inner.streams.read().positions(stream, from_version);
        let mut out = Vec::with_capacity(positions.len());
        for (position, version) in positions.into_iter().zip(from_version.max(1)..) {
            if position > head {
                break;
            }
            let e = self
                .read_position(position)?
                .ok_or_else(|| LogError::Corrupt {
                    position,
                    reason: format!("{stream} version {version} is missing"),
                })?;
            if e.stream_id != stream || e.stream_version != version {
                return Err(LogError::Corrupt {
                    position,
                    reason: "record does not match its stream index entry".into(),
                });
            }
            out.push(e);
        }
        Ok(out)
    }

    async fn read_all(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, LogError> {
        let head = self.durable_head();
        let mut next = from.max(1);
        if next > head || max == 0 {
            return Ok(Vec::new());
        }
        let db = &self.inner.db;
        let start = segment_at(db, next)?.map_or(next, |(first, _)| first);
        let mut out = Vec::with_capacity(max.min((head - next + 1) as usize));
        'segments: for item in db.range(segment_key(start)..=segment_key(head)) {
            let (key, seg) = item.map_err(|e| storage(&e))?;
            let first = be_u64(&key[1..]);
            if first > next {
                return Err(missing(next));
            }
            for (i, rec) in segment::records(&seg).enumerate() {
                let position = first + i as u64;
                if position < next {
                    continue;
                }
                if position > head || out.len() == max {
                    break 'segments;
                }
                out.push(record::decode(position, rec)?);
                next = position + 1;
            }
        }
        if out.len() < max && next <= head {
            return Err(missing(next));
        }
        Ok(out)
    }

    fn head(&self) -> watch::Receiver<u64> {
        self.inner.head.clone()
    }
}

/// sled's log buffer size for new logs, its largest. sled writes anything
/// bigger than a quarter of it (a node of up to 17 segments, when it splits or
/// consolidates one) to a blob file of its own that it never fsyncs, so an
/// acknowledged segment could rest on a file a power loss empties. A quarter of
/// 16 MiB holds 17 segments of the usual 64 KiB with room to spare.
const SLED_SEGMENT_SIZE: usize = 16 << 20;

fn open_db(path: &Path, lock_timeout: Duration) -> Result<sled::Db, LogError> {
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
            Err(e) => return Err(storage(&e)),
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
fn read_tail(db: &sled::Db) -> Result<(u64, [u8; HASH_LEN]), LogError> {
    let Some(item) = db.scan_prefix([b'g']).next_back() else {
        return Ok((0, GENESIS));
    };
    let (key, seg) = item.map_err(|e| storage(&e))?;
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
fn drop_stored_stream_index(db: &sled::Db) -> Result<(), LogError> {
    let mut dropped = 0u64;
    for key in db.scan_prefix([b's']).keys() {
        db.remove(key.map_err(|e| storage(&e))?)
            .map_err(|e| storage(&e))?;
        dropped += 1;
    }
    if dropped > 0 {
        db.flush().map_err(|e| storage(&e))?;
        tracing::info!(
            dropped,
            "removed the stored stream index of an older version"
        );
    }
    Ok(())
}

fn segment_key(first: u64) -> [u8; 9] {
    let mut k = [b'g'; 9];
    k[1..].copy_from_slice(&first.to_be_bytes());
    k
}

fn put_segment(batch: &mut sled::Batch, seg: segment::Builder) -> Vec<u8> {
    let key = segment_key(seg.first());
    batch.insert(&key[..], seg.finish());
    key.to_vec()
}

/// The segment that holds `position` if it is stored: its first position and bytes.
fn segment_at(db: &sled::Db, position: u64) -> Result<Option<(u64, sled::IVec)>, LogError> {
    match db.range(segment_key(0)..=segment_key(position)).next_back() {
        None => Ok(None),
        Some(item) => {
            let (key, seg) = item.map_err(|e| storage(&e))?;
            Ok(Some((be_u64(&key[1..]), seg)))
        }
    }
}

fn missing(position: u64) -> LogError {
    LogError::Corrupt {
        position,
        reason: "record is missing".into(),
    }
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0; 8];
    let n = b.len().min(8);
    a[8 - n..].copy_from_slice(&b[b.len() - n..]);
    u64::from_be_bytes(a)
}

fn storage(e: &dyn std::fmt::Display) -> LogError {
    LogError::Storage(e.to_string())
}
