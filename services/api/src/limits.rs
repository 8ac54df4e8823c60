//! Limits every request is held to, so a slow client or a burst cannot tie up
//! the process: a deadline per request, and a bound on requests in flight past
//! which new ones are shed at once with 503 and `Retry-After` instead of
//! queueing without end. Both answer with the contract's error body (tower's
//! layers, not tower-http's `TimeoutLayer`, whose 408 has an empty body).

use std::time::Duration;

use aduan_proto::ErrorCode;
use axum::error_handling::HandleErrorLayer;
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use tower::ServiceBuilder;

use crate::ApiError;

/// Seconds a shed client is asked to wait before trying again.
pub(crate) const RETRY_AFTER_SECS: u64 = 1;

/// How much one process takes on at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a request may take, reading its body included.
    pub timeout: Duration,
    /// Requests handled at once; more are refused with 503.
    pub max_in_flight: usize,
}

impl Default for Limits {
    /// 30 s per request, 1,024 in flight.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_in_flight: 1024,
        }
    }
}

/// `router` behind `limits`. The layers wrap the router as one service (not
/// each route, as `Router::layer` would), so the bound counts every request.
pub fn apply(router: Router, limits: Limits) -> Router {
    let limited = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(refusal))
        .load_shed()
        .concurrency_limit(limits.max_in_flight)
        .timeout(limits.timeout)
        .service(router);
    Router::new().fallback_service(limited)
}

async fn refusal(err: BoxError) -> Response {
    // Every 503 carries Retry-After (ApiError's response adds it).
    let message = if err.is::<tower::timeout::error::Elapsed>() {
        "the request took too long; try again"
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        "too many requests in flight; try again shortly"
    } else {
        tracing::error!(error = %err, "request failed in a middleware layer");
        "service temporarily unavailable"
    };
    ApiError::new(ErrorCode::Unavailable, message).into_response()
}
