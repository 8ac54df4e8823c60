//! Answer review through the command service: the rule set in force decides
//! which org is reviewed, the role who may decide a draft, and an admin's
//! return counts its fresh deadline in the rule set's working days.

use super::*;

/// The sample rule set with kab-pati-dinkes under review.
fn reviewed_rules() -> String {
    RULES.replace(
        "code = \"kab-pati-dinkes\"\n",
        "code = \"kab-pati-dinkes\"\nreview_answers = true\n",
    )
}

/// A world whose clock stands at Wednesday 23 December 2026, 09:00 UTC.
fn world_at_christmas(rules: &str) -> (World, impl std::future::Future<Output = ()> + '_) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SledOptions::new(dir.path().join("log"));
    opts.fsync = false;
    let log = SledLog::open(opts).expect("open log");
    let clock = Arc::new(ManualClock::new(datetime!(2026-12-23 09:00 UTC)));
    let w = World {
        commands: Commands::new(log.clone(), clock),
        log,
        _dir: dir,
    };
    let commands = w.commands.clone();
    let publish = async move {
        commands
            .store()
            .publish_ruleset(rules)
            .await
            .expect("publish");
    };
    (w, publish)
}

fn resolve(text: &str) -> Action {
    Action::Resolve(v1::opd_command::Resolve {
        resolution: text.into(),
    })
}

fn cmd(id: &ComplaintId, action: Action) -> v1::OpdCommand {
    v1::OpdCommand {
        complaint_id: id.to_string(),
        actor: "ani".into(),
        action: Some(action),
    }
}

#[tokio::test]
async fn a_reviewed_orgs_resolution_waits_for_its_head() {
    let rules = reviewed_rules();
    let (w, publish) = world_at_christmas(&rules);
    publish.await;
    let (id, _) = w.routed_to(DINKES).await;
    let a = w
        .opd(DINKES, &id, resolve("Obat dikirim"))
        .await
        .expect("draft");
    assert_eq!((a.stream_version, a.status.as_str()), (3, "routed"));
    let events = w.events(&id).await;
    assert_eq!(
        (events[2].event_type.as_str(), events[2].actor.as_str()),
        ("AnswerDrafted", "opd:kab-pati-dinkes:ani")
    );

    let approve = || {
        Action::ApproveAnswer(v1::opd_command::ApproveAnswer {
            draft_id: "draft-3".into(),
        })
    };
    let err = w.opd(DINKES, &id, approve()).await.expect_err("operator");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_eq!(w.events(&id).await.len(), 3, "a refusal appends nothing");

    let a = w
        .commands
        .opd_as(&org(DINKES), OrgRole::Head, cmd(&id, approve()))
        .await
        .expect("approve");
    assert_eq!((a.stream_version, a.status.as_str()), (5, "resolved"));
    let events = w.events(&id).await;
    let kinds: Vec<_> = events[3..]
        .iter()
        .map(|e| (e.event_type.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("AnswerApproved", "opd_head:kab-pati-dinkes:ani"),
            ("ComplaintResolved", "opd_head:kab-pati-dinkes:ani")
        ]
    );
}

#[tokio::test]
async fn the_head_resolves_directly_and_an_unreviewed_org_is_not_drafted() {
    let rules = reviewed_rules();
    let (w, publish) = world_at_christmas(&rules);
    publish.await;
    let (id, _) = w.routed_to(DINKES).await;
    let a = w
        .commands
        .opd_as(&org(DINKES), OrgRole::Head, cmd(&id, resolve("Selesai")))
        .await
        .expect("resolve");
    assert_eq!(a.status, "resolved");
    let (other, _) = w.routed_to("kab-pati-rsud").await;
    let a = w
        .opd("kab-pati-rsud", &other, resolve("Selesai"))
        .await
        .expect("resolve");
    assert_eq!(a.status, "resolved", "kab-pati-rsud is not reviewed");
}

#[tokio::test]
async fn an_admin_returns_a_resolution_with_the_rule_sets_working_days() {
    let (w, publish) = world_at_christmas(RULES);
    publish.await;
    let (id, _) = w.routed_to(DINKES).await;
    w.opd(DINKES, &id, resolve("Selesai"))
        .await
        .expect("resolve");
    let action = AdminAction::ReturnResolution {
        reason: "Belum menjawab".into(),
    };
    let a = w.commands.admin(&id, "budi", action).await.expect("return");
    assert_eq!((a.stream_version, a.status.as_str()), (4, "in_progress"));
    let last = w.events(&id).await.pop().expect("event");
    assert_eq!(last.actor, "admin:budi");
    let ComplaintEvent::ResolutionReturned(r) = decode(&last).expect("decode") else {
        panic!("{}", last.event_type)
    };
    // Wednesday 16:00 WIB + 5 working days, Christmas (the sample's holiday)
    // and the weekend skipped: Thursday 31 December.
    assert_eq!(
        (r.org.as_str(), r.follow_up_due_ms),
        (DINKES, unix_ms(datetime!(2026-12-31 09:00 UTC)))
    );
    let again = AdminAction::ReturnResolution {
        reason: "lagi".into(),
    };
    let err = w
        .commands
        .admin(&id, "budi", again)
        .await
        .expect_err("open");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(w.events(&id).await.len(), 4);
}
