//! The GET side: `services.json` from the rule set, `requests.json` and
//! `requests/{service_request_id}.json` from the read models. `status` is
//! `open` while someone owes an answer and `closed` once it is resolved,
//! closed or rejected; `agency_responsible` is the owner's name,
//! `expected_datetime` its resolve deadline, `status_notes` the last public
//! note. Never the reporter.

use std::collections::BTreeMap;

use aduan_domain::TrackingNo;
use aduan_log::EventLog;
use aduan_projections::{rfc3339, PublicRequest, RequestFilter};
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::Serialize;

use crate::params::{given, json_stem, list, pairs, window};
use crate::{Open311, Open311Error};

/// Most requests one `requests.json` answer holds (the spec's 1000).
pub const MAX_REQUESTS: usize = 1000;

/// One service: a category of the rule set.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Open311Service))]
pub struct Service {
    /// The category's name.
    service_code: String,
    /// The category's name.
    service_name: String,
    /// The category's description.
    description: String,
    /// Always false: no service has attributes.
    metadata: bool,
    /// Always `realtime`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^realtime$"))]
    kind: &'static str,
    /// The category's keywords, comma-separated.
    keywords: String,
    /// Always empty.
    group: String,
}

/// One service request.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Open311Request))]
pub struct Request {
    /// The tracking number.
    service_request_id: String,
    /// `open` while someone owes an answer, `closed` once resolved, closed or rejected.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^(open|closed)$"))]
    status: &'static str,
    /// The last public note.
    status_notes: Option<String>,
    /// The category.
    service_name: String,
    /// The category.
    service_code: String,
    /// The complaint's body.
    description: String,
    /// The name of the organisation that owns it.
    agency_responsible: Option<String>,
    /// Always null.
    service_notice: Option<String>,
    /// When it was received (RFC 3339, UTC).
    requested_datetime: String,
    /// When it last changed (RFC 3339, UTC).
    updated_datetime: String,
    /// The owner's resolve deadline (RFC 3339, UTC).
    expected_datetime: Option<String>,
    /// The address given.
    address: Option<String>,
    /// Always null.
    address_id: Option<String>,
    /// Always null.
    zipcode: Option<String>,
    /// WGS 84 latitude, when a point was given.
    lat: Option<f64>,
    /// WGS 84 longitude, when a point was given.
    long: Option<f64>,
    /// Always null.
    media_url: Option<String>,
}

impl Request {
    fn of(r: PublicRequest) -> Self {
        let some = |s: String| Some(s).filter(|s| !s.is_empty());
        Self {
            service_request_id: r.tracking_no.to_string(),
            status: if r.status.is_open() { "open" } else { "closed" },
            status_notes: some(r.last_note),
            service_name: r.category.clone(),
            service_code: r.category,
            description: r.details.body,
            agency_responsible: some(r.owner_name),
            service_notice: None,
            requested_datetime: rfc3339(r.received_at_ms),
            updated_datetime: rfc3339(r.updated_at_ms),
            expected_datetime: r.due_ms.map(rfc3339),
            address: some(r.details.address),
            address_id: None,
            zipcode: None,
            lat: r.details.lat,
            long: r.details.lon,
            media_url: None,
        }
    }
}

/// The query string's parameters, with `api_key` checked when given.
fn query<L>(s: &Open311<L>, raw: Option<&str>) -> Result<BTreeMap<String, String>, Open311Error> {
    let p = pairs(raw.unwrap_or("").as_bytes())?;
    s.adapter(given(&p, "api_key"))?;
    Ok(p)
}

