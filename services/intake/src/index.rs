//! Intake's read model: which tracking numbers are taken and which complaint
//! each belongs to (the API and the CLI find a complaint by its number), kept
//! in an [`aduan_kv::Tree`]. Dedupe does not depend on it: the log holds one
//! complaint per channel reference by itself (see the crate docs).
//!
//! Intake writes an entry right after each append; a tail over the log writes
//! the same entries again, together with its checkpoint in one batch, so an
//! entry lost to a crash (or to a client hanging up between append and write)
//! is restored, at the latest before intake serves again.
//!
//! It also remembers, for complaints recorded before channel references chose
//! the complaint id, which id a reference got ("legacy" keys), so a data
//! directory from before that change still deduplicates them.

use aduan_domain::{Channel, ComplaintEvent, ComplaintId, TrackingNo};
use aduan_kv::{Batch, Tree};
use aduan_log::{EventLog, RecordedEvent};

use crate::IntakeError;

const CHECKPOINT: &[u8] = b"@checkpoint";

/// Tracking numbers in use, and legacy keys.
#[derive(Debug, Clone)]
pub struct Index {
    tree: Tree,
}

fn legacy_entry(key: &[u8]) -> Vec<u8> {
    [b"k".as_slice(), key].concat()
}

fn tracking_entry(t: &TrackingNo) -> Vec<u8> {
    [b"t".as_slice(), t.as_str().as_bytes()].concat()
}

fn uuid_from(b: &[u8]) -> Option<ComplaintId> {
    Some(ComplaintId::from_bytes(b.try_into().ok()?))
}

impl Index {
    /// The index in `tree`.
    pub fn new(tree: Tree) -> Self {
        Self { tree }
    }

    /// The complaint a tracking number belongs to, if any.
    pub fn complaint_of(&self, t: &TrackingNo) -> Result<Option<ComplaintId>, IntakeError> {
        let v = self.tree.get(tracking_entry(t))?;
        Ok(v.and_then(|v| uuid_from(&v)))
    }

    /// The complaint an idempotency key got before ids were derived from keys.
    pub fn legacy(&self, key: &[u8]) -> Result<Option<ComplaintId>, IntakeError> {
        Ok(self
            .tree
            .get(legacy_entry(key))?
            .and_then(|v| uuid_from(&v)))
    }

    /// Records a complaint's tracking number. A plain insert, not a batch: with
    /// the embedded backend a batch takes a process-wide write lock that the
    /// log writer's commits also take, which cut intake from ~60,000 to
    /// ~12,000 submissions/s (64 tasks, measured). The tail writes it again
    /// atomically with its checkpoint.
    pub fn insert(&self, t: &TrackingNo, id: &ComplaintId) -> Result<(), IntakeError> {
        self.tree
            .insert(tracking_entry(t), id.uuid().as_bytes().as_slice())?;
        Ok(())
    }

    /// Position of the last log event the tail has indexed.
    pub fn checkpoint(&self) -> Result<u64, IntakeError> {
        let v = self.tree.get(CHECKPOINT)?;
        Ok(v.and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// Indexes a page of log events and moves the checkpoint past them, atomically.
    pub fn apply(&self, events: &[RecordedEvent]) -> Result<(), IntakeError> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        let mut batch = Batch::default();
        for e in events
            .iter()
            .filter(|e| e.event_type == "ComplaintReceived")
        {
            let decoded = ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload);
            let Ok(ComplaintEvent::Received(r)) = decoded else {
                tracing::warn!(
                    position = e.position,
                    "unreadable ComplaintReceived skipped"
                );
                continue;
            };
            let (Ok(id), Ok(t)) = (
                ComplaintId::parse(&r.complaint_id),
                TrackingNo::parse(&r.tracking_no),
            ) else {
                continue;
            };
            let id_bytes = id.uuid().into_bytes();
            batch.insert(tracking_entry(&t), id_bytes);
            if let (false, Ok(channel)) = (r.channel_ref.is_empty(), Channel::parse(&r.channel)) {
                if ComplaintId::for_channel_ref(&channel, &r.channel_ref) != id {
                    let key = [r.channel.as_bytes(), &[0], r.channel_ref.as_bytes()].concat();
                    batch.insert(legacy_entry(&key), id_bytes);
                }
            }
        }
        batch.insert(CHECKPOINT, last.position.to_be_bytes());
        Ok(self.tree.apply(&batch)?)
    }

    /// Indexes everything in `log` after the checkpoint, up to the durable head.
    pub async fn catch_up<L: EventLog>(&self, log: &L) -> Result<u64, IntakeError> {
        let mut next = self.checkpoint()? + 1;
        loop {
            let page = log.read_all(next, 4096).await?;
            let Some(last) = page.last() else {
                return Ok(next - 1);
            };
            next = last.position + 1;
            self.apply(&page)?;
        }
    }
}
