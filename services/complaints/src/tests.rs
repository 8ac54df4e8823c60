//! The complaint store over the in-memory log (the reference backend): the
//! retry policy under a racing appender, correlation and causation, and the
//! rule set in force by position and by time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aduan_domain::calendar::unix_ms;
use aduan_domain::{ManualClock, OrgCode, Rejection, TrackingNo, RULESET_STREAM};
use aduan_log::memory::MemoryLog;
use aduan_log::LogError;
use aduan_proto::v1;
use time::macros::datetime;

use super::*;

const DINKES: &str = "kab-pati-dinkes";
const SAMPLE: &str = include_str!("../../../deploy/rules/sample.toml");

/// A log where a rival writer appends a follow-up to the complaint just
/// before each of the next `wins` appends of the store, so the store's
/// expected version is stale.
#[derive(Clone)]
struct Racing {
    inner: MemoryLog,
    wins: Arc<AtomicU32>,
}

impl EventLog for Racing {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Appended, LogError> {
        let won = self
            .wins
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| w.checked_sub(1));
        if won.is_ok() && stream.starts_with("complaint-") {
            let rival = ComplaintEvent::from(v1::FollowUpPosted {
                org: DINKES.into(),
                message: "rival".into(),
                ..Default::default()
            });
            let e = NewEvent::new(rival.type_name(), "rival", rival.encode());
            self.inner
                .append(stream, ExpectedVersion::Any, vec![e])
                .await?;
        }
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
    ) -> Result<Vec<RecordedEvent>, LogError> {
        self.inner.read_stream(stream, from_version).await
    }

    async fn read_all(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, LogError> {
        self.inner.read_all(from, max).await
    }

    fn head(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.head()
    }

    async fn import(&self, records: Vec<RecordedEvent>) -> Result<Appended, LogError> {
        self.inner.import(records).await
    }
}

/// kab-pati-dinkes posts a public follow-up saying `message`.
fn dinkes_follows_up(message: &str) -> Command {
    Command::FollowUp {
        org: OrgCode::parse(DINKES).expect("org"),
        message: message.into(),
        public: true,
        review: false,
    }
}

struct World {
    store: ComplaintStore<Racing>,
    wins: Arc<AtomicU32>,
}

fn world() -> World {
    let inner = MemoryLog::new();
    let wins = Arc::new(AtomicU32::new(0));
    let log = Racing {
        inner,
        wins: wins.clone(),
    };
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 09:00 UTC)));
    let policy = RetryPolicy {
        max_attempts: 4,
        first_pause: Duration::from_millis(1),
        max_pause: Duration::from_millis(2),
    };
    World {
        store: ComplaintStore::new(log, clock).with_policy(policy),
        wins,
    }
}

impl World {
    /// Given a complaint received and routed to kab-pati-dinkes: its id and
    /// the envelope of its `ComplaintReceived`.
    async fn routed(&self) -> (ComplaintId, RecordedEvent) {
        let id = ComplaintId::new();
        let received = v1::ComplaintReceived {
            complaint_id: id.to_string(),
            tracking_no: TrackingNo::random().to_string(),
            channel: "web".into(),
            kind: "complaint".into(),
            title: "Obat habis".into(),
            body: "Puskesmas kehabisan obat".into(),
            received_at_ms: unix_ms(datetime!(2026-11-23 08:00 UTC)),
            ..Default::default()
        };
        let routed = v1::ComplaintRouted {
            org: DINKES.into(),
            hop: 1,
            reason: "rule".into(),
            due_at_ms: unix_ms(datetime!(2027-03-01 09:00 UTC)),
            at_ms: unix_ms(datetime!(2026-11-23 08:00 UTC)),
            ..Default::default()
        };
        let events = [ComplaintEvent::from(received), ComplaintEvent::from(routed)]
            .iter()
            .map(|e| NewEvent::new(e.type_name(), "test", e.encode()))
            .collect();
        let log = self.store.log();
        log.inner
            .append(&id.stream(), ExpectedVersion::NoStream, events)
            .await
            .expect("append given");
        let first = log.read_stream(&id.stream(), 1).await.expect("read");
        (id, first[0].clone())
    }

    /// An OPD follow-up through the store, counting how often it was decided.
    async fn follow_up(
        &self,
        id: &ComplaintId,
        cause: Cause,
        decided: &AtomicU32,
    ) -> Result<Executed, StoreError> {
        self.store
            .execute(id, "opd:kab-pati-dinkes:budi", cause, |_, _| {
                decided.fetch_add(1, Ordering::SeqCst);
                Ok::<_, StoreError>(Some(dinkes_follows_up("Sedang kami periksa")))
            })
            .await
    }

    async fn records(&self, id: &ComplaintId) -> Vec<RecordedEvent> {
        self.store
            .log()
            .read_stream(&id.stream(), 1)
            .await
            .expect("read")
    }
}