/// `GET services.json`: the rule set's categories.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/open311/v2/services.json",
    operation_id = "open311_services",
    tag = "open311",
    security((), ("api_key" = [])),
    responses(
        (status = 200, description = "Every service: the rule set's categories.", body = [Service]),
        (status = 400, description = "A malformed query string.", body = [crate::ErrorEntry]),
        (status = 403, description = "An `api_key` that is not a valid API token.", body = [crate::ErrorEntry]),
    ),
))]
pub(crate) async fn services<L: EventLog + Clone>(
    State(s): State<Open311<L>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Service>>, Open311Error> {
    query(&s, raw.as_deref())?;
    Ok(Json(service_list(&s)))
}

/// `GET requests.json`: requests by id, or by service, status and window.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/open311/v2/requests.json",
    operation_id = "open311_requests",
    tag = "open311",
    security((), ("api_key" = [])),
    params(
        ("service_request_id" = Option<String>, Query, description = "Comma-separated tracking numbers (at most 1000); when given, every other parameter is ignored and unknown ones are left out."),
        ("service_code" = Option<String>, Query, description = "Comma-separated service codes (categories of the rule set)."),
        ("start_date" = Option<String>, Query, description = "RFC 3339 date-time; default 90 days before `end_date`."),
        ("end_date" = Option<String>, Query, description = "RFC 3339 date-time; default now, or 90 days after `start_date`. The span may not exceed 90 days."),
        ("status" = Option<String>, Query, description = "`open`, `closed`, or both comma-separated."),
    ),
    responses(
        (status = 200, description = "The matching requests, at most 1000.", body = [Request]),
        (status = 400, description = "A malformed parameter (named in the description).", body = [crate::ErrorEntry]),
        (status = 403, description = "An `api_key` that is not a valid API token.", body = [crate::ErrorEntry]),
        (status = 503, description = "The read models cannot answer now; `Retry-After` says when to come back.", body = [crate::ErrorEntry]),
    ),
))]
pub(crate) async fn requests<L: EventLog + Clone>(
    State(s): State<Open311<L>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Request>>, Open311Error> {
    let p = query(&s, raw.as_deref())?;
    Ok(Json(request_list(&s, &p)?))
}

fn service_list<L>(s: &Open311<L>) -> Vec<Service> {
    s.rules
        .categories()
        .iter()
        .map(|c| Service {
            service_code: c.name.clone(),
            service_name: c.name.clone(),
            description: c.description.clone(),
            metadata: false,
            kind: "realtime",
            keywords: c.keywords.join(","),
            group: String::new(),
        })
        .collect()
}

fn request_list<L>(
    s: &Open311<L>,
    p: &BTreeMap<String, String>,
) -> Result<Vec<Request>, Open311Error> {
    let ids = list(p, "service_request_id");
    if !ids.is_empty() {
        // The spec: a list of ids overrides every other parameter.
        if ids.len() > MAX_REQUESTS {
            return Err(Open311Error::invalid(
                "service_request_id",
                format!("at most {MAX_REQUESTS} ids"),
            ));
        }
        let mut out = Vec::new();
        for id in ids {
            let Ok(t) = TrackingNo::parse(&id) else {
                continue;
            };
            if let Some(r) = s.projections.public_request(&t)? {
                out.push(Request::of(r));
            }
        }
        return Ok(out);
    }
    let categories = list(p, "service_code");
    if let Some(c) = categories.iter().find(|c| !s.rules.knows_category(c)) {
        return Err(Open311Error::invalid(
            "service_code",
            format!("unknown service_code {c:?}; services.json lists them"),
        ));
    }
    let open = status_filter(&list(p, "status"))?;
    let (from_ms, to_ms) = window(p, s.clock.now_ms())?;
    let filter = RequestFilter {
        from_ms,
        to_ms,
        categories,
        open,
        limit: MAX_REQUESTS,
    };
    let found = s.projections.public_requests(&filter)?;
    Ok(found.into_iter().map(Request::of).collect())
}

/// `status=open`, `closed`, or both (no filter).
fn status_filter(words: &[String]) -> Result<Option<bool>, Open311Error> {
    let (mut open, mut closed) = (false, false);
    for w in words {
        match w.as_str() {
            "open" => open = true,
            "closed" => closed = true,
            other => {
                return Err(Open311Error::invalid(
                    "status",
                    format!("unknown status {other:?}; expected open or closed"),
                ))
            }
        }
    }
    Ok(if open == closed { None } else { Some(open) })
}

/// `GET requests/{service_request_id}.json`: an array of one, 404 when unknown.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/open311/v2/requests/{service_request_id}.json",
    operation_id = "open311_request",
    tag = "open311",
    security((), ("api_key" = [])),
    params(("service_request_id" = String, Path, description = "The tracking number.")),
    responses(
        (status = 200, description = "The request, as an array of one.", body = [Request]),
        (status = 400, description = "A `.xml` resource (JSON only) or a malformed query string.", body = [crate::ErrorEntry]),
        (status = 403, description = "An `api_key` that is not a valid API token.", body = [crate::ErrorEntry]),
        (status = 404, description = "No request with this number.", body = [crate::ErrorEntry]),
        (status = 503, description = "The read models cannot answer now; `Retry-After` says when to come back.", body = [crate::ErrorEntry]),
    ),
))]
pub(crate) async fn request<L: EventLog + Clone>(
    State(s): State<Open311<L>>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Request>>, Open311Error> {
    let id = json_stem(&file)?;
    query(&s, raw.as_deref())?;
    let not_found = || Open311Error::NotFound(format!("service request {id} not found"));
    let t = TrackingNo::parse(id).map_err(|_| not_found())?;
    let r = s.projections.public_request(&t)?.ok_or_else(not_found)?;
    Ok(Json(vec![Request::of(r)]))
}

/// `GET services/{service_code}.json`: no service has attributes.
#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/open311/v2/services/{service_code}.json",
    operation_id = "open311_service_definition",
    tag = "open311",
    params(("service_code" = String, Path, description = "A service code.")),
    responses(
        (status = 400, description = "A `.xml` resource (JSON only).", body = [crate::ErrorEntry]),
        (status = 404, description = "Always: every service has `metadata` false, so none has a definition.", body = [crate::ErrorEntry]),
    ),
))]
pub(crate) async fn definition(Path(file): Path<String>) -> Open311Error {
    match json_stem(&file) {
        Err(e) => e,
        Ok(code) => Open311Error::NotFound(format!(
            "service {code:?} has no definition: every service has metadata false"
        )),
    }
}
