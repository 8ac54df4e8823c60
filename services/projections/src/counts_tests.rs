//! Day counts stay bounded by the rule set: channels and categories it does
//! not know are counted as `lainnya`, so thousands of made-up names cost no
//! more per event than one (issue 13, item 4).

use aduan_domain::{ComplaintId, OrgCode, TrackingNo};
use aduan_kv::Db;
use aduan_proto::v1;

use crate::tests::{received, Events, SAMPLE};
use crate::{Projections, Window, PAGE};

/// 2026-11-02, a Monday, 00:00 UTC.
const D0: i64 = 1_793_577_600_000;
const DINKES: &str = "kab-pati-dinkes";

/// Pushes a complaint received on `channel` with `category` and routed to
/// `kab-pati-dinkes` with it, both at `at`.
fn complaint(ev: &mut Events, channel: &str, category: &str, at: i64) {
    let id = ComplaintId::new().to_string();
    let t = TrackingNo::random();
    ev.push(&id, received(&id, t.as_str(), channel, category, at), at);
    let routed = v1::ComplaintRouted {
        org: DINKES.into(),
        hop: 1,
        reason: "rule".into(),
        due_at_ms: at + 86_400_000,
        category: category.into(),
        at_ms: at,
        ..Default::default()
    };
    ev.push(&id, routed, at);
}

/// The largest stored day-counts value (keys `d…`), in bytes.
fn largest_counts(p: &Projections) -> usize {
    let dump = p.dump().expect("dump");
    dump.iter()
        .filter(|(k, _)| k.first() == Some(&b'd'))
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
}

/// Applies `ev` in tailing-sized pages.
fn apply(p: &Projections, ev: &Events) {
    for page in ev.list.chunks(PAGE) {
        p.apply(page).expect("apply");
    }
}

#[test]
fn unique_channels_and_categories_count_as_lainnya_and_keep_day_counts_bounded() {
    const UNIQUE: usize = 3_000;
    let mut ev = Events::default();
    ev.publish(SAMPLE, D0);
    for i in 0..3 {
        complaint(&mut ev, "web", "kesehatan", D0 + i);
    }
    complaint(&mut ev, "ch-first", "kat-first", D0 + 5);
    let p = Projections::open(&Db::memory()).expect("open");
    apply(&p, &ev);
    let one_unique = largest_counts(&p);

    // Every complaint on the same day, each with a channel and a category of
    // its own: the worst case for one day's record.
    for half in 0..2 {
        let mut more = Events {
            base: p.checkpoint(),
            ..Events::default()
        };
        for i in 0..UNIQUE / 2 {
            let n = half * UNIQUE + i;
            complaint(&mut more, &format!("ch-{n}"), &format!("kat-{n}"), D0 + 10);
        }
        apply(&p, &more);
        let size = largest_counts(&p);
        // Only the counters' varints may grow, a byte or so each.
        assert!(
            size <= one_unique + 8,
            "after {} more unique names one day's counts take {size} bytes, \
             against {one_unique} after one",
            (half + 1) * UNIQUE / 2
        );
    }

    let r = p
        .recap(&OrgCode::parse(DINKES).expect("org"), Window::ALL, D0)
        .expect("recap");
    let unique = UNIQUE as u64 + 1;
    assert_eq!(r.received, 3 + unique);
    assert_eq!(
        r.channels,
        [("lainnya".to_string(), unique), ("web".to_string(), 3)].into()
    );
    let cats: Vec<_> = r
        .top_categories
        .iter()
        .map(|c| (c.category.as_str(), c.count))
        .collect();
    assert_eq!(cats, [("lainnya", unique), ("kesehatan", 3)]);
}

#[test]
fn the_rule_set_configures_the_known_channels() {
    // `channels` replaces CONTRACT.md's list: `wa` is known, `sms` is not.
    let rules = format!("channels = [\"web\", \"wa\"]\n{SAMPLE}");
    let mut ev = Events::default();
    ev.publish(&rules, D0);
    for ch in ["web", "wa", "sms", "wa"] {
        complaint(&mut ev, ch, "", D0);
    }
    let p = Projections::open(&Db::memory()).expect("open");
    apply(&p, &ev);
    let r = p
        .recap(&OrgCode::parse(DINKES).expect("org"), Window::ALL, D0)
        .expect("recap");
    assert_eq!(
        r.channels,
        [
            ("lainnya".to_string(), 1),
            ("wa".to_string(), 2),
            ("web".to_string(), 1)
        ]
        .into()
    );
    assert!(r.top_categories.is_empty(), "no category is not lainnya");
}
