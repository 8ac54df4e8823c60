//! The one place errors become HTTP responses: the contract's status codes and
//! the body `{"error": {"code", "message", "field"}}`. Internal detail is
//! logged, not sent.

use aduan_intake::IntakeError;
use aduan_proto::v1;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error as the HTTP edge reports it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: v1::Error,
}

impl ApiError {
    /// An error with the given status, contract code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let error = v1::Error {
            code: code.into(),
            message: message.into(),
            field: String::new(),
        };
        Self { status, error }
    }
    /// Names the offending field.
    pub fn with_field(mut self, field: &str) -> Self {
        self.error.field = field.into();
        self
    }
    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    /// 503 `unavailable`, logging the cause.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "service unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "service temporarily unavailable",
        )
    }
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The contract error.
    pub fn error(&self) -> &v1::Error {
        &self.error
    }
}

/// The status code that fits a contract error code.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "invalid_argument" => StatusCode::BAD_REQUEST,
        "unauthorized" => StatusCode::UNAUTHORIZED,
        "forbidden" | "not_assigned" => StatusCode::FORBIDDEN,
        "not_found" => StatusCode::NOT_FOUND,
        "conflict" => StatusCode::CONFLICT,
        "too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unprocessable" => StatusCode::UNPROCESSABLE_ENTITY,
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<v1::Error> for ApiError {
    fn from(error: v1::Error) -> Self {
        Self {
            status: status_of(&error.code),
            error,
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        if let IntakeError::Unavailable(cause) = &e {
            return Self::unavailable(cause);
        }
        e.to_proto().into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.error })),
        )
            .into_response()
    }
}
