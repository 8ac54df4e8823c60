//! aduan-kv's sled backend: each [`aduan_kv::Tree`] is a sled tree, each
//! [`aduan_kv::Batch`] a `sled::Batch` (atomic per tree). It holds only state
//! derived from the log, so it uses sled's own flush without `fdatasync`: what
//! a power loss takes is rebuilt from the log.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use aduan_kv::{Batch, Db, DbBackend, Iter, KvError, TreeBackend};

/// Opens (or creates) a sled database in `path` as an [`aduan_kv::Db`].
pub fn open(path: &Path) -> Result<Db, KvError> {
    let db = sled::open(path).map_err(storage)?;
    Ok(Db::new(SledDb(db)))
}

fn storage(e: sled::Error) -> KvError {
    KvError::Storage(Box::new(e))
}

struct SledDb(sled::Db);

struct SledTree(sled::Tree);

impl DbBackend for SledDb {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn TreeBackend>, KvError> {
        let tree = self.0.open_tree(name).map_err(storage)?;
        Ok(Arc::new(SledTree(tree)))
    }

    fn drop_tree(&self, name: &str) -> Result<(), KvError> {
        self.0.drop_tree(name).map_err(storage).map(drop)
    }

    fn flush(&self) -> Result<(), KvError> {
        self.0.flush().map_err(storage).map(drop)
    }
}

impl TreeBackend for SledTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.0.get(key).map_err(storage)?.map(|v| v.to_vec()))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), KvError> {
        self.0.insert(key, value).map_err(storage).map(drop)
    }

    fn remove(&self, key: &[u8]) -> Result<(), KvError> {
        self.0.remove(key).map_err(storage).map(drop)
    }

    fn apply(&self, batch: &Batch) -> Result<(), KvError> {
        let mut b = sled::Batch::default();
        for (k, v) in &batch.changes {
            match v {
                Some(v) => b.insert(k.as_slice(), v.as_slice()),
                None => b.remove(k.as_slice()),
            }
        }
        self.0.apply_batch(b).map_err(storage)
    }

    fn range(&self, from: Bound<Vec<u8>>, to: Bound<Vec<u8>>) -> Iter<'_> {
        if aduan_kv::is_empty_range(&from, &to) {
            return Box::new(std::iter::empty());
        }
        let it = self.0.range::<Vec<u8>, _>((from, to));
        Box::new(it.map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(storage)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sled_backend_conforms() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = super::open(dir.path()).expect("open");
        aduan_kv::conformance::all(&db);
    }
}
