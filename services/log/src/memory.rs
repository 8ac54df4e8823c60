//! The in-memory backend: the reference model of [`EventLog`] for tests.
//!
//! Every append and import runs under one lock, so it is trivially atomic and
//! serialised; records are hashed with [`record::encode`] exactly as a stored
//! backend hashes them, so an export of a `MemoryLog` imports into any other
//! backend with the same positions and hashes, and back. Nothing survives the
//! last clone: "reopening" a `MemoryLog` is handing on the same shared state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::record::{self, GENESIS, HASH_LEN};
use crate::{
    check_append, Appended, EventLog, ExpectedVersion, ImportCheck, LogError, NewEvent,
    RecordedEvent,
};

/// Source of `recorded_at`, in Unix milliseconds.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// An event log held in memory. Cheap to clone; clones share one log.
#[derive(Clone)]
pub struct MemoryLog {
    shared: Arc<Shared>,
}

struct Shared {
    // A std Mutex: no .await happens while it is held.
    state: Mutex<State>,
    head: watch::Sender<u64>,
    clock: Clock,
}

#[derive(Default)]
struct State {
    events: Vec<RecordedEvent>,
    /// Stream id → positions of its events in version order.
    streams: HashMap<String, Vec<u64>>,
}

impl State {
    fn version(&self, stream: &str) -> u64 {
        self.streams.get(stream).map_or(0, |p| p.len() as u64)
    }

    fn last_hash(&self) -> [u8; HASH_LEN] {
        self.events.last().map_or(GENESIS, |e| e.hash)
    }

    fn push(&mut self, e: RecordedEvent) {
        let positions = self.streams.entry(e.stream_id.clone()).or_default();
        positions.push(e.position);
        self.events.push(e);
    }
}

impl std::fmt::Debug for MemoryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLog")
            .field("head", &*self.shared.head.borrow())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryLog {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryLog {
    /// An empty log recording the system time.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(system_millis))
    }

    /// An empty log whose `recorded_at` comes from `clock`.
    pub fn with_clock(clock: Clock) -> Self {
        let (head, _) = watch::channel(0);
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                head,
                clock,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock happens before any state changes
        // (checks come first), so the state is whole.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn append_now(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Appended, LogError> {
        check_append(stream, &events)?;
        let mut state = self.state();
        let current = state.version(stream);
        if !expected.admits(current) {
            return Err(LogError::Conflict {
                stream: stream.to_owned(),
                expected,
                actual: current,
            });
        }
        let now = (self.shared.clock)();
        let first_position = state.events.len() as u64 + 1;
        let mut version = current;
        for e in events {
            version += 1;
            let mut rec = RecordedEvent {
                correlation_id: e.correlation_id.unwrap_or(e.event_id),
                event_id: e.event_id,
                stream_id: stream.to_owned(),
                stream_version: version,
                position: state.events.len() as u64 + 1,
                recorded_at_ms: now,
                event_type: e.event_type,
                schema_version: e.schema_version,
                actor: e.actor,
                causation_id: e.causation_id,
                payload: e.payload,
                prev_hash: state.last_hash(),
                hash: [0; HASH_LEN],
            };
            rec.hash = record::encode(&rec).1;
            state.push(rec);
        }
        let last_position = state.events.len() as u64;
        self.shared.head.send_replace(last_position);
        Ok(Appended {
            first_position,
            last_position,
            stream_version: version,
        })
    }

    fn import_now(&self, events: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        let mut state = self.state();
        let mut check = ImportCheck::new(state.events.len() as u64, state.last_hash());
        for e in &events {
            check.next(e, |s| state.version(s))?;
        }
        let appended = check.appended()?;
        for e in events {
            state.push(e);
        }
        self.shared.head.send_replace(appended.last_position);
        Ok(appended)
    }
}

impl EventLog for MemoryLog {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Appended, LogError> {
        self.append_now(stream, expected, events)
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, LogError> {
        let state = self.state();
        let from = from_version.max(1) as usize - 1;
        let positions = state.streams.get(stream).map_or(&[][..], Vec::as_slice);
        let positions = positions.get(from..).unwrap_or_default();
        Ok(positions
            .iter()
            .map(|p| state.events[*p as usize - 1].clone())
            .collect())
    }

    async fn read_all(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, LogError> {
        let state = self.state();
        let from = from.max(1) as usize - 1;
        let page = state.events.get(from..).unwrap_or_default();
        Ok(page.iter().take(max).cloned().collect())
    }

    fn head(&self) -> watch::Receiver<u64> {
        self.shared.head.subscribe()
    }

    async fn import(&self, events: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        self.import_now(events)
    }
}

fn system_millis() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| d.as_millis() as i64).unwrap_or(0)
}
