//! The router: decides and records who owns each complaint, hands each
//! assignment to the owner's inbox, and escalates missed deadlines.
//!
//! It tails the event log from its own checkpoint; routes a complaint when it
//! is received, declined ("not our authority") or reopened, with the rule set
//! most recently published before that point in the log (so replays route as
//! they did then); publishes an `Assignment` for every `ComplaintRouted` and
//! `ComplaintEscalated` with the event id as idempotency key; and scans
//! deadlines with an injectable clock. It does not validate submissions
//! (intake), handle OPD commands, or keep read models other than its own
//! checkpoint and deadline index (in an `aduan_kv::Db`); every change to a
//! complaint goes through `aduan_complaints::ComplaintStore`.

mod assignment;
pub mod bench;
mod deadlines;
mod error;
mod fenced;
mod lease;
mod pair;
pub mod routing;
mod service;
mod sink;
mod store;
mod worker;

pub use assignment::assignment;
pub use deadlines::{next_due, overdue};
pub use error::RouterError;
pub use fenced::{FencedSink, Tail, POSITION_HEADER, ROUTER_HEADER};
pub use lease::{Lease, LeaseConfig};
pub use pair::run_elected;
pub use routing::{next_owner, Choice};
pub use service::{run, RouterConfig};
pub use sink::{AssignmentSink, InboxStream, JetStreamSink, LocalSink};

#[cfg(test)]
mod tests;
