//! Model-based tests: random but valid lifecycles (every event comes from
//! `Complaint::decide`) appended to a real log, projected live in random
//! pages with simulated crashes, must equal a rebuild from scratch byte for
//! byte, and agree with the domain's own fold on status and owner.

use std::path::Path;

use aduan_domain::{
    reporter_token, Command, Complaint, ComplaintEvent, ComplaintId, Deadlines, OrgCode,
    RejectReason, RouteReason, RuleSetEvent, TrackingNo, RULESET_STREAM,
};
use aduan_kv::Db;
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::{Duration, OffsetDateTime};

use crate::rules_tests::publication;
use crate::tests::{received, SAMPLE};
use crate::{page, Projections};

const ORGS: [&str; 4] = [
    "kab-pati-dinkes",
    "kab-pati-pupr",
    "kab-blora-dinkes",
    "kab-pati",
];

pub(crate) struct Sim {
    pub(crate) log: SledLog,
    rng: StdRng,
    now: OffsetDateTime,
    complaints: Vec<(Complaint, aduan_domain::ReporterToken)>,
}

impl Sim {
    /// A log that starts with the sample rule set published.
    pub(crate) async fn new(dir: &Path, seed: u64) -> Self {
        let mut opts = SledOptions::new(dir.join("log"));
        opts.fsync = false;
        let sim = Self {
            log: SledLog::open(opts).expect("log"),
            rng: StdRng::seed_from_u64(seed),
            now: OffsetDateTime::from_unix_timestamp(1_793_577_600).expect("time"),
            complaints: Vec::new(),
        };
        sim.publish(SAMPLE).await;
        sim
    }

    /// Appends a `RuleSetPublished` of `source`.
    pub(crate) async fn publish(&self, source: &str) {
        let e = RuleSetEvent::Published(publication(source));
        let version = self
            .log
            .read_stream(RULESET_STREAM, 1)
            .await
            .expect("read")
            .len() as u64;
        let expected = match version {
            0 => ExpectedVersion::NoStream,
            v => ExpectedVersion::Exact(v),
        };
        let new = NewEvent::new(e.type_name(), "test", e.encode());
        self.log
            .append(RULESET_STREAM, expected, vec![new])
            .await
            .expect("publish");
    }

    async fn submit(&mut self) {
        let id = ComplaintId::new();
        let t = TrackingNo::random();
        let (token, hash) = reporter_token::generate();
        let cat = ["kesehatan", "jalan", ""][self.rng.random_range(0..3)];
        let ch = ["web", "sms", "twitter"][self.rng.random_range(0..3)];
        let at = aduan_domain::calendar::unix_ms(self.now);
        let mut r = received(&id.to_string(), t.as_str(), ch, cat, at);
        r.reporter_token_hash = hash;
        let first = ComplaintEvent::Received(r);
        self.append(&id, 0, vec![first.clone()]).await;
        let c = Complaint::fold([&first]).expect("received folds");
        self.complaints.push((c, token));
    }

    fn command(&mut self, c: &Complaint, token: &aduan_domain::ReporterToken) -> Command {
        let org = match (&c.owner, self.rng.random_bool(0.9)) {
            (Some(o), true) => o.clone(),
            _ => OrgCode::parse(ORGS[self.rng.random_range(0..ORGS.len())]).expect("org"),
        };
        let due = |days: i64| aduan_domain::calendar::unix_ms(self.now + Duration::days(days));
        let review = self.rng.random_bool(0.5);
        let draft_id = c.drafts.keys().next().cloned().unwrap_or_default();
        match self.rng.random_range(0..15) {
            0 | 1 => Command::Route {
                org,
                rule_id: String::new(),
                ruleset_version: "v".into(),
                reason: RouteReason::Rule,
                due: Deadlines {
                    acknowledge_ms: due(1),
                    follow_up_ms: due(2),
                    resolve_ms: due(3),
                },
                category: "kesehatan".into(),
                reason_text: String::new(),
                triage: false,
            },
            2 => Command::Acknowledge { org },
            3 => Command::FollowUp {
                org,
                message: "lanjut".into(),
                public: self.rng.random_bool(0.5),
                review,
            },
            4 => Command::RequestInfo {
                org,
                question: "alamat?".into(),
            },
            5 => Command::ReporterReply {
                token: token.clone(),
                message: "di sini".into(),
            },
            6 | 7 => Command::Resolve {
                org,
                resolution: "beres".into(),
                review,
            },
            8 => Command::GiveFeedback {
                token: token.clone(),
                rating: 4,
                comment: String::new(),
            },
            9 => Command::Reopen {
                token: token.clone(),
                reason: "belum".into(),
            },
            11 => Command::ApproveAnswer {
                org,
                role: aduan_domain::OrgRole::Head,
                draft_id,
            },
            12 => Command::ReturnAnswer {
                org,
                role: aduan_domain::OrgRole::Head,
                draft_id,
                note: "perbaiki".into(),
            },
            13 => Command::ReturnResolution {
                reason: "kurang".into(),
                calendar: aduan_domain::Calendar::new([]),
                follow_up_days: 5,
            },
            10 => Command::DeclineAuthority {
                org,
                reason: "bukan".into(),
                suggested_org: None,
            },
            _ if self.rng.random_bool(0.2) => Command::AdminReject {
                reason_code: RejectReason::Duplicate,
                reason: "sama".into(),
                duplicate_of: self.complaints.first().map(|(c, _)| c.id),
            },
            _ => Command::Close {
                reason: aduan_domain::CloseReason::Feedback,
            },
        }
    }

