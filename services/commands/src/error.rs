//! Why a command was refused or failed, with the contract's error codes.

use aduan_complaints::StoreError;
use aduan_domain::Rejection;
use aduan_log::LogError;
use aduan_proto::{v1, ErrorCode};

/// Why a command recorded nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A field of the request is missing or malformed (before the domain sees it).
    #[error("{field} {why}")]
    InvalidArgument {
        /// The offending field, as named in the contract.
        field: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// The request could not be decoded at all.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The request is larger than accepted.
    #[error("request of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// No complaint has this id.
    #[error("complaint {0} not found")]
    NotFound(String),
    /// The complaint refused the command (not assigned, conflict, bad
    /// argument, wrong reporter token).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Other writers kept changing the complaint; every retry lost the race.
    #[error("the complaint changed {attempts} times while deciding; try again")]
    Contended {
        /// How many times it was tried.
        attempts: u32,
    },
    /// A stored event of the complaint, or the rule set in force, could not be read.
    #[error("complaint history unreadable: {0}")]
    Corrupt(StoreError),
    /// The log failed (storage, closed).
    #[error("event log unavailable: {0}")]
    Unavailable(LogError),
}

impl CommandError {
    /// The contract's error code (CONTRACT.md, `Error.code`).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument { .. } | Self::Malformed(_) => ErrorCode::InvalidArgument,
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Rejected(r) => r.code(),
            Self::Contended { .. } => ErrorCode::Conflict,
            Self::Corrupt(_) => ErrorCode::Internal,
            Self::Unavailable(_) => ErrorCode::Unavailable,
        }
    }

    /// The offending field, when there is one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidArgument { field, .. } => Some(field),
            Self::Rejected(r) => r.field(),
            _ => None,
        }
    }

    /// The contract `Error`; internal detail (storage causes) is not sent.
    pub fn to_proto(&self) -> v1::Error {
        let message = match self {
            Self::Corrupt(_) => "internal error".to_owned(),
            Self::Unavailable(_) => "service temporarily unavailable".to_owned(),
            other => other.to_string(),
        };
        self.code().error(message, self.field().unwrap_or_default())
    }

    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field,
            why: why.into(),
        }
    }
}

impl From<LogError> for CommandError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Corrupt { .. } => Self::Corrupt(StoreError::Log(e)),
            LogError::TooLarge { size, max } => Self::TooLarge { size, max },
            LogError::Invalid(why) => Self::Malformed(why),
            e => Self::Unavailable(e),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Log(e) => e.into(),
            StoreError::NotFound(id) => Self::NotFound(id.to_string()),
            StoreError::Rejected(r) => Self::Rejected(r),
            StoreError::Contended { attempts } => Self::Contended { attempts },
            e @ (StoreError::NotAComplaint { .. }
            | StoreError::Decode { .. }
            | StoreError::Rules(_)) => Self::Corrupt(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_log_queue_is_unavailable_so_the_caller_retries() {
        let e = CommandError::from(LogError::Overloaded { queued: 16_384 });
        assert_eq!(e.code(), ErrorCode::Unavailable);
    }
}
