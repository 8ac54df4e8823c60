//! The one error type of the projections.

use aduan_kv::KvError;
use aduan_log::LogError;
use aduan_proto::ErrorCode;

/// Why a projection could not be updated or queried.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The read-model store failed.
    #[error("read-model store")]
    Store(#[from] KvError),
    /// The event log failed.
    #[error("the rebuild's writer task failed")]
    Writer(#[source] tokio::task::JoinError),

    #[error("event log")]
    Log(#[from] LogError),
    /// A stored read-model value does not parse.
    #[error("read model {key} is corrupt")]
    Corrupt {
        /// The key, printable.
        key: String,
        /// What the parser found wrong.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The stored checkpoint is not a big-endian u64.
    #[error("read-model checkpoint is {len} bytes, not 8")]
    Checkpoint {
        /// Its length.
        len: usize,
    },
    /// The stored rule set in force no longer loads (written by another build?).
    #[error("the stored rule set in force does not load")]
    StoredRules(#[source] aduan_rules::LoadError),
    /// A query argument is unusable.
    #[error("{field} {why}")]
    InvalidArgument {
        /// The offending field, as named in the contract.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The NATS status-query responder failed.
    #[error("status queries on NATS")]
    Nats(#[source] async_nats::Error),
    /// The asked-for thing is not in the read model.
    #[error("{0} not found")]
    NotFound(&'static str),
}

impl ProjectionError {
    pub(crate) fn corrupt(
        key: &[u8],
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            source: source.into(),
        }
    }

    /// The contract's error code (CONTRACT.md, `Error.code`).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Store(_)
            | Self::Log(_)
            | Self::Corrupt { .. }
            | Self::Checkpoint { .. }
            | Self::StoredRules(_)
            | Self::Writer(_)
            | Self::Nats(_) => ErrorCode::Unavailable,
            Self::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            Self::NotFound(_) => ErrorCode::NotFound,
        }
    }

    /// The contract's `Error` message; internal detail stays in the logs.
    pub fn to_proto(&self) -> aduan_proto::v1::Error {
        let (message, field) = match self {
            Self::InvalidArgument { field, .. } => (self.to_string(), *field),
            Self::NotFound(_) => (self.to_string(), ""),
            _ => ("service temporarily unavailable".to_owned(), ""),
        };
        self.code().error(message, field)
    }
}
