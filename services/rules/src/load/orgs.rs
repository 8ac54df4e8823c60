//! The organisation tree: codes, parents, regions and admins, and the checks
//! on the whole tree (one `nasional` root, no cycles, regions nested like the
//! tree, one admin per region, every named region with a triage owner).
//!
//! Coverage rule: a province or regency/city (depth 1 or 2) that some org
//! names as its region must have an admin org of exactly that region, so its
//! complaints are triaged locally. A district or village named by an org, and
//! any region named by a rule, needs an admin of it or of an enclosing region.
//! `nasional` owns only the triage of complaints whose region is missing or not
//! in the file; it does not count as cover for a region the file names.

use std::collections::{HashMap, HashSet};

use aduan_domain::ids::{OrgCode, RegionCode};

use super::rules::RuleAt;
use super::Builder;
use crate::error::ProblemKind;
use crate::file::RawOrg;
use crate::ruleset::{region_prefixes, Org};

/// The converted orgs, with what later checks need.
pub(crate) struct Orgs {
    pub orgs: Vec<Org>,
    pub index: HashMap<OrgCode, usize>,
    /// Region code → index of its admin org.
    pub admins: HashMap<String, usize>,
    /// Each org's declared region, or else its nearest ancestor's.
    pub effective: Vec<Option<RegionCode>>,
    lines: Vec<OrgLines>,
}

struct OrgLines {
    code: usize,
    parent: Option<usize>,
    region: Option<usize>,
}

impl Orgs {
    /// The effective region of an org in the file.
    pub(crate) fn region_of(&self, code: &OrgCode) -> Option<&RegionCode> {
        self.index
            .get(code)
            .and_then(|i| self.effective[*i].as_ref())
    }
}

impl Builder {
    pub(super) fn orgs(&mut self, raw: &[RawOrg]) -> Orgs {
        let known: HashSet<&str> = raw.iter().map(|o| o.code.get_ref().as_str()).collect();
        let mut orgs = Orgs {
            orgs: Vec::new(),
            index: HashMap::new(),
            admins: HashMap::new(),
            effective: Vec::new(),
            lines: Vec::new(),
        };
        for o in raw {
            let code = match OrgCode::parse(o.code.get_ref()) {
                Ok(c) => c,
                Err(e) => {
                    self.at(&o.code, ProblemKind::InvalidOrgCode, e.to_string());
                    continue;
                }
            };
            if let Some(first) = orgs.index.get(&code) {
                let first = orgs.lines[*first].code;
                let msg = format!("duplicate org {code} (first at line {first})");
                self.at(&o.code, ProblemKind::Duplicate, msg);
                continue;
            }
            if o.name.get_ref().trim().is_empty() {
                self.at(
                    &o.name,
                    ProblemKind::InvalidValue,
                    format!("org {code} has an empty name"),
                );
            }
            let parent = o.parent.as_ref().and_then(|p| {
                if !known.contains(p.get_ref().as_str()) {
                    let msg = format!(
                        "org {code}: parent {:?} is not an org in this file",
                        p.get_ref()
                    );
                    self.at(p, ProblemKind::UnknownOrg, msg);
                }
                OrgCode::parse(p.get_ref()).ok()
            });
            let region = o.region.as_ref().and_then(|r| self.region(r));
            orgs.lines.push(OrgLines {
                code: self.lines.of(&o.code),
                parent: o.parent.as_ref().map(|p| self.lines.of(p)),
                region: o.region.as_ref().map(|r| self.lines.of(r)),
            });
            orgs.index.insert(code.clone(), orgs.orgs.len());
            orgs.orgs.push(Org {
                code,
                name: o.name.get_ref().trim().to_owned(),
                parent,
                region,
                admin: o.admin,
                review_answers: o.review_answers,
            });
        }
        self.roots(&orgs);
        self.cycles(&orgs);
        orgs.effective = (0..orgs.orgs.len()).map(|i| effective(&orgs, i)).collect();
        self.nesting(&orgs);
        self.admins(&mut orgs);
        orgs
    }

    /// Parses a region code, recording a problem when it is malformed.
    pub(super) fn region(&mut self, r: &toml::Spanned<String>) -> Option<RegionCode> {
        RegionCode::parse(r.get_ref())
            .map_err(|e| self.at(r, ProblemKind::InvalidRegion, e.to_string()))
            .ok()
    }

    fn roots(&mut self, orgs: &Orgs) {
        for (o, l) in orgs.orgs.iter().zip(&orgs.lines) {
            let national = o.code.as_str() == OrgCode::NATIONAL;
            match (&o.parent, national) {
                (None, false) => self.line(
                    Some(l.code),
                    ProblemKind::Root,
                    format!(
                        "org {} has no parent; only nasional may be the root",
                        o.code
                    ),
                ),
                (Some(_), true) => self.line(
                    l.parent,
                    ProblemKind::Root,
                    "org nasional is the root and must not have a parent",
                ),
                _ => {}
            }
        }
        if !orgs.index.contains_key(&OrgCode::national()) {
            self.line(
                None,
                ProblemKind::Root,
                "no org nasional: the root of the org tree is missing",
            );
        }
    }

