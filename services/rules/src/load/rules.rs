//! Rules: converting each `[[rule]]`, and finding rules that can never be
//! chosen.
//!
//! A rule B is unreachable when an earlier rule A with the same region
//! matches every complaint B matches and ranks at least as high on each:
//! A names the same or more categories (or both name none), the same or more
//! keywords (or both have none: a rule with keywords beats one without on
//! evidence), and allows the same or more kinds and channels. This is judged
//! for first routing: a rule set should not rely on an excluded org to make a
//! rule reachable only on re-routing.

use std::collections::HashMap;

use aduan_domain::ids::{Channel, OrgCode};

use super::orgs::Orgs;
use super::Builder;
use crate::error::ProblemKind;
use crate::file::RawRule;
use crate::ruleset::{Kind, Rule};
use crate::text::Lexicon;

/// A converted rule with the lines later checks point at.
pub(crate) struct RuleAt {
    pub rule: Rule,
    pub region_line: Option<usize>,
}

impl Builder {
    pub(super) fn rules(
        &mut self,
        raw: &[RawRule],
        orgs: &Orgs,
        categories: &HashMap<String, usize>,
        lexicon: &mut Lexicon,
    ) -> Vec<RuleAt> {
        let mut out = Vec::new();
        let mut first_line: HashMap<&str, usize> = HashMap::new();
        for r in raw {
            let id = r.id.get_ref().trim();
            let line = self.lines.of(&r.id);
            if id.is_empty() {
                self.at(
                    &r.id,
                    ProblemKind::InvalidValue,
                    "rule id must not be empty",
                );
            } else if let Some(first) = first_line.get(id) {
                let msg = format!("duplicate rule id {id:?} (first at line {first})");
                self.at(&r.id, ProblemKind::Duplicate, msg);
            } else {
                first_line.insert(id, line);
            }
            let mut ok = true;
            let region = match &r.region {
                Some(s) => {
                    let parsed = self.region(s);
                    ok &= parsed.is_some();
                    parsed
                }
                None => None,
            };
            for c in &r.categories {
                if !categories.contains_key(c.get_ref().as_str()) {
                    let msg = format!("rule {id}: unknown category {:?}", c.get_ref());
                    self.at(c, ProblemKind::UnknownCategory, msg);
                    ok = false;
                }
            }
            let mut terms = Vec::new();
            for k in &r.keywords {
                let t = lexicon.add_keyword(k.get_ref());
                if t.is_empty() {
                    let msg = format!(
                        "rule {id}: keyword {:?} has no words, so it can never match",
                        k.get_ref()
                    );
                    self.at(k, ProblemKind::Unreachable, msg);
                    ok = false;
                }
                terms.push(t);
            }
            let mut kinds = Vec::new();
            for k in &r.kinds {
                match Kind::parse(k.get_ref()) {
                    Some(kind) => kinds.push(kind),
                    None => {
                        let msg = format!(
                            "rule {id}: unknown kind {:?} (expected complaint, aspiration or information_request)",
                            k.get_ref()
                        );
                        self.at(k, ProblemKind::UnknownKind, msg);
                        ok = false;
                    }
                }
            }
            let mut channels = Vec::new();
            for c in &r.channels {
                match Channel::parse(c.get_ref()) {
                    Ok(ch) => channels.push(ch),
                    Err(e) => {
                        self.at(c, ProblemKind::InvalidValue, format!("rule {id}: {e}"));
                        ok = false;
                    }
                }
            }
            let to = OrgCode::parse(r.to.get_ref())
                .ok()
                .filter(|c| orgs.index.contains_key(c));
            let Some(to) = to else {
                let msg = format!(
                    "rule {id}: `to` {:?} is not an org in this file",
                    r.to.get_ref()
                );
                self.at(&r.to, ProblemKind::UnknownOrg, msg);
                continue;
            };
            if let (Some(region), Some(owner)) = (&region, orgs.region_of(&to)) {
                if !region.is_within(owner) && !owner.is_within(region) {
                    let msg = format!(
                        "rule {id}: sends region {region} to {to}, whose region {owner} does not overlap it"
                    );
                    self.at(&r.to, ProblemKind::Jurisdiction, msg);
                }
            }
            if !ok {
                continue;
            }
            out.push(RuleAt {
                rule: Rule {
                    id: id.to_owned(),
                    region,
                    categories: r.categories.iter().map(|c| c.get_ref().clone()).collect(),
                    keywords: r.keywords.iter().map(|k| k.get_ref().clone()).collect(),
                    kinds,
                    channels,
                    to,
                    line,
                    terms,
                },
                region_line: r.region.as_ref().map(|s| self.lines.of(s)),
            });
        }
        out
    }

    /// Reports rules shadowed by an earlier rule of the same region.
    pub(super) fn unreachable(&mut self, rules: &[RuleAt]) {
        let mut by_region: HashMap<Option<&str>, Vec<&Rule>> = HashMap::new();
        for r in rules {
            let key = r.rule.region.as_ref().map(|r| r.as_str());
            let earlier = by_region.entry(key).or_default();
            if let Some(a) = earlier.iter().find(|a| shadows(a, &r.rule)) {
                let msg = format!(
                    "rule {} can never match: rule {} (line {}) matches everything it does and ranks first",
                    r.rule.id, a.id, a.line
                );
                self.line(Some(r.rule.line), ProblemKind::Unreachable, msg);
            }
            earlier.push(&r.rule);
        }
    }
}

/// True when `a` (earlier, same region) wins every complaint `b` matches.
fn shadows(a: &Rule, b: &Rule) -> bool {
    let covers = |wide: bool, narrow: bool, superset: bool| wide || (!narrow && superset);
    let cats = if b.categories.is_empty() {
        a.categories.is_empty()
    } else {
        b.categories.iter().all(|c| a.categories.contains(c))
    };
    let keywords = if b.terms.is_empty() {
        a.terms.is_empty()
    } else {
        b.terms.iter().all(|k| a.terms.contains(k))
    };
    let kinds = covers(
        a.kinds.is_empty(),
        b.kinds.is_empty(),
        b.kinds.iter().all(|k| a.kinds.contains(k)),
    );
    let channels = covers(
        a.channels.is_empty(),
        b.channels.is_empty(),
        b.channels.iter().all(|c| a.channels.contains(c)),
    );
    cats && keywords && kinds && channels
}
