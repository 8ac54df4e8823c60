//! The router's own state in the read-model database: its checkpoint (tree
//! `router`) and the next deadline of every open or resolved complaint (tree
//! `router.deadlines`), so the scanner reads a few open complaints instead of
//! the whole log. Both are derived from the log and can be deleted: the
//! router then replays, and every effect it repeats is idempotent.

use aduan_domain::ComplaintId;
use aduan_kv::{Db, Tree};

use crate::RouterError;

const CHECKPOINT: &[u8] = b"checkpoint";
const ACTED: &[u8] = b"acted";

/// The router's trees.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    meta: Tree,
    deadlines: Tree,
}

impl Store {
    pub(crate) fn open(views: &Db) -> Result<Self, RouterError> {
        Ok(Self {
            meta: views.open_tree("router")?,
            deadlines: views.open_tree("router.deadlines")?,
        })
    }

    /// The global position of the last event whose effect is done (0: none).
    pub(crate) fn checkpoint(&self) -> Result<u64, RouterError> {
        match self.meta.get(CHECKPOINT)? {
            None => Ok(0),
            Some(v) => Ok(u64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| RouterError::CorruptStore("checkpoint"))?,
            )),
        }
    }

    pub(crate) fn set_checkpoint(&self, position: u64) -> Result<(), RouterError> {
        self.meta.insert(CHECKPOINT, position.to_be_bytes())?;
        Ok(())
    }

    /// The checkpoint as of the end of this router's last active run: every
    /// effect before it is done (a standby's checkpoint only says how far it
    /// followed the log). None: it never acted.
    pub(crate) fn acted(&self) -> Result<Option<u64>, RouterError> {
        match self.meta.get(ACTED)? {
            None => Ok(None),
            Some(v) => Ok(Some(u64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| RouterError::CorruptStore("acted"))?,
            ))),
        }
    }

    pub(crate) fn set_acted(&self, position: u64) -> Result<(), RouterError> {
        self.meta.insert(ACTED, position.to_be_bytes())?;
        Ok(())
    }

    /// Records when the scanner must next look at a complaint (None: never).
    pub(crate) fn set_due(&self, id: &ComplaintId, due_ms: Option<i64>) -> Result<(), RouterError> {
        let key = id.uuid().into_bytes();
        match due_ms {
            Some(ms) => self.deadlines.insert(key, ms.to_be_bytes())?,
            None => self.deadlines.remove(key)?,
        };
        Ok(())
    }

    /// Complaints whose next deadline is at or before `now_ms`.
    pub(crate) fn due(&self, now_ms: i64) -> Result<Vec<ComplaintId>, RouterError> {
        let mut out = Vec::new();
        for entry in self.deadlines.iter() {
            let (k, v) = entry?;
            let key: [u8; 16] = k
                .as_slice()
                .try_into()
                .map_err(|_| RouterError::CorruptStore("deadline key"))?;
            let due = i64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| RouterError::CorruptStore("deadline"))?,
            );
            if due <= now_ms {
                out.push(ComplaintId::from_bytes(key));
            }
        }
        Ok(out)
    }
}
