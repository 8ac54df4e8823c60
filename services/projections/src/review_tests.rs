//! Answer review in the recap and the status view, checked against a
//! scripted history with figures worked out by hand.

use aduan_domain::{ComplaintId, OrgCode, TrackingNo};
use aduan_kv::Db;
use aduan_proto::v1;

use crate::tests::{received, Events, SAMPLE};
use crate::{Projections, Window};

/// 2026-11-02, a Monday, 00:00 UTC.
const D0: i64 = 1_793_577_600_000;
const H: i64 = 3_600_000;
const DINKES: &str = "kab-pati-dinkes";

/// A complaint received and routed to Dinkes at D0: its id and tracking number.
fn routed(ev: &mut Events) -> (String, TrackingNo) {
    let id = ComplaintId::new().to_string();
    let t = TrackingNo::random();
    ev.push(&id, received(&id, t.as_str(), "web", "kesehatan", D0), D0);
    let routed = v1::ComplaintRouted {
        org: DINKES.into(),
        hop: 1,
        reason: "rule".into(),
        due_at_ms: D0 + 60 * 24 * H,
        acknowledge_due_ms: D0 + 72 * H,
        follow_up_due_ms: D0 + 120 * H,
        category: "kesehatan".into(),
        at_ms: D0,
        ..Default::default()
    };
    ev.push(&id, routed, D0);
    (id, t)
}

fn drafted(ev: &mut Events, id: &str, draft: &str, kind: &str, h: i64) {
    let e = v1::AnswerDrafted {
        draft_id: draft.into(),
        org: DINKES.into(),
        kind: kind.into(),
        text: "Obat sudah dikirim".into(),
        at_ms: D0 + h * H,
    };
    ev.push(id, e, D0 + h * H);
}

fn resolved(ev: &mut Events, id: &str, h: i64) {
    let e = v1::ComplaintResolved {
        org: DINKES.into(),
        resolution: "Obat sudah dikirim".into(),
        at_ms: D0 + h * H,
    };
    ev.push(id, e, D0 + h * H);
}

/// The head approves `draft` (drafted at hour `drafted_h`) at hour `h`.
fn approved(ev: &mut Events, id: &str, draft: &str, drafted_h: i64, h: i64) {
    let e = v1::AnswerApproved {
        draft_id: draft.into(),
        org: DINKES.into(),
        drafted_at_ms: D0 + drafted_h * H,
        at_ms: D0 + h * H,
    };
    ev.push(id, e, D0 + h * H);
    resolved(ev, id, h);
}

struct Scripted {
    p: Projections,
    approved_after_4h: TrackingNo,
    waiting: TrackingNo,
    returned_by_admin: TrackingNo,
    back_in_inbox: TrackingNo,
}

fn scripted() -> Scripted {
    let mut ev = Events::default();
    ev.publish(SAMPLE, D0);
    // A: drafted at 1, approved at 5 (4 hours).
    let (a, approved_after_4h) = routed(&mut ev);
    drafted(&mut ev, &a, "draft-3", "resolution", 1);
    approved(&mut ev, &a, "draft-3", 1, 5);
    // B: drafted at 2, returned by the head at 3, drafted again at 4 and
    // approved at 12 (8 hours).
    let (b, _) = routed(&mut ev);
    drafted(&mut ev, &b, "draft-3", "resolution", 2);
    let back = v1::AnswerReturned {
        draft_id: "draft-3".into(),
        org: DINKES.into(),
        note: "Sebutkan tanggalnya".into(),
        drafted_at_ms: D0 + 2 * H,
        at_ms: D0 + 3 * H,
    };
    ev.push(&b, back, D0 + 3 * H);
    drafted(&mut ev, &b, "draft-5", "resolution", 4);
    approved(&mut ev, &b, "draft-5", 4, 12);
    // C: drafted at 1, still waiting.
    let (c, waiting) = routed(&mut ev);
    drafted(&mut ev, &c, "draft-3", "resolution", 1);
    // D: a follow-up drafted at 1, dropped when the complaint is escalated at 2.
    let (d, _) = routed(&mut ev);
    drafted(&mut ev, &d, "draft-3", "follow_up", 1);
    let up = v1::ComplaintEscalated {
        from_org: DINKES.into(),
        to_org: "kab-pati".into(),
        reason: "missed_deadline".into(),
        deadline: "acknowledge".into(),
        due_at_ms: D0 + 100 * 24 * H,
        at_ms: D0 + 2 * H,
    };
    ev.push(&d, up, D0 + 2 * H);
    // E: resolved at 1, returned by an admin at 2, resolved again at 3.
    let (e, returned_by_admin) = routed(&mut ev);
    resolved(&mut ev, &e, 1);
    let back = v1::ResolutionReturned {
        org: DINKES.into(),
        reason: "Tidak menjawab keluhan".into(),
        follow_up_due_ms: D0 + 200 * H,
        at_ms: D0 + 2 * H,
    };
    ev.push(&e, back, D0 + 2 * H);
    resolved(&mut ev, &e, 3);
    // F: resolved at 1, returned by an admin at 2, not answered since.
    let (f, back_in_inbox) = routed(&mut ev);
    resolved(&mut ev, &f, 1);
    let back = v1::ResolutionReturned {
        org: DINKES.into(),
        reason: "Kurang jelas".into(),
        follow_up_due_ms: D0 + 200 * H,
        at_ms: D0 + 2 * H,
    };
    ev.push(&f, back, D0 + 2 * H);

    let p = Projections::open(&Db::memory()).expect("open");
    p.apply(&ev.list).expect("apply");
    Scripted {
        p,
        approved_after_4h,
        waiting,
        returned_by_admin,
        back_in_inbox,
    }
}

