//! NATS authorization end to end: `aduan deploy nats-config` generates the
//! config for the sample rule set and a real nats-server runs with it
//! (Debian's 2.9 from PATH, or the binary `ADUAN_TEST_NATS_SERVER` names; all
//! pass on 2.15.1 too). The server itself refuses OPD A's user when it
//! reaches for B's inbox, B's consumer, the stream's direct and message get,
//! B's `.cmd` or any inbox subject (forged assignments), and refuses a client
//! without the right password; A can still create its own durable consumer,
//! fetch and ack its own assignments and publish on its own `.cmd`. And
//! `aduan serve` as `svc-serve` runs under the config: a complaint an adapter
//! submits reaches A's consumer, and A resolves it over `.cmd`. On nats-server
//! 2.12+ (`ADUAN_TEST_NATS_SERVER`, else 2.15.1 from `target/venv`), the
//! service users create and use the JetStream log stream and the KV buckets,
//! and OPD A's and an adapter's users are refused every subject of them.

use std::time::Duration;

use aduan_bus::Subjects;
use aduan_domain::OrgCode;
use aduan_e2e::auth::{deploy, next_assignment, own_consumer, server_bin, submit_as_adapter};
use aduan_e2e::{connect_as, Aduan, NatsServer, UserPass};
use aduan_proto::v1;
use aduan_router::{AssignmentSink, JetStreamSink};
use async_nats::jetstream;
use prost::Message;
use tokio::sync::mpsc;

/// Where the sample rules route a Pati health complaint.
const A: &str = "kab-pati-dinkes";
/// Another OPD of the sample.
const B: &str = "kab-pati-rsud";
const STREAM: &str = JetStreamSink::STREAM;

fn opd(org: &str) -> String {
    format!("opd-{org}")
}

fn inbox(org: &str) -> String {
    Subjects::default().opd_inbox(org)
}

/// A client as `user` whose server errors (permission violations) arrive on the receiver.
async fn watched(
    url: &str,
    user: UserPass<'_>,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .user_and_password(user.0.into(), user.1.into())
        .custom_inbox_prefix(format!("_INBOX_{}", user.0))
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let async_nats::Event::ServerError(e) = event {
                    let _ = tx.send(e.to_string());
                }
            }
        })
        .connect(url)
        .await
        .expect("connect");
    (client, rx)
}

