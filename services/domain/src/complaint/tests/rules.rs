//! One test per refusal: each business rule of `decide`, and escalation.

use super::*;
use aduan_proto::ErrorCode;

pub(super) fn in_progress() -> Vec<ComplaintEvent> {
    let mut events = with_dinkes();
    events.push(acknowledged(DINKES, 2));
    events
}

fn closed() -> Vec<ComplaintEvent> {
    let mut events = resolved_by_dinkes();
    events.push(
        v1::ComplaintClosed {
            reason: "admin".into(),
            at_ms: ms(40),
        }
        .into(),
    );
    events
}

#[test]
fn only_the_owner_may_act() {
    given(&with_dinkes())
        .when(Command::Acknowledge { org: org(PUPR) }, 2)
        .then_rejected(Rejection::NotAssigned);
    given(&[received()])
        .when(
            Command::Resolve {
                org: org(DINKES),
                resolution: "x".into(),
                review: false,
            },
            2,
        )
        .then_rejected(Rejection::NotAssigned);
}

#[test]
fn the_state_must_allow_the_command() {
    given(&in_progress())
        .when(Command::Acknowledge { org: org(DINKES) }, 3)
        .then_conflict(Status::InProgress);
    let resolve = Command::Resolve {
        org: org(DINKES),
        resolution: "lagi".into(),
        review: false,
    };
    given(&closed())
        .when(resolve.clone(), 50)
        .then_conflict(Status::Closed);
    given(&resolved_by_dinkes())
        .when(resolve, 50)
        .then_conflict(Status::Resolved);
    let reply = Command::ReporterReply {
        token: token(),
        message: "halo".into(),
    };
    given(&in_progress())
        .when(reply, 3)
        .then_conflict(Status::InProgress);
    let reopen = Command::Reopen {
        token: token(),
        reason: "belum".into(),
    };
    given(&in_progress())
        .when(reopen.clone(), 3)
        .then_conflict(Status::InProgress);
    given(&closed())
        .when(reopen, 50)
        .then_conflict(Status::Closed);
    given(&in_progress())
        .when(
            Command::Close {
                reason: CloseReason::Admin,
            },
            3,
        )
        .then_conflict(Status::InProgress);
    given(&closed())
        .when(
            Command::Close {
                reason: CloseReason::Admin,
            },
            50,
        )
        .then_conflict(Status::Closed);
    let feedback = Command::GiveFeedback {
        token: token(),
        rating: 4,
        comment: String::new(),
    };
    given(&in_progress())
        .when(feedback, 3)
        .then_conflict(Status::InProgress);
}

#[test]
fn one_question_at_a_time() {
    let mut events = in_progress();
    events.push(
        v1::InformationRequested {
            org: DINKES.into(),
            question: "Di mana?".into(),
            at_ms: ms(3),
        }
        .into(),
    );
    let ask = Command::RequestInfo {
        org: org(DINKES),
        question: "Kapan?".into(),
    };
    given(&events)
        .when(ask, 4)
        .then_conflict(Status::InProgress);
}

#[test]
fn required_text_must_not_be_blank() {
    let dinkes = || org(DINKES);
    let cases = [
        (
            Command::FollowUp {
                org: dinkes(),
                message: " \n".into(),
                public: true,
                review: false,
            },
            "message",
        ),
        (
            Command::RequestInfo {
                org: dinkes(),
                question: String::new(),
            },
            "question",
        ),
        (
            Command::Resolve {
                org: dinkes(),
                resolution: "\t".into(),
                review: false,
            },
            "resolution",
        ),
        (
            Command::DeclineAuthority {
                org: dinkes(),
                reason: " ".into(),
                suggested_org: None,
            },
            "reason",
        ),
        (
            Command::AdminReject {
                reason_code: RejectReason::Spam,
                reason: String::new(),
                duplicate_of: None,
            },
            "reason",
        ),
    ];
    for (cmd, field) in cases {
        given(&in_progress()).when(cmd, 3).then_invalid(field);
    }
    let reopen = Command::Reopen {
        token: token(),
        reason: "  ".into(),
    };
    given(&resolved_by_dinkes())
        .when(reopen, 31)
        .then_invalid("reason");
    let mut asked = in_progress();
    asked.push(
        v1::InformationRequested {
            org: DINKES.into(),
            question: "Di mana?".into(),
            at_ms: ms(3),
        }
        .into(),
    );
    let reply = Command::ReporterReply {
        token: token(),
        message: "".into(),
    };
    given(&asked).when(reply, 4).then_invalid("message");
}

