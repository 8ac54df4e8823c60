//! The follower task: an ordered consumer on the log's stream that applies
//! every record, this process's and every other's, so that `head()`,
//! subscriptions and the stream index see appends made elsewhere.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::{self, Context};
use futures::StreamExt;

use crate::state::{Applied, Shared};

/// Follows `stream` from the head applied here, for as long as the task
/// lives; recreates its consumer after any error (a leader change, a
/// reconnect). Stops only when the log is broken.
pub(crate) async fn follow(js: Context, stream: String, shared: Arc<Shared>) {
    loop {
        let start = shared.lock().head + 1;
        match follow_from(&js, &stream, &shared, start).await {
            Ok(()) => return,
            Err(why) => tracing::debug!(start, %why, "log follower restarts"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Applies records from `start` on; `Ok` only when the log is broken.
async fn follow_from(
    js: &Context,
    stream: &str,
    shared: &Shared,
    start: u64,
) -> Result<(), String> {
    let stream = js
        .get_stream_no_info(stream)
        .await
        .map_err(|e| e.to_string())?;
    let config = pull::OrderedConfig {
        deliver_policy: DeliverPolicy::ByStartSequence {
            start_sequence: start,
        },
        ..Default::default()
    };
    let consumer = stream
        .create_consumer(config)
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| e.to_string())?;
        let seq = message.info().map_err(|e| e.to_string())?.stream_sequence;
        match shared.apply(seq, &message.payload) {
            Ok(Applied::Now | Applied::Already) => {}
            Ok(Applied::Gap) => {
                return Err(format!("record {seq} arrived before its predecessors"))
            }
            Err(_) if shared.lock().broken.is_some() => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("the consumer ended".into())
}

/// The JetStream context the follower uses.
pub(crate) fn context(client: async_nats::Client) -> Context {
    jetstream::new(client)
}
