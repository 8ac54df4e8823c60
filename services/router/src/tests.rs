//! The routing decision and the deadline rules, pure: given a complaint's
//! events and a rule set, when the router decides, then this owner and reason.

use aduan_domain::{
    Channel, Command, Complaint, ComplaintEvent, DeadlineKind, EscalationReason, OrgCode,
    RegionCode, RouteReason, Status,
};
use aduan_proto::v1;
use aduan_rules::{Facts, Kind, RuleSet};
use proptest::prelude::*;
use time::macros::datetime;
use time::OffsetDateTime;

use aduan_complaints::sla::deadlines;

use crate::routing::{next_owner, route_command};

const SMALL: &str = include_str!("../tests/fixtures/small.toml");

fn rules() -> RuleSet {
    match RuleSet::load(SMALL) {
        Ok(r) => r,
        Err(e) => panic!("fixture does not load: {e}"),
    }
}

fn org(s: &str) -> OrgCode {
    OrgCode::parse(s).expect("valid org")
}

/// Monday 23 Nov 2026, 09:00 WIB.
const NOW: OffsetDateTime = datetime!(2026-11-23 02:00 UTC);

fn received(region: &str, category: &str, text: &str) -> v1::ComplaintReceived {
    v1::ComplaintReceived {
        complaint_id: "0192f5a0-0000-7000-8000-000000000001".into(),
        tracking_no: "ABCDE23456".into(),
        channel: "sms".into(),
        kind: "complaint".into(),
        title: String::new(),
        body: text.into(),
        category: category.into(),
        location: Some(v1::Location {
            region_code: region.into(),
            ..Default::default()
        }),
        received_at_ms: 1,
        ..Default::default()
    }
}

/// A complaint after `received` and the decisions so far, each made by the
/// router and each declined with the given suggestion.
struct Given {
    rules: RuleSet,
    events: Vec<ComplaintEvent>,
}

impl Given {
    fn complaint(region: &str, category: &str, text: &str) -> Self {
        Self {
            rules: rules(),
            events: vec![received(region, category, text).into()],
        }
    }

    fn state(&self) -> Complaint {
        Complaint::fold(&self.events).expect("a complaint")
    }

    fn facts(&self) -> Facts {
        let ComplaintEvent::Received(r) = &self.events[0] else {
            unreachable!()
        };
        crate::routing::facts(r)
    }

    /// When the router decides: the owner, reason and rule.
    fn when_routed(&mut self) -> (String, RouteReason, String) {
        let c = self.state();
        let choice = next_owner(Some(&self.rules), &c, &self.facts()).expect("an owner");
        let out = (
            choice.org.to_string(),
            choice.reason,
            choice.rule_id.clone(),
        );
        let cmd = route_command(Some(&self.rules), choice, NOW);
        let events = c.decide(cmd, NOW).expect("the domain accepts the route");
        self.events.extend(events);
        out
    }

    fn declined(&mut self, suggested: &str) -> &mut Self {
        let c = self.state();
        let owner = c.owner.clone().expect("an owner");
        // An org cannot suggest itself; the domain refuses that.
        let suggested_org = OrgCode::parse(suggested).ok().filter(|s| *s != owner);
        let cmd = Command::DeclineAuthority {
            org: owner,
            reason: "bukan kewenangan kami".into(),
            suggested_org,
        };
        self.events
            .extend(c.decide(cmd, NOW).expect("decline accepted"));
        self
    }
}

fn route(region: &str, category: &str, text: &str) -> (String, RouteReason, String) {
    Given::complaint(region, category, text).when_routed()
}

#[test]
fn first_routing_follows_each_precedence_step() {
    use RouteReason::*;
    let cases = [
        // (region, category, text) → (org, reason, rule): why
        (
            ("33.18", "kesehatan", "antre lama"),
            ("kab-pati-dinkes", Rule, "pati-kesehatan"),
        ), // longest prefix
        (
            ("33.16", "kesehatan", "antre lama"),
            ("prov-jateng-dinkes", Rule, "jateng-kesehatan"),
        ), // shorter prefix
        (
            ("33.18", "kesehatan", "jalan ke puskesmas"),
            ("kab-pati-dinkes", Rule, "pati-kesehatan"),
        ), // category over keywords
        (
            ("33.18", "kesehatan", "antre di rsud"),
            ("kab-pati-rsud", Rule, "pati-rsud"),
        ), // keyword evidence
        (
            ("33.18", "", "jembatan putus"),
            ("kab-pati-pupr", Rule, "pati-jalan"),
        ), // file order on a tie
        (
            ("33.18", "", "obat habis di puskesmas"),
            ("kab-pati-dinkes", Rule, "pati-kesehatan"),
        ), // derived category
        (
            ("33.18", "", "lampu mati"),
            ("kab-pati-kominfo", NoRule, ""),
        ), // triage
        (
            ("33.16", "", "lampu mati"),
            ("prov-jateng-kominfo", NoRule, ""),
        ), // province triage
        (("", "", "lampu mati"), ("nasional", NoRegion, "")), // no region
        (("99", "", "lampu mati"), ("nasional", NoRegion, "")), // unknown region
        (
            ("", "", "kartu bpjs ditolak"),
            ("bpjs-kesehatan", Rule, "bpjs"),
        ), // rule without region
    ];
    for ((region, category, text), (want_org, want_reason, want_rule)) in cases {
        let got = route(region, category, text);
        assert_eq!(
            got,
            (want_org.to_owned(), want_reason, want_rule.to_owned()),
            "{region:?} {category:?} {text:?}"
        );
    }
}

