//! The routing decision, pure: given a complaint's state, the facts routing
//! looks at and the rule set in force, who owns it next and why — or nobody,
//! when it already has an owner or is finished. No wrong door: whenever a
//! complaint needs an owner this returns one.
//!
//! Precedence, for a complaint without an owner:
//! 1. reopened → back to the org that resolved it (`reopened`);
//! 2. first routing → the best rule, else the region's admin (`no_rule`),
//!    else `nasional` (`no_region`);
//! 3. a re-routing after "not our authority", once `max_hops` re-routings
//!    were made → triage (`max_hops`);
//! 4. the decliner's suggestion, when the rule set knows it and it was not
//!    tried (`suggested`);
//! 5. the best rule excluding every org already tried (`rerouted`);
//! 6. triage: the region's admin, or `nasional` when the admin already had it.

use aduan_complaints::sla::deadlines;
use aduan_domain::{Channel, Command, Complaint, OrgCode, RegionCode, RouteReason, Status};
use aduan_proto::v1;
use aduan_rules::{Facts, Kind, Reason, RuleSet};
use time::OffsetDateTime;

/// Who owns a complaint next, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The new owner.
    pub org: OrgCode,
    /// The rule that decided, empty when none did.
    pub rule_id: String,
    /// The rule set's version, empty when no rule set was ever published.
    pub ruleset_version: String,
    /// Why this owner.
    pub reason: RouteReason,
    /// The category the decision used.
    pub category: String,
    /// The owner is a triage queue, which may take a complaint twice.
    pub triage: bool,
}

/// What routing looks at in a received complaint.
pub fn facts(e: &v1::ComplaintReceived) -> Facts {
    let region = e
        .location
        .as_ref()
        .and_then(|l| RegionCode::parse(&l.region_code).ok());
    let category = Some(e.category.trim()).filter(|c| !c.is_empty());
    Facts {
        region,
        category: category.map(str::to_owned),
        title: e.title.clone(),
        body: e.body.clone(),
        kind: Kind::parse(&e.kind).unwrap_or(Kind::Complaint),
        // Intake validated the channel; an unusable one matches only rules
        // that name no channel, which is what "any" means.
        channel: Channel::parse(&e.channel).unwrap_or_else(|_| unknown_channel()),
    }
}

fn unknown_channel() -> Channel {
    match Channel::parse("unknown") {
        Ok(c) => c,
        Err(_) => unreachable!("\"unknown\" is a valid channel token"),
    }
}

/// The next owner of `complaint`, or None when it needs none (it has an
/// owner, or it is resolved, closed or rejected). Deterministic: the same
/// state, facts and rule set give the same choice.
pub fn next_owner(rules: Option<&RuleSet>, complaint: &Complaint, facts: &Facts) -> Option<Choice> {
    if !complaint.status.is_open() || complaint.owner.is_some() {
        return None;
    }
    let Some(rules) = rules else {
        // Only before any rule set was published: nasional takes everything.
        return Some(Choice {
            org: OrgCode::national(),
            rule_id: String::new(),
            ruleset_version: String::new(),
            reason: RouteReason::NoRule,
            category: facts.category.clone().unwrap_or_default(),
            triage: true,
        });
    };
    let version = rules.version().to_owned();
    if complaint.status == Status::Reopened {
        if let Some(org) = &complaint.resolved_by {
            return Some(Choice {
                org: org.clone(),
                rule_id: String::new(),
                ruleset_version: version,
                reason: RouteReason::Reopened,
                category: complaint.category.clone(),
                triage: false,
            });
        }
    }
    let tried: Vec<OrgCode> = complaint.tried.iter().cloned().collect();
    let decision = rules.route(facts, &tried);
    let category = decision.category.clone().unwrap_or_default();
    let choice = |org, rule_id: Option<String>, reason, triage| Choice {
        org,
        rule_id: rule_id.unwrap_or_default(),
        ruleset_version: version.clone(),
        reason,
        category: category.clone(),
        triage,
    };
    let fallback = match decision.reason {
        Reason::Rule | Reason::NoRule => RouteReason::NoRule,
        Reason::NoRegion => RouteReason::NoRegion,
    };
    if complaint.hop == 0 {
        return Some(match decision.reason {
            Reason::Rule => choice(decision.org, decision.rule_id, RouteReason::Rule, false),
            _ => choice(decision.org, None, fallback, true),
        });
    }
    // hop counts routings, so hop - 1 re-routings were made already.
    if complaint.hop > rules.sla().max_hops {
        let org = triage(rules, complaint, facts);
        return Some(choice(org, None, RouteReason::MaxHops, true));
    }
    if let Some(s) = &complaint.suggested_org {
        if rules.org(s).is_some() && !complaint.tried.contains(s) {
            return Some(choice(s.clone(), None, RouteReason::Suggested, false));
        }
    }
    if decision.reason == Reason::Rule {
        return Some(choice(
            decision.org,
            decision.rule_id,
            RouteReason::Rerouted,
            false,
        ));
    }
    let org = triage(rules, complaint, facts);
    Some(choice(org, None, fallback, true))
}

/// The triage queue: the region's admin, or `nasional` once the admin has
/// had it (sending it back to an admin that declined would loop).
fn triage(rules: &RuleSet, complaint: &Complaint, facts: &Facts) -> OrgCode {
    let admin = rules.admin_for(facts.region.as_ref());
    if complaint.tried.contains(&admin) {
        OrgCode::national()
    } else {
        admin
    }
}

/// The `Route` command for a choice made at `now`.
pub fn route_command(rules: Option<&RuleSet>, choice: Choice, now: OffsetDateTime) -> Command {
    Command::Route {
        org: choice.org,
        rule_id: choice.rule_id,
        ruleset_version: choice.ruleset_version,
        reason: choice.reason,
        due: deadlines(rules, now),
        category: choice.category,
        reason_text: String::new(),
        triage: choice.triage,
    }
}
