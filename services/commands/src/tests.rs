//! The command service over a real SledLog: each action's happy path, the
//! refusals (each appending nothing), and races on one complaint.

use std::sync::Arc;

use aduan_domain::calendar::unix_ms;
use aduan_domain::{reporter_token, ComplaintEvent, ManualClock, RejectReason, Rejection, Status};
use aduan_log::{ExpectedVersion, NewEvent, RecordedEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::ErrorCode;
use time::macros::datetime;
use v1::opd_command::Action;

use super::*;

mod review;

const RULES: &str = include_str!("../../../deploy/rules/sample.toml");
const DINKES: &str = "kab-pati-dinkes";

struct World {
    commands: Commands<SledLog>,
    log: SledLog,
    _dir: tempfile::TempDir,
}

fn org(s: &str) -> OrgCode {
    OrgCode::parse(s).expect("org code")
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SledOptions::new(dir.path().join("log"));
    opts.fsync = false;
    let log = SledLog::open(opts).expect("open log");
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 09:00 UTC)));
    World {
        commands: Commands::new(log.clone(), clock),
        log,
        _dir: dir,
    }
}

fn decode(r: &RecordedEvent) -> Result<ComplaintEvent, aduan_domain::DecodeError> {
    ComplaintEvent::decode(&r.event_type, r.schema_version, &r.payload)
}

impl World {
    /// Given a complaint received and routed to `owner`: its id and reporter token.
    async fn routed_to(&self, owner: &str) -> (ComplaintId, ReporterToken) {
        let id = ComplaintId::new();
        let (token, hash) = reporter_token::generate();
        let received = v1::ComplaintReceived {
            complaint_id: id.to_string(),
            tracking_no: aduan_domain::TrackingNo::random().to_string(),
            channel: "web".into(),
            kind: "complaint".into(),
            title: "Obat habis".into(),
            body: "Puskesmas kehabisan obat".into(),
            reporter_token_hash: hash,
            received_at_ms: unix_ms(datetime!(2026-11-23 08:00 UTC)),
            ..Default::default()
        };
        let routed = v1::ComplaintRouted {
            org: owner.into(),
            hop: 1,
            reason: "rule".into(),
            due_at_ms: unix_ms(datetime!(2027-03-01 09:00 UTC)),
            acknowledge_due_ms: unix_ms(datetime!(2026-11-26 09:00 UTC)),
            follow_up_due_ms: unix_ms(datetime!(2026-11-30 09:00 UTC)),
            category: "kesehatan".into(),
            at_ms: unix_ms(datetime!(2026-11-23 08:00 UTC)),
            ..Default::default()
        };
        let events = [ComplaintEvent::from(received), ComplaintEvent::from(routed)]
            .iter()
            .map(|e| NewEvent::new(e.type_name(), "test", e.encode()))
            .collect();
        self.log
            .append(&id.stream(), ExpectedVersion::NoStream, events)
            .await
            .expect("append given");
        (id, token)
    }

    async fn events(&self, id: &ComplaintId) -> Vec<RecordedEvent> {
        self.log.read_stream(&id.stream(), 1).await.expect("read")
    }

    async fn opd(
        &self,
        as_org: &str,
        id: &ComplaintId,
        action: Action,
    ) -> Result<v1::CommandAck, CommandError> {
        let cmd = v1::OpdCommand {
            complaint_id: id.to_string(),
            actor: "ani".into(),
            action: Some(action),
        };
        self.commands.opd(&org(as_org), cmd).await
    }
}

fn follow_up(message: &str) -> Action {
    Action::FollowUp(v1::opd_command::FollowUp {
        message: message.into(),
        public: true,
    })
}

fn ack() -> Action {
    Action::Acknowledge(v1::opd_command::Acknowledge {})
}

