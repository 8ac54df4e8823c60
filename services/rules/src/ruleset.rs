//! A loaded, validated rule set: the organisation tree, the SLA and holidays,
//! the categories and the rules, indexed by region for routing. Immutable once
//! built; `load` is the only way to make one, so every `RuleSet` passed checks.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use aduan_domain::ids::{Channel, OrgCode, RegionCode};
use time::Date;

use crate::error::LoadError;
use crate::text::{Lexicon, TermId};

/// Deadlines in working days, and the re-routing limit (`[sla]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sla {
    /// Days for the owner to confirm it has the complaint.
    pub acknowledge: u32,
    /// Days to the first follow-up (tindak lanjut).
    pub follow_up: u32,
    /// Days to resolution.
    pub resolve: u32,
    /// Days after resolution before a silent reporter's complaint is closed.
    pub auto_close: u32,
    /// Re-routings before a complaint goes to triage.
    pub max_hops: u32,
}

impl Default for Sla {
    fn default() -> Self {
        Self {
            acknowledge: 3,
            follow_up: 5,
            resolve: 60,
            auto_close: 10,
            max_hops: 3,
        }
    }
}

/// An organisation (`[[org]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Its code, also its NATS subject token.
    pub code: OrgCode,
    /// Its name for people.
    pub name: String,
    /// Its parent; `None` only for `nasional`.
    pub parent: Option<OrgCode>,
    /// The region it declares, if any (OPDs usually inherit their parent's).
    pub region: Option<RegionCode>,
    /// True when it owns the triage queue of its region.
    pub admin: bool,
    /// True when its operators' resolutions and public follow-ups are
    /// drafts until the head of the org approves them (answer review).
    pub review_answers: bool,
}

/// What a submission is (CONTRACT.md, "Names").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Pengaduan.
    Complaint,
    /// Aspirasi.
    Aspiration,
    /// Permintaan informasi.
    InformationRequest,
}

impl Kind {
    /// Every kind, in contract order.
    pub const ALL: [Kind; 3] = [Kind::Complaint, Kind::Aspiration, Kind::InformationRequest];

    /// Parses the contract's lowercase name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The contract's lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Complaint => "complaint",
            Kind::Aspiration => "aspiration",
            Kind::InformationRequest => "information_request",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category with the keywords that suggest it (`[[category]]`).
#[derive(Debug, Clone)]
pub struct Category {
    /// Its name, as complaints and rules use it.
    pub name: String,
    /// What it covers, for people; empty when the file gives none.
    pub description: String,
    /// Its keywords as written.
    pub keywords: Vec<String>,
    pub(crate) terms: Vec<Box<[TermId]>>,
}

/// A routing rule (`[[rule]]`); empty lists mean "any".
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its id, recorded on every decision it makes.
    pub id: String,
    /// Region code prefix it applies to; `None`: every region, and complaints without one.
    pub region: Option<RegionCode>,
    /// Categories it applies to.
    pub categories: Vec<String>,
    /// Keywords of which at least one must occur in title or body; more is stronger evidence.
    pub keywords: Vec<String>,
    /// Kinds it applies to.
    pub kinds: Vec<Kind>,
    /// Channels it applies to.
    pub channels: Vec<Channel>,
    /// The org that becomes responsible.
    pub to: OrgCode,
    /// The line of its `id` in the file.
    pub line: usize,
    pub(crate) terms: Vec<Box<[TermId]>>,
}

/// Rule indices for one region prefix, split by the category they name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    /// Category index → rules naming that category, in file order.
    pub by_category: HashMap<usize, Vec<usize>>,
    /// Rules naming no category, in file order.
    pub any: Vec<usize>,
}