#[tokio::test]
async fn a_lost_race_is_decided_again_on_the_fresh_state() {
    let w = world();
    let (id, _) = w.routed().await;
    w.wins.store(3, Ordering::SeqCst);
    let decided = AtomicU32::new(0);
    let done = w
        .follow_up(&id, Cause::request(), &decided)
        .await
        .expect("fourth attempt wins");
    assert_eq!(decided.load(Ordering::SeqCst), 4);
    // received, routed, three rival follow-ups, then ours, appended once.
    assert_eq!(done.complaint.version, 6);
    let records = w.records(&id).await;
    assert_eq!(records.len(), 6);
    let ours: Vec<_> = records.iter().filter(|r| r.actor != "rival").collect();
    assert_eq!(ours.len(), 3);
    assert_eq!(ours[2].stream_version, 6);
}

/// A caller's copy the stream has moved past (the router's lane copy, one
/// event behind): the first decision, from the copy, loses the race at the
/// append, and the next is made on the stream as read, so the stale copy
/// never shows in the log.
#[tokio::test]
async fn a_decision_from_a_stale_copy_is_made_again_on_the_stream_as_read() {
    let w = world();
    let (id, _) = w.routed().await;
    let stale = w.store.load(&id).await.expect("load");
    let decided = AtomicU32::new(0);
    w.follow_up(&id, Cause::request(), &decided)
        .await
        .expect("another writer's follow-up");
    let seen = std::sync::Mutex::new(Vec::new());
    let done = w
        .store
        .execute_from(
            &id,
            Some(&stale),
            "aduan:router",
            Cause::request(),
            |l, _| {
                seen.lock().expect("lock").push(l.complaint.version);
                Ok::<_, StoreError>(Some(dinkes_follows_up("dari salinan")))
            },
        )
        .await
        .expect("decided again and appended");
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![2, 3],
        "the copy, then the stream"
    );
    assert_eq!(done.complaint.version, 4);
    let records = w.records(&id).await;
    assert_eq!(records.len(), 4);
    assert_eq!(records[3].actor, "aduan:router");
    // A copy that is current is decided from once, and appended.
    let current = w.store.load(&id).await.expect("load");
    let attempts = AtomicU32::new(0);
    let done = w
        .store
        .execute_from(
            &id,
            Some(&current),
            "aduan:router",
            Cause::request(),
            |_, _| {
                attempts.fetch_add(1, Ordering::SeqCst);
                Ok::<_, StoreError>(Some(dinkes_follows_up("lagi")))
            },
        )
        .await
        .expect("appended");
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(done.complaint.version, 5);
}

#[tokio::test]
async fn a_race_lost_every_time_gives_up_after_the_policy_s_attempts() {
    let w = world();
    let (id, _) = w.routed().await;
    w.wins.store(100, Ordering::SeqCst);
    let decided = AtomicU32::new(0);
    let err = w
        .follow_up(&id, Cause::request(), &decided)
        .await
        .expect_err("every attempt loses");
    assert!(
        matches!(err, StoreError::Contended { attempts: 4 }),
        "{err:?}"
    );
    assert_eq!(decided.load(Ordering::SeqCst), 4);
    assert!(w
        .records(&id)
        .await
        .iter()
        .all(|r| r.event_type != "FollowUpPosted" || r.actor == "rival"));
}

#[tokio::test]
async fn a_refusal_is_returned_at_once_and_appends_nothing() {
    let w = world();
    let (id, _) = w.routed().await;
    let decided = AtomicU32::new(0);
    let err = w
        .store
        .execute(&id, "opd:kab-pati-rsud:x", Cause::request(), |_, _| {
            decided.fetch_add(1, Ordering::SeqCst);
            Ok::<_, StoreError>(Some(Command::Acknowledge {
                org: OrgCode::parse("kab-pati-rsud").expect("org"),
            }))
        })
        .await
        .expect_err("not the owner");
    assert!(
        matches!(err, StoreError::Rejected(Rejection::NotAssigned)),
        "{err:?}"
    );
    assert_eq!(decided.load(Ordering::SeqCst), 1);
    assert_eq!(w.records(&id).await.len(), 2);
}

