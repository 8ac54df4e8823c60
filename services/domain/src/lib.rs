//! The complaint domain: identifiers, the complaint state machine (a fold over
//! its events, and `decide` holding every business rule), and the working-day
//! calendar. Pure: no async, no I/O, no NATS or HTTP.

pub mod ids;

pub use ids::{Channel, ComplaintId, InvalidId, OrgCode, RegionCode, TrackingNo};
