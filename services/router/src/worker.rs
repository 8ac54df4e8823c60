//! One complaint event's effect, shared by the router's lanes and its
//! deadline scanner: route a complaint that needs an owner, hand a routing or
//! escalation to the sink, escalate or close on a passed deadline, and keep
//! the deadline index current. Every effect is idempotent, so the same event
//! handled twice (after a crash) changes nothing more. Every change to a
//! complaint goes through the complaint store, under its retry policy.

use std::time::Duration;

use aduan_complaints::{Cause, ComplaintStore, Loaded, StoreError};
use aduan_domain::calendar::unix_ms;
use aduan_domain::{Complaint, ComplaintEvent, ComplaintId, OrgCode};
use aduan_log::{EventLog, RecordedEvent};
use aduan_proto::v1;
use aduan_rules::RuleSet;
use tokio::sync::watch;

use crate::assignment::assignment;
use crate::deadlines::{next_due, overdue};
use crate::folded::Folded;
use crate::routing::{facts, next_owner, route_command};
use crate::service::{stopped, Mode, RouterConfig};
use crate::sink::AssignmentSink;
use crate::store::Store;
use crate::RouterError;

/// What an event leaves to do once its effect on the log is done.
pub(crate) enum Step {
    /// Nothing: the checkpoint may pass the event.
    Done,
    /// Its assignment, to [`Worker::deliver`].
    Deliver(Box<Delivery>),
}

/// An assignment to hand to the sink, and the complaint's next deadline to
/// record once it is acknowledged.
pub(crate) struct Delivery {
    org: OrgCode,
    /// The routing event's id, the idempotency key.
    msg_id: String,
    /// The routing event's log position (a fenced sink records it).
    position: u64,
    assignment: v1::Assignment,
    due: Option<i64>,
}

/// What every lane of the router shares.
pub(crate) struct Worker<L, S> {
    pub complaints: ComplaintStore<L>,
    pub store: Store,
    pub sink: S,
    pub stop: watch::Receiver<bool>,
    pub config: RouterConfig,
    pub mode: Mode,
}

