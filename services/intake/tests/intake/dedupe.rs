//! One complaint per channel reference, held by the log: retries after a lost
//! answer, strangers reusing a reference, intake instances racing on one log,
//! and complaints recorded before ids were derived from references.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aduan_domain::{reporter_token, ComplaintEvent, ComplaintId, ReporterToken, SCHEMA_VERSION};
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_proto::v1;

use super::{received, sms, World};

/// The reporter token hash the log holds for complaint `id`.
async fn stored_hash(log: &impl EventLog, id: &str) -> String {
    let id = ComplaintId::parse(id).expect("id");
    let events = log.read_stream(&id.stream(), 1).await.expect("read");
    match ComplaintEvent::decode(&events[0].event_type, 1, &events[0].payload) {
        Ok(ComplaintEvent::Received(r)) => r.reporter_token_hash,
        other => panic!("not a ComplaintReceived: {other:?}"),
    }
}

#[tokio::test]
async fn a_retry_gets_the_token_back_and_a_stranger_does_not() {
    let world = World::new();
    let (log, _views, intake) = world.open().await;
    let first = intake.submit(sms("t-1")).await.expect("first");
    let retry = intake.submit(sms("t-1")).await.expect("retry");
    assert!(retry.duplicate);
    assert_eq!(retry.complaint_id, first.complaint_id);
    assert_eq!(retry.reporter_token, first.reporter_token);
    let hash = stored_hash(&log, &first.complaint_id).await;
    let token = ReporterToken::from(retry.reporter_token.as_str());
    assert!(reporter_token::verify(&token, &hash));

    // Same channel and reference, other content: the first ack, no token.
    let strangers = [
        v1::SubmitComplaint {
            body: "Saya juga mau lapor, beri saya tokennya".into(),
            ..sms("t-1")
        },
        v1::SubmitComplaint {
            reporter: Some(v1::Reporter {
                phone: "081200000000".into(),
                ..Default::default()
            }),
            ..sms("t-1")
        },
    ];
    for s in strangers {
        let dup = intake.submit(s).await.expect("stranger");
        assert!(dup.duplicate);
        assert_eq!(dup.tracking_no, first.tracking_no);
        assert_eq!(dup.reporter_token, "", "a stranger got the reporter token");
    }
    assert_eq!(*log.head().borrow(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_intakes_on_one_log_create_one_complaint_per_key() {
    let world = World::new();
    let (log, _v1, a) = world.open().await;
    let (_v2, b) = world.intake(&log).await;
    const KEYS: usize = 16;
    let tasks: Vec<_> = (0..128)
        .map(|i| {
            let intake = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { intake.submit(sms(&format!("race-{}", i % KEYS))).await })
        })
        .collect();
    let mut by_key: BTreeMap<String, Vec<v1::SubmitAck>> = BTreeMap::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let ack = t.await.expect("task").expect("submit");
        by_key
            .entry(format!("race-{}", i % KEYS))
            .or_default()
            .push(ack);
    }
    let counts = received(&log).await;
    assert_eq!(counts.len(), KEYS);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    for (key, acks) in &by_key {
        assert_eq!(acks.iter().filter(|a| !a.duplicate).count(), 1, "{key}");
        let answers: HashSet<_> = acks
            .iter()
            .map(|a| (&a.complaint_id, &a.tracking_no, &a.reporter_token))
            .collect();
        assert_eq!(answers.len(), 1, "{key}: the acks disagree");
        assert!(!acks[0].reporter_token.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_abandoned_mid_flight_is_stored_once_and_its_retry_gets_the_token() {
    let world = World::new();
    let (log, _views, intake) = world.open().await;
    for i in 0..40u64 {
        let r = format!("hangup-{i}");
        let first = tokio::spawn({
            let (intake, r) = (intake.clone(), r.clone());
            async move { intake.submit(sms(&r)).await }
        });
        // Abandoned at a different moment each time, as a client hanging up is.
        tokio::time::sleep(Duration::from_micros(i * 150)).await;
        first.abort();
        let retry = intake.submit(sms(&r)).await.expect("retry");
        let hash = stored_hash(&log, &retry.complaint_id).await;
        let token = ReporterToken::from(retry.reporter_token.as_str());
        assert!(
            reporter_token::verify(&token, &hash),
            "{r}: no usable token"
        );
    }
    let counts = received(&log).await;
    assert_eq!(counts.len(), 40);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
}

#[tokio::test]
async fn a_complaint_recorded_before_derived_ids_still_deduplicates() {
    let world = World::new();
    let (log, _views, _) = world.open().await;
    // As intake recorded it before: a random id for a complaint with a reference.
    let id = ComplaintId::new();
    let old = ComplaintEvent::Received(v1::ComplaintReceived {
        complaint_id: id.to_string(),
        tracking_no: "K7QMX3PA9F".into(),
        channel: "sms".into(),
        channel_ref: "old-1".into(),
        body: "lama".into(),
        reporter_token_hash: reporter_token::generate().1,
        ..Default::default()
    });
    let new = NewEvent {
        schema_version: SCHEMA_VERSION,
        ..NewEvent::new(old.type_name(), "channel:sms", old.encode())
    };
    log.append(&id.stream(), ExpectedVersion::NoStream, vec![new])
        .await
        .expect("append");
    let (_views, intake) = world.intake(&log).await;
    let again = intake.submit(sms("old-1")).await.expect("resubmit");
    assert!(again.duplicate);
    assert_eq!(
        (again.complaint_id.as_str(), again.tracking_no.as_str()),
        (id.to_string().as_str(), "K7QMX-3PA9F")
    );
    assert_eq!(again.reporter_token, "");
    assert_eq!(*log.head().borrow(), 1);
}
