//! Fuzz-style tests of `StatusQuery`, the public status lookup's inbound
//! message (issue 7): raw protobuf bytes and JSON text, and generated queries
//! then mutated, through `nats::handle` over read models folded from a log of
//! a few hundred complaints in every state (each event from the domain's
//! `decide`). Properties: nothing panics; every request is answered in its
//! own format (protobuf a `StatusReply` with a result, JSON a `StatusView` or
//! `{"error": …}`); a request that does not decode is `invalid_argument`, an
//! unknown tracking number `not_found`, a known one (in any spelling) the
//! complaint's view as folded: status, owner, owner's name, its public
//! follow-ups; and no reply ever holds a reporter's identity, a private
//! follow-up or a reporter's reply.
//!
//! `ADUAN_FUZZ_CASES=N` runs a sustained campaign
//! (`cargo test --release -p aduan-projections --test fuzz_status_query`).
//! `fuzz/corpus/status_query/` is replayed by `replay_corpus`: `ok-*` must
//! decode as a query and be answered as the world says, `err-*` must be
//! answered `invalid_argument`.

mod status_world;

use aduan_fuzz::{config, corpus, corpus_files};

use aduan_bus::{Format, Request};
use aduan_domain::{OrgCode, TrackingNo};
use aduan_proto::{v1, ErrorCode};
use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use status_world::{world, Known, World};

/// What a reply held: a view, or an error code.
#[derive(Debug)]
enum Reply {
    View(v1::StatusView),
    Error(Option<ErrorCode>),
}

/// Answers `payload` and checks the reply against what the world knows:
/// a request that does not decode is `invalid_argument`; a tracking number
/// that is not one of the world's is `not_found`; a known one gets the
/// complaint's view as the test folded it (status, owner and its name, every
/// public follow-up on the timeline); no reply holds a reporter's identity,
/// a private follow-up or a reporter's reply. Returns the code, if any.
fn answer(w: &World, format: Format, payload: Vec<u8>) -> Result<Option<ErrorCode>, TestCaseError> {
    let query = format.decode::<v1::StatusQuery>(&payload).ok();
    let req = Request {
        subject: "aduan.query.status".into(),
        headers: Some(format.headers()),
        payload: Bytes::from(payload),
    };
    let (f, bytes) = aduan_projections::nats::handle(&w.projections, &w.clock, &req);
    prop_assert_eq!(f, format);
    let text = String::from_utf8_lossy(&bytes);
    prop_assert!(
        !text.contains("rahasia.test") && !text.contains("Nama Pelapor"),
        "{}",
        text
    );
    let reply = match format {
        Format::Proto => match format
            .decode::<v1::StatusReply>(&bytes)
            .expect("reply decodes")
            .result
        {
            Some(v1::status_reply::Result::View(v)) => Reply::View(v),
            Some(v1::status_reply::Result::Error(e)) => Reply::Error(ErrorCode::parse(&e.code)),
            None => return Err(TestCaseError::fail("a reply without a result")),
        },
        Format::Json => {
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("reply is JSON");
            match v.get("error") {
                Some(e) => Reply::Error(ErrorCode::parse(e["code"].as_str().unwrap_or_default())),
                None => Reply::View(format.decode(&bytes).expect("a StatusView")),
            }
        }
    };
    let known = query
        .as_ref()
        .and_then(|q| TrackingNo::parse(&q.tracking_no).ok())
        .and_then(|t| w.known.get(t.as_str()));
    match (query, known, reply) {
        (None, _, Reply::Error(code)) => {
            prop_assert_eq!(code, Some(ErrorCode::InvalidArgument));
            Ok(code)
        }
        (Some(_), None, Reply::Error(code)) => {
            prop_assert_eq!(code, Some(ErrorCode::NotFound));
            Ok(code)
        }
        (Some(_), Some(k), Reply::View(v)) => {
            check_view(w, k, &v, &text)?;
            Ok(None)
        }
        (q, k, reply) => Err(TestCaseError::fail(format!(
            "query {q:?} (known: {}) answered {reply:?}",
            k.is_some()
        ))),
    }
}

/// The view of a known complaint is the one the test folded.
fn check_view(w: &World, k: &Known, v: &v1::StatusView, text: &str) -> Result<(), TestCaseError> {
    let c = &k.complaint;
    prop_assert_eq!(&v.tracking_no, &c.tracking_no.to_string());
    prop_assert_eq!(&v.status, c.status.as_str());
    let owner = c.owner.as_ref();
    prop_assert_eq!(&v.org, &owner.map(OrgCode::to_string).unwrap_or_default());
    let name = owner.and_then(|o| w.rules.org(o)).map(|o| o.name.clone());
    prop_assert_eq!(&v.org_name, &name.unwrap_or_default());
    for message in &k.public {
        prop_assert!(
            v.timeline.iter().any(|l| &l.note == message),
            "{} missing",
            message
        );
    }
    for secret in &k.secrets {
        prop_assert!(
            !text.contains(secret.as_str()),
            "{} leaked: {}",
            secret,
            text
        );
    }
    Ok(())
}

/// A tracking number of the world (as issued, or in another spelling), a
/// random one, or junk.
fn arb_tracking() -> impl Strategy<Value = String> {
    let known = || select(world_once().tracking.clone());
    prop_oneof![
        4 => known(),
        1 => known().prop_map(|t| format!(" {} ", t.replace('-', "").to_lowercase())),
        1 => Just(()).prop_map(|_| TrackingNo::random().to_string()),
        1 => select(vec!["", "K7QMX-3PA9F", "k7qmx-3pa9f", " K7QMX-3PA9F ", "K7QMX3PA9F", "-----------"]).prop_map(str::to_owned),
        1 => ".{0,16}",
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
        answer(w, format, bytes)?;
    }
}

/// Every complaint of the world is found, in both formats, as folded; the
/// world holds complaints in many states, each privacy and public follow-ups.
#[test]
fn every_known_complaint_is_found_as_folded() {
    let w = world_once();
    for t in &w.tracking {
        for format in [Format::Proto, Format::Json] {
            let q = format.encode(&v1::StatusQuery {
                tracking_no: t.clone(),
            });
            let code = answer(w, format, q.to_vec()).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(code, None, "{t}");
        }
    }
    let mut statuses = std::collections::BTreeMap::<&str, usize>::new();
    for k in w.known.values() {
        *statuses.entry(k.complaint.status.as_str()).or_default() += 1;
    }
    let with_public = w.known.values().filter(|k| !k.public.is_empty()).count();
    let with_private = w.known.values().filter(|k| k.secrets.len() > 3).count();
    eprintln!("world: {statuses:?}; {with_public} with public follow-ups, {with_private} with private texts");
    assert!(statuses.len() >= 6, "states reached: {statuses:?}");
    assert!(with_public >= 10 && with_private >= 10);
}

/// One world for every case of a run.
fn world_once() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(world)
}

/// Replays `fuzz/corpus/status_query`: `ok-*` decode and are answered as the
/// world says (`ok-query.*` name the first complaint), `err-*` are
/// `invalid_argument`.
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
        if f.name.starts_with("ok-query") {
            assert_eq!(code, None, "{} finds the first complaint", f.name);
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
