//! Ordered key-value trees for what the services derive from the log: read
//! models, indexes, checkpoints and deadlines. Everything stored here can be
//! deleted and rebuilt from the log.
//!
//! A [`Db`] holds named [`Tree`]s; a tree maps byte keys to byte values in key
//! order, and applies a [`Batch`] atomically. Backends implement
//! [`DbBackend`] and [`TreeBackend`]: [`Db::memory`] here (for tests and as the
//! reference), and sled in `aduan-kv-redb`. This crate does not know the log,
//! the domain, or any storage engine.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

/// One stored key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The storage engine failed (disk full, read-only, I/O error).
    #[error("read-model storage failed: {0}")]
    Storage(Box<dyn std::error::Error + Send + Sync>),
}

/// Result of a store operation.
pub type Result<T> = std::result::Result<T, KvError>;

/// An iterator over stored entries in key order.
pub type Iter<'a> = Box<dyn Iterator<Item = Result<Entry>> + Send + 'a>;

/// A set of changes to one tree, applied all or nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Key → new value, or `None` to remove it; later changes to a key win.
    pub changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Batch {
    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.changes.insert(key.into(), Some(value.into()));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.changes.insert(key.into(), None);
    }

    /// True when the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// What a storage engine provides for one tree.
pub trait TreeBackend: Send + Sync + 'static {
    /// The value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Sets one key (atomic on its own).
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Removes one key.
    fn remove(&self, key: &[u8]) -> Result<()>;
    /// Applies every change of `batch` atomically.
    fn apply(&self, batch: &Batch) -> Result<()>;
    /// The entries whose keys lie within the bounds, in key order.
    fn range(&self, from: Bound<Vec<u8>>, to: Bound<Vec<u8>>) -> Iter<'_>;
}

/// What a storage engine provides for a database of trees.
pub trait DbBackend: Send + Sync + 'static {
    /// Opens (or creates) the tree `name`.
    fn open_tree(&self, name: &str) -> Result<Arc<dyn TreeBackend>>;
    /// Removes the tree `name` and everything in it.
    fn drop_tree(&self, name: &str) -> Result<()>;
    /// Makes every change so far durable.
    fn flush(&self) -> Result<()>;
}

/// A database of named trees; cheap to clone.
#[derive(Clone)]
pub struct Db(Arc<dyn DbBackend>);

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// A database over `backend`.
    pub fn new(backend: impl DbBackend) -> Self {
        Self(Arc::new(backend))
    }

    /// An empty database in memory: for tests, and what every backend must behave like.
    pub fn memory() -> Self {
        Self::new(MemoryDb::default())
    }

    /// Opens (or creates) the tree `name`.
    pub fn open_tree(&self, name: &str) -> Result<Tree> {
        self.0.open_tree(name).map(Tree)
    }

    /// Removes the tree `name` and everything in it.
    pub fn drop_tree(&self, name: &str) -> Result<()> {
        self.0.drop_tree(name)
    }

    /// Makes every change so far durable.
    pub fn flush(&self) -> Result<()> {
        self.0.flush()
    }
}

/// An ordered map of byte keys to byte values; cheap to clone.
#[derive(Clone)]
pub struct Tree(Arc<dyn TreeBackend>);

impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tree")
    }
}

impl Tree {
    /// The value of `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.0.get(key.as_ref())
    }

    /// Sets one key.
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        self.0.insert(key.as_ref(), value.as_ref())
    }

    /// Removes one key.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.0.remove(key.as_ref())
    }

    /// Applies every change of `batch` atomically.
    pub fn apply(&self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.0.apply(batch)
    }

    /// Entries with keys in `range`, in key order.
    pub fn range<K: AsRef<[u8]>>(&self, range: impl std::ops::RangeBounds<K>) -> Iter<'_> {
        let own = |b: Bound<&K>| match b {
            Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
            Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        self.0
            .range(own(range.start_bound()), own(range.end_bound()))
    }

    /// Entries whose keys start with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter<'_> {
        let prefix = prefix.as_ref().to_vec();
        let end = match prefix_end(&prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        self.0.range(Bound::Included(prefix), end)
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> Iter<'_> {
        self.0.range(Bound::Unbounded, Bound::Unbounded)
    }
}

/// The smallest key greater than every key that starts with `prefix` (None: no such key).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// The in-memory backend.
#[derive(Default)]
struct MemoryDb {
    // A std Mutex: never held across an await.
    trees: Mutex<BTreeMap<String, Arc<MemoryTree>>>,
}

#[derive(Default)]
struct MemoryTree {
    map: Mutex<Map>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl DbBackend for MemoryDb {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn TreeBackend>> {
        let tree = lock(&self.trees)
            .entry(name.to_owned())
            .or_default()
            .clone();
        Ok(tree)
    }

    fn drop_tree(&self, name: &str) -> Result<()> {
        // Handles already open keep working on the dropped tree, as with sled.
        lock(&self.trees).remove(name);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

impl TreeBackend for MemoryTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(lock(&self.map).get(key).cloned())
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        lock(&self.map).insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> Result<()> {
        lock(&self.map).remove(key);
        Ok(())
    }

    fn apply(&self, batch: &Batch) -> Result<()> {
        let mut map = lock(&self.map);
        for (k, v) in &batch.changes {
            match v {
                Some(v) => map.insert(k.clone(), v.clone()),
                None => map.remove(k),
            };
        }
        Ok(())
    }

    fn range(&self, from: Bound<Vec<u8>>, to: Bound<Vec<u8>>) -> Iter<'_> {
        if is_empty_range(&from, &to) {
            return Box::new(std::iter::empty());
        }
        // A snapshot: later writes do not disturb an iteration in progress.
        let entries: Vec<Entry> = lock(&self.map)
            .range((from, to))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Box::new(entries.into_iter().map(Ok))
    }
}

/// True when no key can lie within the bounds (BTreeMap's and sled's `range` panic on some).
pub fn is_empty_range(from: &Bound<Vec<u8>>, to: &Bound<Vec<u8>>) -> bool {
    match (from, to) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

pub mod conformance;
