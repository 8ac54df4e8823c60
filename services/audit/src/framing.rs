//! How the events of an export are framed in its file: one a line (JSON lines
//! and CloudEvents structured mode), or one JSON array for the CloudEvents
//! JSON batch format, `application/cloudevents-batch+json`, still one event a
//! line inside the brackets so that the file stays readable with line tools.

use std::io::{self, Write};

use crate::Format;

/// Writes the events of one export, framed as its [`Format`] wants.
#[derive(Debug)]
pub struct Framed<W: Write> {
    out: W,
    format: Format,
    written: u64,
}

impl<W: Write> Framed<W> {
    /// Starts an export in `format` on `out`.
    pub fn new(mut out: W, format: Format) -> io::Result<Self> {
        if format == Format::CloudEventsBatch {
            out.write_all(b"[")?;
        }
        Ok(Self {
            out,
            format,
            written: 0,
        })
    }

    /// The format it writes.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Writes one event, as [`crate::write_line`] made it.
    pub fn event(&mut self, line: impl AsRef<[u8]>) -> io::Result<()> {
        if self.format == Format::CloudEventsBatch && self.written > 0 {
            self.out.write_all(b",")?;
        }
        if self.format == Format::CloudEventsBatch {
            self.out.write_all(b"\n")?;
        }
        self.out.write_all(line.as_ref())?;
        if self.format != Format::CloudEventsBatch {
            self.out.write_all(b"\n")?;
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the export (the closing bracket of a batch) and flushes; returns
    /// the output and how many events were written.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        if self.format == Format::CloudEventsBatch {
            self.out.write_all(b"\n]\n")?;
        }
        self.out.flush()?;
        Ok((self.out, self.written))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(format: Format, events: &[&str]) -> String {
        let mut f = Framed::new(Vec::new(), format).expect("start");
        for e in events {
            f.event(e).expect("event");
        }
        let (out, n) = f.finish().expect("finish");
        assert_eq!(n, events.len() as u64);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_batch_is_one_json_array_of_the_events_and_lines_are_lines() {
        let events = [r#"{"id":"1"}"#, r#"{"id":"2"}"#];
        let batch = framed(Format::CloudEventsBatch, &events);
        assert_eq!(batch, "[\n{\"id\":\"1\"},\n{\"id\":\"2\"}\n]\n");
        let v: serde_json::Value = serde_json::from_str(&batch).expect("JSON");
        assert_eq!(v, serde_json::json!([{"id": "1"}, {"id": "2"}]));
        let empty: serde_json::Value =
            serde_json::from_str(&framed(Format::CloudEventsBatch, &[])).expect("JSON");
        assert_eq!(empty, serde_json::json!([]));
        for format in [Format::Jsonl, Format::CloudEvents] {
            assert_eq!(framed(format, &events), "{\"id\":\"1\"}\n{\"id\":\"2\"}\n");
            assert_eq!(framed(format, &[]), "");
        }
    }
}
