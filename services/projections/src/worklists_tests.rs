//! The console's queries over a scripted history: an org's drafts waiting,
//! the resolutions an admin may return, and the per-day figures with the
//! reporters' ratings.

use aduan_domain::{ComplaintId, OrgCode, TrackingNo};
use aduan_kv::Db;
use aduan_proto::v1;

use crate::tests::{received, routed, Events, SAMPLE};
use crate::{Projections, Window};

/// 2026-11-02, a Monday, 00:00 UTC.
const D0: i64 = 1_793_577_600_000;
const H: i64 = 3_600_000;
const DAY: i64 = 24 * H;

fn org(code: &str) -> OrgCode {
    OrgCode::parse(code).expect("org")
}

/// A complaint received and routed to `to` at D0.
fn given(ev: &mut Events, to: &str) -> (String, TrackingNo) {
    let id = ComplaintId::new().to_string();
    let t = TrackingNo::random();
    ev.push(&id, received(&id, t.as_str(), "web", "kesehatan", D0), D0);
    ev.push(&id, routed(to, "kesehatan", D0, D0 + 60 * DAY), D0);
    (id, t)
}

fn resolve(ev: &mut Events, id: &str, by: &str, at: i64) {
    let e = v1::ComplaintResolved {
        org: by.into(),
        resolution: format!("Selesai oleh {by}"),
        at_ms: at,
    };
    ev.push(id, e, at);
}

fn rate(ev: &mut Events, id: &str, rating: u32, at: i64) {
    let e = v1::FeedbackGiven {
        rating,
        comment: String::new(),
        at_ms: at,
    };
    ev.push(id, e, at);
}

#[test]
fn drafts_resolutions_and_daily_figures_come_from_the_records() {
    let mut ev = Events::default();
    ev.publish(SAMPLE, D0);
    // A: dinkes drafts a resolution; it waits.
    let (a, _) = given(&mut ev, "kab-pati-dinkes");
    let draft = v1::AnswerDrafted {
        draft_id: "draft-3".into(),
        org: "kab-pati-dinkes".into(),
        kind: "resolution".into(),
        text: "Obat dikirim besok".into(),
        at_ms: D0 + H,
    };
    ev.push(&a, draft, D0 + H);
    // B and D: resolved by dinkes, rated 4 and 2 the next day; C: by pupr, then closed.
    let (b, tb) = given(&mut ev, "kab-pati-dinkes");
    resolve(&mut ev, &b, "kab-pati-dinkes", D0 + H);
    rate(&mut ev, &b, 4, D0 + DAY + H);
    let (c, _) = given(&mut ev, "kab-pati-pupr");
    resolve(&mut ev, &c, "kab-pati-pupr", D0 + H);
    let closed = v1::ComplaintClosed {
        reason: "admin".into(),
        at_ms: D0 + 2 * H,
    };
    ev.push(&c, closed, D0 + 2 * H);
    let (d, td) = given(&mut ev, "kab-pati-dinkes");
    resolve(&mut ev, &d, "kab-pati-dinkes", D0 + H);
    rate(&mut ev, &d, 2, D0 + DAY + 2 * H);
    let p = Projections::open(&Db::memory()).expect("open");
    p.apply(&ev.list).expect("apply");

    let drafts = p.drafts(&org("kab-pati-dinkes")).expect("drafts");
    let got: Vec<_> = drafts
        .iter()
        .map(|d| {
            (
                d.complaint_id.as_str(),
                d.draft_id.as_str(),
                d.text.as_str(),
            )
        })
        .collect();
    assert_eq!(got, [(a.as_str(), "draft-3", "Obat dikirim besok")]);
    assert!(p.drafts(&org("kab-pati-pupr")).expect("drafts").is_empty());

    let pati = [org("kab-pati-dinkes"), org("kab-pati-pupr")];
    let resolved = p.resolved(&pati, 10).expect("resolved");
    let mut got: Vec<_> = resolved.iter().map(|r| r.tracking_no.clone()).collect();
    got.sort();
    let mut want = vec![tb.to_string(), td.to_string()];
    want.sort();
    assert_eq!(
        got, want,
        "resolved and not closed, by the orgs asked about"
    );
    assert_eq!(resolved[0].resolution, "Selesai oleh kab-pati-dinkes");
    assert_eq!(p.resolved(&pati, 1).expect("resolved").len(), 1);
    assert!(p
        .resolved(&[org("kab-blora-dinkes")], 10)
        .expect("resolved")
        .is_empty());

    let day0 = D0 / DAY;
    let daily = p.daily(&org("kab-pati"), Window::ALL).expect("daily");
    assert_eq!(daily.keys().copied().collect::<Vec<_>>(), [day0, day0 + 1]);
    assert_eq!(daily[&day0].received, 4);
    assert_eq!(daily[&day0].channels.get("web"), Some(&4));
    assert_eq!(
        (daily[&(day0 + 1)].rated, daily[&(day0 + 1)].rating_sum),
        (2, 6)
    );
    let second = Window {
        from_day: day0 + 1,
        to_day: day0 + 1,
    };
    let only = p.daily(&org("kab-pati-dinkes"), second).expect("daily");
    assert_eq!(only.keys().copied().collect::<Vec<_>>(), [day0 + 1]);
    assert_eq!(only[&(day0 + 1)].received, 0);
}
