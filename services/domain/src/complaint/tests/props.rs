//! Properties over random lifecycles: any sequence of commands, decided one by
//! one against the folded state, yields a stream whose state does not depend
//! on how it is read back in batches.

use proptest::prelude::*;

use super::*;
use crate::event::{ComplaintEvent as E, SCHEMA_VERSION};

const ORGS: [&str; 4] = [DINKES, PUPR, TRIAGE, "prov-jateng"];

/// One random step: which command, with which arguments, and how many hours
/// after the previous one.
#[derive(Debug, Clone)]
struct Step {
    kind: u8,
    org: usize,
    other: usize,
    good_token: bool,
    rating: u32,
    text: String,
    gap_hours: i64,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0u8..15,
        0usize..6,
        0usize..4,
        prop::bool::weighted(0.9),
        0u32..7,
        "[a-z ]{0,6}",
        0i64..100,
    )
        .prop_map(
            |(kind, org, other, good_token, rating, text, gap_hours)| Step {
                kind,
                org,
                other,
                good_token,
                rating,
                text,
                gap_hours,
            },
        )
}

/// The command of a step; the acting org is the current owner most of the time.
fn command(s: &Step, state: &Complaint, h: i64) -> Command {
    let actor = match (s.org, &state.owner) {
        (4 | 5, Some(owner)) => owner.clone(),
        (i, _) => org(ORGS[i % ORGS.len()]),
    };
    let other = org(ORGS[s.other]);
    let token = if s.good_token {
        token()
    } else {
        ReporterToken::from("wrong")
    };
    let text = s.text.clone();
    match s.kind {
        0 => {
            let reason = if state.status == Status::Reopened {
                RouteReason::Reopened
            } else {
                RouteReason::Rule
            };
            let to = match (&state.resolved_by, reason) {
                (Some(back), RouteReason::Reopened) => back.as_str().to_owned(),
                _ => other.as_str().to_owned(),
            };
            route(&to, reason, to == TRIAGE, h)
        }
        1 => Command::Acknowledge { org: actor },
        2 => Command::FollowUp {
            org: actor,
            message: text,
            public: s.good_token,
            review: s.rating.is_multiple_of(2),
        },
        3 => Command::RequestInfo {
            org: actor,
            question: text,
        },
        4 => Command::ReporterReply {
            token,
            message: text,
        },
        5 => Command::Resolve {
            org: actor,
            resolution: text,
            review: s.rating.is_multiple_of(2),
        },
        6 => Command::DeclineAuthority {
            org: actor,
            reason: text,
            suggested_org: Some(other),
        },
        7 => Command::GiveFeedback {
            token,
            rating: s.rating,
            comment: text,
        },
        8 => Command::Reopen {
            token,
            reason: text,
        },
        9 => Command::AdminReject {
            reason_code: RejectReason::Spam,
            reason: text,
            duplicate_of: None,
        },
        10 => Command::Escalate {
            to: other,
            reason: EscalationReason::MissedDeadline(DeadlineKind::ALL[s.rating as usize % 3]),
            due_at_ms: ms(h + 500),
        },
        11 => Command::Close {
            reason: CloseReason::Feedback,
        },
        12 => Command::ApproveAnswer {
            org: actor,
            role: role(s),
            draft_id: draft_of(state),
        },
        13 => Command::ReturnAnswer {
            org: actor,
            role: role(s),
            draft_id: draft_of(state),
            note: text,
        },
        _ => Command::ReturnResolution {
            reason: text,
            calendar: crate::Calendar::new([]),
            follow_up_days: 5,
        },
    }
}

/// The head most of the time, sometimes an operator.
fn role(s: &Step) -> crate::command::OrgRole {
    if s.good_token {
        crate::command::OrgRole::Head
    } else {
        crate::command::OrgRole::Operator
    }
}

/// A pending draft's id when there is one, else one that names none.
fn draft_of(state: &Complaint) -> String {
    state
        .drafts
        .keys()
        .next()
        .cloned()
        .unwrap_or_else(|| "draft-0".into())
}

/// The events of a random lifecycle: each step's command decided against the
/// state so far; refused commands record nothing.
fn lifecycle(steps: &[Step]) -> Vec<ComplaintEvent> {
    let mut events = vec![received()];
    let mut state = Complaint::fold(&events).expect("valid");
    let mut h = 0;
    for s in steps {
        h += s.gap_hours;
        if let Ok(new) = state.decide(command(s, &state, h), hours(h)) {
            state.apply_all(&new);
            events.extend(new);
        }
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn batches_do_not_change_the_state(
        steps in prop::collection::vec(step(), 0..60),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let events = lifecycle(&steps);
        let all_at_once = Complaint::fold(&events).expect("valid");
        prop_assert_eq!(all_at_once.version, events.len() as u64);

        let mut cuts: Vec<usize> = cuts.iter().map(|i| 1 + i.index(events.len())).collect();
        cuts.push(events.len());
        cuts.sort_unstable();
        cuts.dedup();
        let mut incremental = Complaint::fold(&events[..cuts[0]]).expect("valid");
        for w in cuts.windows(2) {
            incremental.apply_all(&events[w[0]..w[1]]);
        }
        prop_assert_eq!(incremental, all_at_once);
    }

    #[test]
    fn decided_events_survive_storage(steps in prop::collection::vec(step(), 0..60)) {
        let events = lifecycle(&steps);
        let stored: Vec<E> = events
            .iter()
            .map(|e| E::decode(e.type_name(), SCHEMA_VERSION, &e.encode()).expect("decodes"))
            .collect();
        prop_assert_eq!(Complaint::fold(&stored), Complaint::fold(&events));
    }

    #[test]
    fn the_owner_is_always_among_the_orgs_tried_or_escalated_to(
        steps in prop::collection::vec(step(), 0..60),
    ) {
        let events = lifecycle(&steps);
        let mut state = Complaint::fold(&events[..1]).expect("valid");
        let mut escalated_to = BTreeSet::new();
        for e in &events[1..] {
            state.apply(e);
            if let E::Escalated(x) = e {
                escalated_to.insert(x.to_org.clone());
            }
            if let Some(owner) = &state.owner {
                prop_assert!(state.tried.contains(owner) || escalated_to.contains(owner.as_str()));
            }
            prop_assert!(state.hop as usize <= events.len());
        }
    }
}

/// Random lifecycles should reach every event type, or the properties above
/// prove less than they seem to.
#[test]
fn random_lifecycles_reach_every_event() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..300 {
        let steps = prop::collection::vec(step(), 40)
            .new_tree(&mut runner)
            .expect("tree")
            .current();
        seen.extend(lifecycle(&steps).iter().map(E::type_name));
    }
    let missing: Vec<_> = E::TYPE_NAMES
        .iter()
        .filter(|t| !seen.contains(*t))
        .collect();
    assert!(missing.is_empty(), "never reached: {missing:?}");
}
