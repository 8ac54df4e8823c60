//! A shared backend of `aduan-log`: the event log as one NATS JetStream
//! stream that any number of processes append to, each through its own
//! [`JetStreamLog`].
//!
//! **Records.** Each message is one record exactly as
//! [`aduan_log::record`] encodes it (hash ‖ body with the
//! previous record's hash), and a record's position is its stream sequence,
//! 1..N without gaps: the stream denies delete and purge, and a refused
//! batch takes no sequence. So an export from sled imports here with every
//! position and hash kept, and back, and `verify` gives the same head.
//!
//! **Order across processes.** Every append is fenced on the whole stream:
//! a process plans its queued appends (group commit) on the head it knows,
//! chains their records after that head's hash and publishes them as ONE
//! atomic batch (ADR-50, `allow_atomic`) whose first message carries
//! `Nats-Expected-Last-Sequence` = that head. The server stores the whole
//! batch or nothing, and only if no one appended since; the whole-stream
//! expectation is checked when the batch is applied, so it holds on R3
//! (unlike the per-subject one before nats-server 2.9.21, #4320). When the
//! fence fails, the process catches up from the stream (new records, its
//! stream index, the last hash), re-checks every append's expected version
//! (a real conflict is `LogError::Conflict`) and tries again. A conflict is
//! answered only from a state the stream confirmed current. Per-stream
//! versions live in an in-memory index rebuilt from the stream on open: the
//! records must all be read then anyway to check the chain, and stream ids
//! need no encoding into subject tokens.
//!
//! **Retries.** A batch whose answer is lost (timeout, leader election,
//! reconnect) is settled by looking: after catching up, the record at the
//! batch's last position either ends in the batch's last hash (it landed)
//! or does not (it never can: the fence has moved), and only then is it
//! retried, with the same bytes. `Nats-Msg-Id` dedupe is not used (atomic
//! batches refuse it, and its window is only two minutes).
//!
//! **Others' appends.** A follower task (an ordered consumer) applies every
//! record from every process, so [`EventLog::head`] and subscriptions see
//! appends made elsewhere.
//!
//! **Durability.** [`Replicas::Three`] acknowledges once a majority of
//! three servers stored a batch. An acknowledgement survives power loss only
//! when the servers run `jetstream { sync_interval: always }` (nats-server
//! 2.10+; the default syncs every 2 minutes). The servers also need
//! `max_payload` above 1 MiB (its default): aduan's largest payload is
//! 1 MiB and a record adds its envelope. Atomic batches need nats-server
//! 2.12+; the tests run 2.15.1.
//!
//! **Measured** (`tests/measure.rs`: a debug build of this crate, a
//! 2-core machine shared with other builds, every node `sync_interval:
//! always`, 256-byte payloads, each appender version-checked on its own
//! stream), durable appends per second:
//!
//! | appenders | R3, three nodes | R1, one node |
//! | --- | --- | --- |
//! | 1 instance × 1 | 643 | 1,082 |
//! | 1 instance × 16 | 3,310 | 247 |
//! | 1 instance × 256 | 8,401 | 4,582 |
//! | 4 instances × 16 (separate connections) | 1,513 | 112 |
//!
//! An atomic batch commit took about 30 ms on an R1 stream of nats-server
//! 2.15.1 here (a plain publish about 1 ms), hence the slow R1 rows with
//! more than one record per batch; a batch of one record is therefore sent
//! as a plain publish with the same fence. Writers in several processes
//! pay a fence failure and a catch-up (the follower's records, or fetched
//! ones after 50 ms) for every batch another process committed first.
//! Killing the R3 stream leader under 8 appenders stopped acknowledgements
//! for 8.0 to 8.1 s in four runs of `tests/failover.rs` (a Raft election
//! takes 4–9 s, and a commit in flight to the dead leader waits 3 s for its
//! answer before it is settled by looking), with no acknowledged append
//! lost or stored twice.
//!
//! Opening reads every record to rebuild the stream index and check the
//! chain: 50,000 records took about 5 s (9,583 records/s on R1, 11,685 on
//! R3), so a large log opens slowly until the index is snapshotted (not done
//! here; a subject per complaint stream with last-by-subject lookups would
//! avoid the scan, at the cost of encoding stream ids into subject tokens).
//!
//! **Limits.** Nothing makes the fence fair between processes: a process
//! whose batches keep losing to others retries for `retry_for` (30 s by
//! default) and then answers `LogError::Storage`. An append holds at most
//! `max_batch` events (≤ 1,000, the server's batch ceiling). An import is checked whole first, then stored
//! in batches of `max_batch` records, each fenced on the one before: a
//! failure between two of them leaves the earlier ones stored (a retry of
//! the rest continues at the head). Reads of records older than the cache
//! (`cache_bytes`) are one request per record to the stream's leader.
//!
//! It does not choose the server, credentials or TLS (the caller connects
//! the `async_nats::Client`); the `aduan` binary selects it with `--log jetstream`.

