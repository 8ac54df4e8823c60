//! Answer review over HTTP: an `opd_head` token approves or returns its
//! org's drafts, a plain `opd` token or another org's head may not, and an
//! admin returns a resolution. Every refusal appends nothing.

use super::*;

impl World {
    /// Puts kab-pati-dinkes under answer review (the latest rule set wins).
    async fn review_dinkes(&self) {
        let rules = RULES.replace(
            "code = \"kab-pati-dinkes\"\n",
            "code = \"kab-pati-dinkes\"\nreview_answers = true\n",
        );
        self.state
            .commands
            .store()
            .publish_ruleset(&rules)
            .await
            .expect("publish rules");
    }

    fn head_token(&self, org: &str) -> String {
        self.token(Role::OpdHead {
            org: OrgCode::parse(org).expect("org"),
            name: "kepala".into(),
        })
    }

    async fn actors(&self, id: &str) -> Vec<(String, String)> {
        let id = ComplaintId::parse(id).expect("id");
        let events = self.state.log.read_stream(&id.stream(), 1).await;
        events
            .expect("read")
            .into_iter()
            .map(|e| (e.event_type, e.actor))
            .collect()
    }
}

fn approve(draft_id: &str) -> Value {
    json!({"actor": "someone-else", "approve_answer": {"draft_id": draft_id}})
}

#[tokio::test]
async fn the_head_approves_a_draft_and_an_operator_or_another_head_may_not() {
    let w = world().await;
    w.review_dinkes().await;
    let g = w.given_routed("a").await;
    let path = action_path(DINKES, &g.id);
    let operator = w.opd_token(DINKES);
    let resolve = json!({"resolve": {"resolution": "Obat sudah dikirim"}});
    let (status, v) = w.post(&path, Some(&operator), resolve).await;
    assert_eq!(
        (status, v["status"].as_str(), v["stream_version"].as_u64()),
        (StatusCode::OK, Some("routed"), Some(3)),
        "{v}"
    );

    // The operator's own token, another org's head on either path: 403.
    let (status, v) = w.post(&path, Some(&operator), approve("draft-3")).await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::FORBIDDEN, Some(ErrorCode::Forbidden))
    );
    let rsud_head = w.head_token("kab-pati-rsud");
    let (status, _) = w.post(&path, Some(&rsud_head), approve("draft-3")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let own_path = action_path("kab-pati-rsud", &g.id);
    let (status, v) = w
        .post(&own_path, Some(&rsud_head), approve("draft-3"))
        .await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::FORBIDDEN, Some(ErrorCode::Forbidden))
    );
    assert_eq!(w.versions(&g.id).await, 3, "refusals append nothing");

    let head = w.head_token(DINKES);
    let (status, v) = w.post(&path, Some(&head), approve("draft-9")).await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::NOT_FOUND, Some(ErrorCode::NotFound))
    );
    let (status, v) = w.post(&path, Some(&head), approve("draft-3")).await;
    assert_eq!(
        (status, v["status"].as_str(), v["stream_version"].as_u64()),
        (StatusCode::OK, Some("resolved"), Some(5)),
        "{v}"
    );
    let actors = w.actors(&g.id).await;
    let head_actor = "opd_head:kab-pati-dinkes:kepala".to_owned();
    assert_eq!(
        actors[2..],
        [
            ("AnswerDrafted".into(), "opd:kab-pati-dinkes:ani".into()),
            ("AnswerApproved".into(), head_actor.clone()),
            ("ComplaintResolved".into(), head_actor),
        ]
    );
    // Decided already: 409, nothing appended.
    let (status, _) = w.post(&path, Some(&head), approve("draft-3")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(w.versions(&g.id).await, 5);
}

#[tokio::test]
async fn the_head_returns_a_draft_with_a_note_and_the_operator_drafts_again() {
    let w = world().await;
    w.review_dinkes().await;
    let g = w.given_routed("a").await;
    let path = action_path(DINKES, &g.id);
    let (operator, head) = (w.opd_token(DINKES), w.head_token(DINKES));
    let resolve = json!({"resolve": {"resolution": "Sudah"}});
    w.post(&path, Some(&operator), resolve.clone()).await;
    let no_note = json!({"return_answer": {"draft_id": "draft-3", "note": " "}});
    let (status, v) = w.post(&path, Some(&head), no_note).await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("note"))
    );
    assert_eq!(w.versions(&g.id).await, 3);
    let back = json!({"return_answer": {"draft_id": "draft-3", "note": "Kapan dikirim?"}});
    let (status, v) = w.post(&path, Some(&head), back).await;
    assert_eq!(
        (status, v["stream_version"].as_u64()),
        (StatusCode::OK, Some(4))
    );
    let (status, v) = w.post(&path, Some(&operator), resolve).await;
    assert_eq!(
        (status, v["stream_version"].as_u64()),
        (StatusCode::OK, Some(5))
    );
    assert_eq!(w.actors(&g.id).await[4].0, "AnswerDrafted");
}

#[tokio::test]
async fn an_admin_returns_a_resolution_and_others_may_not() {
    let w = world().await;
    let g = w.given_routed("a").await;
    let operator = w.opd_token(DINKES);
    let resolve = json!({"resolve": {"resolution": "Sudah"}});
    let (status, v) = w
        .post(&action_path(DINKES, &g.id), Some(&operator), resolve)
        .await;
    assert_eq!(v["status"].as_str(), Some("resolved"), "{status} {v}");

    let path = format!("/v1/admin/complaints/{}/actions", g.id);
    let body = json!({"return_resolution": {"reason": "Belum menjawab keluhan"}});
    for refused in [operator, w.head_token(DINKES)] {
        let (status, _) = w.post(&path, Some(&refused), body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let admin = w.token(Role::Admin {
        name: "budi".into(),
    });
    let blank = json!({"return_resolution": {"reason": ""}});
    let (status, v) = w.post(&path, Some(&admin), blank).await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reason"))
    );
    assert_eq!(w.versions(&g.id).await, 3);
    let (status, v) = w.post(&path, Some(&admin), body.clone()).await;
    assert_eq!(
        (status, v["status"].as_str(), v["stream_version"].as_u64()),
        (StatusCode::OK, Some("in_progress"), Some(4)),
        "{v}"
    );
    assert_eq!(
        w.actors(&g.id).await[3],
        ("ResolutionReturned".into(), "admin:budi".into())
    );
    // Not resolved any more: a second return is a conflict.
    let (status, _) = w.post(&path, Some(&admin), body).await;
    assert_eq!(status, StatusCode::CONFLICT);
}