#[test]
fn the_recap_counts_drafts_returns_and_the_median_time_to_approval() {
    let s = scripted();
    let dinkes = OrgCode::parse(DINKES).expect("org");
    let r = s.p.recap(&dinkes, Window::ALL, D0 + 24 * H).expect("recap");
    assert_eq!(
        (
            r.drafts_waiting,
            r.answers_approved,
            r.answers_returned,
            r.resolutions_returned
        ),
        (1, 2, 1, 2)
    );
    assert_eq!(r.median_hours_draft_to_approval, Some(6.0));
    // A, B, E twice and F; a draft is no resolution.
    assert_eq!(r.resolved, 5);
    // The parent's recap rolls Dinkes up.
    let pati = OrgCode::parse("kab-pati").expect("org");
    let up = s.p.recap(&pati, Window::ALL, D0 + 24 * H).expect("recap");
    assert_eq!((up.drafts_waiting, up.answers_approved), (1, 2));
    // The window is the draft's or the decision's day.
    let next_day = Window::parse(Some("2026-11-03"), None).expect("window");
    let later = s.p.recap(&dinkes, next_day, D0 + 24 * H).expect("recap");
    assert_eq!(
        (
            later.drafts_waiting,
            later.answers_approved,
            later.median_hours_draft_to_approval
        ),
        (0, 0, None)
    );
}

#[test]
fn the_timeline_shows_approved_answers_and_admin_returns_never_drafts() {
    let s = scripted();
    let now = D0 + 24 * H;
    let view = |t: &TrackingNo| s.p.status(t, now).expect("status").expect("known");

    let waiting = view(&s.waiting);
    assert_eq!(waiting.status, "routed");
    assert!(
        waiting
            .timeline
            .iter()
            .all(|l| l.note != "Obat sudah dikirim"),
        "{:?}",
        waiting.timeline
    );

    let a = view(&s.approved_after_4h);
    let last = a.timeline.last().expect("line");
    assert_eq!(
        (a.status.as_str(), last.status.as_str(), last.note.as_str()),
        ("resolved", "resolved", "Obat sudah dikirim")
    );
    assert_eq!(
        last.at, "2026-11-02T05:00:00Z",
        "the answer's time is the approval's"
    );

    let e = view(&s.returned_by_admin);
    let notes: Vec<_> = e
        .timeline
        .iter()
        .map(|l| (l.status.as_str(), l.note.as_str()))
        .collect();
    assert!(
        notes.contains(&("in_progress", "returned: Tidak menjawab keluhan")),
        "{notes:?}"
    );
}

#[test]
fn a_returned_resolution_is_back_in_the_same_inbox_due_as_before() {
    let s = scripted();
    let dinkes = OrgCode::parse(DINKES).expect("org");
    let inbox =
        s.p.inbox(&dinkes, D0 + 24 * H, &crate::InboxPage::first())
            .expect("inbox");
    let item = inbox
        .items
        .iter()
        .find(|i| i.tracking_no == s.back_in_inbox.to_string())
        .expect("back in the inbox");
    // The resolve deadline still counts from the complaint's routing.
    assert_eq!(
        (item.status.as_str(), item.due_at.as_str()),
        ("in_progress", "2027-01-01T00:00:00Z")
    );
    assert!(
        inbox
            .items
            .iter()
            .all(|i| i.tracking_no != s.returned_by_admin.to_string()),
        "answered again, so out of the inbox"
    );
}