    async fn step(&mut self) {
        if self.complaints.is_empty() || self.rng.random_bool(0.15) {
            return self.submit().await;
        }
        let i = self.rng.random_range(0..self.complaints.len());
        let (c, token) = self.complaints[i].clone();
        let cmd = self.command(&c, &token);
        self.now += Duration::minutes(self.rng.random_range(1..3000));
        if let Ok(events) = c.decide(cmd, self.now) {
            if events.is_empty() {
                return;
            }
            self.append(&c.id, c.version, events.clone()).await;
            self.complaints[i].0.apply_all(&events);
        }
    }

    async fn append(&self, id: &ComplaintId, version: u64, events: Vec<ComplaintEvent>) {
        let new = events
            .iter()
            .map(|e| NewEvent::new(e.type_name(), "test", e.encode()))
            .collect();
        let expected = if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        };
        self.log
            .append(&id.stream(), expected, new)
            .await
            .expect("append");
    }
}

/// Projects the whole log in random pages; sometimes folds part of a page and
/// "crashes" (drops it uncommitted and reopens the database).
async fn project_with_crashes(sim: &mut Sim, db: &Db) {
    let head = *sim.log.head().borrow();
    loop {
        // Reopened every round: the rule set in force comes back from the store.
        let p = Projections::open(db).expect("open");
        if p.checkpoint() >= head {
            return;
        }
        let n = sim.rng.random_range(1..40);
        let events = sim.log.read_all(p.checkpoint() + 1, n).await.expect("read");
        if sim.rng.random_bool(0.25) {
            let tree = db.open_tree(crate::TREE).expect("tree");
            let mut page = page::Page::new(&tree, None, p.rules());
            let mut totals = crate::Totals::default();
            for e in &events[..events.len() / 2] {
                crate::fold::apply(&mut page, &mut totals, e).expect("fold");
            }
            // The "crash": the page is dropped, never committed.
            drop(page);
        } else {
            p.apply(&events).expect("apply");
        }
    }
}

/// Checks one random log; returns the event types it held.
async fn check(seed: u64, steps: usize) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sim = Sim::new(dir.path(), seed).await;
    for _ in 0..steps {
        sim.step().await;
    }
    let live_db = Db::memory();
    project_with_crashes(&mut sim, &live_db).await;
    let live = Projections::open(&live_db).expect("live");
    let fresh_db = Db::memory();
    let rebuilt = crate::rebuild(&sim.log, &fresh_db, None, |_, _| {})
        .await
        .expect("rebuild");
    assert_eq!(
        live.dump().unwrap(),
        rebuilt.dump().unwrap(),
        "seed {seed}: live differs from rebuild"
    );
    // Pages of a few events: most pages then fold over the one still being
    // written, which the reads must see.
    let how = crate::Rebuild {
        page: 3,
        held: true,
        tracking_held: 2,
    };
    let small_pages = Projections::rebuild_paged(&Db::memory(), &sim.log, None, how, |_, _| {})
        .await
        .expect("rebuild in small pages");
    assert_eq!(
        live.dump().unwrap(),
        small_pages.dump().unwrap(),
        "seed {seed}: live differs from a rebuild in small pages"
    );
    for (c, _) in &sim.complaints {
        let v = live
            .status(&c.tracking_no, 0)
            .unwrap()
            .expect("status view");
        assert_eq!(
            v.status,
            c.status.as_str(),
            "seed {seed}: status of {}",
            c.id
        );
        let owner = c.owner.as_ref().map(|o| o.to_string()).unwrap_or_default();
        assert_eq!(v.org, owner, "seed {seed}: owner of {}", c.id);
    }
    let nasional = OrgCode::national();
    let all = live.recap(&nasional, crate::Window::ALL, 0).unwrap();
    let open = sim
        .complaints
        .iter()
        .filter(|(c, _)| c.status.is_open() && c.owner.is_some())
        .count();
    assert_eq!(all.open as usize, open, "seed {seed}: open complaints");
    let waiting: usize = sim.complaints.iter().map(|(c, _)| c.drafts.len()).sum();
    assert_eq!(
        all.drafts_waiting as usize, waiting,
        "seed {seed}: drafts waiting"
    );

    // The gauges kept as items enter and leave inboxes equal a full scan,
    // with nothing, some and everything overdue.
    let tree = live_db.open_tree(crate::TREE).expect("tree");
    let last = sim.log.read_all(head_of(&sim), 1).await.expect("read")[0].recorded_at_ms;
    for now in [0, last, last + 10 * 86_400_000, i64::MAX / 2] {
        let kept = live.open_per_org(now).unwrap();
        let scanned = crate::query::open_per_org_scanned(&tree, now).unwrap();
        assert_eq!(kept, scanned, "seed {seed}: gauges at {now}");
    }
    let owned: u64 = live.open_per_org(0).unwrap().values().map(|(n, _)| n).sum();
    assert_eq!(owned as usize, open, "seed {seed}: open in the gauges");
    live.totals().unwrap().events.into_keys().collect()
}

