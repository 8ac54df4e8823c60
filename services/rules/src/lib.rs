//! Jurisdiction rule sets: loading and validating the versioned TOML file
//! (CONTRACT.md, "Rule sets (TOML)"), and deciding which organisation owns a
//! complaint — by region prefix, category, keyword evidence, kind and channel —
//! with an explanation a person can read. Also derives a category from the
//! text when a channel gives none.
//!
//! Pure: no async and no I/O beyond [`RuleSet::load_file`]. It does not keep
//! complaints, count hops or deadlines (the domain does), nor publish anything.

mod error;
mod explain;
mod file;
mod load;
mod route;
mod ruleset;
mod text;

pub use error::{LoadError, Problem, ProblemKind};
pub use explain::Explanation;
pub use route::{Decision, Facts, Reason};
pub use ruleset::{Category, Kind, Org, Rule, RuleSet, Sla};

#[cfg(test)]
mod tests;
