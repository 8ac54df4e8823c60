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
//! complaint goes through `aduan_complaints::ComplaintStore`. Each lane
//! keeps the complaints it handled lately, folded from the events it is
//! handed in log order (`folded.rs`), and decides from that copy: a
//! complaint's `Received` starts it, and the stream is read from the log
//! only when its lane holds no copy of a complaint already under way, not
//! for each event; a copy the stream has moved past loses the append's
//! race, after which the stream is read.
//!
//! **Active and standby** ([`run_elected`], what `aduan router` runs with
//! NATS). Several routers may run over one log; one acts. They elect it
//! through a [`Lease`] in the JetStream key-value bucket
//! [`LEASE_BUCKET`] (key `active`, value = expiry and holder; taken with
//! `create`, or with `update` on the revision read once the expiry has
//! passed; renewed by compare-and-set on the holder's revision every third
//! of its TTL, 6 s by default). A standby follows the log (deadline index,
//! rule set in force, checkpoint) but appends and publishes nothing: no
//! routing, escalation or auto-close. The holder stops acting the moment a
//! renewal fails or its own clock passes the expiry it wrote.
//!
//! **Fenced publishes.** The lease alone cannot stop a process that paused
//! after its last check and wakes after losing it, so the publishes are
//! fenced themselves ([`FencedSink`]): the router is the only publisher on
//! `ADUAN_OPD`, and every assignment carries `Nats-Expected-Last-Sequence`
//! = the stream's last sequence as this router knows it (one task owns
//! that number and pipelines batches, each message expecting the one
//! before). The server checks it when it stores the message, on R1 and R3
//! alike (even nats-server 2.9), so a router that is not the latest writer
//! is refused. On a refusal the router renews its lease: if that fails it
//! stands by; if not (its own fence was behind, say after a lost ack) it
//! reads the messages stored after its fence, adds their ids to those it
//! will not publish, and retries. A router therefore publishes only after
//! seeing every message stored since it took over, and never publishes an
//! event id it saw there, however old: JetStream's duplicate window is not
//! what keeps assignments single.
//!
//! **Takeover.** The new active reads the stream's last
//! [`JetStreamSink::RECENT`] messages: their `Nats-Msg-Id`s (event ids) are
//! held, and their `Aduan-Position` headers ([`POSITION_HEADER`], the log
//! position of the routing event) tell how far the previous active got: it
//! read at most `MAX_IN_FLIGHT` (4,096) events ahead of its checkpoint, so
//! every event more than that before the highest position had its effect.
//! The new active rewinds its checkpoint there (or stays at its own, if
//! lower) and redoes everything after it; every effect is idempotent (the
//! complaint store's expected versions, the held ids), so nothing is
//! published twice and nothing is skipped, beyond any duplicate window.
//! What a message older than that tail covers is assumed done. Each router
//! keeps its checkpoint and deadline index in its own `--data`.
//!
//! **Cost of the fence**, measured (`measure_fenced_and_unfenced_publish_rates`
//! in tests/tests/router_standby.rs: debug build, 64 concurrent publishers as
//! the lanes are, 4,000 assignments, one nats-server 2.15.1 node, a 2-core
//! machine shared with other builds; three runs): with the server's default
//! sync, 26,123 to 27,500 assignments/s fenced against 7,426 to 24,835
//! unfenced; with `sync_interval: always`, 640 to 1,354 fenced against 759 to
//! 1,694 unfenced. Pipelining each batch behind one fence keeps the single
//! writer from costing a round trip per assignment.

mod assignment;
pub mod bench;
mod deadlines;
mod error;
mod fenced;
mod folded;
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
pub use lease::{Lease, LeaseConfig, LEASE_BUCKET};
pub use pair::run_elected;
pub use routing::{next_owner, Choice};
pub use service::{run, RouterConfig};
pub use sink::{AssignmentSink, InboxStream, JetStreamSink, LocalSink};

#[cfg(test)]
mod tests;
