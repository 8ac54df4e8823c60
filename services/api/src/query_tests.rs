//! The read endpoints through `app().oneshot(request)`: who may read what,
//! bad input, readiness, and that a confidential reporter never shows.

use aduan_log_sled::SledLog;
use aduan_proto::{v1, ErrorCode};
use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::auth::{Role, Tokens};
use crate::ApiState;

const SECRETS: [&str; 3] = [
    "Xylophon Rahasiawan",
    "+62-811-4242-9999",
    "xylo.rahasia@contoh.test",
];

use crate::test_state::{get, state};

async fn project(s: &ApiState<SledLog>) {
    let events = aduan_log::EventLog::read_all(&s.log, 1, 10_000)
        .await
        .expect("read");
    s.projections.apply(&events).expect("apply");
}

#[tokio::test]
async fn read_endpoints_answer_from_the_projections_and_check_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    assert_eq!(get(&s, "/readyz", None).await.0, 503, "not caught up yet");
    let ack = s
        .intake
        .submit(v1::SubmitComplaint {
            channel: "web".into(),
            channel_ref: "q-1".into(),
            kind: "complaint".into(),
            title: "Obat habis".into(),
            body: "Puskesmas kehabisan obat".into(),
            location: Some(v1::Location {
                region_code: "33.18".into(),
                ..Default::default()
            }),
            reporter: Some(v1::Reporter {
                name: SECRETS[0].into(),
                phone: SECRETS[1].into(),
                email: SECRETS[2].into(),
                privacy: "confidential".into(),
            }),
            ..Default::default()
        })
        .await
        .expect("submit");
    let path = format!("/v1/complaints/{}", ack.tracking_no);
    assert_eq!(get(&s, &path, None).await.0, 404, "not projected yet");
    project(&s).await;
    let (code, status) = get(&s, &path, None).await;
    assert_eq!(code, 200);
    assert!(status.contains("\"status\":\"received\""), "{status}");
    assert_eq!(get(&s, "/v1/complaints/not-a-number", None).await.0, 404);

    let tokens = Tokens::in_data_dir(dir.path());
    let dinkes = Role::Opd {
        org: "kab-pati-dinkes".parse_org(),
        name: "ani".into(),
    };
    let opd = tokens.issue(&dinkes).expect("issue");
    let admin = tokens
        .issue(&Role::Admin {
            name: "budi".into(),
        })
        .expect("issue");
    let inbox = "/v1/orgs/kab-pati-dinkes/inbox";
    assert_eq!(get(&s, inbox, None).await.0, 401);
    assert_eq!(
        get(&s, "/v1/orgs/kab-pati-pupr/inbox", Some(&opd)).await.0,
        403
    );
    assert_eq!(get(&s, inbox, Some(&admin)).await.0, 403);
    let (code, inbox_body) = get(&s, inbox, Some(&opd)).await;
    assert_eq!(code, 200, "{inbox_body}");
    assert_eq!(
        get(&s, "/v1/stats/recap?org=kab-pati", Some(&opd)).await.0,
        403
    );
    assert_eq!(
        get(
            &s,
            "/v1/stats/recap?org=kab-pati&from=kemarin",
            Some(&admin)
        )
        .await
        .0,
        400
    );
    let (code, recap) = get(
        &s,
        "/v1/stats/recap?org=kab-pati&from=2020-01-01",
        Some(&admin),
    )
    .await;
    assert_eq!(code, 200, "{recap}");
    let (code, ranking) = get(&s, "/v1/stats/ranking?parent=kab-pati", Some(&admin)).await;
    assert_eq!(code, 200, "{ranking}");
    let (code, metrics) = get(&s, "/metrics", None).await;
    assert_eq!(code, 200);
    assert!(metrics.contains("aduan_log_head_position 1"), "{metrics}");
    assert!(
        metrics.contains("aduan_projection_lag_events 0"),
        "{metrics}"
    );

    let everything = [status, inbox_body, recap, ranking, metrics].concat();
    for secret in SECRETS {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

trait ParseOrg {
    fn parse_org(self) -> aduan_domain::OrgCode;
}

impl ParseOrg for &str {
    fn parse_org(self) -> aduan_domain::OrgCode {
        aduan_domain::OrgCode::parse(self).expect("org")
    }
}

#[tokio::test]
async fn audit_events_are_for_auditors_only_and_show_confidential_identity_marked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    let ack = s
        .intake
        .submit(v1::SubmitComplaint {
            channel: "web".into(),
            channel_ref: "audit-1".into(),
            body: "Pungutan liar di kantor kecamatan".into(),
            reporter: Some(v1::Reporter {
                name: SECRETS[0].into(),
                phone: SECRETS[1].into(),
                email: SECRETS[2].into(),
                privacy: "confidential".into(),
            }),
            ..Default::default()
        })
        .await
        .expect("submit");
    let tokens = Tokens::in_data_dir(dir.path());
    let auditor = tokens
        .issue(&Role::Auditor {
            name: "inspektorat".into(),
        })
        .expect("issue");
    let admin = tokens
        .issue(&Role::Admin {
            name: "budi".into(),
        })
        .expect("issue");
    let opd = tokens
        .issue(&Role::Opd {
            org: "kab-pati-dinkes".parse_org(),
            name: "ani".into(),
        })
        .expect("issue");
    let path = format!("/v1/audit/complaints/{}/events", ack.complaint_id);
    assert_eq!(get(&s, &path, None).await.0, 401);
    assert_eq!(get(&s, &path, Some(&opd)).await.0, 403);
    assert_eq!(get(&s, &path, Some(&admin)).await.0, 403);
    let (code, body) = get(&s, &path, Some(&auditor)).await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let first = &v["events"][0];
    assert_eq!(first["event_type"], "ComplaintReceived");
    assert_eq!(first["position"], 1);
    assert_eq!(first["data"]["reporter"]["name"], SECRETS[0]);
    assert_eq!(first["data"]["reporter"]["privacy"], "confidential");
    assert!(first["hash"].as_str().is_some_and(|h| h.len() == 64));
    let unknown = "/v1/audit/complaints/01a207c3-78a5-73c6-aae2-4188c3f31644/events";
    assert_eq!(get(&s, unknown, Some(&auditor)).await.0, 404);
}

