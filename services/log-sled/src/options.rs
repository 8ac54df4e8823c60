//! How to open a [`SledLog`](crate::SledLog).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How to open a [`SledLog`](crate::SledLog).
#[derive(Clone)]
pub struct SledOptions {
    /// The data directory.
    pub path: PathBuf,
    /// Follow each flush with `fdatasync`, so an acknowledgement survives power loss
    /// (sled's own flush uses `sync_file_range`, which does not; sled #1351).
    pub fsync: bool,
    /// How long to retry when the directory's lock is held (a killed owner can
    /// hold it briefly) before reporting [`LogError::Locked`](aduan_log::LogError::Locked).
    pub lock_timeout: Duration,
    /// The source of `recorded_at`, in Unix milliseconds; injectable for tests.
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Write the stream index snapshot in the background after this many
    /// appended events (it is also written at close), so that opening after
    /// a crash scans at most about this many records.
    pub index_snapshot_every: u64,
    /// Appends (and imports) that may wait for the writer; one more is
    /// refused at once with [`LogError::Overloaded`](aduan_log::LogError::Overloaded)
    /// rather than queued without bound.
    pub queue: usize,
}

impl SledOptions {
    /// Defaults: fsync on, 3 s lock timeout, system clock, an index snapshot
    /// every 1,000,000 events, 16,384 appends queued.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            fsync: true,
            lock_timeout: Duration::from_secs(3),
            clock: Arc::new(system_millis),
            index_snapshot_every: 1_000_000,
            queue: 16_384,
        }
    }
}

impl std::fmt::Debug for SledOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledOptions")
            .field("path", &self.path)
            .field("fsync", &self.fsync)
            .field("lock_timeout", &self.lock_timeout)
            .field("index_snapshot_every", &self.index_snapshot_every)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

fn system_millis() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map(|d| d.as_millis() as i64).unwrap_or(0)
}
