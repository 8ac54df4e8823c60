//! Open311's error form: the body is an array of `{code, description}`
//! (GeoReport v2, "Errors"), `code` being the HTTP status, sent with that
//! status. Internal detail is logged, not sent.

use aduan_intake::IntakeError;
use aduan_projections::ProjectionError;
use aduan_proto::ErrorCode;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Why an Open311 request is refused.
#[derive(Debug, thiserror::Error)]
pub enum Open311Error {
    /// A parameter is missing or malformed.
    #[error("{field}: {message}")]
    Invalid {
        /// The Open311 parameter.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A path or resource that is not there.
    #[error("{0}")]
    NotFound(String),
    /// A format other than JSON was asked for.
    #[error("aduan serves GeoReport v2 as JSON only: ask for .json (the spec's default format, XML, is not served)")]
    JsonOnly,
    /// A method the resource does not serve.
    #[error("method not allowed on this Open311 resource")]
    MethodNotAllowed,
    /// An `api_key` that is not a known API token.
    #[error("invalid api_key")]
    Forbidden,
    /// A POST body that is not form-encoded.
    #[error("expected Content-Type: application/x-www-form-urlencoded, got {0:?}")]
    UnsupportedMediaType(String),
    /// A body over the limit.
    #[error("request body exceeds {0} bytes")]
    TooLarge(usize),
    /// The service cannot answer now; the cause is logged.
    #[error("service temporarily unavailable")]
    Unavailable,
}

impl Open311Error {
    /// A missing or malformed parameter.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The HTTP status it is sent with (and its `code`).
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid { .. } | Self::JsonOnly => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "open311: service unavailable");
        Self::Unavailable
    }
}

/// Intake's field names as Open311 calls them.
fn open311_field(intake_field: &str) -> &'static str {
    match intake_field {
        "title" | "body" => "description",
        "location.lat" => "lat",
        "location.lon" => "long",
        "location.address" => "address_string",
        "reporter.name" => "first_name",
        "reporter.phone" => "phone",
        "reporter.email" => "email",
        "reporter.privacy" => "privacy",
        "category" => "service_code",
        _ => "request",
    }
}

impl From<IntakeError> for Open311Error {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Invalid { field, message } => Self::invalid(open311_field(field), message),
            IntakeError::TooLarge { max, .. } => Self::TooLarge(max),
            e if e.code() == ErrorCode::InvalidArgument => Self::invalid("request", e.to_string()),
            e => Self::unavailable(&e),
        }
    }
}

impl From<ProjectionError> for Open311Error {
    fn from(e: ProjectionError) -> Self {
        Self::unavailable(&e)
    }
}

/// One entry of the error array.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Open311ErrorEntry))]
pub struct ErrorEntry {
    /// The HTTP status.
    pub code: u16,
    /// What is wrong, for a person.
    pub description: String,
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = [ErrorEntry {
            code: status.as_u16(),
            description: self.to_string(),
        }];
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        resp
    }
}
