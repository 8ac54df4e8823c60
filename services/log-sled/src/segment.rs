//! A segment: the records of one commit stored under one key.
//!
//! sled copies a leaf node on every insert, so a commit of N records as N keys
//! costs N leaf copies; one key per commit (capped in size) costs one. Layout:
//! `count: u32 ‖ end offset of each record: u32 × count ‖ records`. The records
//! keep their own hashes, so a damaged header shows up as a failed record; what
//! the records' hashes do not cover (an empty segment, ends out of order, bytes
//! after the last record) is found by [`check`]. A segment's bytes are exactly
//! what was written: anything more is damage.

/// A segment grows until it holds about this many bytes.
pub const TARGET_BYTES: usize = 64 * 1024;

/// No segment holds more than one record past this many stored bytes: a
/// record that would take a segment past it starts a segment of its own (see
/// [`Builder::close_before_last`]). A single record can still be larger (up to
/// `MAX_PAYLOAD` and its names); the store then keeps it in parts of at most
/// this size (see `store::put_segment`), so that no value sled holds comes near
/// its blob threshold.
pub const MAX_VALUE: usize = 160 * 1024;

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
    /// Bytes [`Builder::finish`] would return.
    pub fn stored_len(&self) -> usize {
        4 + 4 * self.ends.len() + self.data.len()
    }
    /// When the last record pushed took a segment of several records past
    /// [`MAX_VALUE`], closes the records before it: returns them as a segment
    /// of their own and keeps only the last record (which then starts this
    /// segment). A segment is closed once it reaches [`TARGET_BYTES`], so the
    /// records before the last always fit.
    pub fn close_before_last(&mut self) -> Option<Builder> {
        let n = self.ends.len();
        if n < 2 || self.stored_len() <= MAX_VALUE {
            return None;
        }
        let start = self.ends[n - 2] as usize;
        let last = self.data.split_off(start);
        let before = Builder {
            first: self.first,
            ends: self.ends[..n - 1].to_vec(),
            data: std::mem::replace(&mut self.data, last),
        };
        self.first += (n - 1) as u64;
        self.ends = vec![self.data.len() as u32];
        Some(before)
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

/// What is wrong with the layout of a stored segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The header is cut short, or counts no record (no segment is written empty).
    Header,
    /// Record `index` ends before the previous one.
    Disordered {
        /// The record (0-based within the segment).
        index: usize,
    },
    /// The data ends before the last record the header describes.
    Truncated {
        /// Bytes missing.
        missing: usize,
    },
    /// Bytes follow the last record.
    Trailing {
        /// Bytes after the last record.
        extra: usize,
    },
}

impl Damage {
    /// The record the damage is reported at (0-based), in a segment of `n` records.
    pub fn index(&self, n: usize) -> usize {
        match self {
            Self::Header => 0,
            Self::Disordered { index } => *index,
            Self::Truncated { .. } | Self::Trailing { .. } => n.saturating_sub(1),
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Header => write!(f, "segment header is unreadable or counts no record"),
            Self::Disordered { index } => {
                write!(f, "segment header ends record {index} before it starts")
            }
            Self::Truncated { missing } => {
                write!(
                    f,
                    "segment data is {missing} bytes short of its last record"
                )
            }
            Self::Trailing { extra } => {
                write!(f, "segment has {extra} bytes after its last record")
            }
        }
    }
}

