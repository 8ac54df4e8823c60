//! The intake's own read model: which `(channel, channel_ref)` keys and which
//! tracking numbers are taken, kept in a sled tree of the views database.
//!
//! Intake writes an entry right after each append; a tail over the log writes
//! the same entries again, together with its checkpoint in one batch, so an
//! entry lost to a crash between append and write is restored before intake
//! serves again.

use aduan_domain::{ComplaintEvent, ComplaintId, TrackingNo};
use aduan_log::{EventLog, RecordedEvent};

use crate::IntakeError;

const CHECKPOINT: &[u8] = b"@checkpoint";

/// What a key maps to: the first ack's ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The complaint created for the key.
    pub complaint_id: ComplaintId,
    /// Its tracking number.
    pub tracking_no: TrackingNo,
}

/// Keys and tracking numbers in use.
#[derive(Debug, Clone)]
pub struct Index {
    tree: sled::Tree,
}

fn key_entry(key: &[u8]) -> Vec<u8> {
    [b"k".as_slice(), key].concat()
}

fn tracking_entry(t: &TrackingNo) -> Vec<u8> {
    [b"t".as_slice(), t.as_str().as_bytes()].concat()
}

fn encode(e: &Entry) -> Vec<u8> {
    [
        e.complaint_id.uuid().as_bytes().as_slice(),
        e.tracking_no.as_str().as_bytes(),
    ]
    .concat()
}

fn decode(v: &[u8]) -> Option<Entry> {
    let id = uuid_from(v.get(..16)?)?;
    let tracking_no = TrackingNo::parse(std::str::from_utf8(v.get(16..)?).ok()?).ok()?;
    Some(Entry {
        complaint_id: id,
        tracking_no,
    })
}

fn uuid_from(b: &[u8]) -> Option<ComplaintId> {
    Some(ComplaintId::from_bytes(b.try_into().ok()?))
}

fn storage(e: sled::Error) -> IntakeError {
    IntakeError::Unavailable(format!("intake index: {e}"))
}

impl Index {
    /// The index in `tree`.
    pub fn new(tree: sled::Tree) -> Self {
        Self { tree }
    }

    /// The entry of an idempotency key, if taken.
    pub fn get(&self, key: &[u8]) -> Result<Option<Entry>, IntakeError> {
        Ok(self
            .tree
            .get(key_entry(key))
            .map_err(storage)?
            .and_then(|v| decode(&v)))
    }

    /// The complaint a tracking number belongs to, if any.
    pub fn complaint_of(&self, t: &TrackingNo) -> Result<Option<ComplaintId>, IntakeError> {
        let v = self.tree.get(tracking_entry(t)).map_err(storage)?;
        Ok(v.and_then(|v| uuid_from(&v)))
    }

    /// Records a complaint's key (if any) and tracking number.
    ///
    /// Plain inserts, not a `sled::Batch`: in sled 0.34 a batch takes a
    /// process-wide write lock that the log writer's commits also take, and on
    /// this hot path that cut intake from ~60,000 to ~12,000 submissions/s
    /// (64 tasks, measured). Atomicity is not needed here: the tail over the log
    /// writes both entries again with its checkpoint, in one batch.
    pub fn insert(&self, key: Option<&[u8]>, e: &Entry) -> Result<(), IntakeError> {
        if let Some(key) = key {
            self.tree
                .insert(key_entry(key), encode(e))
                .map_err(storage)?;
        }
        let id = e.complaint_id.uuid();
        self.tree
            .insert(tracking_entry(&e.tracking_no), id.as_bytes().as_slice())
            .map_err(storage)?;
        Ok(())
    }

    /// Position of the last log event the tail has indexed.
    pub fn checkpoint(&self) -> Result<u64, IntakeError> {
        let v = self.tree.get(CHECKPOINT).map_err(storage)?;
        Ok(v.and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// Indexes a page of log events and moves the checkpoint past them, atomically.
    pub fn apply(&self, events: &[RecordedEvent]) -> Result<(), IntakeError> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        let mut batch = sled::Batch::default();
        for e in events {
            if e.event_type != "ComplaintReceived" {
                continue;
            }
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
            let key = (!r.channel_ref.is_empty())
                .then(|| [r.channel.as_bytes(), &[0], r.channel_ref.as_bytes()].concat());
            put(
                &mut batch,
                key.as_deref(),
                &Entry {
                    complaint_id: id,
                    tracking_no: t,
                },
            );
        }
        batch.insert(CHECKPOINT, &last.position.to_be_bytes());
        self.tree.apply_batch(batch).map_err(storage)
    }

    /// Indexes everything in `log` after the checkpoint, up to the durable head.
    pub async fn catch_up<L: EventLog>(&self, log: &L) -> Result<u64, IntakeError> {
        let mut next = self.checkpoint()? + 1;
        loop {
            let page = log.read_all(next, 4096).await.map_err(IntakeError::from)?;
            let Some(last) = page.last() else {
                return Ok(next - 1);
            };
            next = last.position + 1;
            self.apply(&page)?;
        }
    }
}

fn put(batch: &mut sled::Batch, key: Option<&[u8]>, e: &Entry) {
    if let Some(key) = key {
        batch.insert(key_entry(key), encode(e));
    }
    batch.insert(
        tracking_entry(&e.tracking_no),
        e.complaint_id.uuid().as_bytes().as_slice(),
    );
}
