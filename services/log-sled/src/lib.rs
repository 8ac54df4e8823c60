//! The embedded backend of `aduan-log`: the event log in one sled tree, one
//! writer thread, group commit.
//!
//! Keys: `g ‖ first position` → a segment of records (see `segment`). The
//! segments of a whole group of appends go into one `sled::Batch`, which sled
//! applies atomically; one `flush()` plus `fdatasync` then covers the group.
//! Appenders wait on a oneshot that the writer answers only after that, and
//! so do appenders refused with a conflict the group decided.
//! Which positions belong to which stream is kept in memory (see `streams`).
//! sled 0.34's `flush_async` hangs when called from many tasks, hence one
//! writer thread rather than a flush per appender (shared/PITFALLS.md).
//!
//! This crate is the only one that names sled for the log. The record format,
//! hash chain, validation, verify, subscriptions and the conformance suite
//! are `aduan-log`'s; only the segment layout and the stream index snapshot
//! are sled storage format and live here.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use aduan_log::record;
use aduan_log::{
    check_append, Appended, EventLog, ExpectedVersion, LogError, NewEvent, RecordedEvent,
};
use tokio::sync::{oneshot, watch};

mod dir;
mod fence;
mod options;
mod salvage;
mod segment;
mod store;
mod streams;
mod writer;

pub use dir::{create_dir_durable, create_dir_durable_with};
use fence::Fence;
pub use options::SledOptions;
use store::{
    be_u64, checked, cut_after, drop_stored_stream_index, missing, open_db, put_segment, read_tail,
    remove_segment, segment_at, segment_key, whole,
};
use streams::{SharedStreams, Streams};
use writer::{Request, Writer};

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
    tx: Mutex<Option<mpsc::SyncSender<Request>>>,
    /// The queue's bound, for the error that reports it full.
    queue: usize,
    head: watch::Receiver<u64>,
    streams: SharedStreams,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Faults injected into the writer by tests.
    #[cfg(test)]
    faults: writer::Faults,
}

impl SledLog {
    /// File in the data directory holding the stream index as of its last
    /// snapshot; deleting it only makes the next open rebuild the index from the log.
    pub const STREAM_INDEX_FILE: &'static str = streams::SNAPSHOT;

    /// Opens (or creates) the log in `opts.path`. A log whose writer failed to
    /// undo a failed commit is first cut back to the head it had before that
    /// commit (see `fence`): its appenders were told it failed.
    pub fn open(opts: SledOptions) -> Result<Self, LogError> {
        // Created here rather than by sled, so that the new directory's entry
        // in its parent is synced before anything is acknowledged.
        create_dir_durable(&opts.path).map_err(LogError::storage)?;
        let db = open_db(&opts.path, opts.lock_timeout)?;
        let mut fence = Fence::open(&opts.path, opts.fsync)?;
        if let Some(cut) = fence.pending()? {
            cut_back(&db, &opts.path, cut)?;
            fence.clear()?;
        }
        let (head, last_hash) = read_tail(&db)?;
        drop_stored_stream_index(&db)?;
        let streams = Streams::open(&db, &opts.path, head, Some(&last_hash))?;
        let streams = SharedStreams::new(streams);
        let file = if opts.fsync {
            // The directory too, once: fdatasync of a new file does not make
            // its name durable, and the first acknowledgement relies on both.
            let dir = File::open(&opts.path).and_then(|d| d.sync_all());
            dir.map_err(LogError::storage)?;
            Some(File::open(opts.path.join("db")).map_err(LogError::storage)?)
        } else {
            None
        };
        let (head_tx, head_rx) = watch::channel(head);
        let (tx, rx) = mpsc::sync_channel(opts.queue.max(1));
        #[cfg(test)]
        let faults = writer::Faults::default();
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
            fence,
            #[cfg(test)]
            faults: faults.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("aduan-log-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(LogError::storage)?;
        tracing::info!(path = %opts.path.display(), head, "event log open");
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                path: opts.path,
                tx: Mutex::new(Some(tx)),
                queue: opts.queue.max(1),
                head: head_rx,
                streams,
                writer: Mutex::new(Some(handle)),
                #[cfg(test)]
                faults,
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
        let mut batch = sled::Batch::default();
        remove_segment(db, &mut batch, first)?;
        put_segment(&mut batch, rebuilt, &mut Vec::new());
        db.apply_batch(batch)
            .and_then(|_| db.flush())
            .map(|_| ())
            .map_err(LogError::storage)
    }

    /// Queues `req` for the writer, or refuses it at once when the queue is full.
    fn send(&self, req: Request) -> Result<(), LogError> {
        let tx = {
            let guard = self.inner.tx.lock().map_err(|_| LogError::Closed)?;
            guard.clone().ok_or(LogError::Closed)?
        };
        tx.try_send(req).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => LogError::Overloaded {
                queued: self.inner.queue,
            },
            mpsc::TrySendError::Disconnected(_) => LogError::Closed,
        })
    }

    fn durable_head(&self) -> u64 {
        *self.inner.head.borrow()
    }

    fn read_position(&self, position: u64) -> Result<Option<RecordedEvent>, LogError> {
        let Some((first, seg)) = segment_at(&self.inner.db, position)? else {
            return Ok(None);
        };
        checked(first, &seg)?;
        match segment::record(&seg, (position - first) as usize) {
            Some(rec) => record::decode(position, rec).map(Some),
            None => Ok(None),
        }
    }
}

/// Cuts the log in `db` (stored in `path`) back to `cut`, the head it had before
/// a commit that failed and could not be undone. Everything up to that head
/// was acknowledged, so it must be there, with the hash it had.
fn cut_back(db: &sled::Db, path: &Path, (keep, hash): fence::Cut) -> Result<(), LogError> {
    let (head, _) = read_tail(db)?;
    let kept = match keep {
        0 => Some(record::GENESIS),
        _ => match segment_at(db, keep)? {
            Some((first, seg)) => segment::record(&seg, (keep - first) as usize)
                .map(|rec| record::decode(keep, rec).map(|e| e.hash))
                .transpose()?,
            None => None,
        },
    };
    if head < keep || kept != Some(hash) {
        return Err(LogError::Corrupt {
            position: keep,
            reason: format!(
                "the log's fence names position {keep} as acknowledged, and the log does not \
                 hold it as it was (it ends at {head}); verify it, and remove {} from the log \
                 directory to open it as it is",
                fence::FILE
            ),
        });
    }
    if head > keep {
        cut_after(db, path, keep)?;
        tracing::warn!(
            keep,
            cut = head - keep,
            "removed the records of a failed commit that could not be undone"
        );
    }
    Ok(())
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
        check_append(stream, &events)?;
        let (reply, rx) = oneshot::channel();
        let req = Request::Append {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
        };
        self.send(req)?;
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
            if out.len() == max {
                break;
            }
            let (key, seg) = item.map_err(LogError::storage)?;
            let first = be_u64(&key[1..]);
            if first > next {
                return Err(missing(next));
            }
            let seg = whole(db, first, seg)?;
            checked(first, &seg)?;
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

    async fn import(&self, events: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Import { events, reply })?;
        rx.await.map_err(|_| LogError::Closed)?
    }
}

#[cfg(test)]
mod tests;
