//! The command endpoints: an OPD's actions on its complaints, the reporter's
//! reply, feedback and reopen, and an admin's reject and re-route. Each checks
//! who is calling before it reads the body, and a refused request appends
//! nothing (the command service appends only what `decide` grants).
//!
//! A reporter token that does not belong to the complaint named in the path
//! (another complaint's, or a guess) is 401 `unauthorized`, the same as a
//! wrong token: a reporter token has no scope beyond its one complaint, so
//! there is nothing it could be "forbidden" from.

use aduan_commands::{AdminAction, CommandError};
use aduan_domain::{ComplaintId, OrgCode, RejectReason, ReporterToken, TrackingNo};
use aduan_log::EventLog;
use aduan_proto::{v1, ErrorCode};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;

use crate::extract::Path;
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Bearer, Caller, Role};
use crate::{body, ApiError, ApiState};

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match &e {
            CommandError::Unavailable(cause) => Self::unavailable(cause),
            CommandError::Corrupt(cause) => {
                tracing::error!(error = %cause, "complaint history unreadable");
                Self::contract(e.code(), e.to_proto())
            }
            _ => Self::contract(e.code(), e.to_proto()),
        }
    }
}

type Reply = Result<Json<v1::CommandAck>, ApiError>;

#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/complaints/{complaint_id}/actions",
    tag = "opd",
    security(("opd" = [])),
    params(
        ("org" = String, Path, pattern = "^[a-z0-9][a-z0-9-]{1,63}$", description = "The acting OPD's organisation code; the token's own, and the complaint's current owner."),
        ("complaint_id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The complaint's id (UUID v7)."),
    ),
    request_body(content = v1::OpdCommand, content_type = "application/json", description = "One action; `actor` is taken from the token, and `complaint_id`, when given, must be the path's."),
    responses(
        (status = 200, description = "Done: the complaint's new stream version and status.", body = v1::CommandAck),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::Forbidden,
        crate::openapi::NotFound,
        crate::openapi::Conflict,
        crate::openapi::TooLarge,
        crate::openapi::UnsupportedMediaType,
        crate::openapi::Unavailable,
    ),
)]
/// `POST /v1/orgs/{org}/complaints/{complaint_id}/actions`: an `OpdCommand`
/// as JSON, by a token of that org.
pub async fn opd<L: EventLog + Clone>(
    caller: Caller,
    State(s): State<ApiState<L>>,
    Path((org, complaint_id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    // A path org that is not even a code cannot be the caller's.
    let org = OrgCode::parse(&org).map_err(|_| forbidden_org(&org))?;
    caller.require_org(&org)?;
    let mut cmd: v1::OpdCommand = body::json(&headers, raw)?;
    // The audit trail names who acted as the token says, whatever the body claims.
    if let Role::Opd { name, .. } = caller.role() {
        cmd.actor = match name.trim() {
            "" => crate::auth::UNNAMED_OPERATOR.to_owned(),
            name => name.to_owned(),
        };
    }
    if cmd.complaint_id.trim().is_empty() {
        cmd.complaint_id = complaint_id;
    } else if cmd.complaint_id.trim() != complaint_id {
        return Err(invalid("complaint_id", "differs from the path"));
    }
    Ok(Json(s.commands.opd(&org, cmd).await?))
}

/// `POST /v1/complaints/{tracking_no}/reply` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplyBody {
    /// The answer to the pending question.
    #[serde(default)]
    pub message: String,
}

/// `POST /v1/complaints/{tracking_no}/feedback` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FeedbackBody {
    /// 1 to 5.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub rating: u32,
    /// Free text, may be empty.
    #[serde(default)]
    pub comment: String,
}

/// `POST /v1/complaints/{tracking_no}/reopen` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReopenBody {
    /// What is wrong with the answer.
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/v1/complaints/{tracking_no}/reply",
    tag = "reporter",
    description = "Answer the question the owner asked.",
    security(("reporter_token" = [])),
    params(("tracking_no" = String, Path, pattern = "^[23456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz]{5}-?[23456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz]{5}$", description = "The complaint's tracking number.")),
    request_body(content = ReplyBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Done: the complaint's new stream version and status.", body = v1::CommandAck),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::NotFound,
        crate::openapi::Conflict,
        crate::openapi::TooLarge,
        crate::openapi::UnsupportedMediaType,
        crate::openapi::Unavailable,
    ),
)]
/// The reporter answers a pending question.
pub async fn reply<L: EventLog + Clone>(
    Bearer(token): Bearer,
    State(s): State<ApiState<L>>,
    Path(tracking_no): Path<String>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let id = complaint_of(&s, &tracking_no)?;
    let b: ReplyBody = body::json(&headers, raw)?;
    let token = ReporterToken::from(token);
    Ok(Json(s.commands.reply(&id, &token, b.message).await?))
}

#[utoipa::path(
    post,
    path = "/v1/complaints/{tracking_no}/feedback",
    tag = "reporter",
    description = "Rate the answer, 1 to 5, with a comment.",
    security(("reporter_token" = [])),
    params(("tracking_no" = String, Path, pattern = "^[23456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz]{5}-?[23456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz]{5}$", description = "The complaint's tracking number.")),
    request_body(content = FeedbackBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Done: the complaint's new stream version and status.", body = v1::CommandAck),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::NotFound,
        crate::openapi::Conflict,
        crate::openapi::TooLarge,
        crate::openapi::UnsupportedMediaType,
        crate::openapi::Unavailable,
    ),
)]
/// The reporter rates the answer.
pub async fn feedback<L: EventLog + Clone>(
    Bearer(token): Bearer,
    State(s): State<ApiState<L>>,
    Path(tracking_no): Path<String>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let id = complaint_of(&s, &tracking_no)?;
    let b: FeedbackBody = body::json(&headers, raw)?;
    let token = ReporterToken::from(token);
    let ack = s.commands.feedback(&id, &token, b.rating, b.comment);
    Ok(Json(ack.await?))
}

