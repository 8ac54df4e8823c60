//! Fuzz-style tests of intake's inbound messages (issue 7): `SubmitComplaint`
//! as protobuf bytes and JSON text through `Format::decode` and `validate`,
//! raw and as generated messages then mutated (bit flips, truncation,
//! splicing), and end to end through `nats::handle` over a real log.
//! Properties: nothing panics; refusals are `DecodeError` / `IntakeError`
//! with a contract code; valid messages round-trip through both encodings and
//! validate the same way in each; `handle` acks exactly what `validate` accepts.
//!
//! `ADUAN_FUZZ_CASES=N` runs a sustained campaign
//! (`cargo test --release -p aduan-intake --test fuzz_inbound`).
//! `fuzz/corpus/submit/` is replayed by `replay_corpus`: `ok-*` must decode and
//! validate, `err-*` must be refused by one of the two (`.json` files are JSON,
//! `.bin` protobuf).

use aduan_fuzz::{cases, config, corpus, corpus_files, mutate, mutation_with};

use aduan_bus::{Format, Request};
use aduan_intake::{validate, Intake, IntakeError, ReporterKey, MAX_REQUEST_BYTES};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::{v1, ErrorCode};
use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::select;

/// Bytes that matter to the two decoders, mixed into mutations.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\u0000",
    b"{",
    b"}",
    b"[",
    b"null",
    b",",
    b"\xff",
    b"\x0a\x80",
    b"\x12\xff\xff\xff\xff\x0f",
    b"1e999",
    b"\\ud800",
];

/// A string that is often a value intake knows, sometimes junk.
fn field(known: &'static [&'static str], junk: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(known).prop_map(str::to_owned),
        1 => junk,
        1 => ".{0,8}",
    ]
}

fn arb_location() -> impl Strategy<Value = v1::Location> {
    (
        field(
            &[
                "",
                "33.18",
                "33",
                "33.18.05.2001",
                " 36.73 ",
                "3318",
                "33.1x",
            ],
            "[0-9.]{0,14}",
        ),
        field(&["", "Jl. Pemuda 1, Pati"], ".{0,40}"),
        proptest::option::of(prop_oneof![
            -100.0f64..100.0,
            Just(f64::NAN),
            Just(90.0),
            any::<f64>()
        ]),
        proptest::option::of(prop_oneof![-200.0f64..200.0, Just(-180.0), any::<f64>()]),
    )
        .prop_map(|(region_code, address, lat, lon)| v1::Location {
            region_code,
            address,
            lat,
            lon,
        })
}

fn arb_submit() -> impl Strategy<Value = v1::SubmitComplaint> {
    (
        (
            field(
                &["web", "sms", "lapor", "email", " web ", "WEB", "telepon"],
                "[a-z_]{0,10}",
            ),
            field(&["", "form-0001", " ref "], ".{0,20}"),
            field(
                &[
                    "",
                    "complaint",
                    "aspiration",
                    "information_request",
                    "kompl",
                ],
                "[a-z_]{0,20}",
            ),
            field(&["", "Obat kosong", "   "], ".{0,30}"),
        ),
        (
            field(
                &["Obat di puskesmas habis", "", " \t\n", "jalan rusak"],
                ".{0,60}",
            ),
            field(
                &["", "kesehatan", "KESEHATAN", " infrastruktur "],
                ".{0,12}",
            ),
            proptest::option::of(arb_location()),
            proptest::option::of((
                field(&["", "Siti"], ".{0,10}"),
                field(&["", "081200000000"], "[0-9+ ]{0,14}"),
                field(&["", "siti@example.id"], ".{0,14}"),
                field(
                    &["", "public", "confidential", "anonymous", "secret"],
                    "[a-z]{0,12}",
                ),
            )),
        ),
        // Occasionally blow a field past its limit.
        proptest::option::weighted(0.05, (0usize..4, 100usize..25_000)),
    )
        .prop_map(
            |((channel, channel_ref, kind, title), (body, category, location, reporter), long)| {
                let mut m = v1::SubmitComplaint {
                    channel,
                    channel_ref,
                    kind,
                    title,
                    body,
                    category,
                    location,
                    reporter: reporter.map(|(name, phone, email, privacy)| v1::Reporter {
                        name,
                        phone,
                        email,
                        privacy,
                    }),
                };
                if let Some((which, n)) = long {
                    let s = "é".repeat(n);
                    match which {
                        0 => m.title = s,
                        1 => m.body = s,
                        2 => m.channel_ref = s,
                        _ => m.category = s,
                    }
                }
                m
            },
        )
}

