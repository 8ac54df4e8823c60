//! The checks of a verbatim import, written once for every backend.

use std::collections::HashMap;

use crate::record::{self, HASH_LEN};
use crate::{check_recorded_event, Appended, LogError, RecordedEvent};

/// Walks a batch of exported records and checks that each continues the log
/// (and the records before it in the batch): the next position, the previous
/// record's hash, its stream's next version, the limits of
/// [`check_recorded_event`], and a hash that matches its contents. A backend
/// stores the batch only when every record passed, so an import is all or
/// nothing.
#[derive(Debug)]
pub struct ImportCheck {
    first: u64,
    head: u64,
    hash: [u8; HASH_LEN],
    /// Versions the batch itself has reached.
    versions: HashMap<String, u64>,
    stream_version: u64,
}

impl ImportCheck {
    /// A check of records that continue a log whose head is `head`, with hash `head_hash`.
    pub fn new(head: u64, head_hash: [u8; HASH_LEN]) -> Self {
        Self {
            first: head + 1,
            head,
            hash: head_hash,
            versions: HashMap::new(),
            stream_version: 0,
        }
    }

    /// Checks the next record; `stored_version` gives a stream's version in
    /// the log before this batch. Returns the record's bytes (see [`record`]).
    pub fn next(
        &mut self,
        e: &RecordedEvent,
        stored_version: impl FnOnce(&str) -> u64,
    ) -> Result<Vec<u8>, LogError> {
        let bad = |reason: String| LogError::Corrupt {
            position: e.position,
            reason,
        };
        check_recorded_event(e)?;
        if e.position != self.head + 1 {
            return Err(bad(format!("import expected position {}", self.head + 1)));
        }
        if e.prev_hash != self.hash {
            return Err(bad("import breaks the hash chain".into()));
        }
        let current = match self.versions.get(&e.stream_id) {
            Some(v) => *v,
            None => stored_version(&e.stream_id),
        };
        if e.stream_version != current + 1 {
            return Err(bad(format!(
                "import gives {} version {} after version {current}",
                e.stream_id, e.stream_version
            )));
        }
        let (bytes, computed) = record::encode(e);
        if computed != e.hash {
            return Err(bad("imported record does not match its hash".into()));
        }
        self.versions.insert(e.stream_id.clone(), e.stream_version);
        self.stream_version = e.stream_version;
        self.head = e.position;
        self.hash = computed;
        Ok(bytes)
    }

    /// The head position the checked records reach.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The hash of the last checked record (the starting hash when none was).
    pub fn head_hash(&self) -> [u8; HASH_LEN] {
        self.hash
    }

    /// What storing the checked records appends; `LogError::Invalid` when there were none.
    pub fn appended(&self) -> Result<Appended, LogError> {
        if self.head < self.first {
            return Err(LogError::Invalid("nothing to import".into()));
        }
        Ok(Appended {
            first_position: self.first,
            last_position: self.head,
            stream_version: self.stream_version,
        })
    }
}
