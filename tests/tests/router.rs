//! The router end to end: `aduan serve --nats` against a real nats-server.
//! Submitted complaints arrive as `Assignment`s on the right OPD's inbox
//! (JetStream stream `ADUAN_OPD`) with `Nats-Msg-Id`, without the identity of
//! confidential or anonymous reporters; a "not our authority" sends the
//! complaint on to the next org; and after `kill -9` and a restart the
//! stream holds exactly one message per routing event in the log.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aduan_e2e::{Aduan, NatsServer};
use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use futures::StreamExt;
use prost::Message;

fn submission(reference: &str, body: &str, reporter: Option<v1::Reporter>) -> v1::SubmitComplaint {
    v1::SubmitComplaint {
        channel: "web".into(),
        channel_ref: reference.into(),
        kind: "complaint".into(),
        title: "Keluhan".into(),
        body: body.into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        reporter,
        ..Default::default()
    }
}

fn reporter(name: &str, phone: &str, privacy: &str) -> Option<v1::Reporter> {
    Some(v1::Reporter {
        name: name.into(),
        phone: phone.into(),
        email: String::new(),
        privacy: privacy.into(),
    })
}

async fn request(nc: &async_nats::Client, subject: &str, payload: Vec<u8>) -> bytes::Bytes {
    for _ in 0..100 {
        match nc.request(subject.to_owned(), payload.clone().into()).await {
            Ok(msg) => return msg.payload,
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("request to {subject} failed: {e}"),
        }
    }
    panic!("nobody serves {subject}");
}

async fn submit(nc: &async_nats::Client, s: &v1::SubmitComplaint) -> String {
    let bytes = request(nc, "aduan.intake.submit", s.encode_to_vec()).await;
    match v1::SubmitReply::decode(bytes).expect("reply").result {
        Some(v1::submit_reply::Result::Ack(a)) => a.complaint_id,
        other => panic!("submission refused: {other:?}"),
    }
}

/// The next message on `sub` within 10 s.
async fn receive(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("an assignment in time")
        .expect("subscription open")
}

async fn stream_messages(js: &async_nats::jetstream::Context) -> u64 {
    let mut stream = js.get_stream("ADUAN_OPD").await.expect("stream ADUAN_OPD");
    stream.info().await.expect("stream info").state.messages
}

/// Event ids of every routing and escalation in the log (serve must be stopped).
async fn routing_event_ids(data: &std::path::Path) -> BTreeSet<String> {
    let log = SledLog::open(SledOptions::new(data.join("log"))).expect("open log");
    let all = log.read_all(1, 1_000_000).await.expect("read log");
    log.close();
    all.iter()
        .filter(|e| {
            matches!(
                e.event_type.as_str(),
                "ComplaintRouted" | "ComplaintEscalated"
            )
        })
        .map(|e| e.event_id.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignments_reach_the_right_inbox_without_hidden_identities_and_survive_kill_9() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let aduan = Aduan::serve(dir.path(), Some(&nats.url()), &[]);
    let nc = nats.connect().await;
    let js = async_nats::jetstream::new(nc.clone());
    let mut inbox = nc.subscribe("aduan.opd.*.inbox").await.expect("subscribe");
    nc.flush().await.expect("flush");

    // Given three reporters with distinctive identities…
    let public = submit(
        &nc,
        &submission(
            "r-1",
            "Antrean di RSUD sangat lama, pasien menunggu 6 jam",
            reporter("Budi Terbuka-PUB9041", "0812-1111-9041", "public"),
        ),
    )
    .await;
    let confidential = submit(
        &nc,
        &submission(
            "r-2",
            "Jalan desa berlubang besar dan membahayakan",
            reporter("Siti Rahasia-CONF7731", "0812-9999-7731", "confidential"),
        ),
    )
    .await;
    let anonymous = submit(
        &nc,
        &submission(
            "r-3",
            "Sampah menumpuk di pasar, bau sampai rumah warga",
            reporter("Anon Orang-ANON5512", "0812-5555-5512", "anonymous"),
        ),
    )
    .await;

    // …each assignment arrives on its org's inbox, with the routing event's id.
    let mut got: HashMap<String, (String, String, bytes::Bytes)> = HashMap::new();
    while got.len() < 3 {
        let msg = receive(&mut inbox).await;
        let a = v1::Assignment::decode(msg.payload.clone()).expect("protobuf Assignment");
        let id = msg
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.to_string());
        let id = id.expect("header Nats-Msg-Id");
        assert_eq!(msg.subject.as_str(), format!("aduan.opd.{}.inbox", a.org));
        got.insert(
            a.complaint_id.clone(),
            (a.org.clone(), id, msg.payload.clone()),
        );
    }
    let org = |c: &str| got[c].0.clone();
    assert_eq!(org(&public), "kab-pati-rsud");
    assert_eq!(org(&confidential), "kab-pati-pupr");
    assert_eq!(org(&anonymous), "kab-pati-dlh");
    let raw = |c: &str| String::from_utf8_lossy(&got[c].2).into_owned();
    assert!(
        raw(&public).contains("Budi Terbuka-PUB9041"),
        "a public reporter is shown"
    );
    for (c, marks) in [
        (&confidential, ["CONF7731", "0812-9999-7731"]),
        (&anonymous, ["ANON5512", "0812-5555-5512"]),
    ] {
        for mark in marks {
            assert!(!raw(c).contains(mark), "{mark} leaked to the OPD");
        }
        assert!(v1::Assignment::decode(got[c.as_str()].2.clone())
            .expect("decode")
            .reporter
            .is_none());
    }

    // When the RSUD says "not our authority", the next-best org gets it (hop 2).
    let reject = v1::OpdCommand {
        complaint_id: public.clone(),
        actor: "petugas".into(),
        action: Some(v1::opd_command::Action::Reject(v1::opd_command::Reject {
            reason: "bukan kewenangan RSUD".into(),
            suggested_org: String::new(),
        })),
    };
    let reply = v1::CommandReply::decode(
        request(&nc, "aduan.opd.kab-pati-rsud.cmd", reject.encode_to_vec()).await,
    )
    .expect("command reply");
    assert!(
        matches!(reply.result, Some(v1::command_reply::Result::Ack(_))),
        "reject refused: {reply:?}"
    );
    let msg = receive(&mut inbox).await;
    let a = v1::Assignment::decode(msg.payload).expect("Assignment");
    assert_eq!(
        (a.complaint_id.as_str(), a.org.as_str(), a.hop),
        (public.as_str(), "kab-pati-dinkes", 2)
    );

    // Kill -9 right after a burst of submissions, then restart.
    for i in 0..20 {
        submit(
            &nc,
            &submission(
                &format!("burst-{i}"),
                "Sampah menumpuk di pinggir jalan desa",
                None,
            ),
        )
        .await;
    }
    aduan.kill();
    let aduan = Aduan::serve(dir.path(), Some(&nats.url()), &[]);
    let want = 3 + 1 + 20;
    for _ in 0..200 {
        if stream_messages(&js).await >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(aduan.terminate(), Some(0));
    let ids = routing_event_ids(dir.path()).await;
    assert_eq!(
        ids.len() as u64,
        want,
        "one routing per complaint, plus the re-routing"
    );
    assert_eq!(
        stream_messages(&js).await,
        want,
        "ADUAN_OPD: exactly one message per routing event"
    );
    for (_, (_, msg_id, _)) in got {
        assert!(
            ids.contains(&msg_id),
            "Nats-Msg-Id {msg_id} is a routing event's id"
        );
    }
}
