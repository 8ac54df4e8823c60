//! A page of changes: reads see the page's own writes, and `commit` writes
//! every change plus the new checkpoint in one atomic `sled::Batch`, so a
//! crash leaves the read models either before the page or after it.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::keys;
use crate::ProjectionError;

/// Pending changes over one tree.
pub(crate) struct Page<'a> {
    tree: &'a sled::Tree,
    dirty: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> Page<'a> {
    pub fn new(tree: &'a sled::Tree) -> Self {
        Self {
            tree,
            dirty: BTreeMap::new(),
        }
    }

    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ProjectionError> {
        if let Some(v) = self.dirty.get(key) {
            return Ok(v.clone());
        }
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    pub fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, ProjectionError> {
        self.get_raw(key)?.map(|v| decode(key, &v)).transpose()
    }

    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.dirty.insert(key, Some(value));
    }

    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        // Serialising our own plain structs (strings, numbers, BTreeMaps) cannot fail.
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        self.put_raw(key, bytes);
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.dirty.insert(key, None);
    }

    /// Writes every change and `checkpoint` atomically.
    pub fn commit(self, checkpoint: u64) -> Result<(), ProjectionError> {
        let mut batch = sled::Batch::default();
        for (k, v) in self.dirty {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        batch.insert(keys::CHECKPOINT, &checkpoint.to_be_bytes());
        self.tree.apply_batch(batch)?;
        Ok(())
    }
}

/// Parses a stored JSON value.
pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], v: &[u8]) -> Result<T, ProjectionError> {
    serde_json::from_slice(v).map_err(|e| ProjectionError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}
