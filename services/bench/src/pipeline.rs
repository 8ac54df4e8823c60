//! The whole pipeline over NATS: a complaint submitted on `aduan.intake.submit`
//! (protobuf request-reply) until its `Assignment` is received by an OPD
//! consumer on the JetStream stream `ADUAN_OPD`. Intake and router run in this
//! process over a fresh durable sled log; the nats-server is started by the
//! benchmark. Submissions go out at a fixed rate, each from its own task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aduan_bus::Subjects;
use aduan_domain::SystemClock;
use aduan_intake::Intake;
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use aduan_router::{JetStreamSink, RouterConfig};
use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use prost::Message;

use crate::jetstream::Server;
use crate::{Recorder, Stats};

const SAMPLE_RULES: &str = include_str!("../../../deploy/rules/sample.toml");

/// Submits `rate` complaints a second for `secs` seconds and times each until
/// its durable ack (intake's share) and until its assignment arrives (the
/// whole pipeline): two rows, so the router's share is their difference.
pub async fn submit_to_assignment(
    server: &Server,
    dir: &std::path::Path,
    rate: u64,
    secs: u64,
) -> anyhow::Result<[Stats; 2]> {
    let log = SledLog::open(SledOptions::new(dir.join("log")))?;
    let views = aduan_kv_redb::open(&dir.join("views"))?;
    aduan_complaints::publish_ruleset(&log, SAMPLE_RULES).await?;
    let index = views.open_tree("intake")?;
    let key = aduan_intake::ReporterKey::random();
    let intake = Intake::open(log.clone(), index, key).await?;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let subjects = Subjects::default();
    let mut services = tokio::task::JoinSet::new();
    let client = async_nats::connect(&server.url).await?;
    let sink = JetStreamSink::new(client.clone(), subjects.clone()).await?;
    {
        let (log, stop) = (log.clone(), stop.clone());
        let config = RouterConfig::new(Arc::new(SystemClock));
        services.spawn(async move {
            aduan_router::run(log, &views, sink, config, stop)
                .await
                .map_err(anyhow::Error::from)
        });
    }
    {
        let (client, subjects, stop) = (client.clone(), subjects.clone(), stop.clone());
        services.spawn(async move {
            aduan_intake::nats::serve(intake, client, &subjects, stop)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        });
    }
    let js = jetstream::new(client.clone());
    let stream = js.get_stream(JetStreamSink::STREAM).await?;
    let opd = stream
        .create_consumer(consumer::pull::Config {
            ack_policy: consumer::AckPolicy::None,
            deliver_policy: consumer::DeliverPolicy::New,
            ..Default::default()
        })
        .await?;
    let mut inbox = opd.messages().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let acks: Arc<Mutex<Recorder>> = Arc::default();
    let total = rate * secs;
    let started = Instant::now();
    let producer = {
        let (client, sent, acks, subject) = (
            client.clone(),
            sent.clone(),
            acks.clone(),
            subjects.intake_submit(),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut tasks = tokio::task::JoinSet::new();
            for n in 0..total {
                tick.tick().await;
                let mut req = crate::intake::complaint(n);
                req.title = format!("pipeline-{n}");
                let (client, sent, acks, subject) =
                    (client.clone(), sent.clone(), acks.clone(), subject.clone());
                tasks.spawn(async move {
                    let t0 = Instant::now();
                    lock(&sent).insert(req.title.clone(), t0);
                    let reply = client.request(subject, req.encode_to_vec().into()).await;
                    lock(&acks).record_since(t0);
                    reply
                });
            }
            let mut failed = 0u64;
            while let Some(r) = tasks.join_next().await {
                failed += u64::from(!matches!(r, Ok(Ok(_))));
            }
            failed
        })
    };
    let mut rec = Recorder::new();
    let deadline = started + Duration::from_secs(secs * 3 + 30);
    while rec.len() < total && Instant::now() < deadline {
        let next = tokio::time::timeout(Duration::from_secs(10), inbox.next()).await;
        let Ok(Some(Ok(msg))) = next else { break };
        let a = v1::Assignment::decode(msg.payload.clone())?;
        if let Some(t0) = lock(&sent).remove(&a.title) {
            rec.record_since(t0);
        }
    }
    let elapsed = started.elapsed();
    let failed = producer.await?;
    let _ = stop_tx.send(true);
    while services.join_next().await.is_some() {}
    log.close();
    anyhow::ensure!(failed == 0, "{failed} submissions failed");
    anyhow::ensure!(
        rec.len() == total,
        "only {} of {total} assignments arrived",
        rec.len()
    );
    let name = format!("pipeline at {rate}/s: submit → Assignment on JetStream");
    let mut stats = rec.stats(&name, 1, elapsed);
    stats.peak_rss_kib = crate::peak_rss_kib(std::process::id());
    let name = format!("pipeline at {rate}/s: submit → durable ack (intake's share)");
    let acked = lock(&acks).stats(&name, 1, elapsed);
    Ok([acked, stats])
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
