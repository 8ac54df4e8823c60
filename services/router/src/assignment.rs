//! The `Assignment` an OPD receives on its inbox, built from the complaint's
//! events up to the routing or escalation that handed it over, or the
//! admin's return of its resolution that handed it back (answer review). The reporter's
//! identity goes along only when the reporter chose `public`: confidential
//! and anonymous reporters never reach an OPD (CONTRACT.md, "Assignment").

use aduan_domain::calendar::from_unix_ms;
use aduan_domain::{ComplaintEvent, OrgCode, Privacy};
use aduan_proto::v1;
use time::format_description::well_known::Rfc3339;

/// The assignment made by the last of `events` (a complaint stream from its
/// first event), or None when that event hands the complaint to nobody. A
/// returned resolution is handed back with the due date it had: deadlines
/// count from the complaint.
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
        ComplaintEvent::ResolutionReturned(x) => {
            let due = events.iter().rev().find_map(|e| match e {
                ComplaintEvent::Routed(r) => Some(r.due_at_ms),
                ComplaintEvent::Escalated(x) => Some(x.due_at_ms),
                _ => None,
            });
            let rule_id = last_routed.map(|r| r.rule_id.clone()).unwrap_or_default();
            (&x.org, rule_id, due.unwrap_or_default())
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_resolution_is_assigned_again_to_the_same_org_due_as_before() {
        let received = v1::ComplaintReceived {
            complaint_id: "c".into(),
            tracking_no: "t".into(),
            ..Default::default()
        };
        let routed = v1::ComplaintRouted {
            org: "kab-pati-dinkes".into(),
            hop: 1,
            rule_id: "pati-kesehatan".into(),
            due_at_ms: 1_800_000_000_000,
            ..Default::default()
        };
        let resolved = v1::ComplaintResolved {
            org: "kab-pati-dinkes".into(),
            ..Default::default()
        };
        let mut events: Vec<ComplaintEvent> =
            vec![received.into(), routed.clone().into(), resolved.into()];
        assert_eq!(assignment(&events), None, "a resolution assigns nobody");
        let returned = v1::ResolutionReturned {
            org: "kab-pati-dinkes".into(),
            reason: "kurang".into(),
            follow_up_due_ms: 1_700_000_000_000,
            at_ms: 1_600_000_000_000,
        };
        events.push(returned.into());
        let (org, a) = assignment(&events).expect("assigned again");
        let (_, first) = assignment(&events[..2]).expect("first assignment");
        assert_eq!(org.as_str(), "kab-pati-dinkes");
        assert_eq!(a, first, "the same assignment, due as before");
    }
}
