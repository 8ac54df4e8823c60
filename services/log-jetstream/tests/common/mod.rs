//! The one starter of nats-server 2.15.1 for this crate's tests: a single
//! node, or a three-node cluster on loopback (full mesh of routes, a unique
//! `server_name` and its own store directory each), every node with
//! `sync_interval: always` and `max_payload` raised to 4 MiB. Nodes are
//! killed (SIGKILL) on drop. The binary is the one `scripts/install-nats-2.15.sh`
//! installs under `target/venv` (scripts/test.sh runs it).
//!
//! Test files share it with `mod common;`. A fresh three-node cluster took
//! about 10 s here until every node answered `$JS.API.INFO`: its server
//! logs showed the routes up within a second and the JetStream meta leader
//! elected about 6.6 s after start (nats-server's Raft election timeout,
//! not configurable), so a test binary starts its cluster once and its
//! tests share it ([`shared`]).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use aduan_log::conformance::Backend;
use aduan_log_jetstream::{JetStreamLog, JetStreamOptions, Replicas};

/// `max_payload` of every node: aduan's 1 MiB payloads plus their envelope.
pub const MAX_PAYLOAD: usize = 4 << 20;

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

/// One nats-server process.
pub struct Node {
    child: Option<Child>,
    /// Its client port.
    pub port: u16,
    conf: PathBuf,
}

impl Node {
    /// Its client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        if let Err(e) = self.try_start() {
            panic!("{e}");
        }
    }

    /// Starts it; an error when it exits before it listens (e.g. a port
    /// taken between choosing it and binding it).
    fn try_start(&mut self) -> Result<(), String> {
        let child = Command::new(nats_server())
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server 2.15.1");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() {
                return Err(format!("nats-server exited: {exited:?}"));
            }
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// SIGKILL, keeping its store.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One node or a cluster of three, in its own temporary directory.
pub struct Cluster {
    pub nodes: Vec<Node>,
    /// How long the start took until JetStream answered (meta leader elected).
    pub ready_after: Duration,
    _dir: tempfile::TempDir,
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

    /// Ports are chosen free and then bound by nats-server, so another
    /// socket (a route's outgoing connection) may take one in between: a
    /// node that exits at start is tried again, on new ports, twice.
    fn start(n: usize) -> Self {
        let mut failed = Vec::new();
        for _ in 0..3 {
            match Self::try_start(n) {
                Ok(this) => return this,
                Err(e) => failed.push(e),
            }
        }
        panic!("the cluster did not start: {failed:?}");
    }

    fn try_start(n: usize) -> Result<Self, String> {
        let dir = tempfile::tempdir().expect("cluster dir");
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, c)| format!("nats-route://127.0.0.1:{c}"))
            .collect();
        let started = Instant::now();
        let mut nodes = Vec::new();
        for (i, (port, cport)) in ports.iter().enumerate() {
            let store = dir.path().join(format!("n{i}"));
            let mut conf = format!(
                "server_name: n{i}\nlisten: 127.0.0.1:{port}\nmax_payload: {MAX_PAYLOAD}\n\
                 jetstream {{\n  store_dir: {store:?}\n  sync_interval: always\n}}\n"
            );
            if n > 1 {
                conf.push_str(&format!(
                    "cluster {{\n  name: aduan-test\n  listen: 127.0.0.1:{cport}\n  routes: [{}]\n}}\n",
                    routes.join(", ")
                ));
            }
            let path = dir.path().join(format!("n{i}.conf"));
            std::fs::write(&path, conf).expect("write config");
            let mut node = Node {
                child: None,
                port: *port,
                conf: path,
            };
            node.try_start()?;
            nodes.push(node);
        }
        let mut this = Self {
            nodes,
            ready_after: Duration::ZERO,
            _dir: dir,
        };
        this.wait_for_jetstream();
        this.ready_after = started.elapsed();
        Ok(this)
    }

    /// Waits until every node answers `$JS.API.INFO` (in a cluster: a meta leader exists).
    fn wait_for_jetstream(&self) {
        let urls: Vec<String> = self.nodes.iter().map(Node::url).collect();
        let probe = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let deadline = Instant::now() + Duration::from_secs(30);
                for url in urls {
                    let client = async_nats::connect(&url).await.expect("connect");
                    loop {
                        let reply = client.request("$JS.API.INFO", "".into()).await;
                        let ok = reply.is_ok_and(|m| {
                            let v: serde_json::Value =
                                serde_json::from_slice(&m.payload).unwrap_or_default();
                            v.get("error").is_none() && v.get("type").is_some()
                        });
                        if ok {
                            break;
                        }
                        assert!(Instant::now() < deadline, "JetStream not ready on {url}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        });
        probe.join().expect("JetStream readiness probe");
    }

    /// Every node's address, starting at node `first` (a client then fails
    /// over to the others).
    pub fn addrs_from(&self, first: usize) -> Vec<async_nats::ServerAddr> {
        let n = self.nodes.len();
        (0..n)
            .map(|i| self.nodes[(first + i) % n].url().parse().expect("url"))
            .collect()
    }

    /// A new connection, to node `first` first.
    pub async fn connect(&self, first: usize) -> async_nats::Client {
        async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(self.addrs_from(first))
            .await
            .expect("connect to the test cluster")
    }

    /// Restarts node `i` on its port and store.
    pub fn restart(&mut self, i: usize) {
        self.nodes[i].kill();
        self.nodes[i].start();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
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
