//! Explaining a decision (`aduan rules explain`): every rule of the
//! complaint's region chain, the winner first, then the runners-up with the
//! step of the precedence that ranked them lower, then the rules that did not
//! match and why. Slower than `route`; for people, not the hot path.

use std::cmp::Reverse;
use std::fmt;

use crate::route::{Decision, Facts, Mismatch, Reason, Subject};
use crate::ruleset::{Rule, RuleSet};

/// A decision with the reasoning behind it, one line per point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The decision, the same `route` makes with no org excluded.
    pub decision: Decision,
    /// Human-readable lines: category, winner, runners-up, non-matching rules, outcome.
    pub lines: Vec<String>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// A matching rule's rank: region prefix length, names the category, keyword hits, file order.
type Rank = (usize, bool, usize, Reverse<usize>);

impl RuleSet {
    /// Explains how `route(facts, &[])` decides.
    pub fn explain(&self, facts: &Facts) -> Explanation {
        let subject = Subject::new(self, facts);
        let mut lines = vec![category_line(&subject, facts)];
        let mut matched: Vec<(Rank, usize)> = Vec::new();
        let mut refused: Vec<(usize, String)> = Vec::new();
        for level in self.levels(facts.region.as_ref()) {
            let Some(bucket) = self.by_region.get(level) else {
                continue;
            };
            let mut indices: Vec<usize> = bucket.by_category.values().flatten().copied().collect();
            indices.extend(&bucket.any);
            indices.sort_unstable();
            indices.dedup();
            for i in indices {
                let rule = &self.rules[i];
                match self.rank(&subject, rule, level.len(), i) {
                    Ok(rank) => matched.push((rank, i)),
                    Err(why) => refused.push((i, why)),
                }
            }
        }
        matched.sort_by_key(|(rank, _)| Reverse(*rank));
        if let Some((top, _)) = matched.first().copied() {
            for (n, (rank, i)) in matched.iter().enumerate() {
                let verdict = if n == 0 {
                    format!("chosen: {}", describe(&self.rules[*i], rank))
                } else {
                    format!("ranked lower: {}", lower(&top, rank, &self.rules))
                };
                lines.push(format!("{}. {}: {verdict}", n + 1, head(&self.rules[*i])));
            }
        }
        refused.sort_unstable();
        for (i, why) in refused {
            lines.push(format!(
                "- {}: not a candidate: {why}",
                head(&self.rules[i])
            ));
        }
        let winner = matched.first().map(|(_, i)| &self.rules[*i]);
        let decision = self.decision(&subject, winner);
        match decision.reason {
            Reason::Rule => {}
            Reason::NoRule => lines.push(format!(
                "no rule matched: triage by {}, the admin org of the region (no_rule)",
                decision.org
            )),
            Reason::NoRegion => lines.push(format!(
                "no rule matched and the region is missing or unknown: triage by {} (no_region)",
                decision.org
            )),
        }
        Explanation { decision, lines }
    }

    /// The rank of a matching rule, or why it does not match.
    fn rank(
        &self,
        subject: &Subject<'_>,
        rule: &Rule,
        level: usize,
        i: usize,
    ) -> Result<Rank, String> {
        let category = subject.category.as_ref().map(|(c, _)| c.as_str());
        if !rule.categories.is_empty()
            && !category.is_some_and(|c| rule.categories.iter().any(|r| r == c))
        {
            return Err(match category {
                Some(c) => format!("category {c} is not in [{}]", rule.categories.join(", ")),
                None => format!(
                    "the complaint has no category; rule needs [{}]",
                    rule.categories.join(", ")
                ),
            });
        }
        match subject.check(rule) {
            Ok(hits) => Ok((level, !rule.categories.is_empty(), hits, Reverse(i))),
            Err(Mismatch::Kind) => Err(format!("kind is not in [{}]", join(&rule.kinds))),
            Err(Mismatch::Channel) => Err(format!("channel is not in [{}]", join(&rule.channels))),
            Err(Mismatch::Keywords) => Err(format!(
                "none of the keywords [{}] occurs in title or body",
                rule.keywords.join(", ")
            )),
        }
    }
}

fn category_line(subject: &Subject<'_>, facts: &Facts) -> String {
    match (&subject.category, &facts.category) {
        (Some((c, _)), Some(_)) => format!("category: {c} (given)"),
        (Some((c, _)), None) => format!("category: {c} (derived from the text's keywords)"),
        _ => "category: none (none given, and no category keyword in the text)".to_owned(),
    }
}

fn head(rule: &Rule) -> String {
    format!("rule {} (line {}) -> {}", rule.id, rule.line, rule.to)
}

fn describe(rule: &Rule, rank: &Rank) -> String {
    let region = rule
        .region
        .as_ref()
        .map_or("any region".to_owned(), |r| format!("region {r}"));
    let category = if rank.1 {
        "names the category"
    } else {
        "any category"
    };
    format!("{region}, {category}, {} keyword hit(s)", rank.2)
}

/// Why `rank` lost to `top`: the first step of the precedence where they differ.
fn lower(top: &Rank, rank: &Rank, rules: &[Rule]) -> String {
    if rank.0 != top.0 {
        format!("shorter region prefix ({} < {} characters)", rank.0, top.0)
    } else if rank.1 != top.1 {
        "does not name the category, the winner does".to_owned()
    } else if rank.2 != top.2 {
        format!("less keyword evidence ({} < {} hits)", rank.2, top.2)
    } else {
        format!("later in the file than line {}", rules[top.3 .0].line)
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
