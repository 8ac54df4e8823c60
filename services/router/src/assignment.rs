//! The `Assignment` an OPD receives on its inbox, built from the complaint's
//! events up to the routing or escalation that handed it over. The reporter's
//! identity goes along only when the reporter chose `public`: confidential
//! and anonymous reporters never reach an OPD (CONTRACT.md, "Assignment").

use aduan_domain::calendar::from_unix_ms;
use aduan_domain::{ComplaintEvent, OrgCode, Privacy};
use aduan_proto::v1;
use time::format_description::well_known::Rfc3339;

/// The assignment made by the last of `events` (a complaint stream from its
/// first event), or None when that event hands the complaint to nobody.
pub fn assignment(events: &[ComplaintEvent]) -> Option<(OrgCode, v1::Assignment)> {
    let (ComplaintEvent::Received(received), Some(last)) = (events.first()?, events.last()) else {
        return None;
    };
    let last_routed = events.iter().rev().find_map(|e| match e {
        ComplaintEvent::Routed(r) => Some(r),
        _ => None,
    });
    let (org, rule_id, due_at_ms) = match last {
        ComplaintEvent::Routed(r) => (&r.org, r.rule_id.clone(), r.due_at_ms),
        ComplaintEvent::Escalated(x) => (&x.to_org, String::new(), x.due_at_ms),
        _ => return None,
    };
    let org = OrgCode::parse(org).ok()?;
    let category = last_routed
        .map(|r| r.category.clone())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| received.category.clone());
    let public = Privacy::of(received.reporter.as_ref()) == Privacy::Public;
    let a = v1::Assignment {
        complaint_id: received.complaint_id.clone(),
        tracking_no: received.tracking_no.clone(),
        org: org.to_string(),
        hop: last_routed.map(|r| r.hop).unwrap_or(0),
        rule_id,
        ruleset_version: last_routed
            .map(|r| r.ruleset_version.clone())
            .unwrap_or_default(),
        due_at: rfc3339(due_at_ms),
        received_at: rfc3339(received.received_at_ms),
        channel: received.channel.clone(),
        kind: received.kind.clone(),
        title: received.title.clone(),
        body: received.body.clone(),
        category,
        location: received.location.clone(),
        reporter: received.reporter.clone().filter(|_| public),
    };
    Some((org, a))
}

/// Unix ms as RFC 3339 in UTC; empty when out of range.
fn rfc3339(ms: i64) -> String {
    from_unix_ms(ms)
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
