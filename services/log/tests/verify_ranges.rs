//! What `verify` reports over a part of the log: the events and streams it
//! checked, the range, the last hash and its progress; an empty range
//! reports nothing. And an anchor past the first page is still found. Each
//! written for a mutant `cargo mutants -p aduan-log` found alive.

use aduan_log::{position_of_hash, verify, EventLog};

mod common;
use common::log_of;

#[tokio::test]
async fn a_range_reports_its_events_streams_last_hash_and_progress() {
    let log = log_of(10, 3).await;
    let mut seen = Vec::new();
    let r = verify(&log, 4, Some(7), &mut |p| seen.push(p))
        .await
        .expect("intact");
    let seventh = log.read_all(7, 1).await.expect("read")[0].hash;
    assert_eq!(
        (r.events, r.streams, r.first_position, r.last_position),
        (4, 3, 4, 7)
    );
    assert_eq!(r.head_hash, seventh);
    assert_eq!(seen.last(), Some(&7), "progress reaches the range's end");

    let whole = verify(&log, 1, None, &mut |_| {}).await.expect("intact");
    let tenth = log.read_all(10, 1).await.expect("read")[0].hash;
    assert_eq!(
        (whole.events, whole.streams, whole.head_hash),
        (10, 3, tenth)
    );
}

#[tokio::test]
async fn an_empty_range_reports_nothing() {
    let log = log_of(10, 3).await;
    let r = verify(&log, 5, Some(4), &mut |_| {}).await.expect("empty");
    assert_eq!(
        (r.events, r.streams, r.first_position, r.last_position),
        (0, 0, 0, 0)
    );
}

#[tokio::test]
async fn an_anchor_past_the_first_page_is_found() {
    let log = log_of(5000, 3).await;
    let late = log.read_all(4500, 1).await.expect("read")[0].hash;
    assert_eq!(
        position_of_hash(&log, &late).await.expect("search"),
        Some(4500)
    );
}
