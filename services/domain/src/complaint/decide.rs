//! Every business rule of a complaint: given its state and a command, the
//! events to record or the reason to refuse. Checks run in one order — who is
//! asking, then whether the state allows it, then the arguments — so a caller
//! who may not act learns nothing about the complaint from the answer.

use aduan_proto::v1;
use time::OffsetDateTime;

use super::{Complaint, Deadlines};
use crate::calendar::unix_ms;
use crate::command::{Command, RejectReason, Rejection, RouteReason};
use crate::event::ComplaintEvent;
use crate::ids::{ComplaintId, OrgCode};
use crate::reporter_token::{self, ReporterToken};
use crate::status::{DraftKind, Status};

pub(super) type Decision = Result<Vec<ComplaintEvent>, Rejection>;

/// The most events a complaint may hold before an owner's follow-ups and
/// questions are refused: each command reads the whole stream, so without a
/// bound one OPD could make every later command on it slower and slower.
/// Routing, escalation, resolution and the reporter's answers stay possible.
pub const MAX_EVENTS: u64 = 1000;

/// A route as requested, before it is checked.
struct RouteRequest {
    org: OrgCode,
    rule_id: String,
    ruleset_version: String,
    reason: RouteReason,
    due: Deadlines,
    category: String,
    reason_text: String,
    triage: bool,
}

impl Complaint {
    /// Decides a command at time `now` (the caller's clock): the events that
    /// record it, in order, or why it is refused. An empty list means there is
    /// nothing to record (a repeated escalation).
    pub fn decide(&self, cmd: Command, now: OffsetDateTime) -> Decision {
        let at_ms = unix_ms(now);
        match cmd {
            Command::Acknowledge { org } => {
                self.owner_at_work(&org)?;
                if self.acknowledged {
                    return Err(self.conflict(format!("{org} already acknowledged it")));
                }
                let org = org.into();
                one(v1::ComplaintAcknowledged { org, at_ms })
            }
            Command::FollowUp {
                org,
                message,
                public,
                review,
            } => {
                self.owner_at_work(&org)?;
                self.room_to_write()?;
                let message = required("message", message)?;
                if review && public {
                    return self.draft(org, DraftKind::FollowUp, message, at_ms);
                }
                let org = org.into();
                one(v1::FollowUpPosted {
                    org,
                    message,
                    public,
                    at_ms,
                })
            }
            Command::RequestInfo { org, question } => {
                self.owner_at_work(&org)?;
                if self.awaiting_reporter {
                    return Err(self.conflict("a question to the reporter is still pending"));
                }
                self.room_to_write()?;
                let question = required("question", question)?;
                let org = org.into();
                one(v1::InformationRequested {
                    org,
                    question,
                    at_ms,
                })
            }
            Command::Resolve {
                org,
                resolution,
                review,
            } => {
                self.owner_at_work(&org)?;
                let resolution = required("resolution", resolution)?;
                if review {
                    return self.draft(org, DraftKind::Resolution, resolution, at_ms);
                }
                let org = org.into();
                one(v1::ComplaintResolved {
                    org,
                    resolution,
                    at_ms,
                })
            }
            Command::DeclineAuthority {
                org,
                reason,
                suggested_org,
            } => self.decline(org, reason, suggested_org, at_ms),
            Command::ApproveAnswer {
                org,
                role,
                draft_id,
            } => self.approve(&org, role, &draft_id, at_ms),
            Command::ReturnAnswer {
                org,
                role,
                draft_id,
                note,
            } => self.return_answer(&org, role, &draft_id, note, at_ms),
            Command::ReturnResolution {
                reason,
                calendar,
                follow_up_days,
            } => self.return_resolution(reason, &calendar, follow_up_days, now),
            Command::ReporterReply { token, message } => {
                self.reporter(&token)?;
                if !self.status.is_open() || !self.awaiting_reporter {
                    return Err(self.conflict("no question to the reporter is pending"));
                }
                let message = required("message", message)?;
                one(v1::ReporterReplied { message, at_ms })
            }
            Command::GiveFeedback {
                token,
                rating,
                comment,
            } => self.feedback(&token, rating, comment, at_ms),
            Command::Reopen { token, reason } => {
                self.reporter(&token)?;
                let Some(org) = self
                    .resolved_by
                    .as_ref()
                    .filter(|_| self.status == Status::Resolved)
                else {
                    return Err(self.conflict("only a resolved complaint can be reopened"));
                };
                let reason = required("reason", reason)?;
                let org = org.to_string();
                one(v1::ComplaintReopened { reason, org, at_ms })
            }
            Command::AdminReject {
                reason_code,
                reason,
                duplicate_of,
            } => self.reject(reason_code, reason, duplicate_of, at_ms),
            Command::Route {
                org,
                rule_id,
                ruleset_version,
                reason,
                due,
                category,
                reason_text,
                triage,
            } => self.route(
                RouteRequest {
                    org,
                    rule_id,
                    ruleset_version,
                    reason,
                    due,
                    category,
                    reason_text,
                    triage,
                },
                at_ms,
            ),
            Command::Escalate {
                to,
                reason,
                due_at_ms,
            } => self.escalate(to, reason, due_at_ms, at_ms),
            Command::Close { reason } => {
                if self.status != Status::Resolved {
                    return Err(self.conflict("only a resolved complaint can be closed"));
                }
                let reason = reason.as_str().to_owned();
                one(v1::ComplaintClosed { reason, at_ms })
            }
        }
    }

