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
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::params::{given, json_stem, list, pairs, window};
use crate::{Open311, Open311Error};

/// Most requests one `requests.json` answer holds (the spec's 1000).
pub const MAX_REQUESTS: usize = 1000;

/// One service: a category of the rule set.
#[derive(Debug, Serialize)]
struct Service {
    service_code: String,
    service_name: String,
    description: String,
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: String,
    group: String,
}

/// One service request.
#[derive(Debug, Serialize)]
pub(crate) struct Request {
    service_request_id: String,
    status: &'static str,
    status_notes: Option<String>,
    service_name: String,
    service_code: String,
    description: String,
    agency_responsible: Option<String>,
    service_notice: Option<String>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: Option<String>,
    address: Option<String>,
    address_id: Option<String>,
    zipcode: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
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

/// `GET services.json` and `GET requests.json`.
pub(crate) async fn top<L: EventLog + Clone>(
    State(s): State<Open311<L>>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Open311Error> {
    let stem = json_stem(&file)?;
    let p = query(&s, raw.as_deref())?;
    match stem {
        "services" => Ok(Json(services(&s)).into_response()),
        "requests" => Ok(Json(requests(&s, &p)?).into_response()),
        _ => Err(Open311Error::NotFound(format!(
            "no Open311 resource {file:?}"
        ))),
    }
}

fn services<L>(s: &Open311<L>) -> Vec<Service> {
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

fn requests<L>(s: &Open311<L>, p: &BTreeMap<String, String>) -> Result<Vec<Request>, Open311Error> {
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
pub(crate) async fn definition(Path(file): Path<String>) -> Open311Error {
    match json_stem(&file) {
        Err(e) => e,
        Ok(code) => Open311Error::NotFound(format!(
            "service {code:?} has no definition: every service has metadata false"
        )),
    }
}
