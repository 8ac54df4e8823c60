//! One atomic batch publish (ADR-50), fenced on the whole stream's last
//! sequence: the first message carries `Nats-Expected-Last-Sequence`, every
//! message `Nats-Batch-Id` and `Nats-Batch-Sequence`, the last
//! `Nats-Batch-Commit: 1`. A batch of one record is a plain publish with the
//! same expectation. The server stores all of it or nothing, and only
//! when the stream's last sequence is the fence when the batch is applied
//! (so it holds on R3 too, where the per-subject expectation did not before
//! 2.9.21, nats-server #4320).

use std::time::Duration;

use async_nats::client::{PublishErrorKind, RequestErrorKind};
use async_nats::{Client, HeaderMap, Request, Subject};
use bytes::Bytes;
use serde::Deserialize;

use aduan_log::LogError;

/// How long a commit waits for its answer before it is in doubt (and
/// settled by looking): the client's default of 10 s made the pause after
/// a leader's death 10 s whenever a commit was in flight to it.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(3);
/// Error code of a failed `Nats-Expected-Last-Sequence`.
const WRONG_LAST_SEQUENCE: u64 = 10071;
/// Error codes that no retry can cure: a message over the stream's maximum,
/// a batch over the server's ceiling, batches disabled on the stream.
const REFUSED_FOR_GOOD: [u64; 3] = [10054, 10199, 10205];

/// Why a batch was not (known to be) stored.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The stream's last sequence was not the fence (it was this one, when
    /// the server said so): nothing was stored.
    Fenced(Option<u64>),
    /// Refused for a reason a retry cannot cure: nothing was stored.
    Refused(LogError),
    /// Whether it was stored is unknown (a timeout, a lost connection, a
    /// server without a stream leader): the caller must look before retrying.
    InDoubt(String),
}

#[derive(Deserialize)]
struct Ack {
    #[serde(default)]
    error: Option<ApiError>,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    batch: Option<String>,
    #[serde(default)]
    count: Option<u64>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

/// Publishes `records` on `subject` as one atomic batch that follows stream
/// sequence `fence`; returns the sequence of the last record (`fence + n`).
pub(crate) async fn publish(
    client: &Client,
    subject: &Subject,
    fence: u64,
    records: Vec<Bytes>,
) -> Result<u64, Failure> {
    let n = records.len() as u64;
    let id = uuid::Uuid::now_v7().simple().to_string();
    let mut commit = None;
    for (i, record) in records.into_iter().enumerate() {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Batch-Id", id.as_str());
        headers.insert("Nats-Batch-Sequence", (i + 1).to_string().as_str());
        if i == 0 {
            headers.insert("Nats-Expected-Last-Sequence", fence.to_string().as_str());
        }
        if n == 1 {
            // One message is atomic on its own; an R1 stream took ~30 ms to
            // commit a batch of one against ~1 ms for a plain publish here.
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Expected-Last-Sequence", fence.to_string().as_str());
            commit = Some((headers, record));
            break;
        }
        if i as u64 + 1 == n {
            headers.insert("Nats-Batch-Commit", "1");
            commit = Some((headers, record));
            break;
        }
        // Earlier messages need no reply: the server answers the commit for
        // the whole batch, and a batch without its commit is dropped.
        let sent = client
            .publish_with_headers(subject.clone(), headers, record)
            .await;
        if let Err(e) = sent {
            return Err(match e.kind() {
                PublishErrorKind::MaxPayloadExceeded => Failure::Refused(too_large(&e)),
                _ => Failure::InDoubt(e.to_string()),
            });
        }
    }
    let Some((headers, record)) = commit else {
        return Err(Failure::Refused(LogError::Invalid(
            "an append needs at least one event".into(),
        )));
    };
    let request = Request::new()
        .headers(headers)
        .payload(record)
        .timeout(Some(COMMIT_TIMEOUT));
    let reply = match client.send_request(subject.clone(), request).await {
        Ok(reply) => reply,
        Err(e) => {
            return Err(match e.kind() {
                RequestErrorKind::MaxPayloadExceeded => Failure::Refused(too_large(&e)),
                _ => Failure::InDoubt(e.to_string()),
            })
        }
    };
    let ack: Ack = serde_json::from_slice(&reply.payload)
        .map_err(|e| Failure::InDoubt(format!("unreadable batch ack: {e}")))?;
    if let Some(err) = ack.error {
        return Err(match err.err_code {
            // "wrong last sequence: 42"
            WRONG_LAST_SEQUENCE => Failure::Fenced(
                err.description
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok()),
            ),
            code if REFUSED_FOR_GOOD.contains(&code) => Failure::Refused(LogError::storage(
                format!("JetStream refused the batch ({code}): {}", err.description),
            )),
            code => Failure::InDoubt(format!("JetStream error {code}: {}", err.description)),
        });
    }
    let batch_ok = n == 1 || (ack.batch.as_deref() == Some(id.as_str()) && ack.count == Some(n));
    if !batch_ok || ack.seq != fence + n {
        return Err(Failure::InDoubt(format!(
            "batch ack does not match: seq {} count {:?} for {n} records after {fence}",
            ack.seq, ack.count
        )));
    }
    Ok(ack.seq)
}

fn too_large(e: &dyn std::fmt::Display) -> LogError {
    LogError::storage(format!(
        "a record exceeds the server's max_payload ({e}); raise max_payload in its configuration"
    ))
}
