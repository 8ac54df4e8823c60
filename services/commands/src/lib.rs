//! The command side: turns OPD, reporter and admin actions into complaint
//! events through `Complaint::decide`, and appends them only if nobody else
//! changed the complaint meanwhile (expected stream version), retrying a lost
//! race with the fresh state. It answers only once the events are durable.
//!
//! It does not authenticate OPDs or admins (the HTTP edge and NATS
//! permissions do; it trusts the acting org and actor it is given), does not
//! route (the router reacts to `RoutingRejected` and `ComplaintReopened`), and
//! keeps no read model. Reporter tokens it does check, against the hash in
//! the complaint's `ComplaintReceived`.

use std::sync::Arc;
use std::time::Duration;

use aduan_domain::calendar::unix_ms;
use aduan_domain::{
    Calendar, Command, Complaint, ComplaintEvent, ComplaintId, Deadlines, OrgCode, RejectReason,
    ReporterToken, RouteReason, SharedClock,
};
use aduan_log::{EventLog, ExpectedVersion, NewEvent, RecordedEvent};
use aduan_proto::v1;
use aduan_rules::RuleSet;
use time::OffsetDateTime;

mod error;
pub mod nats;
mod opd;

pub use error::CommandError;

/// How often a command is re-decided after losing a race on its complaint.
pub const MAX_ATTEMPTS: u32 = 10;
/// Longest actor name accepted, so the envelope actor stays within the log's limit.
pub const MAX_ACTOR: usize = 128;

/// What an admin does to a complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAction {
    /// Not handled as a complaint: spam, a duplicate (of `duplicate_of`) or not a complaint.
    Reject {
        /// Why, as a contract word.
        reason_code: RejectReason,
        /// For the reporter to read.
        reason: String,
        /// With a duplicate: the original.
        duplicate_of: Option<ComplaintId>,
    },
    /// Hand it by hand to `org`, with fresh deadlines.
    Reroute {
        /// The new owner.
        org: OrgCode,
        /// Why (recorded in the log as the reason of the admin's action; the
        /// routing event itself says "manual").
        reason: String,
    },
}

/// The command service; clones share the log, clock and rule set.
#[derive(Debug, Clone)]
pub struct Commands<L> {
    log: L,
    clock: SharedClock,
    rules: Arc<RuleSet>,
    calendar: Arc<Calendar>,
}

impl<L: EventLog + Clone> Commands<L> {
    /// A service over `log`, deciding at `clock`'s time; `rules` gives the
    /// SLA, calendar and organisations for an admin's re-route.
    pub fn new(log: L, clock: SharedClock, rules: Arc<RuleSet>) -> Self {
        let calendar = Arc::new(Calendar::new(rules.holidays().iter().copied()));
        Self {
            log,
            clock,
            rules,
            calendar,
        }
    }

    /// An OPD's command, acting as `org` (the complaint's owner, or `not_assigned`).
    pub async fn opd(
        &self,
        org: &OrgCode,
        cmd: v1::OpdCommand,
    ) -> Result<v1::CommandAck, CommandError> {
        let parsed = opd::parse(org, cmd)?;
        let actor = format!("opd:{org}:{}", parsed.actor);
        let command = parsed.command;
        self.execute(&parsed.id, &actor, move |_, _| Ok(command.clone()))
            .await
    }

    /// The reporter answers a pending question.
    pub async fn reply(
        &self,
        id: &ComplaintId,
        token: &ReporterToken,
        message: String,
    ) -> Result<v1::CommandAck, CommandError> {
        let token = token.clone();
        self.execute(id, "reporter", move |_, _| {
            Ok(Command::ReporterReply {
                token: token.clone(),
                message: message.clone(),
            })
        })
        .await
    }

    /// The reporter rates the answer (1 to 5) with a comment.
    pub async fn feedback(
        &self,
        id: &ComplaintId,
        token: &ReporterToken,
        rating: u32,
        comment: String,
    ) -> Result<v1::CommandAck, CommandError> {
        let token = token.clone();
        self.execute(id, "reporter", move |_, _| {
            Ok(Command::GiveFeedback {
                token: token.clone(),
                rating,
                comment: comment.clone(),
            })
        })
        .await
    }

    /// The reporter disputes the answer; the router then routes it back.
    pub async fn reopen(
        &self,
        id: &ComplaintId,
        token: &ReporterToken,
        reason: String,
    ) -> Result<v1::CommandAck, CommandError> {
        let token = token.clone();
        self.execute(id, "reporter", move |_, _| {
            Ok(Command::Reopen {
                token: token.clone(),
                reason: reason.clone(),
            })
        })
        .await
    }

