//! The command endpoints through `app().oneshot(request)`, without a socket:
//! who may call what, and that every refusal appends nothing.

use aduan_domain::calendar::unix_ms;
use aduan_domain::ComplaintEvent;
use aduan_log::{ExpectedVersion, NewEvent};
use aduan_log_sled::SledLog;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;
use crate::auth::Role;

use crate::test_state::RULES;

mod review;
const DINKES: &str = "kab-pati-dinkes";

struct World {
    state: ApiState<SledLog>,
    _dir: tempfile::TempDir,
}

/// A submitted complaint routed to kab-pati-dinkes.
struct Given {
    id: String,
    tracking_no: String,
    reporter_token: String,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = crate::test_state::state(dir.path()).await;
    // The command side takes the rule set in force from the log.
    state
        .commands
        .store()
        .publish_ruleset(RULES)
        .await
        .expect("publish rules");
    World { state, _dir: dir }
}

impl World {
    async fn given_routed(&self, channel_ref: &str) -> Given {
        let req = v1::SubmitComplaint {
            channel: "web".into(),
            channel_ref: channel_ref.into(),
            kind: "complaint".into(),
            title: "Obat habis".into(),
            body: "Puskesmas kehabisan obat".into(),
            location: Some(v1::Location {
                region_code: "33.18".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let ack = self.state.intake.submit(req).await.expect("submit");
        let now = unix_ms(time::OffsetDateTime::now_utc());
        let day = 86_400_000;
        let routed = ComplaintEvent::from(v1::ComplaintRouted {
            org: DINKES.into(),
            hop: 1,
            reason: "rule".into(),
            due_at_ms: now + 60 * day,
            acknowledge_due_ms: now + 3 * day,
            follow_up_due_ms: now + 5 * day,
            at_ms: now,
            ..Default::default()
        });
        let id = ComplaintId::parse(&ack.complaint_id).expect("id");
        let e = NewEvent::new(routed.type_name(), "test", routed.encode());
        self.state
            .log
            .append(&id.stream(), ExpectedVersion::Exact(1), vec![e])
            .await
            .expect("route");
        Given {
            id: ack.complaint_id,
            tracking_no: ack.tracking_no,
            reporter_token: ack.reporter_token,
        }
    }

    fn token(&self, role: Role) -> String {
        self.state.tokens.issue(&role).expect("issue")
    }

    fn opd_token(&self, org: &str) -> String {
        self.token(Role::Opd {
            org: OrgCode::parse(org).expect("org"),
            name: "ani".into(),
        })
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req.body(Body::from(body.to_string())).expect("request");
        let resp = crate::app(self.state.clone())
            .oneshot(req)
            .await
            .expect("response");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn versions(&self, id: &str) -> usize {
        let id = ComplaintId::parse(id).expect("id");
        self.state
            .log
            .read_stream(&id.stream(), 1)
            .await
            .expect("read")
            .len()
    }
}

fn action_path(org: &str, id: &str) -> String {
    format!("/v1/orgs/{org}/complaints/{id}/actions")
}

/// The contract code of an error body (None: no code, or not a contract word).
fn code(v: &Value) -> Option<ErrorCode> {
    ErrorCode::parse(v["error"]["code"].as_str()?)
}

#[tokio::test]
async fn the_owner_acts_with_its_token() {
    let w = world().await;
    let g = w.given_routed("a").await;
    let t = w.opd_token(DINKES);
    let body = json!({"actor": "ani", "acknowledge": {}});
    let (status, v) = w.post(&action_path(DINKES, &g.id), Some(&t), body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (v["stream_version"].as_u64(), v["status"].as_str()),
        (Some(3), Some("in_progress"))
    );
}

#[tokio::test]
async fn the_recorded_actor_is_the_tokens_name_not_the_bodys() {
    let w = world().await;
    let g = w.given_routed("a").await;
    let t = w.opd_token(DINKES);
    let body = json!({"actor": "someone-else", "acknowledge": {}});
    let (status, v) = w.post(&action_path(DINKES, &g.id), Some(&t), body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = ComplaintId::parse(&g.id).expect("id");
    let events = w
        .state
        .log
        .read_stream(&id.stream(), 1)
        .await
        .expect("read");
    let last = events.last().expect("an event");
    assert_eq!(last.actor, format!("opd:{DINKES}:ani"));
}

#[tokio::test]
async fn without_a_known_token_it_is_401_and_appends_nothing() {
    let w = world().await;
    let g = w.given_routed("a").await;
    let body = json!({"actor": "ani", "acknowledge": {}});
    let (status, v) = w
        .post(&action_path(DINKES, &g.id), None, body.clone())
        .await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::UNAUTHORIZED, Some(ErrorCode::Unauthorized))
    );
    let (status, _) = w
        .post(&action_path(DINKES, &g.id), Some("made-up"), body)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(w.versions(&g.id).await, 2);
}

#[tokio::test]
async fn another_opds_token_or_a_wrong_org_in_the_path_is_refused() {
    let w = world().await;
    let g = w.given_routed("a").await;
    let body = json!({"actor": "ani", "acknowledge": {}});
    let rsud = w.opd_token("kab-pati-rsud");
    // Another OPD's token on the owner's path: 403 forbidden.
    let (status, v) = w
        .post(&action_path(DINKES, &g.id), Some(&rsud), body.clone())
        .await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::FORBIDDEN, Some(ErrorCode::Forbidden))
    );
    // Its own path, but not the owner: 403 not_assigned.
    let (status, v) = w
        .post(
            &action_path("kab-pati-rsud", &g.id),
            Some(&rsud),
            body.clone(),
        )
        .await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::FORBIDDEN, Some(ErrorCode::NotAssigned))
    );
    // An admin token is not an OPD token.
    let admin = w.token(Role::Admin {
        name: "budi".into(),
    });
    let (status, _) = w
        .post(&action_path(DINKES, &g.id), Some(&admin), body)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(w.versions(&g.id).await, 2);
}

