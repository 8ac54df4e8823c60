//! Answer review end to end: `aduan serve` with a real nats-server and a rule
//! set that puts kab-pati-dinkes under review. The operator's resolution sent
//! on `aduan.opd.kab-pati-dinkes.cmd` is a draft; `approve_answer` on the
//! same subject publishes it; the region's admin returns it with
//! `return_resolution` on `aduan.admin.kab-pati-diskominfo.cmd`, and the public status
//! view shows the answer, then the return; the router hands the complaint
//! back to the OPD's inbox on `ADUAN_OPD` with a second `Assignment`.

use std::time::{Duration, Instant};

use aduan_e2e::{get_json, request, Aduan, NatsServer};
use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use prost::Message;
use serde_json::{json, Value};

const DINKES: &str = "kab-pati-dinkes";
const SAMPLE: &str = include_str!("../../deploy/rules/sample.toml");
const BOUNDARIES: &str = include_str!("../../deploy/rules/sample-boundaries.geojson");

/// A JSON command on `subject`, its JSON reply.
async fn json_cmd(nc: &async_nats::Client, subject: &str, body: Value) -> Value {
    let bytes = request(nc, subject, body.to_string().into_bytes(), true).await;
    serde_json::from_slice(&bytes).expect("JSON reply")
}

/// Polls the public status view until `done` holds for it.
async fn status_until(aduan: &Aduan, tracking_no: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, view) = get_json(aduan.http, &format!("/v1/complaints/{tracking_no}")).await;
        if code == 200 && done(&view) {
            return view;
        }
        assert!(
            Instant::now() < deadline,
            "status view never got there: {code} {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn notes(view: &Value) -> Vec<(String, String)> {
    view["timeline"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| {
                    let s = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
                    (s("status"), s("note"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_over_the_opd_subject_and_return_over_the_admin_subject() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.toml");
    let reviewed = SAMPLE.replace(
        "code = \"kab-pati-dinkes\"\n",
        "code = \"kab-pati-dinkes\"\nreview_answers = true\n",
    );
    std::fs::write(&rules, reviewed).expect("write rules");
    // The sample names its boundary file beside it.
    std::fs::write(dir.path().join("sample-boundaries.geojson"), BOUNDARIES)
        .expect("write boundaries");
    let data = dir.path().join("data");
    let rules_arg = rules.to_str().expect("utf-8 path");
    let aduan = Aduan::serve(&data, Some(&nats.url()), &["--rules", rules_arg]);
    let nc = nats.connect().await;

    let submit = v1::SubmitComplaint {
        channel: "sms".into(),
        channel_ref: "review-1".into(),
        kind: "complaint".into(),
        body: "Puskesmas Juwana kehabisan obat diabetes sejak seminggu".into(),
        category: "kesehatan".into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let reply = request(&nc, "aduan.intake.submit", submit.encode_to_vec(), false).await;
    let Some(v1::submit_reply::Result::Ack(ack)) =
        v1::SubmitReply::decode(reply).expect("reply").result
    else {
        panic!("submit refused")
    };
    let t = ack.tracking_no.clone();
    let routed = status_until(&aduan, &t, |v| v["org"] == DINKES).await;
    assert_eq!(routed["status"], "routed", "{routed}");

    // The operator's resolution is a draft: nothing reaches the reporter.
    let opd = format!("aduan.opd.{DINKES}.cmd");
    let id = ack.complaint_id.as_str();
    let answer = "Obat diabetes sudah dikirim ke Puskesmas Juwana";
    let resolve = json!({"complaint_id": id, "actor": "ani", "resolve": {"resolution": answer}});
    let r = json_cmd(&nc, &opd, resolve).await;
    let drafted_at = r["ack"]["stream_version"].as_u64().expect("ack");
    assert_eq!(r["ack"]["status"], "routed", "{r}");

    // The head approves on the org's subject: the answer goes out.
    let approve = json!({"complaint_id": id, "actor": "bu-kepala",
        "approve_answer": {"draft_id": format!("draft-{drafted_at}")}});
    let r = json_cmd(&nc, &opd, approve.clone()).await;
    assert_eq!(r["ack"]["status"], "resolved", "{r}");
    // Approving it again is a conflict, and another org's subject is forbidden.
    let r = json_cmd(&nc, &opd, approve.clone()).await;
    assert_eq!(r["error"]["code"], "conflict", "{r}");
    let r = json_cmd(&nc, "aduan.opd.kab-pati-rsud.cmd", approve).await;
    assert_eq!(r["error"]["code"], "forbidden", "{r}");
    let view = status_until(&aduan, &t, |v| v["status"] == "resolved").await;
    assert_eq!(
        notes(&view).last(),
        Some(&("resolved".to_owned(), answer.to_owned())),
        "{view}"
    );

    // The region's admin returns it (protobuf); an OPD's org is no admin subject.
    let back = v1::AdminCommand {
        complaint_id: id.into(),
        actor: "budi".into(),
        action: Some(v1::admin_command::Action::ReturnResolution(
            v1::admin_command::ReturnResolution {
                reason: "Belum dijelaskan kapan obat tersedia".into(),
            },
        )),
    };
    let bytes = request(
        &nc,
        &format!("aduan.admin.{DINKES}.cmd"),
        back.encode_to_vec(),
        false,
    )
    .await;
    let reply = v1::CommandReply::decode(bytes).expect("protobuf reply");
    let Some(v1::command_reply::Result::Error(e)) = reply.result else {
        panic!("an OPD's org acted as admin: {reply:?}")
    };
    assert_eq!(e.code, "forbidden");
    let bytes = request(
        &nc,
        "aduan.admin.kab-pati-diskominfo.cmd",
        back.encode_to_vec(),
        false,
    )
    .await;
    let reply = v1::CommandReply::decode(bytes).expect("protobuf reply");
    let Some(v1::command_reply::Result::Ack(a)) = reply.result else {
        panic!("return refused: {reply:?}")
    };
    assert_eq!(a.status, "in_progress");
    let view = status_until(&aduan, &t, |v| v["status"] == "in_progress").await;
    assert_eq!(view["org"], DINKES, "back to the same OPD: {view}");
    assert!(
        notes(&view).contains(&(
            "in_progress".to_owned(),
            "returned: Belum dijelaskan kapan obat tersedia".to_owned()
        )),
        "{view}"
    );

    // The first assignment, and the same one again after the return.
    let js = async_nats::jetstream::new(nc.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    let assignments = loop {
        let n = match js.get_stream("ADUAN_OPD").await {
            Ok(mut stream) => stream.info().await.map_or(0, |i| i.state.messages),
            Err(_) => 0,
        };
        if n >= 2 || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        assignments, 2,
        "the return hands the complaint back on the inbox"
    );

    assert_eq!(aduan.terminate(), Some(0));
    let log = SledLog::open(SledOptions::new(data.join("log"))).expect("open log");
    let events = log
        .read_stream(&format!("complaint-{id}"), 1)
        .await
        .expect("read");
    let who: Vec<_> = events
        .iter()
        .skip(2)
        .map(|e| (e.event_type.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        who,
        [
            ("AnswerDrafted", "opd:kab-pati-dinkes:ani"),
            ("AnswerApproved", "opd_head:kab-pati-dinkes:bu-kepala"),
            ("ComplaintResolved", "opd_head:kab-pati-dinkes:bu-kepala"),
            ("ResolutionReturned", "admin:kab-pati-diskominfo:budi"),
        ]
    );
    log.close();
}