use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use aduan_log::record;
use aduan_log::{
    check_append, Appended, EventLog, ExpectedVersion, LogError, NewEvent, RecordedEvent,
};

mod batch;
mod follower;
mod options;
mod state;
mod stream;
mod writer;

pub use options::{JetStreamOptions, Replicas};
use state::Shared;
use stream::LogStream;
use writer::{AppendRequest, Request, Writer};

/// Records one read fetches at once.
const READ_AHEAD: usize = 32;

/// The JetStream-backed event log, as one process sees it. Cheap to clone;
/// the last clone dropped (or [`JetStreamLog::close`]) stops its tasks.
#[derive(Clone)]
pub struct JetStreamLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JetStreamLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamLog")
            .field("stream", &self.stream())
            .field("head", &*self.inner.shared.subscribe().borrow())
            .finish_non_exhaustive()
    }
}

struct Inner {
    log: LogStream,
    shared: Arc<Shared>,
    // A std Mutex: held only to clone or take the sender, never across an await.
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    queue: usize,
    max_batch: usize,
    writer: Mutex<Option<JoinHandle<()>>>,
    follower: JoinHandle<()>,
}

impl JetStreamLog {
    /// Opens the log in `opts.stream` over `client` (creating the stream
    /// when missing), reads every record to rebuild the stream index and
    /// check the chain, and starts the writer and the follower.
    pub async fn open(
        client: async_nats::Client,
        opts: JetStreamOptions,
    ) -> Result<Self, LogError> {
        if !(1..=1000).contains(&opts.max_batch) {
            return Err(LogError::Invalid("max_batch must be 1 to 1000".into()));
        }
        let deadline = tokio::time::Instant::now() + opts.retry_for;
        let log = LogStream::ensure(client.clone(), &opts).await?;
        let shared = Arc::new(Shared::new(opts.cache_bytes));
        let writer = Writer {
            client: client.clone(),
            subject: opts.subject.clone().into(),
            log: log.clone(),
            shared: shared.clone(),
            max_batch: opts.max_batch,
            max_batch_bytes: opts.max_batch_bytes,
            retry_for: opts.retry_for,
            clock: opts.clock.clone(),
        };
        let js = follower::context(client);
        let follower = tokio::spawn(follower::follow(js, opts.stream.clone(), shared.clone()));
        let opened = Self::wait_for_tail(&writer, deadline).await;
        if let Err(e) = opened {
            follower.abort();
            return Err(e);
        }
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let head = shared.lock().head;
        let writer = tokio::spawn(writer.run(rx));
        tracing::info!(stream = %opts.stream, head, "JetStream event log open");
        Ok(Self {
            inner: Arc::new(Inner {
                log,
                shared,
                tx: Mutex::new(Some(tx)),
                queue: opts.queue.max(1),
                max_batch: opts.max_batch,
                writer: Mutex::new(Some(writer)),
                follower,
            }),
        })
    }

