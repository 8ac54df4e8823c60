//! Building a [`RuleSet`] from TOML: parse, convert each section while
//! collecting every problem with its line, then check the whole (org tree,
//! admin coverage, unreachable rules). Nothing is returned unless all checks pass.

mod orgs;
mod rules;

use std::collections::HashMap;

use aduan_domain::Channel;
use time::Date;
use toml::Spanned;

use crate::error::{LoadError, Problem, ProblemKind};
use crate::file::{Lines, RawCalendar, RawCategory, RawFile, RawSla};
use crate::ruleset::{Bucket, Category, RuleSet, Sla};
use crate::text::Lexicon;

/// Collects problems while the sections are converted.
pub(crate) struct Builder {
    lines: Lines,
    problems: Vec<Problem>,
}

impl Builder {
    /// Records a problem at the line of a spanned value.
    fn at<T>(&mut self, v: &Spanned<T>, kind: ProblemKind, message: impl Into<String>) {
        let line = self.lines.of(v);
        self.problems.push(Problem::new(Some(line), kind, message));
    }

    /// Records a problem at a known line, or none.
    fn line(&mut self, line: Option<usize>, kind: ProblemKind, message: impl Into<String>) {
        self.problems.push(Problem::new(line, kind, message));
    }
}

/// Parses and validates a rule set.
pub(crate) fn load(src: &str) -> Result<RuleSet, LoadError> {
    let lines = Lines::new(src);
    let raw: RawFile = toml::from_str(src).map_err(|e| LoadError {
        problems: vec![Problem::new(
            e.span().map(|s| lines.line(s.start)),
            ProblemKind::Syntax,
            e.message().trim().to_owned(),
        )],
    })?;
    let mut b = Builder {
        lines,
        problems: Vec::new(),
    };
    if raw.version.get_ref().trim().is_empty() {
        b.at(
            &raw.version,
            ProblemKind::InvalidValue,
            "version must not be empty",
        );
    }
    let sla = b.sla(&raw.sla);
    let holidays = b.holidays(&raw.calendar);
    let orgs = b.orgs(&raw.org);
    let mut lexicon = Lexicon::default();
    let (categories, category_index) = b.categories(&raw.category, &mut lexicon);
    let rules = b.rules(&raw.rule, &orgs, &category_index, &mut lexicon);
    let mut channels = b.channels(raw.channels.as_deref());
    let boundaries = raw.geo.as_ref().and_then(|g| b.boundaries(&g.boundaries));
    b.coverage(&orgs, &rules);
    b.unreachable(&rules);

    if !b.problems.is_empty() {
        let mut problems = b.problems;
        problems.sort_by_key(|p| p.line.unwrap_or(0));
        return Err(LoadError { problems });
    }
    let rules: Vec<_> = rules.into_iter().map(|r| r.rule).collect();
    channels.extend(rules.iter().flat_map(|r| r.channels.iter().cloned()));
    channels.sort_unstable();
    channels.dedup();
    let by_region = index_rules(&rules, &category_index);
    Ok(RuleSet {
        version: raw.version.into_inner(),
        sla,
        holidays,
        orgs: orgs.orgs,
        org_index: orgs.index,
        admins: orgs.admins,
        categories,
        category_index,
        channels,
        rules,
        by_region,
        lexicon,
        boundaries,
    })
}

impl Builder {
    fn sla(&mut self, raw: &RawSla) -> Sla {
        let mut sla = Sla::default();
        let fields = [
            (&raw.acknowledge, &mut sla.acknowledge, "acknowledge", true),
            (&raw.follow_up, &mut sla.follow_up, "follow_up", true),
            (&raw.resolve, &mut sla.resolve, "resolve", true),
            (&raw.auto_close, &mut sla.auto_close, "auto_close", false),
            (&raw.max_hops, &mut sla.max_hops, "max_hops", false),
        ];
        for (value, slot, name, positive) in fields {
            let Some(value) = value else { continue };
            if positive && *value.get_ref() == 0 {
                self.at(
                    value,
                    ProblemKind::InvalidValue,
                    format!("sla.{name} must be at least 1 working day"),
                );
            }
            *slot = *value.get_ref();
        }
        sla
    }

