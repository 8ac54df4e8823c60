//! Walking the hash chain, written once over any [`EventLog`].

use std::collections::{HashSet, VecDeque};

use tokio::task::JoinHandle;

use crate::{record::GENESIS, EventLog, LogError, RecordedEvent};

/// What an intact range holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Distinct streams among them.
    pub streams: u64,
    /// First position checked (0 when the range was empty).
    pub first_position: u64,
    /// Last position checked (0 when the range was empty).
    pub last_position: u64,
    /// Hash of the last event checked: anchor it outside the system.
    pub head_hash: [u8; 32],
}

/// Called every few thousand events with the position reached.
pub type VerifyProgress<'a> = &'a mut dyn FnMut(u64);

/// Checks every record from `from` to `to` (inclusive, 1-based; `to = None`
/// means the durable head): each record's own hash, contiguous positions, and
/// that each `prev_hash` equals the previous record's hash. Fails with
/// `LogError::Corrupt` naming the first position that does not match.
pub async fn verify<L: EventLog + Clone>(
    log: &L,
    from: u64,
    to: Option<u64>,
    progress: VerifyProgress<'_>,
) -> Result<VerifyReport, LogError> {
    let from = from.max(1);
    let head = *log.head().borrow();
    let to = to.unwrap_or(head).min(head);
    let mut prev = if from == 1 {
        GENESIS
    } else {
        match log.read_all(from - 1, 1).await?.pop() {
            Some(e) => e.hash,
            None => return Err(missing(from - 1)),
        }
    };
    let mut streams = Streams::new(from);
    let mut report = VerifyReport {
        events: 0,
        streams: 0,
        first_position: 0,
        last_position: 0,
        head_hash: prev,
    };
    let mut reads = ReadAhead::new(log, from, to);
    let mut next = from;
    while next <= to {
        let page = reads.next().await?;
        if page.is_empty() {
            return Err(missing(next));
        }
        for e in page {
            if e.position != next {
                return Err(missing(next));
            }
            if e.prev_hash != prev {
                return Err(LogError::Corrupt {
                    position: next,
                    reason: "hash chain broken: prev_hash differs from the previous record's hash"
                        .to_owned(),
                });
            }
            prev = e.hash;
            next += 1;
            streams.saw(e.stream_id, e.stream_version);
        }
        progress(next - 1);
    }
    if next > from {
        report.events = next - from;
        report.streams = streams.count();
        report.first_position = from;
        report.last_position = next - 1;
        report.head_hash = prev;
    }
    Ok(report)
}

/// The position of the record whose hash is `anchor` (None: no record has it).
///
/// A head hash written down earlier ("anchored" outside the system) must
/// still be in the chain: if history before it was rewritten and re-hashed,
/// or the log was cut short before it, `verify` alone passes but this finds
/// nothing.
pub async fn position_of_hash<L: EventLog>(
    log: &L,
    anchor: &[u8; 32],
) -> Result<Option<u64>, LogError> {
    let head = *log.head().borrow();
    let mut next = 1;
    while next <= head {
        let page = log.read_all(next, 4096).await?;
        let Some(last) = page.last().map(|e| e.position) else {
            return Err(missing(next));
        };
        if let Some(e) = page.iter().find(|e| &e.hash == anchor) {
            return Ok(Some(e.position));
        }
        next = last + 1;
    }
    Ok(None)
}

/// Counts the distinct streams of a range. From the first position every
/// stream's first event is its version 1 (versions are 1-based and
/// assigned in log order, and each record's hash covers its version), so
/// counting those needs no set; a range starting later keeps the ids.
enum Streams {
    FromStart(u64),
    Seen(HashSet<String>),
}

impl Streams {
    fn new(from: u64) -> Self {
        if from == 1 {
            Self::FromStart(0)
        } else {
            Self::Seen(HashSet::new())
        }
    }

    fn saw(&mut self, stream: String, version: u64) {
        match self {
            Self::FromStart(n) => *n += u64::from(version == 1),
            Self::Seen(set) => {
                set.insert(stream);
            }
        }
    }

    fn count(&self) -> u64 {
        match self {
            Self::FromStart(n) => *n,
            Self::Seen(set) => set.len() as u64,
        }
    }
}

/// Pages of a range read by up to [`READ_AHEAD`] tasks at once, handed out in
/// order: reading a record checks its hash, which is most of verify's work,
/// so on several cores the pages after the one being chained are read
/// meanwhile.
struct ReadAhead<L> {
    log: L,
    /// First position not yet asked for.
    ahead: u64,
    to: u64,
    reads: VecDeque<Read>,
}

/// A read in flight: first position and events asked for, and the task.
type Read = (u64, u64, JoinHandle<Result<Vec<RecordedEvent>, LogError>>);

/// Events per page read.
const PAGE: u64 = 4096;
/// Pages read at once.
const READ_AHEAD: usize = 2;

impl<L: EventLog + Clone> ReadAhead<L> {
    fn new(log: &L, from: u64, to: u64) -> Self {
        Self {
            log: log.clone(),
            ahead: from,
            to,
            reads: VecDeque::new(),
        }
    }

    /// The next page (empty past `to`, or where the log has nothing).
    async fn next(&mut self) -> Result<Vec<RecordedEvent>, LogError> {
        while self.reads.len() < READ_AHEAD && self.ahead <= self.to {
            let (log, start) = (self.log.clone(), self.ahead);
            let want = (self.to - start + 1).min(PAGE);
            self.ahead += want;
            let read = tokio::spawn(async move { log.read_all(start, want as usize).await });
            self.reads.push_back((start, want, read));
        }
        let Some((start, want, read)) = self.reads.pop_front() else {
            return Ok(Vec::new());
        };
        let page = read.await.map_err(LogError::storage)??;
        let got = page.len() as u64;
        if got > 0 && got < want {
            // A backend may answer with fewer than asked for: the reads
            // after this one started too far on; ask again from here.
            self.abort();
            self.ahead = start + got;
        }
        Ok(page)
    }
}

impl<L> ReadAhead<L> {
    fn abort(&mut self) {
        for (_, _, read) in self.reads.drain(..) {
            read.abort();
        }
    }
}

impl<L> Drop for ReadAhead<L> {
    fn drop(&mut self) {
        self.abort();
    }
}

fn missing(position: u64) -> LogError {
    LogError::Corrupt {
        position,
        reason: "record is missing".to_owned(),
    }
}
