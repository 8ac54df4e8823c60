//! Reading a whole log back, against reading the same events from the peers:
//! aduan's `read_all` pages; a JetStream ordered consumer over a stream that
//! holds each event's record bytes as one message; a keyset-paged scan of a
//! PostgreSQL table that holds them as rows. Every reader ends with the same
//! `RecordedEvent` values (the peers decode the record bytes they read with
//! aduan's own decoder), so this compares reads with reads. Loading the peers
//! is not timed.

use std::future::IntoFuture;
use std::time::Instant;

use aduan_log::{record, EventLog, RecordedEvent};
use async_nats::jetstream::{self, consumer, stream};
use deadpool_postgres::Pool;
use futures::StreamExt;

use crate::jetstream::Server;
use crate::replay::Pass;

/// Events per read page (aduan's and PostgreSQL's).
const PAGE: usize = 4096;
/// Publishes awaiting their ack while loading JetStream.
const WINDOW: usize = 4096;
const STREAM: &str = "REPLAY";

/// Reads every event of `log` in pages, as a replay does.
pub async fn aduan<L: EventLog>(log: &L) -> anyhow::Result<Pass> {
    let head = *log.head().borrow();
    let t0 = Instant::now();
    let (mut next, mut sum) = (1u64, 0usize);
    while next <= head {
        let page = log.read_all(next, PAGE).await?;
        let Some(last) = page.last().map(|e| e.position) else {
            break;
        };
        sum += touch(&page);
        next = last + 1;
    }
    pass("read: aduan log (read_all pages)", head, t0, sum)
}

/// Copies every record of `log` into a fresh JetStream stream on `server`
/// (untimed), then reads it back through an ordered consumer.
pub async fn jetstream<L: EventLog>(log: &L, server: &Server) -> anyhow::Result<Pass> {
    let client = async_nats::connect(&server.url).await?;
    let js = jetstream::new(client);
    let _ = js.delete_stream(STREAM).await;
    let stream = js
        .create_stream(stream::Config {
            name: STREAM.into(),
            subjects: vec!["replay.>".into()],
            storage: stream::StorageType::File,
            max_message_size: -1,
            ..Default::default()
        })
        .await?;
    let head = for_each_page(log, |page| {
        let js = js.clone();
        async move {
            let mut acks = futures::stream::FuturesOrdered::new();
            for e in &page {
                let subject = format!("replay.{}", e.stream_id);
                let ack = js.publish(subject, record::encode(e).0.into()).await?;
                acks.push_back(ack.into_future());
                if acks.len() >= WINDOW {
                    if let Some(ack) = acks.next().await {
                        ack?;
                    }
                }
            }
            while let Some(ack) = acks.next().await {
                ack?;
            }
            anyhow::Ok(())
        }
    })
    .await?;

    let t0 = Instant::now();
    let reader = stream
        .create_consumer(consumer::pull::OrderedConfig::default())
        .await?;
    let mut messages = reader.messages().await?;
    let (mut read, mut sum) = (0u64, 0usize);
    while read < head {
        let Some(msg) = messages.next().await else {
            anyhow::bail!("the ordered consumer ended after {read} of {head}");
        };
        let msg = msg?;
        read += 1;
        let e = record::decode(read, &msg.payload)?;
        sum += touch(std::slice::from_ref(&e));
    }
    let p = pass(
        &format!("read: {} (ordered consumer)", server.label),
        head,
        t0,
        sum,
    )?;
    let _ = js.delete_stream(STREAM).await;
    Ok(p)
}

/// Copies every record of `log` into a table of the benchmark database
/// (untimed), then reads it back in keyset-paged `SELECT`s.
pub async fn postgres<L: EventLog>(log: &L, pool: &Pool) -> anyhow::Result<Pass> {
    let c = pool.get().await?;
    c.batch_execute(
        "DROP TABLE IF EXISTS replay;
         CREATE TABLE replay (position bigint PRIMARY KEY, record bytea NOT NULL);",
    )
    .await?;
    let insert = c
        .prepare("INSERT INTO replay SELECT * FROM unnest($1::bigint[], $2::bytea[])")
        .await?;
    let head = for_each_page(log, |page| {
        let (c, insert) = (&c, &insert);
        async move {
            let positions: Vec<i64> = page.iter().map(|e| e.position as i64).collect();
            let records: Vec<Vec<u8>> = page.iter().map(|e| record::encode(e).0).collect();
            c.execute(insert, &[&positions, &records]).await?;
            anyhow::Ok(())
        }
    })
    .await?;

    let t0 = Instant::now();
    let select = c
        .prepare(
            "SELECT position, record FROM replay WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .await?;
    let (mut after, mut sum) = (0i64, 0usize);
    loop {
        let rows = c.query(&select, &[&after, &(PAGE as i64)]).await?;
        let Some(last) = rows.last() else { break };
        after = last.get(0);
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let position: i64 = row.get(0);
            page.push(record::decode(position as u64, row.get::<_, &[u8]>(1))?);
        }
        sum += touch(&page);
    }
    anyhow::ensure!(after as u64 == head, "read {after} of {head} rows");
    let p = pass("read: PostgreSQL (keyset-paged SELECT)", head, t0, sum)?;
    c.batch_execute("DROP TABLE replay").await?;
    Ok(p)
}

/// Calls `f` with each page of `log` in order; returns the head.
async fn for_each_page<L, F, Fut>(log: &L, mut f: F) -> anyhow::Result<u64>
where
    L: EventLog,
    F: FnMut(Vec<RecordedEvent>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let head = *log.head().borrow();
    let mut next = 1;
    while next <= head {
        let page = log.read_all(next, PAGE).await?;
        let Some(last) = page.last().map(|e| e.position) else {
            break;
        };
        next = last + 1;
        f(page).await?;
    }
    Ok(head)
}

/// Something of every event read, so no reader can skip the work.
fn touch(page: &[RecordedEvent]) -> usize {
    page.iter()
        .map(|e| e.payload.len() + e.stream_id.len())
        .sum()
}

fn pass(what: &str, events: u64, t0: Instant, sum: usize) -> anyhow::Result<Pass> {
    let elapsed = t0.elapsed();
    anyhow::ensure!(sum > 0 || events == 0, "{what}: nothing was read");
    Ok(Pass {
        what: what.to_owned(),
        events,
        elapsed,
    })
}
