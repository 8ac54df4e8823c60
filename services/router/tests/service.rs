//! The router service in process, over a real sled log: routing and
//! publishing, deadline escalation with a manual clock, restarts, a sink that
//! fails, and replay under successive rule sets.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aduan_complaints::publish_ruleset;
use aduan_domain::{Clock, ComplaintEvent, ComplaintId, ManualClock, OrgCode, TrackingNo};
use aduan_log::{EventLog, ExpectedVersion, NewEvent, RecordedEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use aduan_router::{run, AssignmentSink, RouterConfig, RouterError};
use time::macros::datetime;
use tokio::sync::watch;

const SMALL: &str = include_str!("fixtures/small.toml");

/// An inbox: every assignment published in this run, with its message id,
/// and the ids the inbox holds across runs; fails the first `fail` publishes
/// and never acknowledges an assignment of a complaint in `stall`.
#[derive(Clone, Default)]
struct Recorder {
    got: Arc<Mutex<Vec<(String, String, v1::Assignment)>>>,
    held: Arc<Mutex<HashSet<String>>>,
    fail: Arc<AtomicUsize>,
    stall: Arc<Mutex<HashSet<String>>>,
}

impl Recorder {
    fn all(&self) -> Vec<(String, String, v1::Assignment)> {
        self.got.lock().expect("lock").clone()
    }

    /// The sink of a restarted router: the same inbox, nothing published yet.
    fn restarted(&self) -> Self {
        Self {
            held: self.held.clone(),
            ..Self::default()
        }
    }

    /// The inbox loses `msg_id`, as a server that acks before its fsync may.
    fn lose(&self, msg_id: &str) {
        assert!(self.held.lock().expect("lock").remove(msg_id));
    }
}

impl AssignmentSink for Recorder {
    async fn publish(
        &self,
        org: &OrgCode,
        msg_id: &str,
        a: &v1::Assignment,
    ) -> Result<(), RouterError> {
        if self.stall.lock().expect("lock").contains(&a.complaint_id) {
            return std::future::pending().await;
        }
        if self.fail.load(Ordering::SeqCst) > 0 {
            self.fail.fetch_sub(1, Ordering::SeqCst);
            return Err(RouterError::Publish {
                subject: org.to_string(),
                message: "test outage".into(),
            });
        }
        self.got
            .lock()
            .expect("lock")
            .push((org.to_string(), msg_id.to_owned(), a.clone()));
        self.held.lock().expect("lock").insert(msg_id.to_owned());
        Ok(())
    }

    async fn holds(&self, msg_id: &str) -> Result<bool, RouterError> {
        Ok(self.held.lock().expect("lock").contains(msg_id))
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    log: SledLog,
    views: aduan_kv::Db,
    clock: ManualClock,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = SledOptions::new(dir.path().join("log"));
        opts.fsync = false;
        let log = SledLog::open(opts).expect("log");
        let views = aduan_kv::Db::memory();
        // Monday 23 Nov 2026, 09:00 WIB.
        let clock = ManualClock::new(datetime!(2026-11-23 02:00 UTC));
        Self {
            _dir: dir,
            log,
            views,
            clock,
        }
    }

    /// Starts the router; returns its stop switch and task.
    fn start(
        &self,
        sink: Recorder,
    ) -> (
        watch::Sender<bool>,
        tokio::task::JoinHandle<Result<(), RouterError>>,
    ) {
        self.start_over(self.log.clone(), sink)
    }

    /// Starts the router over `log` (this fixture's, seen through a wrapper).
    fn start_over<L: EventLog + Clone>(
        &self,
        log: L,
        sink: Recorder,
    ) -> (
        watch::Sender<bool>,
        tokio::task::JoinHandle<Result<(), RouterError>>,
    ) {
        let (tx, rx) = watch::channel(false);
        let mut config = RouterConfig::new(Arc::new(self.clock.clone()));
        config.scan_interval = Duration::from_millis(20);
        config.max_backoff = Duration::from_millis(20);
        let views = self.views.clone();
        (
            tx,
            tokio::spawn(async move { run(log, &views, sink, config, rx).await }),
        )
    }

    async fn submit(&self, region: &str, category: &str, text: &str) -> ComplaintId {
        self.submit_as(ComplaintId::new(), region, category, text)
            .await
    }

    async fn submit_as(
        &self,
        id: ComplaintId,
        region: &str,
        category: &str,
        text: &str,
    ) -> ComplaintId {
        let e: ComplaintEvent = v1::ComplaintReceived {
            complaint_id: id.to_string(),
            tracking_no: TrackingNo::random().as_str().to_owned(),
            channel: "web".into(),
            kind: "complaint".into(),
            body: text.into(),
            category: category.into(),
            location: Some(v1::Location {
                region_code: region.into(),
                ..Default::default()
            }),
            reporter: Some(v1::Reporter {
                name: "Siti".into(),
                privacy: "public".into(),
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

    async fn events(&self, id: &ComplaintId) -> Vec<(RecordedEvent, ComplaintEvent)> {
        let all = self.log.read_stream(&id.stream(), 1).await.expect("read");
        all.into_iter()
            .map(|r| {
                let e = ComplaintEvent::decode(&r.event_type, r.schema_version, &r.payload)
                    .expect("decode");
                (r, e)
            })
            .collect()
    }

    async fn routed(&self, id: &ComplaintId) -> Vec<v1::ComplaintRouted> {
        let events = self.events(id).await;
        events
            .into_iter()
            .filter_map(|(_, e)| match e {
                ComplaintEvent::Routed(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Its owner, kab-pati-dinkes, says complaint `id` (received and routed
    /// once) is not its authority.
    async fn decline(&self, id: &ComplaintId) {
        let decline: ComplaintEvent = v1::RoutingRejected {
            org: "kab-pati-dinkes".into(),
            reason: "bukan kewenangan kami".into(),
            ..Default::default()
        }
        .into();
        let actor = "opd:kab-pati-dinkes:budi";
        let new = NewEvent::new(decline.type_name(), actor, decline.encode());
        self.log
            .append(&id.stream(), ExpectedVersion::Exact(2), vec![new])
            .await
            .expect("decline");
    }

    /// The router's checkpoint: the last position whose effect is done.
    fn checkpoint(&self) -> u64 {
        let tree = self.views.open_tree("router").expect("router tree");
        tree.get(b"checkpoint")
            .expect("read")
            .map_or(0, |v| u64::from_be_bytes(v.try_into().expect("8 bytes")))
    }

    /// When the router will next look at `id` (None: never).
    fn next_due_ms(&self, id: &ComplaintId) -> Option<i64> {
        let tree = self.views.open_tree("router.deadlines").expect("tree");
        tree.get(id.uuid().into_bytes())
            .expect("read")
            .map(|v| i64::from_be_bytes(v.try_into().expect("8 bytes")))
    }

    /// Waits until the router has handled every event in the log (its
    /// checkpoint is the head) and the scanner has nothing due for `id`
    /// at the clock's time: from then on nothing more can happen to it.
    async fn settled(&self, id: &ComplaintId) {
        let now = aduan_domain::calendar::unix_ms(self.clock.now());
        let log = self.log.clone();
        eventually("the router to reach the head with nothing due", || {
            let head = *log.head().borrow();
            self.checkpoint() == head && self.next_due_ms(id).is_none_or(|due| due > now)
        })
        .await;
    }

    async fn escalations(&self, id: &ComplaintId) -> usize {
        let events = self.events(id).await;
        events
            .iter()
            .filter(|(_, e)| matches!(e, ComplaintEvent::Escalated(_)))
            .count()
    }
}

/// Polls `f` until it holds, for up to 10 s.
async fn eventually<F: FnMut() -> bool>(what: &str, mut f: F) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn stop(tx: watch::Sender<bool>, task: tokio::task::JoinHandle<Result<(), RouterError>>) {
    tx.send(true).expect("router running");
    task.await.expect("join").expect("router stopped cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_acknowledge_deadline_escalates_once_even_across_restarts() {
    let f = Fixture::new();
    publish_ruleset(&f.log, SMALL).await.expect("publish");
    let sink = Recorder::default();
    let (tx, task) = f.start(sink.clone());
    let id = f.submit("33.18", "kesehatan", "antre lama").await;
    eventually("the first assignment", || sink.all().len() == 1).await;
    assert_eq!(sink.all()[0].0, "kab-pati-dinkes");

    // Thursday 09:00 WIB is three working days later: the deadline has passed.
    f.clock.set(datetime!(2026-11-26 02:00 UTC));
    eventually("the escalation's assignment", || sink.all().len() == 2).await;
    let (org, msg_id, a) = sink.all()[1].clone();
    assert_eq!((org.as_str(), a.org.as_str()), ("kab-pati", "kab-pati"));
    f.settled(&id).await;
    assert_eq!(f.escalations(&id).await, 1);
    assert_eq!(sink.all().len(), 2, "the escalation published once");
    stop(tx, task).await;

    // A new router over the same data, later still (before the follow-up
    // deadline). A probe complaint submitted after it starts shows that it
    // ran: its assignment comes only after the router read the log from its
    // checkpoint (and its first deadline scan runs before it reads the log).
    f.clock.set(datetime!(2026-11-27 02:00 UTC));
    let again = sink.restarted();
    let (tx, task) = f.start(again.clone());
    let probe = f.submit("33.18", "kesehatan", "probe").await;
    eventually("the probe's assignment", || !again.all().is_empty()).await;
    f.settled(&id).await;
    f.settled(&probe).await;
    stop(tx, task).await;
    assert_eq!(f.escalations(&id).await, 1, "escalated once");
    let republished: Vec<_> = again
        .all()
        .into_iter()
        .filter(|(_, _, a)| a.complaint_id != probe.to_string())
        .collect();
    assert!(
        republished.is_empty(),
        "nothing republished past the checkpoint: {republished:?}"
    );
    assert_eq!(again.all().len(), 1, "the probe published once");
    let escalated = f
        .events(&id)
        .await
        .into_iter()
        .find(|(_, e)| matches!(e, ComplaintEvent::Escalated(_)));
    assert_eq!(
        escalated.expect("escalation").0.event_id.to_string(),
        msg_id
    );
}

/// The sled log, counting the reads of complaint streams.
#[derive(Clone)]
struct Counting {
    inner: SledLog,
    stream_reads: Arc<AtomicUsize>,
}

impl EventLog for Counting {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<aduan_log::Appended, aduan_log::LogError> {
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, aduan_log::LogError> {
        if stream.starts_with("complaint-") {
            self.stream_reads.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.read_stream(stream, from_version).await
    }

    async fn read_all(
        &self,
        from: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, aduan_log::LogError> {
        self.inner.read_all(from, max).await
    }

    fn head(&self) -> watch::Receiver<u64> {
        self.inner.head()
    }

    async fn import(
        &self,
        records: Vec<RecordedEvent>,
    ) -> Result<aduan_log::Appended, aduan_log::LogError> {
        self.inner.import(records).await
    }
}

/// Each lane folds the complaints it handles from the events it is handed:
/// a complaint's `Received` starts the lane's copy, the routing is decided
/// from it, and its `Routed` is delivered from it, with no read of the
/// stream. (It read the stream for each event before: twice per complaint
/// here, 8.7% of the pipeline bench's samples at 5,000/s.) A decline then
/// re-routes from the copy too. A router started later holds no copies: a
/// decline then costs one read of the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_routes_and_delivers_from_its_lanes_copies_without_reading_streams() {
    let f = Fixture::new();
    publish_ruleset(&f.log, SMALL).await.expect("publish");
    let sink = Recorder::default();
    let stream_reads = Arc::new(AtomicUsize::new(0));
    let log = Counting {
        inner: f.log.clone(),
        stream_reads: stream_reads.clone(),
    };
    let (tx, task) = f.start_over(log.clone(), sink.clone());
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(f.submit("33.18", "kesehatan", &format!("antre {i}")).await);
    }
    eventually("20 assignments", || sink.all().len() == 20).await;
    for id in &ids {
        f.settled(id).await;
    }
    let reads = || stream_reads.load(Ordering::SeqCst);
    assert_eq!(reads(), 0, "no stream read");

    // The owner declines one: the lane re-routes it from its copy, and
    // delivers the new routing from it, with no read.
    f.decline(&ids[0]).await;
    eventually("the re-routing's assignment", || sink.all().len() == 21).await;
    f.settled(&ids[0]).await;
    assert_eq!(reads(), 0, "no read for the decline");
    stop(tx, task).await;

    // A new router: the lane reads the declined complaint's stream once.
    let again = sink.restarted();
    let (tx, task) = f.start_over(log, again.clone());
    f.decline(&ids[1]).await;
    eventually("the re-routing's assignment", || again.all().len() == 1).await;
    f.settled(&ids[1]).await;
    stop(tx, task).await;
    assert_eq!(reads(), 1, "one read, when the lane held no copy");
    for id in &ids[..2] {
        let routed = f.routed(id).await;
        assert_eq!(routed.len(), 2, "routed again once");
        assert_ne!(routed[1].org, "kab-pati-dinkes", "not back to the decliner");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sink_is_retried_and_a_restart_republishes_with_the_same_id() {
    let f = Fixture::new();
    publish_ruleset(&f.log, SMALL).await.expect("publish");
    let sink = Recorder::default();
    sink.fail.store(2, Ordering::SeqCst);
    let (tx, task) = f.start(sink.clone());
    let id = f.submit("33.18", "", "jembatan putus").await;
    eventually("the assignment after two failures", || {
        sink.all().len() == 1
    })
    .await;
    stop(tx, task).await;

    // A sink that never acknowledges: the router is stopped between append and publish.
    let second = f.submit("33.18", "", "jembatan putus").await;
    let stuck = sink.restarted();
    stuck.fail.store(usize::MAX, Ordering::SeqCst);
    let (tx, task) = f.start(stuck.clone());
    let appended = async {
        loop {
            if !f.routed(&second).await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), appended)
        .await
        .expect("routed");
    stop(tx, task).await;
    assert!(stuck.all().is_empty());

    let after = stuck.restarted();
    let (tx, task) = f.start(after.clone());
    eventually("the republished assignment", || after.all().len() == 1).await;
    stop(tx, task).await;
    let routed_id = f
        .events(&second)
        .await
        .into_iter()
        .find(|(_, e)| matches!(e, ComplaintEvent::Routed(_)))
        .expect("routed")
        .0
        .event_id;
    assert_eq!(after.all()[0].1, routed_id.to_string());
    assert_eq!(f.routed(&second).await.len(), 1, "routed once");
    assert_eq!(f.routed(&id).await.len(), 1);
}

/// The router's lane of a complaint (by id, over its 64 lanes).
fn lane_of(id: &ComplaintId) -> u128 {
    id.uuid().as_u128() % 64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_assignment_holds_the_checkpoint_not_the_next_complaint() {
    let f = Fixture::new();
    publish_ruleset(&f.log, SMALL).await.expect("publish");
    // Two complaints of one lane; the inbox never acknowledges the first's.
    let stuck = ComplaintId::new();
    let next = loop {
        let id = ComplaintId::new();
        if lane_of(&id) == lane_of(&stuck) {
            break id;
        }
    };
    let sink = Recorder::default();
    sink.stall.lock().expect("lock").insert(stuck.to_string());
    let (tx, task) = f.start(sink.clone());
    f.submit_as(stuck, "33.18", "kesehatan", "antre lama").await;
    f.submit_as(next, "33.18", "kesehatan", "obat habis").await;
    eventually("the next complaint's assignment", || {
        sink.all()
            .iter()
            .any(|(_, _, a)| a.complaint_id == next.to_string())
    })
    .await;
    let routed = |events: Vec<(RecordedEvent, ComplaintEvent)>| {
        events
            .into_iter()
            .find(|(_, e)| matches!(e, ComplaintEvent::Routed(_)))
            .expect("routed")
            .0
    };
    let stuck_routed = routed(f.events(&stuck).await);
    let next_routed = routed(f.events(&next).await);
    assert!(next_routed.position > stuck_routed.position);
    // Time for the tail to take in the next complaint's outcomes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        f.checkpoint() < stuck_routed.position,
        "the checkpoint stays before the unacknowledged routing"
    );
    stop(tx, task).await;

    // Restarted (as after a crash there): the assignment goes out again,
    // with the routing event's id as its idempotency key.
    let again = sink.restarted();
    let (tx, task) = f.start(again.clone());
    eventually("the stuck assignment published again", || {
        again
            .all()
            .iter()
            .any(|(_, _, a)| a.complaint_id == stuck.to_string())
    })
    .await;
    stop(tx, task).await;
    let ids: Vec<_> = again
        .all()
        .into_iter()
        .filter(|(_, _, a)| a.complaint_id == stuck.to_string())
        .map(|(_, id, _)| id)
        .collect();
    assert_eq!(ids, [stuck_routed.event_id.to_string()]);
    assert_eq!(f.routed(&stuck).await.len(), 1, "routed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_the_inbox_lost_after_acknowledging_it_is_published_again_at_start() {
    let f = Fixture::new();
    publish_ruleset(&f.log, SMALL).await.expect("publish");
    let sink = Recorder::default();
    let (tx, task) = f.start(sink.clone());
    let kept = f.submit("33.18", "kesehatan", "antre lama").await;
    let lost = f.submit("33.18", "kesehatan", "obat habis").await;
    eventually("both assignments", || sink.all().len() == 2).await;
    f.settled(&kept).await;
    f.settled(&lost).await;
    stop(tx, task).await;

    let routed_id = |events: Vec<(RecordedEvent, ComplaintEvent)>| {
        let (e, _) = events
            .into_iter()
            .find(|(_, e)| matches!(e, ComplaintEvent::Routed(_)))
            .expect("routed");
        e.event_id.to_string()
    };
    let lost_id = routed_id(f.events(&lost).await);
    sink.lose(&lost_id);
    let again = sink.restarted();
    let (tx, task) = f.start(again.clone());
    eventually("the lost assignment again", || !again.all().is_empty()).await;
    f.settled(&lost).await;
    stop(tx, task).await;
    let ids: Vec<_> = again.all().into_iter().map(|(_, id, _)| id).collect();
    assert_eq!(ids, [lost_id], "only the lost one, with its first id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_rule_set_routes_only_later_complaints_and_replay_reproduces_decisions() {
    let f = Fixture::new();
    publish_ruleset(&f.log, SMALL).await.expect("publish");
    assert!(
        publish_ruleset(&f.log, SMALL)
            .await
            .expect("same again")
            .is_none(),
        "no duplicate"
    );
    let sink = Recorder::default();
    let (tx, task) = f.start(sink.clone());
    let early = f.submit("33.18", "kesehatan", "antre lama").await;
    eventually("early routed", || sink.all().len() == 1).await;

    let v2 = SMALL.replace("version = \"t-1\"", "version = \"t-2\"").replace(
        "id = \"pati-kesehatan\"\nregion = \"33.18\"\ncategories = [\"kesehatan\"]\nto = \"kab-pati-dinkes\"",
        "id = \"pati-kesehatan\"\nregion = \"33.18\"\ncategories = [\"kesehatan\"]\nto = \"kab-pati-rsud\"",
    );
    publish_ruleset(&f.log, &v2)
        .await
        .expect("publish v2")
        .expect("appended");
    let late = f.submit("33.18", "kesehatan", "antre lama").await;
    eventually("late routed", || sink.all().len() == 2).await;
    stop(tx, task).await;

    let (e, l) = (f.routed(&early).await, f.routed(&late).await);
    assert_eq!(
        (e[0].org.as_str(), e[0].ruleset_version.as_str()),
        ("kab-pati-dinkes", "t-1")
    );
    assert_eq!(
        (l[0].org.as_str(), l[0].ruleset_version.as_str()),
        ("kab-pati-rsud", "t-2")
    );

    // Rebuild: a router with no state replays the whole log and changes nothing.
    let head = *f.log.head().borrow();
    let fresh = Fixture {
        views: aduan_kv::Db::memory(),
        ..f
    };
    let replayed = Recorder::default();
    let (tx, task) = fresh.start(replayed.clone());
    eventually("republished both", || replayed.all().len() == 2).await;
    stop(tx, task).await;
    assert_eq!(*fresh.log.head().borrow(), head, "a replay appends nothing");
    // Lanes keep one complaint's order, not the order across complaints.
    let sorted = |mut v: Vec<(String, String, v1::Assignment)>| {
        v.sort_by(|a, b| a.1.cmp(&b.1));
        v
    };
    assert_eq!(
        sorted(replayed.all()),
        sorted(sink.all()),
        "same assignments, same message ids"
    );
    // And the decision function, run again from the log, decides the same.
    for id in [&early, &late] {
        aduan_e2e_free_replay(&fresh.log, id).await;
    }
}

/// Runs the decision again for the complaint's first routing with the rule
/// set in force at its position, and compares with what was recorded.
async fn aduan_e2e_free_replay(log: &SledLog, id: &ComplaintId) {
    let rulesets = log
        .read_stream(aduan_domain::RULESET_STREAM, 1)
        .await
        .expect("rulesets");
    let stream = log.read_stream(&id.stream(), 1).await.expect("stream");
    let received = &stream[0];
    let source = rulesets
        .iter()
        .rev()
        .find(|r| r.position < received.position)
        .expect("a rule set");
    let p =
        <v1::RuleSetPublished as prost::Message>::decode(&*source.payload).expect("publication");
    let rules = aduan_rules::RuleSet::load(&p.source).expect("rules");
    let events: Vec<ComplaintEvent> = stream
        .iter()
        .map(|r| {
            ComplaintEvent::decode(&r.event_type, r.schema_version, &r.payload).expect("decode")
        })
        .collect();
    let ComplaintEvent::Received(r) = &events[0] else {
        panic!("received first")
    };
    let state = aduan_domain::Complaint::fold(&events[..1]).expect("state");
    let choice = aduan_router::next_owner(Some(&rules), &state, &aduan_router::routing::facts(r))
        .expect("owner");
    let ComplaintEvent::Routed(recorded) = &events[1] else {
        panic!("routed second")
    };
    assert_eq!(
        (
            choice.org.as_str(),
            choice.rule_id.as_str(),
            choice.ruleset_version.as_str()
        ),
        (
            recorded.org.as_str(),
            recorded.rule_id.as_str(),
            recorded.ruleset_version.as_str()
        )
    );
}
