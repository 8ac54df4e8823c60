//! The fenced OPD inbox sink of an elected router: every assignment is
//! published to `ADUAN_OPD` with `Nats-Expected-Last-Sequence` = the stream's
//! last sequence as this router knows it, so the server stores it only if
//! nobody wrote to the stream since this router last looked. One task owns
//! that knowledge (the fence) and publishes the lanes' assignments in
//! batches, each message expecting the one before it; the lanes talk to it
//! through the cloneable [`FencedSink`] handle.
//!
//! When the server refuses a publish (another router wrote, or a lost ack
//! left the fence behind), the router re-checks its lease by renewing it:
//! if that fails it stops publishing and stands by; if it still holds the
//! lease it reads what was stored since its fence (adding those message
//! ids to the ones it will not publish again), moves the fence to the end
//! and tries again. So a router publishes a message only after it has seen
//! every message stored before it since it took over, and never publishes
//! an assignment the stream holds among those, whatever JetStream's
//! duplicate window says.

use std::collections::HashSet;
use std::time::Duration;

use aduan_bus::Subjects;
use aduan_domain::OrgCode;
use aduan_proto::v1;
use async_nats::jetstream::{self, context::PublishErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use prost::Message;
use tokio::sync::{mpsc, oneshot};

use crate::lease::Lease;
use crate::sink::{ensure_stream, AssignmentSink, InboxStream, JetStreamSink};
use crate::RouterError;

/// Header naming the log position of the event an assignment comes from.
pub const POSITION_HEADER: &str = "Aduan-Position";
/// Header naming the router (lease holder) that published an assignment.
pub const ROUTER_HEADER: &str = "Aduan-Router";
/// Assignments published in one fenced batch at most.
const BATCH: usize = 256;
/// Rounds of refusal, re-check and catch-up for one batch before its
/// assignments are answered with an error (the lanes retry with backoff).
const ROUNDS: usize = 3;

/// What the stream showed when this router took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// The stream's last sequence: the fence.
    pub last_sequence: u64,
    /// The highest log position named by the messages read (None: none named one).
    pub max_position: Option<u64>,
    /// Messages the stream held.
    pub messages: u64,
}

/// The fenced sink: a handle to the task that publishes for this router.
#[derive(Debug, Clone)]
pub struct FencedSink {
    tx: mpsc::Sender<Op>,
    lease: Lease,
    subjects: Subjects,
}

enum Op {
    Publish(Publish),
    TakeOver(oneshot::Sender<Result<Tail, RouterError>>),
    Holds(String, oneshot::Sender<bool>),
}

struct Publish {
    subject: String,
    msg_id: String,
    position: u64,
    payload: Bytes,
    done: oneshot::Sender<Result<(), RouterError>>,
}

impl FencedSink {
    /// Creates `ADUAN_OPD` as `options` say when missing (an existing one is
    /// brought to its subjects and duplicate window) and starts the
    /// publisher, which publishes nothing until [`FencedSink::take_over`].
    pub async fn new(
        client: async_nats::Client,
        subjects: Subjects,
        options: InboxStream,
        lease: Lease,
    ) -> Result<Self, RouterError> {
        let js = jetstream::new(client);
        let (stream, _) = ensure_stream(&js, &subjects, &options).await?;
        let publisher = Publisher {
            js,
            stream,
            lease: lease.clone(),
            held: HashSet::new(),
            fence: None,
        };
        let (tx, rx) = mpsc::channel(crate::service::MAX_IN_FLIGHT);
        tokio::spawn(publisher.run(rx));
        Ok(Self {
            tx,
            lease,
            subjects,
        })
    }

    /// The lease this sink publishes under.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// Reads the stream's last [`JetStreamSink::RECENT`] messages (the
    /// assignments a new active router may meet again) and sets the fence
    /// at its last sequence; only while the lease is held.
    pub async fn take_over(&self) -> Result<Tail, RouterError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Op::TakeOver(tx))
            .await
            .map_err(|_| RouterError::NotActive)?;
        rx.await.map_err(|_| RouterError::NotActive)?
    }
}

impl AssignmentSink for FencedSink {
    async fn publish(
        &self,
        org: &OrgCode,
        msg_id: &str,
        a: &v1::Assignment,
    ) -> Result<(), RouterError> {
        self.publish_at(org, msg_id, 0, a).await
    }

