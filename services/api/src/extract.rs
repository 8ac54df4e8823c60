//! axum's `Path` and `Query` extractors, refusing what does not parse (a
//! path segment that is not UTF-8, a query key given twice, a broken escape)
//! with the contract's error body rather than axum's plain text.

use aduan_proto::ErrorCode;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Path parameters; a refusal is 400 naming `path`.
#[derive(Debug)]
pub struct Path<T>(pub T);

/// The query string; a refusal is 400 naming `query`.
#[derive(Debug)]
pub struct Query<T>(pub T);

fn invalid(message: String, field: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidArgument, message).with_field(field)
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(e) => Err(invalid(e.body_text(), "path")),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(invalid(e.body_text(), "query")),
        }
    }
}
