//! The log's errors, with variants a caller can branch on.

use std::path::PathBuf;
use std::sync::Arc;

use crate::ExpectedVersion;

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The stream's version did not admit the expectation; nothing was appended.
    #[error("stream {stream}: expected version {expected:?}, actual {actual}")]
    Conflict {
        /// The stream.
        stream: String,
        /// What the appender expected.
        expected: ExpectedVersion,
        /// The stream's version at the time.
        actual: u64,
    },
    /// A stored record failed its checks: tampering or storage damage.
    #[error("record at position {position} is corrupt: {reason}")]
    Corrupt {
        /// The position whose record failed.
        position: u64,
        /// What check failed.
        reason: String,
    },
    /// Another process holds the data directory.
    #[error("data directory {path} is in use by another process (only one process may own it)")]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// An event is larger than the log accepts.
    #[error("event payload of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Payload size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The request itself is malformed (empty stream id, over-long names, no events).
    #[error("invalid append: {0}")]
    Invalid(String),
    /// The storage engine failed (disk full, read-only, I/O error). The
    /// source is shared so that one failed commit can answer every appender
    /// in it; downcast it (e.g. to `std::io::Error`) to look at its kind.
    /// Its message is part of this one, so it is not also the `source`: a
    /// chain (`{:#}` of an `anyhow` error) would say it twice.
    #[error("storage failure: {0}")]
    Storage(Arc<dyn std::error::Error + Send + Sync + 'static>),
    /// The log has been closed.
    #[error("the event log is closed")]
    Closed,
    /// More appends wait for the log than it queues; nothing was appended.
    /// Try again shortly.
    #[error("the event log is busy ({queued} appends waiting); try again shortly")]
    Overloaded {
        /// How many appends were waiting.
        queued: usize,
    },
}

impl LogError {
    /// A [`LogError::Storage`] caused by `source`.
    pub fn storage(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self::Storage(Arc::from(source.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::LogError;

    /// The message of `e` and of each of its sources, as `anyhow`'s `{:#}` shows them.
    fn chain(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut next = e.source();
        while let Some(cause) = next {
            text = format!("{text}: {cause}");
            next = cause.source();
        }
        text
    }

    #[test]
    fn a_storage_failure_says_its_cause_once() {
        let e = LogError::storage(std::io::Error::other("No space left on device"));
        assert_eq!(chain(&e), "storage failure: No space left on device");
    }
}
