//! The one error type of the projections.

use aduan_log::LogError;

/// Why a projection could not be updated or queried.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The read-model store failed.
    #[error("read-model store: {0}")]
    Store(#[from] sled::Error),
    /// The event log failed.
    #[error("event log: {0}")]
    Log(#[from] LogError),
    /// A stored read-model value does not parse (written by another build?).
    #[error("read model {key} is corrupt: {reason}")]
    Corrupt {
        /// The key, printable.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A query argument is unusable.
    #[error("{field} {why}")]
    InvalidArgument {
        /// The offending field, as named in the contract.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The asked-for thing is not in the read model.
    #[error("{0} not found")]
    NotFound(&'static str),
}

impl ProjectionError {
    /// The contract's error code (CONTRACT.md, `Error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Store(_) | Self::Log(_) | Self::Corrupt { .. } => "unavailable",
            Self::InvalidArgument { .. } => "invalid_argument",
            Self::NotFound(_) => "not_found",
        }
    }

    /// The contract's `Error` message; internal detail stays in the logs.
    pub fn to_proto(&self) -> aduan_proto::v1::Error {
        let (message, field) = match self {
            Self::InvalidArgument { field, .. } => (self.to_string(), (*field).to_owned()),
            Self::NotFound(_) => (self.to_string(), String::new()),
            _ => ("service temporarily unavailable".to_owned(), String::new()),
        };
        aduan_proto::v1::Error {
            code: self.code().into(),
            message,
            field,
        }
    }
}
