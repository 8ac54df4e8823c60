//! Answer review (CONTRACT.md, second wave): an org with `review_answers`
//! has its operators' resolutions and public follow-ups drafted, and only the
//! head of that org lets a draft go out or sends it back. A region's admin
//! may return a resolution as insufficient.
//!
//! Deadlines count from the complaint, never from a draft: a draft meets no
//! deadline (the reporter has heard nothing yet), and an approved answer is
//! recorded at the approval's time, so "resolved on time" is judged by when
//! the reporter got the answer.

use aduan_proto::v1;
use time::OffsetDateTime;

use super::decide::{one, required, Decision};
use super::{Complaint, Draft};
use crate::calendar::{unix_ms, Calendar};
use crate::command::{OrgRole, Rejection};
use crate::event::ComplaintEvent;
use crate::ids::OrgCode;
use crate::status::{DraftKind, Status};

impl Complaint {
    /// Holds an answer of `org` (already checked to be the working owner)
    /// for its head.
    pub(super) fn draft(
        &self,
        org: OrgCode,
        kind: DraftKind,
        text: String,
        at_ms: i64,
    ) -> Decision {
        self.room_to_write()?;
        if kind == DraftKind::Resolution
            && self
                .drafts
                .values()
                .any(|d| d.kind == DraftKind::Resolution)
        {
            return Err(self.conflict("a resolution is already waiting for approval"));
        }
        one(v1::AnswerDrafted {
            // The stream version this event will have: unique in the complaint.
            draft_id: format!("draft-{}", self.version + 1),
            org: org.into(),
            kind: kind.as_str().to_owned(),
            text,
            at_ms,
        })
    }

    /// The head of `org` lets the draft out: the approval, then the answer
    /// itself at the approval's time.
    pub(super) fn approve(
        &self,
        org: &OrgCode,
        role: OrgRole,
        draft_id: &str,
        at_ms: i64,
    ) -> Decision {
        let draft = self.pending_draft(org, role, draft_id)?;
        let approved = v1::AnswerApproved {
            draft_id: draft_id.to_owned(),
            org: org.to_string(),
            drafted_at_ms: draft.at_ms,
            at_ms,
        };
        let (org, text) = (org.to_string(), draft.text.clone());
        let answer: ComplaintEvent = match draft.kind {
            DraftKind::Resolution => v1::ComplaintResolved {
                org,
                resolution: text,
                at_ms,
            }
            .into(),
            DraftKind::FollowUp => v1::FollowUpPosted {
                org,
                message: text,
                public: true,
                at_ms,
            }
            .into(),
        };
        Ok(vec![approved.into(), answer])
    }

    /// The head of `org` sends the draft back with a note; the operator may
    /// draft again.
    pub(super) fn return_answer(
        &self,
        org: &OrgCode,
        role: OrgRole,
        draft_id: &str,
        note: String,
        at_ms: i64,
    ) -> Decision {
        let draft = self.pending_draft(org, role, draft_id)?;
        let note = required("note", note)?;
        one(v1::AnswerReturned {
            draft_id: draft_id.to_owned(),
            org: org.to_string(),
            note,
            drafted_at_ms: draft.at_ms,
            at_ms,
        })
    }

    /// An admin returns the resolution: back to the org that resolved it,
    /// which owes a follow-up within `follow_up_days` working days of now.
    pub(super) fn return_resolution(
        &self,
        reason: String,
        calendar: &Calendar,
        follow_up_days: u32,
        now: OffsetDateTime,
    ) -> Decision {
        let Some(org) = self
            .resolved_by
            .as_ref()
            .filter(|_| self.status == Status::Resolved)
        else {
            return Err(self.conflict("only a resolved complaint can be returned"));
        };
        let reason = required("reason", reason)?;
        one(v1::ResolutionReturned {
            org: org.to_string(),
            reason,
            follow_up_due_ms: unix_ms(calendar.add_working_days(now, follow_up_days)),
            at_ms: unix_ms(now),
        })
    }

    /// The draft the head of `org` may decide now. Who asks is checked first
    /// (an operator, or the head of an org that does not own the complaint,
    /// learns nothing of its drafts), then the state, then the draft.
    fn pending_draft(
        &self,
        org: &OrgCode,
        role: OrgRole,
        draft_id: &str,
    ) -> Result<&Draft, Rejection> {
        if role != OrgRole::Head {
            return Err(Rejection::Forbidden(
                "only the head of the organisation decides its draft answers",
            ));
        }
        if self.owner.as_ref() != Some(org) {
            return Err(Rejection::Forbidden(
                "the complaint's drafts belong to another organisation",
            ));
        }
        self.owner_at_work(org)?;
        match self.drafts.get(draft_id) {
            Some(d) => Ok(d),
            None if self.decided_drafts.contains(draft_id) => Err(self.conflict(format!(
                "draft {draft_id} was already approved, returned or dropped"
            ))),
            None => Err(Rejection::NoSuchDraft(draft_id.to_owned())),
        }
    }
}
