//! Checks every [`Db`] backend must pass; a backend's tests call [`all`].

use crate::{Batch, Db};

fn keys(it: crate::Iter<'_>) -> Vec<Vec<u8>> {
    it.map(|e| e.expect("entry").0).collect()
}

/// Runs every check on `db`, which must be empty.
pub fn all(db: &Db) {
    point_reads_and_writes(db);
    ranges_and_prefixes(db);
    batches_and_dropped_trees(db);
}

/// Single-key writes are read back; trees are separate.
pub fn point_reads_and_writes(db: &Db) {
    let a = db.open_tree("a").expect("a");
    let b = db.open_tree("b").expect("b");
    a.insert(b"k", b"1").expect("insert");
    assert_eq!(a.get(b"k").expect("get"), Some(b"1".to_vec()));
    assert_eq!(b.get(b"k").expect("get b"), None, "trees are separate");
    a.insert(b"k", b"2").expect("overwrite");
    assert_eq!(a.get(b"k").expect("get"), Some(b"2".to_vec()));
    a.remove(b"k").expect("remove");
    assert_eq!(a.get(b"k").expect("get"), None);
    let again = db.open_tree("a").expect("a again");
    a.insert(b"shared", b"x").expect("insert");
    assert_eq!(again.get(b"shared").expect("get"), Some(b"x".to_vec()));
}

/// Ranges and prefixes come back in key order with their bounds respected.
pub fn ranges_and_prefixes(db: &Db) {
    let t = db.open_tree("r").expect("r");
    for k in [&b"a1"[..], b"a2", b"a\xff", b"b", b"b0", b"\xff\xff"] {
        t.insert(k, k).expect("insert");
    }
    assert_eq!(
        keys(t.scan_prefix(b"a")),
        vec![b"a1".to_vec(), b"a2".to_vec(), b"a\xff".to_vec()]
    );
    assert_eq!(keys(t.scan_prefix(b"\xff")), vec![b"\xff\xff".to_vec()]);
    assert_eq!(keys(t.range(&b"a2"[..]..&b"b0"[..])).len(), 3);
    assert_eq!(keys(t.range(&b"a2"[..]..=&b"b0"[..])).len(), 4);
    assert!(
        keys(t.range(&b"z"[..]..&b"a"[..])).is_empty(),
        "reversed range"
    );
    assert_eq!(keys(t.iter()).len(), 6);
}

/// A batch applies all its changes; a dropped tree comes back empty.
pub fn batches_and_dropped_trees(db: &Db) {
    let t = db.open_tree("batch").expect("batch");
    t.insert(b"gone", b"1").expect("insert");
    let mut batch = Batch::default();
    batch.insert(b"x".to_vec(), b"1".to_vec());
    batch.insert(b"y".to_vec(), b"2".to_vec());
    batch.remove(b"gone".to_vec());
    t.apply(&batch).expect("apply");
    assert_eq!(keys(t.iter()), vec![b"x".to_vec(), b"y".to_vec()]);
    db.flush().expect("flush");
    db.drop_tree("batch").expect("drop");
    let fresh = db.open_tree("batch").expect("reopen");
    assert!(keys(fresh.iter()).is_empty(), "a dropped tree is empty");
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_backend_conforms() {
        super::all(&crate::Db::memory());
    }
}
