//! Hand-computed read models: the status view, the inbox, the recap with its
//! roll-up and window, the ranking, and privacy. The model-based tests (random
//! lifecycles, crashes, rebuilds) are in `model_tests`.

use aduan_domain::{ComplaintEvent, OrgCode, TrackingNo};
use aduan_kv::Db;
use aduan_log::RecordedEvent;
use aduan_proto::{v1, ErrorCode};

use crate::{InboxPage, Projections, Window};

pub(crate) const SAMPLE: &str = include_str!("../../../deploy/rules/sample.toml");
pub(crate) const HOUR: i64 = 3_600_000;
pub(crate) const DAY: i64 = 24 * HOUR;
/// 2026-11-02, a Monday, 00:00 UTC.
pub(crate) const D0: i64 = 1_793_577_600_000;

fn org(s: &str) -> OrgCode {
    OrgCode::parse(s).expect("org code")
}

/// Builds envelopes for events, numbering positions from 1.
#[derive(Default)]
pub(crate) struct Events {
    /// Position before the first event pushed.
    pub base: u64,
    pub list: Vec<RecordedEvent>,
    /// Events pushed per stream.
    pub versions: std::collections::HashMap<String, u64>,
}

impl Events {
    pub fn push(&mut self, id: &str, e: impl Into<ComplaintEvent>, at: i64) {
        let e: ComplaintEvent = e.into();
        let position = self.base + self.list.len() as u64 + 1;
        let stream_id = format!("complaint-{id}");
        let version = self.versions.entry(stream_id.clone()).or_default();
        *version += 1;
        self.list.push(RecordedEvent {
            stream_id,
            stream_version: *version,
            position,
            recorded_at_ms: at,
            event_type: e.type_name().into(),
            schema_version: 1,
            payload: e.encode(),
            ..RecordedEvent::default()
        });
    }
}

pub(crate) fn received(
    id: &str,
    t: &str,
    channel: &str,
    cat: &str,
    at: i64,
) -> v1::ComplaintReceived {
    v1::ComplaintReceived {
        complaint_id: id.into(),
        tracking_no: t.into(),
        channel: channel.into(),
        kind: "complaint".into(),
        title: format!("judul {t}"),
        body: "isi".into(),
        category: cat.into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        reporter: Some(v1::Reporter {
            name: "Zaqwerty Namaunik".into(),
            phone: "+62-899-0001-7777".into(),
            email: "rahasia.unik@contoh.test".into(),
            privacy: "confidential".into(),
        }),
        received_at_ms: at,
        ..Default::default()
    }
}

pub(crate) fn routed(to: &str, cat: &str, at: i64, due: i64) -> v1::ComplaintRouted {
    v1::ComplaintRouted {
        org: to.into(),
        hop: 1,
        reason: "rule".into(),
        due_at_ms: due,
        acknowledge_due_ms: due,
        follow_up_due_ms: due,
        category: cat.into(),
        at_ms: at,
        ..Default::default()
    }
}

const C1: &str = "0190a000-0000-7000-8000-000000000001";
const C2: &str = "0190a000-0000-7000-8000-000000000002";
const C3: &str = "0190a000-0000-7000-8000-000000000003";
const C4: &str = "0190a000-0000-7000-8000-000000000004";