#[tokio::test]
async fn the_owner_acknowledges_asks_follows_up_and_resolves() {
    let w = world();
    let (id, _) = w.routed_to(DINKES).await;
    let a = w.opd(DINKES, &id, ack()).await.expect("acknowledge");
    assert_eq!((a.stream_version, a.status.as_str()), (3, "in_progress"));
    let ask = Action::RequestInfo(v1::opd_command::RequestInfo {
        question: "Puskesmas mana?".into(),
    });
    assert_eq!(
        w.opd(DINKES, &id, ask).await.expect("ask").stream_version,
        4
    );
    assert_eq!(
        w.opd(DINKES, &id, follow_up("Sedang dicek"))
            .await
            .expect("follow up")
            .stream_version,
        5
    );
    let resolve = Action::Resolve(v1::opd_command::Resolve {
        resolution: "Obat dikirim".into(),
    });
    let r = w.opd(DINKES, &id, resolve).await.expect("resolve");
    assert_eq!((r.stream_version, r.status.as_str()), (6, "resolved"));
    let events = w.events(&id).await;
    let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types[2..],
        [
            "ComplaintAcknowledged",
            "InformationRequested",
            "FollowUpPosted",
            "ComplaintResolved"
        ]
    );
    assert!(events[2..]
        .iter()
        .all(|e| e.actor == "opd:kab-pati-dinkes:ani"));
}

#[tokio::test]
async fn not_our_authority_appends_routing_rejected_with_the_suggestion() {
    let w = world();
    let (id, _) = w.routed_to(DINKES).await;
    let reject = Action::Reject(v1::opd_command::Reject {
        reason: "Urusan RSUD".into(),
        suggested_org: "kab-pati-rsud".into(),
    });
    let a = w.opd(DINKES, &id, reject).await.expect("decline");
    assert_eq!(a.status, "routed");
    let last = w.events(&id).await.pop().expect("event");
    let ComplaintEvent::RoutingRejected(r) = decode(&last).expect("decode") else {
        panic!("expected RoutingRejected, got {}", last.event_type);
    };
    assert_eq!(
        (r.org.as_str(), r.suggested_org.as_str()),
        (DINKES, "kab-pati-rsud")
    );
}

#[tokio::test]
async fn another_org_is_not_assigned_and_appends_nothing() {
    let w = world();
    let (id, _) = w.routed_to(DINKES).await;
    let err = w
        .opd("kab-pati-rsud", &id, ack())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, CommandError::Rejected(Rejection::NotAssigned)),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::NotAssigned);
    let reply = err.to_proto();
    assert!(
        !reply.message.contains(DINKES) && !reply.field.contains(DINKES),
        "the owner is named to another org: {reply:?}"
    );
    assert_eq!(w.events(&id).await.len(), 2);
}

#[tokio::test]
async fn a_command_the_state_forbids_is_a_conflict_that_says_why() {
    let w = world();
    let (id, _) = w.routed_to(DINKES).await;
    w.opd(DINKES, &id, ack()).await.expect("first acknowledge");
    let err = w
        .opd(DINKES, &id, ack())
        .await
        .expect_err("second acknowledge");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(
        err.to_proto().message.contains("already acknowledged"),
        "{err}"
    );
    let resolve = Action::Resolve(v1::opd_command::Resolve {
        resolution: "Selesai".into(),
    });
    w.opd(DINKES, &id, resolve).await.expect("resolve");
    let err = w
        .opd(DINKES, &id, follow_up("lagi"))
        .await
        .expect_err("after resolve");
    assert!(err.to_proto().message.contains("already resolved"), "{err}");
    assert_eq!(w.events(&id).await.len(), 4);
}

