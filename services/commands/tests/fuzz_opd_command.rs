//! Fuzz-style tests of `OpdCommand`, the OPDs' inbound message (issue 7): raw
//! protobuf bytes and JSON text through `Format::decode`, generated commands
//! then mutated, and end to end through `nats::handle` over a real log holding
//! routed complaints, so decoding, parsing and the domain's `decide` are all
//! reached. Properties: nothing panics; decoding refusals are `DecodeError`s;
//! valid commands round-trip through both encodings; every request gets a
//! `CommandReply` in the request's format whose result follows from the
//! request and the complaint's state before it: `invalid_argument` when
//! malformed, `not_found` for an unknown complaint, `not_assigned` for an org
//! that does not own it, an ack only for its owner; never `internal`.
//!
//! `ADUAN_FUZZ_CASES=N` runs a sustained campaign
//! (`cargo test --release -p aduan-commands --test fuzz_opd_command`).
//! `fuzz/corpus/opd_command/` is replayed by `replay_corpus`: `ok-*` must
//! decode, `err-*` must not (`.json` JSON, `.bin` protobuf).

use aduan_fuzz::{cases, config, corpus, corpus_files, mutate, mutation};
use std::sync::Arc;

use aduan_bus::{Format, Request, Subjects};
use aduan_commands::Commands;
use aduan_complaints::StoreError;
use aduan_domain::{
    calendar::unix_ms, reporter_token, Complaint, ComplaintEvent, ComplaintId, ManualClock,
    OrgCode, Status,
};
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1::opd_command::{self, Action};
use aduan_proto::{v1, ErrorCode};
use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::select;
use time::macros::datetime;

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

/// What the reply to one request must be, from the request and the state of
/// its complaint before it (CONTRACT.md: `<org>` of `aduan.opd.<org>.cmd` must
/// be the complaint's current owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Malformed: no org in the subject, undecodable, or a bad field.
    InvalidArgument,
    /// A well-formed command for a complaint that does not exist.
    NotFound,
    /// A well-formed command from an org that does not own the complaint.
    NotAssigned,
    /// The owner, but the complaint is not at work (resolved, declined, …).
    Conflict,
    /// The owner of a complaint at work: an ack, or a refusal of the state
    /// (already acknowledged, question pending) or of a field (blank text).
    OwnerAtWork,
}

/// Whether `cmd` has the shape the command side parses (`opd::parse`):
/// a complaint id, an actor, an action, a usable suggested org.
fn well_formed(cmd: &v1::OpdCommand) -> Option<ComplaintId> {
    let id = ComplaintId::parse(cmd.complaint_id.trim()).ok()?;
    let actor = cmd.actor.trim();
    if actor.is_empty() || actor.len() > aduan_commands::MAX_ACTOR {
        return None;
    }
    match cmd.action.as_ref()? {
        Action::Reject(r) if !r.suggested_org.trim().is_empty() => {
            OrgCode::parse(r.suggested_org.trim()).ok()?;
        }
        _ => {}
    }
    Some(id)
}

/// The expected reply, and the complaint as it is before the request (when
/// the reply depends on it).
async fn expect(
    commands: &Commands<SledLog>,
    org: Option<OrgCode>,
    cmd: Option<&v1::OpdCommand>,
) -> (Expect, Option<Complaint>) {
    let (Some(org), Some(cmd)) = (org, cmd) else {
        return (Expect::InvalidArgument, None);
    };
    let Some(id) = well_formed(cmd) else {
        return (Expect::InvalidArgument, None);
    };
    let c = match commands.store().load(&id).await {
        Ok(loaded) => loaded.complaint,
        Err(StoreError::NotFound(_)) => return (Expect::NotFound, None),
        Err(e) => panic!("the seeded log is readable: {e}"),
    };
    let e = if c.owner.as_ref() != Some(&org) {
        Expect::NotAssigned
    } else if matches!(c.status, Status::Routed | Status::InProgress) {
        Expect::OwnerAtWork
    } else {
        Expect::Conflict
    };
    (e, Some(c))
}

