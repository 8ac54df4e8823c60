//! A complaint's whole life against `aduan serve --nats` and a real
//! nats-server: submit → routed → acknowledge → request info → reporter reply
//! → follow-up → resolve → feedback → reopen → resolve → closed, with OPD
//! commands over HTTP and over NATS (protobuf and JSON), checking the status
//! view (HTTP and `aduan.query.status`), the OPD inbox and the recap at each step.
//! The last step restarts aduan with its clock 15 days ahead (a hidden flag for
//! drills and tests), so the deadline scanner auto-closes the resolved
//! complaint that the reporter left silent for `auto_close` working days.

use std::time::{Duration, Instant};

use aduan_e2e::{get_json, http, issue_token, post_json, Aduan, NatsServer};
use aduan_proto::v1;
use prost::Message;
use serde_json::{json, Value};

async fn get_auth(a: &Aduan, path: &str, token: &str) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let (status, body) = http(a.http, "GET", path, &[("Authorization", &auth)], b"").await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn post_auth(a: &Aduan, path: &str, token: &str, body: Value) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, text) = http(a.http, "POST", path, &headers, body.to_string().as_bytes()).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls the status view until `pred` holds (projections and router are asynchronous).
async fn status_until(
    a: &Aduan,
    tracking: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (code, v) = get_json(a.http, &format!("/v1/complaints/{tracking}")).await;
        if code == 200 && pred(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "status never became {what}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn recap(a: &Aduan, admin: &str, org: &str) -> Value {
    let (code, v) = get_auth(a, &format!("/v1/stats/recap?org={org}"), admin).await;
    assert_eq!(code, 200, "{v}");
    v
}

async fn nats_cmd(
    nc: &async_nats::Client,
    org: &str,
    cmd: &v1::OpdCommand,
    json: bool,
) -> v1::CommandReply {
    let subject = format!("aduan.opd.{org}.cmd");
    let reply = if json {
        let mut h = async_nats::HeaderMap::new();
        h.insert("Content-Type", "application/json");
        let body = serde_json::to_vec(cmd).expect("json");
        let msg = nc
            .request_with_headers(subject, h, body.into())
            .await
            .expect("reply");
        serde_json::from_slice(&msg.payload).expect("JSON reply")
    } else {
        let msg = nc
            .request(subject, cmd.encode_to_vec().into())
            .await
            .expect("reply");
        v1::CommandReply::decode(msg.payload).expect("protobuf reply")
    };
    assert!(
        matches!(reply.result, Some(v1::command_reply::Result::Ack(_))),
        "{reply:?}"
    );
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_lives_its_whole_life_over_http_and_nats() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let admin = issue_token(&data, &["--role", "admin", "--name", "budi"]);
    let a = Aduan::serve(&data, Some(&nats.url()), &[]);
    let nc = nats.connect().await;

    // Submit.
    let body = json!({"channel": "web", "channel_ref": "life-1", "kind": "complaint",
        "title": "Obat habis", "body": "Obat di puskesmas Juwana habis sejak minggu lalu",
        "location": {"region_code": "33.18"},
        "reporter": {"name": "Sri Lestari", "phone": "0812555", "privacy": "public"}});
    let (code, ack) = post_json(a.http, "/v1/complaints", &body).await;
    assert_eq!(code, 201, "{ack}");
    let tracking = ack["tracking_no"].as_str().expect("tracking").to_owned();
    let id = ack["complaint_id"].as_str().expect("id").to_owned();
    let reporter = ack["reporter_token"].as_str().expect("token").to_owned();

    // Routed by the rule set.
    let v = status_until(&a, &tracking, "routed", |v| v["status"] == "routed").await;
    let org = v["org"].as_str().expect("org").to_owned();
    assert_eq!(org, "kab-pati-dinkes", "{v}");
    assert!(!v["due_at"].as_str().unwrap_or("").is_empty());
    let opd = issue_token(&data, &["--role", "opd", "--org", &org]);
    let (code, inbox) = get_auth(&a, &format!("/v1/orgs/{org}/inbox"), &opd).await;
    assert_eq!(code, 200, "{inbox}");
    assert_eq!(inbox["items"][0]["tracking_no"], tracking);
    let r = recap(&a, &admin, "kab-pati").await;
    assert_eq!(
        (
            r["received"].as_u64(),
            r["routed"].as_u64(),
            r["open"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{r}"
    );

    // Acknowledge over HTTP.
    let actions = format!("/v1/orgs/{org}/complaints/{id}/actions");
    let (code, out) = post_auth(
        &a,
        &actions,
        &opd,
        json!({"complaint_id": id, "actor": "ani", "acknowledge": {}}),
    )
    .await;
    assert_eq!(code, 200, "{out}");
    status_until(&a, &tracking, "in_progress", |v| {
        v["status"] == "in_progress"
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while recap(&a, &admin, &org).await["acknowledged"] != 1 {
        assert!(
            Instant::now() < deadline,
            "recap never counted the acknowledgement"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Ask the reporter over NATS (JSON); the reporter answers over HTTP.
    let ask = v1::OpdCommand {
        complaint_id: id.clone(),
        actor: "ani".into(),
        action: Some(v1::opd_command::Action::RequestInfo(
            v1::opd_command::RequestInfo {
                question: "Puskesmas mana tepatnya?".into(),
            },
        )),
    };
    nats_cmd(&nc, &org, &ask, true).await;
    let (code, out) = post_auth(
        &a,
        &format!("/v1/complaints/{tracking}/reply"),
        &reporter,
        json!({"message": "Puskesmas Juwana I"}),
    )
    .await;
    assert_eq!(code, 200, "{out}");
    // Another complaint's reporter token is refused.
    let (code, _) = post_auth(
        &a,
        &format!("/v1/complaints/{tracking}/reply"),
        &admin,
        json!({"message": "x"}),
    )
    .await;
    assert_eq!(code, 401);

    // A public follow-up over NATS (protobuf) shows on the timeline.
    let follow = v1::OpdCommand {
        complaint_id: id.clone(),
        actor: "ani".into(),
        action: Some(v1::opd_command::Action::FollowUp(
            v1::opd_command::FollowUp {
                message: "Stok obat dikirim dari gudang farmasi".into(),
                public: true,
            },
        )),
    };
    nats_cmd(&nc, &org, &follow, false).await;
    status_until(&a, &tracking, "the public follow-up", |v| {
        v.to_string().contains("gudang farmasi")
    })
    .await;

    // Resolve over HTTP: out of the inbox, counted as resolved.
    let resolve = json!({"complaint_id": id, "actor": "ani", "resolve": {"resolution": "Obat sudah tersedia"}});
    let (code, out) = post_auth(&a, &actions, &opd, resolve.clone()).await;
    assert_eq!(code, 200, "{out}");
    status_until(&a, &tracking, "resolved", |v| v["status"] == "resolved").await;
    let (_, inbox) = get_auth(&a, &format!("/v1/orgs/{org}/inbox"), &opd).await;
    assert_eq!(inbox["open"], 0, "{inbox}");
    assert_eq!(recap(&a, &admin, &org).await["resolved"], 1);

    // Status over NATS, protobuf.
    let q = v1::StatusQuery {
        tracking_no: tracking.clone(),
    };
    let msg = nc
        .request("aduan.query.status", q.encode_to_vec().into())
        .await
        .expect("status");
    match v1::StatusReply::decode(msg.payload).expect("reply").result {
        Some(v1::status_reply::Result::View(v)) => assert_eq!(v.tracking_no, tracking),
        other => panic!("expected a view, got {other:?}"),
    }

    // Feedback, reopen: back to the org that resolved it, with a new deadline.
    let (code, out) = post_auth(
        &a,
        &format!("/v1/complaints/{tracking}/feedback"),
        &reporter,
        json!({"rating": 2, "comment": "Belum semua"}),
    )
    .await;
    assert_eq!(code, 200, "{out}");
    let (code, out) = post_auth(
        &a,
        &format!("/v1/complaints/{tracking}/reopen"),
        &reporter,
        json!({"reason": "Obat habis lagi"}),
    )
    .await;
    assert_eq!(code, 200, "{out}");
    let v = status_until(&a, &tracking, "routed back", |v| v["status"] == "routed").await;
    assert_eq!(v["org"], org.as_str());
    let (_, inbox) = get_auth(&a, &format!("/v1/orgs/{org}/inbox"), &opd).await;
    assert_eq!(inbox["open"], 1, "{inbox}");

    // Resolve again; the reporter stays silent.
    let resolve =
        json!({"complaint_id": id, "actor": "ani", "resolve": {"resolution": "Stok ditambah"}});
    let (code, out) = post_auth(&a, &actions, &opd, resolve).await;
    assert_eq!(code, 200, "{out}");
    status_until(&a, &tracking, "resolved again", |v| {
        v["status"] == "resolved"
    })
    .await;
    assert_eq!(recap(&a, &admin, &org).await["resolved"], 2);
    assert_eq!(a.terminate(), Some(0));

    // Fifteen days later the deadline scanner closes it (auto_close = 10 working days).
    let later = (15 * 86_400).to_string();
    let a = Aduan::serve(&data, Some(&nats.url()), &["--clock-offset-secs", &later]);
    status_until(&a, &tracking, "closed", |v| v["status"] == "closed").await;
    let r = recap(&a, &admin, "kab-pati").await;
    assert_eq!(r["open"], 0, "{r}");
    // A closed complaint cannot be reopened.
    let (code, _) = post_auth(
        &a,
        &format!("/v1/complaints/{tracking}/reopen"),
        &reporter,
        json!({"reason": "lagi"}),
    )
    .await;
    assert_eq!(code, 409);
    assert_eq!(a.terminate(), Some(0));
}
