//! aduan's HTTP API (CONTRACT.md): one axum router over the services. Each
//! module is one area of the contract; the JSON edge (`body`) and the error
//! mapping (`error`) are shared. Handlers parse, call a service, and map.

use std::sync::Arc;

use aduan_domain::TrackingNo;
use aduan_intake::Intake;
use aduan_log::EventLog;
use aduan_proto::v1;
use aduan_rules::RuleSet;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;

pub mod body;
pub mod error;
pub mod status;

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
}

/// The whole HTTP API.
pub fn app<L: EventLog + Clone>(state: ApiState<L>) -> Router {
    Router::new()
        .route("/v1/complaints", post(submit::<L>))
        .route("/v1/complaints/{tracking_no}", get(status_of::<L>))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ready" }))
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .with_state(state)
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

async fn status_of<L: EventLog + Clone>(
    State(s): State<ApiState<L>>,
    Path(tracking_no): Path<String>,
) -> Result<Json<v1::StatusView>, ApiError> {
    let t = TrackingNo::parse(&tracking_no).map_err(|_| ApiError::not_found("complaint"))?;
    let id = s
        .intake
        .index()
        .complaint_of(&t)?
        .ok_or_else(|| ApiError::not_found("complaint"))?;
    let events = s
        .log
        .read_stream(&id.stream(), 1)
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    let now = aduan_domain::calendar::unix_ms(time::OffsetDateTime::now_utc());
    status::view(&events, &s.rules, now)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("complaint"))
}
