//! A page of changes: `finish` turns every change plus the new checkpoint
//! into one atomic `aduan_kv::Batch`, so a crash leaves the read models
//! either before the page or after it.
//!
//! Records and day counts stay decoded while the page lasts and are encoded
//! once at finish, so a complaint with several events in a page costs one
//! decode and one encode, not one per event. They are all the fold reads
//! (with the totals, at the page's start): every other key is only written,
//! so the page lists those writes and sorts them once, at finish. The rule
//! set in force moves with the page: a publication folded in it takes effect
//! for the events after it, and is stored with the page's checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aduan_domain::ComplaintId;
use aduan_kv::{Batch, Tree};
use aduan_rules::RuleSet;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::record::{Counts, Record, Totals};
use crate::{keys, ProjectionError};

/// A complaint's record while a page folds it.
pub(crate) struct Held {
    /// The record (boxed: it moves in and out of the page with every event).
    pub rec: Box<Record>,
    /// Its inbox key as stored before this page, to remove when it moves.
    stored_inbox: Option<Vec<u8>>,
}

/// Pending changes over one tree.
pub(crate) struct Page<'a> {
    tree: &'a Tree,
    /// The previous page's changes while they are still being written (a
    /// rebuild writes one page while it folds the next): read before the tree.
    behind: Option<&'a Batch>,
    /// Writes in order (a later one to a key wins); never read back.
    dirty: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    records: HashMap<ComplaintId, Held>,
    counts: HashMap<Vec<u8>, Counts>,
    rules: Option<Arc<RuleSet>>,
    /// The source of a rule set published in this page, to store.
    published: Option<String>,
}

impl<'a> Page<'a> {
    /// A page over `tree` as it will be once `behind` (if any) is written to
    /// it, with `rules` in force at its start.
    pub fn new(tree: &'a Tree, behind: Option<&'a Batch>, rules: Option<Arc<RuleSet>>) -> Self {
        Self {
            tree,
            behind,
            dirty: Vec::new(),
            records: HashMap::new(),
            counts: HashMap::new(),
            rules,
            published: None,
        }
    }

    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ProjectionError> {
        // What the page itself writes is not read (see the module's doc).
        debug_assert!(
            matches!(key.first(), Some(b'c' | b'd' | b'g')),
            "a read of a key the page may have written"
        );
        if let Some(v) = self.behind.and_then(|b| b.changes.get(key)) {
            return Ok(v.clone());
        }
        Ok(self.tree.get(key)?)
    }

