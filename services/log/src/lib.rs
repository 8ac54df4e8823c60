//! The contract of aduan's append-only event log, and what every backend
//! shares: the envelope ([`NewEvent`], [`RecordedEvent`]), the stored record
//! format and its hash chain ([`record`]), the validation of appends and
//! imports ([`check_new_event`], [`check_recorded_event`], [`ImportCheck`]),
//! chain verification ([`verify`]), catch-up-then-live [`Subscription`]s, an
//! in-memory backend ([`memory::MemoryLog`], the reference model for tests)
//! and the [`conformance`] suite every backend passes.
//!
//! It does not store anything durably: the embedded backend is `aduan-log-sled`,
//! and no storage engine is named here. The log knows bytes and envelopes, not
//! complaints: payloads are opaque and the domain lives above it.

use std::future::Future;

use uuid::Uuid;

pub mod conformance;
mod error;
mod import;
pub mod memory;
mod read_ahead;
pub mod record;
mod subscription;
mod verify;

pub use error::LogError;
pub use import::ImportCheck;
pub use read_ahead::ReadAhead;
pub use subscription::Subscription;
pub use verify::{position_of_hash, verify, VerifyProgress, VerifyReport};

/// A stream's version before its first event.
pub const NO_VERSION: u64 = 0;
/// Largest payload one event may carry.
pub const MAX_PAYLOAD: usize = 1 << 20;
/// Longest stream id, event type or actor, in bytes.
pub const MAX_NAME: usize = 256;

/// What an appender believes the stream's current version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the version is.
    Any,
    /// The stream must have no events yet.
    NoStream,
    /// The stream's last event must have exactly this version (1-based).
    Exact(u64),
}

impl ExpectedVersion {
    /// True when a stream whose current version is `actual` satisfies this expectation.
    pub fn admits(self, actual: u64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual == NO_VERSION,
            Self::Exact(v) => actual == v,
        }
    }
}

/// An event to append: the envelope fields the appender chooses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// UUID v7, chosen by the appender so it can be used as an idempotency key downstream.
    pub event_id: Uuid,
    /// Type name of the payload, e.g. `ComplaintRouted`.
    pub event_type: String,
    /// Schema version of the payload, from 1, so old payloads can be upcast.
    pub schema_version: u32,
    /// Who caused it: a service, an organisation's user, a reporter, an admin.
    pub actor: String,
    /// Ties together every event of one conversation (defaults to the event id).
    pub correlation_id: Option<Uuid>,
    /// The event that caused this one.
    pub causation_id: Option<Uuid>,
    /// Opaque payload (protobuf).
    pub payload: Vec<u8>,
}

impl NewEvent {
    /// A new event with a fresh UUID v7, schema version 1 and no correlation.
    pub fn new(event_type: impl Into<String>, actor: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.into(),
            schema_version: 1,
            actor: actor.into(),
            correlation_id: None,
            causation_id: None,
            payload,
        }
    }
}

/// An event as the log holds it: the whole envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedEvent {
    /// UUID v7.
    pub event_id: Uuid,
    /// The stream it belongs to.
    pub stream_id: String,
    /// 1-based version within its stream.
    pub stream_version: u64,
    /// 1-based global position, gap-free.
    pub position: u64,
    /// When the log recorded it, Unix milliseconds.
    pub recorded_at_ms: i64,
    /// Type name of the payload.
    pub event_type: String,
    /// Schema version of the payload.
    pub schema_version: u32,
    /// Who caused it.
    pub actor: String,
    /// Conversation id.
    pub correlation_id: Uuid,
    /// The event that caused this one.
    pub causation_id: Option<Uuid>,
    /// Opaque payload.
    pub payload: Vec<u8>,
    /// Hash of the previous event (zeros before the first).
    pub prev_hash: [u8; 32],
    /// BLAKE3 of this event's stored body, which includes `prev_hash`.
    pub hash: [u8; 32],
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Global position of the first appended event.
    pub first_position: u64,
    /// Global position of the last appended event.
    pub last_position: u64,
    /// The stream's version after the append.
    pub stream_version: u64,
}

/// The contract every log backend keeps. Appends are atomic per call, durable
/// when they return, and serialised per stream by `expected`. An answer is
/// never given before the commit it rests on: not an acknowledgement, and not
/// a `Conflict` either (its `actual` version is durable when it arrives).
pub trait EventLog: Send + Sync + 'static {
    /// Appends `events` to `stream` if its version admits `expected`; all or nothing.
    fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<Appended, LogError>> + Send;

    /// The events of `stream` from version `from_version` (1-based) on.
    fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, LogError>> + Send;

    /// Up to `max` events from global position `from` (1-based) on, in order.
    fn read_all(
        &self,
        from: u64,
        max: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, LogError>> + Send;

    /// A receiver of the durable head position (0 when empty), updated after each commit.
    fn head(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Restores exported records verbatim (same positions, hashes, event ids
    /// and `recorded_at`), continuing the log at its head: into an empty log,
    /// or after the records a previous import stored. Each record must pass
    /// [`ImportCheck`] (the next position, the previous hash, its stream's next
    /// version, the limits of [`check_recorded_event`], a hash that matches its
    /// contents). All or nothing; durable on return.
    fn import(
        &self,
        events: Vec<RecordedEvent>,
    ) -> impl Future<Output = Result<Appended, LogError>> + Send;

    /// Every event from `from` on: what is stored, then what is appended, each once.
    fn subscribe(&self, from: u64) -> Subscription<Self>
    where
        Self: Sized + Clone,
    {
        Subscription::new(self.clone(), from)
    }
}

/// Checks a whole append before a backend takes it: at least one event, and
/// each one within [`check_new_event`]'s limits.
pub fn check_append(stream: &str, events: &[NewEvent]) -> Result<(), LogError> {
    if events.is_empty() {
        return Err(LogError::Invalid(
            "an append needs at least one event".into(),
        ));
    }
    events.iter().try_for_each(|e| check_new_event(stream, e))
}

/// The checks every backend makes of an append before it takes it: a stream
/// id and event type of 1 to [`MAX_NAME`] bytes, an actor of at most
/// [`MAX_NAME`], a payload of at most [`MAX_PAYLOAD`] (the record format
/// stores names with a 16-bit length and could not hold more).
pub fn check_new_event(stream: &str, e: &NewEvent) -> Result<(), LogError> {
    check_fields(stream, &e.event_type, &e.actor, e.payload.len())
}

/// The same limits as [`check_new_event`], for a stored or imported record.
pub fn check_recorded_event(e: &RecordedEvent) -> Result<(), LogError> {
    check_fields(&e.stream_id, &e.event_type, &e.actor, e.payload.len())
}

fn check_fields(
    stream: &str,
    event_type: &str,
    actor: &str,
    payload: usize,
) -> Result<(), LogError> {
    let bad = |what: &str| LogError::Invalid(what.to_owned());
    if stream.is_empty() || stream.len() > MAX_NAME {
        return Err(bad("stream id must be 1 to 256 bytes"));
    }
    if event_type.is_empty() || event_type.len() > MAX_NAME {
        return Err(bad("event type must be 1 to 256 bytes"));
    }
    if actor.len() > MAX_NAME {
        return Err(bad("actor must be at most 256 bytes"));
    }
    if payload > MAX_PAYLOAD {
        return Err(LogError::TooLarge {
            size: payload,
            max: MAX_PAYLOAD,
        });
    }
    Ok(())
}