#[test]
fn a_suggested_org_gets_it_when_known_and_untried() {
    let mut g = Given::complaint("33.18", "kesehatan", "antre lama");
    g.when_routed();
    g.declined("kab-pati-rsud");
    assert_eq!(
        g.when_routed(),
        (
            "kab-pati-rsud".into(),
            RouteReason::Suggested,
            String::new()
        )
    );
}

#[test]
fn without_a_usable_suggestion_the_next_best_rule_excluding_tried_orgs_wins() {
    let mut g = Given::complaint("33.18", "kesehatan", "antre lama");
    g.when_routed();
    g.declined("dinas-tidak-ada"); // unknown org: ignored
    let next = g.when_routed();
    assert_eq!(
        next,
        (
            "prov-jateng-dinkes".into(),
            RouteReason::Rerouted,
            "jateng-kesehatan".into()
        )
    );
}

#[test]
fn a_suggestion_already_tried_is_ignored_and_then_triage_takes_it() {
    let mut g = Given::complaint("33.18", "", "jembatan putus");
    assert_eq!(g.when_routed().0, "kab-pati-pupr");
    g.declined("kab-pati-pupr-x");
    assert_eq!(g.when_routed().0, "kab-pati-rsud"); // pati-jalan-rsud, pupr excluded
    g.declined("kab-pati-pupr"); // already tried
    let (org, reason, rule) = g.when_routed();
    assert_eq!(
        (org.as_str(), reason, rule.as_str()),
        ("kab-pati-kominfo", RouteReason::NoRule, "")
    );
}

#[test]
fn when_the_admin_declines_nasional_takes_it_and_keeps_it() {
    let mut g = Given::complaint("33.18", "", "lampu mati");
    assert_eq!(g.when_routed().0, "kab-pati-kominfo");
    g.declined("");
    assert_eq!(g.when_routed().0, "nasional");
    g.declined("");
    assert_eq!(g.when_routed().0, "nasional");
}

#[test]
fn after_max_hops_re_routings_triage_takes_it() {
    // max_hops = 2: the first routing and two re-routings, then triage.
    let mut g = Given::complaint("33.18", "kesehatan", "antre lama");
    assert_eq!(g.when_routed().0, "kab-pati-dinkes");
    g.declined("kab-pati-rsud");
    assert_eq!(g.when_routed().0, "kab-pati-rsud");
    g.declined("bpjs-kesehatan");
    assert_eq!(g.when_routed().0, "bpjs-kesehatan");
    g.declined("kab-pati-pupr");
    assert_eq!(
        g.when_routed(),
        (
            "kab-pati-kominfo".into(),
            RouteReason::MaxHops,
            String::new()
        )
    );
}

#[test]
fn a_reopened_complaint_goes_back_to_the_org_that_resolved_it() {
    let mut g = Given::complaint("33.18", "kesehatan", "antre lama");
    g.when_routed();
    g.events.push(
        v1::ComplaintResolved {
            org: "kab-pati-dinkes".into(),
            resolution: "sudah".into(),
            at_ms: 2,
        }
        .into(),
    );
    g.events.push(
        v1::ComplaintReopened {
            reason: "belum".into(),
            org: "kab-pati-dinkes".into(),
            at_ms: 3,
        }
        .into(),
    );
    assert_eq!(
        g.when_routed(),
        (
            "kab-pati-dinkes".into(),
            RouteReason::Reopened,
            String::new()
        )
    );
}

#[test]
fn an_owned_or_finished_complaint_needs_no_owner() {
    let mut g = Given::complaint("33.18", "kesehatan", "antre lama");
    g.when_routed();
    assert_eq!(next_owner(Some(&g.rules), &g.state(), &g.facts()), None);
    g.events.push(
        v1::ComplaintClosed {
            reason: "admin".into(),
            at_ms: 4,
        }
        .into(),
    );
    assert_eq!(next_owner(Some(&g.rules), &g.state(), &g.facts()), None);
}

#[test]
fn before_any_rule_set_nasional_takes_everything() {
    let g = Given::complaint("33.18", "kesehatan", "antre lama");
    let choice = next_owner(None, &g.state(), &g.facts()).expect("an owner");
    assert_eq!((choice.org.as_str(), choice.triage), ("nasional", true));
}

