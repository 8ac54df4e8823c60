//! The fault test's client: complaints submitted over `aduan.intake.submit`
//! at a steady rate, each with its own channel_ref, resent unchanged on a
//! timeout or an error until acknowledged (intake dedupes by channel_ref,
//! so a resend is safe), and the figures measured from its record.

use std::time::{Duration, Instant, SystemTime};

use aduan_proto::v1;
use prost::Message;

/// How long one submission is retried before the test gives up on it.
const GIVE_UP_AFTER: Duration = Duration::from_secs(90);

/// One submission's acknowledgement.
pub struct Acked {
    pub ack: v1::SubmitAck,
    /// When it came (monotonic, and wall-clock to compare with JetStream's times).
    pub at: Instant,
    pub wall: SystemTime,
}

/// One submission and what became of it.
pub struct Sent {
    pub channel_ref: String,
    pub first_sent: Instant,
    pub attempts: u32,
    pub ack: Option<Acked>,
}

/// Submits `rate` complaints a second for `duration`, each in a task of its
/// own that retries; returns every submission once each is acked or given up.
pub async fn submit_steadily(nc: async_nats::Client, rate: u64, duration: Duration) -> Vec<Sent> {
    let run = std::process::id();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut i = 0;
    while start.elapsed() < duration {
        tick.tick().await;
        let channel_ref = format!("faults-{run}-{i}");
        i += 1;
        tasks.push(tokio::spawn(submit_until_acked(nc.clone(), channel_ref)));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.push(t.await.expect("a submission task"));
    }
    sent
}

async fn submit_until_acked(nc: async_nats::Client, channel_ref: String) -> Sent {
    let submit = v1::SubmitComplaint {
        channel: "web".into(),
        channel_ref: channel_ref.clone(),
        kind: "complaint".into(),
        title: "Obat kosong".into(),
        body: format!("Obat di puskesmas Juwana habis ({channel_ref})"),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let payload: bytes::Bytes = submit.encode_to_vec().into();
    let first_sent = Instant::now();
    let mut attempts = 0;
    let mut ack = None;
    while ack.is_none() && first_sent.elapsed() < GIVE_UP_AFTER {
        attempts += 1;
        // The client's request timeout (3 s) bounds each attempt.
        let reply = nc.request("aduan.intake.submit", payload.clone()).await;
        let decoded = reply
            .ok()
            .and_then(|m| v1::SubmitReply::decode(m.payload).ok());
        match decoded.and_then(|r| r.result) {
            Some(v1::submit_reply::Result::Ack(a)) => {
                ack = Some(Acked {
                    ack: a,
                    at: Instant::now(),
                    wall: SystemTime::now(),
                });
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    Sent {
        channel_ref,
        first_sent,
        attempts,
        ack,
    }
}

/// The figures of one stretch of the run.
pub struct Window {
    /// The longest span in it with no acknowledgement arriving.
    pub longest_gap: Duration,
    /// The longest first-send-to-ack time of the submissions first sent in it.
    pub longest_latency: Duration,
    /// How many submissions were first sent in it.
    pub submissions: usize,
    /// The most attempts one of them took.
    pub most_attempts: u32,
}

impl Window {
    /// The figures of `[from, to)`.
    pub fn of(sent: &[Sent], from: Instant, to: Instant) -> Self {
        let mut acks: Vec<Instant> = sent
            .iter()
            .filter_map(|s| s.ack.as_ref().map(|a| a.at))
            .filter(|at| *at >= from && *at < to)
            .collect();
        acks.sort();
        let mut longest_gap = Duration::ZERO;
        let mut last = from;
        for at in acks.iter().copied().chain([to]) {
            longest_gap = longest_gap.max(at - last);
            last = at;
        }
        let within: Vec<&Sent> = sent
            .iter()
            .filter(|s| s.first_sent >= from && s.first_sent < to)
            .collect();
        let longest_latency = within
            .iter()
            .filter_map(|s| s.ack.as_ref().map(|a| a.at - s.first_sent))
            .max()
            .unwrap_or_default();
        Self {
            longest_gap,
            longest_latency,
            submissions: within.len(),
            most_attempts: within.iter().map(|s| s.attempts).max().unwrap_or(0),
        }
    }
}
