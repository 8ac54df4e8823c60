//! An admin's re-route takes the organisations and SLA of the rule set in
//! force in the log when the command is made, not of any file given at
//! start-up: a later publication changes the deadlines of the next re-route.

use std::sync::Arc;

use aduan_commands::{AdminAction, CommandError, Commands};
use aduan_domain::calendar::unix_ms;
use aduan_domain::{ComplaintEvent, ComplaintId, ManualClock, OrgCode, TrackingNo};
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use time::macros::datetime;

const SAMPLE: &str = include_str!("../../../deploy/rules/sample.toml");

/// A complaint received and routed to kab-pati-dinkes.
async fn routed(log: &SledLog) -> ComplaintId {
    let id = ComplaintId::new();
    let received = v1::ComplaintReceived {
        complaint_id: id.to_string(),
        tracking_no: TrackingNo::random().to_string(),
        channel: "web".into(),
        kind: "complaint".into(),
        body: "Puskesmas kehabisan obat".into(),
        ..Default::default()
    };
    let routed = v1::ComplaintRouted {
        org: "kab-pati-dinkes".into(),
        hop: 1,
        reason: "rule".into(),
        ..Default::default()
    };
    let events = [ComplaintEvent::from(received), ComplaintEvent::from(routed)]
        .iter()
        .map(|e| NewEvent::new(e.type_name(), "test", e.encode()))
        .collect();
    log.append(&id.stream(), ExpectedVersion::NoStream, events)
        .await
        .expect("append given");
    id
}

/// The acknowledge deadline of the complaint's last routing.
async fn acknowledge_due(log: &SledLog, id: &ComplaintId) -> i64 {
    let last = log
        .read_stream(&id.stream(), 1)
        .await
        .expect("read")
        .pop()
        .expect("events");
    match ComplaintEvent::decode(&last.event_type, last.schema_version, &last.payload) {
        Ok(ComplaintEvent::Routed(r)) => r.acknowledge_due_ms,
        other => panic!("not a routing: {other:?}"),
    }
}

fn reroute() -> AdminAction {
    AdminAction::Reroute {
        org: OrgCode::parse("kab-pati-rsud").expect("org"),
        reason: "urusan RSUD".into(),
    }
}

#[tokio::test]
async fn a_reroute_uses_the_rule_set_in_force_in_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SledOptions::new(dir.path().join("log"));
    opts.fsync = false;
    let log = SledLog::open(opts).expect("open log");
    // Monday 23 Nov 2026, 09:00 UTC.
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 09:00 UTC)));
    let commands = Commands::new(log.clone(), clock);
    let id = routed(&log).await;

    // Before any publication no organisation is known.
    let err = commands
        .admin(&id, "budi", reroute())
        .await
        .expect_err("no rule set in force");
    assert!(
        matches!(err, CommandError::InvalidArgument { field: "org", .. }),
        "{err:?}"
    );

    commands
        .store()
        .publish_ruleset(SAMPLE)
        .await
        .expect("publish");
    commands
        .admin(&id, "budi", reroute())
        .await
        .expect("reroute");
    // The sample's SLA: acknowledge within 3 working days (Thursday).
    assert_eq!(
        acknowledge_due(&log, &id).await,
        unix_ms(datetime!(2026-11-26 09:00 UTC))
    );

    let faster = SAMPLE
        .replace("version = \"sample-2026-11\"", "version = \"faster\"")
        .replace("acknowledge = 3", "acknowledge = 1");
    commands
        .store()
        .publish_ruleset(&faster)
        .await
        .expect("publish");
    let back = AdminAction::Reroute {
        org: OrgCode::parse("kab-pati-dinkes").expect("org"),
        reason: "kembali".into(),
    };
    commands.admin(&id, "budi", back).await.expect("reroute");
    // The newer SLA: within 1 working day (Tuesday).
    assert_eq!(
        acknowledge_due(&log, &id).await,
        unix_ms(datetime!(2026-11-24 09:00 UTC))
    );
}
