//! The router's errors, with variants a caller can branch on.

use aduan_domain::{DecodeError, Rejection};
use aduan_log::LogError;
use aduan_rules::LoadError;

/// Why the router, or one of its operations, failed.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The event log failed (a conflict is retried inside the router and
    /// surfaces only from `publish_ruleset`).
    #[error(transparent)]
    Log(#[from] LogError),
    /// A stored event could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A rule set did not validate.
    #[error(transparent)]
    Rules(#[from] LoadError),
    /// The domain refused a command the router decided on: a bug or a race
    /// it could not resolve by re-reading.
    #[error("the complaint refused the router's command: {0}")]
    Rejected(#[from] Rejection),
    /// The router's own store (checkpoint, deadlines) failed.
    #[error("router store: {0}")]
    Store(#[from] sled::Error),
    /// A stored value in the router's store is not what the router wrote.
    #[error("router store holds a malformed {0}")]
    CorruptStore(&'static str),
    /// Publishing an assignment failed (NATS unreachable, no PubAck).
    #[error("publishing to {subject}: {message}")]
    Publish {
        /// The subject published to.
        subject: String,
        /// What went wrong.
        message: String,
    },
    /// The JetStream stream for OPD inboxes could not be created or read.
    #[error("JetStream stream {stream}: {message}")]
    Stream {
        /// The stream name.
        stream: String,
        /// What went wrong.
        message: String,
    },
}
