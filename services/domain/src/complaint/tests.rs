//! Given these events, when this command, then these events or this rejection.

use aduan_proto::v1;
use time::{macros::datetime, Duration, OffsetDateTime};

use super::*;
use crate::calendar::unix_ms;
use crate::command::{
    CloseReason, Command, EscalationReason, RejectReason, Rejection, RouteReason,
};
use crate::reporter_token::{self, ReporterToken};

mod escalation;
mod props;
mod review;
mod rules;
mod snapshot;

/// Monday 21 December 2026, 09:00 WIB: the complaint arrives.
const T0: OffsetDateTime = datetime!(2026-12-21 09:00 +7);
const ID: &str = "01940d2c-8a6e-7c3a-9f1e-4b5d6c7e8f90";
const TOKEN: &str = "token-of-the-reporter";

fn hours(h: i64) -> OffsetDateTime {
    T0 + Duration::hours(h)
}

fn ms(h: i64) -> i64 {
    unix_ms(hours(h))
}

fn org(code: &str) -> OrgCode {
    OrgCode::parse(code).expect("valid org code")
}

fn token() -> ReporterToken {
    ReporterToken::from(TOKEN)
}

fn received() -> ComplaintEvent {
    v1::ComplaintReceived {
        complaint_id: ID.into(),
        tracking_no: "K7QMX3PA9F".into(),
        channel: "sms".into(),
        channel_ref: "msg-1".into(),
        kind: "complaint".into(),
        title: "Obat kosong".into(),
        body: "Puskesmas Margorejo kehabisan obat sejak seminggu.".into(),
        category: String::new(),
        location: None,
        reporter: Some(v1::Reporter {
            name: "Siti".into(),
            privacy: "confidential".into(),
            ..v1::Reporter::default()
        }),
        reporter_token_hash: reporter_token::hash(TOKEN),
        received_at_ms: ms(0),
    }
    .into()
}

/// The deadlines a routing decided at hour `h` gets: 3, 5 and 60 days later
/// (plain days are enough here; the calendar has its own tests).
fn due(h: i64) -> Deadlines {
    Deadlines {
        acknowledge_ms: ms(h + 72),
        follow_up_ms: ms(h + 120),
        resolve_ms: ms(h + 1440),
    }
}

fn route(to: &str, reason: RouteReason, triage: bool, h: i64) -> Command {
    Command::Route {
        org: org(to),
        rule_id: if reason == RouteReason::Rule {
            "pati-kesehatan".into()
        } else {
            String::new()
        },
        ruleset_version: "jateng-2026-11".into(),
        reason,
        due: due(h),
        category: "kesehatan".into(),
        reason_text: String::new(),
        triage,
    }
}

fn routed(to: &str, hop: u32, reason: RouteReason, h: i64) -> ComplaintEvent {
    let d = due(h);
    v1::ComplaintRouted {
        org: to.into(),
        hop,
        rule_id: if reason == RouteReason::Rule {
            "pati-kesehatan".into()
        } else {
            String::new()
        },
        ruleset_version: "jateng-2026-11".into(),
        reason: reason.as_str().into(),
        due_at_ms: d.resolve_ms,
        acknowledge_due_ms: d.acknowledge_ms,
        follow_up_due_ms: d.follow_up_ms,
        category: "kesehatan".into(),
        at_ms: ms(h),
        reason_text: String::new(),
    }
    .into()
}

fn acknowledged(by: &str, h: i64) -> ComplaintEvent {
    v1::ComplaintAcknowledged {
        org: by.into(),
        at_ms: ms(h),
    }
    .into()
}

fn resolved(by: &str, h: i64) -> ComplaintEvent {
    v1::ComplaintResolved {
        org: by.into(),
        resolution: "Obat sudah dikirim.".into(),
        at_ms: ms(h),
    }
    .into()
}

const DINKES: &str = "kab-pati-dinkes";
const PUPR: &str = "kab-pati-pupr";
const TRIAGE: &str = "kab-pati";

/// A complaint routed to Dinkes by rule at hour 1.
fn with_dinkes() -> Vec<ComplaintEvent> {
    vec![received(), routed(DINKES, 1, RouteReason::Rule, 1)]
}

/// A complaint Dinkes resolved at hour 30.
fn resolved_by_dinkes() -> Vec<ComplaintEvent> {
    let mut events = with_dinkes();
    events.extend([acknowledged(DINKES, 2), resolved(DINKES, 30)]);
    events
}

