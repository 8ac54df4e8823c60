//! The PostgreSQL peer, in the Message DB style: a `messages` table with a
//! unique (stream_name, position), each append one transaction that inserts at
//! the expected position (a unique violation is the optimistic-concurrency
//! conflict), `synchronous_commit = on`. The benchmark creates a database of
//! its own and drops it afterwards.

use std::time::Instant;

use deadpool_postgres::{Config, Pool, Runtime};
use tokio_postgres::NoTls;

use crate::{Recorder, Stats};

const DB: &str = "aduan_bench";

const SCHEMA: &str = "
CREATE TABLE messages (
    global_position bigserial PRIMARY KEY,
    id uuid NOT NULL,
    stream_name text NOT NULL,
    type text NOT NULL,
    position bigint NOT NULL,
    data bytea,
    metadata jsonb,
    time timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    UNIQUE (stream_name, position)
);";

/// Connects as `url` (e.g. `host=127.0.0.1 user=postgres dbname=test`),
/// recreates the benchmark database, and returns a pool of `size` connections to it.
pub async fn setup(url: &str, size: usize) -> anyhow::Result<Pool> {
    let (admin, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(conn);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DB}"))
        .await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {DB}"))
        .await?;
    let mut cfg = Config::new();
    let pg: tokio_postgres::Config = url.parse()?;
    cfg.host = pg.get_hosts().first().and_then(|h| match h {
        tokio_postgres::config::Host::Tcp(s) => Some(s.clone()),
        #[allow(unreachable_patterns)]
        _ => None,
    });
    cfg.port = pg.get_ports().first().copied();
    cfg.user = pg.get_user().map(str::to_owned);
    cfg.dbname = Some(DB.into());
    cfg.pool = Some(deadpool_postgres::PoolConfig::new(size));
    let pool = cfg.create_pool(Some(Runtime::Tokio1), NoTls)?;
    let c = pool.get().await?;
    c.batch_execute(SCHEMA).await?;
    c.batch_execute("ALTER DATABASE aduan_bench SET synchronous_commit = on")
        .await?;
    Ok(pool)
}

/// Drops the benchmark database.
pub async fn teardown(url: &str) -> anyhow::Result<()> {
    let (admin, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(conn);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
        .await?;
    Ok(())
}

/// Appends `total` events of `payload` bytes from `concurrency` tasks sharing `pool`.
pub async fn appends(
    pool: &Pool,
    concurrency: usize,
    total: u64,
    payload: usize,
) -> anyhow::Result<Stats> {
    let per_task = total / concurrency as u64;
    let data = vec![b'x'; payload];
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (pool, data) = (pool.clone(), data.clone());
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::new();
            let stream = format!("bench{concurrency}-{t}");
            for v in 0..per_task as i64 {
                let t0 = Instant::now();
                let mut c = pool.get().await?;
                let tx = c.transaction().await?;
                tx.execute(
                    "INSERT INTO messages (id, stream_name, type, position, data, metadata) \
                     VALUES ($1, $2, 'BenchEvent', $3, $4, '{}'::jsonb)",
                    &[&uuid::Uuid::now_v7(), &stream, &v, &data],
                )
                .await?;
                tx.commit().await?;
                rec.record_since(t0);
            }
            anyhow::Ok(rec)
        }));
    }
    let mut all = Recorder::new();
    for t in tasks {
        all.merge(&t.await??);
    }
    Ok(all.stats(
        "PostgreSQL (Message DB style)",
        concurrency,
        started.elapsed(),
    ))
}
