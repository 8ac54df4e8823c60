//! `/readyz` through `app().oneshot(request)`: ready while every service runs
//! and the projections keep up; 503 naming the service that stopped or the
//! projections when they lag past the bound (issue 13, item 10).

use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::SledLog;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::health::Health;
use crate::test_state::state;
use crate::{app, ApiState};

async fn readyz(s: &ApiState<SledLog>) -> (u16, serde_json::Value) {
    let req = Request::get("/readyz")
        .body(Body::empty())
        .expect("request");
    let resp = app(s.clone()).oneshot(req).await.expect("response");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
    (status, json)
}

/// Runs the projections until they have caught up with the log, then stops them.
async fn catch_up(s: &ApiState<SledLog>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (p, log) = (s.projections.clone(), s.log.clone());
    let tail = tokio::spawn(async move { p.run(&log, stopped).await });
    let head = *s.log.head().borrow();
    while !s.projections.is_caught_up() || s.projections.checkpoint() < head {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.send_replace(true);
    tail.await.expect("join").expect("projections");
}

async fn append(s: &ApiState<SledLog>, n: usize) {
    for i in 0..n {
        let e = NewEvent::new("TestEvent", "test", vec![1]);
        s.log
            .append(&format!("test-{i}"), ExpectedVersion::Any, vec![e])
            .await
            .expect("append");
    }
}

#[tokio::test]
async fn a_stopped_or_failed_service_makes_readyz_503_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = state(dir.path()).await;
    s.health = Health::default();
    for name in ["intake", "router", "projections"] {
        s.health.running(name);
    }
    catch_up(&s).await;
    let (code, body) = readyz(&s).await;
    assert_eq!((code, body), (200, "ready".into()));

    s.health
        .stopped("router", &Err::<(), _>("sled: No space left on device"));
    let (code, body) = readyz(&s).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(body["error"]["message"], "not ready: router failed");
    assert_eq!(body["services"], serde_json::json!({ "router": "failed" }));
    assert!(
        !body.to_string().contains("No space"),
        "the cause is logged, not sent: {body}"
    );

    // A service that ends quietly before shutdown is not serving either.
    s.health.stopped::<String>("intake", &Ok(()));
    let (code, body) = readyz(&s).await;
    assert_eq!(code, 503);
    assert_eq!(
        body["services"],
        serde_json::json!({ "intake": "stopped", "router": "failed" })
    );
}

#[tokio::test]
async fn projections_lagging_past_the_bound_make_readyz_503_naming_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = state(dir.path()).await;
    s.health = Health::new(5);
    s.health.running("projections");
    assert_eq!(readyz(&s).await.0, 503, "not caught up since open");
    catch_up(&s).await;
    assert_eq!(readyz(&s).await.0, 200);

    // At the bound: still ready.
    append(&s, 5).await;
    assert_eq!(readyz(&s).await.0, 200);
    // Past it: not ready, naming the projections and their lag.
    append(&s, 1).await;
    let (code, body) = readyz(&s).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(
        body["services"],
        serde_json::json!({ "projections": "6 events behind the log (bound 5)" })
    );
    assert_eq!(
        body["error"]["message"],
        "not ready: projections 6 events behind the log (bound 5)"
    );
    catch_up(&s).await;
    assert_eq!(readyz(&s).await.0, 200, "caught up again");
}
