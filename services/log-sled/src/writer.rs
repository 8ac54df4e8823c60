//! The writer thread and its syncer: group commit of appends, pipelined,
//! and verbatim imports.
//!
//! The writer builds each group of appends as they arrive (versions checked,
//! records encoded and chained into one segment), stores it in sled as soon
//! as no more appends are waiting, and hands it to the syncer, which makes
//! everything stored so far durable (sled's `flush` plus `fdatasync`) and
//! reports back. While one sync runs the writer builds and stores the next
//! groups, and the next sync covers all of them: building and syncing overlap
//! instead of taking turns. That needs inserts: sled's own lock lets an
//! insert run during a flush, but makes a batch wait for it. Appenders are
//! answered, and readers see a group, only once it is durable. A failed sync
//! undoes every group not yet durable (each chains on the ones before it).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tokio::sync::{oneshot, watch};

use aduan_log::record::{self, HASH_LEN};
use aduan_log::{Appended, ExpectedVersion, ImportCheck, LogError, NewEvent, RecordedEvent};

use crate::segment;
use crate::store::{put_segment, segment_key};
use crate::streams::{self, SharedStreams};

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
    /// From the syncer: every group up to `upto` is durable, or is not.
    Synced {
        upto: u64,
        result: Result<(), LogError>,
    },
    /// Finish everything asked before, then stop (sent at close).
    Close,
}

/// Where a group's records go and how they are made durable, shared by the
/// writer and its syncer.
#[derive(Clone)]
pub(crate) struct Storage {
    pub(crate) db: sled::Db,
    /// The database file to `fdatasync` after each flush (None: no fsync).
    pub(crate) file: Option<Arc<File>>,
    /// Fault injection for tests.
    #[cfg(test)]
    pub(crate) faults: Faults,
}

impl Storage {
    /// Makes every change stored so far durable.
    fn flush(&self) -> Result<(), LogError> {
        self.db.flush().map_err(LogError::storage)?;
        #[cfg(test)]
        {
            use std::sync::atomic::Ordering;
            let fail = |n: u32| n.checked_sub(1);
            if self
                .faults
                .failing_syncs
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, fail)
                .is_ok()
            {
                return Err(LogError::storage("injected sync failure"));
            }
        }
        match &self.file {
            Some(f) => f.sync_data().map_err(LogError::storage),
            None => Ok(()),
        }
    }

    /// Applies `batch` and makes it durable.
    fn persist(&self, batch: sled::Batch) -> Result<(), LogError> {
        self.db.apply_batch(batch).map_err(LogError::storage)?;
        self.flush()
    }
}

/// The single owner of all writes.
pub(crate) struct Writer {
    storage: Storage,
    /// The log's directory, where the stream index snapshot is written.
    dir: PathBuf,
    /// Head and hash after the last record built (durable or not).
    head: u64,
    last_hash: [u8; HASH_LEN],
    /// Head and hash after the last durable group.
    durable: (u64, [u8; HASH_LEN]),
    /// Updated only after a commit is durable, so readers never see more.
    streams: SharedStreams,
    snapshots: Snapshots,
    head_tx: watch::Sender<u64>,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Set when a failed commit or import could not be undone: sled and this
    /// writer may disagree, so every later write is refused until the log is
    /// reopened (with the error that caused it).
    poisoned: Option<LogError>,
}

impl Writer {
    /// A writer over `storage` whose log ends at `head` with `last_hash`.
    pub(crate) fn new(
        storage: Storage,
        dir: PathBuf,
        (head, last_hash): (u64, [u8; HASH_LEN]),
        streams: SharedStreams,
        snapshots: Snapshots,
        head_tx: watch::Sender<u64>,
        clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    ) -> Self {
        Self {
            storage,
            dir,
            head,
            last_hash,
            durable: (head, last_hash),
            streams,
            snapshots,
            head_tx,
            clock,
            poisoned: None,
        }
    }
}

