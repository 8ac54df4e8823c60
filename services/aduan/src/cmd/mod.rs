//! One module per subcommand.

pub mod api;
pub mod args;
pub mod audit;
pub mod bench;
pub mod deploy;
pub mod intake;
pub mod layout;
pub mod log;
pub mod process;
pub mod projections;
pub mod repair;
pub mod router;
pub mod rules;
pub mod serve;
pub mod shutdown;
pub mod token;

/// A command line whose values parsed but do not fit (a range outside the
/// log, say): reported like clap's own errors, with exit code 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}
