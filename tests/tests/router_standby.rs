//! The router as an active/standby pair against a real nats-server 2.15.1
//! (`target/venv`, scripts/install-nats-2.15.sh): the lease, the fence on
//! `ADUAN_OPD`, and a takeover mid-stream after which every complaint has
//! exactly one assignment, with the stream's duplicate window cut to 1 s so
//! that the fence, not JetStream's dedupe, is what keeps them single.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aduan_bus::Subjects;
use aduan_complaints::publish_ruleset;
use aduan_domain::TrackingNo;
use aduan_domain::{ComplaintEvent, ComplaintId, ManualClock, OrgCode, SharedClock, SystemClock};
use aduan_e2e::NatsServer;
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use aduan_router::{
    run_elected, AssignmentSink, FencedSink, InboxStream, JetStreamSink, Lease, LeaseConfig,
    RouterConfig, RouterError, ROUTER_HEADER,
};
use async_nats::jetstream;
use futures::StreamExt;
use prost::Message;
use tokio::sync::watch;

const SMALL: &str = include_str!("../../services/router/tests/fixtures/small.toml");

/// nats-server 2.15.1 from `target/venv`, or the binary named by
/// `ADUAN_ROUTER_TEST_NATS` (these tests also pass against Debian's 2.9.10).
fn server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("ADUAN_ROUTER_TEST_NATS") {
        return bin.into();
    }
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/nats-server");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/install-nats-2.15.sh",
        bin.display()
    );
    bin
}

fn short_window() -> InboxStream {
    InboxStream {
        replicas: 1,
        duplicate_window: Duration::from_secs(1),
    }
}

fn lease_config(holder: &str, clock: SharedClock, ttl: Duration) -> LeaseConfig {
    let mut c = LeaseConfig::new(holder, clock);
    c.ttl = ttl;
    c
}

