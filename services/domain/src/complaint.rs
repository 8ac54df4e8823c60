//! A complaint's state, folded from its events. `apply` only records what an
//! event says happened — it never fails, never reads a clock and never checks
//! a rule, because a fact already in the log cannot be refused; every rule
//! lives in `decide` (the `decide` submodule).

use std::collections::{BTreeMap, BTreeSet};

use aduan_proto::v1;
use serde::{Deserialize, Serialize};

use crate::event::ComplaintEvent;
use crate::ids::{ComplaintId, OrgCode, TrackingNo};
use crate::status::{DeadlineKind, DraftKind, Privacy, Status};

mod decide;
mod escalate;
mod review;
pub use decide::MAX_EVENTS;

/// An answer of an org under review, waiting for the head of that org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The org that drafted it (the owner at the time).
    pub org: OrgCode,
    /// What it publishes once approved.
    pub kind: DraftKind,
    /// The resolution or follow-up text.
    pub text: String,
    /// When it was drafted (Unix ms).
    pub at_ms: i64,
}

/// The deadlines of the current assignment, in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadlines {
    /// The owner must acknowledge by then.
    pub acknowledge_ms: i64,
    /// The owner must post a first follow-up by then.
    pub follow_up_ms: i64,
    /// The owner must resolve by then.
    pub resolve_ms: i64,
}

impl Deadlines {
    /// The deadline of one kind.
    pub fn get(&self, kind: DeadlineKind) -> i64 {
        match kind {
            DeadlineKind::Acknowledge => self.acknowledge_ms,
            DeadlineKind::FollowUp => self.follow_up_ms,
            DeadlineKind::Resolve => self.resolve_ms,
        }
    }
}

/// A complaint as of the last event applied. It serialises (JSON, say) so a
/// reader that keeps state per complaint can store it and go on folding
/// without reading the stream again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Complaint {
    /// Its id.
    pub id: ComplaintId,
    /// The citizen's tracking number.
    pub tracking_no: TrackingNo,
    /// Where it stands, as the citizen sees it.
    pub status: Status,
    /// The organisation that owes the next step; None before the first
    /// routing, and between a decline or reopen and the next routing.
    pub owner: Option<OrgCode>,
    /// Number of routings so far (1 after the first).
    pub hop: u32,
    /// Every organisation it was routed to.
    pub tried: BTreeSet<OrgCode>,
    /// The current owner's deadlines, None when nobody owns it.
    pub deadlines: Option<Deadlines>,
    /// Deadlines of the current routing already escalated; each is escalated
    /// at most once, so a replayed or repeated timer changes nothing.
    pub escalated: BTreeSet<DeadlineKind>,
    /// The current owner acknowledged it.
    pub acknowledged: bool,
    /// The current owner has answered in any way (acknowledge, follow-up,
    /// question, resolution), which meets the acknowledge deadline.
    pub responded: bool,
    /// The current owner posted a follow-up or resolved it, which meets the
    /// follow-up deadline.
    pub followed_up: bool,
    /// A question to the reporter is pending.
    pub awaiting_reporter: bool,
    /// The organisation the last decliner suggested, until the next routing.
    pub suggested_org: Option<OrgCode>,
    /// The category the last routing used (or the reporter's, before).
    pub category: String,
    /// When it was received (Unix ms).
    pub received_at_ms: i64,
    /// When an owner first answered in any way (Unix ms).
    pub first_response_at_ms: Option<i64>,
    /// When it was last resolved (Unix ms).
    pub resolved_at_ms: Option<i64>,
    /// The organisation that resolved it last.
    pub resolved_by: Option<OrgCode>,
    /// The reporter's rating of the last resolution.
    pub rating: Option<u32>,
    /// How often the reporter reopened it.
    pub reopened: u32,
    /// BLAKE3 hex of the reporter token.
    pub reporter_token_hash: String,
    /// How much of the reporter may be shown.
    pub privacy: Privacy,
    /// Answers waiting for the head of the owner org, by draft id.
    pub drafts: BTreeMap<String, Draft>,
    /// Draft ids approved, returned, or dropped when the complaint left the
    /// org: deciding one again is a conflict, not "no such draft".
    pub decided_drafts: BTreeSet<String>,
    /// How often an admin returned a resolution as insufficient.
    pub returned: u32,
    /// Number of events applied: the stream version to expect on append.
    pub version: u64,
}

