//! Answer review: drafts of an org under review, the head's approval and
//! return, and an admin's return of a resolution.

use super::rules::in_progress;
use super::*;
use crate::command::OrgRole;
use crate::Calendar;
use aduan_proto::ErrorCode;

const ANSWER: &str = "Obat sudah dikirim.";

fn resolve(review: bool) -> Command {
    Command::Resolve {
        org: org(DINKES),
        resolution: ANSWER.into(),
        review,
    }
}

fn approve(by: &str, role: OrgRole, draft_id: &str) -> Command {
    Command::ApproveAnswer {
        org: org(by),
        role,
        draft_id: draft_id.into(),
    }
}

fn return_answer(draft_id: &str, note: &str) -> Command {
    Command::ReturnAnswer {
        org: org(DINKES),
        role: OrgRole::Head,
        draft_id: draft_id.into(),
        note: note.into(),
    }
}

fn drafted(id: &str, kind: &str, text: &str, h: i64) -> ComplaintEvent {
    v1::AnswerDrafted {
        draft_id: id.into(),
        org: DINKES.into(),
        kind: kind.into(),
        text: text.into(),
        at_ms: ms(h),
    }
    .into()
}

/// In progress at Dinkes (3 events), with a resolution drafted at hour 30
/// (the 4th event, so `draft-4`).
fn with_draft() -> Vec<ComplaintEvent> {
    let mut events = in_progress();
    events.push(drafted("draft-4", "resolution", ANSWER, 30));
    events
}

#[test]
fn a_reviewed_org_drafts_its_resolution_and_an_unreviewed_one_resolves() {
    given(&in_progress()).when(resolve(true), 30).then([drafted(
        "draft-4",
        "resolution",
        ANSWER,
        30,
    )]);
    given(&in_progress())
        .when(resolve(false), 30)
        .then([resolved(DINKES, 30)]);

    // The draft reaches nobody: the complaint is still in progress, its
    // follow-up not met, and a second resolution draft waits its turn.
    let s = Complaint::fold(&with_draft()).expect("a valid stream");
    assert_eq!(
        (s.status, s.followed_up, s.resolved_at_ms),
        (Status::InProgress, false, None)
    );
    assert_eq!(s.drafts["draft-4"].kind, DraftKind::Resolution);
    given(&with_draft())
        .when(resolve(true), 31)
        .then_conflict(Status::InProgress);
}

#[test]
fn under_review_only_public_follow_ups_are_drafted() {
    let follow_up = |public| Command::FollowUp {
        org: org(DINKES),
        message: "Sedang dikirim".into(),
        public,
        review: true,
    };
    given(&in_progress())
        .when(follow_up(true), 5)
        .then([drafted("draft-4", "follow_up", "Sedang dikirim", 5)]);
    let internal = v1::FollowUpPosted {
        org: DINKES.into(),
        message: "Sedang dikirim".into(),
        public: false,
        at_ms: ms(5),
    };
    given(&in_progress())
        .when(follow_up(false), 5)
        .then([internal.into()]);
}

#[test]
fn the_heads_approval_publishes_the_answer_at_approval_time() {
    let approved = v1::AnswerApproved {
        draft_id: "draft-4".into(),
        org: DINKES.into(),
        drafted_at_ms: ms(30),
        at_ms: ms(40),
    };
    given(&with_draft())
        .when(approve(DINKES, OrgRole::Head, "draft-4"), 40)
        .then([approved.into(), resolved(DINKES, 40)]);

    let mut story = Story(with_draft());
    story.step(approve(DINKES, OrgRole::Head, "draft-4"), 40);
    let s = story.state();
    assert_eq!(
        (s.status, s.resolved_at_ms, s.resolved_by.clone()),
        (Status::Resolved, Some(ms(40)), Some(org(DINKES)))
    );
    assert!(s.drafts.is_empty());
}

#[test]
fn an_approved_follow_up_is_public() {
    let mut events = in_progress();
    events.push(drafted("draft-4", "follow_up", "Sedang dikirim", 5));
    let then = given(&events).when(approve(DINKES, OrgRole::Head, "draft-4"), 6);
    let posted = v1::FollowUpPosted {
        org: DINKES.into(),
        message: "Sedang dikirim".into(),
        public: true,
        at_ms: ms(6),
    };
    assert_eq!(then.0.expect("approved")[1], posted.into());
}

#[test]
fn only_the_head_of_the_owner_org_decides_a_draft() {
    for cmd in [
        approve(DINKES, OrgRole::Operator, "draft-4"),
        approve(PUPR, OrgRole::Head, "draft-4"),
        Command::ReturnAnswer {
            org: org(DINKES),
            role: OrgRole::Operator,
            draft_id: "draft-4".into(),
            note: "x".into(),
        },
    ] {
        let then = given(&with_draft()).when(cmd, 40);
        match then.0 {
            Err(r @ Rejection::Forbidden(_)) => assert_eq!(r.code(), ErrorCode::Forbidden),
            other => panic!("expected forbidden, got {other:?}"),
        }
    }
    // Another org's head learns nothing, not even whether the draft exists.
    given(&with_draft())
        .when(approve(PUPR, OrgRole::Head, "draft-99"), 40)
        .then_rejected(Rejection::Forbidden(
            "the complaint's drafts belong to another organisation",
        ));
}

