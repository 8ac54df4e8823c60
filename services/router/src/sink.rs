//! Where assignments go: an OPD's JetStream inbox, or an in-process channel
//! when aduan runs embedded without NATS. A sink reports success only once the
//! assignment is safely handed over (for JetStream: the PubAck), because the
//! router moves its checkpoint past a routing event only after that.

use std::future::Future;
use std::time::Duration;

use aduan_bus::Subjects;
use aduan_domain::OrgCode;
use aduan_proto::v1;
use async_nats::jetstream;
use prost::Message;
use tokio::sync::broadcast;

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
}

/// OPD inboxes on JetStream: stream `ADUAN_OPD`, subjects `<prefix>.opd.*.inbox`.
#[derive(Debug, Clone)]
pub struct JetStreamSink {
    js: jetstream::Context,
    subjects: Subjects,
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

    /// Connects the sink, creating the stream (file storage) when missing.
    pub async fn new(client: async_nats::Client, subjects: Subjects) -> Result<Self, RouterError> {
        let js = jetstream::new(client);
        let config = jetstream::stream::Config {
            name: Self::STREAM.to_owned(),
            subjects: vec![subjects.all_inboxes()],
            storage: jetstream::stream::StorageType::File,
            duplicate_window: Self::DUPLICATE_WINDOW,
            ..Default::default()
        };
        js.get_or_create_stream(config)
            .await
            .map_err(|e| RouterError::Stream {
                stream: Self::STREAM.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Self { js, subjects })
    }
}

impl AssignmentSink for JetStreamSink {
    async fn publish(
        &self,
        org: &OrgCode,
        msg_id: &str,
        a: &v1::Assignment,
    ) -> Result<(), RouterError> {
        let subject = self.subjects.opd_inbox(org.as_str());
        let failed = |e: &dyn std::fmt::Display| RouterError::Publish {
            subject: subject.clone(),
            message: e.to_string(),
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id);
        let ack = self
            .js
            .publish_with_headers(subject.clone(), headers, a.encode_to_vec().into())
            .await
            .map_err(|e| failed(&e))?;
        ack.await.map_err(|e| failed(&e))?;
        Ok(())
    }
}
