//! Checking an export file on its own, without a log to import it into: every
//! line's `data` against its payload, every record's hash against its
//! contents, and the chain (positions, previous hashes, stream versions) from
//! line to line. An import runs the same check over the whole file before it
//! appends anything, so a refused import leaves the log as it was.

use std::collections::HashMap;
use std::io::BufRead;

use aduan_log::record::{self, GENESIS, HASH_LEN};

use aduan_log::RecordedEvent;

use crate::{export, AuditError};

/// What a checked export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    /// Events (non-blank lines).
    pub events: u64,
    /// Position of the first line (0 when the file is empty).
    pub first_position: u64,
    /// Position of the last line (0 when the file is empty).
    pub last_position: u64,
    /// Hash of the last line's record: compare it with `aduan audit verify`.
    pub head_hash: [u8; HASH_LEN],
}

/// The chain as far as the lines read so far.
struct Chain {
    report: ExportReport,
    /// Versions each stream has reached in the file.
    versions: HashMap<String, u64>,
}

impl Chain {
    /// Checks that `e`, read from line `n`, continues the lines before it.
    /// The same checks as the log's `ImportCheck`, except that an export that
    /// starts after position 1 cannot know the first hash or versions before it.
    fn next(&mut self, e: &RecordedEvent, n: u64) -> Result<(), AuditError> {
        let bad = |reason: String| AuditError::Chain {
            line: n,
            position: e.position,
            reason,
        };
        aduan_log::check_recorded_event(e).map_err(|err| bad(err.to_string()))?;
        let first = self.report.events == 0;
        // A file from position 1 holds every stream from its first event.
        let from_start = if first {
            e.position == 1
        } else {
            self.report.first_position == 1
        };
        if !first && e.position != self.report.last_position + 1 {
            return Err(bad(format!(
                "expected position {}",
                self.report.last_position + 1
            )));
        }
        let expected_prev = if first && e.position == 1 {
            Some(GENESIS)
        } else if first {
            None
        } else {
            Some(self.report.head_hash)
        };
        if expected_prev.is_some_and(|h| h != e.prev_hash) {
            return Err(bad("breaks the hash chain (prev_hash)".into()));
        }
        match self.versions.get(&e.stream_id) {
            Some(v) if e.stream_version != v + 1 => {
                return Err(bad(format!(
                    "gives {} version {} after version {v}",
                    e.stream_id, e.stream_version
                )));
            }
            None if from_start && e.stream_version != 1 => {
                return Err(bad(format!(
                    "gives {} version {} as its first event",
                    e.stream_id, e.stream_version
                )));
            }
            _ => {}
        }
        if record::encode(e).1 != e.hash {
            return Err(bad("record hash does not match its contents".into()));
        }
        self.versions.insert(e.stream_id.clone(), e.stream_version);
        if first {
            self.report.first_position = e.position;
        }
        self.report.events += 1;
        self.report.last_position = e.position;
        self.report.head_hash = e.hash;
        Ok(())
    }
}

/// Checks every line of an export (either format; blank lines are skipped).
/// `progress` is told each line's position. The first bad line is the error:
/// [`AuditError::BadLine`], [`AuditError::DataMismatch`] or [`AuditError::Chain`].
pub fn check_export(
    lines: impl BufRead,
    mut progress: impl FnMut(u64),
) -> Result<ExportReport, AuditError> {
    let mut chain = Chain {
        report: ExportReport {
            events: 0,
            first_position: 0,
            last_position: 0,
            head_hash: GENESIS,
        },
        versions: HashMap::new(),
    };
    for (n, line) in (1..).zip(lines.lines()) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let e = export::from_line(&line, n)?;
        chain.next(&e, n)?;
        progress(e.position);
    }
    Ok(chain.report)
}

#[cfg(test)]
mod tests {
    use aduan_log::memory::MemoryLog;
    use aduan_log::{EventLog, ExpectedVersion, NewEvent};

    use super::*;

    async fn lines() -> Vec<String> {
        let log = MemoryLog::new();
        for i in 0..6u8 {
            let e = NewEvent::new("Opaque", "test", vec![i; 4]);
            log.append(&format!("s{}", i % 2), ExpectedVersion::Any, vec![e])
                .await
                .expect("append");
        }
        let all = log.read_all(1, 10).await.expect("read");
        all.iter().map(crate::to_jsonl).collect()
    }

    fn check(lines: &[String]) -> Result<ExportReport, AuditError> {
        check_export((lines.join("\n") + "\n").as_bytes(), |_| {})
    }

    #[tokio::test]
    async fn an_intact_export_or_its_tail_passes_and_each_break_is_named() {
        let all = lines().await;
        let r = check(&all).expect("intact");
        assert_eq!((r.events, r.first_position, r.last_position), (6, 1, 6));
        let tail = check(&all[2..]).expect("a tail from position 3");
        assert_eq!((tail.first_position, tail.head_hash), (3, r.head_hash));

        let mut gap = all.clone();
        gap.remove(2);
        let r = check(&gap);
        assert!(
            matches!(
                r,
                Err(AuditError::Chain {
                    line: 3,
                    position: 4,
                    ..
                })
            ),
            "{r:?}"
        );
        let mut swapped = all.clone();
        swapped.swap(3, 4);
        let r = check(&swapped);
        assert!(matches!(r, Err(AuditError::Chain { line: 4, .. })), "{r:?}");
        // A new hash on line 5 (position 5) breaks that record's own hash.
        let mut forged = all.clone();
        let v: serde_json::Value = serde_json::from_str(&forged[4]).expect("json");
        let hash = v["hash"].as_str().expect("hash").to_owned();
        forged[4] = forged[4].replace(&hash, &"ab".repeat(32));
        let r = check(&forged);
        let named = matches!(&r, Err(AuditError::Chain { line: 5, position: 5, reason })
            if reason.contains("record hash"));
        assert!(named, "{r:?}");
        // A stream that starts at version 2 in a file from position 1.
        let r = check(&all[1..2]);
        assert!(
            r.is_ok(),
            "a file from position 2 knows no versions before it: {r:?}"
        );
    }
}
