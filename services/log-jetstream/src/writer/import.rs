//! Verbatim imports: exported records stored with their positions and hashes.

use bytes::Bytes;
use tokio::time::Instant;

use aduan_log::{Appended, ImportCheck, LogError, RecordedEvent};

use super::Writer;

impl Writer {
    /// Stores exported records verbatim, after checking all of them against
    /// the stream's current head. Up to `max_batch` records go in one atomic
    /// batch; a larger import is several, each fenced on the one before.
    pub(super) async fn import(&self, events: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        let deadline = Instant::now() + self.retry_for;
        self.catch_up(deadline).await?;
        let (appended, records) = {
            let state = self.shared.lock();
            state.check_intact()?;
            let mut check = ImportCheck::new(state.head, state.last_hash);
            let mut records = Vec::with_capacity(events.len());
            for e in &events {
                records.push((Bytes::from(check.next(e, |s| state.version(s))?), e.hash));
            }
            (check.appended()?, records)
        };
        let mut fence = appended.first_position - 1;
        for chunk in records.chunks(self.max_batch) {
            let bytes = chunk.iter().map(|(b, _)| b.clone()).collect();
            let last_hash = chunk[chunk.len() - 1].1;
            if !self.publish(fence, bytes, last_hash, deadline).await? {
                return Err(LogError::Corrupt {
                    position: fence + 1,
                    reason: "another process appended during the import".into(),
                });
            }
            fence += chunk.len() as u64;
        }
        Ok(appended)
    }
}
