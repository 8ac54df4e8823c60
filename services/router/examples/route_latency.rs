//! Submit → Assignment latency through the router, in process: complaints are
//! appended to a durable sled log at a fixed rate (as intake does) and timed
//! until the router hands their assignment to the in-process sink.
//! `cargo run --release -p aduan-router --example route_latency -- [rate/s] [seconds] [fsync:0|1]`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aduan_complaints::publish_ruleset;
use aduan_domain::{ComplaintEvent, ComplaintId, SystemClock, TrackingNo};
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use aduan_router::{run, LocalSink, RouterConfig};

const SAMPLE: &str = include_str!("../../../deploy/rules/sample.toml");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (rate, secs, fsync) = (
        *args.first().unwrap_or(&5000),
        *args.get(1).unwrap_or(&5),
        args.get(2).is_none_or(|f| *f == 1),
    );
    let dir = tempfile::tempdir()?;
    let mut opts = SledOptions::new(dir.path().join("log"));
    opts.fsync = fsync;
    let log = SledLog::open(opts)?;
    let views = aduan_kv_redb::open(&dir.path().join("views"))?;
    publish_ruleset(&log, SAMPLE).await?;
    let sink = LocalSink::new(1 << 16);
    let mut rx = sink.subscribe();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let config = RouterConfig::new(Arc::new(SystemClock));
    let (l, v) = (log.clone(), views.clone());
    let router = tokio::spawn(async move { run(l, &v, sink, config, stop_rx).await });

    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let total = rate * secs;
    let producer = {
        let (log, sent) = (log.clone(), sent.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..total {
                tick.tick().await;
                let (log, sent) = (log.clone(), sent.clone());
                tasks.spawn(async move { submit(&log, &sent, i).await });
            }
            while tasks.join_next().await.is_some() {}
        })
    };
    let mut latencies = Vec::with_capacity(total as usize);
    let deadline = Instant::now() + Duration::from_secs(secs * 4 + 30);
    while (latencies.len() as u64) < total && Instant::now() < deadline {
        let Ok(Ok((_, a))) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await else {
            break;
        };
        let start = sent.lock().map_err(|_| "lock")?.remove(&a.complaint_id);
        if let Some(t) = start {
            latencies.push(t.elapsed());
        }
    }
    producer.await?;
    stop_tx.send(true)?;
    router.await??;
    latencies.sort();
    let q = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
    };
    println!(
        "rate {rate}/s for {secs} s, fsync {fsync}: {} of {total} assigned; p50 {:?} p99 {:?} max {:?}",
        latencies.len(),
        q(0.50),
        q(0.99),
        latencies.last()
    );
    Ok(())
}

async fn submit(log: &SledLog, sent: &Mutex<HashMap<String, Instant>>, i: u64) {
    let id = ComplaintId::new();
    let e: ComplaintEvent = v1::ComplaintReceived {
        complaint_id: id.to_string(),
        tracking_no: TrackingNo::random().as_str().to_owned(),
        channel: "sms".into(),
        channel_ref: i.to_string(),
        kind: "complaint".into(),
        body: "Antrean di puskesmas sangat lama dan obat sering kosong".into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .into();
    if let Ok(mut m) = sent.lock() {
        m.insert(id.to_string(), Instant::now());
    }
    let new = NewEvent::new(e.type_name(), "bench", e.encode());
    let _ = log
        .append(&id.stream(), ExpectedVersion::NoStream, vec![new])
        .await;
}
