//! The inbox in pages: every open complaint exactly once, in due order,
//! whatever the page size; totals over the whole inbox on every page; bad
//! limits and cursors refused naming their field.

use aduan_domain::{OrgCode, TrackingNo};
use aduan_kv::Db;

use crate::tests::{received, routed, Events, SAMPLE};
use crate::{InboxPage, ProjectionError, Projections};

/// 2026-11-02, a Monday, 00:00 UTC.
const D0: i64 = 1_793_577_600_000;
const HOUR: i64 = 3_600_000;

/// `n` complaints routed to Dinkes Pati, due in an order unlike their ids
/// (several on the same hour), seen at D0 + 10 h.
fn inbox_of(n: u32) -> Projections {
    let mut ev = Events::default();
    ev.publish(SAMPLE, D0);
    for i in 0..n {
        let id = format!("0190a000-0000-7000-8000-{i:012x}");
        let t = TrackingNo::random();
        ev.push(&id, received(&id, t.as_str(), "web", "kesehatan", D0), D0);
        let due = D0 + i64::from((i * 7) % 20) * HOUR;
        ev.push(&id, routed("kab-pati-dinkes", "kesehatan", D0, due), D0);
    }
    let p = Projections::open(&Db::memory()).expect("open");
    p.apply(&ev.list).expect("apply");
    p
}

fn dinkes() -> OrgCode {
    OrgCode::parse("kab-pati-dinkes").expect("org")
}

#[test]
fn pages_list_every_open_complaint_once_in_due_order() {
    let p = inbox_of(45);
    let now = D0 + 10 * HOUR;
    let whole = p.inbox(&dinkes(), now, &InboxPage::first()).expect("inbox");
    assert_eq!((whole.items.len(), whole.next), (45, None));
    let overdue = whole.items.iter().filter(|i| i.overdue).count();
    assert_eq!((whole.open, whole.overdue), (45, overdue));
    assert!(overdue > 0 && overdue < 45);
    for limit in [1, 2, 7, 44, 45, 46] {
        let (mut seen, mut after) = (Vec::new(), None::<String>);
        for _ in 0..=45 {
            let l = limit.to_string();
            let page = InboxPage::parse(Some(&l), after.as_deref()).expect("page");
            let inbox = p.inbox(&dinkes(), now, &page).expect("inbox");
            assert!(inbox.items.len() <= limit);
            assert_eq!(
                (inbox.open, inbox.overdue),
                (45, overdue),
                "totals on every page"
            );
            seen.extend(inbox.items.into_iter().map(|i| i.complaint_id));
            match inbox.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let all: Vec<_> = whole.items.iter().map(|i| i.complaint_id.clone()).collect();
        assert_eq!(seen, all, "limit {limit}");
    }
}

#[test]
fn bad_limits_and_cursors_are_refused_naming_their_field() {
    for (limit, after, field) in [
        (Some("0"), None, "limit"),
        (Some("1001"), None, "limit"),
        (Some("-1"), None, "limit"),
        (Some("sepuluh"), None, "limit"),
        (None, Some("kemarin"), "after"),
        (None, Some("12.not-an-id"), "after"),
        (
            None,
            Some("x.0190a000-0000-7000-8000-000000000001"),
            "after",
        ),
    ] {
        match InboxPage::parse(limit, after) {
            Err(ProjectionError::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{limit:?} {after:?}: {other:?}"),
        }
    }
    assert_eq!(
        InboxPage::parse(Some("1000"), None).expect("max"),
        InboxPage::parse(Some("1000"), None).expect("max")
    );
}
