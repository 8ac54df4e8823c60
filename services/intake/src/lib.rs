//! Intake: turns a `SubmitComplaint` from any channel into a durable
//! `ComplaintReceived` event and answers with a tracking number.
//!
//! It validates every field before writing, deduplicates by `(channel,
//! channel_ref)` (also under concurrent duplicates and across restarts), keeps
//! no identity for anonymous reporters, and answers only after the event is
//! durable. It knows nothing of NATS or HTTP: adapters call [`Intake::submit`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aduan_domain::{reporter_token, ComplaintEvent, ComplaintId, TrackingNo, SCHEMA_VERSION};
use aduan_log::{EventLog, ExpectedVersion, LogError, NewEvent};
use aduan_proto::v1;

pub mod index;
pub mod validate;

pub use index::{Entry, Index};
pub use validate::{validate, Submission};

/// How often the indexer moves the index's checkpoint.
const INDEX_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Largest request intake accepts, in bytes, in either encoding.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Why a submission was refused. Nothing is appended in any case.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// A field failed validation.
    #[error("{message}")]
    Invalid {
        /// The offending field, dotted (`location.region_code`).
        field: &'static str,
        /// For a person.
        message: String,
    },
    /// The request could not be decoded at all.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The request is larger than [`MAX_REQUEST_BYTES`].
    #[error("request of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The log or the index cannot take writes now (closed, disk full, read-only).
    #[error("intake is unavailable: {0}")]
    Unavailable(String),
}

impl IntakeError {
    /// The contract's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } | Self::Malformed(_) => "invalid_argument",
            Self::TooLarge { .. } => "too_large",
            Self::Unavailable(_) => "unavailable",
        }
    }

    /// As the contract's `Error` message.
    pub fn to_proto(&self) -> v1::Error {
        let field = match self {
            Self::Invalid { field, .. } => (*field).to_owned(),
            _ => String::new(),
        };
        v1::Error {
            code: self.code().to_owned(),
            message: self.to_string(),
            field,
        }
    }
}

