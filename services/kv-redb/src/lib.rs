//! aduan-kv's redb backend: each [`aduan_kv::Tree`] is a redb table in one
//! database file.
//!
//! Why not sled, like the log: sled 0.34 takes one lock for the whole process
//! for every batch and flush, so the read models' writes waited on the log's
//! flushes and the log's appends on theirs (the intake and pipeline benches
//! ran faster with the read models in memory than in a sled database in the
//! same process as the log). redb shares nothing with sled.
//!
//! Writes go behind: an insert, a remove or a [`aduan_kv::Batch`] lands in an
//! overlay in memory and returns; a thread of its own commits the overlay to
//! redb, everything gathered since its last commit (and for at least
//! [`GATHER`]) in one write transaction (a redb transaction per insert cost
//! more than sled). Reads look in the
//! overlay first, so every write is read back at once, and a batch is
//! committed whole, with the writes before it. Writers wait while
//! [`MAX_PENDING`] changes are not yet committed.
//!
//! It holds only state derived from the log, so commits are not synced one by
//! one: a commit is made durable (with an `fsync`) when at least
//! [`DURABLE_EVERY`] has passed since the last durable one, [`DURABLE_EVERY`]
//! after the last commit when writes stop, at [`aduan_kv::Db::flush`], and
//! when the last handle is dropped. What a crash
//! takes is at most that last stretch, and the services rebuild it from the
//! log. A failed commit is kept: every later write and flush reports it.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aduan_kv::{Batch, Db, DbBackend, Entry, Iter, KvError, TreeBackend};
use redb::{Durability, ReadableDatabase, TableDefinition, TableError};

/// The database file in the directory given to [`open`].
pub const FILE: &str = "views.redb";

/// Longest stretch of commits that are not yet durable.
pub const DURABLE_EVERY: Duration = Duration::from_secs(1);

/// How long the committer lets changes gather before it commits them (unless
/// a flush or close is waiting, or many are pending already).
pub const GATHER: Duration = Duration::from_millis(5);

/// Changes that may wait for their commit before writers wait too.
pub const MAX_PENDING: usize = 1 << 17;

type Table<'a> = TableDefinition<'a, &'static [u8], &'static [u8]>;

type ReadTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// Key → new value (`None`: removed), per tree.
type Changes = HashMap<String, BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

/// Opens (or creates) the database in the directory `dir` as an
/// [`aduan_kv::Db`]. Read models an earlier version stored there with sled
/// are deleted first: they are rebuilt from the log.
pub fn open(dir: &Path) -> Result<Db, KvError> {
    open_handle(dir).map(|h| Db::new(RedbDb(h)))
}

fn open_handle(dir: &Path) -> Result<Arc<Handle>, KvError> {
    std::fs::create_dir_all(dir).map_err(io)?;
    drop_sled_files(dir)?;
    start(redb::Database::create(dir.join(FILE)).map_err(storage)?)
}

/// The handle over `db`, with its committer running.
fn start(db: redb::Database) -> Result<Arc<Handle>, KvError> {
    let shared = Arc::new(Shared {
        db,
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
        committed: Condvar::new(),
    });
    let committer = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("aduan-views-commit".into())
            .spawn(move || shared.commit_loop())
            .map_err(io)?
    };
    Ok(Arc::new(Handle {
        shared,
        committer: Some(committer),
    }))
}

/// Removes what sled keeps in `dir` (its `conf`, `db`, `snap.*` and `blobs`),
/// if sled kept anything there.
fn drop_sled_files(dir: &Path) -> Result<(), KvError> {
    let conf = dir.join("conf");
    if !conf.is_file() || !dir.join("db").is_file() {
        return Ok(());
    }
    let mut gone: Vec<PathBuf> = vec![dir.join("db"), dir.join("blobs")];
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("snap.") {
            gone.push(path);
        }
    }
    for path in gone {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
    }
    // Last, so that a crash midway still finds the sled database named by it.
    std::fs::remove_file(&conf).map_err(io)?;
    tracing::warn!(
        dir = %dir.display(),
        "read models stored by sled (an earlier version) removed; they are rebuilt from the log"
    );
    Ok(())
}

fn storage(e: impl Into<redb::Error>) -> KvError {
    KvError::Storage(Box::new(e.into()))
}

