//! Restoring an export: its lines read back and stored verbatim through the
//! log's own [`EventLog::import`], so any backend restores it with the same
//! positions and hashes, and refuses a line that would break the chain.

use std::io::BufRead;

use aduan_log::EventLog;

use crate::{export, AuditError};

/// Records imported per call of [`EventLog::import`].
pub const BATCH: usize = 4096;

/// Imports every line of `lines` (an export in either format; blank lines
/// are skipped) into `log`, which must be empty, in batches of [`BATCH`].
/// Returns the head reached. A batch the log refuses stops the import; the
/// batches before it stay imported.
pub async fn import<L: EventLog>(log: &L, lines: impl BufRead) -> Result<u64, AuditError> {
    let head = *log.head().borrow();
    if head != 0 {
        return Err(AuditError::NotEmpty { head });
    }
    let mut batch = Vec::with_capacity(BATCH);
    for (n, line) in (1..).zip(lines.lines()) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        batch.push(export::from_line(&line, n)?);
        if batch.len() == BATCH {
            log.import(std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        log.import(batch).await?;
    }
    let head = *log.head().borrow();
    Ok(head)
}

#[cfg(test)]
mod tests {
    use aduan_log::memory::MemoryLog;
    use aduan_log::{ExpectedVersion, LogError, NewEvent};

    use super::*;

    async fn exported(log: &MemoryLog, format: crate::Format) -> String {
        let all = log.read_all(1, 10_000).await.expect("read");
        let line = |e| match format {
            crate::Format::Jsonl => crate::to_jsonl(e),
            crate::Format::CloudEvents => crate::to_cloudevent(e),
        };
        all.iter().map(|e| line(e) + "\n\n").collect()
    }

    async fn populated() -> MemoryLog {
        let log = MemoryLog::new();
        for i in 0..30 {
            let e = NewEvent::new("Imported", "test", vec![i as u8; 3]);
            log.append(&format!("s{}", i % 4), ExpectedVersion::Any, vec![e])
                .await
                .expect("append");
        }
        log
    }

    #[tokio::test]
    async fn an_export_imports_back_to_the_same_records() {
        let src = populated().await;
        for format in [crate::Format::Jsonl, crate::Format::CloudEvents] {
            let dst = MemoryLog::new();
            let text = exported(&src, format).await;
            let head = import(&dst, text.as_bytes()).await.expect("import");
            assert_eq!(head, 30);
            assert_eq!(
                dst.read_all(1, 100).await.expect("dst"),
                src.read_all(1, 100).await.expect("src")
            );
        }
    }

    #[tokio::test]
    async fn a_log_with_events_is_refused_and_a_broken_chain_too() {
        let src = populated().await;
        let text = exported(&src, crate::Format::Jsonl).await;
        let r = import(&src, text.as_bytes()).await;
        assert!(matches!(r, Err(AuditError::NotEmpty { head: 30 })), "{r:?}");
        let dst = MemoryLog::new();
        let lines = text.lines().filter(|l| !l.is_empty());
        let gap: String = lines.skip(1).map(|l| format!("{l}\n")).collect();
        let r = import(&dst, gap.as_bytes()).await;
        let refused = matches!(
            r,
            Err(AuditError::Log(LogError::Corrupt { position: 2, .. }))
        );
        assert!(refused, "{r:?}");
        assert_eq!(*dst.head().borrow(), 0);
    }
}
