//! Escalation of missed deadlines: once per deadline and routing, never for a
//! deadline that was met or has not passed.

use super::rules::in_progress;
use super::*;

fn escalate_ack(h: i64) -> Command {
    Command::Escalate {
        to: org(TRIAGE),
        reason: EscalationReason::MissedDeadline(DeadlineKind::Acknowledge),
        due_at_ms: ms(h + 240),
    }
}

#[test]
fn a_missed_deadline_is_escalated_once() {
    // Routed at hour 1: the acknowledge deadline is hour 73.
    given(&with_dinkes())
        .when(escalate_ack(72), 72)
        .then_conflict(Status::Routed);
    let escalated = v1::ComplaintEscalated {
        from_org: DINKES.into(),
        to_org: TRIAGE.into(),
        reason: "missed_deadline".into(),
        deadline: "acknowledge".into(),
        due_at_ms: ms(314),
        at_ms: ms(74),
    };
    given(&with_dinkes())
        .when(escalate_ack(74), 74)
        .then([escalated.clone().into()]);

    let mut events = with_dinkes();
    events.push(escalated.into());
    let s = Complaint::fold(&events).expect("valid");
    assert_eq!(
        (s.owner.clone(), s.deadlines.map(|d| d.resolve_ms)),
        (Some(org(TRIAGE)), Some(ms(314)))
    );
    // The timer firing again, even towards someone else, records nothing.
    given(&events).when(escalate_ack(75), 75).then([]);
    let to_prov = Command::Escalate {
        to: org("prov-jateng"),
        reason: EscalationReason::MissedDeadline(DeadlineKind::Acknowledge),
        due_at_ms: ms(400),
    };
    given(&events).when(to_prov, 90).then([]);
    // The new owner works on it; the old one no longer may.
    given(&events)
        .when(Command::Acknowledge { org: org(TRIAGE) }, 76)
        .then([acknowledged(TRIAGE, 76)]);
    given(&events)
        .when(Command::Acknowledge { org: org(DINKES) }, 76)
        .then_rejected(Rejection::NotAssigned);

    // A new routing brings new deadlines, which may be escalated again.
    events.push(routed(PUPR, 2, RouteReason::Manual, 80));
    given(&events)
        .when(escalate_ack(151), 151)
        .then_conflict(Status::Routed);
    let Then(Ok(again)) = given(&events).when(escalate_ack(160), 160) else {
        panic!("granted")
    };
    assert_eq!(again.len(), 1);
}

#[test]
fn a_met_deadline_is_not_escalated() {
    given(&in_progress())
        .when(escalate_ack(100), 100)
        .then_conflict(Status::InProgress);
    let follow_up = Command::Escalate {
        to: org(TRIAGE),
        reason: EscalationReason::MissedDeadline(DeadlineKind::FollowUp),
        due_at_ms: ms(400),
    };
    // Acknowledged but no follow-up by hour 121: escalated.
    let Then(Ok(e)) = given(&in_progress()).when(follow_up.clone(), 122) else {
        panic!("granted")
    };
    assert_eq!(e.len(), 1);
    let mut events = in_progress();
    events.push(resolved(DINKES, 100));
    given(&events)
        .when(follow_up, 122)
        .then_conflict(Status::Resolved);
}

#[test]
fn a_deadline_is_missed_from_its_very_millisecond() {
    // Routed at hour 1: the acknowledge deadline is exactly hour 73.
    let granted = given(&with_dinkes()).0.decide(escalate_ack(73), hours(73));
    assert!(matches!(granted.as_deref(), Ok([_])), "{granted:?}");
}

#[test]
fn the_resolve_deadline_is_met_only_by_resolving() {
    // Acknowledged, never resolved; the resolve deadline (hour 1441) has passed.
    let escalate = Command::Escalate {
        to: org(TRIAGE),
        reason: EscalationReason::MissedDeadline(DeadlineKind::Resolve),
        due_at_ms: ms(2000),
    };
    let granted = given(&in_progress()).0.decide(escalate, hours(1500));
    assert!(matches!(granted.as_deref(), Ok([_])), "{granted:?}");
}
