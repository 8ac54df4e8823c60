//! The complaint domain: identifiers, the complaint state machine (a fold over
//! its events, and `decide` holding every business rule), and the working-day
//! calendar. Pure: no async, no I/O, no NATS or HTTP.

/// Declares an enum of contract words (`"in_progress"`), with `as_str`,
/// `parse` and `Display`, from one table so the two directions cannot drift.
macro_rules! contract_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The contract word.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// The value named by a contract word, if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Serialises as its contract word.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// Reads a contract word; any other text is an error, never a default.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&word).ok_or_else(|| {
                    serde::de::Error::unknown_variant(&word, &[$($text),+])
                })
            }
        }
    };
}

pub mod calendar;
pub mod clock;
pub mod command;
pub mod complaint;
pub mod event;
pub mod ids;
pub mod reporter_token;
pub mod status;

pub use calendar::Calendar;
pub use clock::{Clock, ManualClock, OffsetClock, SharedClock, SystemClock};
pub use command::{
    CloseReason, Command, EscalationReason, OrgRole, RejectReason, Rejection, RouteReason,
};
pub use complaint::{Complaint, Deadlines, Draft};
pub use event::{ComplaintEvent, DecodeError, RuleSetEvent, RULESET_STREAM, SCHEMA_VERSION};
pub use ids::{Channel, ComplaintId, InvalidId, OrgCode, RegionCode, TrackingNo};
pub use reporter_token::ReporterToken;
pub use status::{DeadlineKind, DraftKind, Privacy, Status};
