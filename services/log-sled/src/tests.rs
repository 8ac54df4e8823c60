//! Faults injected into the writer. Failed syncs: a commit or an import
//! whose `fdatasync` fails is undone, or, when the undo fails as well, every
//! later write is refused until the log is reopened, and the reopen removes
//! what the failed commit left on disk. A stalled writer: appends
//! past its queue are refused at once with `Overloaded`.

use std::sync::atomic::Ordering;

use aduan_log::memory::MemoryLog;
use aduan_log::{verify, EventLog, ExpectedVersion, LogError, NewEvent, RecordedEvent};

use crate::{SledLog, SledOptions};

/// An export of 300 events of 600 bytes: several segments when imported.
async fn export() -> Vec<RecordedEvent> {
    let src = MemoryLog::new();
    for i in 0..300 {
        let e = NewEvent::new("Big", "test", vec![i as u8; 600]);
        src.append(&format!("s{}", i % 4), ExpectedVersion::Any, vec![e])
            .await
            .expect("append");
    }
    src.read_all(1, 1000).await.expect("read")
}

fn open(dir: &std::path::Path) -> SledLog {
    SledLog::open(SledOptions::new(dir)).expect("open")
}

fn fail_next_syncs(log: &SledLog, n: u32) {
    log.inner.faults.failing_syncs.store(n, Ordering::SeqCst);
}

/// The next commit is flushed but its sync fails, and its undo fails before it
/// removes anything: the refused commit is on disk.
fn fail_next_commit_and_undo(log: &SledLog) {
    fail_next_syncs(log, 1);
    log.inner.faults.failing_undos.store(1, Ordering::SeqCst);
}

/// Holds `lock` on a thread of its own until the returned sender is dropped.
fn hold(lock: std::sync::Arc<std::sync::Mutex<()>>) -> std::sync::mpsc::Sender<()> {
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let _held = lock.lock().expect("hold");
        let _ = locked.send(());
        let _ = released.recv();
    });
    is_locked.recv().expect("held");
    release
}