/// A validated rule set.
#[derive(Clone)]
pub struct RuleSet {
    pub(crate) version: String,
    pub(crate) sla: Sla,
    pub(crate) holidays: Vec<Date>,
    pub(crate) orgs: Vec<Org>,
    pub(crate) org_index: HashMap<OrgCode, usize>,
    /// Region code → index of its admin org.
    pub(crate) admins: HashMap<String, usize>,
    pub(crate) categories: Vec<Category>,
    pub(crate) category_index: HashMap<String, usize>,
    /// The known channels (the file's `channels` or CONTRACT.md's, and
    /// every channel a rule names), sorted.
    pub(crate) channels: Vec<Channel>,
    pub(crate) rules: Vec<Rule>,
    /// Region code (`""` for rules without one) → its rules.
    pub(crate) by_region: HashMap<String, Bucket>,
    pub(crate) lexicon: Lexicon,
    /// `[geo] boundaries`: the boundary file, as written (relative to the rule file).
    pub(crate) boundaries: Option<String>,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("version", &self.version)
            .field("orgs", &self.orgs.len())
            .field("categories", &self.categories.len())
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl RuleSet {
    /// Parses and validates a rule set from TOML text.
    pub fn load(src: &str) -> Result<Self, LoadError> {
        crate::load::load(src)
    }

    /// Reads, parses and validates a rule set file.
    pub fn load_file(path: impl AsRef<Path>) -> Result<Self, LoadError> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|e| LoadError {
            problems: vec![crate::Problem::new(
                None,
                crate::ProblemKind::Io,
                format!("cannot read {}: {e}", path.display()),
            )],
        })?;
        Self::load(&src)
    }

    /// The version recorded on every decision.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The boundary file `[geo] boundaries` names, as written: a path
    /// relative to the rule file. None when the rule set names none.
    pub fn boundaries(&self) -> Option<&str> {
        self.boundaries.as_deref()
    }

    /// The deadlines.
    pub fn sla(&self) -> &Sla {
        &self.sla
    }

    /// Public holidays, sorted.
    pub fn holidays(&self) -> &[Date] {
        &self.holidays
    }

    /// Every org, in file order.
    pub fn orgs(&self) -> &[Org] {
        &self.orgs
    }

    /// The org with this code.
    pub fn org(&self, code: &OrgCode) -> Option<&Org> {
        self.org_index.get(code).map(|i| &self.orgs[*i])
    }

    /// True when `code`'s operators' answers wait for its head (an unknown org: no).
    pub fn reviews_answers(&self, code: &OrgCode) -> bool {
        self.org(code).is_some_and(|o| o.review_answers)
    }

    /// The org's parent (`None` for `nasional` and unknown orgs).
    pub fn parent_of(&self, code: &OrgCode) -> Option<&OrgCode> {
        self.org(code).and_then(|o| o.parent.as_ref())
    }

    /// The categories, in file order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// True when `name` is one of the rule set's categories.
    pub fn knows_category(&self, name: &str) -> bool {
        self.category_index.contains_key(name)
    }

    /// The known channels, sorted.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// True when `channel` is a known channel.
    pub fn knows_channel(&self, channel: &str) -> bool {
        self.channels
            .binary_search_by(|c| c.as_str().cmp(channel))
            .is_ok()
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The triage owner of a region: the admin org of the longest enclosing
    /// region; `nasional` for an unknown or missing region.
    pub fn admin_for(&self, region: Option<&RegionCode>) -> OrgCode {
        self.local_admin(region)
            .map(|o| o.code.clone())
            .unwrap_or_else(OrgCode::national)
    }

    /// The admin org of the longest enclosing region, not counting `nasional`.
    pub(crate) fn local_admin(&self, region: Option<&RegionCode>) -> Option<&Org> {
        let region = region?;
        region_prefixes(region.as_str())
            .find_map(|p| self.admins.get(p))
            .map(|i| &self.orgs[*i])
    }

    /// The category whose keywords occur most in `text` (ties: file order).
    pub fn categorize(&self, text: &str) -> Option<String> {
        let text = self.lexicon.text(text, "");
        self.best_category(&text)
            .map(|i| self.categories[i].name.clone())
    }

    pub(crate) fn best_category(&self, text: &crate::text::Text) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for (i, c) in self.categories.iter().enumerate() {
            let hits = text.hits(&c.terms);
            if hits > 0 && best.is_none_or(|(_, h)| hits > h) {
                best = Some((i, hits));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// The region itself and each enclosing region, longest first
/// (`33.18.01`, `33.18`, `33`); no allocation.
pub(crate) fn region_prefixes(region: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(region);
    std::iter::from_fn(move || {
        let cur = next?;
        next = cur.rfind('.').map(|i| &cur[..i]);
        Some(cur)
    })
}