/// Every message of `ADUAN_OPD`: (Nats-Msg-Id, Aduan-Router, assignment).
async fn all_messages(js: &jetstream::Context) -> Vec<(String, String, v1::Assignment)> {
    let mut stream = js.get_stream(JetStreamSink::STREAM).await.expect("stream");
    let last = stream.info().await.expect("info").state.last_sequence;
    let mut out = Vec::new();
    if last == 0 {
        return out;
    }
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");
    while let Some(m) = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .expect("the stream's messages in time")
    {
        let m = m.expect("message");
        let h = m.headers.clone().unwrap_or_default();
        let header = |k: &str| h.get(k).map(|v| v.to_string()).unwrap_or_default();
        let a = v1::Assignment::decode(m.payload.clone()).expect("assignment");
        out.push((header("Nats-Msg-Id"), header(ROUTER_HEADER), a));
        if m.info().expect("info").stream_sequence >= last {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_lease_is_not_taken_and_an_expired_one_is() {
    let nats = NatsServer::start_with_config(&server_bin(), "");
    let js = jetstream::new(nats.connect().await);
    let clock: SharedClock = Arc::new(SystemClock);
    let ttl = Duration::from_secs(3);
    let a = Lease::open(&js, lease_config("a", clock.clone(), ttl))
        .await
        .expect("lease a");
    let b = Lease::open(&js, lease_config("b", clock.clone(), ttl))
        .await
        .expect("lease b");
    assert!(
        a.try_acquire().await.expect("acquire"),
        "a free lease is taken"
    );

    // While a renews, b cannot take it, across two TTLs.
    let (stop, stopped) = watch::channel(false);
    let campaign = tokio::spawn(a.clone().campaign(stopped));
    for _ in 0..16 {
        assert!(!b.try_acquire().await.expect("try"), "b took a live lease");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(a.is_held() && !b.is_held());

    // a stops renewing (a paused or killed process): b takes the lease once it expired.
    campaign.abort();
    let paused = Instant::now();
    while !b.try_acquire().await.expect("try") {
        assert!(
            paused.elapsed() < Duration::from_secs(10),
            "b never took the lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let waited = paused.elapsed();
    eprintln!("b took the expired lease {waited:?} after a's last renewal could run");
    // a renewed at most a third of the TTL before it stopped.
    assert!(
        waited >= ttl - ttl / 3 - Duration::from_millis(100),
        "taken early: {waited:?}"
    );
    assert!(b.is_held());
    assert!(!a.is_held(), "a judges its own lease expired");
    assert!(
        !a.renew().await.expect("renew"),
        "a cannot renew a lease it lost"
    );

    // A holder that resigns hands it over at once.
    b.resign().await;
    assert!(
        a.try_acquire().await.expect("acquire"),
        "a resigned lease is free"
    );
    drop(stop);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_active_is_refused_by_the_stream_and_publishes_nothing() {
    let nats = NatsServer::start_with_config(&server_bin(), "");
    let nc = nats.connect().await;
    let js = jetstream::new(nc.clone());
    let ttl = Duration::from_secs(1);
    let org = OrgCode::parse("kab-pati-dinkes").expect("org");
    let assignment = v1::Assignment {
        org: org.to_string(),
        ..Default::default()
    };

    // A takes the lease and publishes. Its clock then stands still and it
    // renews no more: a process paused right after its clock check.
    let frozen = ManualClock::new(time::OffsetDateTime::now_utc());
    let a_lease = Lease::open(&js, lease_config("a", Arc::new(frozen), ttl))
        .await
        .expect("lease a");
    assert!(a_lease.try_acquire().await.expect("acquire"));
    let a = FencedSink::new(
        nc.clone(),
        Subjects::default(),
        short_window(),
        a_lease.clone(),
    )
    .await
    .expect("sink a");
    a.take_over().await.expect("a takes over");
    a.publish_at(&org, "a-1", 1, &assignment)
        .await
        .expect("a publishes while active");

    // B takes the expired lease and publishes.
    let b_lease = Lease::open(&js, lease_config("b", Arc::new(SystemClock), ttl))
        .await
        .expect("lease b");
    let waiting = Instant::now();
    while !b_lease.try_acquire().await.expect("try") {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "b never took the lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let b = FencedSink::new(nc.clone(), Subjects::default(), short_window(), b_lease)
        .await
        .expect("sink b");
    let tail = b.take_over().await.expect("b takes over");
    assert_eq!((tail.last_sequence, tail.max_position), (1, Some(1)));
    assert!(
        b.holds("a-1").await.expect("holds"),
        "b read what a published"
    );
    b.publish_at(&org, "b-1", 2, &assignment)
        .await
        .expect("b publishes");

    // A wakes, still believing it holds the lease, and publishes: the
    // stream refuses it (another wrote since), and A stands down.
    assert!(
        a_lease.is_held(),
        "a's frozen clock still says it holds the lease"
    );
    let refused = a.publish_at(&org, "a-2", 3, &assignment).await;
    assert!(
        matches!(refused, Err(RouterError::NotActive)),
        "{refused:?}"
    );
    assert!(!a_lease.is_held(), "a stood down");
    b.publish_at(&org, "b-2", 4, &assignment)
        .await
        .expect("b goes on");
    let ids: Vec<String> = all_messages(&js).await.into_iter().map(|m| m.0).collect();
    assert_eq!(ids, ["a-1", "b-1", "b-2"], "nothing from the stale a");
}

/// A shared sled log and the routers' own views.
struct Pair {
    _dir: tempfile::TempDir,
    log: SledLog,
}

impl Pair {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = SledOptions::new(dir.path().join("log"));
        opts.fsync = false;
        let log = SledLog::open(opts).expect("log");
        publish_ruleset(&log, SMALL).await.expect("rules");
        Self { _dir: dir, log }
    }

    async fn submit(&self, n: usize) -> ComplaintId {
        let id = ComplaintId::new();
        let e: ComplaintEvent = v1::ComplaintReceived {
            complaint_id: id.to_string(),
            tracking_no: TrackingNo::random().as_str().to_owned(),
            channel: "web".into(),
            kind: "complaint".into(),
            body: format!("antre lama di puskesmas {n}"),
            category: "kesehatan".into(),
            location: Some(v1::Location {
                region_code: "33.18".into(),
                ..Default::default()
            }),
            received_at_ms: 1,
            ..Default::default()
        }
        .into();
        let new = NewEvent::new(e.type_name(), "test", e.encode());
        self.log
            .append(&id.stream(), ExpectedVersion::NoStream, vec![new])
            .await
            .expect("append");
        id
    }

    /// Starts an elected router named `holder` with views of its own.
    async fn router(
        &self,
        nc: &async_nats::Client,
        holder: &str,
    ) -> (
        Lease,
        watch::Sender<bool>,
        tokio::task::JoinHandle<Result<(), RouterError>>,
    ) {
        let js = jetstream::new(nc.clone());
        let clock: SharedClock = Arc::new(SystemClock);
        let lease = Lease::open(
            &js,
            lease_config(holder, clock.clone(), Duration::from_secs(3)),
        )
        .await
        .expect("lease");
        let sink = FencedSink::new(
            nc.clone(),
            Subjects::default(),
            short_window(),
            lease.clone(),
        )
        .await
        .expect("sink");
        let mut config = RouterConfig::new(clock);
        config.scan_interval = Duration::from_millis(50);
        config.max_backoff = Duration::from_millis(50);
        let (tx, rx) = watch::channel(false);
        let log = self.log.clone();
        let task = tokio::spawn(async move {
            let views = aduan_kv::Db::memory();
            run_elected(log, &views, sink, config, rx).await
        });
        (lease, tx, task)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_mid_stream_and_every_complaint_has_exactly_one_assignment() {
    let nats = NatsServer::start_with_config(&server_bin(), "");
    let nc = nats.connect().await;
    let js = jetstream::new(nc.clone());
    let pair = Pair::new().await;

    let (a_lease, _a_stop, a_task) = pair.router(&nc, "router-a").await;
    let mut a_active = a_lease.watch();
    tokio::time::timeout(Duration::from_secs(10), a_active.wait_for(|v| *v))
        .await
        .expect("a active in time")
        .expect("watch");
    let (b_lease, b_stop, b_task) = pair.router(&nc, "router-b").await;
    let mut b_active = b_lease.watch();
    let b_took_over = tokio::spawn(async move {
        let _ = b_active.wait_for(|v| *v).await;
        Instant::now()
    });

    // Complaints flow at a steady rate; the active is killed mid-stream.
    let total = 120;
    let mut ids = Vec::new();
    let mut killed_at = None;
    for n in 0..total {
        ids.push(pair.submit(n).await);
        if n == total / 2 {
            assert!(!b_lease.is_held(), "b stood by while a was active");
            a_task.abort();
            killed_at = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed_at = killed_at.expect("killed");
    let b_took_over = tokio::time::timeout(Duration::from_secs(10), b_took_over)
        .await
        .expect("b active in time")
        .expect("join");
    let took_lease = b_took_over.duration_since(killed_at);

    // Wait until every complaint has an assignment, then past the 1 s
    // duplicate window, and count them over the whole stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first_by_b = loop {
        let msgs = all_messages(&js).await;
        let covered: std::collections::HashSet<&str> =
            msgs.iter().map(|m| m.2.complaint_id.as_str()).collect();
        if ids
            .iter()
            .all(|id| covered.contains(id.to_string().as_str()))
        {
            break msgs.iter().position(|m| m.1 == "router-b");
        }
        assert!(
            Instant::now() < deadline,
            "not every complaint was assigned in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let all_assigned = killed_at.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let msgs = all_messages(&js).await;
    let mut per_complaint: HashMap<String, usize> = HashMap::new();
    for (_, _, a) in &msgs {
        *per_complaint.entry(a.complaint_id.clone()).or_default() += 1;
    }
    let twice: Vec<_> = per_complaint.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "assigned more than once: {twice:?}");
    assert_eq!(per_complaint.len(), total, "every complaint assigned");
    // Only the lease holder published: a's messages, then b's.
    let by: Vec<&str> = msgs.iter().map(|m| m.1.as_str()).collect();
    let first_b = first_by_b.expect("b published");
    assert!(by[..first_b].iter().all(|r| *r == "router-a"), "{by:?}");
    assert!(by[first_b..].iter().all(|r| *r == "router-b"), "{by:?}");
    eprintln!(
        "a published {first_b}, b {} of {total}; b held the lease {took_lease:?} after a was killed; \
         every complaint assigned {all_assigned:?} after",
        msgs.len() - first_b
    );
    b_stop.send(true).expect("b running");
    b_task.await.expect("join").expect("b stopped cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_appends_and_publishes_nothing_and_acts_once_the_lease_is_given_up() {
    let nats = NatsServer::start_with_config(&server_bin(), "");
    let nc = nats.connect().await;
    let js = jetstream::new(nc.clone());
    let pair = Pair::new().await;
    // Another candidate holds the lease (and renews it) but runs no router.
    let other = Lease::open(
        &js,
        lease_config("other", Arc::new(SystemClock), Duration::from_secs(3)),
    )
    .await
    .expect("lease");
    assert!(other.try_acquire().await.expect("acquire"));
    let (stop_other, other_stopped) = watch::channel(false);
    let campaign = tokio::spawn(other.clone().campaign(other_stopped));

    let (b_lease, b_stop, b_task) = pair.router(&nc, "router-b").await;
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(pair.submit(n).await);
    }
    // Longer than a lease's TTL, and enough for an acting router to route them all.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!b_lease.is_held());
    let routed = |log: SledLog| async move {
        let all = log.read_all(1, 100_000).await.expect("read");
        all.iter()
            .filter(|e| e.event_type == "ComplaintRouted")
            .count()
    };
    assert_eq!(routed(pair.log.clone()).await, 0, "the standby appended");
    assert!(all_messages(&js).await.is_empty(), "the standby published");

    // The holder gives the lease up: b takes it and does everything once.
    stop_other.send(true).expect("campaign running");
    campaign.await.expect("resigned");
    let deadline = Instant::now() + Duration::from_secs(20);
    while all_messages(&js).await.len() < ids.len() {
        assert!(
            Instant::now() < deadline,
            "b did not route after taking over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(routed(pair.log.clone()).await, ids.len());
    let msgs = all_messages(&js).await;
    assert_eq!(msgs.len(), ids.len());
    assert!(msgs.iter().all(|m| m.1 == "router-b"));
    b_stop.send(true).expect("b running");
    b_task.await.expect("join").expect("b stopped cleanly");
}

/// Not a check: assignments per second through the fenced sink and through
/// the unfenced one, 64 concurrent publishers (as the router's lanes), on
/// one node. `cargo test -p aduan-e2e --test router_standby -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement"]
async fn measure_fenced_and_unfenced_publish_rates() {
    const N: usize = 4000;
    const TASKS: usize = 64;
    async fn drive<S: AssignmentSink + Clone>(sink: S, tag: &str) -> f64 {
        let org = OrgCode::parse("kab-pati-dinkes").expect("org");
        let started = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for t in 0..TASKS {
            let (sink, org, tag) = (sink.clone(), org.clone(), tag.to_owned());
            set.spawn(async move {
                let a = v1::Assignment {
                    title: "x".repeat(200),
                    ..Default::default()
                };
                for i in (t..N).step_by(TASKS) {
                    let id = format!("{tag}-{i}");
                    sink.publish_at(&org, &id, i as u64 + 1, &a)
                        .await
                        .expect("publish");
                }
            });
        }
        while set.join_next().await.is_some() {}
        N as f64 / started.elapsed().as_secs_f64()
    }
    for sync in ["", "jetstream { sync_interval: always }\n"] {
        let nats = NatsServer::start_with_config(&server_bin(), sync);
        let nc = nats.connect().await;
        let js = jetstream::new(nc.clone());
        let unfenced = JetStreamSink::new(nc.clone(), Subjects::default())
            .await
            .expect("sink");
        let plain = drive(unfenced, "u").await;
        js.delete_stream(JetStreamSink::STREAM)
            .await
            .expect("fresh stream");
        let lease = Lease::open(
            &js,
            lease_config("m", Arc::new(SystemClock), Duration::from_secs(6)),
        )
        .await
        .expect("lease");
        assert!(lease.try_acquire().await.expect("acquire"));
        let fenced = FencedSink::new(nc, Subjects::default(), InboxStream::default(), lease)
            .await
            .expect("sink");
        fenced.take_over().await.expect("take over");
        let fenced_rate = drive(fenced, "f").await;
        eprintln!(
            "{N} assignments, {TASKS} publishers, server config {sync:?}: unfenced {plain:.0}/s, fenced {fenced_rate:.0}/s"
        );
    }
}
