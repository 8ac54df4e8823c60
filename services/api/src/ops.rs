//! Operations endpoints: `/readyz` (503 until the projections have caught up
//! with the log) and `/metrics` in the Prometheus text format.

use std::fmt::Write;

use aduan_log::EventLog;
use aduan_proto::ErrorCode;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::{ApiError, ApiState};

/// `GET /readyz`: ready once the log is open (it is, or there would be no
/// state) and the projections have reached its head.
pub async fn readyz<L: EventLog + Clone>(
    State(s): State<ApiState<L>>,
) -> Result<&'static str, ApiError> {
    if s.projections.is_caught_up() {
        Ok("ready")
    } else {
        Err(ApiError::new(
            ErrorCode::Unavailable,
            "projections are catching up with the log",
        ))
    }
}

/// `GET /metrics`: log head, projection lag, events and routing decisions,
/// open and overdue complaints per org.
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
