//! The OpenAPI document against the router: the same operations on both
//! sides, each documented operation served (not the fallback's 404, not a
//! 405), and the document as `GET /openapi.json` serves it.

use std::collections::BTreeSet;

use aduan_log_sled::SledLog;
use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::test_state::state;
use crate::{app, openapi, routes};

/// `(METHOD, path)` of every route the router serves: the API's and
/// Open311's under its prefix.
fn served() -> BTreeSet<(String, String)> {
    let api = routes::<SledLog>()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()));
    let open311 = aduan_open311::routes::<SledLog>().into_iter().map(|r| {
        (
            r.method.to_string(),
            format!("{}{}", aduan_open311::PREFIX, r.path),
        )
    });
    api.chain(open311).collect()
}

/// `(METHOD, path)` of every operation the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if method != "parameters" {
                ops.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    ops
}

fn document() -> Value {
    serde_json::to_value(openapi::document()).expect("document as JSON")
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_a_route() {
    let (served, documented) = (served(), documented(&document()));
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without an operation in the OpenAPI document: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "documented operations no route serves: {unserved:?}"
    );
}

/// The path with each `{parameter}` filled by a value of its usual shape.
fn concrete(path: &str) -> String {
    path.replace("{tracking_no}", "K7QMX-3PA9F")
        .replace("{org}", "kab-pati-dinkes")
        .replace("{complaint_id}", "0190f5a0-0000-7000-8000-000000000000")
        .replace("{service_request_id}", "K7QMX-3PA9F")
        .replace("{service_code}", "kesehatan")
}

#[tokio::test]
async fn every_documented_operation_answers_from_its_handler() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    for (method, path) in documented(&document()) {
        let uri = concrete(&path);
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let req = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let resp = app(s.clone()).oneshot(req).await.expect("response");
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert_ne!(status, 405, "{method} {uri}: method not allowed");
        // The API's fallback, or Open311's.
        assert!(
            !(status == 404
                && (body.contains("route not found") || body.contains("no Open311 resource"))),
            "{method} {uri}: the fallback answered: {body}"
        );
    }
}

#[tokio::test]
async fn the_document_is_served_as_openapi_3_1_with_the_contract_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = state(dir.path()).await;
    let req = Request::get("/openapi.json")
        .body(Body::empty())
        .expect("request");
    let resp = app(s).oneshot(req).await.expect("response");
    assert_eq!(resp.status().as_u16(), 200);
    let ct = resp.headers()[header::CONTENT_TYPE].clone();
    assert_eq!(ct, "application/json");
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let doc: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(doc, document());
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    // Bearer schemes for each kind of token, and the operations that need them.
    for scheme in ["opd", "opd_head", "admin", "auditor", "reporter_token"] {
        let s = &doc["components"]["securitySchemes"][scheme];
        assert_eq!(s["scheme"], "bearer", "{scheme}: {s}");
    }
    let op = |m: &str, p: &str| doc["paths"][p][m].clone();
    let inbox = op("get", "/v1/orgs/{org}/inbox");
    assert_eq!(
        inbox["security"],
        serde_json::json!([{"opd": []}, {"opd_head": []}])
    );
    let feedback = op("post", "/v1/complaints/{tracking_no}/feedback");
    assert_eq!(
        feedback["security"][0]["reporter_token"],
        serde_json::json!([])
    );
    assert!(op("get", "/v1/complaints/{tracking_no}")["security"].is_null());
    // Errors are the contract's body.
    let not_found = &op("get", "/v1/complaints/{tracking_no}")["responses"]["404"];
    let schema = &not_found["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(schema, "#/components/schemas/ErrorBody");
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ErrorBody"]["properties"]["error"]["$ref"],
        "#/components/schemas/Error"
    );
    // Messages as serde writes them: snake_case fields, enumerations as strings.
    let submit = &schemas["SubmitComplaint"]["properties"];
    assert_eq!(submit["channel_ref"]["type"], "string");
    // What intake checks, stated: a channel and a non-blank body are required.
    let required = &schemas["SubmitComplaint"]["required"];
    assert_eq!(required, &serde_json::json!(["channel", "body"]));
    assert_eq!(submit["body"]["pattern"], "\\S");
    assert_eq!(
        schemas["Reporter"]["properties"]["privacy"]["type"],
        "string"
    );
    assert_eq!(
        schemas["SubmitAck"]["properties"]["duplicate"]["type"],
        "boolean"
    );
}

#[test]
fn open311_operations_carry_the_form_the_error_array_and_the_optional_api_key() {
    let doc = document();
    let op = |m: &str, p: &str| doc["paths"][format!("/open311/v2{p}")][m].clone();
    let post = op("post", "/requests.json");
    let form = &post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
    assert_eq!(form["$ref"], "#/components/schemas/Open311NewRequest");
    let fields = &doc["components"]["schemas"]["Open311NewRequest"];
    assert_eq!(
        fields["required"],
        serde_json::json!(["service_code", "description"])
    );
    // Every refusal is Open311's array of {code, description}, for each status sent.
    for (m, p, statuses) in [
        (
            "post",
            "/requests.json",
            &["400", "403", "413", "415", "503"][..],
        ),
        ("get", "/requests.json", &["400", "403", "503"][..]),
        (
            "get",
            "/requests/{service_request_id}.json",
            &["400", "403", "404", "503"][..],
        ),
        ("get", "/services.json", &["400", "403"][..]),
    ] {
        for status in statuses {
            let schema = &op(m, p)["responses"][status]["content"]["application/json"]["schema"];
            assert_eq!(schema["type"], "array", "{m} {p} {status}: {schema}");
            assert_eq!(
                schema["items"]["$ref"], "#/components/schemas/Open311ErrorEntry",
                "{m} {p} {status}"
            );
        }
    }
    // api_key: an apiKey in the query, optional (an empty requirement beside it).
    let key = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(
        (&key["type"], &key["in"]),
        (&"apiKey".into(), &"query".into())
    );
    assert_eq!(
        op("get", "/requests.json")["security"],
        serde_json::json!([{}, {"api_key": []}])
    );
    assert_eq!(
        op("get", "/services.json")["responses"]["200"]["content"]["application/json"]["schema"]
            ["items"]["$ref"],
        "#/components/schemas/Open311Service"
    );
}