    /// Waits until the follower has applied the stream up to its last
    /// sequence at open, or a broken chain stops it.
    async fn wait_for_tail(
        writer: &Writer,
        deadline: tokio::time::Instant,
    ) -> Result<(), LogError> {
        let last = loop {
            match writer.log.last_sequence().await {
                Ok(last) => break last,
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        let mut head = writer.shared.subscribe();
        loop {
            writer.shared.lock().check_intact()?;
            if *head.borrow_and_update() >= last {
                return Ok(());
            }
            let changed = tokio::time::timeout_at(deadline, head.changed()).await;
            if changed.is_err() {
                return Err(LogError::storage(format!(
                    "reading the log's {last} records did not finish in time"
                )));
            }
        }
    }

    /// Stops taking appends, lets the writer finish what it holds, and stops the follower.
    pub async fn close(&self) {
        if let Ok(mut tx) = self.inner.tx.lock() {
            tx.take();
        }
        let writer = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = writer {
            let _ = w.await;
        }
        self.inner.follower.abort();
    }

    /// How many batches of this process lost their answer (a timeout, a
    /// leader election) and were settled by looking at the stream.
    pub fn batches_in_doubt(&self) -> u64 {
        self.inner
            .shared
            .in_doubt
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The JetStream stream holding the log.
    pub fn stream(&self) -> &str {
        self.inner.log.name()
    }

    fn send(&self, req: Request) -> Result<(), LogError> {
        let tx = {
            let guard = self.inner.tx.lock().map_err(|_| LogError::Closed)?;
            guard.clone().ok_or(LogError::Closed)?
        };
        tx.try_send(req).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => LogError::Overloaded {
                queued: self.inner.queue,
            },
            mpsc::error::TrySendError::Closed(_) => LogError::Closed,
        })
    }

    /// The records at `positions`, in order: from the cache of recent
    /// records, else fetched from the stream a few at a time.
    async fn fetch(&self, positions: Vec<u64>) -> Result<Vec<RecordedEvent>, LogError> {
        let cached: Vec<_> = {
            let state = self.inner.shared.lock();
            positions.iter().map(|p| (*p, state.cached(*p))).collect()
        };
        futures::stream::iter(cached)
            .map(|(p, bytes)| async move {
                let bytes = match bytes {
                    Some(b) => b,
                    None => self.inner.log.record(p).await?,
                };
                record::decode(p, &bytes)
            })
            .buffered(READ_AHEAD)
            .try_collect()
            .await
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The writer ends on its own once the sender is gone (with this).
        self.follower.abort();
    }
}

impl EventLog for JetStreamLog {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Appended, LogError> {
        check_append(stream, &events)?;
        if events.len() > self.inner.max_batch {
            return Err(LogError::Invalid(format!(
                "an append may hold at most {} events (one atomic batch)",
                self.inner.max_batch
            )));
        }
        let (reply, rx) = oneshot::channel();
        self.send(Request::Append(AppendRequest {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
        }))?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, LogError> {
        let positions = {
            let state = self.inner.shared.lock();
            let from = from_version.max(1) as usize - 1;
            let all = state.streams.get(stream).map_or(&[][..], Vec::as_slice);
            all.get(from..).unwrap_or_default().to_vec()
        };
        let events = self.fetch(positions).await?;
        for (e, version) in events.iter().zip(from_version.max(1)..) {
            if e.stream_id != stream || e.stream_version != version {
                return Err(LogError::Corrupt {
                    position: e.position,
                    reason: "record does not match its stream index entry".into(),
                });
            }
        }
        Ok(events)
    }

    async fn read_all(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, LogError> {
        let head = self.inner.shared.lock().head;
        let from = from.max(1);
        if from > head || max == 0 {
            return Ok(Vec::new());
        }
        let to = head.min(from.saturating_add(max as u64 - 1));
        self.fetch((from..=to).collect()).await
    }

    fn head(&self) -> watch::Receiver<u64> {
        self.inner.shared.subscribe()
    }

    async fn import(&self, events: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Import { events, reply })?;
        rx.await.map_err(|_| LogError::Closed)?
    }
}
