//! The public view of complaints as service requests, over the hand-built
//! Pati complaints of `tests`: one by tracking number, and lists by window,
//! category, open or closed, and count, newest first.

use aduan_domain::{Status, TrackingNo};

use crate::tests::{given_pati, D0, DAY, HOUR};
use crate::{Projections, RequestFilter};

fn all() -> RequestFilter {
    RequestFilter {
        from_ms: D0,
        to_ms: D0 + 10 * DAY,
        categories: Vec::new(),
        open: None,
        limit: 1000,
    }
}

fn numbers(p: &Projections, f: &RequestFilter) -> Vec<String> {
    p.public_requests(f)
        .expect("list")
        .iter()
        .map(|r| r.tracking_no.to_string())
        .collect()
}

#[test]
fn one_request_shows_owner_note_deadline_and_text_but_no_reporter() {
    let (_d, p) = given_pati();
    let t = TrackingNo::parse("BBBBB33333").expect("t");
    let r = p.public_request(&t).expect("read").expect("known");
    assert_eq!(r.status, Status::InProgress);
    assert_eq!(r.owner.as_ref().map(|o| o.as_str()), Some("kab-pati-pupr"));
    assert_eq!(
        r.owner_name,
        "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Pati"
    );
    assert_eq!(r.last_note, "ditinjau");
    assert_eq!(r.received_at_ms, D0 + 10 * HOUR);
    assert_eq!(r.updated_at_ms, D0 + DAY + 14 * HOUR);
    assert_eq!(r.due_ms, Some(D0 + DAY + 12 * HOUR));
    assert_eq!(r.details.body, "isi");
    let shown = format!("{r:?}");
    for secret in ["Zaqwerty", "+62-899", "rahasia.unik"] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
    // Resolved: no deadline any more.
    let done = p
        .public_request(&TrackingNo::parse("AAAAA22222").expect("t"))
        .expect("read")
        .expect("known");
    assert_eq!((done.status, done.due_ms), (Status::Resolved, None));
    let unknown = TrackingNo::parse("ZZZZZ99999").expect("t");
    assert_eq!(p.public_request(&unknown).expect("read"), None);
}

#[test]
fn lists_are_newest_first_and_filtered() {
    let (_d, p) = given_pati();
    let (c1, c2, c3, c4) = ("AAAAA-22222", "BBBBB-33333", "CCCCC-44444", "DDDDD-55555");
    assert_eq!(numbers(&p, &all()), [c3, c4, c2, c1]);
    let health = RequestFilter {
        categories: vec!["kesehatan".into()],
        ..all()
    };
    assert_eq!(numbers(&p, &health), [c3, c1]);
    let closed = RequestFilter {
        open: Some(false),
        ..all()
    };
    assert_eq!(numbers(&p, &closed), [c4, c1]);
    let open = RequestFilter {
        open: Some(true),
        ..all()
    };
    assert_eq!(numbers(&p, &open), [c3, c2]);
    let two = RequestFilter { limit: 2, ..all() };
    assert_eq!(numbers(&p, &two), [c3, c4]);
    // Both ends are inclusive: c1 at 08:00, c2 at 10:00.
    let edges = RequestFilter {
        from_ms: D0 + 8 * HOUR,
        to_ms: D0 + 10 * HOUR,
        ..all()
    };
    assert_eq!(numbers(&p, &edges), [c2, c1]);
    let backwards = RequestFilter {
        from_ms: D0 + DAY,
        to_ms: D0,
        ..all()
    };
    assert!(numbers(&p, &backwards).is_empty());
}
