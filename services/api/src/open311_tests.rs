//! Open311 through the whole API: nested at /open311/v2, its `api_key`
//! checked against the API token file, its errors in Open311's form.

use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::auth::Role;
use crate::test_state::{get, state};

async fn post_form(s: &crate::ApiState<aduan_log_sled::SledLog>, body: String) -> (u16, String) {
    let req = Request::post("/open311/v2/requests.json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let resp = crate::app(s.clone()).oneshot(req).await.expect("response");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn open311_is_nested_and_its_api_key_is_an_api_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    let (status, body) = get(&s, "/open311/v2/services.json", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"service_code\":\"kesehatan\""), "{body}");
    let token = s
        .tokens
        .issue(&Role::Admin {
            name: "adapter".into(),
        })
        .expect("issue");
    let form = "service_code=kesehatan&address_string=Pati&description=Obat+habis";
    let head = *aduan_log::EventLog::head(&s.log).borrow();
    let (status, body) = post_form(&s, format!("{form}&api_key=not-a-token")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.starts_with("[{\"code\":403,"), "{body}");
    assert_eq!(*aduan_log::EventLog::head(&s.log).borrow(), head);
    let (status, body) = post_form(&s, format!("{form}&api_key={token}")).await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("service_request_id"), "{body}");
    let (status, body) = get(&s, "/open311/v2/nothing.json", None).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.starts_with("[{\"code\":404,"), "{body}");
    // The rest of the API keeps its own error form.
    let (status, body) = get(&s, "/v1/nothing", None).await;
    assert_eq!(status, 404);
    assert!(body.starts_with("{\"error\":"), "{body}");
}