    fn decline(
        &self,
        org: OrgCode,
        reason: String,
        suggested: Option<OrgCode>,
        at_ms: i64,
    ) -> Decision {
        self.owner_at_work(&org)?;
        let reason = required("reason", reason)?;
        if suggested.as_ref() == Some(&org) {
            return Err(invalid(
                "suggested_org",
                "cannot be the declining organisation",
            ));
        }
        one(v1::RoutingRejected {
            org: org.into(),
            reason,
            suggested_org: suggested.map(String::from).unwrap_or_default(),
            at_ms,
        })
    }

    fn feedback(
        &self,
        token: &ReporterToken,
        rating: u32,
        comment: String,
        at_ms: i64,
    ) -> Decision {
        self.reporter(token)?;
        if !matches!(self.status, Status::Resolved | Status::Closed) {
            return Err(self.conflict("only an answered complaint can be rated"));
        }
        if self.rating.is_some() {
            return Err(self.conflict("this answer was already rated"));
        }
        if !(1..=5).contains(&rating) {
            return Err(invalid("rating", "must be from 1 to 5"));
        }
        let comment = comment.trim().to_owned();
        one(v1::FeedbackGiven {
            rating,
            comment,
            at_ms,
        })
    }

    fn reject(
        &self,
        code: RejectReason,
        reason: String,
        duplicate_of: Option<ComplaintId>,
        at_ms: i64,
    ) -> Decision {
        if !self.status.is_open() {
            return Err(self.conflict("only an open complaint can be rejected"));
        }
        let reason = required("reason", reason)?;
        let duplicate_of = match (code, duplicate_of) {
            (RejectReason::Duplicate, None) => {
                return Err(invalid("duplicate_of", "is required for a duplicate"));
            }
            (RejectReason::Duplicate, Some(id)) if id == self.id => {
                return Err(invalid("duplicate_of", "cannot be the complaint itself"));
            }
            (RejectReason::Duplicate, Some(id)) => id.to_string(),
            (_, Some(_)) => {
                return Err(invalid("duplicate_of", "goes only with reason duplicate"));
            }
            (_, None) => String::new(),
        };
        one(v1::ComplaintRejected {
            reason_code: code.as_str().to_owned(),
            reason,
            duplicate_of,
            at_ms,
        })
    }

    fn route(&self, r: RouteRequest, at_ms: i64) -> Decision {
        if !self.status.is_open() {
            return Err(self.conflict("only an open complaint can be routed"));
        }
        if self.owner.as_ref() == Some(&r.org) {
            return Err(self.conflict(format!("it is already with {}", r.org)));
        }
        // A reopened complaint goes back to the org that answered it, which by
        // then is of course among the orgs tried.
        let back_to_resolver =
            self.status == Status::Reopened && self.resolved_by.as_ref() == Some(&r.org);
        if self.tried.contains(&r.org) && !r.triage && !back_to_resolver {
            return Err(self.conflict(format!(
                "{} already had it; only a triage queue takes a complaint twice",
                r.org
            )));
        }
        let due = r.due;
        if [due.acknowledge_ms, due.follow_up_ms, due.resolve_ms]
            .iter()
            .any(|d| *d <= at_ms)
        {
            return Err(invalid("due_at", "must lie after now"));
        }
        one(v1::ComplaintRouted {
            org: r.org.into(),
            hop: self.hop + 1,
            rule_id: r.rule_id,
            ruleset_version: r.ruleset_version,
            reason: r.reason.as_str().to_owned(),
            due_at_ms: due.resolve_ms,
            acknowledge_due_ms: due.acknowledge_ms,
            follow_up_due_ms: due.follow_up_ms,
            category: r.category,
            at_ms,
            reason_text: r.reason_text,
        })
    }

    /// Ok when `org` owns the complaint and may work on it now.
    pub(super) fn owner_at_work(&self, org: &OrgCode) -> Result<(), Rejection> {
        if self.owner.as_ref() != Some(org) {
            return Err(Rejection::NotAssigned);
        }
        let why = match self.status {
            Status::Routed | Status::InProgress => return Ok(()),
            Status::Received => "it has not been routed yet",
            Status::Resolved => "it was already resolved",
            Status::Closed => "it is closed",
            Status::Rejected => "it was rejected",
            Status::Reopened => "it is waiting to be routed back",
        };
        Err(self.conflict(why))
    }

    /// Ok when `token` is this complaint's reporter token.
    fn reporter(&self, token: &ReporterToken) -> Result<(), Rejection> {
        if reporter_token::verify(token, &self.reporter_token_hash) {
            Ok(())
        } else {
            Err(Rejection::Unauthorized)
        }
    }

    /// Refuses more owner's writing once the complaint holds [`MAX_EVENTS`].
    pub(super) fn room_to_write(&self) -> Result<(), Rejection> {
        if self.version >= MAX_EVENTS {
            return Err(self.conflict(format!(
                "it holds {MAX_EVENTS} events, the most a complaint may; resolve it instead"
            )));
        }
        Ok(())
    }

    pub(super) fn conflict(&self, why: impl Into<String>) -> Rejection {
        Rejection::Conflict {
            status: self.status,
            why: why.into(),
        }
    }
}

pub(super) fn one(e: impl Into<ComplaintEvent>) -> Decision {
    Ok(vec![e.into()])
}

pub(super) fn invalid(field: &'static str, why: &'static str) -> Rejection {
    Rejection::InvalidArgument { field, why }
}

/// The text trimmed, or InvalidArgument when nothing is left.
pub(super) fn required(field: &'static str, text: String) -> Result<String, Rejection> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(invalid(field, "must not be blank"));
    }
    Ok(if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    })
}
