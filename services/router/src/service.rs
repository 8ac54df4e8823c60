//! The router service: tails the log from its durable checkpoint, routes
//! complaints that need an owner, hands every routing and escalation to the
//! sink, and scans deadlines. The checkpoint moves past an event only after
//! that event's effect is done (appended, or acknowledged by the sink), so a
//! crash anywhere repeats work but never loses it; every repeat is idempotent
//! (the fold shows the routing done, the sink dedupes on the event id).

use std::time::Duration;

use aduan_domain::calendar::unix_ms;
use aduan_domain::{
    Command, Complaint, ComplaintEvent, ComplaintId, SharedClock, RULESET_STREAM, SCHEMA_VERSION,
};
use aduan_log::{EventLog, LogError, NewEvent, RecordedEvent};
use aduan_rules::RuleSet;
use tokio::sync::watch;

use crate::assignment::assignment;
use crate::deadlines::{next_due, overdue};
use crate::routing::{facts, next_owner, route_command};
use crate::sink::AssignmentSink;
use crate::store::Store;
use crate::{publication, RouterError};

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

/// Runs the router until `shutdown` turns true (or the log closes).
pub async fn run<L, S>(
    log: L,
    views: &sled::Db,
    sink: S,
    config: RouterConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<(), RouterError>
where
    L: EventLog + Clone,
    S: AssignmentSink,
{
    let store = Store::open(views)?;
    let checkpoint = store.checkpoint()?;
    let rules = rules_at(&log, checkpoint).await?;
    tracing::info!(checkpoint, ruleset = ?rules.as_ref().map(|r| r.version().to_owned()), "router starting");
    let mut router = Router {
        log: log.clone(),
        store,
        sink,
        rules,
        stop: shutdown.clone(),
        config,
    };
    let mut sub = log.subscribe(checkpoint + 1);
    let mut tick = tokio::time::interval(router.config.scan_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = shutdown;
    loop {
        tokio::select! {
            biased;
            _ = stopped(&mut stop) => break,
            _ = tick.tick() => router.scan().await?,
            e = sub.next() => {
                let e = match e {
                    Ok(e) => e,
                    Err(LogError::Closed) => break,
                    Err(e) => return Err(e.into()),
                };
                if !router.handle(&e).await? {
                    break;
                }
                router.store.set_checkpoint(e.position)?;
            }
        }
    }
    tracing::info!(checkpoint = router.store.checkpoint()?, "router stopped");
    Ok(())
}

/// The rule set of the last publication at or before `position`.
async fn rules_at<L: EventLog>(log: &L, position: u64) -> Result<Option<RuleSet>, RouterError> {
    let events = log.read_stream(RULESET_STREAM, 1).await?;
    match events.iter().rev().find(|e| e.position <= position) {
        Some(e) => Ok(Some(RuleSet::load(&publication::decode(e)?.source)?)),
        None => Ok(None),
    }
}

struct Router<L, S> {
    log: L,
    store: Store,
    sink: S,
    rules: Option<RuleSet>,
    stop: watch::Receiver<bool>,
    config: RouterConfig,
}

impl<L: EventLog, S: AssignmentSink> Router<L, S> {
    /// Does one event's effect; false when shutdown interrupted it (the
    /// checkpoint must then stay before the event).
    async fn handle(&mut self, e: &RecordedEvent) -> Result<bool, RouterError> {
        if e.stream_id == RULESET_STREAM {
            self.adopt(e);
            return Ok(true);
        }
        let Some(id) = complaint_of(&e.stream_id) else {
            return Ok(true);
        };
        let event = match ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload) {
            Ok(ev) => ev,
            Err(err) => {
                tracing::error!(position = e.position, error = %err, "skipping an undecodable event");
                return Ok(true);
            }
        };
        let done = match event {
            ComplaintEvent::Received(_)
            | ComplaintEvent::RoutingRejected(_)
            | ComplaintEvent::Reopened(_) => {
                self.route(&id, e).await?;
                true
            }
            ComplaintEvent::Routed(_) | ComplaintEvent::Escalated(_) => {
                self.deliver(&id, e).await?
            }
            _ => true,
        };
        if !done {
            return Ok(false);
        }
        let complaint = self.fold(&id).await?.map(|(c, _)| c);
        let due = complaint.and_then(|c| next_due(self.rules.as_ref(), &c));
        self.store.set_due(&id, due)?;
        Ok(true)
    }

    /// Takes a published rule set into force for what follows in the log.
    fn adopt(&mut self, e: &RecordedEvent) {
        let loaded = publication::decode(e).and_then(|p| Ok(RuleSet::load(&p.source)?));
        match loaded {
            Ok(rules) => {
                tracing::info!(
                    version = rules.version(),
                    position = e.position,
                    "rule set in force"
                );
                self.rules = Some(rules);
            }
            // A rule set validated when published; one this build refuses
            // keeps the previous in force rather than stopping all routing.
            Err(err) => tracing::error!(position = e.position, error = %err, "ignoring a rule set"),
        }
    }

    /// Routes the complaint when it needs an owner; retries on a concurrent append.
    async fn route(&self, id: &ComplaintId, cause: &RecordedEvent) -> Result<(), RouterError> {
        loop {
            let Some((c, events)) = self.fold(id).await? else {
                return Ok(());
            };
            let ComplaintEvent::Received(received) = &events[0] else {
                return Ok(());
            };
            let Some(choice) = next_owner(self.rules.as_ref(), &c, &facts(received)) else {
                return Ok(());
            };
            let now = self.config.clock.now();
            let cmd = route_command(self.rules.as_ref(), choice, now);
            match self.record(id, &c, cmd, cause).await {
                Err(RouterError::Log(LogError::Conflict { .. })) => continue,
                other => return other,
            }
        }
    }

    /// Decides `cmd` on `c` and appends the result at `c`'s version.
    async fn record(
        &self,
        id: &ComplaintId,
        c: &Complaint,
        cmd: Command,
        cause: &RecordedEvent,
    ) -> Result<(), RouterError> {
        let name = cmd.name();
        let events = match c.decide(cmd, self.config.clock.now()) {
            Ok(events) => events,
            Err(rejection) => {
                // Not retried: the same state gives the same refusal.
                tracing::error!(complaint = %id, command = name, %rejection, "command refused");
                return Ok(());
            }
        };
        if events.is_empty() {
            return Ok(());
        }
        let new = events
            .into_iter()
            .map(|ev| NewEvent {
                schema_version: SCHEMA_VERSION,
                correlation_id: Some(cause.correlation_id),
                causation_id: Some(cause.event_id),
                ..NewEvent::new(ev.type_name(), self.config.actor.clone(), ev.encode())
            })
            .collect();
        let expected = aduan_log::ExpectedVersion::Exact(c.version);
        self.log.append(&id.stream(), expected, new).await?;
        tracing::info!(complaint = %id, command = name, "recorded");
        Ok(())
    }

    /// Hands the assignment made by `e` to the sink, retrying with backoff
    /// until it is acknowledged; false when shutdown came first.
    async fn deliver(&self, id: &ComplaintId, e: &RecordedEvent) -> Result<bool, RouterError> {
        let events = self.events(id, e.stream_version).await?;
        let Some((org, a)) = assignment(&events) else {
            return Ok(true);
        };
        let msg_id = e.event_id.to_string();
        let mut backoff = Duration::from_millis(50);
        let mut stop = self.stop.clone();
        loop {
            let result = tokio::select! {
                r = self.sink.publish(&org, &msg_id, &a) => r,
                _ = stopped(&mut stop) => return Ok(false),
            };
            let Err(err) = result else {
                return Ok(true);
            };
            tracing::warn!(complaint = %id, %org, error = %err, "publishing the assignment failed; retrying");
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {},
                _ = stopped(&mut stop) => return Ok(false),
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }

    /// Escalates or closes every complaint whose deadline has passed.
    async fn scan(&self) -> Result<(), RouterError> {
        let now = self.config.clock.now();
        for id in self.store.due(unix_ms(now))? {
            loop {
                let Some((c, _)) = self.fold(&id).await? else {
                    break;
                };
                let Some(cmd) = overdue(self.rules.as_ref(), &c, now) else {
                    break;
                };
                let cause = self.last_event(&id).await?;
                match self.record(&id, &c, cmd, &cause).await {
                    Err(RouterError::Log(LogError::Conflict { .. })) => continue,
                    other => {
                        other?;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// The complaint's stream decoded, up to `version` (0: all of it).
    async fn events(
        &self,
        id: &ComplaintId,
        version: u64,
    ) -> Result<Vec<ComplaintEvent>, RouterError> {
        let mut out = Vec::new();
        for r in self.log.read_stream(&id.stream(), 1).await? {
            if version != 0 && r.stream_version > version {
                break;
            }
            out.push(ComplaintEvent::decode(
                &r.event_type,
                r.schema_version,
                &r.payload,
            )?);
        }
        Ok(out)
    }

    /// The complaint's current state and events.
    async fn fold(
        &self,
        id: &ComplaintId,
    ) -> Result<Option<(Complaint, Vec<ComplaintEvent>)>, RouterError> {
        let events = self.events(id, 0).await?;
        Ok(Complaint::fold(&events).map(|c| (c, events)))
    }

    async fn last_event(&self, id: &ComplaintId) -> Result<RecordedEvent, RouterError> {
        let mut all = self.log.read_stream(&id.stream(), 1).await?;
        Ok(all.pop().unwrap_or_default())
    }
}

/// The complaint a stream belongs to, if it is a complaint stream.
fn complaint_of(stream: &str) -> Option<ComplaintId> {
    ComplaintId::parse(stream.strip_prefix("complaint-")?).ok()
}

/// Resolves when shutdown is asked for (or its sender is gone); holds no
/// watch guard, so it can sit in a `select!` across awaits.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}
