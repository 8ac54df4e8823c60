//! What the aduan-log integration tests share.

use aduan_log::memory::MemoryLog;
use aduan_log::{EventLog, ExpectedVersion, NewEvent};

/// A memory log of `n` small events, spread round-robin over `streams`
/// streams `s0`, `s1`, …
pub async fn log_of(n: usize, streams: usize) -> MemoryLog {
    let log = MemoryLog::new();
    for i in 0..n {
        let e = NewEvent::new("Checked", "test", format!("event {i}").into_bytes());
        log.append(&format!("s{}", i % streams), ExpectedVersion::Any, vec![e])
            .await
            .expect("append");
    }
    log
}
