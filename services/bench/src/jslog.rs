//! aduan's own JetStream log backend (`aduan-log-jetstream`) under the same
//! appends as the sled row: each appender owns a stream and appends one
//! event at a time with its expected version, through one `JetStreamLog`
//! (one process: its writer packs waiting appends into one fenced atomic
//! batch). Against nats-server 2.15.1 with `sync_interval: always` (acks
//! after fsync, like sled's flush and `fdatasync`): one node at R1, and a
//! three-node cluster on loopback at R3, started by `aduan-nats-cluster`.

use std::path::Path;

use aduan_log_jetstream::{JetStreamLog, JetStreamOptions, Replicas};
use aduan_nats_cluster::Cluster;

use crate::Stats;

/// nats-server nodes holding the benchmark's JetStream logs.
pub struct Peer {
    cluster: Cluster,
    replicas: Replicas,
    /// How its rows are named.
    pub label: &'static str,
}

impl Peer {
    /// One node of `binary` (nats-server 2.15.1), the log at R1.
    pub fn single(binary: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            cluster: Cluster::start(binary, 1)?,
            replicas: Replicas::One,
            label: "aduan JetStream log (2.15.1, R1, fsync before ack)",
        })
    }

    /// Three nodes of `binary` on loopback, the log at R3.
    pub fn three(binary: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            cluster: Cluster::start(binary, 3)?,
            replicas: Replicas::Three,
            label: "aduan JetStream log (2.15.1, R3 on 3 nodes, fsync before ack)",
        })
    }

    /// The nodes' peak resident memory, summed (KiB).
    fn peak_rss_kib(&self) -> Option<u64> {
        let nodes = self.cluster.nodes.iter().filter_map(|n| n.pid());
        nodes.map(crate::peak_rss_kib).sum()
    }
}

/// Appends `total` events of `payload` bytes from `concurrency` tasks to a
/// fresh log (stream `BENCH_LOG_<concurrency>`) on `peer`.
pub async fn appends(
    peer: &Peer,
    concurrency: usize,
    total: u64,
    payload: usize,
) -> anyhow::Result<Stats> {
    let client = peer.cluster.connect(0).await?;
    let opts = JetStreamOptions::new(
        format!("BENCH_LOG_{concurrency}"),
        format!("bench.log.{concurrency}"),
    )
    .replicas(peer.replicas);
    let log = JetStreamLog::open(client, opts).await?;
    let (all, elapsed) = crate::log::appenders(&log, concurrency, total, payload).await?;
    log.close().await;
    let mut stats = all.stats(peer.label, concurrency, elapsed);
    stats.peak_rss_kib = peer.peak_rss_kib();
    Ok(stats)
}
