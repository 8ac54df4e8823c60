//! One complaint event's effect, shared by the router's lanes and its
//! deadline scanner: route a complaint that needs an owner, hand a routing or
//! escalation to the sink, escalate or close on a passed deadline, and keep
//! the deadline index current. Every effect is idempotent, so the same event
//! handled twice (after a crash) changes nothing more.

use std::time::Duration;

use aduan_domain::calendar::unix_ms;
use aduan_domain::{Command, Complaint, ComplaintEvent, ComplaintId, SCHEMA_VERSION};
use aduan_log::{EventLog, ExpectedVersion, LogError, NewEvent, RecordedEvent};
use aduan_rules::RuleSet;
use tokio::sync::watch;

use crate::assignment::assignment;
use crate::deadlines::{next_due, overdue};
use crate::routing::{facts, next_owner, route_command};
use crate::service::{stopped, RouterConfig};
use crate::sink::AssignmentSink;
use crate::store::Store;
use crate::RouterError;

/// What every lane of the router shares.
pub(crate) struct Worker<L, S> {
    pub log: L,
    pub store: Store,
    pub sink: S,
    pub stop: watch::Receiver<bool>,
    pub config: RouterConfig,
}

impl<L: EventLog, S: AssignmentSink> Worker<L, S> {
    /// Does the effect of one event of complaint `id`, under `rules`; false
    /// when shutdown interrupted it (the checkpoint must stay before it).
    pub async fn handle(
        &self,
        id: &ComplaintId,
        e: &RecordedEvent,
        rules: Option<&RuleSet>,
    ) -> Result<bool, RouterError> {
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
                self.route(id, e, rules).await?;
                true
            }
            ComplaintEvent::Routed(_) | ComplaintEvent::Escalated(_) => self.deliver(id, e).await?,
            _ => true,
        };
        if !done {
            return Ok(false);
        }
        let complaint = self.fold(id).await?.map(|(c, _)| c);
        let due = complaint.and_then(|c| next_due(rules, &c));
        self.store.set_due(id, due)?;
        Ok(true)
    }

    /// Routes the complaint when it needs an owner; retries on a concurrent append.
    async fn route(
        &self,
        id: &ComplaintId,
        cause: &RecordedEvent,
        rules: Option<&RuleSet>,
    ) -> Result<(), RouterError> {
        loop {
            let Some((c, events)) = self.fold(id).await? else {
                return Ok(());
            };
            let ComplaintEvent::Received(received) = &events[0] else {
                return Ok(());
            };
            let Some(choice) = next_owner(rules, &c, &facts(received)) else {
                return Ok(());
            };
            let now = self.config.clock.now();
            let cmd = route_command(rules, choice, now);
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
        let expected = ExpectedVersion::Exact(c.version);
        self.log.append(&id.stream(), expected, new).await?;
        tracing::debug!(complaint = %id, command = name, "recorded");
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
    pub async fn scan(&self, rules: Option<&RuleSet>) -> Result<(), RouterError> {
        let now = self.config.clock.now();
        for id in self.store.due(unix_ms(now))? {
            loop {
                let Some((c, _)) = self.fold(&id).await? else {
                    break;
                };
                let Some(cmd) = overdue(rules, &c, now) else {
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
