//! The log as text: one JSON object a line, each envelope with its payload
//! both exact (base64, so a re-import reproduces the hash) and decoded (for
//! people and other tools). CloudEvents 1.0 structured mode carries the
//! envelope in extension attributes.
//!
//! Only the payload is covered by the record hash, so a reader of the decoded
//! `data` would trust text nothing checks. Reading a line back therefore
//! refuses one whose `data` is not exactly what its payload decodes to
//! ([`AuditError::DataMismatch`], naming the line, position and field).

use std::io::Write;

use aduan_log::{EventLog, ReadAhead, RecordedEvent};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use std::borrow::Cow;

use crate::framing::Framed;
use crate::{decoded, hex, parse_hash, payload_json, rfc3339, AuditError, Decoded, RedactionKey};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// aduan's own envelope, one JSON object a line.
    Jsonl,
    /// CloudEvents 1.0 structured-mode JSON, one a line.
    CloudEvents,
    /// CloudEvents 1.0 JSON batch (`application/cloudevents-batch+json`): one
    /// JSON array of the same events, one a line ([`crate::framing`]). For
    /// CloudEvents consumers; `import` and `check-export` read the line forms.
    CloudEventsBatch,
}

/// The JSON-lines form of one envelope: written with its strings borrowed
/// and `data` serialised straight from the decoded payload ([`Decoded`]),
/// read back owned with `data` as a JSON value to compare.
#[derive(Debug, Serialize, Deserialize)]
struct Line<'a, D> {
    position: u64,
    event_id: Uuid,
    stream_id: Cow<'a, str>,
    stream_version: u64,
    recorded_at: String,
    recorded_at_ms: i64,
    event_type: Cow<'a, str>,
    schema_version: u32,
    actor: Cow<'a, str>,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    prev_hash: String,
    hash: String,
    payload: String,
    #[serde(default)]
    data: D,
    /// Written only by `export --redact`: the payload's reporter identity is
    /// replaced, and `hash` is the original record's (see [`crate::redact`]).
    #[serde(default, skip_serializing_if = "is_false")]
    redacted: bool,
}

/// A line as read back, owned, with `data` as written.
type ReadLine = Line<'static, Value>;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One line read back: the envelope, and whether the line says it is redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportLine {
    /// The envelope as the line holds it.
    pub event: RecordedEvent,
    /// The line comes from `export --redact`.
    pub redacted: bool,
}

/// One envelope as a line of `format` (without the newline). `redacted`
/// marks a line of a redacted export, whose `e` was passed through
/// [`crate::redact`].
pub fn write_line(e: &RecordedEvent, format: Format, redacted: bool) -> String {
    let mut buf = Vec::new();
    write_line_into(&mut buf, e, format, redacted);
    String::from_utf8(buf).unwrap_or_default()
}

/// [`write_line`] appended to `buf`, so that an export reuses one buffer.
pub fn write_line_into(buf: &mut Vec<u8>, e: &RecordedEvent, format: Format, redacted: bool) {
    // Serialising these values into memory cannot fail: their maps have string keys.
    let _ = match format {
        Format::Jsonl => serde_json::to_writer(
            buf,
            &Line {
                redacted,
                ..line(e)
            },
        ),
        Format::CloudEvents | Format::CloudEventsBatch => {
            let mut v = cloudevent(e);
            if redacted {
                v["aduanredacted"] = Value::Bool(true);
            }
            serde_json::to_writer(buf, &v)
        }
    };
}

