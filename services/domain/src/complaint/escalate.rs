//! Moving a complaint up when its owner missed a deadline: each deadline of
//! a routing is escalated at most once, and only once it has passed unmet.

use aduan_proto::v1;

use super::decide::{invalid, one, Decision};
use super::Complaint;
use crate::command::{EscalationReason, Rejection};
use crate::ids::OrgCode;
use crate::status::{DeadlineKind, Status};

impl Complaint {
    pub(super) fn escalate(
        &self,
        to: OrgCode,
        reason: EscalationReason,
        due_at_ms: i64,
        at_ms: i64,
    ) -> Decision {
        let kind = reason.deadline();
        // A deadline is escalated once per routing: a timer that fires again
        // (after a restart, or on replay) finds nothing left to do.
        if kind.is_some_and(|k| self.escalated.contains(&k)) {
            return Ok(Vec::new());
        }
        if !self.status.is_open() {
            return Err(self.conflict("only an open complaint can be escalated"));
        }
        if self.owner.as_ref() == Some(&to) {
            return Err(self.conflict(format!("it is already with {to}")));
        }
        if let Some(kind) = kind {
            self.missed(kind, at_ms)?;
        }
        if due_at_ms <= at_ms {
            return Err(invalid("due_at", "must lie after now"));
        }
        one(v1::ComplaintEscalated {
            from_org: self
                .owner
                .as_ref()
                .map(OrgCode::to_string)
                .unwrap_or_default(),
            to_org: to.into(),
            reason: reason.as_str().to_owned(),
            deadline: kind.map(|k| k.as_str().to_owned()).unwrap_or_default(),
            due_at_ms,
            at_ms,
        })
    }

    /// Ok when the current owner has missed the deadline of this kind by `at_ms`.
    fn missed(&self, kind: DeadlineKind, at_ms: i64) -> Result<(), Rejection> {
        let (Some(_), Some(deadlines)) = (&self.owner, self.deadlines) else {
            return Err(self.conflict("nobody owns it, so no deadline can be missed"));
        };
        let met = match kind {
            DeadlineKind::Acknowledge => self.responded,
            DeadlineKind::FollowUp => self.followed_up,
            DeadlineKind::Resolve => self.status == Status::Resolved,
        };
        if met {
            return Err(self.conflict(format!("the {kind} deadline was met")));
        }
        if at_ms < deadlines.get(kind) {
            return Err(self.conflict(format!("the {kind} deadline has not passed yet")));
        }
        Ok(())
    }
}