/// Decodes and validates; a refusal must be one of the crate's errors with a
/// contract code. Returns whether the request was accepted.
fn check(format: Format, payload: &[u8]) -> Result<bool, TestCaseError> {
    let req: v1::SubmitComplaint = match format.decode(payload) {
        Ok(req) => req,
        Err(e) => {
            prop_assert!(e.format == "protobuf" || e.format == "JSON");
            return Ok(false);
        }
    };
    check_validate(req)
}

fn check_validate(req: v1::SubmitComplaint) -> Result<bool, TestCaseError> {
    match validate(req) {
        Ok(s) => {
            prop_assert!(!s.body.is_empty());
            prop_assert_eq!(s.body.trim(), s.body.as_str());
            if let Some(l) = &s.location {
                prop_assert!(l.lat.is_none_or(|v| (-90.0..=90.0).contains(&v)));
                prop_assert!(l.lon.is_none_or(|v| (-180.0..=180.0).contains(&v)));
            }
            Ok(true)
        }
        Err(e) => {
            prop_assert!(matches!(e, IntakeError::Invalid { .. }), "{:?}", e);
            prop_assert_eq!(e.code(), ErrorCode::InvalidArgument);
            prop_assert!(!e.to_proto().field.is_empty());
            Ok(false)
        }
    }
}

/// The outcome of validation, comparable across encodings.
fn outcome(req: v1::SubmitComplaint) -> Result<(), &'static str> {
    match validate(req) {
        Ok(_) => Ok(()),
        Err(IntakeError::Invalid { field, .. }) => Err(field),
        Err(_) => Err("?"),
    }
}

/// Two finite floats within JSON's round-trip error (serde_json parses
/// without `float_roundtrip`, which may be one ulp off).
fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            // Subnormals (found by the campaign: lat 2.33226293006496e-309)
            // lose more than a relative ulp, but stay below the smallest normal.
            let d = (a - b).abs();
            a == b || d <= a.abs().max(b.abs()) * 4.0 * f64::EPSILON || d < f64::MIN_POSITIVE
        }
        (a, b) => a == b,
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn raw_protobuf_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check(Format::Proto, &bytes)?;
    }

    #[test]
    fn raw_json_never_panics(text in ".{0,200}") {
        check(Format::Json, text.as_bytes())?;
    }

    #[test]
    fn json_shaped_text_never_panics(parts in proptest::collection::vec(select(vec![
        "{", "}", "[", "]", ",", ":", "\"channel\"", "\"body\"", "\"location\"", "\"reporter\"",
        "\"lat\"", "\"privacy\"", "\"web\"", "\"x\"", "null", "1e400", "-0", "true", "\"\\u0000\"",
        "\"\\ud800\"", "{\"region_code\":\"33.18\"}", "\"unknown\"",
    ]), 0..30)) {
        check(Format::Json, parts.concat().as_bytes())?;
    }

    #[test]
    fn valid_messages_round_trip_and_validate_alike(m in arb_submit()) {
        let proto = Format::Proto.encode(&m);
        let back: v1::SubmitComplaint = Format::Proto.decode(&proto).expect("protobuf round trip");
        // NaN != NaN: compare the bits through the encoding instead.
        prop_assert_eq!(Format::Proto.encode(&back), proto);
        check_validate(back.clone())?;

        let json = Format::Json.encode(&m);
        let from_json: v1::SubmitComplaint = Format::Json.decode(&json).expect("JSON round trip");
        let finite = |l: &Option<v1::Location>| l.as_ref().is_none_or(|l| {
            l.lat.is_none_or(f64::is_finite) && l.lon.is_none_or(f64::is_finite)
        });
        if finite(&m.location) {
            let (a, b) = (m.location.clone(), from_json.location.clone());
            prop_assert!(a.as_ref().zip(b.as_ref()).is_none_or(|(a, b)| close(a.lat, b.lat) && close(a.lon, b.lon)));
            let strip = |mut m: v1::SubmitComplaint| {
                if let Some(l) = m.location.as_mut() {
                    (l.lat, l.lon) = (l.lat.map(|_| 0.0), l.lon.map(|_| 0.0));
                }
                m
            };
            prop_assert_eq!(strip(from_json.clone()), strip(m.clone()));
            prop_assert_eq!(outcome(from_json), outcome(back));
        } else {
            // JSON has no NaN or infinity: serde_json writes null, which reads back as absent.
            check_validate(from_json)?;
        }
    }

    #[test]
    fn mutated_protobuf_never_panics(
        m in arb_submit(),
        donor in arb_submit(),
        ms in proptest::collection::vec(mutation_with(TOKENS), 1..4),
    ) {
        let other = Format::Proto.encode(&donor);
        let mut bytes = Format::Proto.encode(&m).to_vec();
        for mu in &ms {
            mutate(&mut bytes, mu, &other);
        }
        check(Format::Proto, &bytes)?;
    }

    #[test]
    fn mutated_json_never_panics(
        m in arb_submit(),
        donor in arb_submit(),
        ms in proptest::collection::vec(mutation_with(TOKENS), 1..4),
    ) {
        let other = Format::Json.encode(&donor);
        let mut bytes = Format::Json.encode(&m).to_vec();
        for mu in &ms {
            mutate(&mut bytes, mu, &other);
        }
        check(Format::Json, &bytes)?;
    }
}

