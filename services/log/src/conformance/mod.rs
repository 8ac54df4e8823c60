//! The conformance suite every [`EventLog`] backend must pass.
//!
//! A backend's tests implement [`Backend`] (make a fresh log; close a log and
//! open it again) and call [`conformance_tests!`](crate::conformance_tests)
//! with it, which makes one test per check, so every backend runs every check.
//! Each check panics on a violation. Checks spawn tasks, so they run inside a
//! multi-threaded Tokio runtime.

use std::future::Future;

use crate::memory::MemoryLog;
use crate::{EventLog, NewEvent};

mod appends;
mod durability;

pub use appends::{
    append_then_read, conflicts_append_nothing, conflicts_are_never_answered_before_their_commit,
    limits_are_refused_and_reached, optimistic_concurrency_under_contention,
    retried_append_after_an_ambiguous_failure_is_stored_once,
    subscribe_mid_stream_sees_each_event_once, verify_passes_on_an_intact_log,
};
pub use durability::{
    import_of_an_export_is_identical, import_refuses_what_would_break_the_log,
    reopen_keeps_every_event_and_the_head,
};

/// What the suite needs of a backend under test: logs to check.
pub trait Backend: Send + 'static {
    /// The log type.
    type Log: EventLog + Clone;

    /// A fresh, empty log.
    fn create(&mut self) -> impl Future<Output = Self::Log> + Send;

    /// Closes `log` and opens the same log again, as a restart would. The
    /// suite has dropped every other clone of it and awaited every append.
    fn reopen(&mut self, log: Self::Log) -> impl Future<Output = Self::Log> + Send;
}

/// [`MemoryLog`] as a [`Backend`]: reopening hands back the same shared state.
#[derive(Debug, Default)]
pub struct Memory;

impl Backend for Memory {
    type Log = MemoryLog;

    async fn create(&mut self) -> MemoryLog {
        MemoryLog::new()
    }

    async fn reopen(&mut self, log: MemoryLog) -> MemoryLog {
        log
    }
}

/// One `#[tokio::test]` per check of the suite, each given `$backend` (an
/// expression evaluated afresh for every test). The calling crate needs
/// `tokio` with the `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! conformance_tests {
    ($backend:expr) => {
        $crate::conformance_tests!(@each $backend;
            append_then_read,
            conflicts_append_nothing,
            limits_are_refused_and_reached,
            optimistic_concurrency_under_contention,
            subscribe_mid_stream_sees_each_event_once,
            verify_passes_on_an_intact_log,
            retried_append_after_an_ambiguous_failure_is_stored_once,
            conflicts_are_never_answered_before_their_commit,
            reopen_keeps_every_event_and_the_head,
            import_of_an_export_is_identical,
            import_refuses_what_would_break_the_log,
        );
    };
    (@each $backend:expr; $($check:ident),* $(,)?) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            $crate::conformance::$check($backend).await;
        }
    )*};
}

fn event(n: usize) -> NewEvent {
    NewEvent::new(
        "TestEvent",
        "conformance",
        format!("payload-{n}").into_bytes(),
    )
}