#[test]
fn only_the_reporter_token_opens_the_reporter_door() {
    let stranger = ReporterToken::from("guessed");
    let reopen = Command::Reopen {
        token: stranger.clone(),
        reason: "belum".into(),
    };
    given(&resolved_by_dinkes())
        .when(reopen, 31)
        .then_rejected(Rejection::Unauthorized);
    let rate = Command::GiveFeedback {
        token: stranger.clone(),
        rating: 5,
        comment: String::new(),
    };
    given(&resolved_by_dinkes())
        .when(rate, 31)
        .then_rejected(Rejection::Unauthorized);
    // Who is not the reporter learns nothing, not even that no question is pending.
    let reply = Command::ReporterReply {
        token: stranger,
        message: "halo".into(),
    };
    given(&in_progress())
        .when(reply, 3)
        .then_rejected(Rejection::Unauthorized);

    // A stream whose hash is empty (no token was handed out) opens for nobody.
    let ComplaintEvent::Received(mut r) = received() else {
        unreachable!()
    };
    r.reporter_token_hash.clear();
    let mut events = resolved_by_dinkes();
    events[0] = r.into();
    let reopen = Command::Reopen {
        token: ReporterToken::from(""),
        reason: "belum".into(),
    };
    given(&events)
        .when(reopen, 31)
        .then_rejected(Rejection::Unauthorized);
}

#[test]
fn a_rating_is_one_to_five_and_given_once() {
    for rating in [0, 6, 100] {
        let cmd = Command::GiveFeedback {
            token: token(),
            rating,
            comment: String::new(),
        };
        given(&resolved_by_dinkes())
            .when(cmd, 31)
            .then_invalid("rating");
    }
    let mut events = closed();
    let cmd = Command::GiveFeedback {
        token: token(),
        rating: 5,
        comment: "Terima kasih".into(),
    };
    let feedback: ComplaintEvent = v1::FeedbackGiven {
        rating: 5,
        comment: "Terima kasih".into(),
        at_ms: ms(41),
    }
    .into();
    // Rating stays possible after an auto-close.
    given(&events)
        .when(cmd.clone(), 41)
        .then([feedback.clone()]);
    events.push(feedback);
    given(&events).when(cmd, 42).then_conflict(Status::Closed);
}

#[test]
fn an_admin_rejects_open_complaints_only() {
    let dup = ComplaintId::parse("01940d2c-0000-7000-8000-000000000001").expect("valid");
    let cmd = Command::AdminReject {
        reason_code: RejectReason::Duplicate,
        reason: "Sudah dilaporkan".into(),
        duplicate_of: Some(dup),
    };
    let rejected = v1::ComplaintRejected {
        reason_code: "duplicate".into(),
        reason: "Sudah dilaporkan".into(),
        duplicate_of: dup.to_string(),
        at_ms: ms(2),
    };
    given(&with_dinkes())
        .when(cmd.clone(), 2)
        .then([rejected.clone().into()]);
    given(&resolved_by_dinkes())
        .when(cmd, 31)
        .then_conflict(Status::Resolved);

    let mut events = with_dinkes();
    events.push(rejected.into());
    assert_eq!(
        Complaint::fold(&events).map(|c| c.status),
        Some(Status::Rejected)
    );
    given(&events)
        .when(Command::Acknowledge { org: org(DINKES) }, 3)
        .then_conflict(Status::Rejected);
    given(&events)
        .when(route(PUPR, RouteReason::Manual, false, 3), 3)
        .then_conflict(Status::Rejected);

    let reject = |code, duplicate_of| Command::AdminReject {
        reason_code: code,
        reason: "x".into(),
        duplicate_of,
    };
    let own_id = ComplaintId::parse(ID).ok();
    given(&[received()])
        .when(reject(RejectReason::Duplicate, None), 1)
        .then_invalid("duplicate_of");
    given(&[received()])
        .when(reject(RejectReason::Duplicate, own_id), 1)
        .then_invalid("duplicate_of");
    given(&[received()])
        .when(reject(RejectReason::Spam, Some(dup)), 1)
        .then_invalid("duplicate_of");
}

#[test]
fn routing_rules() {
    // Not to the owner it already has, not in the past, not once it is over.
    given(&with_dinkes())
        .when(route(DINKES, RouteReason::Manual, true, 2), 2)
        .then_conflict(Status::Routed);
    given(&[received()])
        .when(route(DINKES, RouteReason::Rule, false, -1400), 1)
        .then_invalid("due_at");
    given(&closed())
        .when(route(PUPR, RouteReason::Manual, false, 50), 50)
        .then_conflict(Status::Closed);
    // An admin may move it while the owner works on it.
    given(&in_progress())
        .when(route(PUPR, RouteReason::Manual, false, 3), 3)
        .then([routed(PUPR, 2, RouteReason::Manual, 3)]);
    // A decline cannot point back at the decliner.
    let cmd = Command::DeclineAuthority {
        org: org(DINKES),
        reason: "bukan".into(),
        suggested_org: Some(org(DINKES)),
    };
    given(&with_dinkes())
        .when(cmd, 2)
        .then_invalid("suggested_org");
}