fn request(format: Format, payload: Vec<u8>) -> Request {
    Request {
        subject: "aduan.intake.submit".into(),
        headers: Some(format.headers()),
        payload: Bytes::from(payload),
    }
}

/// End to end through `nats::handle` over a real log: the reply decodes in the
/// request's format, carries a result, and acks exactly what `validate` accepts.
/// Each accepted case is a durable append, so this runs a tenth of the cases.
#[test]
fn handle_answers_every_request() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SledOptions::new(dir.path().join("log"));
    opts.fsync = false;
    let log = SledLog::open(opts).expect("log");
    let index = aduan_kv::Db::memory();
    let intake = rt
        .block_on(Intake::open(
            log.clone(),
            index.open_tree("intake").expect("tree"),
            ReporterKey::random(),
        ))
        .expect("intake");
    let mut runner = proptest::test_runner::TestRunner::new(config((cases(2_000) / 10).max(50)));
    let strategy = (
        arb_submit(),
        any::<bool>(),
        proptest::option::weighted(0.5, proptest::collection::vec(mutation_with(TOKENS), 1..3)),
        proptest::bool::weighted(0.02),
    );
    runner
        .run(&strategy, |(m, json, ms, oversize)| {
            let format = if json { Format::Json } else { Format::Proto };
            let mut payload = format.encode(&m).to_vec();
            if let Some(ms) = ms {
                let original = payload.clone();
                for mu in &ms {
                    mutate(&mut payload, mu, &original);
                }
            }
            if oversize {
                payload.resize(MAX_REQUEST_BYTES + 1, b' ');
            }
            let expected = if payload.len() > MAX_REQUEST_BYTES {
                Err(ErrorCode::TooLarge)
            } else {
                match format.decode::<v1::SubmitComplaint>(&payload) {
                    Ok(req) => outcome(req).map_err(|_| ErrorCode::InvalidArgument),
                    Err(_) => Err(ErrorCode::InvalidArgument),
                }
            };
            let (f, reply) = rt.block_on(aduan_intake::nats::handle(
                &intake,
                request(format, payload),
            ));
            prop_assert_eq!(f, format);
            let reply: v1::SubmitReply = format.decode(&reply).expect("the reply decodes");
            match (reply.result, expected) {
                (Some(v1::submit_reply::Result::Ack(ack)), Ok(())) => {
                    prop_assert!(!ack.tracking_no.is_empty());
                }
                (Some(v1::submit_reply::Result::Error(e)), Err(code)) => {
                    prop_assert_eq!(ErrorCode::parse(&e.code), Some(code), "{:?}", e);
                }
                (got, want) => prop_assert!(false, "got {:?}, expected {:?}", got, want),
            }
            Ok(())
        })
        .expect("handle answers every request as validate decides");
    log.close();
}

