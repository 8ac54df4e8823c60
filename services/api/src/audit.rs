//! `GET /v1/audit/complaints/{complaint_id}/events`: every event of a
//! complaint with its envelope, for the auditor role only. Auditors see a
//! confidential reporter's identity (marked by its privacy); nobody else does.

use aduan_domain::ComplaintId;
use aduan_log::EventLog;
use axum::extract::State;

use crate::extract::Path;
use axum::Json;

use crate::auth::Caller;
use crate::{ApiError, ApiState};

/// The complaint's events, envelopes included.
#[utoipa::path(
    get,
    path = "/v1/audit/complaints/{complaint_id}/events",
    tag = "audit",
    security(("auditor" = [])),
    params(("complaint_id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The complaint's id (UUID v7).")),
    responses(
        (status = 200, description = "Every event of the complaint, envelopes included.", body = crate::openapi::ComplaintEvents),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::Forbidden,
        crate::openapi::NotFound,
        crate::openapi::Unavailable,
    ),
)]
pub async fn events<L: EventLog + Clone>(
    State(s): State<ApiState<L>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_auditor()?;
    let id = ComplaintId::parse(&id).map_err(|_| ApiError::not_found("complaint"))?;
    let events = s
        .log
        .read_stream(&id.stream(), 1)
        .await
        .map_err(|e| ApiError::unavailable(&e))?;
    if events.is_empty() {
        return Err(ApiError::not_found("complaint"));
    }
    let list: Vec<_> = events.iter().map(aduan_audit::envelope_json).collect();
    Ok(Json(
        serde_json::json!({ "complaint_id": id.to_string(), "events": list }),
    ))
}