/// Waits for the server's permission violation for `op` ("Publish" or
/// "Subscription") on `subject`.
async fn refused(errors: &mut mpsc::UnboundedReceiver<String>, op: &str, subject: &str) {
    let want = format!("permissions violation for {op} to \"{subject}\"").to_lowercase();
    let wait = async {
        while let Some(e) = errors.recv().await {
            if e.to_lowercase().contains(&want) {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap_or_else(|_| panic!("the server did not refuse {op} to {subject}"));
}

fn assignment(org: &str, id: &str) -> v1::Assignment {
    v1::Assignment {
        complaint_id: id.into(),
        org: org.into(),
        hop: 1,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_an_opd_all_but_its_own_consumer_and_cmd() {
    let d = deploy();
    let nats = NatsServer::start_with_config(&server_bin(), &d.config);
    let url = nats.url();

    // The router's user creates the stream and publishes one assignment each to A and B.
    let router = connect_as(&url, Some(d.user("svc-router"))).await;
    let sink = JetStreamSink::new(router.clone(), Subjects::default())
        .await
        .expect("the router creates ADUAN_OPD");
    for org in [A, B] {
        let code = OrgCode::parse(org).expect("org");
        sink.publish(
            &code,
            &format!("for-{org}"),
            &assignment(org, &format!("for-{org}")),
        )
        .await
        .expect("the router publishes");
    }
    let b = connect_as(&url, Some(d.user(&opd(B)))).await;
    let b_consumer = own_consumer(&b, B).await;

    let a_user = opd(A);
    let (a, mut errors) = watched(&url, d.user(&a_user)).await;
    // The filtered create API with A's filter in the subject and B's in the
    // body: the permission lets it through, the server's own check refuses it.
    let body = serde_json::json!({"stream_name": STREAM, "config": {
        "durable_name": a_user, "filter_subject": inbox(B), "ack_policy": "explicit"}});
    let reply = a
        .request(
            format!("$JS.API.CONSUMER.CREATE.{STREAM}.{a_user}.{}", inbox(A)),
            body.to_string().into(),
        )
        .await
        .expect("an answer");
    let reply: serde_json::Value = serde_json::from_slice(&reply.payload).expect("JSON");
    assert!(reply["error"]["code"].is_number(), "{reply}");

    // What A may do: its own consumer, its own assignment, ack, its own .cmd.
    let consumer = own_consumer(&a, A).await;
    assert_eq!(
        next_assignment(&consumer).await.complaint_id,
        format!("for-{A}")
    );
    let own = a.request(format!("aduan.opd.{A}.cmd"), "x".into()).await;
    let no_responders = own.as_ref().map_err(|e| e.kind());
    assert_eq!(
        no_responders.err(),
        Some(async_nats::RequestErrorKind::NoResponders)
    );
    assert!(
        errors.try_recv().is_err(),
        "nothing A did so far was refused"
    );

    let b_user = opd(B);
    for subject in [
        inbox(B),
        "aduan.opd.*.inbox".to_owned(),
        "_INBOX.>".to_owned(),
        format!("_INBOX_{b_user}.>"),
        "_INBOX_adapter-web.>".to_owned(),
        ">".to_owned(),
    ] {
        let _sub = a.subscribe(subject.clone()).await.expect("sent");
        refused(&mut errors, "Subscription", &subject).await;
    }
    let api = |rest: String| format!("$JS.API.{rest}");
    for subject in [
        format!("aduan.opd.{B}.cmd"),
        inbox(A),
        inbox(B),
        api(format!("CONSUMER.MSG.NEXT.{STREAM}.{b_user}")),
        api(format!("CONSUMER.INFO.{STREAM}.{b_user}")),
        api(format!("CONSUMER.CREATE.{STREAM}.{a_user}.{}", inbox(B))),
        api(format!("CONSUMER.CREATE.{STREAM}.{b_user}.{}", inbox(B))),
        api(format!("CONSUMER.CREATE.{STREAM}")),
        api(format!("CONSUMER.DURABLE.CREATE.{STREAM}.{a_user}")),
        api(format!("DIRECT.GET.{STREAM}")),
        api(format!("DIRECT.GET.{STREAM}.{}", inbox(B))),
        api(format!("STREAM.MSG.GET.{STREAM}")),
        api(format!("STREAM.INFO.{STREAM}")),
        format!("$JS.ACK.{STREAM}.{b_user}.1.2.2.0.0"),
        "aduan.intake.submit".to_owned(),
    ] {
        a.publish_with_reply(subject.clone(), a.new_inbox(), body.to_string().into())
            .await
            .expect("sent");
        refused(&mut errors, "Publish", &subject).await;
    }

    // Nothing forged reached the stream, and B's assignment is still B's.
    let js = jetstream::new(router);
    let mut stream = js.get_stream(STREAM).await.expect("stream");
    assert_eq!(stream.info().await.expect("info").state.messages, 2);
    assert_eq!(
        next_assignment(&b_consumer).await.complaint_id,
        format!("for-{B}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_the_right_password_is_refused() {
    let d = deploy();
    let nats = NatsServer::start_with_config(&server_bin(), &d.config);
    let anonymous = async_nats::connect(nats.url()).await;
    let kind = anonymous.as_ref().map(|_| ()).map_err(|e| e.kind());
    assert_eq!(
        kind,
        Err(async_nats::ConnectErrorKind::AuthorizationViolation)
    );
    let wrong = async_nats::ConnectOptions::new()
        .user_and_password(opd(A), "not-the-password".into())
        .connect(nats.url())
        .await;
    let kind = wrong.as_ref().map(|_| ()).map_err(|e| e.kind());
    assert_eq!(
        kind,
        Err(async_nats::ConnectErrorKind::AuthorizationViolation)
    );
    // The right one is let in.
    let a = connect_as(&nats.url(), Some(d.user(&opd(A)))).await;
    a.flush().await.expect("connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_as_its_user_and_a_complaint_reaches_the_opd_which_resolves_it() {
    let d = deploy();
    let nats = NatsServer::start_with_config(&server_bin(), &d.config);
    let (svc, web) = (d.user("svc-serve"), d.user("adapter-web"));
    let url = format!("nats://{}:{}@127.0.0.1:{}", svc.0, svc.1, nats.port());
    let data = tempfile::tempdir().expect("data");
    let _aduan = Aduan::serve_authorised(
        data.path(),
        &url,
        (&nats.url(), web),
        &["aduan.intake.submit", "aduan.query.status"],
    );

    let adapter = connect_as(&nats.url(), Some(web)).await;
    let ack = submit_as_adapter(&adapter, "form-0001").await;
    assert!(!ack.reporter_token.is_empty());

    let a = connect_as(&nats.url(), Some(d.user(&opd(A)))).await;
    let consumer = own_consumer(&a, A).await;
    let assignment = next_assignment(&consumer).await;
    assert_eq!(
        (assignment.complaint_id.as_str(), assignment.org.as_str()),
        (ack.complaint_id.as_str(), A)
    );

    for action in [
        v1::opd_command::Action::Acknowledge(Default::default()),
        v1::opd_command::Action::Resolve(v1::opd_command::Resolve {
            resolution: "Stok obat sudah dikirim".into(),
        }),
    ] {
        let cmd = v1::OpdCommand {
            complaint_id: ack.complaint_id.clone(),
            actor: "ani".into(),
            action: Some(action),
        };
        let reply = a
            .request(format!("aduan.opd.{A}.cmd"), cmd.encode_to_vec().into())
            .await
            .expect("answered");
        let reply = v1::CommandReply::decode(reply.payload).expect("reply");
        assert!(
            matches!(reply.result, Some(v1::command_reply::Result::Ack(_))),
            "{reply:?}"
        );
    }
    let status = serde_json::json!({"tracking_no": ack.tracking_no}).to_string();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Content-Type", "application/json");
    let view = adapter
        .request_with_headers("aduan.query.status", headers, status.into())
        .await
        .expect("status");
    let view: serde_json::Value = serde_json::from_slice(&view.payload).expect("JSON");
    assert_eq!(view["status"], "resolved", "{view}");
}

/// The log stream of the services (`aduan deploy nats-config`'s default
/// `--log-stream`) and its subject.
const LOG: &str = "ADUAN_LOG";
const LOG_SUBJECT: &str = "aduan.log.ADUAN_LOG";
/// The KV buckets the services share.
const BUCKETS: [&str; 3] = ["aduan_tokens", "aduan_keys", "aduan_router_lease"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_and_only_they_may_use_the_log_stream_and_the_kv_buckets() {
    use aduan_log::{EventLog, ExpectedVersion, NewEvent};
    use aduan_log_jetstream::{JetStreamLog, JetStreamOptions};

    let d = deploy();
    let nats = NatsServer::start_with_config(&aduan_e2e::auth::server_2_15(), &d.config);
    let url = nats.url();

    // svc-intake creates the log, appends, and a second instance (svc-api) reads it.
    let intake = connect_as(&url, Some(d.user("svc-intake"))).await;
    let log = JetStreamLog::open(intake, JetStreamOptions::new(LOG, LOG_SUBJECT))
        .await
        .expect("svc-intake creates and opens the log");
    let event = || NewEvent::new("ComplaintReceived", "t", b"payload".to_vec());
    log.append("c-1", ExpectedVersion::NoStream, vec![event(), event()])
        .await
        .expect("svc-intake appends");
    let api = connect_as(&url, Some(d.user("svc-api"))).await;
    let other = JetStreamLog::open(api.clone(), JetStreamOptions::new(LOG, LOG_SUBJECT))
        .await
        .expect("svc-api opens the same log");
    assert_eq!(*other.head().borrow(), 2);
    assert_eq!(other.read_stream("c-1", 1).await.expect("read").len(), 2);
    other
        .append("c-2", ExpectedVersion::NoStream, vec![event()])
        .await
        .expect("svc-api appends");

    // svc-api creates the token bucket, writes, reads and watches it; svc-router the lease.
    let kv = jetstream::new(api)
        .create_key_value(jetstream::kv::Config {
            bucket: "aduan_tokens".into(),
            ..Default::default()
        })
        .await
        .expect("svc-api creates the token bucket");
    kv.put("t1", "hash".into()).await.expect("put");
    assert_eq!(kv.get("t1").await.expect("get"), Some("hash".into()));
    let mut watch = kv.watch_all().await.expect("watch");
    kv.put("t2", "hash2".into()).await.expect("put");
    let seen = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut watch))
        .await
        .expect("the watcher sees the put")
        .expect("an entry")
        .expect("no error");
    assert_eq!(seen.key, "t2");
    let router = connect_as(&url, Some(d.user("svc-router"))).await;
    let lease = jetstream::new(router)
        .create_key_value(jetstream::kv::Config {
            bucket: "aduan_router_lease".into(),
            ..Default::default()
        })
        .await
        .expect("svc-router creates the lease bucket");
    lease
        .create("active", "router-1".into())
        .await
        .expect("svc-router takes the lease");

    // OPD A (and, as well, an adapter) is refused all of it.
    for user in [opd(A), "adapter-web".to_owned()] {
        let (client, mut errors) = watched(&url, d.user(&user)).await;
        let mut subscriptions = vec![LOG_SUBJECT.to_owned(), "aduan.log.>".to_owned()];
        subscriptions.extend(BUCKETS.iter().map(|b| format!("$KV.{b}.>")));
        for subject in subscriptions {
            let _sub = client.subscribe(subject.clone()).await.expect("sent");
            refused(&mut errors, "Subscription", &subject).await;
        }
        let mut publishes = vec![LOG_SUBJECT.to_owned(), "$JS.API.INFO".to_owned()];
        let streams =
            std::iter::once(LOG.to_owned()).chain(BUCKETS.iter().map(|b| format!("KV_{b}")));
        for stream in streams {
            for rest in [
                format!("STREAM.INFO.{stream}"),
                format!("STREAM.CREATE.{stream}"),
                format!("STREAM.MSG.GET.{stream}"),
                format!("DIRECT.GET.{stream}"),
                format!("DIRECT.GET.{stream}.{LOG_SUBJECT}"),
                format!("CONSUMER.CREATE.{stream}"),
                format!("CONSUMER.CREATE.{stream}.{user}"),
                format!("CONSUMER.CREATE.{stream}.{user}.{LOG_SUBJECT}"),
                format!("CONSUMER.MSG.NEXT.{stream}.{user}"),
            ] {
                publishes.push(format!("$JS.API.{rest}"));
            }
        }
        publishes.extend(BUCKETS.iter().map(|b| format!("$KV.{b}.forged")));
        for subject in publishes {
            client
                .publish_with_reply(subject.clone(), client.new_inbox(), "{}".into())
                .await
                .expect("sent");
            refused(&mut errors, "Publish", &subject).await;
        }
    }

    // Nothing of theirs reached the log or the bucket.
    assert_eq!(*other.head().borrow(), 3);
    assert_eq!(kv.get("forged").await.expect("get"), None);
    log.close().await;
    other.close().await;
}