/// Writes the events `from..=to` of `log` to `out` in its format, redacted
/// with `redact` when given; `progress` gets the number written after each
/// page. Returns that number. The tasks that read the pages ahead
/// ([`aduan_log::ReadAhead`]) also turn them into lines, so that this only
/// copies lines out.
pub async fn export<L: EventLog + Clone, W: Write>(
    log: &L,
    (from, to): (u64, u64),
    redact: Option<&RedactionKey>,
    out: &mut Framed<W>,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, AuditError> {
    let (format, redact) = (out.format(), redact.cloned());
    let mut pages = ReadAhead::rendered(log, from.max(1), to, move |page| {
        Lines::of(&page, format, redact.as_ref())
    });
    let mut written = 0u64;
    while let Some(lines) = pages.next().await? {
        let lines = lines?;
        let mut start = 0;
        for &end in &lines.ends {
            out.event(&lines.text[start..end])?;
            start = end;
        }
        written += lines.ends.len() as u64;
        progress(written);
    }
    Ok(written)
}

/// A page of export lines in one buffer, each ending where `ends` says.
struct Lines {
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl Lines {
    fn of(
        page: &[RecordedEvent],
        format: Format,
        redact: Option<&RedactionKey>,
    ) -> Result<Self, AuditError> {
        let mut lines = Self {
            text: Vec::with_capacity(page.len() * 1024),
            ends: Vec::with_capacity(page.len()),
        };
        for e in page {
            match redact {
                None => write_line_into(&mut lines.text, e, format, false),
                Some(key) => {
                    let r = crate::redact(e, key)?;
                    write_line_into(&mut lines.text, r.as_ref().unwrap_or(e), format, true);
                }
            }
            lines.ends.push(lines.text.len());
        }
        Ok(lines)
    }
}

/// One envelope as a JSON line (without the newline).
pub fn to_jsonl(e: &RecordedEvent) -> String {
    serde_json::to_string(&line(e)).unwrap_or_default()
}

/// One envelope, with its payload exact and decoded, as a JSON value.
pub fn envelope_json(e: &RecordedEvent) -> Value {
    serde_json::to_value(line(e)).unwrap_or(Value::Null)
}

fn line(e: &RecordedEvent) -> Line<'_, Decoded> {
    Line {
        position: e.position,
        event_id: e.event_id,
        stream_id: Cow::Borrowed(&e.stream_id),
        stream_version: e.stream_version,
        recorded_at: rfc3339(e.recorded_at_ms),
        recorded_at_ms: e.recorded_at_ms,
        event_type: Cow::Borrowed(&e.event_type),
        schema_version: e.schema_version,
        actor: Cow::Borrowed(&e.actor),
        correlation_id: e.correlation_id,
        causation_id: e.causation_id,
        prev_hash: hex(&e.prev_hash),
        hash: hex(&e.hash),
        payload: B64.encode(&e.payload),
        data: decoded(e),
        redacted: false,
    }
}

fn bad(line: u64, reason: impl Into<String>) -> AuditError {
    AuditError::BadLine {
        line,
        reason: reason.into(),
    }
}

/// Reads back a line written by [`to_jsonl`] (line number `n` for errors).
pub fn from_jsonl(text: &str, n: u64) -> Result<RecordedEvent, AuditError> {
    let l: ReadLine = serde_json::from_str(text).map_err(|e| bad(n, e.to_string()))?;
    unredacted(from_line_struct(l, n)?, n)
}

/// The envelope of a line that does not say it is redacted.
fn unredacted(l: ExportLine, n: u64) -> Result<RecordedEvent, AuditError> {
    if l.redacted {
        return Err(AuditError::Redacted { line: n });
    }
    Ok(l.event)
}

fn from_line_struct(l: ReadLine, n: u64) -> Result<ExportLine, AuditError> {
    let e = RecordedEvent {
        event_id: l.event_id,
        stream_id: l.stream_id.into_owned(),
        stream_version: l.stream_version,
        position: l.position,
        recorded_at_ms: l.recorded_at_ms,
        event_type: l.event_type.into_owned(),
        schema_version: l.schema_version,
        actor: l.actor.into_owned(),
        correlation_id: l.correlation_id,
        causation_id: l.causation_id,
        payload: B64
            .decode(l.payload)
            .map_err(|e| bad(n, format!("payload: {e}")))?,
        prev_hash: parse_hash(&l.prev_hash)
            .ok_or_else(|| bad(n, "prev_hash is not 64 hex digits"))?,
        hash: parse_hash(&l.hash).ok_or_else(|| bad(n, "hash is not 64 hex digits"))?,
    };
    check_data(&e, &l.data, n)?;
    Ok(ExportLine {
        event: e,
        redacted: l.redacted,
    })
}

/// Refuses `data` (absent counts as `null`) unless it equals the decoded payload of `e`.
fn check_data(e: &RecordedEvent, data: &Value, n: u64) -> Result<(), AuditError> {
    match difference(&payload_json(e), data, "data") {
        None => Ok(()),
        Some(path) => Err(AuditError::DataMismatch {
            line: n,
            position: e.position,
            path,
        }),
    }
}

/// The JSON path of the first place where `written` differs from `decoded`.
/// A field `written` lacks is no difference when its decoded value is the
/// proto default: an export written before the field existed (for example
/// `ComplaintRouted.reason_text`) still matches, and hides nothing.
fn difference(decoded: &Value, written: &Value, path: &str) -> Option<String> {
    match (decoded, written) {
        (Value::Object(a), Value::Object(b)) => {
            let extra = b.keys().find(|k| !a.contains_key(*k));
            if let Some(k) = extra {
                return Some(format!("{path}.{k}"));
            }
            a.iter().find_map(|(k, v)| {
                let inner = format!("{path}.{k}");
                match b.get(k) {
                    Some(w) => difference(v, w, &inner),
                    None if is_default(v) => None,
                    None => Some(inner),
                }
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| difference(v, w, &format!("{path}[{i}]"))),
        _ if decoded == written => None,
        _ => Some(path.to_owned()),
    }
}

/// True for what a proto3 field holds when it was never set.
fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    }
}

/// One envelope as a CloudEvents 1.0 structured-mode JSON object.
pub fn to_cloudevent(e: &RecordedEvent) -> String {
    cloudevent(e).to_string()
}

fn cloudevent(e: &RecordedEvent) -> Value {
    json!({
        "specversion": "1.0",
        "id": e.event_id.to_string(),
        "source": format!("aduan/{}", e.stream_id),
        "type": format!("id.go.lapor.aduan.{}", e.event_type),
        "subject": e.stream_id,
        "time": rfc3339(e.recorded_at_ms),
        "datacontenttype": "application/json",
        "data": payload_json(e),
        "aduanposition": e.position,
        "aduanstreamversion": e.stream_version,
        "aduanrecordedatms": e.recorded_at_ms,
        "aduanschemaversion": e.schema_version,
        "aduanactor": e.actor,
        "aduancorrelationid": e.correlation_id.to_string(),
        "aduancausationid": e.causation_id.map(|c| c.to_string()),
        "aduanprevhash": hex(&e.prev_hash),
        "aduanhash": hex(&e.hash),
        "aduanpayload": B64.encode(&e.payload),
    })
}

/// Reads back an object written by [`to_cloudevent`].
pub fn from_cloudevent(text: &str, n: u64) -> Result<RecordedEvent, AuditError> {
    let v: Value = serde_json::from_str(text).map_err(|e| bad(n, e.to_string()))?;
    unredacted(from_cloudevent_value(&v, n)?, n)
}

fn from_cloudevent_value(v: &Value, n: u64) -> Result<ExportLine, AuditError> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(n, format!("{k} missing")))
    };
    let u = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(n, format!("{k} missing")))
    };
    let uuid = |k: &str| -> Result<Uuid, AuditError> {
        Uuid::parse_str(s(k)?).map_err(|e| bad(n, format!("{k}: {e}")))
    };
    let event_type = s("type")?
        .strip_prefix("id.go.lapor.aduan.")
        .ok_or_else(|| bad(n, "type"))?;
    let causation_id = match v.get("aduancausationid").and_then(Value::as_str) {
        Some(c) => Some(Uuid::parse_str(c).map_err(|e| bad(n, format!("causation: {e}")))?),
        None => None,
    };
    let recorded_at_ms = v
        .get("aduanrecordedatms")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad(n, "recorded at"))?;
    let e = RecordedEvent {
        event_id: uuid("id")?,
        stream_id: s("subject")?.to_owned(),
        stream_version: u("aduanstreamversion")?,
        position: u("aduanposition")?,
        recorded_at_ms,
        event_type: event_type.to_owned(),
        schema_version: u("aduanschemaversion")? as u32,
        actor: s("aduanactor")?.to_owned(),
        correlation_id: uuid("aduancorrelationid")?,
        causation_id,
        payload: B64
            .decode(s("aduanpayload")?)
            .map_err(|e| bad(n, format!("payload: {e}")))?,
        prev_hash: parse_hash(s("aduanprevhash")?).ok_or_else(|| bad(n, "prev hash"))?,
        hash: parse_hash(s("aduanhash")?).ok_or_else(|| bad(n, "hash"))?,
    };
    check_data(&e, v.get("data").unwrap_or(&Value::Null), n)?;
    let redacted = match v.get("aduanredacted") {
        None => false,
        Some(r) => r
            .as_bool()
            .ok_or_else(|| bad(n, "aduanredacted is not a boolean"))?,
    };
    Ok(ExportLine { event: e, redacted })
}

