//! The writer task: group commit of this process's appends into one fenced
//! atomic batch, catch-up and retry when another process got there first,
//! and verbatim imports.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, Subject};
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use aduan_log::record::{self, HASH_LEN};
use aduan_log::{Appended, ExpectedVersion, LogError, NewEvent, RecordedEvent};

use crate::batch::{self, Failure};
use crate::state::Shared;
use crate::stream::LogStream;

mod import;

/// What the writer is asked to do.
pub(crate) enum Request {
    /// Append `events` to `stream` if its version admits `expected`.
    Append(AppendRequest),
    /// Store exported records exactly as they were (restore, migration).
    Import {
        events: Vec<RecordedEvent>,
        reply: oneshot::Sender<Result<Appended, LogError>>,
    },
}

/// One append waiting for a commit.
pub(crate) struct AppendRequest {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub reply: oneshot::Sender<Result<Appended, LogError>>,
}

impl AppendRequest {
    /// Roughly the bytes its records take.
    fn size(&self) -> usize {
        let per_event = |e: &NewEvent| 200 + e.payload.len() + e.event_type.len() + e.actor.len();
        self.events.iter().map(per_event).sum::<usize>() + self.stream.len() * self.events.len()
    }
}

/// The decisions of one attempt at committing a group.
struct Plan {
    /// The stream sequence the batch must follow.
    fence: u64,
    records: Vec<Bytes>,
    /// Hash of the last record (the fence's hash when there are none).
    last_hash: [u8; HASH_LEN],
    /// Per request: what it appended, or the version that refused it.
    answers: Vec<Result<Appended, u64>>,
}

