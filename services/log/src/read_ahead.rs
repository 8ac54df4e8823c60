//! Reading a range of the log ahead of its use, page by page.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::{EventLog, LogError, RecordedEvent};

/// What a read task makes of the page it read.
type Render<T> = Arc<dyn Fn(Vec<RecordedEvent>) -> T + Send + Sync>;

/// Pages of a range read by up to [`READ_AHEAD`] tasks at once, handed out in
/// order: reading a record checks its hash and decodes it, so on several
/// cores the pages after the one in use are read meanwhile. A task can also
/// render its page ([`ReadAhead::rendered`]: export turns it into lines
/// there), so that work too runs on every core.
pub struct ReadAhead<L, T = Vec<RecordedEvent>> {
    log: L,
    /// First position not yet asked for.
    ahead: u64,
    to: u64,
    render: Render<T>,
    reads: VecDeque<Read<T>>,
}

/// A read in flight: first position and events asked for, and the task, which
/// answers with the number of events it read and their rendering.
type Read<T> = (u64, u64, JoinHandle<Result<(u64, T), LogError>>);

/// Events per page read.
const PAGE: u64 = 4096;
/// Pages read at once.
const READ_AHEAD: usize = 2;

impl<L: EventLog + Clone> ReadAhead<L> {
    /// The pages of `from..=to` in `log`.
    pub fn new(log: &L, from: u64, to: u64) -> Self {
        Self::rendered(log, from, to, |page| page)
    }
}

impl<L: EventLog + Clone, T: Send + 'static> ReadAhead<L, T> {
    /// The pages of `from..=to` in `log`, each as `render` makes it in the
    /// task that read it.
    pub fn rendered(
        log: &L,
        from: u64,
        to: u64,
        render: impl Fn(Vec<RecordedEvent>) -> T + Send + Sync + 'static,
    ) -> Self {
        Self {
            log: log.clone(),
            ahead: from,
            to,
            render: Arc::new(render),
            reads: VecDeque::new(),
        }
    }

    /// The next page; None past `to`, or where the log has nothing.
    pub async fn next(&mut self) -> Result<Option<T>, LogError> {
        while self.reads.len() < READ_AHEAD && self.ahead <= self.to {
            let (log, start, render) = (self.log.clone(), self.ahead, self.render.clone());
            let want = (self.to - start + 1).min(PAGE);
            self.ahead += want;
            let read = tokio::spawn(async move {
                let page = log.read_all(start, want as usize).await?;
                Ok((page.len() as u64, render(page)))
            });
            self.reads.push_back((start, want, read));
        }
        let Some((start, want, read)) = self.reads.pop_front() else {
            return Ok(None);
        };
        let (got, page) = read.await.map_err(LogError::storage)??;
        if got == 0 {
            return Ok(None);
        }
        if got < want {
            // A backend may answer with fewer than asked for: the reads
            // after this one started too far on; ask again from here.
            self.abort();
            self.ahead = start + got;
        }
        Ok(Some(page))
    }
}

impl<L, T> ReadAhead<L, T> {
    fn abort(&mut self) {
        for (_, _, read) in self.reads.drain(..) {
            read.abort();
        }
    }
}

impl<L, T> Drop for ReadAhead<L, T> {
    fn drop(&mut self) {
        self.abort();
    }
}
