//! Answer review in the read models: drafts waiting per org and draft day,
//! approvals with their draft-to-approval time, returns by the head and by
//! an admin. A draft itself never reaches the public timeline; its approved
//! answer does, through the `ComplaintResolved` or `FollowUpPosted` recorded
//! with the approval. An admin's return does, as "returned".

use aduan_proto::v1;

use super::Folder;
use crate::keys::{self, day_of};
use crate::ProjectionError;
use aduan_domain::Status;

impl Folder<'_, '_> {
    pub(super) fn approved(&mut self, a: &v1::AnswerApproved) -> Result<(), ProjectionError> {
        let t = self.when(a.at_ms);
        let Some(org) = self.before.clone() else {
            return Ok(());
        };
        self.count(&org, t, |c| c.answers_approved += 1)?;
        let id = self.held.rec.complaint.id;
        let k = keys::approval(org.as_str(), day_of(t), &id, &a.draft_id);
        let ms = (t - a.drafted_at_ms).max(0);
        self.page.put_raw(k, ms.to_be_bytes().to_vec());
        Ok(())
    }

    pub(super) fn resolution_returned(
        &mut self,
        r: &v1::ResolutionReturned,
    ) -> Result<(), ProjectionError> {
        let t = self.when(r.at_ms);
        self.count_before(t, |c| c.resolutions_returned += 1)?;
        self.line(t, Status::InProgress, format!("returned: {}", r.reason));
        Ok(())
    }

    /// Keeps "drafts waiting" per (org, draft day): one up for each draft the
    /// event added, one down for each it took away (approved, returned, or
    /// dropped when the complaint was answered or left the org).
    pub(super) fn drafts_moved(&mut self) -> Result<(), ProjectionError> {
        let before = std::mem::take(&mut self.drafts);
        let after = self.held.rec.complaint.drafts.clone();
        for (id, d) in &before {
            if !after.contains_key(id) {
                let t = d.at_ms;
                self.count(&d.org, t, |c| {
                    c.drafts_waiting = c.drafts_waiting.saturating_sub(1)
                })?;
            }
        }
        for (id, d) in &after {
            if !before.contains_key(id) {
                self.count(&d.org, d.at_ms, |c| c.drafts_waiting += 1)?;
            }
        }
        self.drafts = after;
        Ok(())
    }
}