/// Given the sample rule set and four complaints in Pati (see each line),
/// the projections applied.
pub(crate) fn given_pati() -> (Db, Projections) {
    let mut ev = Events::default();
    ev.publish(SAMPLE, D0);
    // c1: health, web; acknowledged after 2 h; resolved on time.
    ev.push(
        C1,
        received(C1, "AAAAA22222", "web", "kesehatan", D0 + 8 * HOUR),
        D0 + 8 * HOUR,
    );
    ev.push(
        C1,
        routed("kab-pati-dinkes", "kesehatan", D0 + 9 * HOUR, D0 + 10 * DAY),
        D0 + 9 * HOUR,
    );
    ev.push(
        C1,
        v1::ComplaintAcknowledged {
            org: "kab-pati-dinkes".into(),
            at_ms: D0 + 11 * HOUR,
        },
        D0 + 11 * HOUR,
    );
    let resolved = v1::ComplaintResolved {
        org: "kab-pati-dinkes".into(),
        resolution: "sudah".into(),
        at_ms: D0 + 2 * DAY + 9 * HOUR,
    };
    ev.push(C1, resolved, D0 + 2 * DAY + 9 * HOUR);
    // c2: roads, sms; public follow-up after 28 h; due before "now": overdue.
    ev.push(
        C2,
        received(C2, "BBBBB33333", "sms", "", D0 + 10 * HOUR),
        D0 + 10 * HOUR,
    );
    ev.push(
        C2,
        routed(
            "kab-pati-pupr",
            "jalan",
            D0 + 10 * HOUR,
            D0 + DAY + 12 * HOUR,
        ),
        D0 + 10 * HOUR,
    );
    let fu = v1::FollowUpPosted {
        org: "kab-pati-pupr".into(),
        message: "ditinjau".into(),
        public: true,
        at_ms: D0 + DAY + 14 * HOUR,
    };
    ev.push(C2, fu, D0 + DAY + 14 * HOUR);
    // c3: received after the window, open, not overdue.
    ev.push(
        C3,
        received(C3, "CCCCC44444", "web", "kesehatan", D0 + 5 * DAY),
        D0 + 5 * DAY,
    );
    ev.push(
        C3,
        routed("kab-pati-dinkes", "kesehatan", D0 + 5 * DAY, D0 + 20 * DAY),
        D0 + 5 * DAY,
    );
    // c4: spam, rejected before routing: counted for Pati's triage admin.
    ev.push(
        C4,
        received(C4, "DDDDD55555", "web", "", D0 + 12 * HOUR),
        D0 + 12 * HOUR,
    );
    let rej = v1::ComplaintRejected {
        reason_code: "spam".into(),
        at_ms: D0 + 13 * HOUR,
        ..Default::default()
    };
    ev.push(C4, rej, D0 + 13 * HOUR);
    let db = Db::memory();
    let p = Projections::open(&db).expect("open");
    // Two pages, to cross a commit.
    p.apply(&ev.list[..6]).expect("page 1");
    p.apply(&ev.list).expect("page 2");
    (db, p)
}

fn window(from: &str, to: &str) -> Window {
    Window::parse(Some(from), Some(to)).expect("window")
}