struct Given(Complaint);

struct Then(Decision);

type Decision = Result<Vec<ComplaintEvent>, Rejection>;

fn given(events: &[ComplaintEvent]) -> Given {
    Given(Complaint::fold(events).expect("a valid stream"))
}

impl Given {
    fn when(&self, cmd: Command, h: i64) -> Then {
        Then(self.0.decide(cmd, hours(h)))
    }
}

impl Then {
    #[track_caller]
    fn then(self, expected: impl IntoIterator<Item = ComplaintEvent>) {
        assert_eq!(self.0, Ok(expected.into_iter().collect()));
    }
    #[track_caller]
    fn then_rejected(self, expected: Rejection) {
        assert_eq!(self.0, Err(expected));
    }
    #[track_caller]
    fn then_conflict(self, in_status: Status) {
        match self.0 {
            Err(Rejection::Conflict { status, .. }) => assert_eq!(status, in_status),
            other => panic!("expected a conflict in {in_status}, got {other:?}"),
        }
    }
    #[track_caller]
    fn then_invalid(self, in_field: &str) {
        match self.0 {
            Err(Rejection::InvalidArgument { field, .. }) => assert_eq!(field, in_field),
            other => panic!("expected {in_field} to be invalid, got {other:?}"),
        }
    }
}

/// A complaint's life told command by command, each decided against the
/// state folded from everything recorded before it.
struct Story(Vec<ComplaintEvent>);

impl Story {
    #[track_caller]
    fn step(&mut self, cmd: Command, h: i64) -> Vec<ComplaintEvent> {
        let state = Complaint::fold(&self.0).expect("a valid stream");
        let events = state.decide(cmd, hours(h)).expect("granted");
        self.0.extend(events.iter().cloned());
        events
    }
    fn state(&self) -> Complaint {
        Complaint::fold(&self.0).expect("a valid stream")
    }
}

#[test]
fn the_whole_life_of_a_complaint() {
    let mut story = Story(vec![received()]);
    assert_eq!(story.state().status, Status::Received);
    assert_eq!(story.state().privacy, Privacy::Confidential);

    let e = story.step(route(DINKES, RouteReason::Rule, false, 1), 1);
    assert_eq!(e, [routed(DINKES, 1, RouteReason::Rule, 1)]);
    assert_eq!(story.state().status, Status::Routed);

    let e = story.step(Command::Acknowledge { org: org(DINKES) }, 2);
    assert_eq!(e, [acknowledged(DINKES, 2)]);
    assert_eq!(story.state().status, Status::InProgress);
    assert_eq!(story.state().first_response_at_ms, Some(ms(2)));

    let question = "Puskesmas yang mana?".to_owned();
    let e = story.step(
        Command::RequestInfo {
            org: org(DINKES),
            question: question.clone(),
        },
        3,
    );
    assert_eq!(
        e,
        [v1::InformationRequested {
            org: DINKES.into(),
            question,
            at_ms: ms(3)
        }
        .into()]
    );
    assert!(story.state().awaiting_reporter);

    let e = story.step(
        Command::ReporterReply {
            token: token(),
            message: " Margorejo ".into(),
        },
        4,
    );
    assert_eq!(
        e,
        [v1::ReporterReplied {
            message: "Margorejo".into(),
            at_ms: ms(4)
        }
        .into()]
    );
    assert!(!story.state().awaiting_reporter);

    let message = "Stok obat sedang dikirim dari gudang farmasi.".to_owned();
    let cmd = Command::FollowUp {
        org: org(DINKES),
        message: message.clone(),
        public: true,
        review: false,
    };
    let e = story.step(cmd, 5);
    assert_eq!(
        e,
        [v1::FollowUpPosted {
            org: DINKES.into(),
            message,
            public: true,
            at_ms: ms(5)
        }
        .into()]
    );

    let cmd = Command::Resolve {
        org: org(DINKES),
        resolution: "Obat sudah dikirim.".into(),
        review: false,
    };
    assert_eq!(story.step(cmd, 30), [resolved(DINKES, 30)]);
    let s = story.state();
    assert_eq!(
        (s.status, s.resolved_at_ms, s.resolved_by.clone()),
        (Status::Resolved, Some(ms(30)), Some(org(DINKES)))
    );

    let cmd = Command::GiveFeedback {
        token: token(),
        rating: 2,
        comment: "Belum sampai".into(),
    };
    let e = story.step(cmd, 40);
    assert_eq!(
        e,
        [v1::FeedbackGiven {
            rating: 2,
            comment: "Belum sampai".into(),
            at_ms: ms(40)
        }
        .into()]
    );

    let cmd = Command::Reopen {
        token: token(),
        reason: "Obat belum ada di puskesmas.".into(),
    };
    let e = story.step(cmd, 41);
    let reopened = v1::ComplaintReopened {
        reason: "Obat belum ada di puskesmas.".into(),
        org: DINKES.into(),
        at_ms: ms(41),
    };
    assert_eq!(e, [reopened.into()]);
    let s = story.state();
    // The rating of the disputed answer stays until there is a new answer.
    assert_eq!(
        (s.status, s.owner.clone(), s.rating),
        (Status::Reopened, None, Some(2))
    );

    // Back to the org that resolved it, though it was tried before.
    let e = story.step(route(DINKES, RouteReason::Reopened, false, 42), 42);
    assert_eq!(e, [routed(DINKES, 2, RouteReason::Reopened, 42)]);
    assert_eq!(story.state().status, Status::Routed);
    assert!(
        !story.state().acknowledged,
        "a new routing is a new assignment"
    );

    let cmd = Command::Resolve {
        org: org(DINKES),
        resolution: "Obat sudah dikirim.".into(),
        review: false,
    };
    assert_eq!(story.step(cmd, 50), [resolved(DINKES, 50)]);
    assert_eq!(story.state().rating, None);
    let e = story.step(
        Command::Close {
            reason: CloseReason::AutoClose,
        },
        300,
    );
    assert_eq!(
        e,
        [v1::ComplaintClosed {
            reason: "auto_close".into(),
            at_ms: ms(300)
        }
        .into()]
    );

    let s = story.state();
    assert_eq!(s.status, Status::Closed);
    assert_eq!((s.hop, s.reopened, s.version), (2, 1, 12));
    assert_eq!(s.first_response_at_ms, Some(ms(2)));
    assert_eq!(s.resolved_at_ms, Some(ms(50)));
    assert_eq!(
        s.tried.iter().map(OrgCode::as_str).collect::<Vec<_>>(),
        [DINKES]
    );
}