impl From<LogError> for IntakeError {
    fn from(e: LogError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// The intake service over a log and its index.
#[derive(Debug, Clone)]
pub struct Intake<L> {
    log: L,
    index: Index,
    locks: Arc<KeyLocks>,
    /// Keys whose index write failed after their event was appended (disk
    /// full, say), with that event's position: dedupe still finds them here
    /// until the indexer has stored them.
    unindexed: Arc<Mutex<Unindexed>>,
}

/// Idempotency key → its entry and the position of its event.
type Unindexed = HashMap<Vec<u8>, (Entry, u64)>;

impl<L: EventLog + Clone> Intake<L> {
    /// Opens intake over `log`, with its index in `tree`, and brings the index up
    /// to the log's head before it serves.
    pub async fn open(log: L, tree: sled::Tree) -> Result<Self, IntakeError> {
        let index = Index::new(tree);
        let at = index.catch_up(&log).await?;
        tracing::info!(position = at, "intake index caught up");
        Ok(Self {
            log,
            index,
            locks: Arc::default(),
            unindexed: Arc::default(),
        })
    }

    /// The index of keys and tracking numbers.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Keeps the index's checkpoint moving with the log until `shutdown` fires.
    ///
    /// `submit` already writes each entry; this only makes them durable with a
    /// checkpoint, so once a second is enough (a sled batch per commit would
    /// contend with the log writer for sled's process-wide batch lock).
    pub async fn run_indexer(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            match self.index.catch_up(&self.log).await {
                Ok(at) => self.forget_unindexed(at),
                Err(e) => tracing::warn!(error = %e, "intake index could not catch up"),
            }
            tokio::select! {
                _ = tokio::time::sleep(INDEX_INTERVAL) => {},
                _ = shutdown.changed() => break,
            }
        }
        if let Err(e) = self.index.catch_up(&self.log).await {
            tracing::warn!(error = %e, "intake index could not catch up at shutdown");
        }
    }

    /// Drops the in-memory keys the index has stored (it reached `at`).
    fn forget_unindexed(&self, at: u64) {
        if let Ok(mut u) = self.unindexed.lock() {
            u.retain(|_, (_, position)| *position > at);
        }
    }

    /// Validates and records one complaint; see the crate docs for the guarantees.
    pub async fn submit(&self, req: v1::SubmitComplaint) -> Result<v1::SubmitAck, IntakeError> {
        let sub = validate(req)?;
        let key = sub.idempotency_key();
        // Concurrent submissions of one key queue here, so exactly one appends.
        let _guard = match &key {
            Some(k) => Some(self.locks.acquire(k.clone()).await),
            None => None,
        };
        if let Some(k) = &key {
            let pending = self.unindexed.lock().ok().and_then(|u| u.get(k).cloned());
            if let Some((first, _)) = pending {
                return Ok(ack(&first, String::new(), true, sub.identity_dropped));
            }
            if let Some(first) = self.index.get(k)? {
                return Ok(ack(&first, String::new(), true, sub.identity_dropped));
            }
        }
        let entry = Entry {
            complaint_id: ComplaintId::new(),
            tracking_no: self.fresh_tracking()?,
        };
        let (token, token_hash) = reporter_token::generate();
        let event = received(&sub, &entry, token_hash, now_ms());
        let new = NewEvent {
            schema_version: SCHEMA_VERSION,
            ..NewEvent::new(
                event.type_name(),
                format!("channel:{}", sub.channel),
                event.encode(),
            )
        };
        let appended = self
            .log
            .append(
                &entry.complaint_id.stream(),
                ExpectedVersion::NoStream,
                vec![new],
            )
            .await?;
        if let Err(e) = self.index.insert(key.as_deref(), &entry) {
            // The event is durable; the indexer restores the entry from the log,
            // and until it has, dedupe finds the key in memory.
            tracing::warn!(error = %e, "intake index write deferred to the indexer");
            if let (Some(k), Ok(mut u)) = (key, self.unindexed.lock()) {
                u.insert(k, (entry.clone(), appended.last_position));
            }
        }
        tracing::info!(complaint_id = %entry.complaint_id, channel = %sub.channel, "complaint received");
        Ok(ack(
            &entry,
            token.as_str().to_owned(),
            false,
            sub.identity_dropped,
        ))
    }

    fn fresh_tracking(&self) -> Result<TrackingNo, IntakeError> {
        loop {
            let t = TrackingNo::random();
            if self.index.complaint_of(&t)?.is_none() {
                return Ok(t);
            }
        }
    }
}

fn ack(
    e: &Entry,
    reporter_token: String,
    duplicate: bool,
    identity_dropped: bool,
) -> v1::SubmitAck {
    v1::SubmitAck {
        complaint_id: e.complaint_id.to_string(),
        tracking_no: e.tracking_no.to_string(),
        reporter_token,
        duplicate,
        identity_dropped,
    }
}

fn received(sub: &Submission, e: &Entry, token_hash: String, at_ms: i64) -> ComplaintEvent {
    ComplaintEvent::Received(v1::ComplaintReceived {
        complaint_id: e.complaint_id.to_string(),
        tracking_no: e.tracking_no.as_str().to_owned(),
        channel: sub.channel.as_str().to_owned(),
        channel_ref: sub.channel_ref.clone(),
        kind: sub.kind.to_owned(),
        title: sub.title.clone(),
        body: sub.body.clone(),
        category: sub.category.clone(),
        location: sub.location.clone(),
        reporter: sub.reporter.clone(),
        reporter_token_hash: token_hash,
        received_at_ms: at_ms,
    })
}

fn now_ms() -> i64 {
    aduan_domain::calendar::unix_ms(time::OffsetDateTime::now_utc())
}

/// A key's lock and how many submissions hold or wait for it.
type Counted = (Arc<tokio::sync::Mutex<()>>, usize);

/// One async lock per idempotency key in flight, removed when nobody holds it.
#[derive(Debug, Default)]
struct KeyLocks {
    // A std Mutex: held only to look up or count, never across an await.
    map: Mutex<HashMap<Vec<u8>, Counted>>,
}

struct KeyGuard<'a> {
    locks: &'a KeyLocks,
    key: Vec<u8>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl KeyLocks {
    async fn acquire(&self, key: Vec<u8>) -> KeyGuard<'_> {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            let entry = map.entry(key.clone()).or_default();
            entry.1 += 1;
            entry.0.clone()
        };
        let guard = lock.lock_owned().await;
        KeyGuard {
            locks: self,
            key,
            guard: Some(guard),
        }
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut map = self.locks.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get_mut(&self.key) {
            entry.1 -= 1;
            if entry.1 == 0 {
                map.remove(&self.key);
            }
        }
    }
}

pub mod nats;