#[test]
fn rejections_map_to_contract_codes() {
    let cases = [
        (Rejection::NotAssigned, ErrorCode::NotAssigned),
        (
            Rejection::Conflict {
                status: Status::Closed,
                why: "x".into(),
            },
            ErrorCode::Conflict,
        ),
        (
            Rejection::InvalidArgument {
                field: "rating",
                why: "x",
            },
            ErrorCode::InvalidArgument,
        ),
        (Rejection::Unauthorized, ErrorCode::Unauthorized),
    ];
    for (r, code) in cases {
        assert_eq!(r.code(), code);
    }
    // Another OPD must not learn who owns the complaint.
    let r = Rejection::NotAssigned;
    assert!(!r.to_string().contains("kab-pati"), "{r}");
}

#[test]
fn fold_needs_a_received_first() {
    assert_eq!(Complaint::fold(&[]), None);
    assert_eq!(Complaint::fold(&[acknowledged(DINKES, 1)]), None);
    let ComplaintEvent::Received(mut r) = received() else {
        unreachable!()
    };
    r.complaint_id = "not-a-uuid".into();
    assert_eq!(Complaint::fold(&[r.into()]), None);
}

#[test]
fn an_owner_may_not_write_past_the_most_events_a_complaint_holds() {
    let follow_up = || Command::FollowUp {
        org: org(DINKES),
        message: "Sedang dikerjakan".into(),
        public: true,
        review: false,
    };
    let ask = || Command::RequestInfo {
        org: org(DINKES),
        question: "Di mana?".into(),
    };
    let mut events = in_progress();
    while (events.len() as u64) < MAX_EVENTS - 1 {
        events.push(
            v1::FollowUpPosted {
                org: DINKES.into(),
                message: "Sedang dikerjakan".into(),
                public: true,
                at_ms: ms(3),
            }
            .into(),
        );
    }
    let one_short = given(&events);
    assert!(one_short.0.decide(follow_up(), hours(4)).is_ok());
    assert!(one_short.0.decide(ask(), hours(4)).is_ok());
    events.push(v1::FollowUpPosted::default().into());
    let full = given(&events);
    assert_eq!(full.0.version, MAX_EVENTS);
    full.when(follow_up(), 4).then_conflict(Status::InProgress);
    full.when(ask(), 4).then_conflict(Status::InProgress);
    let resolve = Command::Resolve {
        org: org(DINKES),
        resolution: "Selesai".into(),
        review: false,
    };
    assert!(
        full.0.decide(resolve, hours(4)).is_ok(),
        "resolving stays possible"
    );
}

#[test]
fn a_refusal_names_its_field_only_when_it_has_one() {
    let invalid = Rejection::InvalidArgument {
        field: "message",
        why: "must not be blank",
    };
    assert_eq!(invalid.field(), Some("message"));
    assert_eq!(Rejection::NotAssigned.field(), None);
}

#[test]
fn a_reopened_complaint_goes_back_only_to_its_resolver() {
    // PUPR declined it, Dinkes resolved it, the reporter reopened it.
    let mut events = vec![received(), routed(PUPR, 1, RouteReason::Rule, 1)];
    events.push(
        v1::RoutingRejected {
            org: PUPR.into(),
            reason: "urusan Dinkes".into(),
            suggested_org: DINKES.into(),
            at_ms: ms(2),
        }
        .into(),
    );
    events.extend([
        routed(DINKES, 2, RouteReason::Suggested, 3),
        acknowledged(DINKES, 4),
        resolved(DINKES, 30),
        v1::ComplaintReopened {
            reason: "belum selesai".into(),
            org: DINKES.into(),
            at_ms: ms(40),
        }
        .into(),
    ]);
    let reopened = given(&events);
    assert_eq!(reopened.0.status, Status::Reopened);
    let back = reopened
        .0
        .decide(route(DINKES, RouteReason::Rule, false, 41), hours(41));
    assert!(back.is_ok(), "back to the resolver: {back:?}");
    reopened
        .when(route(PUPR, RouteReason::Rule, false, 41), 41)
        .then_conflict(Status::Reopened);
}