/// Dates outside 1970–9999 are refused with 400 naming the field, never a
/// panic (a negative year once sliced an empty string in the handler).
#[tokio::test]
async fn out_of_range_dates_are_400_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    let admin = Tokens::in_data_dir(dir.path())
        .issue(&Role::Admin {
            name: "budi".into(),
        })
        .expect("issue");
    for (query, field) in [
        ("from=-0500-01-01", "from"),
        ("to=-0001-12-31", "to"),
        ("from=+10000-01-01", "from"),
        ("from=1969-12-31", "from"),
        ("to=-0500-01-01T00:00:00Z", "to"),
    ] {
        for path in [
            "/v1/stats/recap?org=kab-pati",
            "/v1/stats/ranking?parent=kab-pati",
        ] {
            let (code, body) = get(&s, &format!("{path}&{query}"), Some(&admin)).await;
            assert_eq!(code, 400, "{path}&{query}: {body}");
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            assert_eq!(v["error"]["field"], field, "{path}&{query}: {body}");
        }
    }
}

/// A body that never ends: the client started a request and stalls.
fn stalled_submission() -> Request<Body> {
    let stream = futures::stream::pending::<Result<bytes::Bytes, std::io::Error>>();
    Request::post("/v1/complaints")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .expect("request")
}

/// A request past the deadline is 503 `unavailable`, and nothing is appended.
#[tokio::test]
async fn a_request_past_its_deadline_is_503_and_appends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    let head = *aduan_log::EventLog::head(&s.log).borrow();
    let limits = crate::limits::Limits {
        timeout: std::time::Duration::from_millis(200),
        max_in_flight: 8,
    };
    let resp = crate::app_with(s.clone(), limits)
        .oneshot(stalled_submission())
        .await
        .expect("response");
    assert_eq!(resp.status().as_u16(), 503);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        v["error"]["code"].as_str().and_then(ErrorCode::parse),
        Some(ErrorCode::Unavailable),
        "{v}"
    );
    assert_eq!(*aduan_log::EventLog::head(&s.log).borrow(), head);
}

