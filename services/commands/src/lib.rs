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
use aduan_domain::{Command, Complaint, ComplaintId, OrgCode, OrgRole, ReporterToken, SharedClock};
use aduan_log::EventLog;
use aduan_proto::v1;
use time::OffsetDateTime;

mod admin;
mod error;
pub mod nats;

pub use nats::run;
mod opd;

pub use admin::AdminAction;
pub use error::CommandError;

/// Longest actor name accepted, so the envelope actor stays within the log's limit.
pub const MAX_ACTOR: usize = 128;

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

    /// An OPD operator's command, acting as `org` (the complaint's owner, or `not_assigned`).
    pub async fn opd(
        &self,
        org: &OrgCode,
        cmd: v1::OpdCommand,
    ) -> Result<v1::CommandAck, CommandError> {
        self.opd_as(org, OrgRole::Operator, cmd).await
    }

    /// An OPD's command, acting as `org` in `role`. Under the rule set's
    /// `review_answers` for `org`, an operator's resolution or public
    /// follow-up is drafted for the head; the actor is recorded as
    /// `opd:<org>:<name>` or `opd_head:<org>:<name>`.
    pub async fn opd_as(
        &self,
        org: &OrgCode,
        role: OrgRole,
        cmd: v1::OpdCommand,
    ) -> Result<v1::CommandAck, CommandError> {
        let rules = self.store.rules_in_force(At::Latest).await?;
        let review = rules.is_some_and(|r| r.reviews_answers(org));
        let parsed = opd::parse(org, role, review, cmd)?;
        let actor = format!("{role}:{org}:{}", parsed.actor);
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

    /// Changes the complaint with the command `make` gives, as a fresh
    /// request of `actor`, and acknowledges its state afterwards.
    pub(crate) async fn execute<F>(
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
