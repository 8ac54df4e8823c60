//! The single writer thread: group commit of appends, and verbatim imports.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};

use tokio::sync::{oneshot, watch};

use aduan_log::record::{self, HASH_LEN};
use aduan_log::{Appended, ExpectedVersion, ImportCheck, LogError, NewEvent, RecordedEvent};

use crate::fence::Fence;
use crate::segment;
use crate::store::put_segment;
use crate::streams::{self, SharedStreams};

/// Appends gathered into one commit at the most.
const MAX_GROUP: usize = 4096;

/// What the writer is asked to do.
pub(crate) enum Request {
    /// Append `events` to `stream` if its version admits `expected`.
    Append {
        stream: String,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        reply: oneshot::Sender<Result<Appended, LogError>>,
    },
    /// Store exported records exactly as they were (restore, migration).
    Import {
        events: Vec<RecordedEvent>,
        reply: oneshot::Sender<Result<Appended, LogError>>,
    },
}

/// The single owner of all writes.
pub(crate) struct Writer {
    pub(crate) db: sled::Db,
    pub(crate) file: Option<File>,
    /// The log's directory, where the stream index snapshot is written.
    pub(crate) dir: PathBuf,
    pub(crate) head: u64,
    pub(crate) last_hash: [u8; HASH_LEN],
    /// Updated only after a commit is durable, so readers never see more.
    pub(crate) streams: SharedStreams,
    pub(crate) snapshots: Snapshots,
    pub(crate) head_tx: watch::Sender<u64>,
    pub(crate) clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Set when a failed commit or import could not be undone: sled and this
    /// writer may disagree, so every later write is refused until the log is
    /// reopened (with the error that caused it).
    pub(crate) poisoned: Option<LogError>,
    /// Where the next open cuts the log back to once a failed commit could not be undone.
    pub(crate) fence: Fence,
    /// Fault injection for tests.
    #[cfg(test)]
    pub(crate) faults: Faults,
}

/// Faults a test can inject into the writer.
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub(crate) struct Faults {
    /// How many of the next syncs fail.
    pub failing_syncs: Arc<std::sync::atomic::AtomicU32>,
    /// How many of the next undos fail before they remove anything (as they
    /// do once sled has kept an I/O error).
    pub failing_undos: Arc<std::sync::atomic::AtomicU32>,
    /// Held by a test, it stops the writer before its next commit.
    pub stall: Arc<std::sync::Mutex<()>>,
}

/// When the stream index snapshot was last written while the log is open.
pub(crate) struct Snapshots {
    /// The head it covered.
    at: u64,
    /// Events between two snapshots.
    every: u64,
    /// The thread writing the latest one.
    writing: Option<std::thread::JoinHandle<()>>,
}

impl Snapshots {
    pub(crate) fn new(head: u64, every: u64) -> Self {
        Self {
            at: head,
            every: every.max(1),
            writing: None,
        }
    }
}

/// One append waiting in a group.
struct AppendRequest {
    stream: String,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<Appended, LogError>>,
}

/// An append accepted into the group being committed.
struct Accepted {
    reply: oneshot::Sender<Result<Appended, LogError>>,
    stream: String,
    first_version: u64,
    appended: Appended,
}

impl Writer {
    pub(crate) fn run(mut self, rx: mpsc::Receiver<Request>) {
        let mut next = rx.recv().ok();
        while let Some(first) = next.take() {
            let mut group = Vec::new();
            let mut request = Some(first);
            while let Some(r) = request.take() {
                match r {
                    Request::Append {
                        stream,
                        expected,
                        events,
                        reply,
                    } => {
                        group.push(AppendRequest {
                            stream,
                            expected,
                            events,
                            reply,
                        });
                    }
                    Request::Import { events, reply } => {
                        // Imports commit alone, after the appends before them.
                        self.commit(std::mem::take(&mut group));
                        let _ = reply.send(self.import(events));
                    }
                }
                if group.len() < MAX_GROUP {
                    request = rx.try_recv().ok();
                }
            }
            self.commit(group);
            next = rx.recv().ok();
        }
        self.snapshot_at_close();
    }

    /// Writes the stream index snapshot for the final head, after any still
    /// being written in the background (which would otherwise replace it).
    fn snapshot_at_close(&mut self) {
        if let Some(writing) = self.snapshots.writing.take() {
            let _ = writing.join();
        }
        let snapshot = self.streams.read().encode(self.head, &self.last_hash);
        streams::report(streams::write_snapshot(&self.dir, &snapshot));
    }

