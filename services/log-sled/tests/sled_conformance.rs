//! The conformance suite, run against the sled backend, and export/import
//! between sled and the in-memory reference backend.

use aduan_log::conformance::Backend;
use aduan_log::memory::MemoryLog;
use aduan_log::{verify, EventLog, ExpectedVersion, NewEvent, RecordedEvent};
use aduan_log_sled::{SledLog, SledOptions};

/// Logs in temporary directories, removed when the backend is dropped.
#[derive(Default)]
struct Sled {
    dirs: Vec<tempfile::TempDir>,
}

impl Backend for Sled {
    type Log = SledLog;

    async fn create(&mut self) -> SledLog {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = SledLog::open(SledOptions::new(dir.path().join("log"))).expect("open");
        self.dirs.push(dir);
        log
    }

    async fn reopen(&mut self, log: SledLog) -> SledLog {
        let path = log.path().to_owned();
        log.close();
        drop(log);
        SledLog::open(SledOptions::new(path)).expect("reopen")
    }
}

aduan_log::conformance_tests!(Sled::default());

async fn read_everything<L: EventLog>(log: &L) -> Vec<RecordedEvent> {
    log.read_all(1, 10_000).await.expect("read")
}

/// The same records, hashes and head hash after sled → memory → sled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_between_sled_and_memory_keeps_every_position_and_hash() {
    let mut backend = Sled::default();
    let sled = backend.create().await;
    for i in 0..200 {
        let e = NewEvent::new("Moved", "test", format!("{i}").into_bytes());
        sled.append(&format!("m{}", i % 9), ExpectedVersion::Any, vec![e])
            .await
            .expect("append");
    }
    let original = read_everything(&sled).await;
    let memory = MemoryLog::new();
    memory.import(original.clone()).await.expect("into memory");
    assert_eq!(read_everything(&memory).await, original);
    let back = backend.create().await;
    back.import(read_everything(&memory).await)
        .await
        .expect("back into sled");
    assert_eq!(read_everything(&back).await, original);
    let a = verify(&sled, 1, None, &mut |_| {}).await.expect("verify");
    let b = verify(&memory, 1, None, &mut |_| {}).await.expect("verify");
    let c = verify(&back, 1, None, &mut |_| {}).await.expect("verify");
    assert_eq!((&a, &a), (&b, &c));
}
