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

use aduan_complaints::{At, Cause, ComplaintStore, Executed};
use aduan_domain::{
    Command, Complaint, ComplaintId, OrgCode, RejectReason, ReporterToken, RouteReason, SharedClock,
};
use aduan_log::EventLog;
use aduan_proto::v1;
use aduan_rules::RuleSet;
use time::OffsetDateTime;

mod error;
pub mod nats;

pub use nats::run;
mod opd;

pub use error::CommandError;

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

/// The command service; clones share the complaint store.
#[derive(Debug, Clone)]
pub struct Commands<L> {
    store: ComplaintStore<L>,
}

impl<L: EventLog + Clone> Commands<L> {
    /// A service over `log`, deciding at `clock`'s time; an admin's re-route
    /// takes the organisations, SLA and calendar of the rule set in force in
    /// the log.
    pub fn new(log: L, clock: SharedClock) -> Self {
        Self::with_store(ComplaintStore::new(log, clock))
    }

    /// A service over a complaint store shared with others.
    pub fn with_store(store: ComplaintStore<L>) -> Self {
        Self { store }
    }

    /// The complaint store underneath.
    pub fn store(&self) -> &ComplaintStore<L> {
        &self.store
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
        let rules = self.store.rules_in_force(At::Latest).await?;
        if let AdminAction::Reroute { org, reason } = &action {
            if rules.as_ref().is_none_or(|r| r.org(org).is_none()) {
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
        let rules = rules.as_deref();
        self.execute(id, &actor, move |c, now| {
            Ok(admin_command(rules, c, now, &action))
        })
        .await
    }

    /// Changes the complaint with the command `make` gives, as a fresh
    /// request of `actor`, and acknowledges its state afterwards.
    async fn execute<F>(
        &self,
        id: &ComplaintId,
        actor: &str,
        mut make: F,
    ) -> Result<v1::CommandAck, CommandError>
    where
        F: FnMut(&Complaint, OffsetDateTime) -> Result<Command, CommandError>,
    {
        let done: Executed = self
            .store
            .execute(id, actor, Cause::request(), |c, now| make(c, now).map(Some))
            .await?;
        if let Some(a) = &done.appended {
            tracing::info!(complaint_id = %id, actor, version = a.stream_version, "command recorded");
        }
        Ok(ack(&done.complaint))
    }
}

/// The domain command of an admin's action on `c` at `now`, under `rules`.
fn admin_command(
    rules: Option<&RuleSet>,
    c: &Complaint,
    now: OffsetDateTime,
    action: &AdminAction,
) -> Command {
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
        AdminAction::Reroute { org, reason } => Command::Route {
            org,
            rule_id: String::new(),
            ruleset_version: rules.map(|r| r.version().to_owned()).unwrap_or_default(),
            reason: RouteReason::Manual,
            due: aduan_complaints::sla::deadlines(rules, now),
            category: c.category.clone(),
            reason_text: reason.trim().to_owned(),
            // An admin's choice overrides "each org at most once": the
            // admin may send it back to an org that already had it.
            triage: true,
        },
    }
}

fn ack(c: &Complaint) -> v1::CommandAck {
    v1::CommandAck {
        complaint_id: c.id.to_string(),
        stream_version: c.version,
        status: c.status.as_str().to_owned(),
    }
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
