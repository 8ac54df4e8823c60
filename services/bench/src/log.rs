//! Durable appends to aduan's sled log: each appender owns a stream and appends
//! one event at a time with its expected version, like intake and the router do.

use std::path::Path;
use std::time::{Duration, Instant};

use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};

use crate::{Recorder, Stats};

/// Appends `total` events of `payload` bytes from `concurrency` tasks to a fresh log in `dir`.
pub async fn sled_appends(
    dir: &Path,
    concurrency: usize,
    total: u64,
    payload: usize,
) -> anyhow::Result<Stats> {
    let mut opts = SledOptions::new(dir);
    opts.fsync = std::env::var_os("NOFSYNC").is_none();
    let log = SledLog::open(opts)?;
    let (all, elapsed) = appenders(&log, concurrency, total, payload).await?;
    log.close();
    let mut stats = all.stats("aduan sled log", concurrency, elapsed);
    stats.peak_rss_kib = crate::peak_rss_kib(std::process::id());
    Ok(stats)
}

/// `concurrency` tasks appending `total` events of `payload` bytes to `log`,
/// each to a stream of its own with its expected version, one event per
/// call; their latencies and the time they took together.
pub(crate) async fn appenders<L: EventLog + Clone>(
    log: &L,
    concurrency: usize,
    total: u64,
    payload: usize,
) -> anyhow::Result<(Recorder, Duration)> {
    let per_task = total / concurrency as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::new();
            let stream = format!("bench-{t}");
            for v in 0..per_task {
                let e = NewEvent::new("BenchEvent", "bench", vec![b'x'; payload]);
                let t0 = Instant::now();
                log.append(&stream, ExpectedVersion::Exact(v), vec![e])
                    .await?;
                rec.record_since(t0);
            }
            anyhow::Ok(rec)
        }));
    }
    let mut all = Recorder::new();
    for t in tasks {
        all.merge(&t.await??);
    }
    Ok((all, started.elapsed()))
}