#[test]
fn the_head_returns_a_draft_and_the_operator_drafts_again() {
    let returned = v1::AnswerReturned {
        draft_id: "draft-4".into(),
        org: DINKES.into(),
        note: "Sebutkan tanggal pengiriman".into(),
        drafted_at_ms: ms(30),
        at_ms: ms(35),
    };
    given(&with_draft())
        .when(
            return_answer("draft-4", " Sebutkan tanggal pengiriman "),
            35,
        )
        .then([returned.into()]);
    given(&with_draft())
        .when(return_answer("draft-4", " "), 35)
        .then_invalid("note");

    let mut story = Story(with_draft());
    story.step(return_answer("draft-4", "Sebutkan tanggal"), 35);
    assert!(story.state().drafts.is_empty());
    assert_eq!(story.state().status, Status::InProgress);
    let e = story.step(resolve(true), 36);
    assert_eq!(e, [drafted("draft-6", "resolution", ANSWER, 36)]);
    // The returned draft cannot be approved after all.
    given(&story.0)
        .when(approve(DINKES, OrgRole::Head, "draft-4"), 37)
        .then_conflict(Status::InProgress);
}

#[test]
fn an_unknown_or_already_decided_draft_is_refused() {
    given(&with_draft())
        .when(approve(DINKES, OrgRole::Head, "draft-9"), 40)
        .then_rejected(Rejection::NoSuchDraft("draft-9".into()));
    assert_eq!(
        Rejection::NoSuchDraft("x".into()).code(),
        ErrorCode::NotFound
    );
    let mut story = Story(with_draft());
    story.step(approve(DINKES, OrgRole::Head, "draft-4"), 40);
    // Resolved now: the same approval again is a conflict, as is a return.
    given(&story.0)
        .when(approve(DINKES, OrgRole::Head, "draft-4"), 41)
        .then_conflict(Status::Resolved);
    given(&story.0)
        .when(return_answer("draft-4", "x"), 41)
        .then_conflict(Status::Resolved);
}

#[test]
fn a_draft_does_not_stop_the_clock() {
    // Routed at hour 1: follow-up due at hour 121. Drafted in time, at 100,
    // approved late, at 130: the follow-up deadline was missed.
    let mut events = in_progress();
    events.push(drafted("draft-4", "follow_up", "Sedang dikirim", 100));
    let s = Complaint::fold(&events).expect("a valid stream");
    assert_eq!(s.deadlines, Some(due(1)), "a draft moves no deadline");
    assert!(!s.followed_up);
    let escalate = Command::Escalate {
        to: org(TRIAGE),
        reason: EscalationReason::MissedDeadline(DeadlineKind::FollowUp),
        due_at_ms: ms(400),
    };
    let e = given(&events).when(escalate, 122).0.expect("escalated");
    assert!(matches!(&e[..], [ComplaintEvent::Escalated(x)] if x.deadline == "follow_up"));
}

#[test]
fn a_reroute_drops_the_leaving_owners_drafts() {
    let mut events = with_draft();
    events.push(
        v1::ComplaintEscalated {
            from_org: DINKES.into(),
            to_org: TRIAGE.into(),
            reason: "missed_deadline".into(),
            deadline: "resolve".into(),
            due_at_ms: ms(2000),
            at_ms: ms(1500),
        }
        .into(),
    );
    let s = Complaint::fold(&events).expect("a valid stream");
    assert!(s.drafts.is_empty());
    given(&events)
        .when(approve(TRIAGE, OrgRole::Head, "draft-4"), 1501)
        .then_conflict(Status::InProgress);
}

fn return_resolution(reason: &str) -> Command {
    let holidays = [time::macros::date!(2026 - 12 - 25)];
    Command::ReturnResolution {
        reason: reason.into(),
        calendar: Calendar::new(holidays),
        follow_up_days: 5,
    }
}

#[test]
fn an_admin_returns_the_resolution_to_the_same_org_with_a_fresh_follow_up_deadline() {
    // Returned on Wednesday 23 December, 09:00 WIB. Five working days, with
    // Christmas (Friday) and the weekend skipped: Thursday 31 December.
    let fresh = unix_ms(datetime!(2026-12-31 09:00 +7));
    let returned = v1::ResolutionReturned {
        org: DINKES.into(),
        reason: "Jawaban tidak menjawab keluhan".into(),
        follow_up_due_ms: fresh,
        at_ms: ms(48),
    };
    given(&resolved_by_dinkes())
        .when(return_resolution(" Jawaban tidak menjawab keluhan "), 48)
        .then([returned.into()]);

    let mut story = Story(resolved_by_dinkes());
    story.step(return_resolution("Tidak cukup"), 48);
    let s = story.state();
    assert_eq!(
        (s.status, s.owner.clone(), s.followed_up, s.returned),
        (Status::InProgress, Some(org(DINKES)), false, 1)
    );
    // Only the follow-up deadline is fresh; resolve still counts from the complaint.
    let d = due(1);
    assert_eq!(
        s.deadlines,
        Some(Deadlines {
            follow_up_ms: fresh,
            ..d
        })
    );
    // Back to the same org: Dinkes may answer again, nobody else may.
    given(&story.0)
        .when(
            Command::Resolve {
                org: org(PUPR),
                resolution: "x".into(),
                review: false,
            },
            50,
        )
        .then_rejected(Rejection::NotAssigned);
    assert_eq!(story.step(resolve(false), 50), [resolved(DINKES, 50)]);
}

#[test]
fn only_a_resolved_complaint_is_returned_and_with_a_reason() {
    given(&in_progress())
        .when(return_resolution("x"), 40)
        .then_conflict(Status::InProgress);
    given(&resolved_by_dinkes())
        .when(return_resolution("  "), 40)
        .then_invalid("reason");
}