    /// Every `snapshots.every` events, writes the stream index snapshot on a
    /// thread of its own (skipped while the previous one is still being written).
    fn snapshot_now_and_then(&mut self) {
        let s = &mut self.snapshots;
        if self.head < s.at + s.every || s.writing.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        let snapshot = self.streams.read().encode(self.head, &self.last_hash);
        let dir = self.dir.clone();
        let spawned = std::thread::Builder::new()
            .name("aduan-log-index".into())
            .spawn(move || streams::report(streams::write_snapshot(&dir, &snapshot)));
        match spawned {
            Ok(writing) => {
                s.at = self.head;
                s.writing = Some(writing);
            }
            Err(e) => tracing::warn!(error = %e, "no thread for the stream index snapshot"),
        }
    }

    fn commit(&mut self, group: Vec<AppendRequest>) {
        if group.is_empty() {
            return;
        }
        #[cfg(test)]
        let stall = self.faults.stall.clone();
        #[cfg(test)]
        let _stalled = stall.lock();
        if let Some(why) = &self.poisoned {
            for r in group {
                let _ = r.reply.send(Err(again(why)));
            }
            return;
        }
        let start = (self.head, self.last_hash);
        let mut batch = sled::Batch::default();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        // Versions the group itself has reached.
        let mut pending: HashMap<String, u64> = HashMap::new();
        let mut accepted = Vec::with_capacity(group.len());
        // Conflicts wait for the commit too: the version they name may be one
        // this group reaches, and an appender told "the stream is at v" must
        // find it there when it reads (or after a crash).
        let mut refused = Vec::new();
        let mut seg = segment::Builder::new(self.head + 1);
        let now = (self.clock)();
        for req in group {
            let current = match pending.get(&req.stream) {
                Some(v) => *v,
                None => self.streams.read().version(&req.stream),
            };
            if !req.expected.admits(current) {
                let conflict = LogError::Conflict {
                    stream: req.stream,
                    expected: req.expected,
                    actual: current,
                };
                refused.push((req.reply, conflict));
                continue;
            }
            let first_position = self.head + 1;
            let mut version = current;
            for e in req.events {
                version += 1;
                self.head += 1;
                let rec = RecordedEvent {
                    correlation_id: e.correlation_id.unwrap_or(e.event_id),
                    event_id: e.event_id,
                    stream_id: req.stream.clone(),
                    stream_version: version,
                    position: self.head,
                    recorded_at_ms: now,
                    event_type: e.event_type,
                    schema_version: e.schema_version,
                    actor: e.actor,
                    causation_id: e.causation_id,
                    payload: e.payload,
                    prev_hash: self.last_hash,
                    hash: [0; HASH_LEN],
                };
                self.last_hash = seg.push_with(|data| record::encode_into(data, &rec));
                if let Some(before) = seg.close_before_last() {
                    put_segment(&mut batch, before, &mut keys);
                }
                if seg.is_full() {
                    let full = std::mem::replace(&mut seg, segment::Builder::new(self.head + 1));
                    put_segment(&mut batch, full, &mut keys);
                }
            }
            pending.insert(req.stream.clone(), version);
            let appended = Appended {
                first_position,
                last_position: self.head,
                stream_version: version,
            };
            accepted.push(Accepted {
                reply: req.reply,
                stream: req.stream,
                first_version: current + 1,
                appended,
            });
        }
        if accepted.is_empty() {
            // Every conflict was decided against committed versions alone.
            for (reply, conflict) in refused {
                let _ = reply.send(Err(conflict));
            }
            return;
        }
        if !seg.is_empty() {
            put_segment(&mut batch, seg, &mut keys);
        }
        match self.persist_or_undo(batch, keys, start) {
            Ok(()) => {
                let mut streams = self.streams.write();
                for a in &accepted {
                    let positions = a.appended.first_position..=a.appended.last_position;
                    for (version, position) in (a.first_version..).zip(positions) {
                        streams.insert(&a.stream, version, position);
                    }
                }
                drop(streams);
                self.head_tx.send_replace(self.head);
                for a in accepted {
                    let _ = a.reply.send(Ok(a.appended));
                }
                for (reply, conflict) in refused {
                    let _ = reply.send(Err(conflict));
                }
                self.snapshot_now_and_then();
            }
            Err(e) => {
                // A refusal may rest on a version that was just undone; the
                // appender learns of the failure and retries.
                let replies = accepted.into_iter().map(|a| a.reply);
                for reply in replies.chain(refused.into_iter().map(|(r, _)| r)) {
                    let _ = reply.send(Err(again(&e)));
                }
            }
        }
    }

