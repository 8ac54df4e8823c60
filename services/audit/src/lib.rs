//! What auditors (Inspektorat, the Ombudsman) see: every event of a complaint
//! as a readable history, and the whole log exported with its envelopes —
//! as JSON lines or CloudEvents 1.0 — in a form that imports back to the very
//! same positions and hashes ([`import`], through the log's own import). It
//! reads the log and restores exports into an empty one; it never changes
//! history.

use aduan_domain::{event::RuleSetEvent, ComplaintEvent};
use aduan_log::RecordedEvent;

mod check;
pub mod export;
pub mod framing;
pub mod history;
mod import;
pub mod redact;

pub use check::{check_export, ExportReport};
pub use export::{
    envelope_json, export, from_cloudevent, from_jsonl, read_line, to_cloudevent, to_jsonl,
    write_line, write_line_into, ExportLine, Format,
};
pub use history::{rows, table, HistoryRow};
pub use import::{import, BATCH as IMPORT_BATCH};
pub use redact::{redact, RedactionKey};

/// Why an audit operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A line of an export could not be read back.
    #[error("line {line}: {reason}")]
    BadLine {
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        reason: String,
    },
    /// A line's readable `data` is not what its payload decodes to: the file
    /// was edited, and a reader would see something the log does not hold.
    #[error(
        "line {line} (position {position}): `data` differs from the decoded payload at {path}"
    )]
    DataMismatch {
        /// 1-based line number.
        line: u64,
        /// The position the line claims.
        position: u64,
        /// Where the first difference is, as a JSON path (`data.body`).
        path: String,
    },
    /// A line does not continue the export before it, or its record hash
    /// does not match its contents.
    #[error("line {line} (position {position}): {reason}")]
    Chain {
        /// 1-based line number.
        line: u64,
        /// The position the line claims.
        position: u64,
        /// What was wrong.
        reason: String,
    },
    /// A redacted export cannot be imported: its payloads lack the reporter
    /// identity their hashes cover.
    #[error("line {line} is from a redacted export (`export --redact`): its payloads lack the reporter identity their hashes cover, so it cannot be imported; import a full export")]
    Redacted {
        /// 1-based number of the first redacted line.
        line: u64,
    },
    /// A record that should be redacted could not be: where its identity lies is unknown.
    #[error("position {position} cannot be redacted: {reason}")]
    Unredactable {
        /// Its position.
        position: u64,
        /// Why it did not decode.
        reason: String,
    },
    /// An import needs an empty log; this one holds events.
    #[error("import needs an empty log; this one holds {head} events")]
    NotEmpty {
        /// The log's head position.
        head: u64,
    },
    /// The log refused or failed.
    #[error(transparent)]
    Log(#[from] aduan_log::LogError),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The payload of `e` decoded, to serialise as JSON (proto field names;
/// `null` when this build does not know its type) without building a JSON
/// tree first.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Decoded {
    /// A complaint event.
    Complaint(Box<ComplaintEvent>),
    /// A rule-set publication.
    RuleSet(aduan_proto::v1::RuleSetPublished),
    /// A type this build does not know.
    Unknown(()),
}

/// The payload of `e` decoded (see [`Decoded`]).
pub fn decoded(e: &RecordedEvent) -> Decoded {
    if let Ok(c) = ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload) {
        return Decoded::Complaint(Box::new(c));
    }
    match RuleSetEvent::decode(&e.event_type, e.schema_version, &e.payload) {
        Ok(RuleSetEvent::Published(p)) => Decoded::RuleSet(p),
        Err(_) => Decoded::Unknown(()),
    }
}

/// The payload of `e` as a JSON value, or `null` when this build does not know its type.
pub fn payload_json(e: &RecordedEvent) -> serde_json::Value {
    serde_json::to_value(decoded(e)).unwrap_or(serde_json::Value::Null)
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: i64) -> String {
    aduan_domain::calendar::from_unix_ms(ms)
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Parses a 32-byte hash written as 64 hex digits.
pub fn parse_hash(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod hex_tests {
    #[test]
    fn hex_is_lowercase_two_digits_a_byte_and_parses_back() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        let hash: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(super::parse_hash(&super::hex(&hash)), Some(hash));
    }
}
