//! The router service: tails the log from its durable checkpoint, hands each
//! complaint event to one of a fixed set of lanes (by complaint id, so the
//! events of one complaint are handled in order while different complaints
//! proceed together and share the log's group commits), and scans deadlines.
//!
//! The checkpoint moves past an event only after that event's effect is done
//! and every earlier event's too (appended, or acknowledged by the sink), so
//! a crash anywhere repeats work but never loses it; every repeat is
//! idempotent (the fold shows the routing done, the sink dedupes on the
//! event id). A published rule set takes effect for every event after it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use aduan_complaints::{At, ComplaintStore};
use aduan_domain::{ComplaintId, SharedClock, RULESET_STREAM};
use aduan_log::{EventLog, LogError, RecordedEvent};
use aduan_rules::RuleSet;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::folded::Folded;
use crate::sink::AssignmentSink;
use crate::store::Store;
use crate::worker::{Step, Worker};
use crate::RouterError;

/// Lanes handling complaints concurrently.
const LANES: usize = 64;
/// Deliveries a lane keeps track of before it forgets the finished ones.
const MAX_DELIVERING: usize = 256;
/// Complaints each lane keeps folded: a complaint's next event usually comes
/// within the events in flight (`MAX_IN_FLIGHT` over `LANES`, 64 a lane),
/// its `Routed` right after the `Received` the lane routed.
const FOLDED: usize = 256;
/// Events read ahead of the checkpoint at most.
pub(crate) const MAX_IN_FLIGHT: usize = 4096;
/// Events before the checkpoint whose assignments are checked at start:
/// those the inbox server acknowledged before it synced them to disk (2.9
/// syncs every minute, later versions every two) and may have lost.
pub(crate) const RECHECK: u64 = 4096;

/// How the router runs.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// The time deadlines are computed and judged by.
    pub clock: SharedClock,
    /// How often the deadline scanner looks for passed deadlines.
    pub scan_interval: Duration,
    /// The actor recorded on the events the router appends.
    pub actor: String,
    /// The longest pause between attempts to publish one assignment.
    pub max_backoff: Duration,
}

impl RouterConfig {
    /// Defaults: scan every 5 s, actor `aduan:router`, back off up to 5 s.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            scan_interval: Duration::from_secs(5),
            actor: "aduan:router".to_owned(),
            max_backoff: Duration::from_secs(5),
        }
    }
}

type Outcome = Result<bool, RouterError>;

/// One complaint event for a lane, with the rule set in force at it.
struct Job {
    id: ComplaintId,
    event: RecordedEvent,
    rules: Option<Arc<RuleSet>>,
    done: oneshot::Sender<Outcome>,
}

/// Runs the router until `shutdown` turns true (or the log closes); its
/// checkpoint and deadline index live in `views`.
pub async fn run<L, S>(
    log: L,
    views: &aduan_kv::Db,
    sink: S,
    config: RouterConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(), RouterError>
where
    L: EventLog + Clone,
    S: AssignmentSink,
{
    let store = Store::open(views)?;
    phase(&log, store, sink, config, Mode::Active, shutdown).await
}

/// Whether the router acts or only follows the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Routes, publishes, escalates and closes.
    Active,
    /// Keeps its deadline index and rules in force current and its
    /// checkpoint at the head; appends and publishes nothing.
    Standby,
}

/// Runs the router in `mode` from its checkpoint until `stop` turns true
/// (or the log closes).
pub(crate) async fn phase<L, S>(
    log: &L,
    store: Store,
    sink: S,
    config: RouterConfig,
    mode: Mode,
    shutdown: watch::Receiver<bool>,
) -> Result<(), RouterError>
where
    L: EventLog + Clone,
    S: AssignmentSink,
{
    let checkpoint = store.checkpoint()?;
    let complaints = ComplaintStore::new(log.clone(), config.clock.clone());
    let rules = complaints.rules_in_force(At::Position(checkpoint)).await?;
    tracing::info!(checkpoint, ?mode, ruleset = ?rules.as_ref().map(|r| r.version().to_owned()), "router starting");
    let scan_interval = config.scan_interval;
    let worker = Arc::new(Worker {
        complaints,
        store,
        sink,
        stop: shutdown.clone(),
        config,
        mode,
    });
    if mode == Mode::Active {
        worker.recheck(log, checkpoint, RECHECK).await?;
    }
    let mut lanes = JoinSet::new();
    let senders: Vec<mpsc::Sender<Job>> = (0..LANES)
        .map(|_| {
            let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
            lanes.spawn(lane(worker.clone(), rx));
            tx
        })
        .collect();
    let tail = Tail {
        worker: worker.clone(),
        senders,
        rules,
        pending: VecDeque::new(),
    };
    let result = tail
        .run(log.subscribe(checkpoint + 1), scan_interval, shutdown)
        .await;
    // The tail dropped the lanes' senders: each finishes its job and ends.
    while lanes.join_next().await.is_some() {}
    let checkpoint = worker.store.checkpoint()?;
    if mode == Mode::Active {
        worker.store.set_acted(checkpoint)?;
    }
    tracing::info!(checkpoint, ?mode, "router stopped");
    result
}