    pub fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, ProjectionError> {
        self.get_raw(key)?.map(|v| decode(key, &v)).transpose()
    }

    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.dirty.push((key, Some(value)));
    }

    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.put_raw(key, encode(value));
    }

    /// The rule set in force at this point of the page.
    pub fn rules(&self) -> Option<&RuleSet> {
        self.rules.as_deref()
    }

    /// Puts a published rule set in force for the rest of the page and after.
    pub fn publish(&mut self, source: String, rules: Arc<RuleSet>) {
        self.rules = Some(rules);
        self.published = Some(source);
    }

    /// Takes `id`'s record out of the page (None: it has none); give it back
    /// with [`Page::put_record`].
    pub fn take_record(&mut self, id: &ComplaintId) -> Result<Option<Held>, ProjectionError> {
        if let Some(held) = self.records.remove(id) {
            return Ok(Some(held));
        }
        let Some(rec) = self.get::<Record>(&keys::complaint(id))? else {
            return Ok(None);
        };
        let stored_inbox = inbox_key(&rec);
        Ok(Some(Held {
            rec: Box::new(rec),
            stored_inbox,
        }))
    }

    /// A record new in this page.
    pub fn new_record(rec: Record) -> Held {
        Held {
            rec: Box::new(rec),
            stored_inbox: None,
        }
    }

    pub fn put_record(&mut self, held: Held) {
        self.records.insert(held.rec.complaint.id, held);
    }

    /// Changes `key`'s day counts.
    pub fn count(
        &mut self,
        key: Vec<u8>,
        f: impl FnOnce(&mut Counts),
    ) -> Result<(), ProjectionError> {
        let counts = match self.counts.get_mut(&key) {
            Some(c) => c,
            None => {
                let stored = self.get(&key)?.unwrap_or_default();
                self.counts.entry(key).or_insert(stored)
            }
        };
        f(counts);
        Ok(())
    }

    /// Every change and `checkpoint` as one batch to write atomically, and the
    /// rule set published in the page, if any, in force after it.
    pub fn finish(mut self, checkpoint: u64, totals: &mut Totals) -> (Batch, Option<Arc<RuleSet>>) {
        for (key, counts) in std::mem::take(&mut self.counts) {
            self.put(key, &counts);
        }
        for held in std::mem::take(&mut self.records).into_values() {
            let inbox = inbox_key(&held.rec);
            if held.stored_inbox != inbox {
                totals.moved(held.stored_inbox.as_deref(), inbox.as_deref());
            }
            if let Some(old) = held.stored_inbox.filter(|old| Some(old) != inbox.as_ref()) {
                self.dirty.push((old, None));
            }
            if let Some(k) = inbox {
                self.put(k, &crate::query::InboxItem::of(&held.rec));
            }
            self.put(keys::complaint(&held.rec.complaint.id), &held.rec);
        }
        self.put(keys::TOTALS.to_vec(), totals);
        let published = self.published.take();
        if let Some(source) = &published {
            self.put(keys::RULES.to_vec(), source);
        }
        let mut batch = Batch {
            changes: last_writes(std::mem::take(&mut self.dirty)),
        };
        batch.insert(keys::CHECKPOINT, checkpoint.to_be_bytes());
        batch.insert(keys::FORMAT, keys::FORMAT_VERSION.to_be_bytes());
        (batch, published.and(self.rules))
    }
}

/// Writes in key order, the last write to each key kept.
pub(crate) fn last_writes<V>(mut writes: Vec<(Vec<u8>, V)>) -> BTreeMap<Vec<u8>, V> {
    // Stable: writes to one key stay in the order they were made.
    writes.sort_by(|a, b| a.0.cmp(&b.0));
    let mut kept: Vec<(Vec<u8>, V)> = Vec::with_capacity(writes.len());
    for (k, v) in writes {
        match kept.last_mut() {
            Some(last) if last.0 == k => last.1 = v,
            _ => kept.push((k, v)),
        }
    }
    kept.into_iter().collect()
}

/// The inbox key of a complaint: open and owned, else none.
fn inbox_key(rec: &Record) -> Option<Vec<u8>> {
    let c = &rec.complaint;
    match (&c.owner, rec.due_ms()) {
        (Some(org), Some(due)) if c.status.is_open() => Some(keys::inbox(org.as_str(), due, &c.id)),
        _ => None,
    }
}

/// Our own plain structs (strings, numbers, maps, unit enums) in postcard:
/// a compact binary form, a third of their JSON, which is what a rebuild
/// spends its time writing.
fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising them cannot fail: every type is sized and known to serde,
    // none has a custom serialiser that errs.
    postcard::to_stdvec(value).unwrap_or_default()
}

/// Parses a stored value.
pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], v: &[u8]) -> Result<T, ProjectionError> {
    postcard::from_bytes(v).map_err(|e| ProjectionError::corrupt(key, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_write_to_a_key_in_a_page_wins() {
        let db = aduan_kv::Db::memory();
        let tree = db.open_tree("t").expect("tree");
        let mut page = Page::new(&tree, None, None);
        for (k, v) in [("p1", "a"), ("p2", "b"), ("p1", "c")] {
            page.put_raw(k.into(), v.into());
        }
        let (batch, _) = page.finish(1, &mut Totals::default());
        let get = |k: &str| batch.changes[k.as_bytes()].clone();
        assert_eq!((get("p1"), get("p2")), (Some("c".into()), Some("b".into())));
    }
}
