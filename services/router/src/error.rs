//! The router's errors, with variants a caller can branch on.

use aduan_complaints::StoreError;
use aduan_kv::KvError;
use aduan_log::LogError;

/// Why the router, or one of its operations, failed.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The event log failed while tailing it.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Loading or changing a complaint, or reading the rule set in force,
    /// failed (a lost race is retried inside the complaint store; a refusal
    /// of the router's own command is logged, not returned).
    #[error(transparent)]
    Complaints(#[from] StoreError),
    /// The router's own store (checkpoint, deadlines) failed.
    #[error("router store: {0}")]
    Store(KvError),
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
    /// The router lease's bucket could not be read or written.
    #[error("router lease: {0}")]
    Lease(String),
    /// This router does not hold the lease (or lost it, or the OPD stream
    /// refused its publish because another router wrote since): it must
    /// not publish or append, and stands by.
    #[error("this router is not the active one")]
    NotActive,
}

// By hand, not `#[from]`: its message is already in `Store`'s, and a
// source too would print it twice in a chain (`{:#}`).
impl From<KvError> for RouterError {
    fn from(e: KvError) -> Self {
        Self::Store(e)
    }
}
