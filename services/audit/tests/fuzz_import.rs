//! Fuzz-style tests of the audit import (issue 7): `export::from_line` on raw
//! text, on JSON built from the export's own keys, and on exported lines
//! (JSON lines and CloudEvents) of generated envelopes then mutated; plus the
//! export side on any envelope, whose payload is decoded for people.
//! Properties: nothing panics; a refusal is `AuditError::BadLine` (or
//! `DataMismatch`) naming the line asked for; every export reads back to
//! exactly the envelope written. And the readable `data` beside each payload
//! (issue 13): domain events, floats included, are exported and their `data`
//! edited (a leaf replaced, a key removed or added, a character in a string
//! changed); every edit that changes `data` is refused as `DataMismatch`
//! naming line and position, and an edit that changes nothing is read.
//!
//! `ADUAN_FUZZ_CASES=N` runs a sustained campaign
//! (`cargo test --release -p aduan-audit --test fuzz_import`).
//! `fuzz/corpus/audit_line/` is replayed by `replay_corpus`: `ok-*` must be
//! read, `err-*` refused.

use aduan_fuzz::{config, corpus, corpus_files};

use aduan_audit::{export, AuditError};
use aduan_domain::ComplaintEvent;
use aduan_log::RecordedEvent;
use aduan_proto::v1;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::Value;
use uuid::Uuid;

/// Envelopes whose type is usually one the domain decodes, so the export's
/// payload decoding (and its upcasting) is reached with valid and junk payloads.
fn arb_event() -> impl Strategy<Value = RecordedEvent> {
    let types = prop_oneof![
        4 => select(ComplaintEvent::TYPE_NAMES).prop_map(str::to_owned),
        1 => Just("RuleSetPublished".to_owned()),
        1 => ".{0,20}",
    ];
    (
        (
            any::<u64>(),
            any::<u64>(),
            any::<i64>(),
            any::<u128>(),
            any::<u128>(),
        ),
        (
            proptest::option::of(any::<u128>()),
            prop_oneof![Just(1u32), Just(0u32), any::<u32>()],
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        ),
        (".{0,30}", types, ".{0,20}"),
        proptest::collection::vec(any::<u8>(), 0..120),
    )
        .prop_map(
            |((pos, ver, at, id, corr), (cause, sv, prev, hash), (s, t, a), payload)| {
                RecordedEvent {
                    event_id: Uuid::from_u128(id),
                    stream_id: s,
                    stream_version: ver,
                    position: pos,
                    recorded_at_ms: at,
                    event_type: t,
                    schema_version: sv,
                    actor: a,
                    correlation_id: Uuid::from_u128(corr),
                    causation_id: cause.map(Uuid::from_u128),
                    payload,
                    prev_hash: prev,
                    hash,
                }
            },
        )
}

/// Reads `text` as line `n`: success, or `BadLine` naming `n`.
fn check(text: &str, n: u64) -> Result<Option<RecordedEvent>, TestCaseError> {
    match export::from_line(text, n) {
        Ok(e) => Ok(Some(e)),
        Err(AuditError::BadLine { line, .. } | AuditError::DataMismatch { line, .. }) => {
            prop_assert_eq!(line, n);
            Ok(None)
        }
        Err(e) => {
            prop_assert!(false, "not a BadLine: {:?}", e);
            Ok(None)
        }
    }
}

