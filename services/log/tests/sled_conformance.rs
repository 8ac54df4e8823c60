//! The conformance suite, run against the sled backend.

use aduan_log::{conformance, SledLog, SledOptions};

fn fresh() -> (tempfile::TempDir, SledLog) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = SledLog::open(SledOptions::new(dir.path().join("log"))).expect("open");
    (dir, log)
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_dir, log) = fresh();
            conformance::$name(log).await;
        }
    )*};
}

conformance_tests!(
    append_then_read,
    conflicts_append_nothing,
    optimistic_concurrency_under_contention,
    subscribe_mid_stream_sees_each_event_once,
    verify_passes_on_an_intact_log,
);
