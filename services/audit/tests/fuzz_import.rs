//! Fuzz-style tests of the audit import (issue 7): `export::from_line` on raw
//! text, on JSON built from the export's own keys, and on exported lines
//! (JSON lines and CloudEvents) of generated envelopes then mutated; plus the
//! export side on any envelope, whose payload is decoded for people.
//! Properties: nothing panics; a refusal is `AuditError::BadLine` naming the
//! line asked for; every export reads back to exactly the envelope written.
//!
//! `ADUAN_FUZZ_CASES=N` runs a sustained campaign
//! (`cargo test --release -p aduan-audit --test fuzz_import`).
//! `fuzz/corpus/audit_line/` is replayed by `replay_corpus`: `ok-*` must be
//! read, `err-*` refused.

use aduan_fuzz::{config, corpus, corpus_files};

use aduan_audit::{export, AuditError};
use aduan_domain::ComplaintEvent;
use aduan_log::RecordedEvent;
use proptest::prelude::*;
use proptest::sample::{select, Index};
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
        Err(AuditError::BadLine { line, .. }) => {
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
}