#[tokio::test]
async fn a_reporter_token_of_another_complaint_is_401_and_appends_nothing() {
    let w = world().await;
    let mine = w.given_routed("a").await;
    let other = w.given_routed("b").await;
    let path = format!("/v1/complaints/{}/reopen", mine.tracking_no);
    let (status, v) = w
        .post(&path, Some(&other.reporter_token), json!({"reason": "x"}))
        .await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::UNAUTHORIZED, Some(ErrorCode::Unauthorized))
    );
    let (status, _) = w.post(&path, None, json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(w.versions(&mine.id).await, 2);
}

#[tokio::test]
async fn the_reporter_answers_rates_and_reopens() {
    let w = world().await;
    let g = w.given_routed("a").await;
    let t = w.opd_token(DINKES);
    let ask = json!({"actor": "ani", "request_info": {"question": "Di mana?"}});
    assert_eq!(
        w.post(&action_path(DINKES, &g.id), Some(&t), ask).await.0,
        StatusCode::OK
    );
    let base = format!("/v1/complaints/{}", g.tracking_no);
    let rt = Some(g.reporter_token.as_str());
    let (status, v) = w
        .post(
            &format!("{base}/reply"),
            rt,
            json!({"message": "Puskesmas Juwana"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let resolve = json!({"actor": "ani", "resolve": {"resolution": "Dikirim"}});
    assert_eq!(
        w.post(&action_path(DINKES, &g.id), Some(&t), resolve)
            .await
            .0,
        StatusCode::OK
    );
    let (status, v) = w
        .post(&format!("{base}/feedback"), rt, json!({"rating": 9}))
        .await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("rating"))
    );
    let (status, _) = w
        .post(
            &format!("{base}/feedback"),
            rt,
            json!({"rating": 2, "comment": "lambat"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = w
        .post(&format!("{base}/reopen"), rt, json!({"reason": "belum"}))
        .await;
    assert_eq!(
        (status, v["status"].as_str()),
        (StatusCode::OK, Some("reopened"))
    );
}

#[tokio::test]
async fn only_an_admin_rejects_and_a_duplicate_is_linked() {
    let w = world().await;
    let original = w.given_routed("a").await;
    let copy = w.given_routed("b").await;
    let path = format!("/v1/admin/complaints/{}/actions", copy.id);
    let body = json!({"reject": {"reason": "sama", "duplicate_of": original.id}});
    let opd = w.opd_token(DINKES);
    assert_eq!(
        w.post(&path, Some(&opd), body.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        w.post(&path, None, body.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(w.versions(&copy.id).await, 2);
    let admin = w.token(Role::Admin {
        name: "budi".into(),
    });
    let (status, v) = w.post(&path, Some(&admin), body).await;
    assert_eq!(
        (status, v["status"].as_str()),
        (StatusCode::OK, Some("rejected")),
        "{v}"
    );
    let bad = json!({"reject": {"reason": "x", "reason_code": "boring"}});
    let (status, v) = w.post(&path, Some(&admin), bad).await;
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reason_code"))
    );
}

#[tokio::test]
async fn an_admin_reroutes_by_hand() {
    let w = world().await;
    let g = w.given_routed("a").await;
    let path = format!("/v1/admin/complaints/{}/actions", g.id);
    let admin = w.token(Role::Admin {
        name: "budi".into(),
    });
    let body = json!({"reroute": {"org": "kab-pati-rsud", "reason": "urusan RSUD"}});
    let (status, v) = w.post(&path, Some(&admin), body).await;
    assert_eq!(
        (status, v["stream_version"].as_u64()),
        (StatusCode::OK, Some(3)),
        "{v}"
    );
    // The reason is recorded, and auditors read it with the event.
    let auditor = w.token(Role::Auditor {
        name: "citra".into(),
    });
    let req = Request::get(format!("/v1/audit/complaints/{}/events", g.id))
        .header(header::AUTHORIZATION, format!("Bearer {auditor}"))
        .body(Body::empty())
        .expect("request");
    let resp = crate::app(w.state.clone())
        .oneshot(req)
        .await
        .expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    let last = &v["events"][2];
    assert_eq!(
        (&last["event_type"], &last["actor"]),
        (&json!("ComplaintRouted"), &json!("admin:budi"))
    );
    assert_eq!(last["data"]["reason_text"], "urusan RSUD", "{last}");
}