/// Checks a stored segment's layout: a readable header counting at least one
/// record, ends in order, and data that ends exactly where the last record
/// does. Returns the number of records. Records' own contents are checked by
/// decoding them.
pub fn check(seg: &[u8]) -> Result<usize, Damage> {
    let n = count(seg);
    if n == 0 {
        return Err(Damage::Header);
    }
    let ends = seg[4..4 + 4 * n]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let mut start = 0;
    for (index, end) in ends.enumerate() {
        if end < start {
            return Err(Damage::Disordered { index });
        }
        start = end;
    }
    let data = seg.len() - (4 + 4 * n);
    match start.cmp(&data) {
        std::cmp::Ordering::Equal => Ok(n),
        std::cmp::Ordering::Greater => Err(Damage::Truncated {
            missing: start - data,
        }),
        std::cmp::Ordering::Less => Err(Damage::Trailing {
            extra: data - start,
        }),
    }
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
    fn check_names_what_is_wrong_with_a_layout() {
        let mut b = Builder::new(1);
        for r in [&b"one"[..], b"", b"three"] {
            b.push(r);
        }
        let seg = b.finish();
        assert_eq!(check(&seg), Ok(3));
        let mut trailing = seg.clone();
        trailing.extend_from_slice(b"xy");
        assert_eq!(check(&trailing), Err(Damage::Trailing { extra: 2 }));
        assert_eq!(
            check(&seg[..seg.len() - 1]),
            Err(Damage::Truncated { missing: 1 })
        );
        assert_eq!(check(&Builder::new(1).finish()), Err(Damage::Header));
        // Ends 3, 3, 8: record 1 made to end at 2, before record 0's end.
        let mut disordered = seg.clone();
        disordered[8..12].copy_from_slice(&2u32.to_be_bytes());
        assert_eq!(check(&disordered), Err(Damage::Disordered { index: 1 }));
        assert_eq!(Damage::Trailing { extra: 2 }.index(3), 2);
        assert_eq!(Damage::Disordered { index: 1 }.index(3), 1);
    }

    #[test]
    fn a_record_that_would_overfill_a_segment_starts_the_next() {
        let mut b = Builder::new(7);
        b.push(b"small");
        b.push(b"also small");
        assert!(b.close_before_last().is_none());
        b.push(&vec![9; MAX_VALUE]);
        let before = b.close_before_last().expect("closed before the big one");
        assert_eq!((before.first(), b.first()), (7, 9));
        let before = before.finish();
        assert_eq!(
            records(&before).collect::<Vec<_>>(),
            vec![&b"small"[..], b"also small"]
        );
        assert!(b.close_before_last().is_none(), "one record stays");
        let big = b.finish();
        assert_eq!(check(&big), Ok(1));
        assert_eq!(record(&big, 0), Some(&vec![9; MAX_VALUE][..]));
    }

    #[test]
    fn garbage_headers_describe_no_record() {
        // (segment, what its header counts, what check finds)
        let cases: [(&[u8], usize, Damage); 5] = [
            (&[], 0, Damage::Header),
            (&[0, 0, 0], 0, Damage::Header),
            // Nine records counted, no room for their ends.
            (&[0, 0, 0, 9], 0, Damage::Header),
            (&[255; 7], 0, Damage::Header),
            // One record ending at byte 50 of one byte of data.
            (
                &[0, 0, 0, 1, 0, 0, 0, 50, 1],
                1,
                Damage::Truncated { missing: 49 },
            ),
        ];
        for (seg, n, damage) in cases {
            assert_eq!(count(seg), n, "{seg:?}");
            assert_eq!(records(seg).count(), 0, "{seg:?}");
            assert_eq!(record(seg, 0), None, "{seg:?}");
            assert_eq!(check(seg), Err(damage), "{seg:?}");
        }
    }

    #[test]
    fn a_record_out_of_order_ends_the_records() {
        // Ends 2, 1, 3: record 1 would end before it starts.
        let seg = [0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 7, 8, 9];
        assert_eq!(record(&seg, 0), Some(&[7, 8][..]));
        assert_eq!(record(&seg, 1), None);
        // Each record starts where the previous one's end says.
        assert_eq!(record(&seg, 2), Some(&[8, 9][..]));
        assert_eq!(records(&seg).collect::<Vec<_>>(), vec![&[7, 8][..]]);
        assert_eq!(check(&seg), Err(Damage::Disordered { index: 1 }));
    }
}
