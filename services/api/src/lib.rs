//! aduan's HTTP API (CONTRACT.md): one axum router over the services. Each
//! module is one area of the contract; the JSON edge (`body`) and the error
//! mapping (`error`) are shared. Handlers parse, call a service, and map.

use std::sync::Arc;

use aduan_intake::Intake;
use aduan_log::EventLog;
use aduan_proto::v1;
use aduan_rules::RuleSet;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;

pub mod actions;
pub mod audit;
pub mod auth;
pub mod body;
pub mod error;
pub mod extract;
pub mod health;
pub mod limits;
pub mod ops;
pub mod query;

#[cfg(test)]
mod test_state;

#[cfg(test)]
mod query_fuzz;

#[cfg(test)]
mod ops_tests;

#[cfg(test)]
mod open311_tests;

pub use error::ApiError;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState<L> {
    /// The log, for reads.
    pub log: L,
    /// Intake, for submissions and tracking-number lookups.
    pub intake: Intake<L>,
    /// The rule set in force, for organisation names.
    pub rules: Arc<RuleSet>,
    /// The token file, for [`auth::Caller`].
    pub tokens: auth::Tokens,
    /// The command service, for OPD, reporter and admin actions.
    pub commands: aduan_commands::Commands<L>,
    /// The read models, for status, inbox, recap, ranking and readiness.
    pub projections: aduan_projections::Projections,
    /// The clock "overdue" is judged by.
    pub clock: aduan_domain::SharedClock,
    /// The services of this process, for readiness.
    pub health: health::Health,
    /// The rule set's region boundaries, for Open311 points; None: no region from a point.
    pub boundaries: Option<Arc<aduan_geo::Boundaries>>,
}

impl<L> axum::extract::FromRef<ApiState<L>> for auth::Tokens {
    fn from_ref(s: &ApiState<L>) -> Self {
        s.tokens.clone()
    }
}

/// Serves the HTTP API on `listener` until `shutdown` turns true; requests in
/// flight then finish before it returns.
pub async fn run<L: EventLog + Clone>(
    listener: tokio::net::TcpListener,
    state: ApiState<L>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
}

/// The whole HTTP API, with the default [`limits::Limits`].
pub fn app<L: EventLog + Clone>(state: ApiState<L>) -> Router {
    app_with(state, limits::Limits::default())
}

/// The whole HTTP API under `limits`.
pub fn app_with<L: EventLog + Clone>(state: ApiState<L>, limits: limits::Limits) -> Router {
    let routes = Router::new()
        .route("/v1/complaints", post(submit::<L>))
        .route("/v1/complaints/{tracking_no}", get(query::status::<L>))
        .route(
            "/v1/complaints/{tracking_no}/reply",
            post(actions::reply::<L>),
        )
        .route(
            "/v1/complaints/{tracking_no}/feedback",
            post(actions::feedback::<L>),
        )
        .route(
            "/v1/complaints/{tracking_no}/reopen",
            post(actions::reopen::<L>),
        )
        .route(
            "/v1/orgs/{org}/complaints/{complaint_id}/actions",
            post(actions::opd::<L>),
        )
        .route(
            "/v1/admin/complaints/{complaint_id}/actions",
            post(actions::admin::<L>),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/orgs/{org}/inbox", get(query::inbox::<L>))
        .route("/v1/stats/recap", get(query::recap::<L>))
        .route("/v1/stats/ranking", get(query::ranking::<L>))
        .route("/readyz", get(ops::readyz::<L>))
        .route("/metrics", get(ops::metrics::<L>))
        .route(
            "/v1/audit/complaints/{complaint_id}/events",
            get(audit::events::<L>),
        )
        // A path no route serves gets the contract's error body too.
        .fallback(|| async { ApiError::not_found("route") })
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .with_state(state.clone())
        // Open311 answers in its own error form and has its own body limit.
        .nest("/open311/v2", aduan_open311::router(open311(state)));
    limits::apply(routes, limits)
}

/// The Open311 routes' share of the state; `api_key`s are API tokens.
fn open311<L: EventLog + Clone>(s: ApiState<L>) -> aduan_open311::Open311<L> {
    aduan_open311::Open311 {
        intake: s.intake,
        projections: s.projections,
        rules: s.rules,
        boundaries: s.boundaries,
        keys: Arc::new(s.tokens),
        clock: s.clock,
    }
}

async fn submit<L: EventLog + Clone>(
    State(s): State<ApiState<L>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let req: v1::SubmitComplaint = body::json(&headers, body)?;
    let ack = s.intake.submit(req).await?;
    let status = if ack.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(ack)))
}
