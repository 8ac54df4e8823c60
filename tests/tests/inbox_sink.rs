//! The OPD inbox sink against a real nats-server: it brings a stream an
//! older version created up to this version's duplicate window, and skips
//! an assignment the stream already holds even after JetStream's own
//! duplicate window has passed; an assignment the stream lost is not held.

use std::time::Duration;

use aduan_bus::Subjects;
use aduan_domain::OrgCode;
use aduan_e2e::NatsServer;
use aduan_proto::v1;
use aduan_router::{AssignmentSink, JetStreamSink};
use async_nats::jetstream;

async fn messages(js: &jetstream::Context) -> u64 {
    let mut stream = js.get_stream(JetStreamSink::STREAM).await.expect("stream");
    stream.info().await.expect("info").state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_updates_an_old_stream_and_skips_what_it_holds_past_the_window() {
    let nats = NatsServer::start();
    let nc = async_nats::connect(nats.url()).await.expect("connect");
    let js = jetstream::new(nc.clone());
    let subjects = Subjects::default();
    // The stream as an older version left it: JetStream's default window.
    let old = jetstream::stream::Config {
        name: JetStreamSink::STREAM.to_owned(),
        subjects: vec![subjects.all_inboxes()],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    js.create_stream(old.clone()).await.expect("old stream");
    let inbox = subjects.opd_inbox("kab-pati-dinkes");
    for id in ["a1", "a2", "a3"] {
        let mut h = async_nats::HeaderMap::new();
        h.insert("Nats-Msg-Id", id);
        js.publish_with_headers(inbox.clone(), h, "x".into())
            .await
            .expect("publish")
            .await
            .expect("ack");
    }
    let mut stream = js.get_stream(JetStreamSink::STREAM).await.expect("stream");
    stream.delete_message(1).await.expect("lose a1");

    let sink = JetStreamSink::new(nc.clone(), subjects.clone())
        .await
        .expect("sink");
    let info = stream.info().await.expect("info").config.clone();
    assert_eq!(info.duplicate_window, JetStreamSink::DUPLICATE_WINDOW);
    assert!(!sink.holds("a1").await.expect("holds"), "a1 was lost");
    assert!(sink.holds("a2").await.expect("holds"));
    assert!(!sink.holds("a9").await.expect("holds"));

    // JetStream forgets ids once its window has passed: a plain republish
    // of a3 would now be stored twice. The sink's does not.
    js.update_stream(jetstream::stream::Config {
        duplicate_window: Duration::from_millis(100),
        ..info
    })
    .await
    .expect("short window");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let org = OrgCode::parse("kab-pati-dinkes").expect("org");
    let a = v1::Assignment::default();
    sink.publish(&org, "a3", &a).await.expect("republish");
    assert_eq!(messages(&js).await, 2, "a3 held: not stored again");
    sink.publish(&org, "a1", &a).await.expect("lost one again");
    assert_eq!(messages(&js).await, 3, "the lost a1 is stored again");
}
