//! Where assignments go: an OPD's JetStream inbox, or an in-process channel
//! when aduan runs embedded without NATS. A sink reports success only once the
//! assignment is safely handed over (for JetStream: the PubAck), because the
//! router moves its checkpoint past a routing event only after that.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aduan_bus::Subjects;
use aduan_domain::OrgCode;
use aduan_proto::v1;
use async_nats::jetstream;
use futures::StreamExt;
use prost::Message;
use tokio::sync::broadcast;

use crate::service::{MAX_IN_FLIGHT, RECHECK};
use crate::RouterError;

/// Receives each assignment the router hands out.
pub trait AssignmentSink: Send + Sync + 'static {
    /// Delivers `a` to `org`'s inbox; `msg_id` (the routing event's id) is the
    /// idempotency key, so delivering the same assignment twice has one effect.
    /// One attempt: the router retries with backoff and never skips.
    fn publish(
        &self,
        org: &OrgCode,
        msg_id: &str,
        a: &v1::Assignment,
    ) -> impl Future<Output = Result<(), RouterError>> + Send;

    /// Whether the inbox is known to hold the assignment `msg_id`, asked at
    /// start for the assignments just before the router's checkpoint: one
    /// the inbox acknowledged and then lost (a server that acks before its
    /// fsync, and a power loss) is published again.
    fn holds(&self, msg_id: &str) -> impl Future<Output = Result<bool, RouterError>> + Send;

    /// [`AssignmentSink::publish`], told the log position of the event the
    /// assignment comes from (a fenced sink records it with the message).
    fn publish_at(
        &self,
        org: &OrgCode,
        msg_id: &str,
        position: u64,
        a: &v1::Assignment,
    ) -> impl Future<Output = Result<(), RouterError>> + Send {
        let _ = position;
        self.publish(org, msg_id, a)
    }
}

/// How the `ADUAN_OPD` stream is made when the router creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxStream {
    /// Replicas: 1, or 3 on a three-node cluster (a majority then holds
    /// every assignment acknowledged).
    pub replicas: usize,
    /// How long JetStream remembers a `Nats-Msg-Id`
    /// ([`JetStreamSink::DUPLICATE_WINDOW`] by default).
    pub duplicate_window: Duration,
}

impl Default for InboxStream {
    fn default() -> Self {
        Self {
            replicas: 1,
            duplicate_window: JetStreamSink::DUPLICATE_WINDOW,
        }
    }
}

/// Creates `ADUAN_OPD` (file storage) when missing, and brings an existing
/// one's subjects and duplicate window to `options`' (its replicas stay as
/// the operator left them); the stream and its state as found.
pub(crate) async fn ensure_stream(
    js: &jetstream::Context,
    subjects: &Subjects,
    options: &InboxStream,
) -> Result<(jetstream::stream::Stream, jetstream::stream::Info), RouterError> {
    let config = jetstream::stream::Config {
        name: JetStreamSink::STREAM.to_owned(),
        subjects: vec![subjects.all_inboxes()],
        storage: jetstream::stream::StorageType::File,
        duplicate_window: options.duplicate_window,
        num_replicas: options.replicas,
        ..Default::default()
    };
    let failed = |e: &dyn std::fmt::Display| RouterError::Stream {
        stream: JetStreamSink::STREAM.to_owned(),
        message: e.to_string(),
    };
    let mut stream = js
        .get_or_create_stream(config.clone())
        .await
        .map_err(|e| failed(&e))?;
    let info = stream.info().await.map_err(|e| failed(&e))?.clone();
    let current = &info.config;
    if current.duplicate_window != config.duplicate_window || current.subjects != config.subjects {
        tracing::info!(
            stream = JetStreamSink::STREAM,
            "updating the stream's subjects and duplicate window"
        );
        let updated = jetstream::stream::Config {
            // What this version does not set stays as the operator left it.
            duplicate_window: config.duplicate_window,
            subjects: config.subjects,
            ..current.clone()
        };
        js.update_stream(updated).await.map_err(|e| failed(&e))?;
    }
    Ok((stream, info))
}

/// The in-process sink of the embedded default: a broadcast of every assignment.
#[derive(Debug, Clone)]
pub struct LocalSink {
    tx: broadcast::Sender<(OrgCode, v1::Assignment)>,
}

impl LocalSink {
    /// A sink keeping up to `capacity` assignments for slow receivers.
    pub fn new(capacity: usize) -> Self {
        Self {
            tx: broadcast::channel(capacity.max(1)).0,
        }
    }

    /// Every assignment published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<(OrgCode, v1::Assignment)> {
        self.tx.subscribe()
    }
}

