//! A complaint's history as auditors read it: time, event, actor, organisation
//! and details, one row an event. Auditors see a confidential reporter's
//! identity, marked as confidential; anonymous reporters have none.

use aduan_domain::ComplaintEvent;
use aduan_log::RecordedEvent;
use serde::Serialize;

use crate::rfc3339;

/// One line of a history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRow {
    /// Global position.
    pub position: u64,
    /// When it was recorded, RFC 3339 UTC.
    pub at: String,
    /// Event type.
    pub event: String,
    /// Who caused it.
    pub actor: String,
    /// The organisation it concerns, if any.
    pub org: String,
    /// What it says.
    pub details: String,
}

/// The rows of a complaint's events.
pub fn rows(events: &[RecordedEvent]) -> Vec<HistoryRow> {
    events
        .iter()
        .map(|e| {
            let decoded = ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload);
            let (org, details) = match decoded {
                Ok(c) => describe(&c),
                Err(err) => (String::new(), format!("(unreadable: {err})")),
            };
            HistoryRow {
                position: e.position,
                at: rfc3339(e.recorded_at_ms),
                event: e.event_type.clone(),
                actor: e.actor.clone(),
                org,
                details,
            }
        })
        .collect()
}

fn describe(e: &ComplaintEvent) -> (String, String) {
    use ComplaintEvent as E;
    match e {
        E::Received(r) => {
            let who = match &r.reporter {
                None => "anonymous".to_owned(),
                Some(p) => format!("{} {} {} ({})", p.name, p.phone, p.email, p.privacy),
            };
            let region = r
                .location
                .as_ref()
                .map(|l| l.region_code.as_str())
                .unwrap_or("");
            let what = format!(
                "{} via {} [{}] region {region}: {}",
                r.kind, r.channel, r.tracking_no, r.title
            );
            (
                String::new(),
                format!(
                    "{what}; reporter {}",
                    who.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            )
        }
        E::Rejected(r) => (
            String::new(),
            format!("{}: {} {}", r.reason_code, r.reason, r.duplicate_of),
        ),
        E::Routed(r) => {
            // An admin's words, when the routing was by hand.
            let why = match r.reason_text.as_str() {
                "" => r.reason.clone(),
                text => format!("{}: {text}", r.reason),
            };
            let details = format!(
                "hop {} by rule {:?} of {:?} ({why}), due {}",
                r.hop,
                r.rule_id,
                r.ruleset_version,
                rfc3339(r.due_at_ms)
            );
            (r.org.clone(), details)
        }
        E::RoutingRejected(r) => (
            r.org.clone(),
            format!(
                "not our authority: {}; suggests {:?}",
                r.reason, r.suggested_org
            ),
        ),
        E::Escalated(r) => (
            r.to_org.clone(),
            format!("from {} ({} {})", r.from_org, r.reason, r.deadline),
        ),
        E::Acknowledged(r) => (r.org.clone(), String::new()),
        E::FollowUpPosted(r) => (
            r.org.clone(),
            format!("{}{}", if r.public { "" } else { "(internal) " }, r.message),
        ),
        E::InformationRequested(r) => (r.org.clone(), r.question.clone()),
        E::ReporterReplied(r) => (String::new(), r.message.clone()),
        E::Resolved(r) => (r.org.clone(), r.resolution.clone()),
        E::FeedbackGiven(r) => (String::new(), format!("rating {}: {}", r.rating, r.comment)),
        E::Reopened(r) => (r.org.clone(), r.reason.clone()),
        E::Closed(r) => (String::new(), r.reason.clone()),
        E::AnswerDrafted(r) => (
            r.org.clone(),
            format!("{} {}: {}", r.kind, r.draft_id, r.text),
        ),
        E::AnswerApproved(r) => (r.org.clone(), format!("{} approved", r.draft_id)),
        E::AnswerReturned(r) => (
            r.org.clone(),
            format!("{} returned: {}", r.draft_id, r.note),
        ),
        E::ResolutionReturned(r) => (
            r.org.clone(),
            format!(
                "{}; follow-up due {}",
                r.reason,
                rfc3339(r.follow_up_due_ms)
            ),
        ),
    }
}

/// The rows as a plain-text table.
pub fn table(rows: &[HistoryRow]) -> String {
    let head = ["POS", "TIME", "EVENT", "ACTOR", "ORG", "DETAILS"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.position.to_string(),
                r.at.clone(),
                r.event.clone(),
                r.actor.clone(),
                r.org.clone(),
                r.details.clone(),
            ]
        })
        .collect();
    let mut widths = head.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row.iter()).take(5) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: [&str; 6]| {
        let mut l = String::new();
        for (i, c) in cols.iter().enumerate() {
            if i < 5 {
                l.push_str(&format!("{c:<w$}  ", w = widths[i]));
            } else {
                l.push_str(c);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(head);
    for row in &cells {
        line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use aduan_domain::ComplaintEvent;
    use aduan_log::RecordedEvent;
    use aduan_proto::v1;

    fn routed(reason_text: &str) -> RecordedEvent {
        let e = ComplaintEvent::from(v1::ComplaintRouted {
            org: "kab-pati-rsud".into(),
            hop: 2,
            reason: "manual".into(),
            reason_text: reason_text.into(),
            ..Default::default()
        });
        RecordedEvent {
            event_type: e.type_name().into(),
            schema_version: 1,
            payload: e.encode(),
            actor: "admin:budi".into(),
            ..RecordedEvent::default()
        }
    }

    #[test]
    fn a_reroute_shows_the_admins_reason() {
        let rows = super::rows(&[routed("urusan RSUD"), routed("")]);
        assert!(
            rows[0].details.contains("(manual: urusan RSUD)"),
            "{}",
            rows[0].details
        );
        // Recorded before the reason was kept: just the reason code.
        assert!(rows[1].details.contains("(manual)"), "{}", rows[1].details);
    }
}