/// The single owner of this process's writes.
pub(crate) struct Writer {
    pub client: Client,
    pub subject: Subject,
    pub log: LogStream,
    pub shared: Arc<Shared>,
    pub max_batch: usize,
    pub max_batch_bytes: usize,
    pub retry_for: Duration,
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl Writer {
    pub async fn run(self, mut rx: mpsc::Receiver<Request>) {
        let mut held = None;
        loop {
            let first = match held.take() {
                Some(r) => r,
                None => match rx.recv().await {
                    Some(r) => r,
                    None => return,
                },
            };
            let first = match first {
                Request::Import { events, reply } => {
                    let _ = reply.send(self.import(events).await);
                    continue;
                }
                Request::Append(a) => a,
            };
            let (mut events, mut bytes) = (first.events.len(), first.size());
            let mut group = vec![first];
            while let Ok(next) = rx.try_recv() {
                match next {
                    Request::Append(a)
                        if events + a.events.len() <= self.max_batch
                            && bytes + a.size() <= self.max_batch_bytes =>
                    {
                        events += a.events.len();
                        bytes += a.size();
                        group.push(a);
                    }
                    other => {
                        held = Some(other);
                        break;
                    }
                }
            }
            self.commit(group).await;
        }
    }

    /// Commits `group` and answers each appender once its outcome is known.
    async fn commit(&self, group: Vec<AppendRequest>) {
        let decided = self.decide(&group).await;
        for (i, req) in group.into_iter().enumerate() {
            let answer = match &decided {
                Ok(answers) => match &answers[i] {
                    Ok(appended) => Ok(appended.clone()),
                    Err(actual) => Err(LogError::Conflict {
                        stream: req.stream,
                        expected: req.expected,
                        actual: *actual,
                    }),
                },
                Err(e) => Err(copy(e)),
            };
            let _ = req.reply.send(answer);
        }
    }

    /// Plans the group on what this process knows and commits the plan;
    /// when the fence shows another process appended first, catches up and
    /// plans again. Conflicts are answered only from a state the stream
    /// confirmed current (by the fence holding, or by its last sequence).
    async fn decide(
        &self,
        group: &[AppendRequest],
    ) -> Result<Vec<Result<Appended, u64>>, LogError> {
        let deadline = Instant::now() + self.retry_for;
        loop {
            let plan = self.plan(group)?;
            let stored = if plan.records.is_empty() {
                self.is_current(plan.fence, deadline).await?
            } else {
                let records = plan.records.clone();
                self.publish(plan.fence, records, plan.last_hash, deadline)
                    .await?
            };
            if stored {
                return Ok(plan.answers);
            }
        }
    }

    /// The group's records, chained after the head this process has applied.
    fn plan(&self, group: &[AppendRequest]) -> Result<Plan, LogError> {
        let state = self.shared.lock();
        state.check_intact()?;
        let now = (self.clock)();
        let mut versions: HashMap<&str, u64> = HashMap::new();
        let (mut head, mut prev) = (state.head, state.last_hash);
        let mut records = Vec::new();
        let mut answers = Vec::with_capacity(group.len());
        for req in group {
            let current = match versions.get(req.stream.as_str()) {
                Some(v) => *v,
                None => state.version(&req.stream),
            };
            if !req.expected.admits(current) {
                answers.push(Err(current));
                continue;
            }
            let first_position = head + 1;
            let mut version = current;
            for e in &req.events {
                version += 1;
                head += 1;
                let rec = RecordedEvent {
                    event_id: e.event_id,
                    stream_id: req.stream.clone(),
                    stream_version: version,
                    position: head,
                    recorded_at_ms: now,
                    event_type: e.event_type.clone(),
                    schema_version: e.schema_version,
                    actor: e.actor.clone(),
                    correlation_id: e.correlation_id.unwrap_or(e.event_id),
                    causation_id: e.causation_id,
                    payload: e.payload.clone(),
                    prev_hash: prev,
                    hash: [0; HASH_LEN],
                };
                let (bytes, hash) = record::encode(&rec);
                prev = hash;
                records.push(Bytes::from(bytes));
            }
            versions.insert(&req.stream, version);
            answers.push(Ok(Appended {
                first_position,
                last_position: head,
                stream_version: version,
            }));
        }
        Ok(Plan {
            fence: state.head,
            records,
            last_hash: prev,
            answers,
        })
    }

    /// Publishes `records` after stream sequence `fence` until the outcome
    /// is known: `true` when they are stored (and applied here), `false`
    /// when other records follow the fence (caught up here), so these can
    /// never be. An attempt in doubt (no answer) is settled by looking at
    /// the stream: the same records at the same positions end in `last_hash`.
    async fn publish(
        &self,
        fence: u64,
        records: Vec<Bytes>,
        last_hash: [u8; HASH_LEN],
        deadline: Instant,
    ) -> Result<bool, LogError> {
        let end = fence + records.len() as u64;
        let mut in_doubt = false;
        let mut pause = Duration::from_millis(20);
        loop {
            match batch::publish(&self.client, &self.subject, fence, records.clone()).await {
                Ok(_) => {
                    for (seq, bytes) in (fence + 1..).zip(&records) {
                        self.shared.apply(seq, bytes)?;
                    }
                    return Ok(true);
                }
                Err(Failure::Refused(e)) => return Err(e),
                Err(Failure::Fenced(_)) if Instant::now() >= deadline => {
                    return Err(LogError::storage(
                        "the fence kept failing until the deadline",
                    ));
                }
                Err(Failure::Fenced(Some(last))) if !in_doubt && last > fence => {
                    // Records of another process follow the fence: these
                    // can never land, so plan again after them.
                    self.catch_up_to(last, deadline).await?;
                    return Ok(false);
                }
                // After an attempt in doubt, or an answer that lags: look again shortly.
                Err(Failure::Fenced(_)) => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(Failure::InDoubt(why)) => {
                    tracing::warn!(fence, %why, "batch outcome unknown; looking and retrying");
                    if Instant::now() >= deadline {
                        return Err(LogError::storage(format!("JetStream unavailable: {why}")));
                    }
                    in_doubt = true;
                    self.shared.in_doubt.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
            }
            self.catch_up(deadline).await?;
            if in_doubt && self.hash_at(end).await? == Some(last_hash) {
                return Ok(true);
            }
            if self.shared.lock().head != fence {
                return Ok(false);
            }
        }
    }

    /// True when the stream's last sequence is still `fence` (so decisions
    /// made on it are current); else catches up and returns false.
    async fn is_current(&self, fence: u64, deadline: Instant) -> Result<bool, LogError> {
        let last = self.until(deadline, || self.log.last_sequence()).await?;
        if last == fence {
            return Ok(true);
        }
        if last < fence {
            // An answer older than what this process applied: ask again.
            if Instant::now() >= deadline {
                return Err(LogError::storage(format!(
                    "the stream answers last sequence {last}, behind {fence} applied here"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            return Ok(false);
        }
        self.catch_up(deadline).await?;
        Ok(false)
    }

    /// Applies every record up to the stream's last sequence, retrying
    /// through an unavailable server until `deadline`.
    async fn catch_up(&self, deadline: Instant) -> Result<(), LogError> {
        let last = self.until(deadline, || self.log.last_sequence()).await?;
        self.catch_up_to(last, deadline).await
    }

    /// Applies every record up to `last`: whatever the follower (which
    /// streams them anyway) has not brought within a moment is fetched.
    async fn catch_up_to(&self, last: u64, deadline: Instant) -> Result<(), LogError> {
        let mut head = self.shared.subscribe();
        let brought = head.wait_for(|h| *h >= last);
        let _ = tokio::time::timeout(Duration::from_millis(50), brought).await;
        loop {
            let next = self.shared.lock().head + 1;
            if next > last {
                return Ok(());
            }
            let bytes = self.until(deadline, || self.log.record(next)).await?;
            self.shared.apply(next, &bytes)?;
        }
    }

    /// The hash of the record at `seq`, or `None` when it is not applied here.
    async fn hash_at(&self, seq: u64) -> Result<Option<[u8; HASH_LEN]>, LogError> {
        if self.shared.lock().head < seq {
            return Ok(None);
        }
        let bytes = self.log.record(seq).await?;
        Ok(bytes.get(..HASH_LEN).and_then(|h| h.try_into().ok()))
    }

    /// `op`, retried with a growing pause while it fails and `deadline` is ahead.
    async fn until<T, F, Fut>(&self, deadline: Instant, op: F) -> Result<T, LogError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, LogError>>,
    {
        let mut pause = Duration::from_millis(20);
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(e) => tracing::debug!(%e, "JetStream not ready; retrying"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

/// The same error for another appender of a failed group.
fn copy(e: &LogError) -> LogError {
    match e {
        LogError::Conflict {
            stream,
            expected,
            actual,
        } => LogError::Conflict {
            stream: stream.clone(),
            expected: *expected,
            actual: *actual,
        },
        LogError::Corrupt { position, reason } => LogError::Corrupt {
            position: *position,
            reason: reason.clone(),
        },
        LogError::Locked { path } => LogError::Locked { path: path.clone() },
        LogError::TooLarge { size, max } => LogError::TooLarge {
            size: *size,
            max: *max,
        },
        LogError::Invalid(s) => LogError::Invalid(s.clone()),
        LogError::Storage(source) => LogError::Storage(source.clone()),
        LogError::Closed => LogError::Closed,
        LogError::Overloaded { queued } => LogError::Overloaded { queued: *queued },
    }
}