#[derive(Debug, Clone)]
enum Edit {
    /// Replace one char.
    Char(Index, char),
    Truncate(Index),
    /// Replace the JSON value after a `:` with a token.
    Value(Index, &'static str),
    Insert(Index, &'static str),
    Splice(Index, Index),
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    let token = || {
        select(vec![
            "null",
            "0",
            "-1",
            "18446744073709551616",
            "1e999",
            "\"\"",
            "\"zz\"",
            "[]",
            "{}",
            "true",
            "\"\\u0000\"",
            "\"\\ud800\"",
            "\"specversion\"",
            "\"AAAA====\"",
            "\"00\"",
            "\"+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f\"",
            "\"0190a4b2-7c1d-7e3f-8a5b-1c2d3e4f5a6b\"",
            "\"id.go.lapor.aduan.\"",
            ",",
            "\"",
        ])
    };
    prop_oneof![
        3 => (any::<Index>(), any::<char>()).prop_map(|(i, c)| Edit::Char(i, c)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        4 => (any::<Index>(), token()).prop_map(|(i, t)| Edit::Value(i, t)),
        1 => (any::<Index>(), token()).prop_map(|(i, t)| Edit::Insert(i, t)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::Splice(a, b)),
    ]
}

fn boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edit: &Edit, other: &str) -> String {
    let at = |i: &Index, s: &str| boundary(s, i.index(s.len() + 1));
    match edit {
        Edit::Char(i, c) => {
            let chars: Vec<char> = text.chars().collect();
            if chars.is_empty() {
                return c.to_string();
            }
            let k = i.index(chars.len());
            chars[..k]
                .iter()
                .chain([c])
                .chain(&chars[k + 1..])
                .collect()
        }
        Edit::Truncate(i) => text[..at(i, text)].to_owned(),
        Edit::Value(i, t) => {
            let colons: Vec<usize> = text.match_indices(':').map(|(k, _)| k).collect();
            if colons.is_empty() {
                return text.to_owned();
            }
            let start = colons[i.index(colons.len())] + 1;
            let rest = &text[start..];
            // The value ends at the next ',' or '}' outside a string, roughly.
            let end = rest.find([',', '}']).unwrap_or(rest.len());
            format!("{}{t}{}", &text[..start], &rest[end..])
        }
        Edit::Insert(i, t) => {
            let k = at(i, text);
            format!("{}{t}{}", &text[..k], &text[k..])
        }
        Edit::Splice(a, b) => format!("{}{}", &text[..at(a, text)], &other[at(b, other)..]),
    }
}

/// Domain events with valid payloads, so `data` holds their fields: text in
/// any script, any `f64` coordinates, an optional reporter.
fn arb_domain_event() -> impl Strategy<Value = RecordedEvent> {
    let t = || ".{0,24}";
    let received = (
        (t(), t(), t(), any::<i64>()),
        proptest::option::of((t(), t(), any::<f64>(), any::<Option<f64>>())),
        proptest::option::of((t(), t(), t(), t())),
    )
        .prop_map(|((title, body, category, at), loc, rep)| {
            ComplaintEvent::from(v1::ComplaintReceived {
                title,
                body,
                category,
                received_at_ms: at,
                location: loc.map(|(region_code, address, lat, lon)| v1::Location {
                    region_code,
                    address,
                    lat: Some(lat),
                    lon,
                }),
                reporter: rep.map(|(name, phone, email, privacy)| v1::Reporter {
                    name,
                    phone,
                    email,
                    privacy,
                }),
                ..Default::default()
            })
        });
    let other = prop_oneof![
        (t(), any::<bool>(), any::<i64>()).prop_map(|(message, public, at_ms)| {
            ComplaintEvent::from(v1::FollowUpPosted {
                org: "kab-pati".into(),
                message,
                public,
                at_ms,
            })
        }),
        (any::<u32>(), t()).prop_map(|(rating, comment)| {
            ComplaintEvent::from(v1::FeedbackGiven {
                rating,
                comment,
                at_ms: 0,
            })
        }),
    ];
    (
        prop_oneof![received, other],
        arb_event(),
        1u64..u64::MAX / 2,
    )
        .prop_map(|(event, envelope, position)| RecordedEvent {
            event_type: event.type_name().to_owned(),
            schema_version: aduan_domain::event::SCHEMA_VERSION,
            payload: event.encode(),
            position,
            ..envelope
        })
}

#[derive(Debug, Clone)]
enum DataEdit {
    /// Replace the value at a path with a token.
    Replace(Index, &'static str),
    /// Remove the key at a path.
    Remove(Index),
    /// Add a key to the object at a path.
    Add(Index),
    /// Insert a char into a string at a path.
    Char(Index, Index, char),
}

fn arb_data_edit() -> impl Strategy<Value = DataEdit> {
    let token = select(vec![
        "null", "0", "1", "-1", "0.5", "1e300", "\"\"", "\"x\"", "[]", "{}", "true", "false",
    ]);
    prop_oneof![
        3 => (any::<Index>(), token).prop_map(|(i, t)| DataEdit::Replace(i, t)),
        1 => any::<Index>().prop_map(DataEdit::Remove),
        1 => any::<Index>().prop_map(DataEdit::Add),
        3 => (any::<Index>(), any::<Index>(), any::<char>()).prop_map(|(i, k, c)| DataEdit::Char(i, k, c)),
    ]
}

/// Every value in `v` as a JSON pointer (the root is "").
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                pointers(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn edit_data(data: &mut Value, edit: &DataEdit) {
    let mut all = Vec::new();
    pointers(data, String::new(), &mut all);
    let pick = |i: &Index| all[i.index(all.len())].clone();
    match edit {
        DataEdit::Replace(i, t) => {
            if let Some(v) = data.pointer_mut(&pick(i)) {
                *v = serde_json::from_str(t).expect("token");
            }
        }
        DataEdit::Remove(i) => {
            let p = pick(i);
            if let Some((parent, key)) = p.rsplit_once('/') {
                if let Some(Value::Object(m)) = data.pointer_mut(parent) {
                    m.remove(key);
                }
            }
        }
        DataEdit::Add(i) => match data.pointer_mut(&pick(i)) {
            Some(Value::Object(m)) => {
                m.insert("added".into(), Value::Bool(true));
            }
            Some(v) => *v = serde_json::json!({ "added": true }),
            None => {}
        },
        DataEdit::Char(i, k, c) => {
            if let Some(Value::String(s)) = data.pointer_mut(&pick(i)) {
                let mut chars: Vec<char> = s.chars().collect();
                chars.insert(k.index(chars.len() + 1), *c);
                *s = chars.into_iter().collect();
            }
        }
    }
}

/// `before` without the keys that `after` lacks and that held a proto
/// default (null, false, 0, "", []).
fn without_removed_defaults(before: &Value, after: &Value) -> Value {
    let default = |v: &Value| match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    };
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => Value::Object(
            b.iter()
                .filter(|(k, v)| a.contains_key(*k) || !default(v))
                .map(|(k, v)| {
                    let v = match a.get(k) {
                        Some(w) => without_removed_defaults(v, w),
                        None => v.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        _ => before.clone(),
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn edited_data_is_refused_naming_line_and_position(
        e in arb_domain_event(),
        cloud in any::<bool>(),
        edits in proptest::collection::vec(arb_data_edit(), 1..3),
        n in 1u64..1_000_000,
    ) {
        let text = if cloud { export::to_cloudevent(&e) } else { export::to_jsonl(&e) };
        // Untouched, the line reads back (floats included).
        prop_assert_eq!(check(&text, n)?, Some(e.clone()), "{}", text);
        let mut line: Value = serde_json::from_str(&text).expect("json");
        let before = line["data"].clone();
        prop_assert!(before.is_object(), "{}", text);
        for edit in &edits {
            edit_data(&mut line["data"], edit);
        }
        // Leaving out a field that holds its proto default hides nothing (an
        // export from before the field existed reads so); anything else is a change.
        let changed = line["data"] != without_removed_defaults(&before, &line["data"]);
        match export::from_line(&line.to_string(), n) {
            Err(AuditError::DataMismatch { line: l, position, path }) => {
                prop_assert!(changed, "refused an unchanged line at {}", path);
                prop_assert_eq!((l, position), (n, e.position));
                prop_assert!(path.starts_with("data"), "{}", path);
            }
            Ok(back) => {
                prop_assert!(!changed, "edited data read as intact: {}", line);
                prop_assert_eq!(back, e);
            }
            Err(other) => prop_assert!(false, "not a DataMismatch: {:?}", other),
        }
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn raw_text_never_panics(text in ".{0,200}", n in any::<u64>()) {
        check(&text, n)?;
    }

    #[test]
    fn json_shaped_text_never_panics(parts in proptest::collection::vec(select(vec![
        "{", "}", ",", ":", "\"position\"", "\"event_id\"", "\"payload\"", "\"hash\"", "\"prev_hash\"",
        "\"specversion\"", "\"1.0\"", "\"type\"", "\"aduanposition\"", "\"aduanhash\"",
        "\"aduanpayload\"", "\"aduancausationid\"", "null", "1", "-1", "\"\"", "\"x\"",
    ]), 0..40)) {
        check(&parts.concat(), 3)?;
    }

    #[test]
    fn exports_read_back_exactly(e in arb_event()) {
        let jsonl = export::to_jsonl(&e);
        prop_assert_eq!(check(&jsonl, 1)?, Some(e.clone()), "{}", jsonl);
        let ce = export::to_cloudevent(&e);
        prop_assert_eq!(check(&ce, 1)?, Some(e.clone()), "{}", ce);
        let _ = export::envelope_json(&e);
    }

    #[test]
    fn mutated_exports_never_panic(
        e in arb_event(),
        donor in arb_event(),
        cloud in any::<bool>(),
        edits in proptest::collection::vec(arb_edit(), 1..4),
    ) {
        let write = if cloud { export::to_cloudevent } else { export::to_jsonl };
        let other = write(&donor);
        let mut text = write(&e);
        for edit in &edits {
            text = apply(&text, edit, &other);
        }
        if let Some(back) = check(&text, 9)? {
            // Whatever is read writes out again and reads back the same.
            prop_assert_eq!(check(&export::to_jsonl(&back), 1)?, Some(back));
        }
    }
}

/// Replays `fuzz/corpus/audit_line`.
#[test]
fn replay_corpus() {
    for f in corpus_files("audit_line") {
        let text = f.text();
        let read =
            check(text.trim_end_matches('\n'), 1).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(f.must_pass(), read.is_some(), "{}", f.name);
    }
}

/// Writes the seed corpus (`cargo test -p aduan-audit --test fuzz_import -- --ignored`).
#[test]
#[ignore = "writes fuzz/corpus; run by hand to regenerate the seeds"]
fn write_seed_corpus() {
    let dir = corpus("audit_line");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let write =
        |name: &str, s: &str| std::fs::write(dir.join(name), format!("{s}\n")).expect("write");
    let e = RecordedEvent {
        event_id: Uuid::from_u128(0x0190_a4b2_7c1d_7e3f_8a5b_1c2d_3e4f_5a6b),
        stream_id: "complaint-0190a4b2".into(),
        stream_version: 2,
        position: 42,
        recorded_at_ms: 1_795_000_000_123,
        event_type: "ComplaintRouted".into(),
        schema_version: 1,
        actor: "router".into(),
        correlation_id: Uuid::from_u128(2),
        causation_id: Some(Uuid::from_u128(3)),
        payload: b"\x0a\x0fkab-pati-dinkes\x10\x01".to_vec(),
        prev_hash: [7; 32],
        hash: [9; 32],
    };
    let jsonl = export::to_jsonl(&e);
    let ce = export::to_cloudevent(&e);
    write("ok-jsonl.json", &jsonl);
    write("ok-cloudevent.json", &ce);
    write(
        "ok-extreme-time.json",
        &export::to_jsonl(&RecordedEvent {
            recorded_at_ms: i64::MIN,
            ..e.clone()
        }),
    );
    // Found by the campaign: a JSON line holding the text "specversion" (here its
    // stream id) was taken for a CloudEvent and refused.
    write(
        "ok-jsonl-mentioning-specversion.json",
        &export::to_jsonl(&RecordedEvent {
            stream_id: "specversion".into(),
            ..e.clone()
        }),
    );
    write("err-empty.json", "");
    write("err-array.json", "[]");
    write("err-position-only.json", "{\"position\": 1}");
    write(
        "err-short-hash.json",
        &jsonl.replace(&"09".repeat(32), "0909"),
    );
    write(
        "err-bad-base64.json",
        &jsonl.replace("\"payload\":\"", "\"payload\":\"*"),
    );
    write(
        "err-negative-position.json",
        &jsonl.replace("\"position\":42", "\"position\":-42"),
    );
    write(
        "err-cloudevent-no-type-prefix.json",
        &ce.replace("id.go.lapor.aduan.", "x."),
    );
    write(
        "err-cloudevent-bad-causation.json",
        &ce.replace("00000000-0000-0000-0000-000000000003", "nope"),
    );
    write("err-cloudevent-truncated.json", &ce[..ce.len() / 2]);
    // Issue 13: the readable `data` edited, the payload and hashes untouched.
    write(
        "err-edited-data.json",
        &jsonl.replace("\"org\":\"kab-pati-dinkes\"", "\"org\":\"kab-pati\""),
    );
    write(
        "err-cloudevent-edited-data.json",
        &ce.replace("\"org\":\"kab-pati-dinkes\"", "\"org\":\"kab-pati\""),
    );
}
