//! `ADUAN_OPD` and the router lease on a three-node cluster (nats-server
//! 2.15.1, the log-jetstream crate's harness): both are created with three
//! replicas, and the fence on the whole stream refuses a stale active on R3
//! as on one node.

#[path = "../../log-jetstream/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use aduan_bus::Subjects;
use aduan_domain::{ManualClock, OrgCode, SharedClock, SystemClock};
use aduan_proto::v1;
use aduan_router::{
    AssignmentSink, FencedSink, InboxStream, JetStreamSink, Lease, LeaseConfig, RouterError,
    LEASE_BUCKET,
};
use async_nats::jetstream;

fn lease_config(holder: &str, clock: SharedClock) -> LeaseConfig {
    let mut c = LeaseConfig::new(holder, clock);
    c.ttl = Duration::from_secs(1);
    c.replicas = 3;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_opd_stream_and_the_lease_are_r3_and_the_fence_holds_there() {
    let cluster = common::Cluster::three();
    let (nc_a, nc_b) = (cluster.connect(0).await, cluster.connect(1).await);
    let js = jetstream::new(nc_a.clone());
    let r3 = InboxStream {
        replicas: 3,
        duplicate_window: Duration::from_secs(1),
    };
    let org = OrgCode::parse("kab-pati-dinkes").expect("org");
    let a1 = v1::Assignment::default();

    // A stale active: its clock stands still and it stops renewing.
    let frozen = ManualClock::new(time::OffsetDateTime::now_utc());
    let a_lease = Lease::open(&js, lease_config("a", Arc::new(frozen)))
        .await
        .expect("lease a");
    assert!(a_lease.try_acquire().await.expect("acquire"));
    let a = FencedSink::new(
        nc_a.clone(),
        Subjects::default(),
        r3.clone(),
        a_lease.clone(),
    )
    .await
    .expect("sink a");
    a.take_over().await.expect("a takes over");
    a.publish_at(&org, "a-1", 1, &a1)
        .await
        .expect("a publishes");

    for name in [
        JetStreamSink::STREAM.to_owned(),
        format!("KV_{LEASE_BUCKET}"),
    ] {
        let mut stream = js.get_stream(&name).await.expect("stream");
        let info = stream.info().await.expect("info");
        let peers = info.cluster.as_ref().map_or(0, |c| c.replicas.len());
        assert_eq!((info.config.num_replicas, peers), (3, 2), "{name}");
    }

    let b_lease = Lease::open(
        &jetstream::new(nc_b.clone()),
        lease_config("b", Arc::new(SystemClock)),
    )
    .await
    .expect("lease b");
    let waiting = std::time::Instant::now();
    while !b_lease.try_acquire().await.expect("try") {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "b never took the lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let b = FencedSink::new(nc_b, Subjects::default(), r3, b_lease)
        .await
        .expect("sink b");
    b.take_over().await.expect("b takes over");
    b.publish_at(&org, "b-1", 2, &a1)
        .await
        .expect("b publishes");

    let refused = a.publish_at(&org, "a-2", 3, &a1).await;
    assert!(
        matches!(refused, Err(RouterError::NotActive)),
        "{refused:?}"
    );
    let mut stream = js.get_stream(JetStreamSink::STREAM).await.expect("stream");
    let state = stream.info().await.expect("info").state.clone();
    assert_eq!(state.messages, 2, "a-1 and b-1 only");
}
