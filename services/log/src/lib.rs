//! aduan's append-only event log: envelopes, a hash chain over every event,
//! optimistic concurrency per stream, and group-committed durable appends.
//!
//! The log knows bytes and envelopes, not complaints: payloads are opaque and
//! the domain lives above it. [`EventLog`] is the contract a backend keeps (the
//! conformance suite in [`conformance`] checks it); [`SledLog`] is the embedded
//! backend. Catch-up-then-live subscriptions ([`Subscription`]) and chain
//! verification ([`verify`]) are written once, on top of the trait.

use std::future::Future;

use uuid::Uuid;

pub mod conformance;
mod error;
pub mod record;
mod segment;
mod sled_log;
mod subscription;
mod verify;

pub use error::LogError;
pub use sled_log::{SledLog, SledOptions};
pub use subscription::Subscription;
pub use verify::{verify, VerifyProgress, VerifyReport};

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
/// when they return, and serialised per stream by `expected`.
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

    /// Every event from `from` on: what is stored, then what is appended, each once.
    fn subscribe(&self, from: u64) -> Subscription<Self>
    where
        Self: Sized + Clone,
    {
        Subscription::new(self.clone(), from)
    }
}

pub(crate) fn check_new_event(stream: &str, e: &NewEvent) -> Result<(), LogError> {
    let bad = |what: &str| LogError::Invalid(what.to_owned());
    if stream.is_empty() || stream.len() > MAX_NAME {
        return Err(bad("stream id must be 1 to 256 bytes"));
    }
    if e.event_type.is_empty() || e.event_type.len() > MAX_NAME {
        return Err(bad("event type must be 1 to 256 bytes"));
    }
    if e.actor.len() > MAX_NAME {
        return Err(bad("actor must be at most 256 bytes"));
    }
    if e.payload.len() > MAX_PAYLOAD {
        return Err(LogError::TooLarge {
            size: e.payload.len(),
            max: MAX_PAYLOAD,
        });
    }
    Ok(())
}