/// Replays `fuzz/corpus/submit`.
#[test]
fn replay_corpus() {
    for f in corpus_files("submit") {
        let format = if f.is_json() {
            Format::Json
        } else {
            Format::Proto
        };
        let accepted = check(format, &f.bytes).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(f.must_pass(), accepted, "{}", f.name);
    }
}

/// Writes the seed corpus (`cargo test -p aduan-intake --test fuzz_inbound -- --ignored`).
#[test]
#[ignore = "writes fuzz/corpus; run by hand to regenerate the seeds"]
fn write_seed_corpus() {
    let dir = corpus("submit");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let write = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).expect("write");
    let good = v1::SubmitComplaint {
        channel: "web".into(),
        channel_ref: "form-0001".into(),
        kind: "complaint".into(),
        title: "Obat kosong".into(),
        body: "Obat di puskesmas Juwana habis sejak minggu lalu".into(),
        category: "kesehatan".into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            address: "Juwana".into(),
            lat: Some(-6.71),
            lon: Some(111.15),
        }),
        reporter: Some(v1::Reporter {
            name: "Siti".into(),
            phone: "081200000000".into(),
            email: String::new(),
            privacy: "confidential".into(),
        }),
    };
    let sms = v1::SubmitComplaint {
        channel: "sms".into(),
        body: "jalan rusak di desa".into(),
        reporter: Some(v1::Reporter {
            privacy: "anonymous".into(),
            name: "dropped".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    for (name, m) in [("ok-web", &good), ("ok-sms-anonymous", &sms)] {
        write(&format!("{name}.bin"), &Format::Proto.encode(m));
        write(&format!("{name}.json"), &Format::Json.encode(m));
    }
    write(
        "ok-minimal.json",
        br#"{"channel":"web","body":"jalan rusak"}"#,
    );
    let invalid = |f: &dyn Fn(&mut v1::SubmitComplaint)| {
        let mut m = good.clone();
        f(&mut m);
        m
    };
    let cases: [(&str, v1::SubmitComplaint); 6] = [
        ("err-blank-body", invalid(&|m| m.body = " \n\t ".into())),
        (
            "err-bad-region",
            invalid(&|m| m.location.as_mut().expect("loc").region_code = "33.1x".into()),
        ),
        (
            "err-lat-out-of-range",
            invalid(&|m| m.location.as_mut().expect("loc").lat = Some(91.0)),
        ),
        (
            "err-lat-nan",
            invalid(&|m| m.location.as_mut().expect("loc").lat = Some(f64::NAN)),
        ),
        (
            "err-unknown-privacy",
            invalid(&|m| m.reporter.as_mut().expect("rep").privacy = "secret".into()),
        ),
        ("err-long-title", invalid(&|m| m.title = "é".repeat(201))),
    ];
    for (name, m) in &cases {
        write(&format!("{name}.bin"), &Format::Proto.encode(m));
    }
    write(
        "err-bad-channel.json",
        br#"{"channel":"Fax Kantor","body":"x"}"#,
    );
    write("err-empty.json", b"");
    write("err-not-an-object.json", b"[1,2]");
    write(
        "err-lat-string.json",
        br#"{"channel":"web","body":"x","location":{"lat":"1"}}"#,
    );
    write(
        "err-huge-number.json",
        br#"{"channel":"web","body":"x","location":{"lat":1e999}}"#,
    );
    write(
        "err-lone-surrogate.json",
        br#"{"channel":"web","body":"\ud800"}"#,
    );
    write("err-truncated-varint.bin", b"\x0a\x80");
    write("err-length-past-end.bin", b"\x2a\xff\xff\xff\xff\x0f");
    write("err-wrong-wire-type.bin", b"\x0d\x00\x00\x00\x00");
    write("err-invalid-utf8.bin", b"\x0a\x03we\xff\x2a\x01x");
    write("err-empty.bin", b"");
}