impl<L: EventLog + Clone, S: AssignmentSink> Worker<L, S> {
    /// Does the effect of one event of complaint `id` under `rules` on the
    /// log and the deadline index; an assignment it makes is returned for
    /// the caller to [`deliver`](Self::deliver), so a lane goes on with its
    /// next complaint while the inbox acknowledges.
    pub async fn handle(
        &self,
        id: &ComplaintId,
        e: &RecordedEvent,
        rules: Option<&RuleSet>,
        folded: &mut Folded,
    ) -> Result<Step, RouterError> {
        let event = match ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload) {
            Ok(ev) => ev,
            Err(err) => {
                tracing::error!(position = e.position, error = %err, "skipping an undecodable event");
                return Ok(Step::Done);
            }
        };
        let Some(loaded) = self.fold(id, e, &event, folded).await? else {
            // Not a complaint's stream: nothing to route or watch.
            return Ok(Step::Done);
        };
        // The complaint after the effect: its next deadline is recorded
        // from it, without reading the stream again.
        let after = match event {
            // A standby appends and publishes nothing: it only keeps its
            // deadline index current, so a takeover starts warm.
            _ if self.mode == Mode::Standby => Some(loaded.complaint.clone()),
            ComplaintEvent::Received(_)
            | ComplaintEvent::RoutingRejected(_)
            | ComplaintEvent::Reopened(_) => self.route(id, e, rules, loaded).await?,
            ComplaintEvent::Routed(_)
            | ComplaintEvent::Escalated(_)
            | ComplaintEvent::ResolutionReturned(_) => {
                let due = next_due(rules, &loaded.complaint);
                let upto = (e.stream_version as usize).min(loaded.events.len());
                if let Some((org, assignment)) = assignment(&loaded.events[..upto]) {
                    return Ok(Step::Deliver(Box::new(Delivery {
                        org,
                        msg_id: e.event_id.to_string(),
                        position: e.position,
                        assignment,
                        due,
                    })));
                }
                Some(loaded.complaint.clone())
            }
            _ => Some(loaded.complaint.clone()),
        };
        self.store
            .set_due(id, after.and_then(|c| next_due(rules, &c)))?;
        Ok(Step::Done)
    }

    /// Complaint `id` through event `e` (decoded as `event`): the lane's
    /// copy; or, when the lane holds none, the stream's first event alone
    /// when `e` is that event, else the stream read from the log (held from
    /// then on); None when the stream is no complaint's.
    async fn fold<'f>(
        &self,
        id: &ComplaintId,
        e: &RecordedEvent,
        event: &ComplaintEvent,
        folded: &'f mut Folded,
    ) -> Result<Option<&'f Loaded>, RouterError> {
        if folded.advance(id, e, event) {
            return Ok(folded.get(id));
        }
        if e.stream_version == 1 {
            let first = Loaded::first(e.clone(), event.clone());
            return Ok(first.map(|loaded| folded.hold(*id, loaded)));
        }
        Ok(match self.load(id).await? {
            Some(loaded) => Some(folded.hold(*id, loaded)),
            None => None,
        })
    }

    /// Routes the complaint when it needs an owner, deciding first from
    /// `loaded`, the lane's copy; the complaint after it (None when the
    /// stream is no complaint).
    async fn route(
        &self,
        id: &ComplaintId,
        cause: &RecordedEvent,
        rules: Option<&RuleSet>,
        loaded: &Loaded,
    ) -> Result<Option<Complaint>, RouterError> {
        let actor = &self.config.actor;
        let result = self
            .complaints
            .execute_from(id, Some(loaded), actor, Cause::event(cause), |l, now| {
                let ComplaintEvent::Received(received) = &l.events[0] else {
                    return Ok::<_, StoreError>(None);
                };
                let choice = next_owner(rules, &l.complaint, &facts(received));
                Ok(choice.map(|c| route_command(rules, c, now)))
            })
            .await;
        match result {
            Ok(executed) => Ok(Some(executed.complaint)),
            Err(e) => {
                settled(id, "route", Err::<(), _>(e))?;
                Ok(self.load(id).await?.map(|l| l.complaint))
            }
        }
    }

    /// Hands `d` to the sink, retrying with backoff until it is
    /// acknowledged, then records the complaint's next deadline; false when
    /// shutdown came first (the checkpoint must stay before it).
    pub async fn deliver(&self, id: &ComplaintId, d: Delivery) -> Result<bool, RouterError> {
        if !self
            .publish(id, &d.org, &d.msg_id, d.position, &d.assignment)
            .await?
        {
            return Ok(false);
        }
        self.store.set_due(id, d.due)?;
        Ok(true)
    }

    /// Publishes one assignment until the sink acknowledges it; false when
    /// shutdown came first.
    async fn publish(
        &self,
        id: &ComplaintId,
        org: &OrgCode,
        msg_id: &str,
        position: u64,
        a: &v1::Assignment,
    ) -> Result<bool, RouterError> {
        let mut backoff = Duration::from_millis(50);
        let mut stop = self.stop.clone();
        loop {
            let result = tokio::select! {
                r = self.sink.publish_at(org, msg_id, position, a) => r,
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

    /// Publishes again the assignment made by `e`, read from its stream.
    async fn republish(&self, id: &ComplaintId, e: &RecordedEvent) -> Result<bool, RouterError> {
        let Some(loaded) = self.load(id).await? else {
            return Ok(true);
        };
        let upto = (e.stream_version as usize).min(loaded.events.len());
        let Some((org, a)) = assignment(&loaded.events[..upto]) else {
            return Ok(true);
        };
        self.publish(id, &org, &e.event_id.to_string(), e.position, &a)
            .await
    }

    /// Publishes again the assignments of the `n` events up to `checkpoint`
    /// that the sink does not hold: the inbox acknowledged them, the
    /// checkpoint moved on, and the inbox lost them.
    pub async fn recheck(&self, log: &L, checkpoint: u64, n: u64) -> Result<(), RouterError> {
        let mut next = checkpoint.saturating_sub(n) + 1;
        let mut republished = 0u64;
        while next <= checkpoint {
            let page = log.read_all(next, 1024).await?;
            let Some(last) = page.last().map(|e| e.position) else {
                break;
            };
            for e in page.iter().filter(|e| e.position <= checkpoint) {
                let assigns = matches!(
                    ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload),
                    Ok(ComplaintEvent::Routed(_)
                        | ComplaintEvent::Escalated(_)
                        | ComplaintEvent::ResolutionReturned(_))
                );
                let Some(id) = crate::service::complaint_of(&e.stream_id).filter(|_| assigns)
                else {
                    continue;
                };
                if self.sink.holds(&e.event_id.to_string()).await? {
                    continue;
                }
                if !self.republish(&id, e).await? {
                    return Ok(());
                }
                republished += 1;
            }
            next = last + 1;
        }
        if republished > 0 {
            tracing::warn!(
                republished,
                "assignments missing from the OPD inboxes were published again"
            );
        }
        Ok(())
    }

    /// Escalates or closes every complaint whose deadline has passed.
    pub async fn scan(&self, rules: Option<&RuleSet>) -> Result<(), RouterError> {
        let now = self.config.clock.now();
        for id in self.store.due(unix_ms(now))? {
            let result = self
                .complaints
                .execute(&id, &self.config.actor, Cause::Timer, |c, _| {
                    // Judged by the scan's time, so one scan treats all alike.
                    Ok::<_, StoreError>(overdue(rules, c, now))
                })
                .await;
            settled(&id, "deadline", result)?;
        }
        Ok(())
    }

    /// The complaint as stored, None when its stream is not a complaint's.
    async fn load(&self, id: &ComplaintId) -> Result<Option<Loaded>, RouterError> {
        match self.complaints.load(id).await {
            Ok(l) => Ok(Some(l)),
            Err(StoreError::NotFound(_) | StoreError::NotAComplaint { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The outcome of one of the router's changes: a stream that is no complaint
/// is left alone, and a refusal is logged, not retried (the same state gives
/// the same refusal).
fn settled<T>(
    id: &ComplaintId,
    what: &'static str,
    result: Result<T, StoreError>,
) -> Result<(), RouterError> {
    match result {
        Ok(_) | Err(StoreError::NotFound(_) | StoreError::NotAComplaint { .. }) => Ok(()),
        Err(StoreError::Rejected(rejection)) => {
            tracing::error!(complaint = %id, command = what, %rejection, "command refused");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
