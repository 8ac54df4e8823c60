//! What can be asked of a complaint — by its owner OPD, its reporter, the
//! router or an admin — and how a request is refused. Commands are requests,
//! named in the imperative; whether one is granted is decided in
//! `Complaint::decide`, never here.

use aduan_proto::ErrorCode;

use crate::calendar::Calendar;
use crate::complaint::Deadlines;
use crate::ids::{ComplaintId, OrgCode};
use crate::reporter_token::ReporterToken;
use crate::status::{DeadlineKind, Status};

/// A request to change a complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The owner confirms it has the complaint.
    Acknowledge {
        /// The acting organisation.
        org: OrgCode,
    },
    /// The owner reports what it has done so far.
    FollowUp {
        /// The acting organisation.
        org: OrgCode,
        /// The follow-up text.
        message: String,
        /// Whether the public timeline shows it.
        public: bool,
        /// The acting org's public answers go through its head first (the
        /// rule set's `review_answers`, false when the head itself acts): a
        /// public follow-up is then only drafted.
        review: bool,
    },
    /// The owner asks the reporter a question.
    RequestInfo {
        /// The acting organisation.
        org: OrgCode,
        /// What the owner needs to know.
        question: String,
    },
    /// The owner gives its answer.
    Resolve {
        /// The acting organisation.
        org: OrgCode,
        /// The answer.
        resolution: String,
        /// The acting org's answers go through its head first: the
        /// resolution is then only drafted.
        review: bool,
    },
    /// The head of the owner org lets a draft answer go out.
    ApproveAnswer {
        /// The acting organisation.
        org: OrgCode,
        /// Who acts for it: only its head may approve.
        role: OrgRole,
        /// The draft (`AnswerDrafted.draft_id`).
        draft_id: String,
    },
    /// The head of the owner org sends a draft back to the operator.
    ReturnAnswer {
        /// The acting organisation.
        org: OrgCode,
        /// Who acts for it: only its head may return.
        role: OrgRole,
        /// The draft (`AnswerDrafted.draft_id`).
        draft_id: String,
        /// What to change, for the operator.
        note: String,
    },
    /// A region's admin finds the resolution insufficient: back to the org
    /// that resolved it, with a fresh follow-up deadline.
    ReturnResolution {
        /// Why, shown to the reporter.
        reason: String,
        /// The working-day calendar the fresh deadline is counted in.
        calendar: Calendar,
        /// Working days the org has for its next follow-up (the rule set's
        /// `sla.follow_up`).
        follow_up_days: u32,
    },
    /// The owner says "not our authority".
    DeclineAuthority {
        /// The acting organisation.
        org: OrgCode,
        /// Why not.
        reason: String,
        /// Who it thinks is responsible instead.
        suggested_org: Option<OrgCode>,
    },
    /// The reporter answers a pending question.
    ReporterReply {
        /// The reporter's token.
        token: ReporterToken,
        /// The answer.
        message: String,
    },
    /// The reporter rates the answer.
    GiveFeedback {
        /// The reporter's token.
        token: ReporterToken,
        /// 1 to 5.
        rating: u32,
        /// Free text, may be empty.
        comment: String,
    },
    /// The reporter disputes the answer.
    Reopen {
        /// The reporter's token.
        token: ReporterToken,
        /// What is wrong with the answer.
        reason: String,
    },
    /// An admin refuses to handle it as a complaint.
    AdminReject {
        /// Spam, duplicate or not a complaint.
        reason_code: RejectReason,
        /// For the reporter to read.
        reason: String,
        /// With a duplicate: the original complaint.
        duplicate_of: Option<ComplaintId>,
    },
    /// Hand it to an owner: the router's decision, an admin's manual re-route,
    /// or the way back after a reopen.
    Route {
        /// The new owner.
        org: OrgCode,
        /// The rule that decided, empty when none did.
        rule_id: String,
        /// The rule-set version that decided, empty when none did.
        ruleset_version: String,
        /// Why this owner.
        reason: RouteReason,
        /// The new owner's deadlines, computed by the caller's calendar.
        due: Deadlines,
        /// The category the decision used.
        category: String,
        /// Why, in words, when someone routed it by hand; empty otherwise.
        reason_text: String,
        /// The target is a triage queue (a region's admin or `nasional`),
        /// which may receive a complaint again: no wrong door means the last
        /// resort can never be used up.
        triage: bool,
    },
    /// Move it up to another organisation.
    Escalate {
        /// The organisation above.
        to: OrgCode,
        /// Why.
        reason: EscalationReason,
        /// The new owner's resolve deadline (Unix ms).
        due_at_ms: i64,
    },
    /// Finish a resolved complaint for good.
    Close {
        /// Why now.
        reason: CloseReason,
    },
}

