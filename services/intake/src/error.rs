//! Intake's errors: what a caller branches on, each with its source kept.

use std::path::PathBuf;

use aduan_log::LogError;
use aduan_proto::{v1, ErrorCode};

/// Why a submission was refused, or intake could not start. A refused
/// submission appends nothing.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// A field failed validation.
    #[error("{message}")]
    Invalid {
        /// The offending field, dotted (`location.region_code`).
        field: &'static str,
        /// For a person.
        message: String,
    },
    /// The request could not be decoded at all.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The request is larger than [`crate::MAX_REQUEST_BYTES`].
    #[error("request of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The log or the index cannot serve now (closed, disk full, read-only).
    #[error("intake is unavailable: {0}")]
    Unavailable(Unavailable),
    /// The reporter-token key could not be read or created.
    #[error("reporter key {path}: {source}")]
    ReporterKey {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What was unavailable, with the store's own error.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// The event log refused or failed.
    #[error("event log: {0}")]
    Log(LogError),
    /// The tracking-number index failed.
    #[error("intake index: {0}")]
    Index(aduan_kv::KvError),
    /// A complaint's stream exists but its first event is not a readable
    /// `ComplaintReceived` (damage, or a backend that answered a conflict
    /// before the winning append could be read).
    #[error("stream {stream} has no readable ComplaintReceived")]
    NoFirstEvent {
        /// The complaint's stream.
        stream: String,
    },
}

impl IntakeError {
    /// The contract's error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid { .. } | Self::Malformed(_) => ErrorCode::InvalidArgument,
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::Unavailable(_) | Self::ReporterKey { .. } => ErrorCode::Unavailable,
        }
    }

    /// As the contract's `Error` message.
    pub fn to_proto(&self) -> v1::Error {
        let field = match self {
            Self::Invalid { field, .. } => field,
            _ => "",
        };
        self.code().error(self.to_string(), field)
    }
}

impl From<LogError> for IntakeError {
    fn from(e: LogError) -> Self {
        Self::Unavailable(Unavailable::Log(e))
    }
}

impl From<aduan_kv::KvError> for IntakeError {
    fn from(e: aduan_kv::KvError) -> Self {
        Self::Unavailable(Unavailable::Index(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_log_queue_is_unavailable_so_the_caller_retries() {
        let e = IntakeError::from(LogError::Overloaded { queued: 16_384 });
        assert_eq!(e.code(), ErrorCode::Unavailable);
    }
}
