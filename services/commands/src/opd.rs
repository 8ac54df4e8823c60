//! An `OpdCommand` from the wire, parsed into a domain command. Only the
//! shape is checked here (ids, actor, which action); whether the org may act
//! and whether the texts are usable is `decide`'s business.

use aduan_domain::{Command, ComplaintId, OrgCode, OrgRole};
use aduan_proto::v1;
use aduan_proto::v1::opd_command::Action;

use crate::{checked_actor, CommandError};

/// A parsed OPD command.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub id: ComplaintId,
    pub actor: String,
    pub command: Command,
}

/// Parses `cmd`, acting as `org` in `role`; `review` is the org's
/// `review_answers` (an operator's answers are then drafts).
pub(crate) fn parse(
    org: &OrgCode,
    role: OrgRole,
    review: bool,
    cmd: v1::OpdCommand,
) -> Result<Parsed, CommandError> {
    let id = ComplaintId::parse(cmd.complaint_id.trim())
        .map_err(|_| CommandError::invalid("complaint_id", "is not a complaint id"))?;
    let actor = checked_actor(&cmd.actor)?.to_owned();
    let org = org.clone();
    // The head's own answers need nobody's approval.
    let review = review && role == OrgRole::Operator;
    let command = match cmd.action {
        None => return Err(CommandError::invalid("action", "is missing")),
        Some(Action::Acknowledge(_)) => Command::Acknowledge { org },
        Some(Action::FollowUp(f)) => Command::FollowUp {
            org,
            message: f.message,
            public: f.public,
            review,
        },
        Some(Action::RequestInfo(r)) => Command::RequestInfo {
            org,
            question: r.question,
        },
        Some(Action::Resolve(r)) => Command::Resolve {
            org,
            resolution: r.resolution,
            review,
        },
        Some(Action::Reject(r)) => Command::DeclineAuthority {
            org,
            reason: r.reason,
            suggested_org: suggested(&r.suggested_org)?,
        },
        Some(Action::ApproveAnswer(a)) => Command::ApproveAnswer {
            org,
            role,
            draft_id: a.draft_id.trim().to_owned(),
        },
        Some(Action::ReturnAnswer(r)) => Command::ReturnAnswer {
            org,
            role,
            draft_id: r.draft_id.trim().to_owned(),
            note: r.note,
        },
    };
    Ok(Parsed { id, actor, command })
}

fn suggested(s: &str) -> Result<Option<OrgCode>, CommandError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    OrgCode::parse(s)
        .map(Some)
        .map_err(|_| CommandError::invalid("suggested_org", "is not an organisation code"))
}