impl Command {
    /// The command's name, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Acknowledge { .. } => "acknowledge",
            Self::FollowUp { .. } => "follow_up",
            Self::RequestInfo { .. } => "request_info",
            Self::Resolve { .. } => "resolve",
            Self::ApproveAnswer { .. } => "approve_answer",
            Self::ReturnAnswer { .. } => "return_answer",
            Self::ReturnResolution { .. } => "return_resolution",
            Self::DeclineAuthority { .. } => "decline_authority",
            Self::ReporterReply { .. } => "reporter_reply",
            Self::GiveFeedback { .. } => "give_feedback",
            Self::Reopen { .. } => "reopen",
            Self::AdminReject { .. } => "admin_reject",
            Self::Route { .. } => "route",
            Self::Escalate { .. } => "escalate",
            Self::Close { .. } => "close",
        }
    }
}

contract_enum! {
    /// Who acts for an organisation: the role of the token (or NATS subject)
    /// the command came with.
    OrgRole {
        /// An operator (`opd` token): under review, its answers are drafts.
        Operator = "opd",
        /// The head of the organisation (`opd_head` token): approves or
        /// returns its org's drafts, and its own answers go out directly.
        Head = "opd_head",
    }
}

contract_enum! {
    /// Why an admin rejected a complaint (`ComplaintRejected.reason_code`).
    RejectReason {
        /// Advertising, abuse, nonsense.
        Spam = "spam",
        /// The same complaint was already made.
        Duplicate = "duplicate",
        /// A question or greeting, not a complaint.
        NotAComplaint = "not_a_complaint",
    }
}

contract_enum! {
    /// Why a complaint went to its owner (`ComplaintRouted.reason`).
    RouteReason {
        /// A jurisdiction rule matched.
        Rule = "rule",
        /// No rule matched: the region's triage queue.
        NoRule = "no_rule",
        /// No usable region: the national triage queue.
        NoRegion = "no_region",
        /// The previous owner suggested this one.
        Suggested = "suggested",
        /// The previous owner declined without a usable suggestion.
        Rerouted = "rerouted",
        /// Too many re-routings: triage.
        MaxHops = "max_hops",
        /// An admin chose the owner by hand.
        Manual = "manual",
        /// Back to the org that resolved it, after the reporter disputed.
        Reopened = "reopened",
    }
}

contract_enum! {
    /// Why a resolved complaint was closed (`ComplaintClosed.reason`).
    CloseReason {
        /// The reporter stayed silent past the auto-close period.
        AutoClose = "auto_close",
        /// The reporter gave feedback.
        Feedback = "feedback",
        /// An admin closed it.
        Admin = "admin",
    }
}

/// Why a complaint moves up (`ComplaintEscalated.reason` and `.deadline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EscalationReason {
    /// The owner missed this deadline.
    MissedDeadline(DeadlineKind),
    /// The complaint went round in circles.
    Loop,
    /// No rule matched.
    NoRule,
}

impl EscalationReason {
    /// The contract word for `ComplaintEscalated.reason`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::MissedDeadline(_) => "missed_deadline",
            Self::Loop => "loop",
            Self::NoRule => "no_rule",
        }
    }

    /// The missed deadline, if that is the reason.
    pub fn deadline(&self) -> Option<DeadlineKind> {
        match self {
            Self::MissedDeadline(k) => Some(*k),
            _ => None,
        }
    }
}

/// Why `decide` refused a command; nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The acting organisation is not the complaint's current owner. Who
    /// the owner is stays unsaid: an OPD may not learn where another OPD's
    /// complaints went.
    #[error("the complaint is not assigned to the acting organisation")]
    NotAssigned,
    /// The complaint's state does not allow this command now.
    #[error("the complaint is {status}: {why}")]
    Conflict {
        /// The status it is in.
        status: Status,
        /// Why that forbids the command, for a person to read.
        why: String,
    },
    /// A field of the command is unusable.
    #[error("{field} {why}")]
    InvalidArgument {
        /// The offending field, as named in the contract.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The reporter token does not belong to this complaint.
    #[error("the reporter token does not match this complaint")]
    Unauthorized,
    /// The caller acts for the org but its role may not do this (an
    /// operator approving), or acts for another org than the draft's.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No draft of this complaint has that id.
    #[error("no draft {0:?} of this complaint")]
    NoSuchDraft(String),
}

impl Rejection {
    /// The contract's error code (CONTRACT.md, `Error.code`).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotAssigned => ErrorCode::NotAssigned,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NoSuchDraft(_) => ErrorCode::NotFound,
        }
    }

    /// The offending field, when there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidArgument { field, .. } => Some(field),
            _ => None,
        }
    }
}
