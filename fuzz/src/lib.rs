//! Shared pieces of the fuzz-style property tests in `services/*/tests/fuzz_*.rs`:
//! how many cases to run (small in CI, `ADUAN_FUZZ_CASES` for a sustained
//! campaign) and where the checked-in corpus of each target lives. Test-only:
//! no crate depends on it outside `[dev-dependencies]`.

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::Config;

/// `ADUAN_FUZZ_CASES` when set, else `default` (sized for CI).
pub fn cases(default: u32) -> u32 {
    std::env::var("ADUAN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A proptest config with [`cases`] and no failure files (the corpus keeps what matters).
pub fn config(default: u32) -> Config {
    Config {
        cases: cases(default),
        failure_persistence: None,
        ..Config::default()
    }
}

/// `fuzz/corpus/<target>`.
pub fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// One file of a corpus.
#[derive(Debug, Clone)]
pub struct CorpusFile {
    /// Its file name.
    pub name: String,
    /// Its contents.
    pub bytes: Vec<u8>,
}

impl CorpusFile {
    /// True for `ok-*` files, which must be accepted (`err-*` must be refused).
    pub fn must_pass(&self) -> bool {
        self.name.starts_with("ok-")
    }
    /// True for `.json` files (the others are protobuf or raw bytes).
    pub fn is_json(&self) -> bool {
        self.name.ends_with(".json")
    }
    /// The contents as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Every file of `fuzz/corpus/<target>`, by name. Panics when the corpus is
/// missing or empty: replaying nothing would prove nothing.
pub fn corpus_files(target: &str) -> Vec<CorpusFile> {
    let dir = corpus(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<CorpusFile> = entries
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            CorpusFile { name, bytes }
        })
        .collect();
    assert!(!files.is_empty(), "the corpus {} is empty", dir.display());
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

/// One change to a byte string, for mutating valid inputs.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flip one bit (append a byte to an empty string).
    Flip(Index, u8),
    /// Cut the string at a point.
    Truncate(Index),
    /// Append bytes.
    Extend(Vec<u8>),
    /// Remove up to n bytes from a point.
    Remove(Index, usize),
    /// Write bytes over the string from a point, growing it if needed.
    Overwrite(Index, Vec<u8>),
    /// Insert bytes at a point.
    Insert(Index, Vec<u8>),
    /// Replace from `at` on with the tail of another byte string from `from` on.
    Splice(Index, Index),
}

/// Mutations with random inserted bytes.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    mutation_with(&[])
}

/// Mutations whose inserted bytes are random or, as often, one of `tokens`
/// (bytes that matter to the decoder under test).
pub fn mutation_with(tokens: &'static [&'static [u8]]) -> impl Strategy<Value = Mutation> {
    let random = proptest::collection::vec(any::<u8>(), 1..16);
    let bytes = move || -> BoxedStrategy<Vec<u8>> {
        if tokens.is_empty() {
            random.clone().boxed()
        } else {
            prop_oneof![random.clone(), select(tokens).prop_map(<[u8]>::to_vec)].boxed()
        }
    };
    prop_oneof![
        4 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => any::<Index>().prop_map(Mutation::Truncate),
        1 => bytes().prop_map(Mutation::Extend),
        1 => (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Remove(i, n)),
        2 => (any::<Index>(), bytes()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
        2 => (any::<Index>(), bytes()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Splice(a, b)),
    ]
}

/// Applies `m` to `bytes`; `other` is the donor of a splice.
pub fn mutate(bytes: &mut Vec<u8>, m: &Mutation, other: &[u8]) {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
    match m {
        Mutation::Flip(i, bit) if !bytes.is_empty() => {
            let i = at(i, bytes.len());
            bytes[i] ^= 1 << bit;
        }
        Mutation::Flip(..) => bytes.push(0x0a),
        Mutation::Truncate(i) => bytes.truncate(at(i, bytes.len())),
        Mutation::Extend(b) => bytes.extend_from_slice(b),
        Mutation::Remove(i, n) => {
            let start = at(i, bytes.len());
            let end = (start + n).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::Overwrite(i, b) => {
            let start = at(i, bytes.len());
            for (k, v) in b.iter().enumerate() {
                match bytes.get_mut(start + k) {
                    Some(slot) => *slot = *v,
                    None => bytes.push(*v),
                }
            }
        }
        Mutation::Insert(i, b) => {
            let start = at(i, bytes.len() + 1);
            bytes.splice(start..start, b.iter().copied());
        }
        Mutation::Splice(a, b) => {
            bytes.truncate(at(a, bytes.len()));
            bytes.extend_from_slice(&other[at(b, other.len())..]);
        }
    }
}