#[test]
fn not_our_authority_then_rerouted_to_the_suggestion() {
    let mut story = Story(with_dinkes());
    let cmd = Command::DeclineAuthority {
        org: org(DINKES),
        reason: "Jalan rusak urusan PUPR".into(),
        suggested_org: Some(org(PUPR)),
    };
    let e = story.step(cmd, 2);
    let declined = v1::RoutingRejected {
        org: DINKES.into(),
        reason: "Jalan rusak urusan PUPR".into(),
        suggested_org: PUPR.into(),
        at_ms: ms(2),
    };
    assert_eq!(e, [declined.into()]);
    let s = story.state();
    assert_eq!(
        (s.owner.clone(), s.suggested_org.clone(), s.deadlines),
        (None, Some(org(PUPR)), None)
    );

    // Not back to the org that declined ...
    given(&story.0)
        .when(route(DINKES, RouteReason::Rule, false, 3), 3)
        .then_conflict(Status::Routed);
    // ... but on to the suggested one, one hop further.
    let e = story.step(route(PUPR, RouteReason::Suggested, false, 3), 3);
    assert_eq!(e, [routed(PUPR, 2, RouteReason::Suggested, 3)]);
    assert_eq!(story.state().owner, Some(org(PUPR)));

    // PUPR declines too: triage, which may take it any number of times.
    let cmd = Command::DeclineAuthority {
        org: org(PUPR),
        reason: "Bukan jalan kabupaten".into(),
        suggested_org: None,
    };
    story.step(cmd, 4);
    story.step(route(TRIAGE, RouteReason::Rerouted, true, 5), 5);
    let cmd = Command::DeclineAuthority {
        org: org(TRIAGE),
        reason: "Jalan provinsi".into(),
        suggested_org: None,
    };
    story.step(cmd, 6);
    // Routing to a triage queue already tried needs the triage flag.
    given(&story.0)
        .when(route(TRIAGE, RouteReason::MaxHops, false, 7), 7)
        .then_conflict(Status::Routed);
    let e = story.step(route(TRIAGE, RouteReason::MaxHops, true, 7), 7);
    assert_eq!(e, [routed(TRIAGE, 4, RouteReason::MaxHops, 7)]);
    assert_eq!(story.state().tried.len(), 3);
}
