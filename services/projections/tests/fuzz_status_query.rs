//! Fuzz-style tests of `StatusQuery`, the public status lookup's inbound
//! message (issue 7): raw protobuf bytes and JSON text, and generated queries
//! then mutated, through `nats::handle` over real (empty) read models.
//! Properties: nothing panics; every request is answered in its own format —
//! protobuf a `StatusReply` with a result, JSON a `StatusView` or `{"error": …}`
//! — and with a contract error code.
//!
//! `ADUAN_FUZZ_CASES=N` runs a sustained campaign
//! (`cargo test --release -p aduan-projections --test fuzz_status_query`).
//! `fuzz/corpus/status_query/` is replayed by `replay_corpus`: `ok-*` must
//! decode as a query, `err-*` must be answered `invalid_argument`.

use aduan_fuzz::{config, corpus, corpus_files};
use std::sync::Arc;

use aduan_bus::{Format, Request};
use aduan_domain::{ManualClock, SharedClock, TrackingNo};
use aduan_projections::Projections;
use aduan_proto::{v1, ErrorCode};
use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use time::macros::datetime;

struct World {
    projections: Projections,
    clock: SharedClock,
}

fn world() -> World {
    let db = aduan_kv::Db::memory();
    World {
        projections: Projections::open(&db).expect("projections"),
        clock: Arc::new(ManualClock::new(datetime!(2026-11-23 09:00 UTC))),
    }
}

/// Answers `payload` and checks the reply; returns the error code, if any.
fn answer(w: &World, format: Format, payload: Vec<u8>) -> Result<Option<ErrorCode>, TestCaseError> {
    let req = Request {
        subject: "aduan.query.status".into(),
        headers: Some(format.headers()),
        payload: Bytes::from(payload),
    };
    let (f, bytes) = aduan_projections::nats::handle(&w.projections, &w.clock, &req);
    prop_assert_eq!(f, format);
    let word = match format {
        Format::Proto => match format
            .decode::<v1::StatusReply>(&bytes)
            .expect("reply decodes")
            .result
        {
            Some(v1::status_reply::Result::View(_)) => None,
            Some(v1::status_reply::Result::Error(e)) => Some(e.code),
            None => {
                prop_assert!(false, "a reply without a result");
                None
            }
        },
        Format::Json => {
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("reply is JSON");
            v.get("error")
                .map(|e| e["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    let Some(word) = word else {
        return Ok(None);
    };
    let code = ErrorCode::parse(&word);
    let expected = [
        ErrorCode::InvalidArgument,
        ErrorCode::NotFound,
        ErrorCode::Unavailable,
    ];
    prop_assert!(code.is_some_and(|c| expected.contains(&c)), "{}", word);
    Ok(code)
}

fn arb_tracking() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(()).prop_map(|_| TrackingNo::random().to_string()),
        1 => select(vec!["", "K7QMX-3PA9F", "k7qmx-3pa9f", " K7QMX-3PA9F ", "K7QMX3PA9F", "-----------"]).prop_map(str::to_owned),
        2 => ".{0,16}",
    ]
}

proptest! {
    #![proptest_config(config(1_000))]

    #[test]
    fn any_request_is_answered(
        payload in proptest::collection::vec(any::<u8>(), 0..120),
        json in any::<bool>(),
    ) {
        let w = world_once();
        answer(w, if json { Format::Json } else { Format::Proto }, payload)?;
    }

    #[test]
    fn queries_and_their_mutations_are_answered(
        t in arb_tracking(),
        json in any::<bool>(),
        flips in proptest::collection::vec((any::<Index>(), 0u8..8), 0..3),
        cut in proptest::option::weighted(0.2, any::<Index>()),
    ) {
        let w = world_once();
        let format = if json { Format::Json } else { Format::Proto };
        let q = v1::StatusQuery { tracking_no: t };
        let mut bytes = format.encode(&q).to_vec();
        prop_assert_eq!(&format.decode::<v1::StatusQuery>(&bytes).expect("round trip"), &q);
        for (i, bit) in &flips {
            let k = i.index(bytes.len().max(1)).min(bytes.len().saturating_sub(1));
            if let Some(b) = bytes.get_mut(k) {
                *b ^= 1 << bit;
            }
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len() + 1));
        }
        let code = answer(w, format, bytes)?;
        // The read models are empty: nothing is ever found.
        prop_assert!(code.is_some());
    }
}

/// One world for every case of a run.
fn world_once() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(world)
}

/// Replays `fuzz/corpus/status_query`.
#[test]
fn replay_corpus() {
    for f in corpus_files("status_query") {
        let format = if f.is_json() {
            Format::Json
        } else {
            Format::Proto
        };
        let decodes = format.decode::<v1::StatusQuery>(&f.bytes).is_ok();
        let code = answer(world_once(), format, f.bytes.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        if f.must_pass() {
            assert!(decodes, "{}", f.name);
        } else {
            assert_eq!(code, Some(ErrorCode::InvalidArgument), "{}", f.name);
        }
    }
}

/// Writes the seed corpus (`cargo test -p aduan-projections --test fuzz_status_query -- --ignored`).
#[test]
#[ignore = "writes fuzz/corpus; run by hand to regenerate the seeds"]
fn write_seed_corpus() {
    let dir = corpus("status_query");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let write = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).expect("write");
    let q = v1::StatusQuery {
        tracking_no: "K7QMX-3PA9F".into(),
    };
    write("ok-query.bin", &Format::Proto.encode(&q));
    write("ok-query.json", &Format::Json.encode(&q));
    write("ok-empty.bin", b"");
    write(
        "ok-unknown-field.json",
        br#"{"tracking_no":"K7QMX-3PA9F","x":1}"#,
    );
    write("err-number.json", br#"{"tracking_no":5}"#);
    write("err-not-json.json", b"K7QMX-3PA9F");
    write("err-truncated.bin", b"\x0a\x0bK7QMX");
    write("err-bad-utf8.bin", b"\x0a\x02\xc3\x28");
}