/// Reads a line in whichever format it was written, refusing a redacted
/// line ([`AuditError::Redacted`]): its payload is not the log's.
pub fn from_line(text: &str, n: u64) -> Result<RecordedEvent, AuditError> {
    unredacted(read_line(text, n)?, n)
}

/// Reads a line in whichever format it was written, redacted or not.
/// The format is the line's own: a top-level `specversion` key, not the text
/// `"specversion"` anywhere (a stream id, actor or complaint text may hold it).
pub fn read_line(text: &str, n: u64) -> Result<ExportLine, AuditError> {
    let v: Value = serde_json::from_str(text).map_err(|e| bad(n, e.to_string()))?;
    if v.get("specversion").is_some() {
        from_cloudevent_value(&v, n)
    } else {
        let l: ReadLine = serde_json::from_value(v).map_err(|e| bad(n, e.to_string()))?;
        from_line_struct(l, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordedEvent {
        RecordedEvent {
            event_id: Uuid::now_v7(),
            stream_id: "complaint-x".into(),
            stream_version: 3,
            position: 42,
            recorded_at_ms: 1_795_000_000_123,
            event_type: "ReporterReplied".into(),
            schema_version: 1,
            actor: "reporter".into(),
            correlation_id: Uuid::now_v7(),
            causation_id: Some(Uuid::now_v7()),
            payload: vec![10, 3, b'a', b'b', b'c'],
            prev_hash: [7; 32],
            hash: [9; 32],
        }
    }

    #[test]
    fn both_formats_read_back_exactly() {
        let e = sample();
        assert_eq!(from_line(&to_jsonl(&e), 1).expect("jsonl"), e);
        assert_eq!(from_line(&to_cloudevent(&e), 1).expect("cloudevents"), e);
        let ce: Value = serde_json::from_str(&to_cloudevent(&e)).expect("json");
        assert_eq!(ce["type"], "id.go.lapor.aduan.ReporterReplied");
        assert_eq!(ce["data"]["message"], "abc");
    }

    /// A log of `n` events, one stream each, and all of them as read back.
    async fn log_of(n: u64) -> (aduan_log::memory::MemoryLog, Vec<RecordedEvent>) {
        use aduan_log::{ExpectedVersion, NewEvent};
        let log = aduan_log::memory::MemoryLog::new();
        for i in 0..n {
            let payload = vec![10, 1, b'a' + (i % 26) as u8];
            let e = NewEvent::new("ReporterReplied", "reporter", payload);
            log.append(
                &format!("complaint-{i}"),
                ExpectedVersion::NoStream,
                vec![e],
            )
            .await
            .expect("append");
        }
        let all = log.read_all(1, n as usize).await.expect("read");
        (log, all)
    }

    async fn exported(
        log: &aduan_log::memory::MemoryLog,
        range: (u64, u64),
        format: Format,
    ) -> String {
        let mut out = Framed::new(Vec::new(), format).expect("start");
        let mut seen = Vec::new();
        let n = export(log, range, None, &mut out, &mut |n| seen.push(n))
            .await
            .expect("export");
        let (text, framed) = out.finish().expect("finish");
        assert_eq!((n, seen.last().copied()), (framed, Some(n)));
        String::from_utf8(text).expect("utf-8")
    }

    /// Pages are read (and rendered) ahead, several at once: the lines must
    /// still be every event of the range, once, in order, across page ends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_export_across_pages_holds_every_event_of_its_range_in_order() {
        let (log, all) = log_of(2 * 4096 + 5).await;
        for format in [Format::Jsonl, Format::CloudEvents] {
            let text = exported(&log, (1, all.len() as u64), format).await;
            let back: Vec<_> = text
                .lines()
                .enumerate()
                .map(|(i, l)| from_line(l, i as u64 + 1).expect("line"))
                .collect();
            assert!(back == all, "{format:?}: {} lines", back.len());
        }
        let batch = exported(&log, (1, all.len() as u64), Format::CloudEventsBatch).await;
        let v: Value = serde_json::from_str(&batch).expect("one JSON array");
        assert_eq!(v.as_array().map(Vec::len), Some(all.len()));
        let part = exported(&log, (4000, 4200), Format::Jsonl).await;
        let positions: Vec<u64> = part
            .lines()
            .map(|l| from_line(l, 1).expect("line").position)
            .collect();
        assert_eq!(positions, (4000..=4200).collect::<Vec<_>>());
    }

    #[test]
    fn an_edited_data_field_is_refused_naming_line_position_and_field() {
        let e = sample();
        for text in [to_jsonl(&e), to_cloudevent(&e)] {
            let edited = text.replace("\"message\":\"abc\"", "\"message\":\"abd\"");
            assert_ne!(edited, text);
            let r = from_line(&edited, 5);
            let named = matches!(&r, Err(AuditError::DataMismatch { line: 5, position: 42, path })
                if path == "data.message");
            assert!(named, "{r:?}");
            let added = text.replace("\"message\":\"abc\"", "\"message\":\"abc\",\"x\":1");
            let r = from_line(&added, 5);
            let named =
                matches!(&r, Err(AuditError::DataMismatch { path, .. }) if path == "data.x");
            assert!(named, "{r:?}");
        }
        // A line without `data` hides nothing only when its payload decodes to nothing.
        let mut v: Value = serde_json::from_str(&to_jsonl(&e)).expect("json");
        v.as_object_mut().expect("object").remove("data");
        let r = from_line(&v.to_string(), 1);
        assert!(matches!(r, Err(AuditError::DataMismatch { .. })), "{r:?}");
        let opaque = RecordedEvent {
            event_type: "SomethingElse".into(),
            ..e
        };
        let mut v: Value = serde_json::from_str(&to_jsonl(&opaque)).expect("json");
        assert_eq!(v["data"], Value::Null);
        v.as_object_mut().expect("object").remove("data");
        assert_eq!(from_line(&v.to_string(), 1).expect("no data"), opaque);
    }

    #[test]
    fn an_export_from_before_a_new_field_still_reads() {
        let routed = |reason_text: &str| {
            let e = aduan_domain::ComplaintEvent::from(aduan_proto::v1::ComplaintRouted {
                org: "kab-pati-rsud".into(),
                reason: "manual".into(),
                reason_text: reason_text.into(),
                ..Default::default()
            });
            RecordedEvent {
                event_type: e.type_name().into(),
                payload: e.encode(),
                ..sample()
            }
        };
        // As the build before `reason_text` wrote it: no such key in `data`.
        let e = routed("");
        let mut v: Value = serde_json::from_str(&to_jsonl(&e)).expect("json");
        assert_eq!(v["data"]["reason_text"], "");
        v["data"]
            .as_object_mut()
            .expect("data")
            .remove("reason_text");
        assert_eq!(from_line(&v.to_string(), 1).expect("old line"), e);
        // A field with content cannot be left out.
        let e = routed("urusan RSUD");
        let mut v: Value = serde_json::from_str(&to_jsonl(&e)).expect("json");
        v["data"]
            .as_object_mut()
            .expect("data")
            .remove("reason_text");
        let r = from_line(&v.to_string(), 1);
        let named =
            matches!(&r, Err(AuditError::DataMismatch { path, .. }) if path == "data.reason_text");
        assert!(named, "{r:?}");
    }

    #[test]
    fn broken_lines_name_their_line() {
        for text in ["{", "{\"position\": 1}", "[]"] {
            assert!(matches!(
                from_line(text, 7),
                Err(AuditError::BadLine { line: 7, .. })
            ));
        }
    }
}
