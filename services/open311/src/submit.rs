//! `POST requests.json`: a form-encoded service request becomes a complaint
//! on channel `open311`.
//!
//! - `service_code` must be a category of the rule set; `description` is the
//!   body (its first line, cut to 100 characters, the title).
//! - `lat` and `long` (both) or `address_string` are required; a point is
//!   mapped to the region code of the boundary polygon that holds it, and a
//!   point outside them all leaves the region empty (triage).
//! - `first_name`, `last_name`, `email`, `phone` are the reporter, whose
//!   privacy is `confidential` unless the aduan parameter `privacy` says
//!   `public` or `anonymous`.
//! - Idempotency: the spec has none, so the channel reference is a new UUID
//!   and a retry makes a second complaint, unless the client sends an
//!   `Idempotency-Key` header: then the reference is derived from that key
//!   and the adapter (`api_key`), and a retry gets the first answer back.
//! - The answer's `token` is the reporter token: a secret that lets the
//!   reporter answer, rate and reopen over `/v1/complaints/{no}/…`. The
//!   spec's token is a handle for `tokens/{token}` instead, which aduan does
//!   not need (the `service_request_id` is known at once) and does not serve.

use std::collections::BTreeMap;

use aduan_log::EventLog;
use aduan_proto::v1;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use bytes::Bytes;
use serde::Serialize;

use crate::params::{coordinates, given, pairs};
use crate::{Open311, Open311Error, CHANNEL, MAX_BODY};

/// The header a client may send to make a retry safe.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The answer's one element.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Open311Created))]
pub struct Created {
    /// The tracking number.
    service_request_id: String,
    /// The reporter token: a secret for `/v1/complaints/{tracking_no}/…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// Where to follow the request, and what the token is for.
    service_notice: String,
}

/// `POST /open311/v2/requests.json`: 201 with `[{service_request_id, token,
/// service_notice}]`, 200 when an `Idempotency-Key` retry finds the first.
#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/open311/v2/requests.json",
    operation_id = "open311_post_request",
    tag = "open311",
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 128 visible ASCII characters: a retry with the same key (and `api_key`) gets the first answer back and appends nothing.")),
    request_body(content = crate::openapi::NewRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "Accepted: an array of one, with the reporter token (shown once).", body = [Created]),
        (status = 200, description = "An `Idempotency-Key` retry: the first answer; nothing was appended.", body = [Created]),
        (status = 400, description = "A missing or malformed parameter (named in the description), or a bad `Idempotency-Key`.", body = [crate::ErrorEntry]),
        (status = 403, description = "An `api_key` that is not a valid API token.", body = [crate::ErrorEntry]),
        (status = 413, description = "A body over 64 KiB, or a field over intake's limit.", body = [crate::ErrorEntry]),
        (status = 415, description = "A body that is not `application/x-www-form-urlencoded`.", body = [crate::ErrorEntry]),
        (status = 503, description = "Intake cannot take the request now; `Retry-After` says when to come back.", body = [crate::ErrorEntry]),
    ),
))]
pub(crate) async fn post<L: EventLog + Clone>(
    State(s): State<Open311<L>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, Open311Error> {
    let p = form(&headers, body)?;
    let adapter = s.adapter(given(&p, "api_key"))?;
    let channel_ref = channel_ref(&headers, adapter.as_deref())?;
    let req = complaint(&s, &p, channel_ref)?;
    let ack = s.intake.submit(req).await?;
    let no = ack.tracking_no.clone();
    let created = Created {
        service_notice: format!(
            "Tracking number {no}. The token is the reporter's secret: keep it to answer questions, rate or reopen at /v1/complaints/{no}."
        ),
        token: Some(ack.reporter_token).filter(|t| !t.is_empty()),
        service_request_id: no,
    };
    let status = if ack.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json([created])))
}

/// The form-encoded body: 415 for another content type, 413 over [`MAX_BODY`].
fn form(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<BTreeMap<String, String>, Open311Error> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(Open311Error::UnsupportedMediaType(ct.to_owned()));
    }
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Open311Error::TooLarge(MAX_BODY)
        } else {
            Open311Error::invalid("request", r.body_text())
        }
    })?;
    pairs(&body)
}

/// The channel reference: derived from `Idempotency-Key` and the adapter, or new.
fn channel_ref(headers: &HeaderMap, adapter: Option<&str>) -> Result<String, Open311Error> {
    let Some(key) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(uuid::Uuid::now_v7().to_string());
    };
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=128).contains(&k.len()))
        .ok_or_else(|| {
            Open311Error::invalid(
                "Idempotency-Key",
                "must be 1 to 128 visible ASCII characters",
            )
        })?;
    let mut h = blake3::Hasher::new_derive_key("aduan 2026-12 open311 idempotency key");
    h.update(adapter.unwrap_or("").as_bytes());
    h.update(&[0]);
    h.update(key.as_bytes());
    let hex = h.finalize().to_hex();
    Ok(format!("idem-{}", &hex[..32]))
}

/// The submission a checked form describes.
fn complaint<L>(
    s: &Open311<L>,
    p: &BTreeMap<String, String>,
    channel_ref: String,
) -> Result<v1::SubmitComplaint, Open311Error> {
    let code = given(p, "service_code")
        .ok_or_else(|| Open311Error::invalid("service_code", "service_code is required"))?;
    if !s.rules.knows_category(code) {
        return Err(Open311Error::invalid(
            "service_code",
            format!("unknown service_code {code:?}; services.json lists them"),
        ));
    }
    let description = given(p, "description")
        .ok_or_else(|| Open311Error::invalid("description", "description is required"))?;
    let point = coordinates(p)?;
    let address = given(p, "address_string").unwrap_or("");
    if point.is_none() && address.is_empty() {
        return Err(Open311Error::invalid(
            "lat",
            "lat and long, or address_string, are required",
        ));
    }
    let region_code = point
        .and_then(|(lat, lon)| s.boundaries.as_ref()?.locate(lat, lon).cloned())
        .map(|r| r.to_string())
        .unwrap_or_default();
    let name = [given(p, "first_name"), given(p, "last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(v1::SubmitComplaint {
        channel: CHANNEL.into(),
        channel_ref,
        kind: "complaint".into(),
        title: title_of(description),
        body: description.into(),
        category: code.into(),
        location: Some(v1::Location {
            region_code,
            address: address.into(),
            lat: point.map(|(lat, _)| lat),
            lon: point.map(|(_, lon)| lon),
        }),
        reporter: Some(v1::Reporter {
            name,
            phone: given(p, "phone").unwrap_or("").into(),
            email: given(p, "email").unwrap_or("").into(),
            // Intake refuses a word other than the contract's three, and
            // takes a missing one as confidential.
            privacy: given(p, "privacy").unwrap_or("confidential").into(),
        }),
    })
}

/// The first line of the description, at most 100 characters.
fn title_of(description: &str) -> String {
    let line = description.lines().next().unwrap_or("").trim();
    line.chars().take(100).collect()
}