/// Faults a test can inject into the writer.
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub(crate) struct Faults {
    /// How many of the next syncs fail.
    pub failing_syncs: Arc<std::sync::atomic::AtomicU32>,
    /// Held by a test, it stops the writer before it stores its next group.
    pub stall: Arc<std::sync::Mutex<()>>,
    /// Held by a test, it stops the syncer before its next sync.
    pub hold_syncs: Arc<std::sync::Mutex<()>>,
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

type Reply = oneshot::Sender<Result<Appended, LogError>>;

/// An append accepted into a group.
struct Accepted {
    reply: Reply,
    stream: String,
    first_version: u64,
    appended: Appended,
}

/// A group of appends: built as they arrive, then stored and synced.
struct Group {
    /// Head and hash after it.
    end: (u64, [u8; HASH_LEN]),
    recorded_at_ms: i64,
    seg: segment::Builder,
    /// Segments closed before the last, when the group passes one value.
    batch: sled::Batch,
    /// The keys it stores, to remove if the group fails.
    keys: Vec<Vec<u8>>,
    accepted: Vec<Accepted>,
    /// Conflicts wait for the commit too: the version they name may be one a
    /// group reaches, and an appender told "the stream is at v" must find it
    /// there when it reads (or after a crash).
    refused: Vec<(Reply, LogError)>,
}

impl Group {
    fn new(start: (u64, [u8; HASH_LEN]), recorded_at_ms: i64) -> Self {
        Self {
            end: start,
            recorded_at_ms,
            seg: segment::Builder::new(start.0 + 1),
            batch: sled::Batch::default(),
            keys: Vec::new(),
            accepted: Vec::new(),
            refused: Vec::new(),
        }
    }

    /// Every appender in it learns that it failed with `e`.
    fn fail(self, e: &LogError) {
        let replies = self.accepted.into_iter().map(|a| a.reply);
        for reply in replies.chain(self.refused.into_iter().map(|(r, _)| r)) {
            let _ = reply.send(Err(again(e)));
        }
    }
}

/// The writer's groups in their stages.
#[derive(Default)]
struct Pipeline {
    /// The group being built, not yet in sled.
    building: Option<Group>,
    /// Groups stored in sled, oldest first, each with the number the
    /// syncer reports it by.
    in_flight: VecDeque<(u64, Group)>,
    /// Versions reached by the groups building and in flight, for the
    /// streams they append to (the shared index has only durable ones).
    ahead: HashMap<String, u64>,
    /// The number of the next group handed to the syncer.
    next: u64,
}

impl Writer {
    /// Serves `rx` until [`Request::Close`], handing groups to `syncer`.
    pub(crate) fn run(mut self, rx: mpsc::Receiver<Request>, syncer: Syncer) {
        self.serve(&rx, &syncer.jobs);
        // The syncer stops once it has no more work, or cannot report.
        drop((syncer.jobs, rx));
        if syncer.thread.join().is_err() {
            tracing::error!("the log's syncer panicked");
        }
        self.snapshot_at_close();
    }

    fn serve(&mut self, rx: &mpsc::Receiver<Request>, jobs: &mpsc::Sender<u64>) {
        let mut p = Pipeline::default();
        // Requests that arrived while an import waited for the groups before it.
        let mut backlog: VecDeque<Request> = VecDeque::new();
        let mut closing = false;
        loop {
            let request = match backlog.pop_front() {
                Some(r) => r,
                None => match rx.try_recv() {
                    Ok(r) => r,
                    Err(mpsc::TryRecvError::Empty) => {
                        if closing {
                            self.settle(&mut p, rx, jobs, &mut backlog);
                            if backlog.is_empty() {
                                return;
                            }
                            continue;
                        }
                        if p.building.is_some() {
                            // Nothing more waiting: store the group now, so
                            // the next sync takes it.
                            self.ship(&mut p, jobs);
                            continue;
                        }
                        match rx.recv() {
                            Ok(r) => r,
                            Err(_) => return,
                        }
                    }
                    Err(mpsc::TryRecvError::Disconnected) => return,
                },
            };
            match request {
                Request::Append {
                    stream,
                    expected,
                    events,
                    reply,
                } => self.add(&mut p, stream, expected, events, reply),
                Request::Import { events, reply } => {
                    // Imports commit alone, after the appends before them.
                    self.settle(&mut p, rx, jobs, &mut backlog);
                    let _ = reply.send(self.import(events));
                }
                Request::Synced { upto, result } => self.synced(&mut p, upto, result),
                Request::Close => closing = true,
            }
        }
    }

    /// Ships the group being built and waits until every group is durable
    /// (or failed); other requests that arrive meanwhile go to `backlog`.
    fn settle(
        &mut self,
        p: &mut Pipeline,
        rx: &mpsc::Receiver<Request>,
        jobs: &mpsc::Sender<u64>,
        backlog: &mut VecDeque<Request>,
    ) {
        self.ship(p, jobs);
        while !p.in_flight.is_empty() {
            match rx.recv() {
                Ok(Request::Synced { upto, result }) => self.synced(p, upto, result),
                Ok(other) => backlog.push_back(other),
                Err(_) => return,
            }
        }
    }

    /// Builds one append into the group being built: checks its expected
    /// version, encodes and chains its records.
    fn add(
        &mut self,
        p: &mut Pipeline,
        stream: String,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        reply: Reply,
    ) {
        if let Some(why) = &self.poisoned {
            let _ = reply.send(Err(again(why)));
            return;
        }
        let (head, hash, clock) = (self.head, self.last_hash, &self.clock);
        let g = p
            .building
            .get_or_insert_with(|| Group::new((head, hash), clock()));
        let current = match p.ahead.get(&stream) {
            Some(v) => *v,
            None => self.streams.read().version(&stream),
        };
        if !expected.admits(current) {
            let conflict = LogError::Conflict {
                stream,
                expected,
                actual: current,
            };
            g.refused.push((reply, conflict));
            return;
        }
        let first_position = self.head + 1;
        let mut version = current;
        for e in events {
            version += 1;
            self.head += 1;
            let rec = RecordedEvent {
                correlation_id: e.correlation_id.unwrap_or(e.event_id),
                event_id: e.event_id,
                stream_id: stream.clone(),
                stream_version: version,
                position: self.head,
                recorded_at_ms: g.recorded_at_ms,
                event_type: e.event_type,
                schema_version: e.schema_version,
                actor: e.actor,
                causation_id: e.causation_id,
                payload: e.payload,
                prev_hash: self.last_hash,
                hash: [0; HASH_LEN],
            };
            self.last_hash = g.seg.push_with(|data| record::encode_into(data, &rec));
            // A group stays one segment, one key, until it passes MAX_VALUE.
            if let Some(before) = g.seg.close_before_last() {
                put_segment(&mut g.batch, before, &mut g.keys);
            }
        }
        g.end = (self.head, self.last_hash);
        p.ahead.insert(stream.clone(), version);
        g.accepted.push(Accepted {
            reply,
            stream,
            first_version: current + 1,
            appended: Appended {
                first_position,
                last_position: self.head,
                stream_version: version,
            },
        });
    }

    /// Stores the group being built in sled and hands it to the syncer.
    fn ship(&mut self, p: &mut Pipeline, jobs: &mpsc::Sender<u64>) {
        let Some(mut g) = p.building.take() else {
            return;
        };
        #[cfg(test)]
        let stall = self.storage.faults.stall.clone();
        #[cfg(test)]
        let _stalled = stall.lock();
        let seg = std::mem::take(&mut g.seg);
        let stored = if seg.is_empty() && g.keys.is_empty() {
            Ok(())
        } else if g.keys.is_empty() && seg.stored_len() <= segment::MAX_VALUE {
            // One key: an insert, atomic on its own. sled's batches hold a
            // lock that its flush holds too, so a batch would wait for the
            // sync in progress; an insert is stored while it runs.
            let key = segment_key(seg.first());
            g.keys.push(key.to_vec());
            self.storage.db.insert(key, seg.finish()).map(drop)
        } else {
            if !seg.is_empty() {
                put_segment(&mut g.batch, seg, &mut g.keys);
            }
            self.storage.db.apply_batch(std::mem::take(&mut g.batch))
        };
        let id = p.next;
        p.next += 1;
        p.in_flight.push_back((id, g));
        let shipped = stored.map_err(LogError::storage).and_then(|()| {
            jobs.send(id)
                .map_err(|_| LogError::storage("the log's syncer stopped"))
        });
        if let Err(e) = shipped {
            self.fail_all(p, &e);
        }
    }

    /// The syncer's report on every group up to `upto`.
    fn synced(&mut self, p: &mut Pipeline, upto: u64, result: Result<(), LogError>) {
        let done = p.in_flight.iter().take_while(|(id, _)| *id <= upto).count();
        if done == 0 {
            // About groups already failed and undone.
            return;
        }
        if let Err(e) = result {
            self.fail_all(p, &e);
            return;
        }
        for (_, g) in p.in_flight.drain(..done).collect::<Vec<_>>() {
            self.done(p, g);
        }
        self.snapshot_now_and_then();
    }

    /// `g` is durable: readers may see it and its appenders learn so.
    fn done(&mut self, p: &mut Pipeline, g: Group) {
        let mut streams = self.streams.write();
        for a in &g.accepted {
            let positions = a.appended.first_position..=a.appended.last_position;
            for (version, position) in (a.first_version..).zip(positions) {
                streams.insert(&a.stream, version, position);
            }
        }
        drop(streams);
        for a in &g.accepted {
            if p.ahead.get(&a.stream) == Some(&a.appended.stream_version) {
                p.ahead.remove(&a.stream);
            }
        }
        self.durable = g.end;
        self.head_tx.send_replace(g.end.0);
        for a in g.accepted {
            let _ = a.reply.send(Ok(a.appended));
        }
        for (reply, conflict) in g.refused {
            let _ = reply.send(Err(conflict));
        }
    }

    /// A group failed: it and every group after it (each chains on the one
    /// before) are undone, and the writer goes back to the last durable head.
    /// A refusal may rest on a version that was just undone; the appender
    /// learns of the failure and retries.
    fn fail_all(&mut self, p: &mut Pipeline, e: &LogError) {
        tracing::error!(error = %e, "commit failed; undoing it");
        let failed: Vec<Group> = p.in_flight.drain(..).map(|(_, g)| g).collect();
        let keys: Vec<Vec<u8>> = failed.iter().flat_map(|g| g.keys.iter().cloned()).collect();
        (self.head, self.last_hash) = self.durable;
        p.ahead.clear();
        if let Err(undo) = self.undo(keys) {
            tracing::error!(error = %undo, "undo failed; refusing writes until reopened");
            self.poisoned = Some(undo);
        }
        for g in failed.into_iter().chain(p.building.take()) {
            g.fail(e);
        }
    }

    /// Writes the stream index snapshot for the final head, after any still
    /// being written in the background (which would otherwise replace it).
    fn snapshot_at_close(&mut self) {
        if let Some(writing) = self.snapshots.writing.take() {
            let _ = writing.join();
        }
        let (head, hash) = self.durable;
        let snapshot = self.streams.read().encode(head, &hash);
        streams::report(streams::write_snapshot(&self.dir, &snapshot));
    }

    /// Every `snapshots.every` events, writes the stream index snapshot on a
    /// thread of its own (skipped while the previous one is still being written).
    fn snapshot_now_and_then(&mut self) {
        let (head, hash) = self.durable;
        let s = &mut self.snapshots;
        if head < s.at + s.every || s.writing.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        let snapshot = self.streams.read().encode(head, &hash);
        let dir = self.dir.clone();
        let spawned = std::thread::Builder::new()
            .name("aduan-log-index".into())
            .spawn(move || streams::report(streams::write_snapshot(&dir, &snapshot)));
        match spawned {
            Ok(writing) => {
                s.at = head;
                s.writing = Some(writing);
            }
            Err(e) => tracing::warn!(error = %e, "no thread for the stream index snapshot"),
        }
    }

    /// Applies `batch` (which stores `keys`) and makes it durable; on failure
    /// removes `keys` again and rolls the writer back to `start` (head and hash). If that
    /// fails too, sled may hold what the writer does not know of: every later
    /// write is refused until the log is reopened.
    fn persist_or_undo(
        &mut self,
        batch: sled::Batch,
        keys: Vec<Vec<u8>>,
        start: (u64, [u8; HASH_LEN]),
    ) -> Result<(), LogError> {
        let Err(e) = self.storage.persist(batch) else {
            return Ok(());
        };
        tracing::error!(error = %e, "commit failed; undoing it");
        (self.head, self.last_hash) = start;
        if let Err(undo) = self.undo(keys) {
            tracing::error!(error = %undo, "undo failed; refusing writes until reopened");
            self.poisoned = Some(undo);
        }
        Err(e)
    }

    fn undo(&self, keys: Vec<Vec<u8>>) -> Result<(), LogError> {
        let mut batch = sled::Batch::default();
        for k in keys {
            batch.remove(k);
        }
        self.storage.persist(batch)
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
        self.durable = (self.head, self.last_hash);
        self.head_tx.send_replace(self.head);
        self.snapshot_now_and_then();
        Ok(appended)
    }
}

/// The thread that makes stored groups durable, and how to hand it work.
pub(crate) struct Syncer {
    /// The number of the newest group stored.
    jobs: mpsc::Sender<u64>,
    thread: JoinHandle<()>,
}

impl Syncer {
    /// Starts the syncer over `storage`; it reports on `synced`, the writer's queue.
    pub(crate) fn spawn(
        storage: Storage,
        synced: mpsc::SyncSender<Request>,
    ) -> std::io::Result<Self> {
        let (jobs, todo) = mpsc::channel::<u64>();
        let thread = std::thread::Builder::new()
            .name("aduan-log-sync".into())
            .spawn(move || sync_loop(&storage, &todo, &synced))?;
        Ok(Self { jobs, thread })
    }
}

/// Makes everything stored so far durable for the newest group handed over
/// (the groups queued behind one sync share the next), and reports each sync
/// to the writer, until the writer stops handing it work.
fn sync_loop(storage: &Storage, todo: &mpsc::Receiver<u64>, synced: &mpsc::SyncSender<Request>) {
    while let Ok(mut upto) = todo.recv() {
        #[cfg(test)]
        let held = storage.faults.hold_syncs.clone();
        #[cfg(test)]
        let _held = held.lock();
        upto = todo.try_iter().last().unwrap_or(upto);
        let result = storage.flush();
        if synced.send(Request::Synced { upto, result }).is_err() {
            return;
        }
    }
}

/// `e` once more, for another waiting writer: a storage failure with `e`'s source.
fn again(e: &LogError) -> LogError {
    match e {
        LogError::Storage(source) => LogError::Storage(source.clone()),
        other => LogError::storage(other.to_string()),
    }
}
