//! Properties over the sample rule set: for any facts and any set of orgs
//! already tried, `route` returns one org of the rule set, the same answer
//! twice, never a tried org unless it is the triage fallback, and the same
//! decision `explain` reports.

use aduan_domain::ids::{Channel, OrgCode, RegionCode};
use proptest::prelude::*;

use super::sample;
use crate::{Facts, Kind, Reason};

const REGIONS: &[&str] = &[
    "33",
    "33.18",
    "33.18.05",
    "33.18.05.2001",
    "33.16",
    "33.16.01",
    "33.75",
    "33.19",
    "36",
    "36.73",
    "36.02",
    "36.01",
    "99",
    "11.01",
];
const CATEGORIES: &[&str] = &[
    "kesehatan",
    "infrastruktur",
    "pendidikan",
    "sosial",
    "air-bersih",
    "listrik",
    "jaminan-kesehatan",
    "lainnya",
];
const WORDS: &[&str] = &[
    "puskesmasnya",
    "obat",
    "RSUD",
    "igd",
    "rumah",
    "sakit",
    "djalan",
    "berlubang",
    "aspal",
    "sekolah",
    "SMA",
    "smk",
    "ktp",
    "sampah",
    "bansos",
    "pkh",
    "pdam",
    "air",
    "bersih",
    "listrik",
    "bpjs",
    "jalan",
    "provinsi",
    "tolong",
    "segera",
    "ditindaklanjuti",
    "warga",
    "desa",
    "pak",
    "Bupati",
    "!!",
    "é",
    "123",
];
const CHANNELS: &[&str] = &["web", "sms", "ppid", "lapor-bup", "twitter"];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..12).prop_map(|w| w.join(" "))
}

fn facts() -> impl Strategy<Value = Facts> {
    (
        prop::option::of(prop::sample::select(REGIONS)),
        prop::option::of(prop::sample::select(CATEGORIES)),
        text(),
        text(),
        prop::sample::select(&Kind::ALL[..]),
        prop::sample::select(CHANNELS),
    )
        .prop_map(|(region, category, title, body, kind, channel)| Facts {
            region: region.and_then(|r| RegionCode::parse(r).ok()),
            category: category.map(str::to_owned),
            title,
            body,
            kind,
            channel: Channel::parse(channel).unwrap_or_else(|e| panic!("{e}")),
        })
}

fn exclude() -> impl Strategy<Value = Vec<OrgCode>> {
    let orgs: Vec<OrgCode> = sample().orgs().iter().map(|o| o.code.clone()).collect();
    prop::sample::subsequence(orgs.clone(), 0..orgs.len().min(40))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn route_is_total_deterministic_and_respects_exclude(f in facts(), ex in exclude()) {
        let rs = sample();
        let d = rs.route(&f, &ex);
        prop_assert!(rs.org(&d.org).is_some(), "{} is not in the rule set", d.org);
        prop_assert_eq!(&d, &rs.route(&f, &ex));
        if ex.contains(&d.org) {
            prop_assert_ne!(d.reason, Reason::Rule);
            prop_assert_eq!(&d.org, &rs.admin_for(f.region.as_ref()));
        }
        match d.reason {
            Reason::Rule => prop_assert!(d.rule_id.is_some()),
            Reason::NoRule => prop_assert!(d.rule_id.is_none() && d.org.as_str() != "nasional"),
            Reason::NoRegion => prop_assert!(d.rule_id.is_none() && d.org.as_str() == "nasional"),
        }
        prop_assert_eq!(rs.explain(&f).decision, rs.route(&f, &[]));
    }
}
