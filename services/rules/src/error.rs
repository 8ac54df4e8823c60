//! Why a rule set was refused: every problem found, each with its line, so an
//! operator fixes a file in one pass instead of one error at a time.

use std::fmt;

/// What kind of problem a [`Problem`] is, for callers and tests to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The file could not be read.
    Io,
    /// Not valid TOML, or a field of the wrong type, missing or unknown.
    Syntax,
    /// A value that is malformed or out of range (empty name, bad date, bad channel, zero SLA).
    InvalidValue,
    /// An org code that is not a valid NATS subject token.
    InvalidOrgCode,
    /// A malformed Kemendagri region code.
    InvalidRegion,
    /// A `parent` or `to` naming an org that is not in the file.
    UnknownOrg,
    /// A rule naming a category that is not in the file.
    UnknownCategory,
    /// A rule naming a kind other than complaint, aspiration, information_request.
    UnknownKind,
    /// Two orgs, categories or rules with the same code, name or id; or two admins of one region.
    Duplicate,
    /// Orgs whose parents form a loop.
    Cycle,
    /// No `nasional` root, a second root, or a `nasional` with a parent.
    Root,
    /// A rule that can never be chosen.
    Unreachable,
    /// A region without an admin org to own its triage queue.
    NoAdmin,
    /// A region outside its parent's, or a rule sending a region to an org of a disjoint region.
    Jurisdiction,
}

/// One problem in a rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file, when the problem has one.
    pub line: Option<usize>,
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// What is wrong, for a person.
    pub message: String,
}

impl Problem {
    /// A problem at a line.
    pub fn new(line: Option<usize>, kind: ProblemKind, message: impl Into<String>) -> Self {
        Self {
            line,
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A rule set that could not be loaded, with every problem found (sorted by line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", summary(.problems))]
pub struct LoadError {
    /// The problems, in line order; never empty.
    pub problems: Vec<Problem>,
}

impl LoadError {
    /// True when some problem is of this kind.
    pub fn has(&self, kind: ProblemKind) -> bool {
        self.problems.iter().any(|p| p.kind == kind)
    }
}

fn summary(problems: &[Problem]) -> String {
    let mut s = format!("rule set has {} problem(s)", problems.len());
    for p in problems {
        s.push_str("\n  ");
        s.push_str(&p.to_string());
    }
    s
}
