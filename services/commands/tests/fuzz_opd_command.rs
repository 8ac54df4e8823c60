//! Fuzz-style tests of `OpdCommand`, the OPDs' inbound message (issue 7): raw
//! protobuf bytes and JSON text through `Format::decode`, generated commands
//! then mutated, and end to end through `nats::handle` over a real log holding
//! routed complaints, so decoding, parsing and the domain's `decide` are all
//! reached. Properties: nothing panics; decoding refusals are `DecodeError`s;
//! valid commands round-trip through both encodings; every request gets a
//! `CommandReply` with a result in the request's format, and a request that
//! does not decode is answered `invalid_argument`.
//!
//! `ADUAN_FUZZ_CASES=N` runs a sustained campaign
//! (`cargo test --release -p aduan-commands --test fuzz_opd_command`).
//! `fuzz/corpus/opd_command/` is replayed by `replay_corpus`: `ok-*` must
//! decode, `err-*` must not (`.json` JSON, `.bin` protobuf).

use aduan_fuzz::{cases, config, corpus, corpus_files, mutate, mutation};
use std::sync::Arc;

use aduan_bus::{Format, Request, Subjects};
use aduan_commands::Commands;
use aduan_domain::{calendar::unix_ms, reporter_token, ComplaintEvent, ComplaintId, ManualClock};
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1::opd_command::{self, Action};
use aduan_proto::{v1, ErrorCode};
use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::select;
use time::macros::datetime;

/// The codes a command reply may carry.
const CODES: &[ErrorCode] = &[
    ErrorCode::InvalidArgument,
    ErrorCode::TooLarge,
    ErrorCode::NotFound,
    ErrorCode::Conflict,
    ErrorCode::Internal,
    ErrorCode::Unavailable,
    ErrorCode::NotAssigned,
    ErrorCode::Unauthorized,
];

fn text(known: &'static [&'static str], junk: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![3 => select(known).prop_map(str::to_owned), 1 => junk, 1 => ".{0,8}"]
}

fn arb_action() -> impl Strategy<Value = Option<Action>> {
    let msg = || text(&["", "Sudah kami tindak lanjuti", "  "], ".{0,40}");
    proptest::option::weighted(
        0.9,
        prop_oneof![
            Just(Action::Acknowledge(opd_command::Acknowledge {})),
            (msg(), any::<bool>()).prop_map(|(message, public)| Action::FollowUp(
                opd_command::FollowUp { message, public }
            )),
            msg().prop_map(|question| Action::RequestInfo(opd_command::RequestInfo { question })),
            msg().prop_map(|resolution| Action::Resolve(opd_command::Resolve { resolution })),
            (
                msg(),
                text(
                    &[
                        "",
                        "kab-pati-dinkes",
                        "prov-jateng-dinkes",
                        "nowhere",
                        "Bad Org"
                    ],
                    "[a-z-]{0,12}"
                )
            )
                .prop_map(|(reason, suggested_org)| Action::Reject(
                    opd_command::Reject {
                        reason,
                        suggested_org
                    }
                )),
        ],
    )
}

/// Commands against `ids` (the seeded complaints) or junk ids.
fn arb_command(ids: Vec<String>) -> impl Strategy<Value = v1::OpdCommand> {
    let id = prop_oneof![
        4 => select(ids),
        1 => Just(ComplaintId::new().to_string()),
        1 => ".{0,40}",
    ];
    (
        id,
        text(&["ani", "", " budi ", "x"], ".{0,300}"),
        arb_action(),
    )
        .prop_map(|(complaint_id, actor, action)| v1::OpdCommand {
            complaint_id,
            actor,
            action,
        })
}

fn decodes(format: Format, payload: &[u8]) -> Result<bool, TestCaseError> {
    match format.decode::<v1::OpdCommand>(payload) {
        Ok(_) => Ok(true),
        Err(e) => {
            prop_assert!(e.format == "protobuf" || e.format == "JSON");
            Ok(false)
        }
    }
}

fn fixed_ids() -> Vec<String> {
    vec![ComplaintId::new().to_string()]
}

