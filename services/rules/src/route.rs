//! Routing: which org owns a complaint, and why.
//!
//! The most specific rule wins: the longest region prefix, then a rule naming
//! the complaint's category over one naming none, then keyword evidence (how
//! many of the rule's keywords occur in title and body), then file order.
//! Rules without a region apply everywhere, least specifically, including to
//! complaints without a region. Rules whose `to` was already tried (`exclude`)
//! are skipped. With no rule, the region's admin org triages; a complaint
//! whose region is missing or not in the rule set goes to `nasional`.

use std::cell::OnceCell;

use aduan_domain::ids::{Channel, OrgCode, RegionCode};

use crate::ruleset::{region_prefixes, Kind, Rule, RuleSet};
use crate::text::Text;

/// What routing looks at in a complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Where it happened.
    pub region: Option<RegionCode>,
    /// Its category, if the channel gave one; otherwise derived from the keywords.
    pub category: Option<String>,
    /// Its title.
    pub title: String,
    /// Its body.
    pub body: String,
    /// What it is.
    pub kind: Kind,
    /// How it arrived.
    pub channel: Channel,
}

/// Why a decision went the way it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A rule matched.
    Rule,
    /// No rule matched: the region's admin org triages it.
    NoRule,
    /// No rule matched and the region is missing or unknown: `nasional` triages it.
    NoRegion,
}

impl Reason {
    /// The stable lowercase name recorded on events.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Rule => "rule",
            Reason::NoRule => "no_rule",
            Reason::NoRegion => "no_region",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A routing decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The org that becomes responsible.
    pub org: OrgCode,
    /// The rule that chose it, if one did.
    pub rule_id: Option<String>,
    /// The rule set's version.
    pub ruleset_version: String,
    /// Why.
    pub reason: Reason,
    /// The category used: the complaint's own, or the derived one.
    pub category: Option<String>,
}

/// The complaint as routing sees it: category resolved, text reduced lazily.
pub(crate) struct Subject<'a> {
    rs: &'a RuleSet,
    facts: &'a Facts,
    text: OnceCell<Text>,
    /// The category used, and its index when the rule set knows it.
    pub category: Option<(String, Option<usize>)>,
}

impl<'a> Subject<'a> {
    pub(crate) fn new(rs: &'a RuleSet, facts: &'a Facts) -> Self {
        let mut s = Self {
            rs,
            facts,
            text: OnceCell::new(),
            category: None,
        };
        s.category = match &facts.category {
            Some(c) => Some((c.clone(), rs.category_index.get(c).copied())),
            None => rs
                .best_category(s.text())
                .map(|i| (rs.categories[i].name.clone(), Some(i))),
        };
        s
    }

    /// Title and body as terms, computed on first use.
    pub(crate) fn text(&self) -> &Text {
        self.text
            .get_or_init(|| self.rs.lexicon.text(&self.facts.title, &self.facts.body))
    }

    pub(crate) fn category_index(&self) -> Option<usize> {
        self.category.as_ref().and_then(|(_, i)| *i)
    }

    /// Keyword hits when the rule matches kind, channel and keywords (category
    /// and region are the index's business); `None` when it does not match.
    pub(crate) fn hits(&self, rule: &Rule) -> Option<usize> {
        self.check(rule).ok()
    }

    /// Keyword hits, or which condition of the rule failed.
    pub(crate) fn check(&self, rule: &Rule) -> Result<usize, Mismatch> {
        if !rule.kinds.is_empty() && !rule.kinds.contains(&self.facts.kind) {
            return Err(Mismatch::Kind);
        }
        if !rule.channels.is_empty() && !rule.channels.contains(&self.facts.channel) {
            return Err(Mismatch::Channel);
        }
        if rule.terms.is_empty() {
            return Ok(0);
        }
        match self.text().hits(&rule.terms) {
            0 => Err(Mismatch::Keywords),
            hits => Ok(hits),
        }
    }
}

/// The condition of a rule a complaint failed (region and category aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mismatch {
    Kind,
    Channel,
    Keywords,
}

impl RuleSet {
    /// Decides which org owns a complaint, never choosing a rule whose `to` is in `exclude`.
    pub fn route(&self, facts: &Facts, exclude: &[OrgCode]) -> Decision {
        let subject = Subject::new(self, facts);
        let winner = self.levels(facts.region.as_ref()).find_map(|level| {
            let bucket = self.by_region.get(level)?;
            let named = subject
                .category_index()
                .and_then(|c| bucket.by_category.get(&c))
                .and_then(|list| self.best(&subject, list, exclude));
            named.or_else(|| self.best(&subject, &bucket.any, exclude))
        });
        match winner {
            Some(i) => self.decision(&subject, Some(&self.rules[i])),
            None => self.decision(&subject, None),
        }
    }

    /// The region prefixes to look at, longest first, then `""` (rules without a region).
    pub(crate) fn levels<'r>(
        &self,
        region: Option<&'r RegionCode>,
    ) -> impl Iterator<Item = &'r str> {
        region
            .map(|r| region_prefixes(r.as_str()))
            .into_iter()
            .flatten()
            .chain(std::iter::once(""))
    }

    /// The best matching rule of one list (same region, same category naming).
    fn best(&self, subject: &Subject<'_>, list: &[usize], exclude: &[OrgCode]) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for &i in list {
            let rule = &self.rules[i];
            if exclude.contains(&rule.to) {
                continue;
            }
            if let Some(hits) = subject.hits(rule) {
                // Strictly more evidence wins; on a tie the earlier rule stays.
                if best.is_none_or(|(_, h)| hits > h) {
                    best = Some((i, hits));
                }
            }
        }
        best.map(|(i, _)| i)
    }

    /// The decision for a winning rule, or the triage fallback.
    pub(crate) fn decision(&self, subject: &Subject<'_>, rule: Option<&Rule>) -> Decision {
        let category = subject.category.as_ref().map(|(c, _)| c.clone());
        let (org, rule_id, reason) = match rule {
            Some(r) => (r.to.clone(), Some(r.id.clone()), Reason::Rule),
            None => match self.local_admin(subject_region(subject)) {
                Some(admin) => (admin.code.clone(), None, Reason::NoRule),
                None => (OrgCode::national(), None, Reason::NoRegion),
            },
        };
        Decision {
            org,
            rule_id,
            ruleset_version: self.version.clone(),
            reason,
            category,
        }
    }
}

fn subject_region<'a>(subject: &Subject<'a>) -> Option<&'a RegionCode> {
    subject.facts.region.as_ref()
}
