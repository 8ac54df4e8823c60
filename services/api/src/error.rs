//! The one place errors become HTTP responses: the contract's status codes and
//! the body `{"error": {"code", "message", "field"}}`. Internal detail is
//! logged, not sent.

use aduan_intake::IntakeError;
use aduan_proto::{v1, ErrorCode};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error as the HTTP edge reports it: a contract code, whose status
/// [`status_of`] gives, with a message and the offending field.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    field: String,
}

impl ApiError {
    /// An error with the given contract code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: String::new(),
        }
    }
    /// Names the offending field.
    pub fn with_field(mut self, field: &str) -> Self {
        self.field = field.into();
        self
    }
    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    /// 503 `unavailable`, logging the cause.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "service unavailable");
        Self::new(ErrorCode::Unavailable, "service temporarily unavailable")
    }
    /// The contract code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        status_of(self.code)
    }
    /// The contract error, as the body carries it.
    pub fn error(&self) -> v1::Error {
        self.code.error(self.message.as_str(), self.field.as_str())
    }

    /// A service error's contract form, under the code it was built from.
    pub(crate) fn contract(code: ErrorCode, error: v1::Error) -> Self {
        Self {
            code,
            message: error.message,
            field: error.field,
        }
    }
}

/// The status code CONTRACT.md gives a contract error code. Exhaustive on
/// purpose: a new code does not compile until it has a status.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::NotAssigned => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        if let IntakeError::Unavailable(cause) = &e {
            return Self::unavailable(cause);
        }
        Self::contract(e.code(), e.to_proto())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status(),
            Json(serde_json::json!({ "error": self.error() })),
        )
            .into_response();
        // Unavailable is temporary (a store that refused a write is reopened
        // by a restart): say when to come back, as the load shedder does.
        if self.code == ErrorCode::Unavailable {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(crate::limits::RETRY_AFTER_SECS),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests;
