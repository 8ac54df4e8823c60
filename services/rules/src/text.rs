//! Words: how keywords and complaint text are reduced to comparable terms.
//!
//! Keywords are written as root words (`rusak`, `sampah`, `jalan`) or short
//! phrases (`air bersih`). A keyword word is only lower-cased and spelling-folded;
//! a word of complaint text is matched against the keyword words by trying, in
//! order, the word itself and then forms with affixes stripped, and taking the
//! first form that is a keyword word (the keywords act as the dictionary, as in
//! dictionary-based Indonesian stemmers). Supported, deliberately simple:
//!
//! - case-insensitive, whole words (a word is a run of letters and digits);
//! - suffixes `-lah`, `-nya` (old spelling `-nja`), then `-kan`, `-an`, `-i`;
//! - prefixes `di-`, `ke-`, `ber-`, `ter-`, `per-`, `pe-`, `me-` and the nasal
//!   forms `mem-`/`men-`/`meng-`/`meny-` (`pem-`/`pen-`/`peng-`/`peny-`), where
//!   the nasal may have replaced `p`/`t`/`k`/`s` (`menulis` → `tulis`), plus a
//!   second `per-`/`ber-` after the first (`diperbaiki` → `baik`);
//! - spelling folded on both sides: `oe`→`u`, `dj`→`j`, `tj`→`c`, and `j`→`y`
//!   (so old `jang` meets `yang` and old `djalan` meets `jalan`);
//! - a stripped form must keep at least 3 characters.
//!
//! Not supported: reduplication (`jalan-jalan` is two words, which is fine),
//! infixes, and spelling mistakes beyond the folds above.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A keyword word's number in the lexicon.
pub(crate) type TermId = u32;

/// Marks a text word that is no keyword word (and breaks phrases).
const NONE: TermId = TermId::MAX;

/// Shortest form left after stripping an affix.
const MIN_STEM: usize = 3;

const PARTICLES: [&str; 3] = ["lah", "nya", "nja"];
const SUFFIXES: [&str; 3] = ["kan", "an", "i"];
/// Prefixes, with the consonant a nasal prefix may have replaced.
const PREFIXES: [(&str, Option<u8>); 15] = [
    ("di", None),
    ("ke", None),
    ("ber", None),
    ("ter", None),
    ("per", None),
    ("meng", Some(b'k')),
    ("meny", Some(b's')),
    ("mem", Some(b'p')),
    ("men", Some(b't')),
    ("me", None),
    ("peng", Some(b'k')),
    ("peny", Some(b's')),
    ("pem", Some(b'p')),
    ("pen", Some(b't')),
    ("pe", None),
];
const SECOND_PREFIXES: [&str; 2] = ["per", "ber"];

/// The set of keyword words, each with a number; the dictionary for matching.
#[derive(Default, Clone)]
pub(crate) struct Lexicon {
    terms: HashMap<Box<[u8]>, TermId, BuildHasherDefault<FxHasher>>,
    max_len: usize,
}

impl Lexicon {
    /// Adds a keyword's words and returns them as terms (empty when it has no word).
    pub(crate) fn add_keyword(&mut self, keyword: &str) -> Box<[TermId]> {
        let mut lower = String::new();
        let mut folded = Vec::new();
        let mut terms = Vec::new();
        for_each_word(keyword, &mut lower, |word| {
            fold(None, word, &mut folded);
            let next = TermId::try_from(self.terms.len()).unwrap_or(NONE - 1);
            let id = *self
                .terms
                .entry(folded.clone().into_boxed_slice())
                .or_insert(next);
            self.max_len = self.max_len.max(folded.len());
            terms.push(id);
        });
        terms.into_boxed_slice()
    }

    /// Reduces a title and body to their terms.
    pub(crate) fn text(&self, title: &str, body: &str) -> Text {
        let mut tokens = Vec::new();
        let mut lower = String::new();
        let mut folded = Vec::new();
        for part in [title, body] {
            for_each_word(part, &mut lower, |word| {
                tokens.push(self.lookup(word, &mut folded));
            });
            // Phrases do not run from the title into the body.
            tokens.push(NONE);
        }
        let mut present: Vec<TermId> = tokens.iter().copied().filter(|t| *t != NONE).collect();
        present.sort_unstable();
        present.dedup();
        Text { tokens, present }
    }