/// A 503 that says when to come back: `Retry-After: 1`.
fn assert_come_back_later(resp: &axum::response::Response) {
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(
        resp.headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
}

/// Past the bound on requests in flight, a request is shed at once with 503
/// and `Retry-After`, while the ones in flight go on.
#[tokio::test]
async fn requests_past_the_in_flight_bound_are_shed_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    let limits = crate::limits::Limits {
        timeout: std::time::Duration::from_secs(30),
        max_in_flight: 2,
    };
    let app = crate::app_with(s.clone(), limits);
    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(app.clone().oneshot(stalled_submission())))
        .collect();
    // Let both take their slot.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let resp = app
        .clone()
        .oneshot(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_come_back_later(&resp);
    for h in held {
        h.abort();
    }
    // With the slots free again, the same request is served.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let resp = app
        .oneshot(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(resp.status().as_u16(), 200);
}

/// The sled log whose writes a full disk refuses, as `aduan_log_sled`'s
/// writer refuses them once a commit failed (reads still work).
#[derive(Clone)]
struct FullDisk(SledLog);

fn no_space() -> aduan_log::LogError {
    aduan_log::LogError::storage(std::io::Error::from(std::io::ErrorKind::StorageFull))
}

impl aduan_log::EventLog for FullDisk {
    async fn append(
        &self,
        _: &str,
        _: aduan_log::ExpectedVersion,
        _: Vec<aduan_log::NewEvent>,
    ) -> Result<aduan_log::Appended, aduan_log::LogError> {
        Err(no_space())
    }
    async fn read_stream(
        &self,
        stream: &str,
        from: u64,
    ) -> Result<Vec<aduan_log::RecordedEvent>, aduan_log::LogError> {
        self.0.read_stream(stream, from).await
    }
    async fn read_all(
        &self,
        from: u64,
        max: usize,
    ) -> Result<Vec<aduan_log::RecordedEvent>, aduan_log::LogError> {
        self.0.read_all(from, max).await
    }
    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.head()
    }
    async fn import(
        &self,
        _: Vec<aduan_log::RecordedEvent>,
    ) -> Result<aduan_log::Appended, aduan_log::LogError> {
        Err(no_space())
    }
}

/// A submission the log refuses to store is 503 `unavailable` with
/// `Retry-After` (the citizen comes back; nothing was kept), not a 500 and
/// not an acknowledgement. The full-disk scenario of `tests/faults.rs` meets
/// this only when a refused append wins the race with aduan's stop.
#[tokio::test]
async fn a_submission_the_log_cannot_store_is_503_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = crate::test_state::sled_log(dir.path());
    let s = crate::test_state::state_over(dir.path(), FullDisk(log.clone())).await;
    let head = *aduan_log::EventLog::head(&log).borrow();
    let body = serde_json::json!({
        "channel": "web", "channel_ref": "full-1", "kind": "complaint",
        "title": "Jalan rusak", "body": "Lubang besar di jalan desa",
        "location": {"region_code": "33.18"},
    });
    let resp = crate::app(s)
        .oneshot(
            Request::post("/v1/complaints")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await
        .expect("response");
    assert_come_back_later(&resp);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["error"]["code"], "unavailable", "{v}");
    assert_eq!(*aduan_log::EventLog::head(&log).borrow(), head);
}
