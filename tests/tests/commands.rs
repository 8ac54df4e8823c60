//! OPD commands end to end: `aduan serve` with a real nats-server, commands on
//! `aduan.opd.<org>.cmd` in protobuf and JSON, and a wrong org in the subject
//! refused with `not_assigned` and nothing appended.
//!
//! The complaint is submitted over NATS; if no router has routed it by the
//! time aduan stops, the test routes it to kab-pati-dinkes by appending
//! `ComplaintRouted` to the stopped log, then restarts aduan.

use std::time::Duration;

use aduan_e2e::{request, wait_ready, Aduan, NatsServer};
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use prost::Message;

const DINKES: &str = "kab-pati-dinkes";

fn open_log(data: &std::path::Path) -> SledLog {
    SledLog::open(SledOptions::new(data.join("log"))).expect("open log while aduan is stopped")
}

/// The owner of the complaint, routing it to kab-pati-dinkes if nobody has.
async fn owner_of(data: &std::path::Path, complaint_id: &str) -> (String, usize) {
    let log = open_log(data);
    let stream = format!("complaint-{complaint_id}");
    let events = log.read_stream(&stream, 1).await.expect("read");
    let routed = events
        .iter()
        .rev()
        .find(|e| e.event_type == "ComplaintRouted");
    let result = match routed {
        Some(e) => {
            let r = v1::ComplaintRouted::decode(&e.payload[..]).expect("routed");
            (r.org, events.len())
        }
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis() as i64;
            let day = 86_400_000;
            let r = v1::ComplaintRouted {
                org: DINKES.into(),
                hop: 1,
                reason: "rule".into(),
                due_at_ms: now + 60 * day,
                acknowledge_due_ms: now + 3 * day,
                follow_up_due_ms: now + 5 * day,
                at_ms: now,
                ..Default::default()
            };
            let e = NewEvent::new("ComplaintRouted", "test", r.encode_to_vec());
            let v = events.len() as u64;
            log.append(&stream, ExpectedVersion::Exact(v), vec![e])
                .await
                .expect("route");
            (DINKES.to_owned(), events.len() + 1)
        }
    };
    log.close();
    result
}

fn stream_len(data: &std::path::Path, complaint_id: &str) -> usize {
    let log = open_log(data);
    let stream = format!("complaint-{complaint_id}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let n = rt
        .block_on(log.read_stream(&stream, 1))
        .expect("read")
        .len();
    log.close();
    n
}

fn command(complaint_id: &str, action: v1::opd_command::Action) -> v1::OpdCommand {
    v1::OpdCommand {
        complaint_id: complaint_id.into(),
        actor: "ani".into(),
        action: Some(action),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opd_commands_over_nats_in_protobuf_and_json() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let aduan = Aduan::serve(dir.path(), Some(&nats.url()), &[]);
    wait_ready(aduan.http).await;
    let nc = nats.connect().await;
    let submit = v1::SubmitComplaint {
        channel: "sms".into(),
        channel_ref: "cmd-1".into(),
        kind: "complaint".into(),
        body: "Puskesmas Juwana kehabisan obat diabetes sejak seminggu".into(),
        category: "kesehatan".into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let reply = v1::SubmitReply::decode(
        request(&nc, "aduan.intake.submit", submit.encode_to_vec(), false).await,
    )
    .expect("submit reply");
    let Some(v1::submit_reply::Result::Ack(ack)) = reply.result else {
        panic!("submit refused: {reply:?}")
    };
    tokio::time::sleep(Duration::from_millis(500)).await; // let a router, if wired, route it
    assert_eq!(aduan.terminate(), Some(0));
    let (owner, len) = owner_of(dir.path(), &ack.complaint_id).await;
    let aduan = Aduan::serve(dir.path(), Some(&nats.url()), &[]);

    // Protobuf: acknowledge as the owner.
    let ackn = command(
        &ack.complaint_id,
        v1::opd_command::Action::Acknowledge(Default::default()),
    );
    let bytes = request(
        &nc,
        &format!("aduan.opd.{owner}.cmd"),
        ackn.encode_to_vec(),
        false,
    )
    .await;
    let reply = v1::CommandReply::decode(bytes).expect("protobuf reply");
    let Some(v1::command_reply::Result::Ack(a)) = reply.result else {
        panic!("acknowledge refused: {reply:?}")
    };
    assert_eq!(
        (a.stream_version, a.status.as_str()),
        (len as u64 + 1, "in_progress")
    );

    // JSON: a follow-up.
    let body = serde_json::json!({"complaint_id": ack.complaint_id, "actor": "ani", "follow_up": {"message": "Stok dikirim besok", "public": true}});
    let bytes = request(
        &nc,
        &format!("aduan.opd.{owner}.cmd"),
        body.to_string().into_bytes(),
        true,
    )
    .await;
    let reply: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON reply");
    assert_eq!(
        reply["ack"]["stream_version"].as_u64(),
        Some(len as u64 + 2),
        "{reply}"
    );

    // A wrong org in the subject: not_assigned, in either format.
    let other = if owner == "kab-pati-rsud" {
        "kab-pati-dinkes"
    } else {
        "kab-pati-rsud"
    };
    let resolve = command(
        &ack.complaint_id,
        v1::opd_command::Action::Resolve(v1::opd_command::Resolve {
            resolution: "Selesai".into(),
        }),
    );
    let bytes = request(
        &nc,
        &format!("aduan.opd.{other}.cmd"),
        resolve.encode_to_vec(),
        false,
    )
    .await;
    let reply = v1::CommandReply::decode(bytes).expect("protobuf reply");
    let Some(v1::command_reply::Result::Error(e)) = reply.result else {
        panic!("expected a refusal: {reply:?}")
    };
    assert_eq!(e.code, "not_assigned");
    let bytes = request(
        &nc,
        &format!("aduan.opd.{other}.cmd"),
        body.to_string().into_bytes(),
        true,
    )
    .await;
    let reply: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON reply");
    assert_eq!(reply["error"]["code"], "not_assigned", "{reply}");
    // Malformed protobuf: invalid_argument.
    let bytes = request(
        &nc,
        &format!("aduan.opd.{owner}.cmd"),
        vec![0xff, 0xff, 0xff],
        false,
    )
    .await;
    let reply = v1::CommandReply::decode(bytes).expect("protobuf reply");
    let Some(v1::command_reply::Result::Error(e)) = reply.result else {
        panic!("expected a refusal: {reply:?}")
    };
    assert_eq!(e.code, "invalid_argument");
    // JSON naming two actions, or an action that is not an object: invalid_argument, not "action missing".
    let complaint_id = &ack.complaint_id;
    for (body, says) in [
        (
            serde_json::json!({"complaint_id": complaint_id, "actor": "ani", "acknowledge": {}, "resolve": {"resolution": "y"}}),
            "not both acknowledge and resolve",
        ),
        (
            serde_json::json!({"complaint_id": complaint_id, "actor": "ani", "acknowledge": true}),
            "acknowledge: invalid type",
        ),
    ] {
        let subject = format!("aduan.opd.{owner}.cmd");
        let bytes = request(&nc, &subject, body.to_string().into_bytes(), true).await;
        let reply: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON reply");
        assert_eq!(reply["error"]["code"], "invalid_argument", "{reply}");
        let message = reply["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{reply}");
    }

    assert_eq!(aduan.terminate(), Some(0));
    let id = ack.complaint_id.clone();
    let n = tokio::task::spawn_blocking(move || stream_len(dir.path(), &id))
        .await
        .expect("join");
    assert_eq!(
        n,
        len + 2,
        "only the acknowledge and the follow-up were appended"
    );
}
