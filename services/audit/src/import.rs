//! Restoring an export: its lines read back and stored verbatim through the
//! log's own [`EventLog::import`], so any backend restores it with the same
//! positions and hashes, and refuses a line that would break the chain.
//! The whole file is checked first ([`check_export`]), so a bad line late in
//! a long export is refused before any batch is stored.

use std::io::{BufRead, Seek, SeekFrom};

use aduan_log::EventLog;

use crate::{check_export, export, AuditError};

/// Records imported per call of [`EventLog::import`].
pub const BATCH: usize = 4096;

/// Imports every line of `lines` (an export in either format; blank lines
/// are skipped) into `log`, which must be empty, in batches of [`BATCH`].
/// Returns the head reached. Every line is checked before the first batch is
/// stored, so a refusal appends nothing (unless the file changes between the
/// check and the import: the log's own import check then still refuses a
/// batch that breaks the chain, and the batches before it stay imported).
pub async fn import<L: EventLog>(
    log: &L,
    mut lines: impl BufRead + Seek,
) -> Result<u64, AuditError> {
    let head = *log.head().borrow();
    if head != 0 {
        return Err(AuditError::NotEmpty { head });
    }
    let report = check_export(&mut lines, |_| {})?;
    if let Some(line) = report.first_redacted_line {
        return Err(AuditError::Redacted { line });
    }
    lines.seek(SeekFrom::Start(0))?;
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
    use std::io::Cursor;

    use super::*;

    async fn exported(log: &MemoryLog, format: crate::Format) -> String {
        let all = log.read_all(1, 10_000).await.expect("read");
        let line = |e| match format {
            crate::Format::Jsonl => crate::to_jsonl(e),
            crate::Format::CloudEvents | crate::Format::CloudEventsBatch => crate::to_cloudevent(e),
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
            let head = import(&dst, Cursor::new(text)).await.expect("import");
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
        let r = import(&src, Cursor::new(&text)).await;
        assert!(matches!(r, Err(AuditError::NotEmpty { head: 30 })), "{r:?}");
        let dst = MemoryLog::new();
        let lines = text.lines().filter(|l| !l.is_empty());
        let gap: String = lines.skip(1).map(|l| format!("{l}\n")).collect();
        let r = import(&dst, Cursor::new(gap)).await;
        let refused = matches!(
            r,
            Err(AuditError::Log(LogError::Corrupt { position: 2, .. }))
        );
        assert!(refused, "{r:?}");
        assert_eq!(*dst.head().borrow(), 0);
    }

    #[tokio::test]
    async fn a_bad_line_after_the_first_batch_is_refused_before_anything_is_stored() {
        let src = MemoryLog::new();
        let n = BATCH as u64 + 10;
        let events: Vec<NewEvent> = (0..n)
            .map(|i| {
                let m = aduan_proto::v1::ReporterReplied {
                    message: format!("jawaban {i}"),
                    at_ms: 0,
                };
                let e = aduan_domain::ComplaintEvent::from(m);
                NewEvent::new(e.type_name(), "test", e.encode())
            })
            .collect();
        for chunk in events.chunks(500) {
            src.append("s", ExpectedVersion::Any, chunk.to_vec())
                .await
                .expect("append");
        }
        let all = src.read_all(1, n as usize).await.expect("read");
        let mut text: String = all.iter().map(|e| crate::to_jsonl(e) + "\n").collect();
        let last = format!("jawaban {}", n - 1);
        text = text.replace(&format!("\"message\":\"{last}\""), "\"message\":\"pujian\"");
        let dst = MemoryLog::new();
        let r = import(&dst, Cursor::new(text)).await;
        let named = matches!(&r, Err(AuditError::DataMismatch { line, position, .. })
            if *line == n && *position == n);
        assert!(named, "{r:?}");
        assert_eq!(*dst.head().borrow(), 0, "nothing may be stored");
    }
}