#[tokio::test]
async fn bad_input_is_invalid_argument_with_its_field_and_appends_nothing() {
    let w = world();
    let (id, _) = w.routed_to(DINKES).await;
    let err = w
        .opd(DINKES, &id, follow_up("   "))
        .await
        .expect_err("blank");
    assert_eq!(
        (err.code(), err.field()),
        (ErrorCode::InvalidArgument, Some("message"))
    );
    let no_actor = v1::OpdCommand {
        complaint_id: id.to_string(),
        actor: " ".into(),
        action: Some(ack()),
    };
    let err = w
        .commands
        .opd(&org(DINKES), no_actor)
        .await
        .expect_err("no actor");
    assert_eq!(err.field(), Some("actor"));
    let no_action = v1::OpdCommand {
        complaint_id: id.to_string(),
        actor: "ani".into(),
        action: None,
    };
    let err = w
        .commands
        .opd(&org(DINKES), no_action)
        .await
        .expect_err("no action");
    assert_eq!(err.field(), Some("action"));
    let bad_id = v1::OpdCommand {
        complaint_id: "nope".into(),
        actor: "ani".into(),
        action: Some(ack()),
    };
    let err = w
        .commands
        .opd(&org(DINKES), bad_id)
        .await
        .expect_err("bad id");
    assert_eq!(err.field(), Some("complaint_id"));
    assert_eq!(w.events(&id).await.len(), 2);
}

#[tokio::test]
async fn an_unknown_complaint_is_not_found() {
    let w = world();
    let err = w
        .opd(DINKES, &ComplaintId::new(), ack())
        .await
        .expect_err("unknown");
    assert!(matches!(err, CommandError::NotFound(_)));
}

#[tokio::test]
async fn concurrent_acknowledgements_are_serialised_and_only_one_wins() {
    let w = world();
    let (id, _) = w.routed_to(DINKES).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (c, id) = (w.commands.clone(), id);
            let cmd = v1::OpdCommand {
                complaint_id: id.to_string(),
                actor: "ani".into(),
                action: Some(ack()),
            };
            tokio::spawn(async move { c.opd(&org(DINKES), cmd).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.code(), ErrorCode::Conflict, "{e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(w.events(&id).await.len(), 3);
}

#[tokio::test]
async fn concurrent_follow_ups_each_win_one_version_and_none_is_lost() {
    let w = world();
    let (id, _) = w.routed_to(DINKES).await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let (c, id) = (w.commands.clone(), id);
            let cmd = v1::OpdCommand {
                complaint_id: id.to_string(),
                actor: "ani".into(),
                action: Some(follow_up(&format!("langkah {i}"))),
            };
            tokio::spawn(async move { c.opd(&org(DINKES), cmd).await })
        })
        .collect();
    let mut versions = Vec::new();
    for t in tasks {
        match t.await.expect("join") {
            Ok(a) => versions.push(a.stream_version),
            Err(e) => assert!(matches!(e, CommandError::Contended { .. }), "{e}"),
        }
    }
    versions.sort_unstable();
    let before = versions.len();
    versions.dedup();
    assert_eq!(versions.len(), before, "a version was acknowledged twice");
    let follow_ups = w
        .events(&id)
        .await
        .iter()
        .filter(|e| e.event_type == "FollowUpPosted")
        .count();
    assert_eq!(
        follow_ups,
        versions.len(),
        "every acknowledged follow-up is in the log, and only those"
    );
    assert!(
        versions.len() >= 10,
        "retries should let nearly all through: {versions:?}"
    );
}

#[tokio::test]
async fn the_reporter_replies_rates_and_reopens_with_the_token() {
    let w = world();
    let (id, token) = w.routed_to(DINKES).await;
    let ask = Action::RequestInfo(v1::opd_command::RequestInfo {
        question: "Kapan?".into(),
    });
    w.opd(DINKES, &id, ask).await.expect("ask");
    let a = w
        .commands
        .reply(&id, &token, "Senin pagi".into())
        .await
        .expect("reply");
    assert_eq!(a.stream_version, 4);
    let resolve = Action::Resolve(v1::opd_command::Resolve {
        resolution: "Sudah".into(),
    });
    w.opd(DINKES, &id, resolve).await.expect("resolve");
    w.commands
        .feedback(&id, &token, 2, "Belum tuntas".into())
        .await
        .expect("feedback");
    let r = w
        .commands
        .reopen(&id, &token, "Obat masih kosong".into())
        .await
        .expect("reopen");
    assert_eq!((r.stream_version, r.status.as_str()), (7, "reopened"));
    let events = w.events(&id).await;
    assert!(events[3..]
        .iter()
        .filter(|e| e.event_type != "ComplaintResolved")
        .all(|e| e.actor == "reporter"));
}

