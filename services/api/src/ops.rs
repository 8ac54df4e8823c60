//! Operations endpoints: `/readyz` (503 while a service of the process has
//! stopped or the projections lag behind the log) and `/metrics` in the
//! Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;

use aduan_log::EventLog;
use aduan_proto::ErrorCode;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::health::ServiceState;
use crate::{ApiError, ApiState};

/// `GET /healthz`: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses(
        (status = 200, description = "Alive.", content_type = "text/plain", body = String, example = "ok"),
        crate::openapi::Unavailable,
    ),
)]
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: ready while every service of the process runs and the
/// projections have reached the log's head since they opened and stay within
/// the lag bound (the log is open, or there would be no state). Otherwise 503
/// with the contract's error body, whose message names each service that is
/// not ready, and `services`: each of them with what is wrong.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Ready.", content_type = "text/plain", body = String, example = "ready"),
        (status = 503, description = "Not ready: which services, and why.", body = crate::openapi::NotReady),
    ),
)]
pub async fn readyz<L: EventLog + Clone>(State(s): State<ApiState<L>>) -> Response {
    let not_ready = not_ready(&s);
    if not_ready.is_empty() {
        return "ready".into_response();
    }
    let named: Vec<String> = not_ready
        .iter()
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
    let message = format!("not ready: {}", named.join("; "));
    let error = ApiError::new(ErrorCode::Unavailable, message).error();
    let body = serde_json::json!({ "error": error, "services": not_ready });
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// Each service that is not ready, by name, with what is wrong.
fn not_ready<L: EventLog + Clone>(s: &ApiState<L>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = s
        .health
        .services()
        .into_iter()
        .filter(|(_, state)| *state != ServiceState::Running)
        .map(|(name, state)| (name, state.summary().to_owned()))
        .collect();
    let head = *s.log.head().borrow();
    let lag = s.projections.lag(head);
    let max = s.health.max_lag();
    let why = if !s.projections.is_caught_up() {
        Some(format!("catching up with the log, {lag} events behind"))
    } else if lag > max {
        Some(format!("{lag} events behind the log (bound {max})"))
    } else {
        None
    };
    if let Some(why) = why {
        // A stopped projections service says so rather than its lag.
        out.entry("projections".to_owned()).or_insert(why);
    }
    out
}

/// `GET /metrics`: log head, projection lag, events and routing decisions,
/// open and overdue complaints per org.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4.", content_type = "text/plain", body = String),
        crate::openapi::Unavailable,
    ),
)]
pub async fn metrics<L: EventLog + Clone>(
    State(s): State<ApiState<L>>,
) -> Result<impl IntoResponse, ApiError> {
    let head = *s.log.head().borrow();
    let p = &s.projections;
    let totals = p.totals()?;
    let open = p.open_per_org(s.clock.now_ms())?;
    let mut out = String::new();
    gauge(
        &mut out,
        "aduan_log_head_position",
        "Global position of the last durable event (appends so far).",
        head,
    );
    gauge(
        &mut out,
        "aduan_projection_checkpoint",
        "Last position applied by the projections.",
        p.checkpoint(),
    );
    gauge(
        &mut out,
        "aduan_projection_lag_events",
        "Events appended but not yet projected.",
        p.lag(head),
    );
    family(
        &mut out,
        "aduan_events_total",
        "counter",
        "Complaint events projected, by type.",
    );
    for (t, n) in &totals.events {
        let _ = writeln!(out, "aduan_events_total{{type=\"{t}\"}} {n}");
    }
    family(
        &mut out,
        "aduan_routing_decisions_total",
        "counter",
        "Routing decisions, by reason.",
    );
    for (r, n) in &totals.routings {
        let _ = writeln!(out, "aduan_routing_decisions_total{{reason=\"{r}\"}} {n}");
    }
    family(
        &mut out,
        "aduan_open_complaints",
        "gauge",
        "Open complaints, by owning org.",
    );
    for (org, (n, _)) in &open {
        let _ = writeln!(out, "aduan_open_complaints{{org=\"{org}\"}} {n}");
    }
    family(
        &mut out,
        "aduan_overdue_complaints",
        "gauge",
        "Open complaints past their due date, by owning org.",
    );
    for (org, (_, n)) in &open {
        let _ = writeln!(out, "aduan_overdue_complaints{{org=\"{org}\"}} {n}");
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, v: u64) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {v}");
}
