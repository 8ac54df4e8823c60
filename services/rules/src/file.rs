//! The TOML file as written (CONTRACT.md, "Rule sets (TOML)"): plain strings
//! with their spans, before any checking. Unknown fields are refused so a typo
//! (`catgories`) is an error rather than a silently broader rule.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub version: Spanned<String>,
    #[serde(default)]
    pub sla: RawSla,
    #[serde(default)]
    pub calendar: RawCalendar,
    #[serde(default)]
    pub org: Vec<RawOrg>,
    /// The channels the recap counts by name (others as `lainnya`);
    /// missing: CONTRACT.md's list.
    pub channels: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub category: Vec<RawCategory>,
    #[serde(default)]
    pub rule: Vec<RawRule>,
    /// `[geo]`: where points are mapped to region codes.
    pub geo: Option<RawGeo>,
}

/// `[geo]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGeo {
    /// A GeoJSON FeatureCollection of region polygons, relative to the rule file.
    pub boundaries: Spanned<String>,
}

/// `[sla]`, in working days; missing entries take the defaults.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSla {
    pub acknowledge: Option<Spanned<u32>>,
    pub follow_up: Option<Spanned<u32>>,
    pub resolve: Option<Spanned<u32>>,
    pub auto_close: Option<Spanned<u32>>,
    pub max_hops: Option<Spanned<u32>>,
}

/// `[calendar]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalendar {
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
}

/// One `[[org]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOrg {
    pub code: Spanned<String>,
    pub name: Spanned<String>,
    pub parent: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub review_answers: bool,
}

/// One `[[category]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCategory {
    pub name: Spanned<String>,
    /// What it covers, for people (Open311's service description).
    pub description: Option<Spanned<String>>,
    #[serde(default)]
    pub keywords: Vec<Spanned<String>>,
}

/// One `[[rule]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub id: Spanned<String>,
    pub region: Option<Spanned<String>>,
    #[serde(default)]
    pub categories: Vec<Spanned<String>>,
    #[serde(default)]
    pub keywords: Vec<Spanned<String>>,
    #[serde(default)]
    pub kinds: Vec<Spanned<String>>,
    #[serde(default)]
    pub channels: Vec<Spanned<String>>,
    pub to: Spanned<String>,
}

/// Maps byte offsets to 1-based line numbers.
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    /// Indexes the line starts of `src`.
    pub(crate) fn new(src: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { starts }
    }

    /// The line holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset)
    }

    /// The line where a spanned value starts.
    pub(crate) fn of<T>(&self, v: &Spanned<T>) -> usize {
        self.line(v.span().start)
    }
}
