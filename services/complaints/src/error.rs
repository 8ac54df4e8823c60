//! The complaint store's errors, with variants a caller can branch on.

use aduan_domain::{ComplaintId, DecodeError, Rejection};
use aduan_log::LogError;
use aduan_rules::LoadError;

/// Why loading, changing a complaint or reading the rules failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The event log failed (storage, closed, an invalid append).
    #[error(transparent)]
    Log(#[from] LogError),
    /// No complaint has this id (its stream is empty).
    #[error("complaint {0} not found")]
    NotFound(ComplaintId),
    /// The stream does not start with a usable `ComplaintReceived`.
    #[error("stream {stream} does not start with a usable ComplaintReceived")]
    NotAComplaint {
        /// The stream.
        stream: String,
    },
    /// A stored event could not be decoded.
    #[error("{stream} v{version}: {source}")]
    Decode {
        /// The stream.
        stream: String,
        /// The event's stream version.
        version: u64,
        /// What decoding found.
        source: DecodeError,
    },
    /// The complaint refused the command; not retried, as the same state
    /// gives the same refusal.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Other writers kept changing the complaint: every attempt lost the race.
    #[error("the complaint changed {attempts} times while deciding")]
    Contended {
        /// How many times it was tried.
        attempts: u32,
    },
    /// A rule set to publish did not validate.
    #[error(transparent)]
    Rules(#[from] LoadError),
}
