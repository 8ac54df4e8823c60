//! Details of the in-memory reference log and the shared subscription that
//! no conformance check pinned: a subscription's position as it reads, the
//! time recorded on an append, and an import of a single record. Each written
//! for a mutant `cargo mutants -p aduan-log` found alive.

use aduan_log::memory::MemoryLog;
use aduan_log::EventLog;

mod common;
use common::log_of;

#[tokio::test]
async fn a_subscription_knows_the_position_it_yields_next() {
    let log = log_of(10, 1).await;
    let mut sub = log.subscribe(3);
    assert_eq!(sub.position(), 3);
    assert_eq!(sub.next().await.expect("event").position, 3);
    assert_eq!(
        sub.position(),
        4,
        "with the rest of the page still buffered"
    );
    assert_eq!(sub.next().await.expect("event").position, 4);
    assert_eq!(sub.position(), 5);
}

#[tokio::test]
async fn an_append_records_the_time_it_was_made() {
    let log = log_of(1, 1).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let recorded = log.read_all(1, 1).await.expect("read")[0].recorded_at_ms;
    assert!((now - recorded).abs() < 60_000, "{recorded} vs {now}");
}

#[tokio::test]
async fn a_single_record_imports() {
    let one = log_of(1, 1).await.read_all(1, 1).await.expect("read");
    let copy = MemoryLog::new();
    let appended = copy.import(one.clone()).await.expect("import one");
    assert_eq!((appended.first_position, appended.last_position), (1, 1));
    assert_eq!(copy.read_all(1, 1).await.expect("read"), one);
}