impl Complaint {
    /// The state right after its first event, or None when that event does
    /// not carry a valid complaint id and tracking number.
    pub fn received(e: &v1::ComplaintReceived) -> Option<Self> {
        Some(Self {
            id: ComplaintId::parse(&e.complaint_id).ok()?,
            tracking_no: TrackingNo::parse(&e.tracking_no).ok()?,
            status: Status::Received,
            owner: None,
            hop: 0,
            tried: BTreeSet::new(),
            deadlines: None,
            escalated: BTreeSet::new(),
            acknowledged: false,
            responded: false,
            followed_up: false,
            awaiting_reporter: false,
            suggested_org: None,
            category: e.category.clone(),
            received_at_ms: e.received_at_ms,
            first_response_at_ms: None,
            resolved_at_ms: None,
            resolved_by: None,
            rating: None,
            reopened: 0,
            reporter_token_hash: e.reporter_token_hash.clone(),
            privacy: Privacy::of(e.reporter.as_ref()),
            drafts: BTreeMap::new(),
            decided_drafts: BTreeSet::new(),
            returned: 0,
            version: 1,
        })
    }

    /// Folds a whole stream: None when it is empty or does not start with a
    /// usable `ComplaintReceived`.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a ComplaintEvent>) -> Option<Self> {
        let mut events = events.into_iter();
        let ComplaintEvent::Received(first) = events.next()? else {
            return None;
        };
        let mut complaint = Self::received(first)?;
        complaint.apply_all(events);
        Some(complaint)
    }

    /// Applies events in order.
    pub fn apply_all<'a>(&mut self, events: impl IntoIterator<Item = &'a ComplaintEvent>) {
        for e in events {
            self.apply(e);
        }
    }

    /// Records one event that happened. Never fails: org codes that do not
    /// parse (which `decide` never writes) leave the owner empty.
    pub fn apply(&mut self, e: &ComplaintEvent) {
        use ComplaintEvent as E;
        self.version += 1;
        match e {
            // A second Received cannot be decided; only the count moves.
            E::Received(_) => {}
            E::Rejected(_) => self.status = Status::Rejected,
            E::Routed(r) => self.routed(r),
            E::RoutingRejected(r) => {
                self.status = Status::Routed;
                self.unassign();
                self.suggested_org = OrgCode::parse(&r.suggested_org).ok();
            }
            E::Escalated(x) => self.escalated(x),
            E::Acknowledged(a) => {
                self.acknowledged = true;
                self.answered(a.at_ms);
            }
            E::FollowUpPosted(f) => {
                self.followed_up = true;
                self.answered(f.at_ms);
            }
            E::InformationRequested(i) => {
                self.awaiting_reporter = true;
                self.answered(i.at_ms);
            }
            E::ReporterReplied(_) => self.awaiting_reporter = false,
            E::Resolved(r) => {
                self.followed_up = true;
                self.answered(r.at_ms);
                self.status = Status::Resolved;
                self.awaiting_reporter = false;
                self.resolved_at_ms = Some(r.at_ms);
                self.resolved_by = OrgCode::parse(&r.org).ok();
                self.rating = None;
                // The answer is out: other drafts of it are moot.
                let moot = std::mem::take(&mut self.drafts);
                self.decided_drafts.extend(moot.into_keys());
            }
            E::FeedbackGiven(f) => self.rating = Some(f.rating),
            E::Reopened(_) => {
                self.status = Status::Reopened;
                self.reopened += 1;
                self.unassign();
            }
            E::Closed(_) => self.status = Status::Closed,
            E::AnswerDrafted(d) => {
                let (Ok(org), Some(kind)) = (OrgCode::parse(&d.org), DraftKind::parse(&d.kind))
                else {
                    return;
                };
                let draft = Draft {
                    org,
                    kind,
                    text: d.text.clone(),
                    at_ms: d.at_ms,
                };
                self.drafts.insert(d.draft_id.clone(), draft);
            }
            // The answer itself is the ComplaintResolved or FollowUpPosted
            // recorded right after the approval.
            E::AnswerApproved(a) => self.decided(&a.draft_id),
            E::AnswerReturned(r) => self.decided(&r.draft_id),
            E::ResolutionReturned(r) => self.resolution_returned(r),
        }
    }

    fn decided(&mut self, draft_id: &str) {
        self.drafts.remove(draft_id);
        self.decided_drafts.insert(draft_id.to_owned());
    }

    /// Back to the org that resolved it, which owes a new follow-up by the
    /// fresh deadline; the acknowledge and resolve deadlines stay those of
    /// the assignment, counted from the complaint.
    fn resolution_returned(&mut self, r: &v1::ResolutionReturned) {
        self.status = Status::InProgress;
        if let Ok(org) = OrgCode::parse(&r.org) {
            self.owner = Some(org);
        }
        self.followed_up = false;
        self.awaiting_reporter = false;
        self.rating = None;
        self.returned += 1;
        self.escalated.remove(&DeadlineKind::FollowUp);
        let due = r.follow_up_due_ms;
        self.deadlines = Some(match self.deadlines {
            Some(d) => Deadlines {
                follow_up_ms: due,
                ..d
            },
            None => Deadlines {
                acknowledge_ms: due,
                follow_up_ms: due,
                resolve_ms: due,
            },
        });
    }

    fn routed(&mut self, r: &v1::ComplaintRouted) {
        self.unassign();
        self.status = Status::Routed;
        self.owner = OrgCode::parse(&r.org).ok();
        self.tried.extend(self.owner.clone());
        self.hop = r.hop;
        self.deadlines = Some(Deadlines {
            acknowledge_ms: r.acknowledge_due_ms,
            follow_up_ms: r.follow_up_due_ms,
            resolve_ms: r.due_at_ms,
        });
        self.escalated.clear();
        self.suggested_org = None;
        self.category = r.category.clone();
    }

    fn escalated(&mut self, x: &v1::ComplaintEscalated) {
        // The organisation above starts a fresh assignment, but keeps the
        // deadlines already escalated so none is escalated twice.
        let (deadlines, escalated) = (self.deadlines, std::mem::take(&mut self.escalated));
        self.unassign();
        self.owner = OrgCode::parse(&x.to_org).ok();
        self.escalated = escalated;
        self.escalated.extend(DeadlineKind::parse(&x.deadline));
        self.deadlines = match deadlines {
            Some(d) => Some(Deadlines {
                resolve_ms: x.due_at_ms,
                ..d
            }),
            // Escalated before any routing (no rule matched): the one due
            // date given is all the new owner is held to.
            None => Some(Deadlines {
                acknowledge_ms: x.due_at_ms,
                follow_up_ms: x.due_at_ms,
                resolve_ms: x.due_at_ms,
            }),
        };
        if matches!(self.status, Status::Received | Status::Reopened) {
            self.status = Status::Routed;
        }
    }

    fn answered(&mut self, at_ms: i64) {
        self.responded = true;
        self.first_response_at_ms.get_or_insert(at_ms);
        self.status = Status::InProgress;
    }

    /// Forgets the current assignment: owner, deadlines, and what that owner did.
    fn unassign(&mut self) {
        self.owner = None;
        self.deadlines = None;
        self.acknowledged = false;
        self.responded = false;
        self.followed_up = false;
        self.awaiting_reporter = false;
        // Drafts are the leaving owner's; nobody may approve them any more.
        let dropped = std::mem::take(&mut self.drafts);
        self.decided_drafts.extend(dropped.into_keys());
    }
}

#[cfg(test)]
mod tests;
