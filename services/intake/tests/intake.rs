//! Intake over a real embedded log: dedupe (also concurrent, across restarts and
//! across intake instances on one log), the reporter token a retry gets back,
//! privacy, and that a refused submission appends nothing.

use aduan_domain::ComplaintEvent;
use aduan_intake::{Intake, IntakeError, ReporterKey};
use aduan_kv::Db;
use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::{v1, ErrorCode};

#[path = "intake/dedupe.rs"]
mod dedupe;

pub(crate) struct World {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    /// The reporter key, kept across restarts as its file would be.
    key: ReporterKey,
}

impl World {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_owned();
        Self {
            _dir: dir,
            path,
            key: ReporterKey::random(),
        }
    }
    /// The log, and intake over it with a fresh (empty) index.
    pub(crate) async fn open(&self) -> (SledLog, Db, Intake<SledLog>) {
        let log = SledLog::open(SledOptions::new(self.path.join("log"))).expect("log");
        let (views, intake) = self.intake(&log).await;
        (log, views, intake)
    }
    /// Another intake over `log`, with an index of its own.
    pub(crate) async fn intake(&self, log: &SledLog) -> (Db, Intake<SledLog>) {
        let views = Db::memory();
        let tree = views.open_tree("intake").expect("tree");
        let intake = Intake::open(log.clone(), tree, self.key.clone())
            .await
            .expect("intake");
        (views, intake)
    }
}

/// How many `ComplaintReceived` events the log holds, per channel reference.
pub(crate) async fn received(log: &SledLog) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for e in log.read_all(1, 1_000_000).await.expect("read") {
        if let Ok(ComplaintEvent::Received(r)) =
            ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload)
        {
            *counts.entry(r.channel_ref).or_default() += 1;
        }
    }
    counts
}

pub(crate) fn sms(reference: &str) -> v1::SubmitComplaint {
    v1::SubmitComplaint {
        channel: "sms".into(),
        channel_ref: reference.into(),
        body: "Obat di puskesmas Juwana habis sejak minggu lalu".into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_resubmission_returns_the_first_ack_and_appends_nothing() {
    let world = World::new();
    let (log, _views, intake) = world.open().await;
    let first = intake.submit(sms("m-1")).await.expect("first");
    assert!(!first.duplicate && !first.reporter_token.is_empty());
    let again = intake.submit(sms("m-1")).await.expect("again");
    assert!(again.duplicate);
    assert_eq!(
        (again.complaint_id.as_str(), again.tracking_no.as_str()),
        (first.complaint_id.as_str(), first.tracking_no.as_str())
    );
    assert_eq!(*log.head().borrow(), 1);
    // Same reference on another channel is another complaint.
    let other = intake
        .submit(v1::SubmitComplaint {
            channel: "web".into(),
            ..sms("m-1")
        })
        .await;
    assert!(!other.expect("web").duplicate);
    assert_eq!(*log.head().borrow(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_create_one_complaint() {
    let world = World::new();
    let (log, _views, intake) = world.open().await;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let intake = intake.clone();
            tokio::spawn(async move { intake.submit(sms(&format!("dup-{}", i % 4))).await })
        })
        .collect();
    let mut acks = Vec::new();
    for t in tasks {
        acks.push(t.await.expect("task").expect("submit"));
    }
    assert_eq!(acks.iter().filter(|a| !a.duplicate).count(), 4);
    assert_eq!(*log.head().borrow(), 4);
    let ids: std::collections::HashSet<_> = acks.iter().map(|a| a.complaint_id.clone()).collect();
    assert_eq!(ids.len(), 4);
}

#[tokio::test]
async fn duplicates_are_recognised_after_a_restart_without_the_index() {
    let world = World::new();
    let first = {
        let (log, _views, intake) = world.open().await;
        let a = intake.submit(sms("r-1")).await.expect("submit");
        // The restart below opens an empty index: dedupe must not need it.
        drop(intake);
        log.close();
        a
    };
    let (log, _views, intake) = world.open().await;
    let again = intake.submit(sms("r-1")).await.expect("resubmit");
    assert!(again.duplicate);
    assert_eq!(again.complaint_id, first.complaint_id);
    assert_eq!(again.reporter_token, first.reporter_token);
    assert_eq!(*log.head().borrow(), 1);
    let t = aduan_domain::TrackingNo::parse(&first.tracking_no).expect("tracking");
    assert!(intake.index().complaint_of(&t).expect("lookup").is_some());
}

#[tokio::test]
async fn refused_submissions_append_nothing() {
    let world = World::new();
    let (log, _views, intake) = world.open().await;
    for (bad, code) in [
        (
            v1::SubmitComplaint {
                body: " ".into(),
                ..sms("b")
            },
            ErrorCode::InvalidArgument,
        ),
        (
            v1::SubmitComplaint {
                kind: "gripe".into(),
                ..sms("b")
            },
            ErrorCode::InvalidArgument,
        ),
        (
            v1::SubmitComplaint {
                channel: "S M S".into(),
                ..sms("b")
            },
            ErrorCode::InvalidArgument,
        ),
    ] {
        let err = intake.submit(bad).await.expect_err("refused");
        assert!(matches!(err, IntakeError::Invalid { .. }));
        assert_eq!(err.code(), code);
    }
    assert_eq!(*log.head().borrow(), 0);
}

#[tokio::test]
async fn anonymous_identity_never_reaches_the_log() {
    let world = World::new();
    let (log, _views, intake) = world.open().await;
    let mut req = sms("anon");
    req.reporter = Some(v1::Reporter {
        name: "Rahasia Sekali".into(),
        phone: "081299990000".into(),
        email: "anon@example.id".into(),
        privacy: "anonymous".into(),
    });
    let ack = intake.submit(req).await.expect("submit");
    assert!(ack.identity_dropped);
    let stored = log.read_all(1, 1).await.expect("read");
    let raw = String::from_utf8_lossy(&stored[0].payload).to_string();
    for secret in ["Rahasia Sekali", "081299990000", "anon@example.id"] {
        assert!(!raw.contains(secret), "{secret} was stored");
    }
    let e = ComplaintEvent::decode(&stored[0].event_type, 1, &stored[0].payload).expect("decode");
    assert!(matches!(e, ComplaintEvent::Received(r) if r.reporter.is_none()));
}
