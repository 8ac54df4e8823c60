//! aduan's request-reply servers against a real nats-server: a JetStream
//! push delivery onto a served subject is not a request and is not answered.

use std::time::Duration;

use aduan_e2e::NatsServer;
use async_nats::jetstream;

/// A user may create a push consumer delivering to any subject, a served one
/// included (nats-server 2.9 does not check the deliver subject against the
/// user's permissions): such a delivery is not answered, so it neither acts
/// past the user's permissions nor acks itself; a real request still is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jetstream_delivery_to_a_served_subject_is_not_answered() {
    let nats = NatsServer::start();
    let nc = nats.connect().await;
    let handled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let counter = handled.clone();
    let server = tokio::spawn(aduan_bus::serve(
        nc.clone(),
        "t.served".into(),
        "q".into(),
        4,
        stop,
        move |_req| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { (aduan_bus::Format::Json, bytes::Bytes::from_static(b"{}")) }
        },
    ));
    let js = jetstream::new(nc.clone());
    let stream = js
        .create_stream(jetstream::stream::Config {
            name: "T".into(),
            subjects: vec!["t.src".into()],
            ..Default::default()
        })
        .await
        .expect("stream");
    // Served subject answers a genuine request (retried until subscribed).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while nc.request("t.served", "hi".into()).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "no responder");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = handled.load(std::sync::atomic::Ordering::SeqCst);
    stream
        .create_consumer(jetstream::consumer::push::Config {
            durable_name: Some("pusher".into()),
            deliver_subject: "t.served".into(),
            // Services serve in a queue group, which a push consumer reaches only by naming it.
            deliver_group: Some("q".into()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .expect("a push consumer onto the served subject");
    js.publish("t.src", "a stored message".into())
        .await
        .expect("publish")
        .await
        .expect("stored");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(handled.load(std::sync::atomic::Ordering::SeqCst), before);
    let mut consumer: jetstream::consumer::PushConsumer =
        stream.get_consumer("pusher").await.expect("consumer");
    let info = consumer.info().await.expect("info");
    assert_eq!(
        (info.delivered.stream_sequence, info.num_ack_pending),
        (1, 1),
        "delivered, and nobody acked it by answering"
    );
    stop_tx.send_replace(true);
    server.await.expect("join").expect("served");
}