    /// The term of the first form of `word` that is a keyword word.
    fn lookup(&self, word: &str, folded: &mut Vec<u8>) -> TermId {
        let mut found = NONE;
        for_each_form(word, &mut |restore, form| {
            fold(restore, form, folded);
            if folded.len() > self.max_len {
                return false;
            }
            match self.terms.get(folded.as_slice()) {
                Some(id) => {
                    found = *id;
                    true
                }
                None => false,
            }
        });
        found
    }
}

/// A complaint's title and body as terms.
pub(crate) struct Text {
    tokens: Vec<TermId>,
    present: Vec<TermId>,
}

impl Text {
    /// True when the keyword (a word or a phrase of words) occurs.
    pub(crate) fn contains(&self, keyword: &[TermId]) -> bool {
        match keyword {
            [] => false,
            [one] => self.present.binary_search(one).is_ok(),
            [first, ..] => {
                self.present.binary_search(first).is_ok()
                    && self.tokens.windows(keyword.len()).any(|w| w == keyword)
            }
        }
    }

    /// How many of the keywords occur (each counts once).
    pub(crate) fn hits(&self, keywords: &[Box<[TermId]>]) -> usize {
        keywords.iter().filter(|k| self.contains(k)).count()
    }
}

/// Calls `f` with each lower-cased word (run of letters and digits) of `s`.
fn for_each_word(s: &str, lower: &mut String, mut f: impl FnMut(&str)) {
    for raw in s.split(|c: char| !c.is_alphanumeric()) {
        if raw.is_empty() {
            continue;
        }
        lower.clear();
        if raw.bytes().all(|b| b.is_ascii()) {
            lower.push_str(raw);
            lower.make_ascii_lowercase();
        } else {
            lower.extend(raw.chars().flat_map(char::to_lowercase));
        }
        f(lower);
    }
}

/// Writes `restore` + `s` with the spelling folds applied into `out`.
fn fold(restore: Option<u8>, s: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend(restore);
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let pair = (b[i], b.get(i + 1).copied());
        let (byte, step) = match pair {
            (b'o', Some(b'e')) => (b'u', 2),
            (b'd', Some(b'j')) => (b'y', 2),
            (b't', Some(b'j')) => (b'c', 2),
            (b'j', _) => (b'y', 1),
            (c, _) => (c, 1),
        };
        out.push(byte);
        i += step;
    }
}

fn strip_suffix<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    s.strip_suffix(suffix).filter(|r| r.len() >= MIN_STEM)
}

fn strip_prefix<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.strip_prefix(prefix).filter(|r| r.len() >= MIN_STEM)
}

/// Calls `visit(restore, form)` with each candidate form of `word`, most
/// literal first, until it returns true; returns whether it did.
fn for_each_form(word: &str, visit: &mut dyn FnMut(Option<u8>, &str) -> bool) -> bool {
    if visit(None, word) {
        return true;
    }
    let mut bases = [word; 5];
    let mut n = 1;
    let mut p = word;
    for particle in PARTICLES {
        if let Some(rest) = strip_suffix(p, particle) {
            p = rest;
        }
    }
    if p.len() != word.len() {
        if visit(None, p) {
            return true;
        }
        bases[n] = p;
        n += 1;
    }
    for suffix in SUFFIXES {
        if let Some(rest) = strip_suffix(p, suffix) {
            if visit(None, rest) {
                return true;
            }
            bases[n] = rest;
            n += 1;
        }
    }
    bases[..n].iter().any(|base| prefixed_forms(base, visit))
}

fn prefixed_forms(base: &str, visit: &mut dyn FnMut(Option<u8>, &str) -> bool) -> bool {
    for (prefix, restore) in PREFIXES {
        let Some(rest) = strip_prefix(base, prefix) else {
            continue;
        };
        if visit(None, rest) || restore.is_some_and(|r| visit(Some(r), rest)) {
            return true;
        }
        for second in SECOND_PREFIXES {
            if let Some(root) = strip_prefix(rest, second) {
                if visit(None, root) {
                    return true;
                }
            }
        }
    }
    false
}

/// The Fx hash (as in rustc): much faster than SipHash for short keys, and the
/// keys are the operator's own keywords, so flooding is not a concern.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        for b in chunks.remainder() {
            self.add(u64::from(*b));
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}