#[test]
fn deadlines_count_working_days_skipping_weekends_and_holidays() {
    let r = rules();
    // Thursday 24 Dec 2026 10:00 WIB; 25 Dec is a holiday, then a weekend.
    let start = datetime!(2026-12-24 03:00 UTC);
    let d = deadlines(Some(&r), start);
    let at = |ms: i64| aduan_domain::calendar::from_unix_ms(ms).expect("in range");
    assert_eq!(at(d.acknowledge_ms), datetime!(2026-12-30 03:00 UTC)); // Mon 28, Tue 29, Wed 30
    assert_eq!(at(d.follow_up_ms), datetime!(2027-01-01 03:00 UTC)); // + Thu 31, Fri 1
}

#[test]
fn a_passed_deadline_escalates_to_the_parent_once_and_auto_close_closes() {
    let mut g = Given::complaint("33.18", "kesehatan", "antre lama");
    g.when_routed();
    let c = g.state();
    let due = c.deadlines.expect("deadlines").acknowledge_ms;
    let before = aduan_domain::calendar::from_unix_ms(due - 1).expect("time");
    let after = aduan_domain::calendar::from_unix_ms(due).expect("time");
    assert_eq!(crate::overdue(Some(&g.rules), &c, before), None);
    assert_eq!(crate::next_due(Some(&g.rules), &c), Some(due));
    let Some(Command::Escalate { to, reason, .. }) = crate::overdue(Some(&g.rules), &c, after)
    else {
        panic!("expected an escalation");
    };
    assert_eq!(
        (to, reason),
        (
            org("kab-pati"),
            EscalationReason::MissedDeadline(DeadlineKind::Acknowledge)
        )
    );
    let cmd = crate::overdue(Some(&g.rules), &c, after).expect("command");
    g.events
        .extend(c.decide(cmd, after).expect("escalation accepted"));
    let c = g.state();
    // The same deadline does not fire again; the next is follow-up.
    assert_ne!(crate::next_due(Some(&g.rules), &c), Some(due));
    g.events.push(
        v1::ComplaintResolved {
            org: "kab-pati".into(),
            resolution: "ok".into(),
            at_ms: due,
        }
        .into(),
    );
    let c = g.state();
    assert_eq!(c.status, Status::Resolved);
    let close_at = crate::next_due(Some(&g.rules), &c).expect("auto close date");
    let t = aduan_domain::calendar::from_unix_ms(close_at).expect("time");
    assert!(matches!(
        crate::overdue(Some(&g.rules), &c, t),
        Some(Command::Close { .. })
    ));
}

const REGIONS: &[&str] = &["", "33", "33.18", "33.16", "33.18.01", "99"];
const CATEGORIES: &[&str] = &["", "kesehatan", "infrastruktur", "lain"];
const WORDS: &[&str] = &[
    "rsud",
    "jalan",
    "jembatan",
    "puskesmas",
    "bpjs",
    "obat",
    "lampu",
    "sampah",
];
const ORGS: &[&str] = &[
    "",
    "nasional",
    "bpjs-kesehatan",
    "prov-jateng-dinkes",
    "kab-pati-dinkes",
    "kab-pati-rsud",
    "kab-pati-pupr",
    "kab-pati-kominfo",
    "tidak-dikenal",
];

proptest! {
    /// For any complaint and any sequence of declines: there is exactly one
    /// owner each time, the same one when asked twice, the domain accepts it,
    /// and it is never an org already tried unless it is a triage queue.
    #[test]
    fn exactly_one_owner_deterministic_never_tried_twice(
        region in 0..REGIONS.len(),
        category in 0..CATEGORIES.len(),
        words in proptest::collection::vec(0..WORDS.len(), 0..5),
        suggestions in proptest::collection::vec(0..ORGS.len(), 0..8),
    ) {
        let text: Vec<&str> = words.iter().map(|i| WORDS[*i]).collect();
        let mut g = Given::complaint(REGIONS[region], CATEGORIES[category], &text.join(" "));
        for s in suggestions {
            let c = g.state();
            let choice = next_owner(Some(&g.rules), &c, &g.facts());
            prop_assert!(choice.is_some(), "no wrong door: an owner every time");
            prop_assert_eq!(&choice, &next_owner(Some(&g.rules), &c, &g.facts()));
            let choice = choice.expect("checked");
            prop_assert!(!c.tried.contains(&choice.org) || choice.triage,
                "{} tried already and not a triage queue", choice.org);
            let events = c.decide(route_command(Some(&g.rules), choice, NOW), NOW);
            prop_assert!(events.is_ok(), "domain refused: {:?}", events);
            g.events.extend(events.expect("checked"));
            prop_assert_eq!(next_owner(Some(&g.rules), &g.state(), &g.facts()), None);
            g.declined(ORGS[s]);
        }
    }
}

#[test]
fn facts_take_kind_and_channel_from_the_event() {
    let mut r = received("33.18", "", "x");
    r.kind = "aspiration".into();
    let f = crate::routing::facts(&r);
    assert_eq!(f.kind, Kind::Aspiration);
    assert_eq!(f.channel, Channel::parse("sms").expect("channel"));
    assert_eq!(f.region, RegionCode::parse("33.18").ok());
    assert_eq!(f.category, None);
}
