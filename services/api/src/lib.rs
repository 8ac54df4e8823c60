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
use axum::handler::Handler;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
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
pub mod openapi;
pub mod ops;
pub mod query;

#[cfg(test)]
mod test_state;

#[cfg(test)]
mod query_fuzz;

#[cfg(test)]
mod ops_tests;

#[cfg(test)]
mod openapi_tests;

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

/// The whole HTTP API under `limits`: every route of [`routes`], and the
/// contract's 404 body for any other path.
pub fn app_with<L: EventLog + Clone>(state: ApiState<L>, limits: limits::Limits) -> Router {
    limits::apply(unlimited(state), limits)
}

/// Every route of [`routes`] and the contract's 404 for any other path,
/// before [`limits::apply`]: for a caller that merges routes of its own
/// (the console's pages) and puts the limits around both.
pub fn unlimited<L: EventLog + Clone>(state: ApiState<L>) -> Router {
    routes::<L>()
        .into_iter()
        .fold(Router::new(), |r, route| r.route(route.path, route.handler))
        // A path no route serves gets the contract's error body too.
        .fallback(|| async { ApiError::not_found("route") })
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .with_state(state.clone())
        // Open311 answers in its own error form and has its own body limit.
        .nest(aduan_open311::PREFIX, aduan_open311::router(open311(state)))
}

/// Every route of the API, the one list [`app_with`] serves. Each handler
/// carries its OpenAPI description (`#[utoipa::path]`), and the document
/// ([`openapi::ApiDoc`]) must list the same operations (`openapi_tests.rs`).
pub fn routes<L: EventLog + Clone>() -> Vec<Route<ApiState<L>>> {
    vec![
        Route::post("/v1/complaints", submit::<L>),
        Route::get("/v1/complaints/{tracking_no}", query::status::<L>),
        Route::post("/v1/complaints/{tracking_no}/reply", actions::reply::<L>),
        Route::post(
            "/v1/complaints/{tracking_no}/feedback",
            actions::feedback::<L>,
        ),
        Route::post("/v1/complaints/{tracking_no}/reopen", actions::reopen::<L>),
        Route::post(
            "/v1/orgs/{org}/complaints/{complaint_id}/actions",
            actions::opd::<L>,
        ),
        Route::post(
            "/v1/admin/complaints/{complaint_id}/actions",
            actions::admin::<L>,
        ),
        Route::get("/v1/orgs/{org}/inbox", query::inbox::<L>),
        Route::get("/v1/stats/recap", query::recap::<L>),
        Route::get("/v1/stats/ranking", query::ranking::<L>),
        Route::get(
            "/v1/audit/complaints/{complaint_id}/events",
            audit::events::<L>,
        ),
        Route::get("/healthz", ops::healthz),
        Route::get("/readyz", ops::readyz::<L>),
        Route::get("/metrics", ops::metrics::<L>),
        Route::get("/openapi.json", openapi::serve),
    ]
}

/// One operation of the API: a method, a path and its handler.
#[derive(Debug)]
pub struct Route<S> {
    /// `GET` or `POST`.
    pub method: Method,
    /// The path, with `{name}` parameters.
    pub path: &'static str,
    handler: MethodRouter<S>,
}

impl<S: Clone + Send + Sync + 'static> Route<S> {
    /// `GET path`.
    pub fn get<H: Handler<T, S>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self {
            method: Method::GET,
            path,
            handler: get(handler),
        }
    }

    /// `POST path`.
    pub fn post<H: Handler<T, S>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self {
            method: Method::POST,
            path,
            handler: post(handler),
        }
    }
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

/// `POST /v1/complaints`: submit a complaint.
#[utoipa::path(
    post,
    path = "/v1/complaints",
    tag = "complaints",
    request_body(content = v1::SubmitComplaint, content_type = "application/json"),
    responses(
        (status = 201, description = "Accepted: the ack, with the reporter token (shown once).", body = v1::SubmitAck),
        (status = 200, description = "A resubmission of the same `channel` and `channel_ref`: the first ack with `duplicate: true`; nothing was appended.", body = v1::SubmitAck),
        openapi::BadRequest,
        openapi::TooLarge,
        openapi::UnsupportedMediaType,
        openapi::Unavailable,
    ),
)]
pub(crate) async fn submit<L: EventLog + Clone>(
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
