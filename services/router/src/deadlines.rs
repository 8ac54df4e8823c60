//! Deadlines, pure: when the scanner must next look at a complaint, and what
//! it asks for once a deadline has passed — an escalation to the owner's
//! parent for each missed deadline (acknowledge, follow-up, resolve), or the
//! automatic close of a resolved complaint whose reporter stayed silent.
//! Writing each escalation once is the domain's job (`Complaint::escalated`).

use aduan_complaints::sla::{auto_close_at as close_after, escalation_due};
use aduan_domain::calendar::{from_unix_ms, unix_ms};
use aduan_domain::{
    CloseReason, Command, Complaint, DeadlineKind, EscalationReason, OrgCode, Status,
};
use aduan_rules::RuleSet;
use time::OffsetDateTime;

/// The deadlines of the current owner not yet met nor escalated, in order.
fn pending(c: &Complaint) -> impl Iterator<Item = DeadlineKind> + '_ {
    DeadlineKind::ALL.iter().copied().filter(|k| {
        let met = match k {
            DeadlineKind::Acknowledge => c.responded,
            DeadlineKind::FollowUp => c.followed_up,
            DeadlineKind::Resolve => c.status == Status::Resolved,
        };
        !met && !c.escalated.contains(k)
    })
}

/// The organisation a missed deadline escalates to: the owner's parent.
fn escalation_target<'r>(rules: Option<&'r RuleSet>, c: &Complaint) -> Option<&'r OrgCode> {
    rules?.parent_of(c.owner.as_ref()?)
}

/// When a resolved complaint closes by itself (Unix ms).
fn auto_close_at(rules: Option<&RuleSet>, c: &Complaint) -> Option<i64> {
    let resolved = from_unix_ms(c.resolved_at_ms?)?;
    Some(close_after(rules, resolved))
}

/// When the scanner must next look at `c` (Unix ms); None when no deadline
/// can fire: finished, unowned, or owned by the root with nobody above.
pub fn next_due(rules: Option<&RuleSet>, c: &Complaint) -> Option<i64> {
    if c.status == Status::Resolved {
        return auto_close_at(rules, c);
    }
    if !c.status.is_open() {
        return None;
    }
    escalation_target(rules, c)?;
    let d = c.deadlines?;
    pending(c).map(|k| d.get(k)).min()
}

/// What a passed deadline of `c` asks for at `now`, if anything.
pub fn overdue(rules: Option<&RuleSet>, c: &Complaint, now: OffsetDateTime) -> Option<Command> {
    let now_ms = unix_ms(now);
    if c.status == Status::Resolved {
        return (auto_close_at(rules, c)? <= now_ms).then_some(Command::Close {
            reason: CloseReason::AutoClose,
        });
    }
    if !c.status.is_open() {
        return None;
    }
    let to = escalation_target(rules, c)?.clone();
    let d = c.deadlines?;
    let kind = pending(c).find(|k| d.get(*k) <= now_ms)?;
    Some(Command::Escalate {
        to,
        reason: EscalationReason::MissedDeadline(kind),
        due_at_ms: escalation_due(rules, now),
    })
}