fn io(e: std::io::Error) -> KvError {
    KvError::Storage(Box::new(e))
}

/// The overlay and the committer's state.
#[derive(Default)]
struct State {
    /// Changes not yet taken by the committer.
    pending: Changes,
    pending_len: usize,
    /// Changes the committer is writing (read after `pending`).
    committing: Arc<Changes>,
    /// Commits done; a flush waits for the one after its changes.
    commits: u64,
    /// A commit is being written.
    in_progress: bool,
    /// The next commit must be durable.
    durable_asked: bool,
    last_durable: Option<Instant>,
    /// Commits were made since the last durable one.
    undurable: bool,
    /// Why the first failed commit failed (the storage's own message), kept.
    failed: Option<String>,
    stop: bool,
}

impl State {
    fn check(&self) -> Result<(), KvError> {
        match &self.failed {
            Some(why) => Err(KvError::Storage(why.clone().into())),
            None => Ok(()),
        }
    }

    /// The overlay's value of `key` in `tree`: `Some(None)` when removed.
    fn lookup(&self, tree: &str, key: &[u8]) -> Option<Option<Vec<u8>>> {
        [&self.pending, &*self.committing]
            .into_iter()
            .find_map(|c| c.get(tree).and_then(|t| t.get(key)).cloned())
    }
}

