//! The rule set in force comes from the log: two publications with
//! complaints between them, folded live across pages, reopened, and rebuilt,
//! each showing what the rules in force at the time say; and read models
//! with no publication at all.

use aduan_domain::{ComplaintEvent, OrgCode, RuleSetEvent, TrackingNo, RULESET_STREAM};
use aduan_kv::Db;
use aduan_log::{EventLog, ExpectedVersion, NewEvent, RecordedEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;

use crate::model_tests::Sim;
use crate::tests::{received, Events, SAMPLE};
use crate::{Projections, Window};

impl Events {
    /// A rule set published at `at`.
    pub fn publish(&mut self, source: &str, at: i64) {
        let e = RuleSetEvent::Published(publication(source));
        let position = self.base + self.list.len() as u64 + 1;
        self.list.push(RecordedEvent {
            stream_id: RULESET_STREAM.into(),
            position,
            recorded_at_ms: at,
            event_type: e.type_name().into(),
            schema_version: 1,
            payload: e.encode(),
            ..RecordedEvent::default()
        });
    }
}

/// What `aduan rules publish` records for `source`.
pub(crate) fn publication(source: &str) -> v1::RuleSetPublished {
    let rules = aduan_rules::RuleSet::load(source).expect("rules load");
    v1::RuleSetPublished {
        version: rules.version().to_owned(),
        source: source.to_owned(),
        source_hash: String::new(),
    }
}

const DINKES: &str = "kab-pati-dinkes";
const OLD_NAME: &str = "Dinas Kesehatan Kabupaten Pati";
const NEW_NAME: &str = "Dinkes Pati (nama baru)";
const PATI_ADMIN: &str = "kab-pati-diskominfo";
const NEW_ADMIN: &str = "kab-pati";
/// 2026-11-02, a Monday, 00:00 UTC.
const D0: i64 = 1_793_577_600_000;
const HOUR: i64 = 3_600_000;

/// The sample renamed: Dinkes gets a new name, and the regency itself takes
/// over Pati's triage queue from its Diskominfo.
fn second_rules() -> String {
    let admin = "region = \"33.18\"\nadmin = true\n";
    let regency = "code = \"kab-pati\"\nname = \"Pemerintah Kabupaten Pati\"\n";
    assert!(SAMPLE.contains(admin) && SAMPLE.contains(regency) && SAMPLE.contains(OLD_NAME));
    SAMPLE
        .replace(
            "version = \"sample-2026-11\"",
            "version = \"sample-2026-12\"",
        )
        .replace(OLD_NAME, NEW_NAME)
        .replacen(admin, "region = \"33.18\"\n", 1)
        .replacen(regency, &format!("{regency}admin = true\n"), 1)
}

fn org(s: &str) -> OrgCode {
    OrgCode::parse(s).expect("org")
}

async fn append(log: &SledLog, id: &str, version: u64, e: impl Into<ComplaintEvent>) {
    let e: ComplaintEvent = e.into();
    let expected = match version {
        0 => ExpectedVersion::NoStream,
        v => ExpectedVersion::Exact(v),
    };
    let new = NewEvent::new(e.type_name(), "test", e.encode());
    log.append(&format!("complaint-{id}"), expected, vec![new])
        .await
        .expect("append");
}

/// A complaint received and routed to Dinkes at `at`.
async fn routed(log: &SledLog, id: &str, t: &str, at: i64) {
    append(log, id, 0, received(id, t, "web", "kesehatan", at)).await;
    let r = v1::ComplaintRouted {
        org: DINKES.into(),
        hop: 1,
        reason: "rule".into(),
        due_at_ms: at + 240 * HOUR,
        category: "kesehatan".into(),
        at_ms: at,
        ..Default::default()
    };
    append(log, id, 1, r).await;
}

/// A complaint received and rejected as spam before anyone owned it.
async fn spam(log: &SledLog, id: &str, t: &str, at: i64) {
    append(log, id, 0, received(id, t, "sms", "", at)).await;
    let r = v1::ComplaintRejected {
        reason_code: "spam".into(),
        at_ms: at,
        ..Default::default()
    };
    append(log, id, 1, r).await;
}

/// Folds what the log holds past the checkpoint, in pages of `n`.
async fn catch_up(p: &Projections, log: &SledLog, n: usize) {
    loop {
        let page = log.read_all(p.checkpoint() + 1, n).await.expect("read");
        if page.is_empty() {
            return;
        }
        p.apply(&page).expect("apply");
    }
}

fn org_name(p: &Projections, t: &str) -> String {
    let t = TrackingNo::parse(t).expect("tracking no");
    p.status(&t, D0).expect("status").expect("known").org_name
}

fn rejected_by(p: &Projections, o: &str) -> u64 {
    p.recap(&org(o), Window::ALL, D0).expect("recap").rejected
}

const C1: &str = "0190a000-0000-7000-8000-0000000000a1";
const C2: &str = "0190a000-0000-7000-8000-0000000000a2";
const C3: &str = "0190a000-0000-7000-8000-0000000000a3";
const C4: &str = "0190a000-0000-7000-8000-0000000000a4";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_in_force_follow_the_log_live_reopened_and_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The sample published first, as `aduan serve` does.
    let sim = Sim::new(dir.path(), 1).await;
    let log = &sim.log;
    routed(log, C1, "AAAAA2222A", D0 + HOUR).await;
    spam(log, C2, "AAAAA2222B", D0 + 2 * HOUR).await;

    let live_db = Db::memory();
    let live = Projections::open(&live_db).expect("open");
    catch_up(&live, log, 2).await;
    assert_eq!(org_name(&live, "AAAAA2222A"), OLD_NAME);
    assert_eq!(rejected_by(&live, PATI_ADMIN), 1, "Pati's triage then");
    let between = *log.head().borrow();

    // Later than anything before it, so a replay can stop in between.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // The second publication and the complaints after it, folded in one page
    // (the rule set takes effect in the middle of it) and in pages of one.
    sim.publish(&second_rules()).await;
    spam(log, C3, "AAAAA2222C", D0 + 3 * HOUR).await;
    routed(log, C4, "AAAAA2222D", D0 + 4 * HOUR).await;
    let one_page = Projections::open(&Db::memory()).expect("open");
    catch_up(&one_page, log, 1000).await;
    catch_up(&live, log, 1).await;

    for p in [&live, &one_page] {
        assert_eq!(org_name(p, "AAAAA2222A"), NEW_NAME, "names in force now");
        assert_eq!(org_name(p, "AAAAA2222D"), NEW_NAME);
        assert_eq!(
            rejected_by(p, PATI_ADMIN),
            1,
            "c2 stays where it was counted"
        );
        // The regency's recap holds its Diskominfo's: c3 at the regency, c2 below.
        assert_eq!(rejected_by(p, NEW_ADMIN), 2, "c3 went to the new triage");
        assert_eq!(p.rules().expect("in force").version(), "sample-2026-12");
    }
    assert_eq!(live.dump().expect("dump"), one_page.dump().expect("dump"));

    // Reopened without being told anything, the read models know the rules.
    let reopened = Projections::open(&live_db).expect("reopen");
    assert_eq!(
        reopened.rules().expect("restored").version(),
        "sample-2026-12"
    );
    assert_eq!(org_name(&reopened, "AAAAA2222A"), NEW_NAME);

    // A rebuild from the log equals the live run, byte for byte.
    let rebuilt = crate::rebuild(log, &Db::memory(), None, |_, _| {})
        .await
        .expect("rebuild");
    assert_eq!(live.dump().expect("dump"), rebuilt.dump().expect("dump"));

    // As of a time between the publications: the first rule set's names.
    let events = log.read_all(1, 100).await.expect("read");
    let cut = events[between as usize - 1].recorded_at_ms;
    assert!(events[between as usize].recorded_at_ms > cut);
    let then = crate::rebuild(log, &Db::memory(), Some(cut), |_, _| {})
        .await
        .expect("rebuild until");
    assert_eq!(then.rules().expect("in force").version(), "sample-2026-11");
    assert_eq!(org_name(&then, "AAAAA2222A"), OLD_NAME);
    assert_eq!(rejected_by(&then, NEW_ADMIN), 1, "c2 only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_any_publication_there_are_no_names_and_no_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SledOptions::new(dir.path().join("log"));
    opts.fsync = false;
    let log = SledLog::open(opts).expect("log");
    let db = Db::memory();
    let p = Projections::open(&db).expect("open with no rules at all");
    assert!(p.rules().is_none());
    routed(&log, C1, "AAAAA2222A", D0 + HOUR).await;
    spam(&log, C2, "AAAAA2222B", D0 + 2 * HOUR).await;
    catch_up(&p, &log, 1000).await;

    let t = TrackingNo::parse("AAAAA2222A").expect("tracking no");
    let v = p.status(&t, D0).expect("status").expect("known");
    assert_eq!((v.org.as_str(), v.org_name.as_str()), (DINKES, ""));
    assert_eq!(rejected_by(&p, "nasional"), 1, "no triage but the root's");
    let recap = p.recap(&org(DINKES), Window::ALL, D0).expect("recap");
    assert_eq!((recap.routed, recap.org_name.as_str()), (1, ""));
    let ranking = p
        .ranking(&org("kab-pati"), Window::ALL, D0)
        .expect("ranking");
    assert!(ranking.entries.is_empty(), "no org tree without a rule set");
    let reopened = Projections::open(&db).expect("reopen");
    assert!(reopened.rules().is_none());
}
