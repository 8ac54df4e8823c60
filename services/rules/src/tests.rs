//! Tests: routing precedence, triage and exclusion; categorising text;
//! one test per validation problem; properties over the sample rule set.

mod accessors;
mod props;
mod routing;
mod text;
mod validation;

use std::sync::OnceLock;

use crate::RuleSet;

/// The sample rule set shipped in deploy/rules.
pub(crate) const SAMPLE: &str = include_str!("../../../deploy/rules/sample.toml");

/// The sample rule set, loaded once.
pub(crate) fn sample() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| match RuleSet::load(SAMPLE) {
        Ok(rs) => rs,
        Err(e) => panic!("sample rule set does not load: {e}"),
    })
}

/// The 1-based line of the first occurrence of `needle` in `src`.
pub(crate) fn line_of(src: &str, needle: &str) -> usize {
    match src.find(needle) {
        Some(at) => src[..at].matches('\n').count() + 1,
        None => panic!("{needle:?} not in the source"),
    }
}
