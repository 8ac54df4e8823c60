//! Time travel: the recap recorded at several moments of a workload (with an
//! injectable clock) is reproduced exactly by `aduan audit replay --until`
//! each moment, and the live read models are untouched by it. The rule set
//! is in the log, published first, as `aduan serve` does: the replay takes it
//! from there.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use aduan_domain::{
    clock::Clock, command::Command as Cmd, Complaint, ComplaintEvent, ComplaintId, Deadlines,
    ManualClock, OrgCode, RouteReason, RuleSetEvent, TrackingNo, RULESET_STREAM,
};
use aduan_e2e::aduan_bin;
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_projections::{Projections, Window};
use aduan_proto::v1;
use time::macros::datetime;

const SAMPLE: &str = include_str!("../../deploy/rules/sample.toml");

async fn append(log: &SledLog, id: &ComplaintId, version: u64, events: Vec<ComplaintEvent>) {
    let new = events
        .iter()
        .map(|e| NewEvent::new(e.type_name(), "test", e.encode()))
        .collect();
    log.append(&id.stream(), ExpectedVersion::Exact(version), new)
        .await
        .expect("append");
}

/// Publishes the sample rule set, as `aduan serve` does on its first start.
async fn publish_sample(log: &SledLog) {
    let e = RuleSetEvent::Published(v1::RuleSetPublished {
        version: "sample-2026-11".into(),
        source: SAMPLE.into(),
        source_hash: String::new(),
    });
    let new = NewEvent::new(e.type_name(), "test", e.encode());
    log.append(RULESET_STREAM, ExpectedVersion::NoStream, vec![new])
        .await
        .expect("publish");
}

/// One complaint received now, and routed to `org` when given.
async fn complaint(log: &SledLog, clock: &ManualClock, n: usize, org: Option<&str>) {
    let id = ComplaintId::new();
    let received = v1::ComplaintReceived {
        complaint_id: id.to_string(),
        tracking_no: TrackingNo::random().as_str().to_owned(),
        channel: if n.is_multiple_of(2) { "sms" } else { "web" }.into(),
        channel_ref: format!("tt-{n}"),
        kind: "complaint".into(),
        body: "jalan rusak berlubang".into(),
        category: "infrastruktur".into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        received_at_ms: clock.now_ms(),
        ..Default::default()
    };
    append(
        log,
        &id,
        0,
        vec![ComplaintEvent::Received(received.clone())],
    )
    .await;
    let Some(org) = org else { return };
    let c = Complaint::fold(&[ComplaintEvent::Received(received)]).expect("fold");
    let now = clock.now();
    let day = 86_400_000;
    let due = Deadlines {
        acknowledge_ms: clock.now_ms() + 3 * day,
        follow_up_ms: clock.now_ms() + 5 * day,
        resolve_ms: clock.now_ms() + 60 * day,
    };
    let route = Cmd::Route {
        org: OrgCode::parse(org).expect("org"),
        rule_id: "test".into(),
        ruleset_version: "test".into(),
        reason: RouteReason::Rule,
        due,
        category: "infrastruktur".into(),
        reason_text: String::new(),
        triage: false,
    };
    let events = c.decide(route, now).expect("route");
    append(log, &id, 1, events).await;
}

fn replay(data: &Path, until: &str) -> serde_json::Value {
    let out = Command::new(aduan_bin())
        .args([
            "audit",
            "replay",
            "--until",
            until,
            "--org",
            "kab-pati",
            "--parent",
            "prov-jateng",
            "--data",
        ])
        .arg(data)
        .output()
        .expect("run aduan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("replay prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_until_reproduces_the_recap_recorded_then() {
    let dir = tempfile::tempdir().expect("dir");
    let clock = ManualClock::new(datetime!(2026-11-16 09:00 +07:00));
    let mut opts = SledOptions::new(dir.path().join("log"));
    let c = clock.clone();
    opts.clock = Arc::new(move || c.now_ms());
    let log = SledLog::open(opts).expect("log");
    publish_sample(&log).await;
    let views = aduan_kv_redb::open(&dir.path().join("views")).expect("views");
    let live = Projections::open(&views).expect("projections");

    let pati = OrgCode::parse("kab-pati").expect("org");
    let jateng = OrgCode::parse("prov-jateng").expect("org");
    let orgs = ["kab-pati-pupr", "kab-pati-dinkes", "kab-pati-pupr"];
    let mut recorded = Vec::new();
    for (step, hours) in [(0usize, 2i64), (1, 30), (2, 50)] {
        for n in 0..4 + step * 3 {
            let org = (n % 3 != 0).then_some(orgs[n % 3]);
            complaint(&log, &clock, step * 100 + n, org).await;
            clock.advance(time::Duration::minutes(7));
        }
        let page = log
            .read_all(live.checkpoint() + 1, 10_000)
            .await
            .expect("read");
        live.apply(&page).expect("apply");
        let now = clock.now_ms();
        let recap = live.recap(&pati, Window::ALL, now).expect("recap");
        let ranking = live.ranking(&jateng, Window::ALL, now).expect("ranking");
        let at = clock
            .now()
            .format(&time::format_description::well_known::Rfc3339)
            .expect("fmt");
        recorded.push((
            at,
            serde_json::to_value(recap).expect("json"),
            serde_json::to_value(ranking).expect("json"),
        ));
        clock.advance(time::Duration::hours(hours));
    }
    let live_before = live.dump().expect("dump");
    drop(live);
    drop(views);
    log.close();
    drop(log);

    for (at, recap, ranking) in &recorded {
        let replayed = replay(dir.path(), at);
        assert_eq!(&replayed["recap"], recap, "recap as of {at}");
        assert_eq!(&replayed["ranking"], ranking, "ranking as of {at}");
    }
    assert_ne!(
        recorded[0].1, recorded[2].1,
        "the workload must change the recap over time"
    );
    // The live read models were not touched by the replays.
    let views = aduan_kv_redb::open(&dir.path().join("views")).expect("views");
    assert_eq!(
        Projections::open(&views)
            .expect("open")
            .dump()
            .expect("dump"),
        live_before
    );
}
