//! Every contract code answers with the status CONTRACT.md gives it and
//! carries its own word in the body.

use aduan_proto::ErrorCode;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use http_body_util::BodyExt;

use super::ApiError;

/// CONTRACT.md's table, written out rather than derived from `status_of`.
fn contract_status(code: ErrorCode) -> StatusCode {
    let (_, status) = [
        (ErrorCode::InvalidArgument, 400),
        (ErrorCode::Unauthorized, 401),
        (ErrorCode::Forbidden, 403),
        (ErrorCode::NotAssigned, 403),
        (ErrorCode::NotFound, 404),
        (ErrorCode::Conflict, 409),
        (ErrorCode::TooLarge, 413),
        (ErrorCode::UnsupportedMediaType, 415),
        (ErrorCode::Unprocessable, 422),
        (ErrorCode::Internal, 500),
        (ErrorCode::Unavailable, 503),
    ]
    .into_iter()
    .find(|(c, _)| *c == code)
    .unwrap_or_else(|| panic!("{code} is missing from the contract table"));
    StatusCode::from_u16(status).expect("a valid status")
}

#[tokio::test]
async fn every_code_has_its_contract_status_and_word() {
    for code in ErrorCode::ALL {
        let resp = ApiError::new(code, "why")
            .with_field("title")
            .into_response();
        assert_eq!(resp.status(), contract_status(code), "{code}");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            v,
            serde_json::json!({
                "error": {"code": code.as_str(), "message": "why", "field": "title"}
            }),
            "{code}"
        );
    }
}