fn one() -> Vec<NewEvent> {
    vec![NewEvent::new("After", "test", b"after".to_vec())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_whose_sync_fails_is_undone_and_the_log_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let all = export().await;
    fail_next_syncs(&log, 1);
    let r = log.import(all.clone()).await;
    assert!(matches!(r, Err(LogError::Storage(_))), "{r:?}");
    assert_eq!(*log.head().borrow(), 0);
    let a = log.append("s0", ExpectedVersion::NoStream, one()).await;
    assert_eq!(a.expect("append after the undo").first_position, 1);
    log.close();
    drop(log);

    let log = open(dir.path());
    assert_eq!(
        *log.head().borrow(),
        1,
        "the failed import left records behind"
    );
    verify(&log, 1, None, &mut |_| {}).await.expect("verifies");
    assert_eq!(log.read_stream("s0", 1).await.expect("read").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_that_cannot_be_undone_refuses_every_later_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    let all = export().await;
    fail_next_commit_and_undo(&log);
    let r = log.import(all[..100].to_vec()).await;
    assert!(matches!(r, Err(LogError::Storage(_))), "{r:?}");
    let a = log.append("s0", ExpectedVersion::Any, one()).await;
    assert!(matches!(a, Err(LogError::Storage(_))), "append: {a:?}");
    let i = log.import(all[..100].to_vec()).await;
    assert!(matches!(i, Err(LogError::Storage(_))), "import: {i:?}");
    assert_eq!(*log.head().borrow(), 0);
    log.close();
    drop(log);

    // sled flushed the import before its sync failed: it is on disk. Reopened,
    // the log is cut back to where it was before, and whole.
    let log = open(dir.path());
    assert_eq!(*log.head().borrow(), 0, "the refused import is gone");
    let report = verify(&log, 1, None, &mut |_| {}).await.expect("verifies");
    assert_eq!(report.events, 0);
    let r = log.import(all).await;
    assert_eq!(r.expect("import resumes").last_position, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_commit_that_could_not_be_undone_is_gone_after_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    for s in ["a", "b"] {
        log.append(s, ExpectedVersion::NoStream, one())
            .await
            .expect("acknowledged");
    }
    fail_next_commit_and_undo(&log);
    let r = log.append("c", ExpectedVersion::NoStream, one()).await;
    assert!(matches!(r, Err(LogError::Storage(_))), "{r:?}");
    let r = log.append("d", ExpectedVersion::NoStream, one()).await;
    assert!(matches!(r, Err(LogError::Storage(_))), "poisoned: {r:?}");
    log.close();
    drop(log);

    // Read-only, the log already ends where the next open cuts it.
    let salvage = SledLog::open_for_salvage(SledOptions::new(dir.path())).expect("salvage");
    assert_eq!(*salvage.head().borrow(), 2);
    assert!(salvage.read_stream("c", 1).await.expect("read").is_empty());
    drop(salvage);

    let log = open(dir.path());
    assert_eq!(*log.head().borrow(), 2, "acknowledged kept, refused gone");
    assert!(log.read_stream("c", 1).await.expect("read").is_empty());
    let a = log.append("c", ExpectedVersion::NoStream, one()).await;
    assert_eq!(a.expect("c again").first_position, 3);
    log.close();
    drop(log);
    let log = open(dir.path());
    assert_eq!(*log.head().borrow(), 3, "the cut was done once");
    let report = verify(&log, 1, None, &mut |_| {}).await.expect("verifies");
    assert_eq!(report.events, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fence_naming_records_the_log_lacks_stops_the_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    log.append("a", ExpectedVersion::NoStream, one())
        .await
        .expect("acknowledged");
    let hash = log.read_all(1, 1).await.expect("read")[0].hash;
    log.close();
    drop(log);
    crate::fence::Fence::open(dir.path(), true)
        .expect("fence")
        .set((2, hash))
        .expect("set");
    let e = SledLog::open(SledOptions::new(dir.path())).expect_err("refused");
    assert!(
        matches!(&e, LogError::Corrupt { position: 2, reason } if reason.contains("fence")),
        "{e}"
    );
    // Removing the fence opens the log as it is.
    std::fs::remove_file(dir.path().join(crate::fence::FILE)).expect("remove");
    assert_eq!(*open(dir.path()).head().borrow(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_sync_fails_answers_every_appender_in_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    log.append("a", ExpectedVersion::NoStream, one())
        .await
        .expect("first");
    fail_next_syncs(&log, 1);
    let r = log.append("a", ExpectedVersion::Exact(1), one()).await;
    assert!(matches!(r, Err(LogError::Storage(_))), "{r:?}");
    let r = log.append("a", ExpectedVersion::Exact(1), one()).await;
    assert_eq!(r.expect("after the undo").first_position, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_past_the_queue_are_refused_at_once_and_nothing_of_them_is_stored() {
    let dir = tempfile::tempdir().expect("dir");
    let mut opts = SledOptions::new(dir.path());
    opts.queue = 2;
    let log = SledLog::open(opts).expect("open");
    let stall = hold(log.inner.faults.stall.clone());
    // The writer takes a first append and stalls in its commit; then the
    // queue holds two more: of five, three are refused.
    let append = |stream: String| {
        let log = log.clone();
        tokio::spawn(async move { log.append(&stream, ExpectedVersion::NoStream, one()).await })
    };
    let first = append("first".into());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let appends: Vec<_> = (0..5).map(|i| append(format!("s-{i}"))).collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(stall);
    first.await.expect("join").expect("the first append");
    let mut stored = 0;
    let mut refused = 0;
    for a in appends {
        match a.await.expect("join") {
            Ok(_) => stored += 1,
            Err(LogError::Overloaded { queued: 2 }) => refused += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(refused, 3, "{refused} refused");
    assert_eq!(*log.head().borrow(), 1 + stored);
    let after = log.append("after", ExpectedVersion::NoStream, one()).await;
    assert!(after.is_ok(), "the queue drains and the log goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_appends_racing_for_one_version_exactly_one_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path());
    for round in 0..20u64 {
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let log = log.clone();
                let expected = ExpectedVersion::Exact(round);
                tokio::spawn(async move { log.append("contested", expected, one()).await })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("join"));
        }
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(
            won,
            1,
            "round {round}: {won} appends won version {}",
            round + 1
        );
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(r, LogError::Conflict { .. }), "{r:?}");
        }
    }
    assert_eq!(*log.head().borrow(), 20);
    assert_eq!(
        log.read_stream("contested", 1).await.expect("read").len(),
        20
    );
}
