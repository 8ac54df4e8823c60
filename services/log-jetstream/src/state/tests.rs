//! Applying records: each position once, in order, on the chain.

use aduan_log::record::{self, GENESIS};
use aduan_log::{LogError, RecordedEvent};
use bytes::Bytes;

use super::{Applied, Shared};

/// The records of stream `s` at positions 1..=n, chained from genesis.
fn chain(n: u64) -> Vec<Bytes> {
    let mut prev = GENESIS;
    (1..=n)
        .map(|p| {
            let e = RecordedEvent {
                stream_id: "s".into(),
                stream_version: p,
                position: p,
                event_type: "T".into(),
                payload: vec![p as u8],
                prev_hash: prev,
                ..RecordedEvent::default()
            };
            let (bytes, hash) = record::encode(&e);
            prev = hash;
            Bytes::from(bytes)
        })
        .collect()
}

#[test]
fn each_position_is_applied_once_and_in_order() {
    let shared = Shared::new(1 << 20);
    let recs = chain(3);
    assert_eq!(shared.apply(2, &recs[1]).expect("gap"), Applied::Gap);
    assert_eq!(shared.lock().head, 0, "nothing applied past a gap");
    assert_eq!(shared.apply(1, &recs[0]).expect("1"), Applied::Now);
    assert_eq!(shared.apply(1, &recs[0]).expect("again"), Applied::Already);
    assert_eq!(shared.apply(2, &recs[1]).expect("2"), Applied::Now);
    assert_eq!(*shared.subscribe().borrow(), 2);
    assert_eq!(shared.lock().version("s"), 2);
    assert_eq!(shared.lock().cached(2), Some(recs[1].clone()));
}

#[test]
fn a_record_off_the_chain_breaks_the_log_for_good() {
    let shared = Shared::new(1 << 20);
    let recs = chain(3);
    shared.apply(1, &recs[0]).expect("1");
    // Record 3 stored at sequence 2: it claims another position.
    let r = shared.apply(2, &recs[2]);
    assert!(
        matches!(r, Err(LogError::Corrupt { position: 2, .. })),
        "{r:?}"
    );
    let r = shared.apply(2, &recs[1]);
    assert!(
        matches!(r, Err(LogError::Corrupt { position: 2, .. })),
        "{r:?}"
    );
    assert_eq!(shared.lock().head, 1);
    assert!(shared.lock().check_intact().is_err());

    // A record whose previous hash is not the head's.
    let other = Shared::new(1 << 20);
    let forked = chain(2);
    let mut unchained = chain(1);
    unchained.extend(forked.into_iter().skip(1).map(|b| {
        let mut e = record::decode(2, &b).expect("decode");
        e.prev_hash = [9; 32];
        Bytes::from(record::encode(&e).0)
    }));
    other.apply(1, &unchained[0]).expect("1");
    let r = other.apply(2, &unchained[1]);
    assert!(
        matches!(r, Err(LogError::Corrupt { position: 2, .. })),
        "{r:?}"
    );
}

#[test]
fn the_cache_keeps_the_newest_records_within_its_budget() {
    let recs = chain(10);
    let shared = Shared::new(recs[0].len() * 3);
    for (p, r) in (1..).zip(&recs) {
        shared.apply(p, r).expect("apply");
    }
    let state = shared.lock();
    assert_eq!(state.recent.len(), 3);
    assert_eq!(state.cached(10), Some(recs[9].clone()));
    assert_eq!(state.cached(8), Some(recs[7].clone()));
    assert_eq!(state.cached(7), None);
    assert_eq!(state.cached(11), None);
}
