//! Checking an export file on its own, without a log to import it into: every
//! line's `data` against its payload, every record's hash against its
//! contents, and the chain (positions, previous hashes, stream versions) from
//! line to line. An import runs the same check over the whole file before it
//! appends anything, so a refused import leaves the log as it was.
//!
//! A redacted export (`export --redact`) is checked the same way, except that
//! a line that says it is redacted and whose reporter identity is in the
//! redacted form carries its original record hash, which cannot be recomputed
//! without the identity: the chain runs through it (the next record's hash
//! covers it as `prev_hash`), so a file whose last hash matches the log's head
//! has every carried hash right, but the rest of such a line's content is
//! attested only by the line's own `data` check.

use std::collections::HashMap;
use std::io::BufRead;

use aduan_log::record::{self, GENESIS, HASH_LEN};

use crate::{export, redact, AuditError, ExportLine};

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
    /// The first line that says it is redacted, if any.
    pub first_redacted_line: Option<u64>,
    /// Redacted lines whose record hash is carried, not recomputed.
    pub carried: u64,
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
    fn next(&mut self, line: &ExportLine, n: u64) -> Result<(), AuditError> {
        let e = &line.event;
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
            if !(line.redacted && redact::is_redacted(e)) {
                return Err(bad("record hash does not match its contents".into()));
            }
            self.report.carried += 1;
        }
        if line.redacted && self.report.first_redacted_line.is_none() {
            self.report.first_redacted_line = Some(n);
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
            first_redacted_line: None,
            carried: 0,
        },
        versions: HashMap::new(),
    };
    for (n, line) in (1..).zip(lines.lines()) {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let l = export::read_line(&line, n)?;
        chain.next(&l, n)?;
        progress(l.event.position);
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

#[cfg(test)]
mod redacted_tests {
    use aduan_domain::ComplaintEvent;
    use aduan_log::memory::MemoryLog;
    use aduan_log::{EventLog, ExpectedVersion, NewEvent};
    use aduan_proto::v1;
    use serde_json::Value;

    use super::*;
    use crate::{redact, write_line, Format, RedactionKey};

    /// Three complaints, two naming their reporter, each followed by a reply.
    async fn log() -> Vec<aduan_log::RecordedEvent> {
        let log = MemoryLog::new();
        for (i, name) in ["Siti Aminah", "", "Budi Santoso"].into_iter().enumerate() {
            let received = ComplaintEvent::from(v1::ComplaintReceived {
                body: format!("jalan rusak {i}"),
                reporter: Some(v1::Reporter {
                    name: name.into(),
                    phone: if name.is_empty() { "" } else { "+628123" }.into(),
                    email: String::new(),
                    privacy: "confidential".into(),
                }),
                ..Default::default()
            });
            let reply = ComplaintEvent::from(v1::ReporterReplied {
                message: "terima kasih".into(),
                at_ms: 1,
            });
            let events = [received, reply]
                .iter()
                .map(|e| NewEvent::new(e.type_name(), "test", e.encode()))
                .collect();
            log.append(&format!("complaint-{i}"), ExpectedVersion::Any, events)
                .await
                .expect("append");
        }
        log.read_all(1, 100).await.expect("read")
    }

    fn redacted_lines(all: &[aduan_log::RecordedEvent], format: Format) -> Vec<String> {
        let key = RedactionKey::from_bytes([3; 32]);
        all.iter()
            .map(|e| {
                let r = redact(e, &key).expect("redact");
                write_line(r.as_ref().unwrap_or(e), format, true)
            })
            .collect()
    }

    fn check(lines: &[String]) -> Result<ExportReport, AuditError> {
        check_export((lines.join("\n") + "\n").as_bytes(), |_| {})
    }

    #[tokio::test]
    async fn a_redacted_export_checks_its_carried_chain_and_names_nobody() {
        let all = log().await;
        for format in [Format::Jsonl, Format::CloudEvents] {
            let lines = redacted_lines(&all, format);
            let text = lines.join("\n");
            assert!(
                !text.contains("Siti") && !text.contains("+628123"),
                "{text}"
            );
            let r = check(&lines).expect("a redacted export checks");
            assert_eq!((r.events, r.carried), (6, 2));
            assert_eq!(r.head_hash, all[5].hash);
            assert_eq!(r.first_redacted_line, Some(1));
            let r = crate::import(&MemoryLog::new(), std::io::Cursor::new(text.clone())).await;
            assert!(matches!(r, Err(AuditError::Redacted { line: 1 })), "{r:?}");
        }
    }

    #[tokio::test]
    async fn what_a_redacted_export_cannot_hide() {
        let all = log().await;
        let lines = redacted_lines(&all, Format::Jsonl);
        let edit = |i: usize, f: &dyn Fn(&mut Value)| {
            let mut copy = lines.clone();
            let mut v: Value = serde_json::from_str(&copy[i]).expect("json");
            f(&mut v);
            copy[i] = v.to_string();
            check(&copy)
        };
        // A line that drops its mark must match its hash, and a redacted one does not.
        let r = edit(0, &|v| v["redacted"] = Value::Bool(false));
        let named = matches!(&r, Err(AuditError::Chain { line: 1, reason, .. })
            if reason.contains("record hash"));
        assert!(named, "{r:?}");
        // A carried hash replaced: the next line's prev_hash no longer links to it.
        let r = edit(0, &|v| v["hash"] = Value::String("ab".repeat(32)));
        assert!(matches!(r, Err(AuditError::Chain { line: 2, .. })), "{r:?}");
        // An unredacted record of a redacted export is still recomputed: its reply edited
        // in payload and data alike is refused.
        let reply = ComplaintEvent::from(v1::ReporterReplied {
            message: "tidak puas".into(),
            at_ms: 1,
        });
        let r = edit(1, &|v| {
            v["payload"] = Value::String(base64_of(&reply.encode()));
            v["data"]["message"] = Value::String("tidak puas".into());
        });
        assert!(matches!(r, Err(AuditError::Chain { line: 2, .. })), "{r:?}");
        // A "redacted" line whose reporter is named in clear is not a redacted record.
        let mut named = all[0].clone();
        named.payload = ComplaintEvent::from(v1::ComplaintReceived {
            body: "jalan rusak 0".into(),
            reporter: Some(v1::Reporter {
                name: "Siti Aminah".into(),
                privacy: "confidential".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .encode();
        let mut copy = lines.clone();
        copy[0] = write_line(&named, Format::Jsonl, true);
        let r = check(&copy);
        assert!(matches!(r, Err(AuditError::Chain { line: 1, .. })), "{r:?}");
    }

    fn base64_of(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}
