//! One module per subcommand.

pub mod audit;
pub mod bench;
pub mod data;
pub mod projections;
pub mod router;
pub mod rules;
pub mod serve;
pub mod shutdown;
pub mod token;
