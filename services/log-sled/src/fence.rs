//! The fence: where the next open cuts the log back to after a commit that
//! failed and could not be undone.
//!
//! A failed `flush` does not mean sled wrote nothing: it writes its buffers in
//! turn, so a group whose flush failed (a full disk, say) can be whole on disk
//! while its appenders were told it failed, and sled 0.34 keeps the first I/O
//! error for the life of the handle, so the writer cannot remove it again. It
//! then writes the head it had before that group here. The next open removes
//! every record after it, so a refused append appends nothing, even then.
//!
//! The file is created with its full length at open and only ever overwritten
//! in place, so writing it needs no new space on a full disk. Layout: the head
//! (u64), its record's hash, and the BLAKE3 of both; all zeros when no cut is
//! pending. A fence that does not check out (torn by a crash while being
//! written or cleared) is treated as clear: whoever was writing it had not yet
//! answered anyone.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use aduan_log::record::HASH_LEN;
use aduan_log::LogError;

/// The fence's file in the log's directory.
pub(crate) const FILE: &str = "fence";

const LEN: usize = 8 + HASH_LEN + 32;

/// The head (position and hash) the log is to be cut back to.
pub(crate) type Cut = (u64, [u8; HASH_LEN]);

/// The fence of one open log.
#[derive(Debug)]
pub(crate) struct Fence {
    file: File,
    sync: bool,
}

impl Fence {
    /// Opens the fence in `dir`, creating it (full length, synced with its
    /// directory entry unless `sync` is false) when it is missing.
    pub(crate) fn open(dir: &Path, sync: bool) -> Result<Self, LogError> {
        let path = dir.join(FILE);
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(LogError::storage)?;
        let fence = Self { file, sync };
        let len = fence.file.metadata().map_err(LogError::storage)?.len();
        if len != LEN as u64 {
            fence.write(&[0; LEN])?;
        }
        if !existed && sync {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(LogError::storage)?;
        }
        Ok(fence)
    }

    /// The pending cut, if any.
    pub(crate) fn pending(&mut self) -> Result<Option<Cut>, LogError> {
        let mut bytes = Vec::with_capacity(LEN);
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.read_to_end(&mut bytes))
            .map_err(LogError::storage)?;
        Ok(decode(&bytes))
    }

    /// Records that the next open must cut the log back to `cut`, durably.
    pub(crate) fn set(&self, cut: Cut) -> Result<(), LogError> {
        self.write(&encode(cut))
    }

    /// Records that no cut is pending, durably.
    pub(crate) fn clear(&self) -> Result<(), LogError> {
        self.write(&[0; LEN])
    }

    fn write(&self, bytes: &[u8; LEN]) -> Result<(), LogError> {
        let mut f = &self.file;
        f.seek(SeekFrom::Start(0))
            .and_then(|_| f.write_all(bytes))
            .and_then(|_| f.set_len(LEN as u64))
            .map_err(LogError::storage)?;
        if self.sync {
            f.sync_data().map_err(LogError::storage)?;
        }
        Ok(())
    }
}

/// The pending cut in the log directory `dir` without creating or changing
/// anything there (for a log opened read-only).
pub(crate) fn pending_in(dir: &Path) -> Result<Option<Cut>, LogError> {
    match std::fs::read(dir.join(FILE)) {
        Ok(bytes) => Ok(decode(&bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::storage(e)),
    }
}

fn encode((head, hash): Cut) -> [u8; LEN] {
    let mut out = [0; LEN];
    out[..8].copy_from_slice(&head.to_be_bytes());
    out[8..8 + HASH_LEN].copy_from_slice(&hash);
    let sum = blake3::hash(&out[..8 + HASH_LEN]);
    out[8 + HASH_LEN..].copy_from_slice(sum.as_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<Cut> {
    if bytes.len() != LEN || bytes.iter().all(|b| *b == 0) {
        return None;
    }
    let (body, sum) = bytes.split_at(8 + HASH_LEN);
    if blake3::hash(body).as_bytes()[..] != *sum {
        tracing::warn!("the log's fence is damaged; taken as clear");
        return None;
    }
    let head = u64::from_be_bytes(body[..8].try_into().ok()?);
    Some((head, body[8..].try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_fence_reads_back_and_a_cleared_or_torn_one_reads_as_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut fence = Fence::open(dir.path(), true).expect("open");
        assert_eq!(fence.pending().expect("read"), None);
        let cut = (41, [7; HASH_LEN]);
        fence.set(cut).expect("set");
        assert_eq!(fence.pending().expect("read"), Some(cut));
        assert_eq!(pending_in(dir.path()).expect("read"), Some(cut));
        drop(fence);
        let mut fence = Fence::open(dir.path(), true).expect("reopen");
        assert_eq!(fence.pending().expect("read"), Some(cut), "kept");
        fence.clear().expect("clear");
        assert_eq!(fence.pending().expect("read"), None);

        let mut torn = encode(cut);
        torn[3] ^= 1;
        std::fs::write(dir.path().join(FILE), torn).expect("tear");
        assert_eq!(pending_in(dir.path()).expect("read"), None);
        assert_eq!(pending_in(&dir.path().join("none")).expect("none"), None);
    }
}