#[tokio::test]
async fn a_wrong_reporter_token_is_unauthorized_and_appends_nothing() {
    let w = world();
    let (id, _) = w.routed_to(DINKES).await;
    let (_, other) = w.routed_to(DINKES).await;
    let err = w
        .commands
        .reopen(&id, &other, "x".into())
        .await
        .expect_err("wrong token");
    assert_eq!(err.code(), ErrorCode::Unauthorized);
    let err = w
        .commands
        .feedback(&id, &"guess".into(), 5, String::new())
        .await
        .expect_err("guess");
    assert!(matches!(
        err,
        CommandError::Rejected(Rejection::Unauthorized)
    ));
    assert_eq!(w.events(&id).await.len(), 2);
}

#[tokio::test]
async fn an_admin_rejects_a_duplicate_linked_to_the_original() {
    let w = world();
    let (original, _) = w.routed_to(DINKES).await;
    let (copy, _) = w.routed_to(DINKES).await;
    let action = AdminAction::Reject {
        reason_code: RejectReason::Duplicate,
        reason: "Sama dengan laporan sebelumnya".into(),
        duplicate_of: Some(original),
    };
    let a = w
        .commands
        .admin(&copy, "budi", action)
        .await
        .expect("reject");
    assert_eq!(a.status, Status::Rejected.as_str());
    let last = w.events(&copy).await.pop().expect("event");
    assert_eq!(last.actor, "admin:budi");
    let ComplaintEvent::Rejected(r) = decode(&last).expect("decode") else {
        panic!("{}", last.event_type)
    };
    assert_eq!(
        (r.reason_code.as_str(), r.duplicate_of),
        ("duplicate", original.to_string())
    );
}

#[tokio::test]
async fn an_admin_reroutes_by_hand_with_fresh_deadlines() {
    let w = world();
    w.commands
        .store()
        .publish_ruleset(RULES)
        .await
        .expect("publish");
    let (id, _) = w.routed_to(DINKES).await;
    let action = AdminAction::Reroute {
        org: org("kab-pati-rsud"),
        reason: " RSUD yang menangani ".into(),
    };
    let a = w
        .commands
        .admin(&id, "budi", action)
        .await
        .expect("reroute");
    assert_eq!((a.stream_version, a.status.as_str()), (3, "routed"));
    let last = w.events(&id).await.pop().expect("event");
    let ComplaintEvent::Routed(r) = decode(&last).expect("decode") else {
        panic!("{}", last.event_type)
    };
    assert_eq!(
        (r.org.as_str(), r.reason.as_str(), r.hop),
        ("kab-pati-rsud", "manual", 2)
    );
    assert_eq!(
        r.reason_text, "RSUD yang menangani",
        "the admin's reason is kept"
    );
    // Monday 09:00 UTC + 3 working days = Thursday.
    assert_eq!(
        r.acknowledge_due_ms,
        unix_ms(datetime!(2026-11-26 09:00 UTC))
    );
    let unknown = AdminAction::Reroute {
        org: org("kab-atlantis"),
        reason: "x".into(),
    };
    let err = w
        .commands
        .admin(&id, "budi", unknown)
        .await
        .expect_err("unknown org");
    assert_eq!(err.field(), Some("org"));
    assert_eq!(w.events(&id).await.len(), 3);
}
