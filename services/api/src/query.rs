//! The read side over HTTP: the status view (anyone), an OPD's inbox (that
//! OPD's token), and the recap and ranking (admin or auditor), all answered
//! from the projections; "overdue" is judged by the API's clock.

use aduan_domain::{OrgCode, TrackingNo};
use aduan_log::EventLog;
use aduan_projections::{Inbox, InboxPage, ProjectionError, Ranking, Recap, Window};
use aduan_proto::{v1, ErrorCode};
use axum::extract::State;

use crate::extract::{Path, Query};
use axum::Json;
use serde::Deserialize;

use crate::auth::Caller;
use crate::{ApiError, ApiState};

impl From<ProjectionError> for ApiError {
    fn from(e: ProjectionError) -> Self {
        if e.code() == ErrorCode::Unavailable {
            return ApiError::unavailable(&e);
        }
        ApiError::contract(e.code(), e.to_proto())
    }
}

/// `GET /v1/complaints/{tracking_no}`: 404 when unknown.
#[utoipa::path(
    get,
    path = "/v1/complaints/{tracking_no}",
    tag = "complaints",
    params(("tracking_no" = String, Path, pattern = "^[23456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz]{5}-?[23456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz]{5}$", description = "The tracking number (case-insensitive).")),
    responses(
        (status = 200, description = "What anyone may see of the complaint; never the reporter.", body = v1::StatusView),
        crate::openapi::BadRequest,
        crate::openapi::NotFound,
        crate::openapi::Unavailable,
    ),
)]
pub async fn status<L: EventLog + Clone>(
    State(s): State<ApiState<L>>,
    Path(tracking_no): Path<String>,
) -> Result<Json<v1::StatusView>, ApiError> {
    let t = TrackingNo::parse(&tracking_no).map_err(|_| ApiError::not_found("complaint"))?;
    s.projections
        .status(&t, s.clock.now_ms())?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("complaint"))
}

fn org_param(s: &str, field: &'static str) -> Result<OrgCode, ApiError> {
    OrgCode::parse(s).map_err(|_| {
        ApiError::from(ProjectionError::InvalidArgument {
            field,
            why: "is not an organisation code",
        })
    })
}

/// The query string of the inbox.
#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    limit: Option<String>,
    after: Option<String>,
}

/// `GET /v1/orgs/{org}/inbox?limit=&after=`: one page of that OPD's open
/// complaints, oldest due first; `next` is the `after` of the page that follows.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/inbox",
    tag = "opd",
    security(("opd" = [])),
    params(
        ("org" = String, Path, pattern = "^[a-z0-9][a-z0-9-]{1,63}$", description = "The OPD's organisation code; the token's own."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Items on the page, 1 to 1,000 (default 100)."),
        ("after" = Option<String>, Query, description = "The `next` of the page before."),
    ),
    responses(
        (status = 200, description = "One page of the OPD's open complaints, oldest due first.", body = Inbox),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::Forbidden,
        crate::openapi::Unavailable,
    ),
)]
pub async fn inbox<L: EventLog + Clone>(
    State(s): State<ApiState<L>>,
    caller: Caller,
    Path(org): Path<String>,
    Query(q): Query<InboxQuery>,
) -> Result<Json<Inbox>, ApiError> {
    let org = org_param(&org, "org")?;
    caller.require_org(&org)?;
    let page = InboxPage::parse(q.limit.as_deref(), q.after.as_deref())?;
    Ok(Json(s.projections.inbox(&org, s.clock.now_ms(), &page)?))
}

/// The query string of the statistics endpoints.
#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    org: Option<String>,
    parent: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl StatsQuery {
    fn window(&self) -> Result<Window, ApiError> {
        Ok(Window::parse(self.from.as_deref(), self.to.as_deref())?)
    }
}

/// `GET /v1/stats/recap?org=&from=&to=` (default org: `nasional`).
#[utoipa::path(
    get,
    path = "/v1/stats/recap",
    tag = "stats",
    security(("admin" = []), ("auditor" = [])),
    params(
        ("org" = Option<String>, Query, pattern = "^[a-z0-9][a-z0-9-]{1,63}$", description = "Organisation code (default `nasional`); its descendants are included."),
        ("from" = Option<String>, Query, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T.+)?$", description = "First day: a date (YYYY-MM-DD) or an RFC 3339 time."),
        ("to" = Option<String>, Query, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T.+)?$", description = "Last day: a date (YYYY-MM-DD) or an RFC 3339 time."),
    ),
    responses(
        (status = 200, description = "The organisation's counts over the window.", body = Recap),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::Forbidden,
        crate::openapi::NotFound,
        crate::openapi::Unavailable,
    ),
)]
pub async fn recap<L: EventLog + Clone>(
    State(s): State<ApiState<L>>,
    caller: Caller,
    Query(q): Query<StatsQuery>,
) -> Result<Json<Recap>, ApiError> {
    caller.require_admin_or_auditor()?;
    let org = org_param(q.org.as_deref().unwrap_or("nasional"), "org")?;
    Ok(Json(s.projections.recap(
        &org,
        q.window()?,
        s.clock.now_ms(),
    )?))
}

/// `GET /v1/stats/ranking?parent=&from=&to=` (default parent: `nasional`).
#[utoipa::path(
    get,
    path = "/v1/stats/ranking",
    tag = "stats",
    security(("admin" = []), ("auditor" = [])),
    params(
        ("parent" = Option<String>, Query, pattern = "^[a-z0-9][a-z0-9-]{1,63}$", description = "Organisation code whose children are ranked (default `nasional`)."),
        ("from" = Option<String>, Query, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T.+)?$", description = "First day: a date (YYYY-MM-DD) or an RFC 3339 time."),
        ("to" = Option<String>, Query, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T.+)?$", description = "Last day: a date (YYYY-MM-DD) or an RFC 3339 time."),
    ),
    responses(
        (status = 200, description = "The children of `parent`, ranked by share resolved within deadline.", body = Ranking),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::Forbidden,
        crate::openapi::NotFound,
        crate::openapi::Unavailable,
    ),
)]
pub async fn ranking<L: EventLog + Clone>(
    State(s): State<ApiState<L>>,
    caller: Caller,
    Query(q): Query<StatsQuery>,
) -> Result<Json<Ranking>, ApiError> {
    caller.require_admin_or_auditor()?;
    let parent = org_param(q.parent.as_deref().unwrap_or("nasional"), "parent")?;
    Ok(Json(s.projections.ranking(
        &parent,
        q.window()?,
        s.clock.now_ms(),
    )?))
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
