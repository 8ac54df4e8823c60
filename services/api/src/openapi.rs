//! The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`.
//! It is assembled from the code: each handler carries its `#[utoipa::path]`
//! (path, parameters, request body, responses, security) next to its body,
//! and the JSON Schemas come from the types the handlers send and accept
//! (the aduan.v1 messages and the read models, under their `openapi`
//! feature), shaped by the same serde attributes that shape the JSON.
//!
//! `openapi_tests.rs` holds the document to the router: every route of
//! [`crate::routes`] and of [`aduan_open311::routes`] is documented, and every
//! documented operation is served.
//!
//! Open311's operations, documented by its own `#[derive(OpenApi)]`, join the
//! document with [`merged`].

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use aduan_proto::v1;

/// The contract's error body, `{"error": {"code", "message", "field"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The refusal.
    pub error: v1::Error,
}

/// `/readyz` when not ready: the error body and each service that is not
/// ready, by name, with what is wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotReady {
    /// The refusal (`unavailable`), naming each service that is not ready.
    pub error: v1::Error,
    /// Service name → what is wrong (`failed`, `stopped`, a lag).
    pub services: std::collections::BTreeMap<String, String>,
}

/// `GET /v1/audit/complaints/{complaint_id}/events`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintEvents {
    /// The complaint's id (UUID v7).
    pub complaint_id: String,
    /// Every event of the complaint in stream order: the envelope (position,
    /// ids, hashes, exact payload in base64) and its decoded `data`.
    pub events: Vec<serde_json::Map<String, serde_json::Value>>,
}

macro_rules! error_responses {
    ($($name:ident = $status:literal, $description:literal;)*) => {$(
        #[doc = concat!("A ", stringify!($status), " with the contract's error body.")]
        #[derive(Debug, IntoResponses)]
        #[response(status = $status, description = $description)]
        pub struct $name(#[allow(dead_code)] ErrorBody);
    )*};
}

error_responses! {
    BadRequest = 400, "`invalid_argument`: a malformed body, path or query parameter (named in `field`).";
    Unauthorized = 401, "`unauthorized`: no token, or a token that is not valid here.";
    Forbidden = 403, "`forbidden` or `not_assigned`: the token may not do this.";
    NotFound = 404, "`not_found`.";
    Conflict = 409, "`conflict`: the complaint's state does not allow it now, or it changed meanwhile.";
    TooLarge = 413, "`too_large`: the body or a field is larger than allowed.";
    UnsupportedMediaType = 415, "`unsupported_media_type`: the body is not `application/json`.";
    Unavailable = 503, "`unavailable`: a store cannot take the request now, or too many requests are in flight; `Retry-After` says when to come back.";
}

/// The bearer-token security schemes, one per kind of token.
struct Tokens;

impl Modify for Tokens {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, what) in [
            ("opd", "An OPD's token (`aduan token issue --role opd --org ORG`): acts for and reads that org only."),
            ("opd_head", "An OPD head's token (`aduan token issue --role opd_head --org ORG`): as `opd`, and approves or returns that org's draft answers."),
            ("admin", "An admin's token (`aduan token issue --role admin --name N`)."),
            ("auditor", "An auditor's token (`aduan token issue --role auditor --name N`)."),
            ("reporter_token", "The `reporter_token` of the complaint's submission ack: that complaint only."),
        ] {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.description = Some(what.to_owned());
            components.add_security_scheme(name, SecurityScheme::Http(http));
        }
    }
}

/// The derived document of this crate's routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "aduan",
        description = "The HTTP API of aduan, the complaint dispatcher (CONTRACT.md). JSON uses the \
            protobuf field names; enumerations are lowercase strings; times RFC 3339 in UTC.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::submit,
        crate::query::status,
        crate::actions::reply,
        crate::actions::feedback,
        crate::actions::reopen,
        crate::actions::opd,
        crate::actions::admin,
        crate::query::inbox,
        crate::query::recap,
        crate::query::ranking,
        crate::audit::events,
        crate::ops::healthz,
        crate::ops::readyz,
        crate::ops::metrics,
        serve,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Tokens),
    tags(
        (name = "complaints", description = "Submission and the public status view."),
        (name = "reporter", description = "The reporter's actions, with the complaint's reporter token."),
        (name = "opd", description = "A work unit's inbox and actions."),
        (name = "admin", description = "Administration of complaints."),
        (name = "stats", description = "Recap and ranking."),
        (name = "audit", description = "Full histories for auditors."),
        (name = "ops", description = "Liveness, readiness, metrics and this document."),
    ),
)]
pub struct ApiDoc;

/// The document of the whole API: this crate's routes and Open311's (nested
/// at [`aduan_open311::PREFIX`]).
pub fn document() -> utoipa::openapi::OpenApi {
    merged(aduan_open311::openapi::document())
}

/// This crate's document with `other`'s paths, schemas, security schemes and
/// tags added (on a clash, ours stay): how a router served beside this one
/// (e.g. Open311) joins `/openapi.json`.
pub fn merged(other: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(other);
    doc
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "ops",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API.", content_type = "application/json", body = Object),
        Unavailable,
    ),
)]
pub async fn serve() -> impl IntoResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let json = JSON.get_or_init(|| document().to_json().unwrap_or_default());
    ([(header::CONTENT_TYPE, "application/json")], json.as_str())
}