/// Handles one lane's jobs in order. An assignment is delivered by a task of
/// its own while the lane goes on with other complaints; the next event of
/// the same complaint waits for it, so one complaint's assignments reach
/// the inbox in the order they were made.
async fn lane<L: EventLog + Clone, S: AssignmentSink>(
    worker: Arc<Worker<L, S>>,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut delivering: HashMap<ComplaintId, JoinHandle<()>> = HashMap::new();
    let mut folded = Folded::new(FOLDED);
    while let Some(job) = rx.recv().await {
        if let Some(earlier) = delivering.remove(&job.id) {
            let _ = earlier.await;
        }
        let outcome = match worker
            .handle(&job.id, &job.event, job.rules.as_deref(), &mut folded)
            .await
        {
            Ok(Step::Done) => Ok(true),
            Ok(Step::Deliver(d)) => {
                if delivering.len() >= MAX_DELIVERING {
                    delivering.retain(|_, task| !task.is_finished());
                }
                let (worker, id, done) = (worker.clone(), job.id, job.done);
                let task = tokio::spawn(async move {
                    let _ = done.send(worker.deliver(&id, *d).await);
                });
                delivering.insert(job.id, task);
                continue;
            }
            Err(e) => Err(e),
        };
        let _ = job.done.send(outcome);
    }
    for (_, task) in delivering {
        let _ = task.await;
    }
}

struct Tail<L, S> {
    worker: Arc<Worker<L, S>>,
    senders: Vec<mpsc::Sender<Job>>,
    rules: Option<Arc<RuleSet>>,
    /// Events read and dispatched, in log order, with their outcome to come.
    pending: VecDeque<(u64, oneshot::Receiver<Outcome>)>,
}

impl<L: EventLog + Clone, S: AssignmentSink> Tail<L, S> {
    async fn run(
        mut self,
        mut sub: aduan_log::Subscription<L>,
        scan_interval: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), RouterError> {
        let mut tick = tokio::time::interval(scan_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let room = self.pending.len() < MAX_IN_FLIGHT;
            tokio::select! {
                biased;
                _ = stopped(&mut stop) => return Ok(()),
                outcome = front(&mut self.pending), if !self.pending.is_empty() => {
                    let Some((position, _)) = self.pending.pop_front() else { continue };
                    match outcome {
                        Ok(Ok(true)) => {
                            if !self.advance(position)? {
                                return Ok(());
                            }
                        }
                        Ok(Err(e)) => return Err(e),
                        // Shutdown interrupted it, or its lane is gone.
                        Ok(Ok(false)) | Err(_) => return Ok(()),
                    }
                }
                _ = tick.tick() => if self.worker.mode == Mode::Active {
                    self.worker.scan(self.rules.as_deref()).await?
                },
                e = sub.next(), if room => match e {
                    Ok(e) => self.dispatch(e).await,
                    Err(LogError::Closed) => return Ok(()),
                    Err(e) => return Err(e.into()),
                },
            }
        }
    }

    /// Moves the checkpoint past `position`, whose effect is done, and past
    /// every event after it whose outcome is in and done too: one write for
    /// all of them. False when an outcome in says stop (the checkpoint stays
    /// before that event).
    fn advance(&mut self, mut position: u64) -> Result<bool, RouterError> {
        let mut go_on = Ok(true);
        while let Some((next, rx)) = self.pending.front_mut() {
            match rx.try_recv() {
                Ok(Ok(true)) => position = *next,
                Err(oneshot::error::TryRecvError::Empty) => break,
                Ok(Err(e)) => go_on = Err(e),
                // Shutdown interrupted it, or its lane is gone.
                Ok(Ok(false)) | Err(oneshot::error::TryRecvError::Closed) => go_on = Ok(false),
            }
            self.pending.pop_front();
            if !matches!(go_on, Ok(true)) {
                break;
            }
        }
        self.worker.store.set_checkpoint(position)?;
        go_on
    }

    /// Hands a complaint event to its lane; takes a rule set into force.
    async fn dispatch(&mut self, event: RecordedEvent) {
        let (done, outcome) = oneshot::channel();
        let position = event.position;
        match complaint_of(&event.stream_id) {
            Some(id) => {
                let lane = (id.uuid().as_u128() % LANES as u128) as usize;
                let job = Job {
                    id,
                    event,
                    rules: self.rules.clone(),
                    done,
                };
                // A lane ends only after the tail; if it is gone, the dropped
                // sender reads as "stop" at the front of `pending`.
                let _ = self.senders[lane].send(job).await;
            }
            None => {
                if event.stream_id == RULESET_STREAM {
                    self.adopt(&event);
                }
                let _ = done.send(Ok(true));
            }
        }
        self.pending.push_back((position, outcome));
    }

    /// Takes a published rule set into force for what follows in the log.
    fn adopt(&mut self, e: &RecordedEvent) {
        match self.worker.complaints.ruleset_of(e) {
            Ok(Some(rules)) => {
                tracing::info!(
                    version = rules.version(),
                    position = e.position,
                    "rule set in force"
                );
                self.rules = Some(rules);
            }
            // A rule set validated when published; one this build refuses
            // keeps the previous in force rather than stopping all routing
            // (the store logged why).
            Ok(None) => {}
            Err(err) => tracing::error!(position = e.position, error = %err, "ignoring a rule set"),
        }
    }
}

/// The outcome of the oldest event in flight.
async fn front(
    pending: &mut VecDeque<(u64, oneshot::Receiver<Outcome>)>,
) -> Result<Outcome, oneshot::error::RecvError> {
    match pending.front_mut() {
        Some((_, rx)) => rx.await,
        None => std::future::pending().await,
    }
}

/// The complaint a stream belongs to, if it is a complaint stream.
pub(crate) fn complaint_of(stream: &str) -> Option<ComplaintId> {
    ComplaintId::parse(stream.strip_prefix("complaint-")?).ok()
}

/// Resolves when shutdown is asked for (or its sender is gone); holds no
/// watch guard, so it can sit in a `select!` across awaits.
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}
