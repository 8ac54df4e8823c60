//! The single writer thread: group commit of appends, and verbatim imports.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};

use tokio::sync::{oneshot, watch};

use super::streams::{self, SharedStreams};
use super::{put_segment, storage};
use crate::record::{self, HASH_LEN};
use crate::segment;
use crate::{Appended, ExpectedVersion, LogError, NewEvent, RecordedEvent};

/// Appends gathered into one commit at the most.
const MAX_GROUP: usize = 4096;

/// What the writer is asked to do.
pub(super) enum Request {
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
pub(super) struct Writer {
    pub(super) db: sled::Db,
    pub(super) file: Option<File>,
    /// The log's directory, where the stream index snapshot is written.
    pub(super) dir: PathBuf,
    pub(super) head: u64,
    pub(super) last_hash: [u8; HASH_LEN],
    /// Updated only after a commit is durable, so readers never see more.
    pub(super) streams: SharedStreams,
    pub(super) snapshots: Snapshots,
    pub(super) head_tx: watch::Sender<u64>,
    pub(super) clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Set when a failed commit could not be undone: sled and this writer may
    /// disagree, so every later append is refused until the log is reopened.
    pub(super) poisoned: Option<String>,
}

/// When the stream index snapshot was last written while the log is open.
pub(super) struct Snapshots {
    /// The head it covered.
    at: u64,
    /// Events between two snapshots.
    every: u64,
    /// The thread writing the latest one.
    writing: Option<std::thread::JoinHandle<()>>,
}

impl Snapshots {
    pub(super) fn new(head: u64, every: u64) -> Self {
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
    pub(super) fn run(mut self, rx: mpsc::Receiver<Request>) {
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
        if let Some(why) = &self.poisoned {
            for r in group {
                let _ = r.reply.send(Err(LogError::Storage(why.clone())));
            }
            return;
        }
        let (start_head, start_hash) = (self.head, self.last_hash);
        let mut batch = sled::Batch::default();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        // Versions the group itself has reached.
        let mut pending: HashMap<String, u64> = HashMap::new();
        let mut accepted = Vec::with_capacity(group.len());
        let mut seg = segment::Builder::new(self.head + 1);
        let now = (self.clock)();
        for req in group {
            let current = match pending.get(&req.stream) {
                Some(v) => *v,
                None => self.streams.read().version(&req.stream),
            };
            if !req.expected.admits(current) {
                let _ = req.reply.send(Err(LogError::Conflict {
                    stream: req.stream,
                    expected: req.expected,
                    actual: current,
                }));
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
                if seg.is_full() {
                    let full = std::mem::replace(&mut seg, segment::Builder::new(self.head + 1));
                    keys.push(put_segment(&mut batch, full));
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
            return;
        }
        if !seg.is_empty() {
            keys.push(put_segment(&mut batch, seg));
        }
        match self.persist(batch) {
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
                self.snapshot_now_and_then();
            }
            Err(e) => {
                tracing::error!(error = %e, "commit failed; undoing it");
                self.head = start_head;
                self.last_hash = start_hash;
                if let Err(undo) = self.undo(keys) {
                    tracing::error!(error = %undo, "undo failed; refusing appends until reopened");
                    self.poisoned = Some(format!("{e}; undo failed: {undo}; reopen the log"));
                }
                for a in accepted {
                    let _ = a.reply.send(Err(LogError::Storage(e.to_string())));
                }
            }
        }
    }

    fn persist(&self, batch: sled::Batch) -> Result<(), LogError> {
        self.db.apply_batch(batch).map_err(|e| storage(&e))?;
        self.db.flush().map_err(|e| storage(&e))?;
        if let Some(f) = &self.file {
            f.sync_data().map_err(|e| storage(&e))?;
        }
        Ok(())
    }

    fn undo(&self, keys: Vec<Vec<u8>>) -> Result<(), LogError> {
        let mut batch = sled::Batch::default();
        for k in keys {
            batch.remove(k);
        }
        self.persist(batch)
    }

    /// Stores exported records verbatim after checking that each continues the
    /// log: the next position, the previous hash, its stream's next version, and
    /// a hash that matches its contents. All or nothing.
    fn import(&mut self, events: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        if let Some(why) = &self.poisoned {
            return Err(LogError::Storage(why.clone()));
        }
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Err(LogError::Invalid("nothing to import".into()));
        };
        let (first_position, last_position) = (first.position, last.position);
        let (mut head, mut hash) = (self.head, self.last_hash);
        let mut versions: HashMap<String, u64> = HashMap::new();
        let mut batch = sled::Batch::default();
        let mut seg = segment::Builder::new(head + 1);
        let mut stream_version = 0;
        for e in &events {
            let bad = |reason: &str| LogError::Corrupt {
                position: e.position,
                reason: reason.into(),
            };
            if e.position != head + 1 {
                return Err(bad(&format!("import expected position {}", head + 1)));
            }
            if e.prev_hash != hash {
                return Err(bad("import breaks the hash chain"));
            }
            let current = match versions.get(&e.stream_id) {
                Some(v) => *v,
                None => self.streams.read().version(&e.stream_id),
            };
            if e.stream_version != current + 1 {
                return Err(bad("import skips or repeats a stream version"));
            }
            let (bytes, computed) = record::encode(e);
            if computed != e.hash {
                return Err(bad("imported record does not match its hash"));
            }
            seg.push(&bytes);
            if seg.is_full() {
                let full = std::mem::replace(&mut seg, segment::Builder::new(e.position + 1));
                put_segment(&mut batch, full);
            }
            versions.insert(e.stream_id.clone(), e.stream_version);
            stream_version = e.stream_version;
            head = e.position;
            hash = computed;
        }
        if !seg.is_empty() {
            put_segment(&mut batch, seg);
        }
        // Nothing was applied if this fails: the batch is atomic and no state moved yet.
        self.persist(batch)?;
        self.head = head;
        self.last_hash = hash;
        let mut streams = self.streams.write();
        for e in &events {
            streams.insert(&e.stream_id, e.stream_version, e.position);
        }
        drop(streams);
        self.head_tx.send_replace(head);
        self.snapshot_now_and_then();
        Ok(Appended {
            first_position,
            last_position,
            stream_version,
        })
    }
}