fn head_of(sim: &Sim) -> u64 {
    *sim.log.head().borrow()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_lifecycles_projected_live_equal_a_rebuild() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..6 {
        seen.extend(check(seed, 400).await);
    }
    for review in [
        "AnswerDrafted",
        "AnswerApproved",
        "AnswerReturned",
        "ResolutionReturned",
    ] {
        assert!(seen.contains(review), "never reached {review}: {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_until_stops_at_the_time_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sim = Sim::new(dir.path(), 99).await;
    for _ in 0..50 {
        sim.step().await;
    }
    let events = sim.log.read_all(1, 10_000).await.unwrap();
    let cut = events[events.len() / 2].recorded_at_ms;
    let db = Db::memory();
    let p = crate::rebuild(&sim.log, &db, Some(cut), |_, _| {})
        .await
        .unwrap();
    let expected = events
        .iter()
        .filter(|e| e.recorded_at_ms <= cut && e.stream_id != RULESET_STREAM)
        .count() as u64;
    let applied: u64 = p.totals().unwrap().events.values().sum();
    assert_eq!(applied, expected);
    assert!(
        p.rules().is_some(),
        "the sample published first is in force"
    );
}

/// A rebuild holds tracking numbers back and marks the format last, so one
/// cut short leaves models that the next open drops (here: every page
/// written before the last is such a cut).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_cut_short_is_dropped_at_the_next_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sim = Sim::new(dir.path(), 5).await;
    for _ in 0..200 {
        sim.step().await;
    }
    let head = head_of(&sim);
    let db = Db::memory();
    let tree = || db.open_tree(crate::TREE).expect("tree");
    let mut cuts = 0;
    let how = crate::Rebuild {
        page: 7,
        held: false,
        tracking_held: 1_000,
    };
    let rebuilt = Projections::rebuild_paged(&db, &sim.log, None, how, |done, _| {
        if done > 0 && done < head {
            cuts += 1;
            assert!(tree().get(crate::keys::CHECKPOINT).unwrap().is_some());
            assert!(
                !crate::in_current_format(&tree()).unwrap(),
                "at {done} of {head}: a cut here would be kept"
            );
        }
    })
    .await
    .expect("rebuild");
    assert!(cuts > 3, "{cuts} pages before the last");
    assert!(crate::in_current_format(&tree()).unwrap());
    let t = &sim.complaints[0].0.tracking_no;
    assert!(
        rebuilt.status(t, 0).unwrap().is_some(),
        "tracking numbers written"
    );
}

/// Times a rebuild of a random log (`cargo test -p aduan-projections -- --ignored rebuild_timing --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, not a check"]
async fn rebuild_timing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sim = Sim::new(dir.path(), 7).await;
    for _ in 0..30_000 {
        sim.step().await;
    }
    let head = *sim.log.head().borrow();
    for run in 0..3 {
        let db = aduan_kv_redb::open(&dir.path().join(format!("t{run}"))).expect("views");
        let started = std::time::Instant::now();
        crate::rebuild(&sim.log, &db, None, |_, _| {})
            .await
            .expect("rebuild");
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "rebuild of {head} events: {secs:.2} s ({:.0} events/s)",
            head as f64 / secs
        );
    }
}
