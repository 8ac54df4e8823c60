//! The complaint event catalogue as one Rust enum, and its storage form: each
//! event is stored as a protobuf payload under its message name (the envelope's
//! event type) and a schema version, so that a payload written today can still
//! be read, or upcast, after the schema moves on.

use std::borrow::Cow;

use aduan_proto::v1;
use prost::Message;

/// The schema version written for every event today.
pub const SCHEMA_VERSION: u32 = 1;

/// The stream that holds published jurisdiction rule sets.
pub const RULESET_STREAM: &str = "ruleset";

/// Why a stored payload could not be turned back into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The event type names no event this stream can hold.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// The schema version is newer than this build, or one no upcaster knows.
    #[error("{type_name} schema version {version} is not supported (this build writes {SCHEMA_VERSION})")]
    UnsupportedVersion {
        /// The event type.
        type_name: String,
        /// The version found in the envelope.
        version: u32,
    },
    /// The bytes are not a valid protobuf message of that type.
    #[error("{type_name} payload is malformed: {source}")]
    Malformed {
        /// The event type.
        type_name: String,
        /// What prost found wrong.
        source: prost::DecodeError,
    },
}

/// Brings a payload written under an older schema version to the current one.
///
/// This is the hook point for schema evolution: when version 2 of some event
/// appears, a `(type_name, 1)` arm here rewrites the old bytes (decode the old
/// shape, map it, re-encode) and every reader keeps seeing one current type.
/// Today only version 1 exists, so it passes the payload through untouched.
fn upcast<'a>(
    type_name: &str,
    version: u32,
    payload: &'a [u8],
) -> Result<Cow<'a, [u8]>, DecodeError> {
    match version {
        SCHEMA_VERSION => Ok(Cow::Borrowed(payload)),
        _ => Err(DecodeError::UnsupportedVersion {
            type_name: type_name.to_owned(),
            version,
        }),
    }
}

/// Declares an event enum whose variants wrap `aduan.v1` messages, with the
/// type-name table, encoding and decoding generated from one list so the three
/// can never disagree.
macro_rules! event_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident($msg:ident),)+ }) => {
        $(#[$meta])*
        // ComplaintReceived (~400 bytes) dwarfs the rest, but a stream holds a
        // few dozen events at most; boxing it would cost every reader a
        // `Box` pattern for no measurable gain.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $(
                #[doc = concat!("`", stringify!($msg), "`.")]
                $variant(v1::$msg),
            )+
        }

        impl $name {
            /// Every event type name this enum decodes, in declaration order.
            pub const TYPE_NAMES: &'static [&'static str] = &[$(stringify!($msg)),+];

            /// The proto message name, stored as the envelope's event type.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => stringify!($msg),)+
                }
            }

            /// The protobuf payload, written under [`SCHEMA_VERSION`].
            pub fn encode(&self) -> Vec<u8> {
                match self {
                    $(Self::$variant(m) => m.encode_to_vec(),)+
                }
            }

            /// Reads a stored payload, upcasting older schema versions first.
            pub fn decode(
                type_name: &str,
                schema_version: u32,
                payload: &[u8],
            ) -> Result<Self, DecodeError> {
                if !Self::TYPE_NAMES.contains(&type_name) {
                    return Err(DecodeError::UnknownType(type_name.to_owned()));
                }
                let payload = upcast(type_name, schema_version, payload)?;
                let malformed = |source| DecodeError::Malformed {
                    type_name: type_name.to_owned(),
                    source,
                };
                match type_name {
                    $(stringify!($msg) => v1::$msg::decode(&*payload)
                        .map(Self::$variant)
                        .map_err(malformed),)+
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }
        }

        /// Serialises as the payload's JSON (the proto field names), for audit output.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Self::$variant(m) => m.serialize(s),)+
                }
            }
        }

        $(
            impl From<v1::$msg> for $name {
                fn from(m: v1::$msg) -> Self {
                    Self::$variant(m)
                }
            }
        )+
    };
}

event_enum! {
    /// Every fact of a complaint stream (`ComplaintId::stream()`), in the past tense.
    ComplaintEvent {
        Received(ComplaintReceived),
        Rejected(ComplaintRejected),
        Routed(ComplaintRouted),
        RoutingRejected(RoutingRejected),
        Escalated(ComplaintEscalated),
        Acknowledged(ComplaintAcknowledged),
        FollowUpPosted(FollowUpPosted),
        InformationRequested(InformationRequested),
        ReporterReplied(ReporterReplied),
        Resolved(ComplaintResolved),
        FeedbackGiven(FeedbackGiven),
        Reopened(ComplaintReopened),
        Closed(ComplaintClosed),
        AnswerDrafted(AnswerDrafted),
        AnswerApproved(AnswerApproved),
        AnswerReturned(AnswerReturned),
        ResolutionReturned(ResolutionReturned),
    }
}

event_enum! {
    /// Every fact of the [`RULESET_STREAM`] stream.
    RuleSetEvent {
        Published(RuleSetPublished),
    }
}

#[cfg(test)]
mod tests;
