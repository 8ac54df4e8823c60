//! Intake end to end: `aduan serve` with a real nats-server, submissions over
//! NATS (protobuf and JSON) and HTTP, dedupe across a restart, and every bad
//! input refused with its code and nothing appended.

use std::time::Duration;

use aduan_e2e::{get_json, http, post_json, Aduan, NatsServer};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use prost::Message;
use serde_json::json;

fn complaint(reference: &str) -> v1::SubmitComplaint {
    v1::SubmitComplaint {
        channel: "sms".into(),
        channel_ref: reference.into(),
        kind: "complaint".into(),
        body: "Sampah menumpuk di pasar Puri, bau sampai ke rumah warga".into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn request(nc: &async_nats::Client, payload: Vec<u8>, json: bool) -> async_nats::Message {
    let mut headers = async_nats::HeaderMap::new();
    if json {
        headers.insert("Content-Type", "application/json");
    }
    // The HTTP port can open a moment before intake's NATS subscription.
    for _ in 0..50 {
        let fut = nc.request_with_headers(
            "aduan.intake.submit",
            headers.clone(),
            payload.clone().into(),
        );
        match tokio::time::timeout(Duration::from_secs(10), fut)
            .await
            .expect("reply in time")
        {
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other.expect("reply"),
        }
    }
    panic!("nobody serves aduan.intake.submit");
}

async fn submit_proto(nc: &async_nats::Client, req: &v1::SubmitComplaint) -> v1::SubmitReply {
    let msg = request(nc, req.encode_to_vec(), false).await;
    v1::SubmitReply::decode(msg.payload).expect("protobuf reply")
}

fn ack(reply: v1::SubmitReply) -> v1::SubmitAck {
    match reply.result {
        Some(v1::submit_reply::Result::Ack(a)) => a,
        other => panic!("expected an ack, got {other:?}"),
    }
}

fn error(reply: v1::SubmitReply) -> v1::Error {
    match reply.result {
        Some(v1::submit_reply::Result::Error(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// How many complaints the log holds (`ComplaintReceived` events): the router
/// in `aduan serve` appends its rule set and routings beside them.
fn log_head(data: &std::path::Path) -> u64 {
    let log = SledLog::open(SledOptions::new(data.join("log"))).expect("open log after stop");
    let all = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(aduan_log::EventLog::read_all(&log, 1, 100_000))
    })
    .expect("read log");
    log.close();
    all.iter()
        .filter(|e| e.event_type == "ComplaintReceived")
        .count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_over_nats_and_http_with_dedupe_across_restart() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().expect("data dir");
    let aduan = Aduan::serve(dir.path(), Some(&nats.url()), &[]);
    let nc = nats.connect().await;

    // Protobuf over NATS.
    let first = ack(submit_proto(&nc, &complaint("sms-1")).await);
    assert!(!first.duplicate);
    assert_eq!(first.tracking_no.len(), 11);
    assert!(!first.reporter_token.is_empty());
    // The same (channel, channel_ref) again: the first ack, flagged.
    let again = ack(submit_proto(&nc, &complaint("sms-1")).await);
    assert!(again.duplicate);
    assert_eq!(
        (again.complaint_id.as_str(), again.tracking_no.as_str()),
        (first.complaint_id.as_str(), first.tracking_no.as_str())
    );

    // JSON over NATS, answered in JSON.
    let body = serde_json::to_vec(&complaint("sms-2")).expect("json");
    let msg = request(&nc, body, true).await;
    let ct = msg
        .headers
        .as_ref()
        .and_then(|h| h.get("Content-Type"))
        .map(|v| v.to_string());
    assert_eq!(ct.as_deref(), Some("application/json"));
    let reply: serde_json::Value = serde_json::from_slice(&msg.payload).expect("JSON reply");
    assert_eq!(reply["ack"]["duplicate"], false, "{reply}");

    // HTTP.
    let web = json!({"channel": "web", "channel_ref": "form-9", "title": "Jalan rusak",
                     "body": "Jalan desa Sukolilo berlubang", "location": {"region_code": "33.18"}});
    let (status, created) = post_json(aduan.http, "/v1/complaints", &web).await;
    assert_eq!(status, 201, "{created}");
    let (status, dup) = post_json(aduan.http, "/v1/complaints", &web).await;
    assert_eq!((status, &dup["duplicate"]), (200, &json!(true)));
    assert_eq!(dup["tracking_no"], created["tracking_no"]);
    let path = format!(
        "/v1/complaints/{}",
        created["tracking_no"].as_str().expect("tracking")
    );
    let (status, view) = get_json(aduan.http, &path).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["tracking_no"], created["tracking_no"]);
    let (status, _) = get_json(aduan.http, "/v1/complaints/ZZZZZ-ZZZZZ").await;
    assert_eq!(status, 404);

    // After a restart the duplicate is still recognised.
    assert_eq!(aduan.terminate(), Some(0), "clean exit on SIGTERM");
    assert_eq!(log_head(dir.path()), 3);
    let aduan = Aduan::serve(dir.path(), Some(&nats.url()), &[]);
    let nc = nats.connect().await;
    let after = ack(submit_proto(&nc, &complaint("sms-1")).await);
    assert!(after.duplicate);
    assert_eq!(after.complaint_id, first.complaint_id);
    assert_eq!(aduan.terminate(), Some(0));
    assert_eq!(log_head(dir.path()), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_its_code_and_appends_nothing() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().expect("data dir");
    let aduan = Aduan::serve(dir.path(), Some(&nats.url()), &[]);
    let nc = nats.connect().await;

    let cases: Vec<(v1::SubmitComplaint, &str, &str)> = vec![
        (
            v1::SubmitComplaint {
                body: "   ".into(),
                ..complaint("b1")
            },
            "invalid_argument",
            "body",
        ),
        (
            v1::SubmitComplaint {
                title: "t".repeat(201),
                ..complaint("b2")
            },
            "invalid_argument",
            "title",
        ),
        (
            v1::SubmitComplaint {
                body: "b".repeat(20_001),
                ..complaint("b3")
            },
            "invalid_argument",
            "body",
        ),
        (
            v1::SubmitComplaint {
                kind: "keluhan".into(),
                ..complaint("b4")
            },
            "invalid_argument",
            "kind",
        ),
        (
            v1::SubmitComplaint {
                reporter: Some(v1::Reporter {
                    privacy: "hidden".into(),
                    ..Default::default()
                }),
                ..complaint("b5")
            },
            "invalid_argument",
            "reporter.privacy",
        ),
        (
            v1::SubmitComplaint {
                location: Some(v1::Location {
                    region_code: "33-18".into(),
                    ..Default::default()
                }),
                ..complaint("b6")
            },
            "invalid_argument",
            "location.region_code",
        ),
        (
            v1::SubmitComplaint {
                body: "x".repeat(70_000),
                ..complaint("b7")
            },
            "too_large",
            "",
        ),
    ];
    for (req, code, field) in cases {
        let e = error(submit_proto(&nc, &req).await);
        assert_eq!(
            (e.code.as_str(), e.field.as_str()),
            (code, field),
            "{}",
            e.message
        );
        assert!(!e.message.is_empty());
    }
    // Malformed protobuf and malformed JSON.
    let e = error(
        v1::SubmitReply::decode(request(&nc, vec![0xff, 0xff, 0xff], false).await.payload)
            .expect("reply"),
    );
    assert_eq!(e.code, "invalid_argument");
    let msg = request(&nc, b"{\"channel\": ".to_vec(), true).await;
    let reply: serde_json::Value = serde_json::from_slice(&msg.payload).expect("JSON error");
    assert_eq!(reply["error"]["code"], "invalid_argument");

    // HTTP: wrong content type, oversized body, malformed JSON, a blank body.
    let (status, body) = http(
        aduan.http,
        "POST",
        "/v1/complaints",
        &[("Content-Type", "text/plain")],
        b"hi",
    )
    .await;
    assert_eq!(status, 415, "{body}");
    let big = vec![b' '; 70 * 1024];
    let (status, body) = http(
        aduan.http,
        "POST",
        "/v1/complaints",
        &[("Content-Type", "application/json")],
        &big,
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("too_large"), "{body}");
    let (status, body) = http(
        aduan.http,
        "POST",
        "/v1/complaints",
        &[("Content-Type", "application/json")],
        b"{",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post_json(
        aduan.http,
        "/v1/complaints",
        &json!({"channel": "web", "body": ""}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("body"))
    );

    assert_eq!(aduan.terminate(), Some(0));
    assert_eq!(log_head(dir.path()), 0, "a refused request appends nothing");
}