    async fn publish_at(
        &self,
        org: &OrgCode,
        msg_id: &str,
        position: u64,
        a: &v1::Assignment,
    ) -> Result<(), RouterError> {
        let (done, rx) = oneshot::channel();
        let op = Op::Publish(Publish {
            subject: self.subjects.opd_inbox(org.as_str()),
            msg_id: msg_id.to_owned(),
            position,
            payload: a.encode_to_vec().into(),
            done,
        });
        self.tx.send(op).await.map_err(|_| RouterError::NotActive)?;
        rx.await.map_err(|_| RouterError::NotActive)?
    }

    async fn holds(&self, msg_id: &str) -> Result<bool, RouterError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Op::Holds(msg_id.to_owned(), tx))
            .await
            .map_err(|_| RouterError::NotActive)?;
        rx.await.map_err(|_| RouterError::NotActive)
    }
}

/// The task that owns the fence.
struct Publisher {
    js: jetstream::Context,
    stream: jetstream::stream::Stream,
    lease: Lease,
    /// Message ids stored in the stream since the tail read at takeover.
    held: HashSet<String>,
    /// The stream's last sequence as this router knows it; None before a
    /// takeover and after a lost lease.
    fence: Option<u64>,
}

impl Publisher {
    async fn run(mut self, mut rx: mpsc::Receiver<Op>) {
        while let Some(op) = rx.recv().await {
            let first = match op {
                Op::TakeOver(reply) => {
                    let _ = reply.send(self.take_over().await);
                    continue;
                }
                Op::Holds(id, reply) => {
                    let _ = reply.send(self.held.contains(&id));
                    continue;
                }
                Op::Publish(p) => p,
            };
            let mut batch = vec![first];
            let mut later = None;
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(Op::Publish(p)) => batch.push(p),
                    Ok(other) => {
                        later = Some(other);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.publish(batch).await;
            match later {
                Some(Op::TakeOver(reply)) => {
                    let _ = reply.send(self.take_over().await);
                }
                Some(Op::Holds(id, reply)) => {
                    let _ = reply.send(self.held.contains(&id));
                }
                _ => {}
            }
        }
    }

    async fn take_over(&mut self) -> Result<Tail, RouterError> {
        if !self.lease.is_held() {
            return Err(RouterError::NotActive);
        }
        let info = self.stream.info().await.map_err(|e| stream_failed(&e))?;
        let state = info.state.clone();
        self.held.clear();
        self.fence = None;
        let mut max_position = None;
        if state.messages > 0 {
            let start = state
                .last_sequence
                .saturating_sub(JetStreamSink::RECENT - 1)
                .max(state.first_sequence);
            max_position = self.read(start, state.last_sequence).await?;
        }
        self.fence = Some(state.last_sequence);
        Ok(Tail {
            last_sequence: state.last_sequence,
            max_position,
            messages: state.messages,
        })
    }

    /// Publishes `batch` behind the fence, re-checking and catching up on
    /// refusals; answers every assignment in it.
    async fn publish(&mut self, mut batch: Vec<Publish>) {
        for _ in 0..ROUNDS {
            // The clock check: a lease older than its TTL publishes nothing.
            let Some(fence) = self.fence.filter(|_| self.lease.is_held()) else {
                self.fence = None;
                return answer(batch, || RouterError::NotActive);
            };
            let (known, todo): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .partition(|p| self.held.contains(&p.msg_id));
            answer_ok(known);
            if todo.is_empty() {
                return;
            }
            let (failed, refused) = self.send(fence, todo).await;
            if failed.is_empty() && !refused {
                return;
            }
            batch = failed;
            // Someone else wrote, or our fence is behind: still ours?
            match self.lease.renew().await {
                Ok(true) => {}
                Ok(false) | Err(_) => {
                    tracing::warn!(
                        "the OPD stream refused a publish and the lease is lost: standing by"
                    );
                    self.fence = None;
                    return answer(batch, || RouterError::NotActive);
                }
            }
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "reading the OPD stream after a refusal failed");
                let msg = e.to_string();
                return answer(batch, || publish_failed(&msg));
            }
        }
        answer(batch, || publish_failed("refused by the OPD stream"));
    }

    /// Sends `todo` pipelined, each expecting the one before; the ones not
    /// stored, and whether the fence must be re-checked.
    async fn send(&mut self, fence: u64, todo: Vec<Publish>) -> (Vec<Publish>, bool) {
        let mut acks = Vec::with_capacity(todo.len());
        for (i, p) in todo.iter().enumerate() {
            let mut h = async_nats::HeaderMap::new();
            h.insert("Nats-Msg-Id", p.msg_id.as_str());
            h.insert(
                "Nats-Expected-Last-Sequence",
                (fence + i as u64).to_string().as_str(),
            );
            h.insert(POSITION_HEADER, p.position.to_string().as_str());
            h.insert(ROUTER_HEADER, self.lease.holder());
            let sent = self
                .js
                .publish_with_headers(p.subject.clone(), h, p.payload.clone())
                .await;
            acks.push(sent);
        }
        let mut failed = Vec::new();
        let mut recheck = false;
        for (p, sent) in todo.into_iter().zip(acks) {
            let acked = match sent {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            };
            match acked {
                Ok(ack) => {
                    if ack.duplicate {
                        // Stored before: the fence did not move, so the
                        // rest of the batch expected too much.
                        recheck = true;
                    } else {
                        self.fence = Some(ack.sequence);
                    }
                    self.held.insert(p.msg_id.clone());
                    let _ = p.done.send(Ok(()));
                }
                Err(e) => {
                    if e.kind() == PublishErrorKind::WrongLastSequence {
                        tracing::debug!(msg_id = %p.msg_id, "the OPD stream refused a publish: wrong last sequence");
                    } else {
                        tracing::warn!(msg_id = %p.msg_id, error = %e, "publishing an assignment failed");
                    }
                    recheck = true;
                    failed.push(p);
                }
            }
        }
        (failed, recheck)
    }

    /// Reads what the stream stored after the fence and moves the fence to its end.
    async fn catch_up(&mut self) -> Result<(), RouterError> {
        let fence = self.fence.ok_or(RouterError::NotActive)?;
        let info = self.stream.info().await.map_err(|e| stream_failed(&e))?;
        let last = info.state.last_sequence;
        if last > fence {
            self.read(fence + 1, last).await?;
        }
        self.fence = Some(last);
        Ok(())
    }

    /// Adds the message ids of sequences `from..=to` to `held`; the highest
    /// log position they name.
    async fn read(&mut self, from: u64, to: u64) -> Result<Option<u64>, RouterError> {
        let consumer = self
            .stream
            .create_consumer(jetstream::consumer::pull::OrderedConfig {
                deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                },
                ..Default::default()
            })
            .await
            .map_err(|e| stream_failed(&e))?;
        let mut messages = consumer.messages().await.map_err(|e| stream_failed(&e))?;
        let mut max_position = None;
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), messages.next())
                .await
                .map_err(|_| stream_failed(&"timed out reading the stream"))?;
            let Some(m) = next else { break };
            let m = m.map_err(|e| stream_failed(&e))?;
            if let Some(h) = m.headers.as_ref() {
                if let Some(id) = h.get("Nats-Msg-Id") {
                    self.held.insert(id.to_string());
                }
                let position = h.get(POSITION_HEADER).and_then(|p| p.as_str().parse().ok());
                max_position = max_position.max(position);
            }
            if m.info().map_err(|e| stream_failed(&e))?.stream_sequence >= to {
                break;
            }
        }
        Ok(max_position)
    }
}

fn answer(batch: Vec<Publish>, err: impl Fn() -> RouterError) {
    for p in batch {
        let _ = p.done.send(Err(err()));
    }
}

fn answer_ok(batch: Vec<Publish>) {
    for p in batch {
        let _ = p.done.send(Ok(()));
    }
}

fn stream_failed(e: &dyn std::fmt::Display) -> RouterError {
    RouterError::Stream {
        stream: JetStreamSink::STREAM.to_owned(),
        message: e.to_string(),
    }
}

fn publish_failed(message: &str) -> RouterError {
    RouterError::Publish {
        subject: JetStreamSink::STREAM.to_owned(),
        message: message.to_owned(),
    }
}
