//! A log whose last record is damaged: it refuses to open for appends, opens
//! read-only for salvage (verify names the damage, reads reach the last good
//! record), and an explicit truncation makes it whole again.

use aduan_log::{verify, EventLog, ExpectedVersion, LogError, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};

/// 10 single-event commits, then one commit of 10 events (one segment), then
/// the byte near the end of the last record (position 20) flipped.
async fn damaged_at_the_end(dir: &std::path::Path) {
    let log = SledLog::open(SledOptions::new(dir)).expect("open");
    for i in 0..10 {
        let e = NewEvent::new("One", "test", format!("event {i}").into_bytes());
        log.append(&format!("s{}", i % 3), ExpectedVersion::Any, vec![e])
            .await
            .expect("append");
    }
    let group = (0..10)
        .map(|i| NewEvent::new("Group", "test", vec![i; 100]))
        .collect();
    log.append("g", ExpectedVersion::NoStream, group)
        .await
        .expect("append");
    let mut raw = log.raw_record(20).expect("raw").expect("20");
    let at = raw.len() - 3;
    raw[at] ^= 0x01;
    log.tamper(20, Some(&raw)).expect("tamper");
    log.close();
}

fn corrupt_at<T: std::fmt::Debug>(r: Result<T, LogError>) -> u64 {
    match r {
        Err(LogError::Corrupt { position, .. }) => position,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bad_last_record_is_salvaged_read_only_and_cut_only_on_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    damaged_at_the_end(dir.path()).await;
    assert_eq!(corrupt_at(SledLog::open(SledOptions::new(dir.path()))), 20);

    let log = SledLog::open_for_salvage(SledOptions::new(dir.path())).expect("salvage");
    assert_eq!(*log.head().borrow(), 20);
    assert_eq!(corrupt_at(verify(&log, 1, None, &mut |_| {}).await), 20);
    let good = verify(&log, 1, Some(19), &mut |_| {})
        .await
        .expect("up to 19");
    assert_eq!(log.read_all(1, 19).await.expect("read").len(), 19);
    assert_eq!(log.read_stream("s1", 1).await.expect("s1").len(), 3);
    let e = NewEvent::new("No", "test", vec![]);
    let r = log.append("s", ExpectedVersion::Any, vec![e]).await;
    assert!(matches!(r, Err(LogError::Closed)), "{r:?}");
    // Keeping the head cuts nothing.
    assert_eq!(log.truncate_after(20).expect("nothing to cut"), 0);
    assert_eq!(log.truncate_after(19).expect("cut"), 1);
    log.close();
    drop(log);

    let log = SledLog::open(SledOptions::new(dir.path())).expect("opens after the cut");
    assert_eq!(*log.head().borrow(), 19);
    assert_eq!(
        verify(&log, 1, None, &mut |_| {}).await.expect("verify"),
        good
    );
    let e = NewEvent::new("After", "test", vec![]);
    let a = log
        .append("g", ExpectedVersion::Exact(9), vec![e])
        .await
        .expect("appends continue");
    assert_eq!((a.first_position, a.stream_version), (20, 10));
    let report = verify(&log, 1, None, &mut |_| {}).await.expect("chain");
    assert_eq!(report.last_position, 20);
}

#[tokio::test]
async fn truncation_across_segments_and_only_on_a_log_without_a_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    damaged_at_the_end(dir.path()).await;
    let log = SledLog::open_for_salvage(SledOptions::new(dir.path())).expect("salvage");
    let expected = verify(&log, 1, Some(7), &mut |_| {}).await.expect("1..7");
    // Positions 8, 9, 10 are segments of their own; 11..20 one segment.
    assert_eq!(log.truncate_after(7).expect("cut"), 13);
    log.close();
    drop(log);
    let log = SledLog::open(SledOptions::new(dir.path())).expect("open");
    assert_eq!(
        verify(&log, 1, None, &mut |_| {}).await.expect("v"),
        expected
    );
    assert_eq!(log.read_stream("g", 1).await.expect("g").len(), 0);
    let r = log.truncate_after(3);
    assert!(matches!(r, Err(LogError::Invalid(_))), "{r:?}");
    assert_eq!(*log.head().borrow(), 7);
}
