//! NATS plumbing shared by aduan's services: the subject names of CONTRACT.md,
//! content negotiation (protobuf by default, JSON when the request says
//! `Content-Type: application/json`), and a request-reply server with bounded
//! concurrency that drains in-flight requests on shutdown.
//! It knows messages and subjects, not what the services do with them.

use std::future::Future;
use std::sync::Arc;

use async_nats::HeaderMap;
use bytes::Bytes;
use futures::StreamExt;
use serde::{de::DeserializeOwned, Serialize};

/// The content type that selects JSON.
pub const JSON: &str = "application/json";
/// The content type of protobuf payloads.
pub const PROTOBUF: &str = "application/protobuf";

/// A service's NATS edge: the connection and the subjects it speaks on.
#[derive(Debug, Clone)]
pub struct Edge {
    /// One connection serves every subject: NATS multiplexes it.
    pub client: async_nats::Client,
    /// The subject names under the configured prefix.
    pub subjects: Subjects,
}

/// Subject names under a configurable prefix (default `aduan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Default for Subjects {
    fn default() -> Self {
        Self::new("aduan")
    }
}

impl Subjects {
    /// Subjects under `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }
    /// `aduan.intake.submit`.
    pub fn intake_submit(&self) -> String {
        format!("{}.intake.submit", self.prefix)
    }
    /// `aduan.opd.<org>.inbox`.
    pub fn opd_inbox(&self, org: &str) -> String {
        format!("{}.opd.{org}.inbox", self.prefix)
    }
    /// `aduan.opd.*.inbox`, every OPD's inbox (the `ADUAN_OPD` stream's subjects).
    pub fn all_inboxes(&self) -> String {
        format!("{}.opd.*.inbox", self.prefix)
    }
    /// `aduan.opd.<org>.cmd`.
    pub fn opd_cmd(&self, org: &str) -> String {
        format!("{}.opd.{org}.cmd", self.prefix)
    }
    /// `aduan.opd.*.cmd`.
    pub fn all_cmds(&self) -> String {
        format!("{}.opd.*.cmd", self.prefix)
    }
    /// `aduan.admin.<org>.cmd`: commands of the admins of `org`.
    pub fn admin_cmd(&self, org: &str) -> String {
        format!("{}.admin.{org}.cmd", self.prefix)
    }
    /// `aduan.admin.*.cmd`.
    pub fn all_admin_cmds(&self) -> String {
        format!("{}.admin.*.cmd", self.prefix)
    }
    /// The `<org>` token of an `aduan.admin.<org>.<verb>` subject.
    pub fn admin_org_of<'a>(&self, subject: &'a str) -> Option<&'a str> {
        let rest = subject
            .strip_prefix(&self.prefix)?
            .strip_prefix(".admin.")?;
        rest.split_once('.').map(|(org, _)| org)
    }
    /// `aduan.query.status`.
    pub fn query_status(&self) -> String {
        format!("{}.query.status", self.prefix)
    }
    /// The `<org>` token of an `aduan.opd.<org>.<verb>` subject.
    pub fn org_of<'a>(&self, subject: &'a str) -> Option<&'a str> {
        let rest = subject.strip_prefix(&self.prefix)?.strip_prefix(".opd.")?;
        rest.split_once('.').map(|(org, _)| org)
    }
}

/// How a request was encoded, and so how its reply is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Protobuf, the default.
    Proto,
    /// JSON mirroring the protobuf field names.
    Json,
}

/// A request body that could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("malformed {format} request: {detail}")]
pub struct DecodeError {
    /// "protobuf" or "JSON".
    pub format: &'static str,
    /// What the decoder said.
    pub detail: String,
}

impl Format {
    /// The format a request's headers ask for.
    pub fn of(headers: Option<&HeaderMap>) -> Self {
        let ct = headers
            .and_then(|h| h.get("Content-Type"))
            .map(|v| v.as_str().to_ascii_lowercase());
        match ct {
            Some(ct) if ct.starts_with(JSON) => Self::Json,
            _ => Self::Proto,
        }
    }

