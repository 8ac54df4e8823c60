//! Walking the hash chain, written once over any [`EventLog`].

use std::collections::HashSet;

use crate::{record::GENESIS, EventLog, LogError, ReadAhead};

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
        let Some(page) = reads.next().await? else {
            return Err(missing(next));
        };
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

fn missing(position: u64) -> LogError {
    LogError::Corrupt {
        position,
        reason: "record is missing".to_owned(),
    }
}
