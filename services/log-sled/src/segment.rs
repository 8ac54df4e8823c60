//! A segment: the records of one commit stored under one key.
//!
//! sled copies a leaf node on every insert, so a commit of N records as N keys
//! costs N leaf copies; one key per commit (capped in size) costs one. Layout:
//! `count: u32 ‖ end offset of each record: u32 × count ‖ records`. The records
//! keep their own hashes, so a damaged header shows up as a failed record.

/// A segment grows until it holds about this many bytes.
pub const TARGET_BYTES: usize = 64 * 1024;

/// Collects the records of one segment.
#[derive(Debug, Default)]
pub struct Builder {
    first: u64,
    ends: Vec<u32>,
    data: Vec<u8>,
}

impl Builder {
    /// An empty segment whose first record will have `first` as its position.
    pub fn new(first: u64) -> Self {
        Self {
            first,
            ends: Vec::new(),
            data: Vec::with_capacity(TARGET_BYTES + 4096),
        }
    }
    /// Position of the first record.
    pub fn first(&self) -> u64 {
        self.first
    }
    /// True when no record was added.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// True when the segment should be closed.
    pub fn is_full(&self) -> bool {
        self.data.len() >= TARGET_BYTES
    }
    /// Adds the next record.
    pub fn push(&mut self, record: &[u8]) {
        self.push_with(|data| data.extend_from_slice(record));
    }
    /// Adds the next record, written by `write` at the end of the segment's data.
    pub fn push_with<T>(&mut self, write: impl FnOnce(&mut Vec<u8>) -> T) -> T {
        let written = write(&mut self.data);
        self.ends.push(self.data.len() as u32);
        written
    }
    /// The stored bytes.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 * self.ends.len() + self.data.len());
        out.extend_from_slice(&(self.ends.len() as u32).to_be_bytes());
        for e in &self.ends {
            out.extend_from_slice(&e.to_be_bytes());
        }
        out.extend_from_slice(&self.data);
        out
    }
}

/// Number of records in a stored segment (0 when its header is unreadable).
pub fn count(seg: &[u8]) -> usize {
    let Some(n) = seg.get(..4) else { return 0 };
    let n = u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize;
    if seg.len() < 4 + 4 * n {
        0
    } else {
        n
    }
}

/// The bytes of record `i`, or `None` when the header does not describe it.
pub fn record(seg: &[u8], i: usize) -> Option<&[u8]> {
    let n = count(seg);
    if i >= n {
        return None;
    }
    let end_at = |j: usize| -> usize {
        let b = &seg[4 + 4 * j..8 + 4 * j];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
    };
    let base = 4 + 4 * n;
    let start = if i == 0 { 0 } else { end_at(i - 1) };
    let end = end_at(i);
    if start > end {
        return None;
    }
    seg.get(base + start..base + end)
}

/// Every record of a stored segment, in order; stops at the first the header
/// does not describe.
pub fn records(seg: &[u8]) -> impl Iterator<Item = &[u8]> {
    (0..count(seg)).map_while(move |i| record(seg, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order() {
        let mut b = Builder::new(10);
        for r in [&b"one"[..], b"", b"three"] {
            b.push(r);
        }
        let seg = b.finish();
        assert_eq!(count(&seg), 3);
        assert_eq!(
            records(&seg).collect::<Vec<_>>(),
            vec![&b"one"[..], b"", b"three"]
        );
        assert_eq!(record(&seg, 3), None);
    }

    #[test]
    fn garbage_headers_do_not_panic() {
        for seg in [
            &[][..],
            &[0, 0, 0, 9][..],
            &[0, 0, 0, 1, 0, 0, 0, 50, 1][..],
            &[255; 7][..],
        ] {
            let _ = records(seg).count();
            let _ = record(seg, 0);
        }
    }
}