    /// `[geo] boundaries`: a relative path to a `.geojson` file. The file
    /// itself is read by whoever knows where the rule file lives.
    fn boundaries(&mut self, raw: &Spanned<String>) -> Option<String> {
        let path = raw.get_ref().trim();
        let problem = if path.is_empty() {
            Some("geo.boundaries must name a file")
        } else if path.starts_with('/') || path.split(['/', '\\']).any(|p| p == "..") {
            Some("geo.boundaries must be a path relative to the rule file, inside its directory")
        } else {
            None
        };
        match problem {
            Some(message) => {
                self.at(raw, ProblemKind::InvalidValue, message);
                None
            }
            None => Some(path.to_owned()),
        }
    }

    /// The known channels: the file's list, or CONTRACT.md's without one.
    fn channels(&mut self, raw: Option<&[Spanned<String>]>) -> Vec<Channel> {
        let Some(raw) = raw else {
            return Channel::KNOWN
                .iter()
                .filter_map(|c| Channel::parse(c).ok())
                .collect();
        };
        let mut channels = Vec::new();
        for c in raw {
            match Channel::parse(c.get_ref()) {
                Ok(ch) => channels.push(ch),
                Err(e) => self.at(c, ProblemKind::InvalidValue, format!("channels: {e}")),
            }
        }
        channels
    }

    fn holidays(&mut self, raw: &RawCalendar) -> Vec<Date> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let mut days = Vec::new();
        for h in &raw.holidays {
            match Date::parse(h.get_ref(), format) {
                Ok(d) => days.push(d),
                Err(_) => self.at(
                    h,
                    ProblemKind::InvalidValue,
                    format!("holiday {:?} is not a date like 2026-12-25", h.get_ref()),
                ),
            }
        }
        days.sort_unstable();
        days.dedup();
        days
    }

    fn categories(
        &mut self,
        raw: &[RawCategory],
        lexicon: &mut Lexicon,
    ) -> (Vec<Category>, HashMap<String, usize>) {
        let mut categories = Vec::new();
        let mut index = HashMap::new();
        let mut first_line = HashMap::new();
        for c in raw {
            let name = c.name.get_ref().trim();
            let line = self.lines.of(&c.name);
            if name.is_empty() {
                self.at(
                    &c.name,
                    ProblemKind::InvalidValue,
                    "category name must not be empty",
                );
                continue;
            }
            if let Some(first) = first_line.get(name) {
                self.at(
                    &c.name,
                    ProblemKind::Duplicate,
                    format!("duplicate category {name:?} (first at line {first})"),
                );
                continue;
            }
            first_line.insert(name.to_owned(), line);
            let mut terms = Vec::new();
            for k in &c.keywords {
                let t = lexicon.add_keyword(k.get_ref());
                if t.is_empty() {
                    self.at(
                        k,
                        ProblemKind::InvalidValue,
                        format!("keyword {:?} has no words", k.get_ref()),
                    );
                } else {
                    terms.push(t);
                }
            }
            index.insert(name.to_owned(), categories.len());
            categories.push(Category {
                name: name.to_owned(),
                description: c
                    .description
                    .as_ref()
                    .map(|d| d.get_ref().trim().to_owned())
                    .unwrap_or_default(),
                keywords: c.keywords.iter().map(|k| k.get_ref().clone()).collect(),
                terms,
            });
        }
        (categories, index)
    }
}

/// Indexes rules by region prefix, then by the category they name.
fn index_rules(
    rules: &[crate::ruleset::Rule],
    category_index: &HashMap<String, usize>,
) -> HashMap<String, Bucket> {
    let mut by_region: HashMap<String, Bucket> = HashMap::new();
    for (i, rule) in rules.iter().enumerate() {
        let key = rule.region.as_ref().map_or("", |r| r.as_str());
        let bucket = by_region.entry(key.to_owned()).or_default();
        if rule.categories.is_empty() {
            bucket.any.push(i);
        }
        for c in &rule.categories {
            if let Some(ci) = category_index.get(c) {
                bucket.by_category.entry(*ci).or_default().push(i);
            }
        }
    }
    by_region
}