    /// An admin's action, recorded with `admin:<name>` as the actor.
    pub async fn admin(
        &self,
        id: &ComplaintId,
        name: &str,
        action: AdminAction,
    ) -> Result<v1::CommandAck, CommandError> {
        let name = checked_actor(name)?;
        if let AdminAction::Reroute { org, reason } = &action {
            if self.rules.org(org).is_none() {
                return Err(CommandError::invalid(
                    "org",
                    "is not an organisation of the rule set",
                ));
            }
            if reason.trim().is_empty() {
                return Err(CommandError::invalid("reason", "must not be blank"));
            }
        }
        let actor = format!("admin:{name}");
        self.execute(id, &actor, move |c, now| {
            Ok(self.admin_command(c, now, &action))
        })
        .await
    }

    fn admin_command(&self, c: &Complaint, now: OffsetDateTime, action: &AdminAction) -> Command {
        match action.clone() {
            AdminAction::Reject {
                reason_code,
                reason,
                duplicate_of,
            } => Command::AdminReject {
                reason_code,
                reason,
                duplicate_of,
            },
            AdminAction::Reroute { org, .. } => Command::Route {
                org,
                rule_id: String::new(),
                ruleset_version: self.rules.version().to_owned(),
                reason: RouteReason::Manual,
                due: self.deadlines(now),
                category: c.category.clone(),
                // An admin's choice overrides "each org at most once": the
                // admin may send it back to an org that already had it.
                triage: true,
            },
        }
    }

    /// Fresh deadlines from `now` by the rule set's SLA, in working days.
    fn deadlines(&self, now: OffsetDateTime) -> Deadlines {
        let sla = self.rules.sla();
        let at = |days| unix_ms(self.calendar.add_working_days(now, days));
        Deadlines {
            acknowledge_ms: at(sla.acknowledge),
            follow_up_ms: at(sla.follow_up),
            resolve_ms: at(sla.resolve),
        }
    }

    /// Reads the complaint, asks `make` for the command, decides it and
    /// appends the events expecting the version read; a lost race re-reads
    /// and re-decides, up to [`MAX_ATTEMPTS`] times.
    async fn execute<F>(
        &self,
        id: &ComplaintId,
        actor: &str,
        make: F,
    ) -> Result<v1::CommandAck, CommandError>
    where
        F: Fn(&Complaint, OffsetDateTime) -> Result<Command, CommandError>,
    {
        let stream = id.stream();
        for attempt in 1..=MAX_ATTEMPTS {
            let mut complaint = self.load(id, &stream).await?;
            let now = self.clock.now();
            let command = make(&complaint, now)?;
            let name = command.name();
            let events = complaint.decide(command, now)?;
            if events.is_empty() {
                return Ok(ack(&complaint));
            }
            let new: Vec<NewEvent> = events
                .iter()
                .map(|e| NewEvent::new(e.type_name(), actor, e.encode()))
                .collect();
            let expected = ExpectedVersion::Exact(complaint.version);
            match self.log.append(&stream, expected, new).await {
                Ok(_) => {
                    complaint.apply_all(&events);
                    tracing::info!(complaint_id = %id, command = name, actor, version = complaint.version, "command recorded");
                    return Ok(ack(&complaint));
                }
                Err(aduan_log::LogError::Conflict { .. }) => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CommandError::Contended {
            attempts: MAX_ATTEMPTS,
        })
    }

    /// The complaint as of its last durable event.
    async fn load(&self, id: &ComplaintId, stream: &str) -> Result<Complaint, CommandError> {
        let recorded = self.log.read_stream(stream, 1).await?;
        if recorded.is_empty() {
            return Err(CommandError::NotFound(id.to_string()));
        }
        let events = recorded.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        Complaint::fold(&events).ok_or_else(|| {
            CommandError::Corrupt(format!(
                "{stream} does not start with a usable ComplaintReceived"
            ))
        })
    }
}

fn decode(r: &RecordedEvent) -> Result<ComplaintEvent, CommandError> {
    ComplaintEvent::decode(&r.event_type, r.schema_version, &r.payload)
        .map_err(|e| CommandError::Corrupt(format!("{} v{}: {e}", r.stream_id, r.stream_version)))
}

fn ack(c: &Complaint) -> v1::CommandAck {
    v1::CommandAck {
        complaint_id: c.id.to_string(),
        stream_version: c.version,
        status: c.status.as_str().to_owned(),
    }
}

/// A short randomised pause, so racing writers do not collide again in lockstep.
async fn backoff(attempt: u32) {
    let max = 2u64 << attempt.min(6);
    let ms = rand::random_range(0..max);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The actor name trimmed, or why it is unusable.
pub(crate) fn checked_actor(name: &str) -> Result<&str, CommandError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CommandError::invalid("actor", "must not be blank"));
    }
    if name.len() > MAX_ACTOR {
        return Err(CommandError::invalid(
            "actor",
            format!("must be at most {MAX_ACTOR} bytes"),
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests;