#[utoipa::path(
    post,
    path = "/v1/complaints/{tracking_no}/reopen",
    tag = "reporter",
    description = "Dispute the answer: the complaint is reopened.",
    security(("reporter_token" = [])),
    params(("tracking_no" = String, Path, pattern = "^[23456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz]{5}-?[23456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz]{5}$", description = "The complaint's tracking number.")),
    request_body(content = ReopenBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Done: the complaint's new stream version and status.", body = v1::CommandAck),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::NotFound,
        crate::openapi::Conflict,
        crate::openapi::TooLarge,
        crate::openapi::UnsupportedMediaType,
        crate::openapi::Unavailable,
    ),
)]
/// The reporter disputes the answer.
pub async fn reopen<L: EventLog + Clone>(
    Bearer(token): Bearer,
    State(s): State<ApiState<L>>,
    Path(tracking_no): Path<String>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let id = complaint_of(&s, &tracking_no)?;
    let b: ReopenBody = body::json(&headers, raw)?;
    let token = ReporterToken::from(token);
    Ok(Json(s.commands.reopen(&id, &token, b.reason).await?))
}

/// `POST /v1/admin/complaints/{complaint_id}/actions` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminBody {
    /// Not handled as a complaint.
    Reject {
        /// `spam`, `duplicate` or `not_a_complaint`; defaults to `duplicate`
        /// when `duplicate_of` is given.
        #[serde(default)]
        #[schema(pattern = "^(spam|duplicate|not_a_complaint)?$")]
        reason_code: String,
        /// For the reporter to read.
        #[serde(default)]
        reason: String,
        /// With a duplicate: the original complaint's id.
        #[serde(default)]
        #[schema(
            pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
        )]
        duplicate_of: String,
    },
    /// Hand it by hand to `org`.
    Reroute {
        /// The new owner.
        #[serde(default)]
        #[schema(pattern = "^[a-z0-9][a-z0-9-]{1,63}$")]
        org: String,
        /// Why.
        #[serde(default)]
        reason: String,
    },
}

#[utoipa::path(
    post,
    path = "/v1/admin/complaints/{complaint_id}/actions",
    tag = "admin",
    security(("admin" = [])),
    params(("complaint_id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The complaint's id (UUID v7).")),
    request_body(content = AdminBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Done: the complaint's new stream version and status.", body = v1::CommandAck),
        crate::openapi::BadRequest,
        crate::openapi::Unauthorized,
        crate::openapi::Forbidden,
        crate::openapi::NotFound,
        crate::openapi::Conflict,
        crate::openapi::TooLarge,
        crate::openapi::UnsupportedMediaType,
        crate::openapi::Unavailable,
    ),
)]
/// An admin rejects or re-routes a complaint.
pub async fn admin<L: EventLog + Clone>(
    caller: Caller,
    State(s): State<ApiState<L>>,
    Path(complaint_id): Path<String>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let name = caller.require_admin()?.to_owned();
    let id = ComplaintId::parse(&complaint_id).map_err(|_| ApiError::not_found("complaint"))?;
    let action = admin_action(body::json(&headers, raw)?)?;
    Ok(Json(s.commands.admin(&id, &name, action).await?))
}

fn admin_action(b: AdminBody) -> Result<AdminAction, ApiError> {
    match b {
        AdminBody::Reject {
            reason_code,
            reason,
            duplicate_of,
        } => {
            let duplicate_of = match duplicate_of.trim() {
                "" => None,
                d => Some(
                    ComplaintId::parse(d)
                        .map_err(|_| invalid("duplicate_of", "is not a complaint id"))?,
                ),
            };
            let reason_code = match (reason_code.trim(), &duplicate_of) {
                ("", Some(_)) => RejectReason::Duplicate,
                (code, _) => RejectReason::parse(code).ok_or_else(|| {
                    invalid("reason_code", "must be spam, duplicate or not_a_complaint")
                })?,
            };
            Ok(AdminAction::Reject {
                reason_code,
                reason,
                duplicate_of,
            })
        }
        AdminBody::Reroute { org, reason } => Ok(AdminAction::Reroute {
            org: OrgCode::parse(org.trim())
                .map_err(|_| invalid("org", "is not an organisation code"))?,
            reason,
        }),
    }
}

/// The complaint of a tracking number, or 404.
fn complaint_of<L: EventLog + Clone>(
    s: &ApiState<L>,
    tracking_no: &str,
) -> Result<ComplaintId, ApiError> {
    let t = TrackingNo::parse(tracking_no).map_err(|_| ApiError::not_found("complaint"))?;
    s.intake
        .index()
        .complaint_of(&t)?
        .ok_or_else(|| ApiError::not_found("complaint"))
}

fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidArgument, format!("{field} {why}")).with_field(field)
}

fn forbidden_org(org: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        format!("this token may not act for {org:?}"),
    )
}

#[cfg(test)]
mod tests;
