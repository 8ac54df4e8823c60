//! Opening a damaged log read-only, and the explicit repair that cuts its end.
//!
//! A log whose last record does not decode cannot be opened for appends: its
//! head hash, which the next record must chain to, is unknown. It can still be
//! read up to the damage, so `verify` can name the position and `export` can
//! save what precedes it. Cutting the damaged end off is a separate, explicit
//! step ([`SledLog::truncate_after`]); the caller keeps a record of what it cut.

use std::sync::{Arc, Mutex};

use aduan_log::LogError;
use tokio::sync::watch;

use crate::store::{cut_after, open_db, stored_tail};
use crate::streams::{SharedStreams, Streams};
use crate::{fence, Inner, SledLog, SledOptions};

impl SledLog {
    /// Opens the log in `opts.path` read-only, whatever state its last record is
    /// in: its head is the last stored position, and reads report damage where
    /// they meet it; a log with a cut pending (see [`SledLog::open`]) ends
    /// where the cut would end it. Appends and imports answer [`LogError::Closed`]; nothing is
    /// written (no stream index snapshot either).
    pub fn open_for_salvage(opts: SledOptions) -> Result<Self, LogError> {
        let db = open_db(&opts.path, opts.lock_timeout)?;
        let (mut head, mut hash) = stored_tail(&db)?;
        // Records past a pending cut were refused to their appenders: not read.
        if let Some((cut, cut_hash)) = fence::pending_in(&opts.path)? {
            if cut < head {
                (head, hash) = (cut, Some(cut_hash));
            }
        }
        let streams = SharedStreams::new(Streams::open(&db, &opts.path, head, None)?);
        // The sender is dropped: the head of a read-only log never moves.
        let (_, head_rx) = watch::channel(head);
        tracing::info!(
            path = %opts.path.display(),
            head,
            last_record_decodes = hash.is_some(),
            "event log open read-only for salvage"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                path: opts.path,
                tx: Mutex::new(None),
                queue: 1,
                head: head_rx,
                streams,
                writer: Mutex::new(None),
                #[cfg(test)]
                faults: crate::writer::Faults::default(),
            }),
        })
    }

    /// Removes every record after position `keep`, which must decode, and
    /// makes that durable (flush and fdatasync); returns how many positions
    /// were cut. Only for a log that takes no appends (opened for salvage, or
    /// closed); reopen it afterwards. Drops the stream index snapshot, which
    /// may name positions that are gone, and the pending cut, if any.
    pub fn truncate_after(&self, keep: u64) -> Result<u64, LogError> {
        let writing = self.inner.writer.lock().map_err(|_| LogError::Closed)?;
        if writing.is_some() {
            return Err(LogError::Invalid(
                "truncate only a log opened for salvage".into(),
            ));
        }
        let head = self.durable_head();
        if keep >= head {
            return Ok(0);
        }
        if keep > 0 {
            self.read_position(keep)?
                .ok_or_else(|| crate::store::missing(keep))?;
        }
        cut_after(&self.inner.db, &self.inner.path, keep)?;
        // A pending cut (see `fence`) lies at or past `head`: done by this one.
        for file in [Self::STREAM_INDEX_FILE, fence::FILE] {
            match std::fs::remove_file(self.inner.path.join(file)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LogError::storage(e));
                }
                _ => {}
            }
        }
        tracing::warn!(keep, cut = head - keep, "event log truncated");
        Ok(head - keep)
    }
}
