//! The one starter of nats-server 2.15.1 for this crate's tests: a single
//! node, or a three-node cluster on loopback, from `aduan-nats-cluster`
//! (every node with `sync_interval: always` and `max_payload` raised to
//! 4 MiB; killed on drop). The binary is the one `scripts/install-nats-2.15.sh`
//! installs under `target/venv` (scripts/test.sh runs it).
//!
//! Test files share it with `mod common;`. A fresh three-node cluster takes
//! seconds until its meta leader is elected, so a test binary starts its
//! cluster once and its tests share it ([`shared`]).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use aduan_log::conformance::Backend;
use aduan_log_jetstream::{JetStreamLog, JetStreamOptions, Replicas};

/// nats-server 2.15.1 as `scripts/install-nats-2.15.sh` installs it.
pub fn nats_server() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let bin = target.join("venv/bin/nats-server");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/install-nats-2.15.sh (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// One node or a cluster of three (the library's, with panicking helpers).
pub struct Cluster(aduan_nats_cluster::Cluster);

impl std::ops::Deref for Cluster {
    type Target = aduan_nats_cluster::Cluster;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Cluster {
    /// A single node (no cluster block).
    pub fn single() -> Self {
        Self::start(1)
    }

    /// Three nodes, fully meshed, JetStream clustered.
    pub fn three() -> Self {
        Self::start(3)
    }

    fn start(n: usize) -> Self {
        match aduan_nats_cluster::Cluster::start(&nats_server(), n) {
            Ok(c) => Self(c),
            Err(e) => panic!("the cluster did not start: {e}"),
        }
    }

    /// A new connection, to node `first` first.
    pub async fn connect(&self, first: usize) -> async_nats::Client {
        self.0
            .connect(first)
            .await
            .expect("connect to the test cluster")
    }

    /// Restarts node `i` on its port and store.
    pub fn restart(&mut self, i: usize) {
        if let Err(e) = self.0.restart(i) {
            panic!("{e}");
        }
    }
}

/// The cluster every test of one test binary shares while any of them runs
/// (started by the first, stopped when the last drops it).
pub fn shared(three: bool) -> Arc<Cluster> {
    static SINGLE: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    static THREE: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    let slot = if three { &THREE } else { &SINGLE };
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = slot.upgrade() {
        return c;
    }
    let c = Arc::new(if three {
        Cluster::three()
    } else {
        Cluster::single()
    });
    eprintln!(
        "{} nats-server 2.15.1 node(s) ready (JetStream answering) after {:?}",
        c.nodes.len(),
        c.ready_after
    );
    *slot = Arc::downgrade(&c);
    c
}

/// Options for a fresh log of its own: stream `LOG_<n>`, subject `log.<n>`.
pub fn fresh_options(replicas: Replicas) -> JetStreamOptions {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    JetStreamOptions::new(format!("LOG_{pid}_{n}"), format!("log.{pid}.{n}")).replicas(replicas)
}

/// The conformance suite's backend: fresh streams on a shared node or cluster,
/// each log on its own connection; reopening closes it and opens the same
/// stream on a new connection.
pub struct Js {
    pub cluster: Arc<Cluster>,
    pub replicas: Replicas,
    opened: usize,
}

impl Js {
    pub fn single() -> Self {
        Self {
            cluster: shared(false),
            replicas: Replicas::One,
            opened: 0,
        }
    }

    pub fn three() -> Self {
        Self {
            cluster: shared(true),
            replicas: Replicas::Three,
            opened: 0,
        }
    }

    /// Opens `opts` on a new connection (to the next node in turn).
    pub async fn open(&mut self, opts: JetStreamOptions) -> JetStreamLog {
        self.opened += 1;
        let client = self.cluster.connect(self.opened).await;
        JetStreamLog::open(client, opts)
            .await
            .expect("open the log")
    }
}

impl Backend for Js {
    type Log = JetStreamLog;

    async fn create(&mut self) -> JetStreamLog {
        let opts = fresh_options(self.replicas);
        self.open(opts).await
    }

    async fn reopen(&mut self, log: JetStreamLog) -> JetStreamLog {
        let stream = log.stream().to_owned();
        log.close().await;
        drop(log);
        let n = stream.rsplit('_').next().unwrap_or_default();
        let pid = std::process::id();
        let opts =
            JetStreamOptions::new(stream.clone(), format!("log.{pid}.{n}")).replicas(self.replicas);
        self.open(opts).await
    }
}