/// Checks one reply against what was expected; returns the reply's code
/// ("ack" for an acknowledgement).
fn check_reply(
    want: Expect,
    before: Option<&Complaint>,
    reply: &v1::CommandReply,
) -> Result<&'static str, TestCaseError> {
    let code = match &reply.result {
        Some(v1::command_reply::Result::Ack(ack)) => {
            prop_assert_eq!(want, Expect::OwnerAtWork, "acknowledged: {:?}", ack);
            let c = before.expect("an owner's complaint was loaded");
            prop_assert_eq!(&ack.complaint_id, &c.id.to_string());
            prop_assert_eq!(ack.stream_version, c.version + 1);
            return Ok("ack");
        }
        Some(v1::command_reply::Result::Error(e)) => ErrorCode::parse(&e.code)
            .ok_or_else(|| TestCaseError::fail(format!("not a contract code: {e:?}")))?,
        None => return Err(TestCaseError::fail("a reply without a result")),
    };
    // `internal`, `unavailable` and the rest are never an answer here.
    let allowed: &[ErrorCode] = match want {
        Expect::InvalidArgument => &[ErrorCode::InvalidArgument],
        Expect::NotFound => &[ErrorCode::NotFound],
        Expect::NotAssigned => &[ErrorCode::NotAssigned],
        Expect::Conflict => &[ErrorCode::Conflict],
        Expect::OwnerAtWork => &[ErrorCode::Conflict, ErrorCode::InvalidArgument],
    };
    prop_assert!(
        allowed.contains(&code),
        "expected {:?}, got {:?}: {:?}",
        want,
        code,
        reply
    );
    Ok(code.as_str())
}

/// End to end through `nats::handle` over a real log with routed complaints,
/// each request checked against the owner rule: an org that does not own the
/// complaint gets `not_assigned`, only its owner an ack; a malformed request
/// gets `invalid_argument`, an unknown complaint `not_found`; never
/// `internal`. Accepted commands append, so this runs a tenth of the cases.
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
    // Enough complaints per org that some are still at work late in the run.
    let owners = ["kab-pati-dinkes", "prov-jateng-dinkes"];
    let ids: Vec<String> = rt.block_on(async {
        let mut ids = Vec::new();
        for _ in 0..6 {
            for owner in owners {
                ids.push(routed(&log, owner).await);
            }
        }
        ids
    });
    let ask = |org: &str, payload: Vec<u8>, format: Format| {
        let subject = subjects.opd_cmd(org);
        let acting = subjects
            .org_of(&subject)
            .and_then(|o| OrgCode::parse(o).ok());
        let cmd = format.decode::<v1::OpdCommand>(&payload).ok();
        let (want, before) = rt.block_on(expect(&commands, acting, cmd.as_ref()));
        let req = Request {
            subject,
            headers: Some(format.headers()),
            payload: Bytes::from(payload),
        };
        let (f, reply) = rt.block_on(aduan_commands::nats::handle(&commands, &subjects, req));
        prop_assert_eq!(f, format);
        let reply: v1::CommandReply = format.decode(&reply).expect("the reply decodes");
        check_reply(want, before.as_ref(), &reply)
    };
    // The owner rule, once for certain: the other org, then the owner.
    let ack = |id: &String| v1::OpdCommand {
        complaint_id: id.clone(),
        actor: "ani".into(),
        action: Some(Action::Acknowledge(opd_command::Acknowledge {})),
    };
    let first = Format::Proto.encode(&ack(&ids[0])).to_vec();
    let by_other = ask(owners[1], first.clone(), Format::Proto).expect("the other org");
    assert_eq!(by_other, "not_assigned");
    assert_eq!(
        ask(owners[0], first, Format::Proto).expect("the owner"),
        "ack"
    );

    let mut runner = proptest::test_runner::TestRunner::new(config((cases(2_000) / 10).max(50)));
    let strategy = (
        arb_command(ids),
        prop_oneof![
            3 => select(owners.to_vec()),
            1 => select(vec!["not_assigned", "Bad Org", "", "kab-pati-dinkes.x"]),
        ],
        any::<bool>(),
        proptest::option::weighted(0.3, proptest::collection::vec(mutation(), 1..3)),
    );
    let tally = std::sync::Mutex::new(std::collections::BTreeMap::<&str, u32>::new());
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
            let code = ask(org, payload, format)?;
            *tally.lock().unwrap().entry(code).or_default() += 1;
            Ok(())
        })
        .expect("every request answered by the owner rule");
    eprintln!("replies: {:?}", tally.into_inner().unwrap());
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
