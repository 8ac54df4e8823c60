//! Intake over NATS request-reply: submissions/s and latency with N concurrent
//! requesters, against intake running in this process over a fresh sled log
//! and a nats-server this benchmark starts. Every reply is checked to be an ack.

use std::sync::Arc;
use std::time::Instant;

use aduan_bus::Subjects;
use aduan_intake::Intake;
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;
use prost::Message;

use crate::jetstream::Server;
use crate::{Recorder, Stats};

/// A realistic SMS-sized complaint with a unique channel reference.
pub fn complaint(n: u64) -> v1::SubmitComplaint {
    v1::SubmitComplaint {
        channel: "sms".into(),
        channel_ref: format!("bench-{n}"),
        kind: "complaint".into(),
        title: "Obat kosong".into(),
        body: "Obat hipertensi di puskesmas Juwana kosong sejak dua minggu, mohon ditindaklanjuti"
            .into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        reporter: Some(v1::Reporter {
            name: "Warga".into(),
            phone: "081200000000".into(),
            privacy: "confidential".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Submits `total` complaints from `concurrency` requesters over NATS.
pub async fn nats_submissions(
    server: &Server,
    dir: &std::path::Path,
    concurrency: usize,
    total: u64,
) -> anyhow::Result<Stats> {
    let log = SledLog::open(SledOptions::new(dir.join("log")))?;
    let views = aduan_kv_redb::open(&dir.join("views"))?;
    let key = aduan_intake::ReporterKey::random();
    let intake = Intake::open(log.clone(), views.open_tree("intake")?, key).await?;
    let service_client = async_nats::connect(&server.url).await?;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let subjects = Subjects::default();
    let served = {
        let subjects = subjects.clone();
        tokio::spawn(async move {
            aduan_intake::nats::serve(intake, service_client, &subjects, stop).await
        })
    };
    let client = async_nats::connect(&server.url).await?;
    client.flush().await?;
    // Let the queue subscription reach the server before the first request.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let per_task = total / concurrency as u64;
    let subject = Arc::new(subjects.intake_submit());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency as u64 {
        let (client, subject) = (client.clone(), subject.clone());
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::new();
            for i in 0..per_task {
                let body = complaint(t * per_task + i).encode_to_vec();
                let t0 = Instant::now();
                let reply = client
                    .request(subject.as_str().to_owned(), body.into())
                    .await?;
                rec.record_since(t0);
                let reply = v1::SubmitReply::decode(reply.payload)?;
                anyhow::ensure!(
                    matches!(reply.result, Some(v1::submit_reply::Result::Ack(_))),
                    "not an ack: {reply:?}"
                );
            }
            anyhow::Ok(rec)
        }));
    }
    let mut all = Recorder::new();
    for t in tasks {
        all.merge(&t.await??);
    }
    let elapsed = started.elapsed();
    let _ = stop_tx.send(true);
    let _ = served.await;
    log.close();
    let mut stats = all.stats(
        "intake over NATS (submit → durable ack)",
        concurrency,
        elapsed,
    );
    stats.peak_rss_kib = crate::peak_rss_kib(std::process::id());
    Ok(stats)
}
