//! Catch-up-then-live reading, written once over any [`EventLog`].
//!
//! A subscription reads by global position and never past the durable head the
//! backend publishes, so the switch from stored to live events has no gap and
//! no duplicate, and a subscriber never sees an event that could still be lost.

use std::collections::VecDeque;

use crate::{EventLog, LogError, RecordedEvent};

/// How many events one catch-up read fetches.
const PAGE: usize = 512;

/// Every event from a starting position on, each once, in order.
pub struct Subscription<L> {
    log: L,
    next: u64,
    head: tokio::sync::watch::Receiver<u64>,
    buf: VecDeque<RecordedEvent>,
}

impl<L: EventLog> Subscription<L> {
    /// Starts at global position `from` (1-based; 0 is treated as 1).
    pub fn new(log: L, from: u64) -> Self {
        let head = log.head();
        Self {
            log,
            next: from.max(1),
            head,
            buf: VecDeque::new(),
        }
    }

    /// The position of the next event this subscription will yield.
    pub fn position(&self) -> u64 {
        self.next - self.buf.len() as u64
    }

    /// The next event; waits for one to be appended when caught up.
    /// Returns `LogError::Closed` when the log shuts down.
    pub async fn next(&mut self) -> Result<RecordedEvent, LogError> {
        loop {
            if let Some(e) = self.buf.pop_front() {
                return Ok(e);
            }
            let head = *self.head.borrow_and_update();
            if self.next <= head {
                let want = ((head - self.next + 1) as usize).min(PAGE);
                let page = self.log.read_all(self.next, want).await?;
                if page.is_empty() {
                    return Err(LogError::Corrupt {
                        position: self.next,
                        reason: format!("head is {head} but the record is missing"),
                    });
                }
                self.next += page.len() as u64;
                self.buf.extend(page);
                continue;
            }
            self.head.changed().await.map_err(|_| LogError::Closed)?;
        }
    }
}