    /// Applies `batch` (which stores `keys`) and makes it durable; on failure
    /// removes `keys` again and rolls the writer back to `start` (head and hash). If that
    /// fails too, sled may hold what the writer does not know of: every later
    /// write is refused until the log is reopened, and the fence makes that
    /// open cut the log back to `start`.
    fn persist_or_undo(
        &mut self,
        batch: sled::Batch,
        keys: Vec<Vec<u8>>,
        start: (u64, [u8; HASH_LEN]),
    ) -> Result<(), LogError> {
        let Err(e) = self.persist(batch) else {
            return Ok(());
        };
        tracing::error!(error = %e, "commit failed; undoing it");
        (self.head, self.last_hash) = start;
        if let Err(undo) = self.undo(keys) {
            // sled may have written the commit all the same: the next open removes it.
            match self.fence.set(start) {
                Ok(()) => tracing::error!(
                    error = %undo,
                    "undo failed; refusing writes until reopened, which removes the failed commit"
                ),
                Err(fence) => tracing::error!(
                    error = %undo, %fence,
                    "undo failed and the fence could not be set; refusing writes until \
                     reopened, and the failed commit may still be in the log then"
                ),
            }
            self.poisoned = Some(undo);
        }
        Err(e)
    }

    fn persist(&self, batch: sled::Batch) -> Result<(), LogError> {
        self.db.apply_batch(batch).map_err(LogError::storage)?;
        self.db.flush().map_err(LogError::storage)?;
        self.sync()
    }

    fn sync(&self) -> Result<(), LogError> {
        #[cfg(test)]
        if take_one(&self.faults.failing_syncs) {
            return Err(LogError::storage("injected sync failure"));
        }
        match &self.file {
            Some(f) => f.sync_data().map_err(LogError::storage),
            None => Ok(()),
        }
    }

    fn undo(&self, keys: Vec<Vec<u8>>) -> Result<(), LogError> {
        #[cfg(test)]
        if take_one(&self.faults.failing_undos) {
            return Err(LogError::storage("injected undo failure"));
        }
        let mut batch = sled::Batch::default();
        for k in keys {
            batch.remove(k);
        }
        self.persist(batch)
    }

    /// Stores exported records verbatim after [`ImportCheck`] passed every
    /// one of them. All or nothing.
    fn import(&mut self, events: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        if let Some(why) = &self.poisoned {
            return Err(again(why));
        }
        let mut check = ImportCheck::new(self.head, self.last_hash);
        let mut batch = sled::Batch::default();
        let mut keys = Vec::new();
        let mut seg = segment::Builder::new(self.head + 1);
        for e in &events {
            let bytes = check.next(e, |s| self.streams.read().version(s))?;
            seg.push(&bytes);
            if let Some(before) = seg.close_before_last() {
                put_segment(&mut batch, before, &mut keys);
            }
            if seg.is_full() {
                let full = std::mem::replace(&mut seg, segment::Builder::new(e.position + 1));
                put_segment(&mut batch, full, &mut keys);
            }
        }
        let appended = check.appended()?;
        if !seg.is_empty() {
            put_segment(&mut batch, seg, &mut keys);
        }
        let start = (self.head, self.last_hash);
        self.head = check.head();
        self.last_hash = check.head_hash();
        self.persist_or_undo(batch, keys, start)?;
        let mut streams = self.streams.write();
        for e in &events {
            streams.insert(&e.stream_id, e.stream_version, e.position);
        }
        drop(streams);
        self.head_tx.send_replace(self.head);
        self.snapshot_now_and_then();
        Ok(appended)
    }
}

/// `e` once more, for another waiting writer: a storage failure with `e`'s source.
fn again(e: &LogError) -> LogError {
    match e {
        LogError::Storage(source) => LogError::Storage(source.clone()),
        other => LogError::storage(other.to_string()),
    }
}

/// Takes one of the failures `left` counts down, if any are left.
#[cfg(test)]
fn take_one(left: &std::sync::atomic::AtomicU32) -> bool {
    use std::sync::atomic::Ordering;
    left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}