#[tokio::test]
async fn an_unknown_complaint_is_not_found() {
    let w = world();
    let err = w.store.load(&ComplaintId::new()).await.expect_err("none");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn events_caused_by_an_event_continue_its_conversation() {
    let w = world();
    let (id, received) = w.routed().await;
    let decided = AtomicU32::new(0);
    w.follow_up(&id, Cause::event(&received), &decided)
        .await
        .expect("follow up");
    let last = w.records(&id).await.pop().expect("appended");
    assert_eq!(last.correlation_id, received.correlation_id);
    assert_eq!(last.causation_id, Some(received.event_id));
}

#[tokio::test]
async fn a_request_starts_one_conversation_kept_across_retries() {
    let w = world();
    let (id, received) = w.routed().await;
    w.wins.store(2, Ordering::SeqCst);
    let cause = Cause::request();
    let Cause::Request { correlation_id } = cause else {
        panic!("a request")
    };
    let decided = AtomicU32::new(0);
    w.follow_up(&id, cause, &decided).await.expect("follow up");
    let last = w.records(&id).await.pop().expect("appended");
    assert_eq!(last.correlation_id, correlation_id);
    assert_ne!(last.correlation_id, received.correlation_id);
    assert_eq!(last.causation_id, None);
}

#[tokio::test]
async fn a_timer_continues_the_conversation_of_the_last_event() {
    let w = world();
    let (id, _) = w.routed().await;
    let before = w.records(&id).await.pop().expect("routed");
    let decided = AtomicU32::new(0);
    w.follow_up(&id, Cause::Timer, &decided)
        .await
        .expect("follow up");
    let last = w.records(&id).await.pop().expect("appended");
    assert_eq!(last.correlation_id, before.correlation_id);
    assert_eq!(last.causation_id, Some(before.event_id));
}

/// The sample rule set under another version name.
fn second() -> String {
    SAMPLE.replace("version = \"sample-2026-11\"", "version = \"second\"")
}

#[tokio::test]
async fn the_rule_set_in_force_is_the_last_published_by_position_and_by_time() {
    let w = world();
    let none = w.store.rules_in_force(At::Latest).await.expect("read");
    assert!(none.is_none());
    let a = w.store.publish_ruleset(SAMPLE).await.expect("publish");
    assert!(a.is_some());
    // The log records times in ms: keep the two publications apart.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let b = w.store.publish_ruleset(&second()).await.expect("publish");
    assert!(b.is_some());
    let published = w
        .store
        .log()
        .read_stream(RULESET_STREAM, 1)
        .await
        .expect("read");
    let (pa, pb) = (&published[0], &published[1]);
    let version = |at| {
        let store = w.store.clone();
        async move {
            store
                .rules_in_force(at)
                .await
                .expect("read")
                .map(|r| r.version().to_owned())
        }
    };
    assert_eq!(version(At::Position(pa.position - 1)).await, None);
    assert_eq!(
        version(At::Position(pa.position)).await.as_deref(),
        Some("sample-2026-11")
    );
    assert_eq!(
        version(At::Position(pb.position - 1)).await.as_deref(),
        Some("sample-2026-11")
    );
    assert_eq!(
        version(At::Position(pb.position)).await.as_deref(),
        Some("second")
    );
    assert_eq!(version(At::Time(pa.recorded_at_ms - 1)).await, None);
    assert_eq!(
        version(At::Time(pa.recorded_at_ms)).await.as_deref(),
        Some("sample-2026-11")
    );
    assert_eq!(
        version(At::Time(pb.recorded_at_ms - 1)).await.as_deref(),
        Some("sample-2026-11")
    );
    assert_eq!(
        version(At::Time(pb.recorded_at_ms)).await.as_deref(),
        Some("second")
    );
    assert_eq!(version(At::Latest).await.as_deref(), Some("second"));
}

#[tokio::test]
async fn publishing_the_latest_source_again_appends_nothing() {
    let w = world();
    assert!(w
        .store
        .publish_ruleset(SAMPLE)
        .await
        .expect("publish")
        .is_some());
    assert!(w
        .store
        .publish_ruleset(SAMPLE)
        .await
        .expect("again")
        .is_none());
    assert!(w
        .store
        .publish_ruleset(&second())
        .await
        .expect("other")
        .is_some());
    assert!(w
        .store
        .publish_ruleset(SAMPLE)
        .await
        .expect("back")
        .is_some());
    let (version, latest) = latest_published(w.store.log()).await.expect("latest");
    assert_eq!(version, 3);
    assert_eq!(latest.map(|l| l.version).as_deref(), Some("sample-2026-11"));
}

#[tokio::test]
async fn a_rule_set_that_does_not_load_leaves_the_one_before_in_force() {
    let w = world();
    w.store.publish_ruleset(SAMPLE).await.expect("publish");
    let broken = aduan_domain::RuleSetEvent::Published(v1::RuleSetPublished {
        version: "broken".into(),
        source: "version = ".into(),
        source_hash: String::new(),
    });
    let e = NewEvent::new(broken.type_name(), "test", broken.encode());
    w.store
        .log()
        .inner
        .append(RULESET_STREAM, ExpectedVersion::Any, vec![e])
        .await
        .expect("append");
    let rules = w.store.rules_in_force(At::Latest).await.expect("read");
    assert_eq!(
        rules.map(|r| r.version().to_owned()).as_deref(),
        Some("sample-2026-11")
    );
}