impl AssignmentSink for LocalSink {
    async fn publish(
        &self,
        org: &OrgCode,
        _msg_id: &str,
        a: &v1::Assignment,
    ) -> Result<(), RouterError> {
        // Nobody listening is fine: the inbox read model is rebuilt from the log.
        let _ = self.tx.send((org.clone(), a.clone()));
        Ok(())
    }

    /// An in-process broadcast keeps nothing across a restart to recover.
    async fn holds(&self, _msg_id: &str) -> Result<bool, RouterError> {
        Ok(true)
    }
}

/// OPD inboxes on JetStream: stream `ADUAN_OPD`, subjects `<prefix>.opd.*.inbox`.
///
/// JetStream drops a repeated `Nats-Msg-Id` only within its duplicate
/// window, so the sink does not rely on it alone: at start it reads the
/// message ids of the stream's last [`JetStreamSink::RECENT`] messages, which
/// cover every assignment a restarted router may publish again, and skips
/// those however old they are.
#[derive(Debug, Clone)]
pub struct JetStreamSink {
    js: jetstream::Context,
    subjects: Subjects,
    /// Message ids of the stream's last messages as of the start.
    held: Arc<HashSet<String>>,
}

impl JetStreamSink {
    /// The stream holding every OPD inbox.
    pub const STREAM: &'static str = "ADUAN_OPD";

    /// How long JetStream remembers a `Nats-Msg-Id`. The server's default is
    /// two minutes; a router down longer than that would republish its last
    /// unacknowledged assignments as new messages. A day covers any outage an
    /// operator would not notice; past it, an OPD may see one assignment twice
    /// (same complaint id and hop, so workers can drop it).
    pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

    /// Messages whose ids are read at start: the events a router handles
    /// again at start ([`RECHECK`]) and those it may have had in flight.
    pub const RECENT: u64 = RECHECK + MAX_IN_FLIGHT as u64;

    /// Connects the sink: creates the stream (file storage) when missing,
    /// brings an existing one's subjects and duplicate window to this
    /// version's, and reads the ids of its last messages.
    pub async fn new(client: async_nats::Client, subjects: Subjects) -> Result<Self, RouterError> {
        let js = jetstream::new(client);
        let (stream, info) = ensure_stream(&js, &subjects, &InboxStream::default()).await?;
        let failed = |e: &dyn std::fmt::Display| RouterError::Stream {
            stream: Self::STREAM.to_owned(),
            message: e.to_string(),
        };
        let held = recent_ids(&stream, &info.state, Self::RECENT)
            .await
            .map_err(|e| failed(&*e))?;
        tracing::info!(held = held.len(), "assignments already in the OPD inboxes");
        Ok(Self {
            js,
            subjects,
            held: Arc::new(held),
        })
    }
}

/// The `Nats-Msg-Id`s of the last `n` messages of `stream`.
async fn recent_ids(
    stream: &jetstream::stream::Stream,
    state: &jetstream::stream::State,
    n: u64,
) -> Result<HashSet<String>, async_nats::Error> {
    let mut ids = HashSet::new();
    if state.messages == 0 {
        return Ok(ids);
    }
    let last = state.last_sequence;
    let start = last.saturating_sub(n - 1).max(state.first_sequence);
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    while let Some(m) = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .map_err(|_| "timed out reading the stream's last messages")?
    {
        let m = m?;
        if let Some(id) = m.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")) {
            ids.insert(id.to_string());
        }
        if m.info()?.stream_sequence >= last {
            break;
        }
    }
    Ok(ids)
}

impl AssignmentSink for JetStreamSink {
    async fn publish(
        &self,
        org: &OrgCode,
        msg_id: &str,
        a: &v1::Assignment,
    ) -> Result<(), RouterError> {
        self.publish_at(org, msg_id, 0, a).await
    }

    /// Names the event's log position too, as the fenced sink does, so an
    /// elected router taking over this stream knows where to resume.
    async fn publish_at(
        &self,
        org: &OrgCode,
        msg_id: &str,
        position: u64,
        a: &v1::Assignment,
    ) -> Result<(), RouterError> {
        if self.held.contains(msg_id) {
            return Ok(());
        }
        let subject = self.subjects.opd_inbox(org.as_str());
        let failed = |e: &dyn std::fmt::Display| RouterError::Publish {
            subject: subject.clone(),
            message: e.to_string(),
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        if position > 0 {
            headers.insert(
                crate::fenced::POSITION_HEADER,
                position.to_string().as_str(),
            );
        }
        let ack = self
            .js
            .publish_with_headers(subject.clone(), headers, a.encode_to_vec().into())
            .await
            .map_err(|e| failed(&e))?;
        ack.await.map_err(|e| failed(&e))?;
        Ok(())
    }

    async fn holds(&self, msg_id: &str) -> Result<bool, RouterError> {
        Ok(self.held.contains(msg_id))
    }
}