struct Shared {
    db: redb::Database,
    state: Mutex<State>,
    /// Wakes the committer.
    wake: Condvar,
    /// Signalled after each commit.
    committed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `changes` (to `tree`) to the overlay, waiting while it is full.
    fn stage(
        &self,
        tree: &str,
        changes: impl ExactSizeIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), KvError> {
        let n = changes.len();
        let mut s = self.lock();
        while s.failed.is_none() && s.pending_len > 0 && s.pending_len + n > MAX_PENDING {
            s = self.committed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.check()?;
        let map = s.pending.entry(tree.to_owned()).or_default();
        map.extend(changes);
        s.pending_len += n;
        if s.pending_len == n {
            // The committer waits only while nothing is pending.
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Commits what is in the overlay now, durably, and waits for it.
    fn flush(&self) -> Result<(), KvError> {
        let mut s = self.lock();
        s.durable_asked = true;
        // A commit in progress may hold none of what was staged, or only
        // some: then wait for the one after it.
        let target = s.commits + 1 + u64::from(s.in_progress);
        self.wake.notify_one();
        while s.commits < target && s.failed.is_none() {
            s = self.committed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.check()
    }

    fn commit_loop(&self) {
        let mut s = self.lock();
        loop {
            while s.pending.is_empty() && !s.durable_asked && !s.stop {
                if !s.undurable {
                    s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
                    continue;
                }
                // Writes stopped after a commit that was not durable: make it so.
                let (guard, waited) = self
                    .wake
                    .wait_timeout(s, DURABLE_EVERY)
                    .unwrap_or_else(|e| e.into_inner());
                s = guard;
                s.durable_asked |= waited.timed_out();
            }
            if !s.durable_asked && !s.stop && s.pending_len < MAX_PENDING / 2 {
                // Let more gather: a steady trickle of writes then costs a
                // commit every GATHER, not one each.
                drop(s);
                std::thread::sleep(GATHER);
                s = self.lock();
            }
            if s.stop && s.pending.is_empty() && !s.durable_asked {
                return;
            }
            let durable =
                s.durable_asked || s.last_durable.is_none_or(|t| t.elapsed() >= DURABLE_EVERY);
            s.durable_asked = false;
            s.in_progress = true;
            s.committing = Arc::new(std::mem::take(&mut s.pending));
            s.pending_len = 0;
            let changes = s.committing.clone();
            drop(s);
            let result = self.commit(&changes, durable);
            s = self.lock();
            s.committing = Arc::default();
            s.in_progress = false;
            s.commits += 1;
            match result {
                Ok(()) if durable => {
                    s.last_durable = Some(Instant::now());
                    s.undurable = false;
                }
                Ok(()) => s.undurable = true,
                Err(e) => {
                    tracing::error!(error = %e, "read models not committed");
                    let KvError::Storage(why) = e;
                    s.failed.get_or_insert(why.to_string());
                }
            }
            self.committed.notify_all();
            if s.failed.is_some() {
                return;
            }
        }
    }

    fn commit(&self, changes: &Changes, durable: bool) -> Result<(), KvError> {
        let mut txn = self.db.begin_write().map_err(storage)?;
        if durable {
            // A crash then costs the next open no walk over the whole file.
            txn.set_quick_repair(true);
        } else {
            txn.set_durability(Durability::None).map_err(storage)?;
        }
        for (tree, changes) in changes {
            let mut t = txn.open_table(Table::new(tree)).map_err(storage)?;
            for (k, v) in changes {
                match v {
                    Some(v) => t.insert(k.as_slice(), v.as_slice()).map(drop),
                    None => t.remove(k.as_slice()).map(drop),
                }
                .map_err(storage)?;
            }
        }
        txn.commit().map_err(storage)
    }

    /// Runs `write` in a write transaction of its own, after every staged change.
    fn write_now(
        &self,
        write: impl FnOnce(&redb::WriteTransaction) -> Result<(), KvError>,
    ) -> Result<(), KvError> {
        self.flush()?;
        let txn = self.db.begin_write().map_err(storage)?;
        write(&txn)?;
        txn.commit().map_err(storage)
    }
}

/// What every handle of one database shares: the last one dropped stops the
/// committer after its last, durable commit, and closes the file.
struct Handle {
    shared: Arc<Shared>,
    committer: Option<JoinHandle<()>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        {
            let mut s = self.shared.lock();
            s.stop = true;
            s.durable_asked = true;
        }
        self.shared.wake.notify_one();
        if let Some(c) = self.committer.take() {
            let _ = c.join();
        }
        if let Some(why) = &self.shared.lock().failed {
            tracing::warn!(error = %why, "read models not all committed at close");
        }
    }
}

struct RedbDb(Arc<Handle>);

struct RedbTree {
    handle: Arc<Handle>,
    name: String,
}

impl DbBackend for RedbDb {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn TreeBackend>, KvError> {
        let shared = &self.0.shared;
        let exists = {
            let txn = shared.db.begin_read().map_err(storage)?;
            match txn.open_table(Table::new(name)) {
                Ok(_) => true,
                Err(TableError::TableDoesNotExist(_)) => false,
                Err(e) => return Err(storage(e)),
            }
        };
        if !exists {
            shared.write_now(|txn| {
                txn.open_table(Table::new(name)).map_err(storage)?;
                Ok(())
            })?;
        }
        Ok(Arc::new(RedbTree {
            handle: self.0.clone(),
            name: name.to_owned(),
        }))
    }

    fn drop_tree(&self, name: &str) -> Result<(), KvError> {
        self.0.shared.write_now(|txn| {
            txn.delete_table(Table::new(name)).map_err(storage)?;
            Ok(())
        })
    }

    fn flush(&self) -> Result<(), KvError> {
        self.0.shared.flush()
    }
}

impl RedbTree {
    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// The table in a new read transaction; `None` when it was dropped.
    fn read(&self) -> Result<Option<ReadTable>, KvError> {
        let txn = self.shared().db.begin_read().map_err(storage)?;
        match txn.open_table(Table::new(&self.name)) {
            Ok(t) => Ok(Some(t)),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(storage(e)),
        }
    }

    /// The overlay's changes within the bounds, newest first wins.
    fn staged(
        &self,
        from: &Bound<Vec<u8>>,
        to: &Bound<Vec<u8>>,
    ) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let s = self.shared().lock();
        let mut out = BTreeMap::new();
        for changes in [&*s.committing, &s.pending] {
            if let Some(t) = changes.get(&self.name) {
                for (k, v) in t.range::<Vec<u8>, _>((from.clone(), to.clone())) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }
}

impl TreeBackend for RedbTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        // The overlay before the file: a change leaves the overlay only once
        // it is committed.
        if let Some(v) = self.shared().lock().lookup(&self.name, key) {
            return Ok(v);
        }
        let Some(table) = self.read()? else {
            return Ok(None);
        };
        let value = table.get(key).map_err(storage)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), KvError> {
        let change = (key.to_vec(), Some(value.to_vec()));
        self.shared().stage(&self.name, std::iter::once(change))
    }

    fn remove(&self, key: &[u8]) -> Result<(), KvError> {
        self.shared()
            .stage(&self.name, std::iter::once((key.to_vec(), None)))
    }

    fn apply(&self, batch: &Batch) -> Result<(), KvError> {
        let changes = batch.changes.iter().map(|(k, v)| (k.clone(), v.clone()));
        self.shared().stage(&self.name, changes)
    }

    fn range(&self, from: Bound<Vec<u8>>, to: Bound<Vec<u8>>) -> Iter<'_> {
        if aduan_kv::is_empty_range(&from, &to) {
            return Box::new(std::iter::empty());
        }
        // The overlay first, the file after (see `get`).
        let staged = self.staged(&from, &to);
        let table = match self.read() {
            Ok(Some(t)) => t,
            Ok(None) => return Box::new(Merge::new(staged, std::iter::empty())),
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let bounds = (
            from.as_ref().map(Vec::as_slice),
            to.as_ref().map(Vec::as_slice),
        );
        match table.range::<&[u8]>(bounds) {
            Ok(range) => {
                let stored = range.map(|kv| {
                    kv.map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
                        .map_err(storage)
                });
                Box::new(Merge::new(staged, stored))
            }
            Err(e) => Box::new(std::iter::once(Err(storage(e)))),
        }
    }
}

/// Stored entries in key order with the overlay's changes laid over them.
struct Merge<S: Iterator<Item = Result<Entry, KvError>>> {
    staged: std::iter::Peekable<std::collections::btree_map::IntoIter<Vec<u8>, Option<Vec<u8>>>>,
    stored: std::iter::Peekable<S>,
}

impl<S: Iterator<Item = Result<Entry, KvError>>> Merge<S> {
    fn new(staged: BTreeMap<Vec<u8>, Option<Vec<u8>>>, stored: S) -> Self {
        Self {
            staged: staged.into_iter().peekable(),
            stored: stored.peekable(),
        }
    }
}

impl<S: Iterator<Item = Result<Entry, KvError>>> Iterator for Merge<S> {
    type Item = Result<Entry, KvError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let order = match (self.staged.peek(), self.stored.peek()) {
                (None, None) => return None,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) | (Some(_), Some(Err(_))) => std::cmp::Ordering::Greater,
                (Some((k, _)), Some(Ok((stored, _)))) => k.cmp(stored),
            };
            if order == std::cmp::Ordering::Equal {
                // The overlay's change replaces the stored entry.
                self.stored.next();
            }
            let take_staged = order != std::cmp::Ordering::Greater;
            if !take_staged {
                return self.stored.next();
            }
            if let Some((k, Some(v))) = self.staged.next() {
                return Some(Ok((k, v)));
            }
            // A removal: nothing to yield for that key.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh database in a temporary directory, its handle, and its tree `t`.
    fn opened() -> (tempfile::TempDir, Arc<Handle>, Db, aduan_kv::Tree) {
        let dir = tempfile::tempdir().expect("tempdir");
        let handle = open_handle(dir.path()).expect("open");
        let db = Db::new(RedbDb(handle.clone()));
        let tree = db.open_tree("t").expect("tree");
        (dir, handle, db, tree)
    }

    /// Every entry of `tree`, in key order.
    fn entries(tree: &aduan_kv::Tree) -> Vec<Entry> {
        tree.iter().map(|e| e.expect("entry")).collect()
    }

    #[test]
    fn redb_backend_conforms() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(dir.path()).expect("open");
        aduan_kv::conformance::all(&db);
    }

