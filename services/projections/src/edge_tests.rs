//! Ids are parsed once, where an event enters the read models: an event that
//! names one that does not parse is skipped and counted, never read as "no
//! region" or "no owner".

use aduan_domain::{OrgCode, TrackingNo};
use aduan_kv::Db;
use aduan_proto::v1;

use crate::tests::{received, Events, SAMPLE};
use crate::{Projections, Window};

const C1: &str = "0190a000-0000-7000-8000-0000000000b1";
const C2: &str = "0190a000-0000-7000-8000-0000000000b2";
/// 2026-11-02, a Monday, 00:00 UTC.
const D0: i64 = 1_793_577_600_000;

#[test]
fn events_naming_ids_that_do_not_parse_are_skipped_and_counted() {
    let mut ev = Events::default();
    ev.publish(SAMPLE, D0);
    // c1: a region that is no Kemendagri code; its spam rejection must not
    // land in the national triage queue as "no region" would.
    let mut bad_region = received(C1, "BBBBB2222A", "web", "", D0);
    bad_region.location = Some(v1::Location {
        region_code: "pati".into(),
        ..Default::default()
    });
    ev.push(C1, bad_region, D0);
    let spam = v1::ComplaintRejected {
        reason_code: "spam".into(),
        at_ms: D0,
        ..Default::default()
    };
    ev.push(C1, spam, D0);
    // c2: routed to an org code that does not parse.
    ev.push(C2, received(C2, "BBBBB2222B", "web", "", D0), D0);
    let routed = v1::ComplaintRouted {
        org: "Dinkes Pati".into(),
        hop: 1,
        reason: "rule".into(),
        due_at_ms: D0 + 1,
        at_ms: D0,
        ..Default::default()
    };
    ev.push(C2, routed, D0);
    let p = Projections::open(&Db::memory()).expect("open");
    p.apply(&ev.list).expect("apply");

    assert_eq!(p.totals().expect("totals").undecodable, 2);
    let t = |s| TrackingNo::parse(s).expect("tracking no");
    assert!(p.status(&t("BBBBB2222A"), D0).expect("status").is_none());
    let v = p.status(&t("BBBBB2222B"), D0).expect("status").expect("c2");
    assert_eq!((v.status.as_str(), v.org.as_str()), ("received", ""));
    let nasional = p
        .recap(&OrgCode::national(), Window::ALL, D0)
        .expect("recap");
    assert_eq!((nasional.received, nasional.rejected), (0, 0));
}

/// A complaint's record comes from its stream as writers name it, so that
/// the stream's first event is the record's first (the fold reads no record
/// for it); the same id in another spelling is skipped and counted.
#[test]
fn events_of_a_stream_naming_its_id_otherwise_are_skipped_and_counted() {
    let mut ev = Events::default();
    ev.publish(SAMPLE, D0);
    ev.push(
        &C1.to_uppercase(),
        received(C1, "BBBBB2222A", "web", "", D0),
        D0,
    );
    ev.push(C2, received(C2, "BBBBB2222B", "web", "", D0), D0);
    let p = Projections::open(&Db::memory()).expect("open");
    p.apply(&ev.list).expect("apply");

    assert_eq!(p.totals().expect("totals").undecodable, 1);
    let t = |s| TrackingNo::parse(s).expect("tracking no");
    assert!(p.status(&t("BBBBB2222A"), D0).expect("status").is_none());
    assert!(p.status(&t("BBBBB2222B"), D0).expect("status").is_some());
}

#[test]
fn read_models_in_another_format_are_dropped_at_open_and_current_ones_kept() {
    let mut ev = Events::default();
    ev.publish(SAMPLE, D0);
    ev.push(C2, received(C2, "BBBBB2222B", "web", "", D0), D0);
    let db = Db::memory();
    let p = Projections::open(&db).expect("open");
    let head = p.apply(&ev.list).expect("apply");
    drop(p);

    // Reopened as written: kept, checkpoint and all.
    let p = Projections::open(&db).expect("reopen");
    assert_eq!(p.checkpoint(), head);
    assert!(p.rules().is_some());
    drop(p);

    // As an older build left them: JSON values, no format mark.
    let tree = db.open_tree(crate::TREE).expect("tree");
    tree.remove(crate::keys::FORMAT).expect("unmark");
    tree.insert(crate::keys::RULES, b"\"[[org]]\"")
        .expect("json");
    let p = Projections::open(&db).expect("open old format");
    assert_eq!(p.checkpoint(), 0, "an old format is rebuilt from the start");
    assert!(p.rules().is_none());
    assert!(p.dump().expect("dump").is_empty());
}