#[test]
fn recap_of_one_opd_over_a_window() {
    let (_d, p) = given_pati();
    let r = p
        .recap(
            &org("kab-pati-dinkes"),
            window("2026-11-02", "2026-11-05"),
            D0 + 3 * DAY,
        )
        .unwrap();
    assert_eq!(
        (
            r.received,
            r.routed,
            r.acknowledged,
            r.resolved,
            r.resolved_on_time
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!((r.open, r.overdue, r.rejected), (0, 0, 0));
    assert_eq!(r.median_hours_to_first_response, Some(2.0));
    assert_eq!(r.channels.get("web"), Some(&1));
    assert_eq!(r.top_categories[0].category, "kesehatan");
}

#[test]
fn recap_rolls_up_to_the_parent() {
    let (_d, p) = given_pati();
    let now = D0 + 3 * DAY + 12 * HOUR;
    let r = p
        .recap(
            &org("kab-pati"),
            window("2026-11-02", "2026-11-05T23:00:00Z"),
            now,
        )
        .unwrap();
    assert_eq!(
        (r.received, r.routed, r.acknowledged, r.followed_up),
        (3, 2, 1, 1)
    );
    assert_eq!((r.resolved, r.resolved_on_time, r.rejected), (1, 1, 1));
    assert_eq!(
        (r.open, r.overdue),
        (1, 1),
        "c2 is open and overdue; c3 is outside"
    );
    assert_eq!(
        r.median_hours_to_first_response,
        Some(15.0),
        "median of 2 h and 28 h"
    );
    assert_eq!(
        r.channels,
        [("sms".to_string(), 1), ("web".to_string(), 2)].into()
    );
    let cats: Vec<_> = r
        .top_categories
        .iter()
        .map(|c| (c.category.as_str(), c.count))
        .collect();
    // c2's "jalan" is no category of the sample rule set: counted as lainnya.
    assert_eq!(cats, [("kesehatan", 1), ("lainnya", 1)]);
    let all = p.recap(&org("prov-jateng"), Window::ALL, now).unwrap();
    assert_eq!(
        (all.received, all.routed, all.open, all.overdue),
        (4, 3, 2, 1)
    );
    let triage = p
        .recap(&org("kab-pati-diskominfo"), Window::ALL, now)
        .unwrap();
    assert_eq!((triage.received, triage.rejected), (1, 1));
}

#[test]
fn window_excludes_other_days() {
    let (_d, p) = given_pati();
    let r = p
        .recap(&org("kab-pati"), window("2026-11-07", "2026-11-07"), D0)
        .unwrap();
    assert_eq!(
        (r.received, r.routed, r.open),
        (1, 1, 1),
        "only c3, received on the 7th"
    );
    assert_eq!(r.median_hours_to_first_response, None);
}

#[test]
fn ranking_orders_children_by_share_on_time() {
    let (_d, p) = given_pati();
    let r = p
        .ranking(
            &org("kab-pati"),
            window("2026-11-02", "2026-11-05"),
            D0 + 3 * DAY,
        )
        .unwrap();
    let top: Vec<_> = r
        .entries
        .iter()
        .take(2)
        .map(|e| (e.org.as_str(), e.share_resolved_on_time))
        .collect();
    assert_eq!(
        top,
        [("kab-pati-dinkes", Some(1.0)), ("kab-pati-pupr", Some(0.0))]
    );
    assert_eq!(r.entries[2].share_resolved_on_time, None);
    assert_eq!(r.entries.len(), 11);
    assert!(r.entries.iter().enumerate().all(|(i, e)| e.rank == i + 1));
}

#[test]
fn inbox_lists_open_complaints_oldest_due_first() {
    let (_d, p) = given_pati();
    let now = D0 + 3 * DAY;
    let inbox = p
        .inbox(&org("kab-pati-dinkes"), now, &InboxPage::first())
        .unwrap();
    let ids: Vec<_> = inbox.items.iter().map(|i| i.tracking_no.as_str()).collect();
    assert_eq!(ids, ["CCCCC-44444"], "c1 is resolved");
    let pupr = p
        .inbox(&org("kab-pati-pupr"), now, &InboxPage::first())
        .unwrap();
    assert_eq!((pupr.open, pupr.overdue), (1, 1));
    assert_eq!(pupr.items[0].status, "in_progress");
    assert_eq!(pupr.items[0].due_at, "2026-11-03T12:00:00Z");
}

#[test]
fn status_view_shows_public_timeline_and_owner() {
    let (_d, p) = given_pati();
    let t = TrackingNo::parse("BBBBB33333").unwrap();
    let v = p.status(&t, D0 + 3 * DAY).unwrap().expect("known");
    assert_eq!(
        (v.status.as_str(), v.org.as_str()),
        ("in_progress", "kab-pati-pupr")
    );
    assert!(v.overdue);
    let notes: Vec<_> = v
        .timeline
        .iter()
        .map(|l| (l.status.as_str(), l.note.as_str()))
        .collect();
    assert_eq!(notes[2], ("in_progress", "ditinjau"));
    assert!(p
        .status(&TrackingNo::parse("ZZZZZ99999").unwrap(), 0)
        .unwrap()
        .is_none());
}

#[test]
fn duplicate_is_listed_on_the_original() {
    let (_d, p) = given_pati();
    let mut ev = Events {
        base: p.checkpoint(),
        ..Events::default()
    };
    let c5 = "0190a000-0000-7000-8000-000000000005";
    ev.push(
        c5,
        received(c5, "EEEEE66666", "web", "", D0 + DAY),
        D0 + DAY,
    );
    let rej = v1::ComplaintRejected {
        reason_code: "duplicate".into(),
        duplicate_of: C1.into(),
        at_ms: D0 + DAY,
        ..Default::default()
    };
    ev.push(c5, rej, D0 + DAY);
    p.apply(&ev.list).unwrap();
    let v = p
        .status(&TrackingNo::parse("AAAAA22222").unwrap(), D0)
        .unwrap()
        .unwrap();
    assert_eq!(v.duplicates, ["EEEEE-66666"]);
}

#[test]
fn confidential_reporter_never_reaches_a_read_model() {
    let (_d, p) = given_pati();
    let mut text = String::new();
    for (k, v) in p.dump().unwrap() {
        text.push_str(&String::from_utf8_lossy(&k));
        text.push_str(&String::from_utf8_lossy(&v));
    }
    let now = D0 + 3 * DAY;
    for t in ["AAAAA22222", "BBBBB33333", "CCCCC44444", "DDDDD55555"] {
        let v = p.status(&TrackingNo::parse(t).unwrap(), now).unwrap();
        text.push_str(&serde_json::to_string(&v).unwrap());
    }
    for o in ["kab-pati-dinkes", "kab-pati-pupr"] {
        text.push_str(
            &serde_json::to_string(&p.inbox(&org(o), now, &InboxPage::first()).unwrap()).unwrap(),
        );
    }
    text.push_str(
        &serde_json::to_string(&p.recap(&org("nasional"), Window::ALL, now).unwrap()).unwrap(),
    );
    for secret in ["Zaqwerty", "Namaunik", "899-0001-7777", "rahasia.unik"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
}

#[test]
fn bad_windows_are_refused() {
    let e = Window::parse(Some("kemarin"), None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(Window::parse(Some("2026-11-05"), Some("2026-11-01")).is_err());
}