    #[test]
    fn what_was_written_is_there_after_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(dir.path()).expect("open");
        let tree = db.open_tree("t").expect("tree");
        tree.insert(b"k", b"v").expect("insert");
        drop((tree, db));
        let db = open(dir.path()).expect("reopen");
        let tree = db.open_tree("t").expect("tree");
        assert_eq!(tree.get(b"k").expect("get"), Some(b"v".to_vec()));
    }

    #[test]
    fn ranges_lay_uncommitted_changes_over_committed_entries() {
        let (_dir, handle, db, tree) = opened();
        for k in [b"a", b"c", b"e"] {
            tree.insert(k, b"old").expect("insert");
        }
        db.flush().expect("flush");
        // Hold the committer back, so the next changes stay in the overlay.
        let held = handle.shared.db.begin_write().expect("hold the writer");
        tree.insert(b"b", b"new").expect("insert");
        tree.insert(b"c", b"new").expect("overwrite");
        tree.remove(b"e").expect("remove");
        tree.insert(b"f", b"new").expect("insert");
        let want: Vec<Entry> = [("a", "old"), ("b", "new"), ("c", "new"), ("f", "new")]
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(entries(&tree), want);
        assert_eq!(tree.get(b"e").expect("get"), None);
        drop(held);
        db.flush().expect("flush");
        assert_eq!(entries(&tree), want, "the same once committed");
    }

    #[test]
    fn a_flush_returns_once_what_was_written_before_it_is_in_the_file() {
        let (_dir, handle, db, tree) = opened();
        let held = handle.shared.db.begin_write().expect("hold the writer");
        // The committer takes x, then waits for the writer; y waits after it.
        tree.insert(b"x", b"1").expect("insert");
        while !handle.shared.lock().in_progress {
            std::thread::sleep(Duration::from_millis(1));
        }
        tree.insert(b"y", b"2").expect("insert");
        let flushing = std::thread::spawn({
            let db = db.clone();
            move || db.flush()
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        flushing.join().expect("flush thread").expect("flush");
        let txn = handle.shared.db.begin_read().expect("read");
        let t = txn.open_table(Table::new("t")).expect("table");
        for k in [&b"x"[..], b"y"] {
            assert!(t.get(k).expect("get").is_some(), "{k:?} committed");
        }
    }

    #[test]
    fn when_writes_stop_the_last_commit_is_made_durable() {
        let (_dir, handle, db, tree) = opened();
        db.flush().expect("durable now");
        tree.insert(b"k", b"v").expect("insert");
        let deadline = Instant::now() + Duration::from_secs(1);
        while !handle.shared.lock().undurable {
            assert!(Instant::now() < deadline, "no commit that is not durable");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(DURABLE_EVERY + Duration::from_millis(500));
        assert!(
            !handle.shared.lock().undurable,
            "made durable after the writes stopped"
        );
    }

    /// Storage whose writes and syncs fail while `fail` is set.
    #[derive(Debug)]
    struct Failing {
        inner: redb::backends::InMemoryBackend,
        fail: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Failing {
        fn check(&self) -> std::io::Result<()> {
            match self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                true => Err(std::io::Error::other("injected: no space left")),
                false => Ok(()),
            }
        }
    }

    impl redb::StorageBackend for Failing {
        fn len(&self) -> std::io::Result<u64> {
            self.inner.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
            self.inner.read(offset, out)
        }
        fn set_len(&self, len: u64) -> std::io::Result<()> {
            self.check()?;
            self.inner.set_len(len)
        }
        fn sync_data(&self) -> std::io::Result<()> {
            self.check()?;
            self.inner.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
            self.check()?;
            self.inner.write(offset, data)
        }
    }

    #[test]
    fn a_failed_commit_is_kept_and_reported_by_every_later_write() {
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let storage = Failing {
            inner: redb::backends::InMemoryBackend::new(),
            fail: fail.clone(),
        };
        let redb = redb::Builder::new()
            .create_with_backend(storage)
            .expect("database");
        let db = Db::new(RedbDb(start(redb).expect("start")));
        let tree = db.open_tree("t").expect("tree");
        tree.insert(b"a", b"1").expect("insert");
        db.flush().expect("flush");
        fail.store(true, std::sync::atomic::Ordering::SeqCst);
        tree.insert(b"b", b"2")
            .expect("staged before its commit fails");
        let reported = db
            .flush()
            .expect_err("the failed commit is reported")
            .to_string();
        assert!(
            reported.contains("injected: no space left")
                && reported.matches("read-model storage failed").count() == 1,
            "the storage's reason, said once: {reported}"
        );
        assert!(tree.insert(b"c", b"3").is_err(), "and every write after it");
        fail.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(
            tree.insert(b"c", b"3").is_err(),
            "until the store is reopened"
        );
        assert!(db.flush().is_err());
    }

    #[test]
    fn read_models_sled_kept_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in ["conf", "db", "snap.0000000000123456", "mine.txt"] {
            std::fs::write(dir.path().join(f), b"x").expect("write");
        }
        std::fs::create_dir(dir.path().join("blobs")).expect("blobs");
        let db = open(dir.path()).expect("open");
        db.open_tree("t").expect("tree");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["mine.txt", FILE]);
    }
}
