//! Intake: turns a `SubmitComplaint` from any channel into a durable
//! `ComplaintReceived` event and answers with a tracking number and the
//! reporter's token.
//!
//! It validates every field before writing, keeps no identity for anonymous
//! reporters, and answers only after the event is durable. One complaint per
//! `(channel, channel_ref)` is held by the log itself: the complaint id is
//! derived from the pair and its stream is created with `NoStream`, so a
//! resubmission (a retry, a restart, a second intake process on the same log)
//! loses that append and is answered with the first ack read from the log. The
//! reporter token is derived from a secret key, the complaint id and the
//! content, so a retry of the same submission gets the token back and any other
//! submission under that reference does not. It knows nothing of NATS or HTTP:
//! adapters call [`Intake::submit`].

use std::sync::Arc;

use aduan_domain::{
    reporter_token, ComplaintEvent, ComplaintId, ReporterToken, TrackingNo, SCHEMA_VERSION,
};
use aduan_log::{EventLog, ExpectedVersion, LogError, NewEvent};
use aduan_proto::v1;

mod error;
pub mod index;
pub mod nats;

pub use nats::run;
mod reporter_key;
pub mod validate;

pub use error::{IntakeError, Unavailable};
pub use index::Index;
pub use reporter_key::ReporterKey;
pub use validate::{validate, Submission};

/// How often the indexer moves the index's checkpoint.
const INDEX_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a duplicate waits for the first submission's event to be readable
/// (a backend may answer a conflict a moment before a read sees the winner).
const FIRST_EVENT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Largest request intake accepts, in bytes, in either encoding.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The intake service over a log, its tracking-number index and the reporter key.
#[derive(Debug, Clone)]
pub struct Intake<L> {
    log: L,
    index: Index,
    key: Arc<ReporterKey>,
}

impl<L: EventLog + Clone> Intake<L> {
    /// Opens intake over `log`, with its index in `tree` and reporter tokens
    /// derived from `key`, and brings the index up to the log's head before it
    /// serves.
    pub async fn open(log: L, tree: aduan_kv::Tree, key: ReporterKey) -> Result<Self, IntakeError> {
        let index = Index::new(tree);
        let at = index.catch_up(&log).await?;
        tracing::info!(position = at, "intake index caught up");
        Ok(Self {
            log,
            index,
            key: Arc::new(key),
        })
    }

    /// The index of tracking numbers.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Keeps the index moving with the log until `shutdown` fires: it picks up
    /// complaints other intake processes appended, and entries whose write was
    /// lost. Once a second is enough, and cheaper than a batch per commit.
    pub async fn run_indexer(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.index.catch_up(&self.log).await {
                tracing::warn!(error = %e, "intake index could not catch up");
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

    /// Validates and records one complaint; see the crate docs for the guarantees.
    pub async fn submit(&self, req: v1::SubmitComplaint) -> Result<v1::SubmitAck, IntakeError> {
        let sub = validate(req)?;
        let id = match sub.idempotency_key() {
            None => ComplaintId::new(),
            Some(key) => {
                if let Some(first) = self.index.legacy(&key)? {
                    return self.duplicate(first, &sub, None).await;
                }
                ComplaintId::for_channel_ref(&sub.channel, &sub.channel_ref)
            }
        };
        let (token, token_hash) = self.key.token(&id, &sub.fingerprint());
        let tracking_no = self.fresh_tracking()?;
        let event = received(&sub, &id, &tracking_no, token_hash, now_ms());
        let new = NewEvent {
            schema_version: SCHEMA_VERSION,
            ..NewEvent::new(
                event.type_name(),
                format!("channel:{}", sub.channel),
                event.encode(),
            )
        };
        // One atomic step: once it is durable, everything a retry needs (ids,
        // tracking number, token hash) is in the log, whatever happens to
        // this future afterwards.
        let appended = self
            .log
            .append(&id.stream(), ExpectedVersion::NoStream, vec![new])
            .await;
        match appended {
            Ok(_) => {}
            Err(LogError::Conflict { .. }) if !sub.channel_ref.is_empty() => {
                return self.duplicate(id, &sub, Some(token)).await;
            }
            Err(e) => return Err(e.into()),
        }
        self.remember(&tracking_no, &id);
        tracing::info!(complaint_id = %id, channel = %sub.channel, "complaint received");
        Ok(v1::SubmitAck {
            complaint_id: id.to_string(),
            tracking_no: tracking_no.to_string(),
            reporter_token: token.as_str().to_owned(),
            duplicate: false,
            identity_dropped: sub.identity_dropped,
        })
    }

    /// The first ack of complaint `id`, for a resubmission: with the reporter
    /// token only when `token` (this submission's) is the one first recorded.
    async fn duplicate(
        &self,
        id: ComplaintId,
        sub: &Submission,
        token: Option<ReporterToken>,
    ) -> Result<v1::SubmitAck, IntakeError> {
        let first = self.first_received(&id).await?;
        let token = token
            .filter(|t| reporter_token::verify(t, &first.reporter_token_hash))
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default();
        let tracking_no = match TrackingNo::parse(&first.tracking_no) {
            Ok(t) => {
                // The first answer may have been lost before its index write:
                // make the number usable at once for a reporter who got it now.
                self.remember(&t, &id);
                t.to_string()
            }
            Err(_) => first.tracking_no,
        };
        tracing::info!(complaint_id = %id, channel = %sub.channel, token = !token.is_empty(), "duplicate submission");
        Ok(v1::SubmitAck {
            complaint_id: id.to_string(),
            tracking_no,
            reporter_token: token,
            duplicate: true,
            identity_dropped: sub.identity_dropped,
        })
    }

    /// The `ComplaintReceived` that opened complaint `id`'s stream.
    async fn first_received(&self, id: &ComplaintId) -> Result<v1::ComplaintReceived, IntakeError> {
        let stream = id.stream();
        let deadline = tokio::time::Instant::now() + FIRST_EVENT_WAIT;
        loop {
            let events = self.log.read_stream(&stream, 1).await?;
            if let Some(e) = events.first() {
                return match ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload) {
                    Ok(ComplaintEvent::Received(r)) => Ok(r),
                    _ => Err(IntakeError::Unavailable(Unavailable::NoFirstEvent {
                        stream,
                    })),
                };
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(IntakeError::Unavailable(Unavailable::NoFirstEvent {
                    stream,
                }));
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Indexes a tracking number; a failed write is left to the indexer, which
    /// restores it from the log.
    fn remember(&self, t: &TrackingNo, id: &ComplaintId) {
        if let Err(e) = self.index.insert(t, id) {
            tracing::warn!(error = %e, complaint_id = %id, "intake index write deferred to the indexer");
        }
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

fn received(
    sub: &Submission,
    id: &ComplaintId,
    tracking_no: &TrackingNo,
    token_hash: String,
    at_ms: i64,
) -> ComplaintEvent {
    ComplaintEvent::Received(v1::ComplaintReceived {
        complaint_id: id.to_string(),
        tracking_no: tracking_no.as_str().to_owned(),
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
