//! Shared pieces of the fuzz-style property tests in `services/*/tests/fuzz_*.rs`:
//! how many cases to run (small in CI, `ADUAN_FUZZ_CASES` for a sustained
//! campaign) and where the checked-in corpus of each target lives. Test-only:
//! no crate depends on it outside `[dev-dependencies]`.

use std::path::PathBuf;

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