    /// Decodes a request body.
    pub fn decode<M>(self, payload: &[u8]) -> Result<M, DecodeError>
    where
        M: prost::Message + DeserializeOwned + Default,
    {
        match self {
            Self::Proto => M::decode(payload).map_err(|e| DecodeError {
                format: "protobuf",
                detail: e.to_string(),
            }),
            Self::Json => serde_json::from_slice(payload).map_err(|e| DecodeError {
                format: "JSON",
                detail: e.to_string(),
            }),
        }
    }

    /// Encodes a reply.
    pub fn encode<M: prost::Message + Serialize>(self, m: &M) -> Bytes {
        match self {
            Self::Proto => Bytes::from(m.encode_to_vec()),
            // Serialising a prost message to JSON cannot fail: every field is plain data.
            Self::Json => Bytes::from(serde_json::to_vec(m).unwrap_or_default()),
        }
    }

    /// Headers that tell the requester how the reply is encoded.
    pub fn headers(self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "Content-Type",
            if self == Self::Json { JSON } else { PROTOBUF },
        );
        h
    }
}

/// A request to serve: its subject, headers and payload.
#[derive(Debug, Clone)]
pub struct Request {
    /// The subject it came on.
    pub subject: String,
    /// Its headers, if any.
    pub headers: Option<HeaderMap>,
    /// Its body.
    pub payload: Bytes,
}

impl Request {
    /// The format of this request and its reply.
    pub fn format(&self) -> Format {
        Format::of(self.headers.as_ref())
    }
}

/// Whether a message with this reply subject is a JetStream push delivery
/// (reply `$JS.ACK.…`) rather than a request. Such messages are ignored: a
/// user who may create a push consumer could otherwise point its deliver
/// subject at a served subject and have the server publish there for it,
/// past its own publish permissions, and the answer would ack the delivery.
pub fn is_jetstream_delivery(reply: &str) -> bool {
    reply.starts_with("$JS.")
}

/// Serves request-reply on `subject` in `queue_group` until `shutdown` fires,
/// with at most `concurrency` requests in flight; then stops taking requests
/// and waits for those in flight to be answered.
/// `handler` returns the reply's format and bytes.
pub async fn serve<H, Fut>(
    client: async_nats::Client,
    subject: String,
    queue_group: String,
    concurrency: usize,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    handler: H,
) -> Result<(), async_nats::Error>
where
    H: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (Format, Bytes)> + Send + 'static,
{
    let mut sub = client.queue_subscribe(subject.clone(), queue_group).await?;
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let handler = Arc::new(handler);
    tracing::info!(%subject, "serving");
    loop {
        let msg = tokio::select! {
            m = sub.next() => match m { Some(m) => m, None => break },
            _ = shutdown.changed() => break,
        };
        let Some(reply) = msg.reply.clone() else {
            continue;
        };
        if is_jetstream_delivery(&reply) {
            tracing::debug!(%subject, stream_subject = %msg.subject, "ignored a JetStream delivery");
            continue;
        }
        let permit = permits.clone().acquire_owned().await?;
        let (client, handler) = (client.clone(), handler.clone());
        tokio::spawn(async move {
            let req = Request {
                subject: msg.subject.to_string(),
                headers: msg.headers,
                payload: msg.payload,
            };
            let (format, body) = handler(req).await;
            if let Err(e) = client
                .publish_with_headers(reply, format.headers(), body)
                .await
            {
                tracing::warn!(error = %e, "reply not sent");
            }
            drop(permit);
        });
    }
    let _ = sub.unsubscribe().await;
    // Wait for every in-flight request to be answered.
    let _ = permits.acquire_many(concurrency as u32).await;
    let _ = client.flush().await;
    tracing::info!(%subject, "drained");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Subjects;

    #[test]
    fn the_org_of_a_command_subject_is_read_by_its_kind() {
        let s = Subjects::new("aduan");
        assert_eq!(s.admin_cmd("kab-pati"), "aduan.admin.kab-pati.cmd");
        assert_eq!(s.admin_org_of("aduan.admin.kab-pati.cmd"), Some("kab-pati"));
        assert_eq!(s.admin_org_of("aduan.opd.kab-pati.cmd"), None);
        assert_eq!(s.org_of("aduan.admin.kab-pati.cmd"), None);
        assert_eq!(
            s.org_of(&s.opd_cmd("kab-pati-dinkes")),
            Some("kab-pati-dinkes")
        );
        assert_eq!(s.all_admin_cmds(), "aduan.admin.*.cmd");
    }
}
