//! What one process knows of the shared log: the head it has applied, the
//! head's hash and the stream index, all rebuilt from the JetStream stream.
//!
//! Records reach it from two sides, the writer (its own commits, and the
//! catch-up after a fence failure) and the follower (everyone's commits, in
//! order); [`Shared::apply`] takes each position once, in order, whoever
//! brings it first, and checks it continues the chain.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use aduan_log::record::{self, GENESIS, HASH_LEN};
use aduan_log::{LogError, RecordedEvent};
use bytes::Bytes;
use tokio::sync::watch;

/// The applied state, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The last applied position (0 when empty); equal to its stream sequence.
    pub head: u64,
    /// Hash of the record at `head` (zeros when empty).
    pub last_hash: [u8; HASH_LEN],
    /// Stream id → positions of its events in version order.
    pub streams: HashMap<String, Vec<u64>>,
    /// The newest records as stored, ending at `head`, within the cache budget.
    pub recent: VecDeque<Bytes>,
    /// Bytes held in `recent`.
    pub recent_bytes: usize,
    /// Set when the stream holds a record that does not continue the chain:
    /// nothing more is applied or appended (reads still report it).
    pub broken: Option<(u64, String)>,
}

impl State {
    /// The current version of `stream`.
    pub fn version(&self, stream: &str) -> u64 {
        self.streams.get(stream).map_or(0, |p| p.len() as u64)
    }

    /// The stored bytes of `position` when it is among the newest records kept here.
    pub fn cached(&self, position: u64) -> Option<Bytes> {
        let first = self.head + 1 - self.recent.len() as u64;
        let at = position.checked_sub(first)?;
        self.recent.get(usize::try_from(at).ok()?).cloned()
    }

    /// The error every write gets once the stream is broken.
    pub fn check_intact(&self) -> Result<(), LogError> {
        match &self.broken {
            None => Ok(()),
            Some((position, reason)) => Err(LogError::Corrupt {
                position: *position,
                reason: reason.clone(),
            }),
        }
    }
}

/// The state shared by the handle, the writer and the follower.
#[derive(Debug)]
pub(crate) struct Shared {
    // A std Mutex: no .await happens while it is held.
    state: Mutex<State>,
    head: watch::Sender<u64>,
    /// Most bytes of recent records kept for reads.
    cache_bytes: usize,
    /// Batches whose answer was lost and had to be looked for.
    pub in_doubt: std::sync::atomic::AtomicU64,
}

impl Shared {
    pub fn new(cache_bytes: usize) -> Self {
        let (head, _) = watch::channel(0);
        Self {
            state: Mutex::new(State {
                last_hash: GENESIS,
                ..State::default()
            }),
            head,
            cache_bytes,
            in_doubt: Default::default(),
        }
    }

    /// The state; a panic under the lock happens before any change (checks come first).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A receiver of the applied head.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// Applies the record stored at stream sequence `seq`: skipped when
    /// already applied, left for later when it skips ahead (a reader that
    /// missed some), refused (and the log marked broken) when it does not
    /// decode, claims another position, or breaks the hash chain or its
    /// stream's versions.
    pub fn apply(&self, seq: u64, bytes: &Bytes) -> Result<Applied, LogError> {
        let mut state = self.lock();
        state.check_intact()?;
        if seq <= state.head {
            return Ok(Applied::Already);
        }
        if seq > state.head + 1 {
            return Ok(Applied::Gap);
        }
        let e = match record::decode(seq, bytes).and_then(|e| continues(&state, e)) {
            Ok(e) => e,
            Err(err) => {
                if let LogError::Corrupt { position, reason } = &err {
                    tracing::error!(position, %reason, "the JetStream log is broken");
                    state.broken = Some((*position, reason.clone()));
                    // Wakes whoever waits on the head, to see the log broken.
                    self.head.send_replace(state.head);
                }
                return Err(err);
            }
        };
        state.head = seq;
        state.last_hash = e.hash;
        state.streams.entry(e.stream_id).or_default().push(seq);
        state.recent.push_back(bytes.clone());
        state.recent_bytes += bytes.len();
        while state.recent_bytes > self.cache_bytes {
            match state.recent.pop_front() {
                Some(old) => state.recent_bytes -= old.len(),
                None => break,
            }
        }
        // Sent under the lock, so two appliers never publish heads out of order.
        self.head.send_replace(seq);
        Ok(Applied::Now)
    }
}

/// What [`Shared::apply`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// It is the new head.
    Now,
    /// It was applied before.
    Already,
    /// Records before it are missing here; nothing was applied.
    Gap,
}

/// `e` if it continues the chain and its stream after `state`'s head.
fn continues(state: &State, e: RecordedEvent) -> Result<RecordedEvent, LogError> {
    let version = state.version(&e.stream_id);
    let reason = if e.prev_hash != state.last_hash {
        "hash chain broken: prev_hash differs from the previous record's hash".to_owned()
    } else if e.stream_version != version + 1 {
        let (s, v) = (&e.stream_id, e.stream_version);
        format!("{s} version {v} follows version {version}")
    } else {
        return Ok(e);
    };
    Err(LogError::Corrupt {
        position: e.position,
        reason,
    })
}

#[cfg(test)]
mod tests;
