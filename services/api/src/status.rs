//! What anyone may see of a complaint, folded from its events on request:
//! status, owner, due date and the public timeline; never the reporter.

use aduan_domain::{calendar, Complaint, ComplaintEvent};
use aduan_log::RecordedEvent;
use aduan_proto::v1;
use aduan_rules::RuleSet;

/// The public view of a complaint's events at time `now_ms`; `None` when the
/// events hold no `ComplaintReceived`.
pub fn view(events: &[RecordedEvent], rules: &RuleSet, now_ms: i64) -> Option<v1::StatusView> {
    let decoded: Vec<(i64, ComplaintEvent)> = events
        .iter()
        .filter_map(|e| {
            let d = ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload).ok()?;
            Some((e.recorded_at_ms, d))
        })
        .collect();
    let complaint = Complaint::fold(decoded.iter().map(|(_, e)| e))?;
    let timeline = decoded
        .iter()
        .filter_map(|(at, e)| entry(e).map(|(status, note)| (*at, status, note)))
        .map(|(at, status, note)| v1::TimelineEntry {
            at: rfc3339(at),
            status: status.into(),
            note,
        })
        .collect();
    let org = complaint.owner.as_ref();
    let due_ms = complaint
        .deadlines
        .filter(|_| complaint.status.is_open())
        .map(|d| d.resolve_ms);
    Some(v1::StatusView {
        tracking_no: complaint.tracking_no.to_string(),
        status: complaint.status.as_str().into(),
        org: org.map(|o| o.to_string()).unwrap_or_default(),
        org_name: org
            .and_then(|o| rules.org(o))
            .map(|o| o.name.clone())
            .unwrap_or_default(),
        due_at: due_ms.map(rfc3339).unwrap_or_default(),
        overdue: due_ms.is_some_and(|d| now_ms > d),
        timeline,
        duplicates: Vec::new(),
    })
}

/// The timeline line of an event, if the public may see one.
fn entry(e: &ComplaintEvent) -> Option<(&'static str, String)> {
    Some(match e {
        ComplaintEvent::Received(_) => ("received", String::new()),
        ComplaintEvent::Routed(r) => ("routed", format!("diteruskan ke {}", r.org)),
        ComplaintEvent::Acknowledged(_) => ("in_progress", "diterima oleh instansi".into()),
        ComplaintEvent::FollowUpPosted(f) if f.public => ("in_progress", f.message.clone()),
        ComplaintEvent::InformationRequested(q) => ("in_progress", q.question.clone()),
        ComplaintEvent::Resolved(r) => ("resolved", r.resolution.clone()),
        ComplaintEvent::Reopened(_) => ("reopened", String::new()),
        ComplaintEvent::Closed(_) => ("closed", String::new()),
        ComplaintEvent::Rejected(r) => ("rejected", r.reason_code.clone()),
        _ => return None,
    })
}

/// Unix milliseconds as RFC 3339 in UTC.
pub fn rfc3339(ms: i64) -> String {
    calendar::from_unix_ms(ms)
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