    fn cycles(&mut self, orgs: &Orgs) {
        // 0: not seen, 1: on the current path, 2: done.
        let mut state = vec![0u8; orgs.orgs.len()];
        for start in 0..orgs.orgs.len() {
            let mut path = Vec::new();
            let mut cur = Some(start);
            while let Some(i) = cur.filter(|i| state[*i] == 0) {
                state[i] = 1;
                path.push(i);
                cur = parent_index(orgs, i);
            }
            if let Some(i) = cur.filter(|i| state[*i] == 1) {
                let at = path.iter().position(|p| *p == i).unwrap_or(0);
                let cycle = &path[at..];
                let first = cycle.iter().copied().min().unwrap_or(i);
                let names: Vec<&str> = cycle.iter().map(|c| orgs.orgs[*c].code.as_str()).collect();
                let msg = format!(
                    "org parents form a cycle: {} -> {}",
                    names.join(" -> "),
                    names[0]
                );
                self.line(Some(orgs.lines[first].code), ProblemKind::Cycle, msg);
            }
            for i in path {
                state[i] = 2;
            }
        }
    }

    fn nesting(&mut self, orgs: &Orgs) {
        for (i, o) in orgs.orgs.iter().enumerate() {
            let (Some(region), Some(p)) = (&o.region, parent_index(orgs, i)) else {
                continue;
            };
            if let Some(outer) = &orgs.effective[p] {
                if !region.is_within(outer) {
                    let msg = format!(
                        "org {}: region {region} is not within its parent {}'s region {outer}",
                        o.code, orgs.orgs[p].code
                    );
                    self.line(orgs.lines[i].region, ProblemKind::Jurisdiction, msg);
                }
            }
        }
    }

    fn admins(&mut self, orgs: &mut Orgs) {
        for (i, o) in orgs.orgs.iter().enumerate() {
            if !o.admin || o.code.as_str() == OrgCode::NATIONAL {
                continue;
            }
            let line = Some(orgs.lines[i].code);
            let Some(region) = &o.region else {
                let msg = format!(
                    "admin org {} must name the region whose triage it owns",
                    o.code
                );
                self.line(line, ProblemKind::InvalidValue, msg);
                continue;
            };
            if let Some(first) = orgs.admins.get(region.as_str()) {
                let msg = format!(
                    "region {region} has two admin orgs: {} and {}",
                    orgs.orgs[*first].code, o.code
                );
                self.line(line, ProblemKind::Duplicate, msg);
                continue;
            }
            orgs.admins.insert(region.as_str().to_owned(), i);
        }
    }

    /// Every region the file names has a triage owner (see the module doc).
    pub(super) fn coverage(&mut self, orgs: &Orgs, rules: &[RuleAt]) {
        let mut reported = HashSet::new();
        let enclosing =
            |r: &RegionCode| region_prefixes(r.as_str()).any(|p| orgs.admins.contains_key(p));
        for (o, l) in orgs.orgs.iter().zip(&orgs.lines) {
            let Some(r) = &o.region else { continue };
            let covered = if r.depth() <= 2 {
                orgs.admins.contains_key(r.as_str())
            } else {
                enclosing(r)
            };
            if !covered && reported.insert(r.clone()) {
                let msg = format!(
                    "region {r} (of org {}) has no admin org: mark one org of that region admin = true",
                    o.code
                );
                self.line(l.region, ProblemKind::NoAdmin, msg);
            }
        }
        for r in rules {
            let Some(region) = &r.rule.region else {
                continue;
            };
            if !enclosing(region) && reported.insert(region.clone()) {
                let msg = format!(
                    "region {region} (of rule {}) has no admin org of it or an enclosing region",
                    r.rule.id
                );
                self.line(r.region_line, ProblemKind::NoAdmin, msg);
            }
        }
    }
}

fn parent_index(orgs: &Orgs, i: usize) -> Option<usize> {
    orgs.orgs[i]
        .parent
        .as_ref()
        .and_then(|p| orgs.index.get(p).copied())
}

/// The declared region, or the nearest ancestor's (bounded, so a cycle ends).
fn effective(orgs: &Orgs, mut i: usize) -> Option<RegionCode> {
    for _ in 0..=orgs.orgs.len() {
        if let Some(r) = &orgs.orgs[i].region {
            return Some(r.clone());
        }
        i = parent_index(orgs, i)?;
    }
    None
}
