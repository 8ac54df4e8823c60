//! SLA deadlines, in one place for everyone who hands a complaint over (the
//! router's routings and escalations, an admin's re-route): counted in
//! working days of the rule set's calendar (WIB, its holidays), with the
//! contract's defaults before any rule set was published.

use aduan_domain::calendar::unix_ms;
use aduan_domain::{Calendar, Deadlines};
use aduan_rules::{RuleSet, Sla};
use time::OffsetDateTime;

/// The working-day calendar of a rule set.
pub fn calendar(rules: Option<&RuleSet>) -> Calendar {
    Calendar::new(rules.map(|r| r.holidays().to_vec()).unwrap_or_default())
}

/// The rule set's SLA, or the contract's defaults before any was published.
pub fn sla(rules: Option<&RuleSet>) -> Sla {
    rules.map(|r| *r.sla()).unwrap_or_default()
}

/// A new owner's deadlines when it gets the complaint at `now`.
pub fn deadlines(rules: Option<&RuleSet>, now: OffsetDateTime) -> Deadlines {
    let (sla, cal) = (sla(rules), calendar(rules));
    let after = |days| unix_ms(cal.add_working_days(now, days));
    Deadlines {
        acknowledge_ms: after(sla.acknowledge),
        follow_up_ms: after(sla.follow_up),
        resolve_ms: after(sla.resolve),
    }
}

/// When an escalation made at `now` must be resolved: the parent gets a full
/// resolve period of its own (Unix ms).
pub fn escalation_due(rules: Option<&RuleSet>, now: OffsetDateTime) -> i64 {
    unix_ms(calendar(rules).add_working_days(now, sla(rules).resolve))
}

/// When a complaint resolved at `resolved` closes by itself, if the reporter
/// stays silent (Unix ms).
pub fn auto_close_at(rules: Option<&RuleSet>, resolved: OffsetDateTime) -> i64 {
    unix_ms(calendar(rules).add_working_days(resolved, sla(rules).auto_close))
}
