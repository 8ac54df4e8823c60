//! How to open a [`JetStreamLog`](crate::JetStreamLog).

use std::sync::Arc;
use std::time::Duration;

/// How many servers hold a copy of every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replicas {
    /// One server (a single node, or one node of a cluster): its loss loses the log.
    One,
    /// Three servers of a cluster; an append is acknowledged once a majority stored it.
    Three,
}

impl Replicas {
    /// The stream's `num_replicas`.
    pub fn count(self) -> usize {
        match self {
            Self::One => 1,
            Self::Three => 3,
        }
    }
}

/// How to open a [`JetStreamLog`](crate::JetStreamLog).
#[derive(Clone)]
pub struct JetStreamOptions {
    /// The JetStream stream holding the log (created when missing).
    pub stream: String,
    /// The one subject every record is published on; no other stream may take it.
    pub subject: String,
    /// Copies of every record.
    pub replicas: Replicas,
    /// Most events in one atomic batch (the server's `jetstream.limits.batch.max_msgs`,
    /// 1,000 by default, is the ceiling); a single append of more is refused.
    pub max_batch: usize,
    /// Appends are gathered into one batch while it stays under this many
    /// record bytes (a single append may exceed it on its own).
    pub max_batch_bytes: usize,
    /// Appends (and imports) that may wait for the writer; one more is
    /// refused at once with [`LogError::Overloaded`](aduan_log::LogError::Overloaded).
    pub queue: usize,
    /// Bytes of the newest records kept in memory, so that reads of recent
    /// events (subscriptions, command handlers) need no round trip.
    pub cache_bytes: usize,
    /// How long a commit is retried through an unavailable server (a leader
    /// election takes 4–9 s) before its appenders get `LogError::Storage`.
    pub retry_for: Duration,
    /// The source of `recorded_at`, in Unix milliseconds; injectable for tests.
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl JetStreamOptions {
    /// Defaults: one replica, batches of up to 500 events and 8 MiB, 16,384
    /// appends queued, 64 MiB of recent records cached, commits retried for
    /// 30 s, the system clock.
    pub fn new(stream: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            stream: stream.into(),
            subject: subject.into(),
            replicas: Replicas::One,
            max_batch: 500,
            max_batch_bytes: 8 << 20,
            queue: 16_384,
            cache_bytes: 64 << 20,
            retry_for: Duration::from_secs(30),
            clock: Arc::new(system_millis),
        }
    }

    /// The same options with `replicas`.
    pub fn replicas(mut self, replicas: Replicas) -> Self {
        self.replicas = replicas;
        self
    }
}

impl std::fmt::Debug for JetStreamOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamOptions")
            .field("stream", &self.stream)
            .field("subject", &self.subject)
            .field("replicas", &self.replicas)
            .field("max_batch", &self.max_batch)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("queue", &self.queue)
            .field("cache_bytes", &self.cache_bytes)
            .field("retry_for", &self.retry_for)
            .finish_non_exhaustive()
    }
}

fn system_millis() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| d.as_millis() as i64).unwrap_or(0)
}
