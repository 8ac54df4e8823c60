//! An anchored head hash catches what `verify` alone cannot: a log cut short
//! after the anchor was taken, and a history rewritten and re-hashed from some
//! point on. Both logs below verify as intact chains; only the anchor tells.

use aduan_log::memory::MemoryLog;
use aduan_log::{position_of_hash, record, verify, EventLog, RecordedEvent};

mod common;
use common::log_of;

async fn imported(records: Vec<RecordedEvent>) -> MemoryLog {
    let log = MemoryLog::new();
    log.import(records).await.expect("import");
    log
}

#[tokio::test]
async fn the_anchor_is_found_in_the_log_it_was_taken_from() {
    let log = log_of(10, 3).await;
    let head = verify(&log, 1, None, &mut |_| {})
        .await
        .expect("intact")
        .head_hash;
    assert_eq!(
        position_of_hash(&log, &head).await.expect("search"),
        Some(10)
    );
    let fifth = log.read_all(5, 1).await.expect("read")[0].hash;
    assert_eq!(
        position_of_hash(&log, &fifth).await.expect("search"),
        Some(5)
    );
}

#[tokio::test]
async fn a_log_cut_short_verifies_but_loses_the_anchor() {
    let log = log_of(10, 3).await;
    let anchor = verify(&log, 1, None, &mut |_| {})
        .await
        .expect("intact")
        .head_hash;
    let mut records = log.read_all(1, 100).await.expect("read");
    records.truncate(8);
    let cut = imported(records).await;
    verify(&cut, 1, None, &mut |_| {})
        .await
        .expect("a shorter chain is intact");
    assert_eq!(position_of_hash(&cut, &anchor).await.expect("search"), None);
}

#[tokio::test]
async fn a_rewritten_and_rehashed_history_verifies_but_loses_the_anchor() {
    let log = log_of(10, 3).await;
    let anchor = verify(&log, 1, None, &mut |_| {})
        .await
        .expect("intact")
        .head_hash;
    let mut records = log.read_all(1, 100).await.expect("read");
    records[3].payload = b"rewritten history".to_vec();
    let mut prev = records[2].hash;
    for r in &mut records[3..] {
        r.prev_hash = prev;
        r.hash = record::encode(r).1;
        prev = r.hash;
    }
    let forged = imported(records).await;
    verify(&forged, 1, None, &mut |_| {})
        .await
        .expect("a re-hashed chain is intact");
    assert_eq!(
        position_of_hash(&forged, &anchor).await.expect("search"),
        None
    );
}