proptest! {
    #![proptest_config(config(2_000))]

    #[test]
    fn raw_protobuf_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        decodes(Format::Proto, &bytes)?;
    }

    #[test]
    fn raw_json_never_panics(s in ".{0,200}") {
        decodes(Format::Json, s.as_bytes())?;
    }

    #[test]
    fn json_shaped_text_never_panics(parts in proptest::collection::vec(select(vec![
        "{", "}", ",", ":", "\"complaint_id\"", "\"actor\"", "\"acknowledge\"", "\"follow_up\"",
        "\"reject\"", "\"resolve\"", "\"message\"", "\"public\"", "{}", "null", "true", "\"x\"", "1",
    ]), 0..30)) {
        decodes(Format::Json, parts.concat().as_bytes())?;
    }

    #[test]
    fn valid_commands_round_trip(cmd in arb_command(fixed_ids())) {
        for format in [Format::Proto, Format::Json] {
            let back: v1::OpdCommand = format.decode(&format.encode(&cmd)).expect("round trip");
            prop_assert_eq!(&back, &cmd);
        }
    }

    #[test]
    fn mutated_commands_never_panic(
        cmd in arb_command(fixed_ids()),
        json in any::<bool>(),
        ms in proptest::collection::vec(mutation(), 1..4),
    ) {
        let format = if json { Format::Json } else { Format::Proto };
        let original = format.encode(&cmd).to_vec();
        let mut bytes = original.clone();
        for m in &ms {
            mutate(&mut bytes, m, &original);
        }
        decodes(format, &bytes)?;
    }
}

/// Appends a received and routed complaint owned by `owner`; returns its id.
async fn routed(log: &SledLog, owner: &str) -> String {
    let id = ComplaintId::new();
    let (_, hash) = reporter_token::generate();
    let received = v1::ComplaintReceived {
        complaint_id: id.to_string(),
        tracking_no: aduan_domain::TrackingNo::random().to_string(),
        channel: "web".into(),
        kind: "complaint".into(),
        title: "Obat habis".into(),
        body: "Puskesmas kehabisan obat".into(),
        reporter_token_hash: hash,
        received_at_ms: unix_ms(datetime!(2026-11-23 08:00 UTC)),
        ..Default::default()
    };
    let routed = v1::ComplaintRouted {
        org: owner.into(),
        hop: 1,
        reason: "rule".into(),
        due_at_ms: unix_ms(datetime!(2027-03-01 09:00 UTC)),
        acknowledge_due_ms: unix_ms(datetime!(2026-11-26 09:00 UTC)),
        follow_up_due_ms: unix_ms(datetime!(2026-11-30 09:00 UTC)),
        category: "kesehatan".into(),
        at_ms: unix_ms(datetime!(2026-11-23 08:00 UTC)),
        ..Default::default()
    };
    let events = [ComplaintEvent::from(received), ComplaintEvent::from(routed)]
        .iter()
        .map(|e| NewEvent::new(e.type_name(), "fuzz", e.encode()))
        .collect();
    log.append(&id.stream(), ExpectedVersion::NoStream, events)
        .await
        .expect("append given");
    id.to_string()
}

/// End to end through `nats::handle` over a real log with routed complaints:
/// every request is answered in its own format with a result, and requests
/// that do not decode are `invalid_argument`. Accepted commands append, so
/// this runs a tenth of the cases.
#[test]
fn handle_answers_every_request() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SledOptions::new(dir.path().join("log"));
    opts.fsync = false;
    let log = SledLog::open(opts).expect("log");
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 09:00 UTC)));
    let commands = Commands::new(log.clone(), clock);
    let subjects = Subjects::default();
    let ids: Vec<String> = rt.block_on(async {
        let mut ids = Vec::new();
        for owner in [
            "kab-pati-dinkes",
            "kab-pati-dinkes",
            "kab-pati-dinkes",
            "prov-jateng-dinkes",
        ] {
            ids.push(routed(&log, owner).await);
        }
        ids
    });
    let mut runner = proptest::test_runner::TestRunner::new(config((cases(2_000) / 10).max(50)));
    let strategy = (
        arb_command(ids),
        select(vec![
            "kab-pati-dinkes",
            "prov-jateng-dinkes",
            "not_assigned",
            "Bad Org",
            "",
            "kab-pati-dinkes.x",
        ]),
        any::<bool>(),
        proptest::option::weighted(0.3, proptest::collection::vec(mutation(), 1..3)),
    );
    runner
        .run(&strategy, |(cmd, org, json, ms)| {
            let format = if json { Format::Json } else { Format::Proto };
            let mut payload = format.encode(&cmd).to_vec();
            if let Some(ms) = ms {
                let original = payload.clone();
                for m in &ms {
                    mutate(&mut payload, m, &original);
                }
            }
            let decodes = format.decode::<v1::OpdCommand>(&payload).is_ok();
            let req = Request {
                subject: subjects.opd_cmd(org),
                headers: Some(format.headers()),
                payload: Bytes::from(payload),
            };
            let (f, reply) = rt.block_on(aduan_commands::nats::handle(&commands, &subjects, req));
            prop_assert_eq!(f, format);
            let reply: v1::CommandReply = format.decode(&reply).expect("the reply decodes");
            match reply.result {
                Some(v1::command_reply::Result::Ack(_)) => prop_assert!(decodes),
                Some(v1::command_reply::Result::Error(e)) => {
                    let code = ErrorCode::parse(&e.code);
                    prop_assert!(
                        code.is_some_and(|c| CODES.contains(&c)),
                        "unknown code {:?}",
                        e
                    );
                    if !decodes {
                        prop_assert_eq!(code, Some(ErrorCode::InvalidArgument));
                    }
                }
                None => prop_assert!(false, "a reply without a result"),
            }
            Ok(())
        })
        .expect("handle answers every request");
    rt.block_on(async {
        let head = *log.head().borrow();
        assert!(head >= 8, "the seeded complaints are in the log");
    });
    log.close();
}

/// Replays `fuzz/corpus/opd_command`.
#[test]
fn replay_corpus() {
    for f in corpus_files("opd_command") {
        let format = if f.is_json() {
            Format::Json
        } else {
            Format::Proto
        };
        let ok = decodes(format, &f.bytes).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(f.must_pass(), ok, "{}", f.name);
    }
}

/// Writes the seed corpus (`cargo test -p aduan-commands --test fuzz_opd_command -- --ignored`).
#[test]
#[ignore = "writes fuzz/corpus; run by hand to regenerate the seeds"]
fn write_seed_corpus() {
    let dir = corpus("opd_command");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let write = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).expect("write");
    let id = "0190a4b2-7c1d-7e3f-8a5b-1c2d3e4f5a6b".to_owned();
    let cmds = [
        (
            "ok-acknowledge",
            Action::Acknowledge(opd_command::Acknowledge {}),
        ),
        (
            "ok-follow-up",
            Action::FollowUp(opd_command::FollowUp {
                message: "Sedang ditangani".into(),
                public: true,
            }),
        ),
        (
            "ok-reject",
            Action::Reject(opd_command::Reject {
                reason: "bukan wewenang".into(),
                suggested_org: "prov-jateng-dinkes".into(),
            }),
        ),
    ];
    for (name, action) in cmds {
        let cmd = v1::OpdCommand {
            complaint_id: id.clone(),
            actor: "ani".into(),
            action: Some(action),
        };
        write(&format!("{name}.bin"), &Format::Proto.encode(&cmd));
        write(&format!("{name}.json"), &Format::Json.encode(&cmd));
    }
    write(
        "ok-no-action.json",
        br#"{"complaint_id":"x","actor":"ani"}"#,
    );
    // serde's own `flatten` of the oneof used to read these three as "no action".
    write(
        "err-two-actions.json",
        br#"{"complaint_id":"x","acknowledge":{},"resolve":{"resolution":"y"}}"#,
    );
    write(
        "err-action-not-object.json",
        br#"{"complaint_id":"x","acknowledge":true}"#,
    );
    write(
        "err-public-string.json",
        br#"{"follow_up":{"message":"m","public":"yes"}}"#,
    );
    write("err-truncated.json", br#"{"complaint_id":"x","#);
    write("err-truncated-submessage.bin", b"\x22\x05\x0a\x03ab");
    write("err-bad-utf8-actor.bin", b"\x12\x02\xc3\x28");
}
