//! nats-server processes for tests and benchmarks: a single node, or a
//! cluster of three on loopback (full mesh of routes, a unique
//! `server_name` and its own store directory each), started in a temporary
//! directory and killed (SIGKILL) on drop. The config of each node is
//! generated ([`generated_config`]: `sync_interval: always`, `max_payload`
//! raised to 4 MiB) or written by the caller (e.g. from deploy/cluster's
//! files with ports and paths substituted). It does not install
//! nats-server: the caller names the binary (nats-server 2.15.1 from
//! `scripts/install-nats-2.15.sh`, under `target/venv`).
//!
//! A fresh three-node cluster took about 10 s here until every node
//! answered `$JS.API.INFO`: the routes come up within a second and the
//! JetStream meta leader is elected about 6.6 s after start (nats-server's
//! Raft election timeout, not configurable).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `max_payload` of every generated node: aduan's 1 MiB payloads plus their envelope.
pub const MAX_PAYLOAD: usize = 4 << 20;

/// What went wrong starting nodes.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The binary could not be started.
    #[error("cannot start {bin}: {source}")]
    Spawn {
        /// The nats-server binary.
        bin: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A node exited before it listened (e.g. a port taken before it bound it).
    #[error("nats-server node {node} exited at start: {status}")]
    Exited {
        /// Its index.
        node: usize,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// A node did not listen within 20 s.
    #[error("nats-server node {0} did not listen within 20 s")]
    NotListening(usize),
    /// JetStream did not answer on every node within 30 s (no meta leader).
    #[error("JetStream did not answer on {0} within 30 s")]
    JetStreamNotReady(String),
    /// A file or directory of the cluster could not be written.
    #[error("cluster files: {0}")]
    Io(std::io::Error),
}

// By hand, not `#[from]`: that would make the error its `source` too, and
// a chain (`{:#}`) would print its message twice.
impl From<std::io::Error> for ClusterError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// The ports of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// Client connections.
    pub client: u16,
    /// Cluster routes (unused by a single node).
    pub cluster: u16,
}

/// One nats-server process.
#[derive(Debug)]
pub struct Node {
    child: Option<Child>,
    index: usize,
    bin: PathBuf,
    /// Its client port.
    pub port: u16,
    /// Its config file.
    pub conf: PathBuf,
}

impl Node {
    /// Its client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it; an error when it exits before it listens.
    fn start(&mut self) -> Result<(), ClusterError> {
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| ClusterError::Spawn {
                bin: self.bin.clone(),
                source,
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(ClusterError::Exited {
                    node: self.index,
                    status,
                });
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(ClusterError::NotListening(self.index));
            }
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

/// The config of node `i` of `ports.len()` generated nodes, with its store
/// under `dir`: `server_name: n<i>`, client and cluster ports on loopback,
/// `max_payload` [`MAX_PAYLOAD`], JetStream with `sync_interval: always`,
/// and, for more than one node, a full mesh of routes.
pub fn generated_config(i: usize, dir: &Path, ports: &[Ports]) -> String {
    let Ports { client, cluster } = ports[i];
    let store = dir.join(format!("n{i}"));
    let mut conf = format!(
        "server_name: n{i}\nlisten: 127.0.0.1:{client}\nmax_payload: {MAX_PAYLOAD}\n\
         jetstream {{\n  store_dir: {store:?}\n  sync_interval: always\n}}\n"
    );
    if ports.len() > 1 {
        let routes: Vec<String> = ports
            .iter()
            .map(|p| format!("nats-route://127.0.0.1:{}", p.cluster))
            .collect();
        conf.push_str(&format!(
            "cluster {{\n  name: aduan-test\n  listen: 127.0.0.1:{cluster}\n  routes: [{}]\n}}\n",
            routes.join(", ")
        ));
    }
    conf
}

/// One node or a cluster, in its own temporary directory.
#[derive(Debug)]
pub struct Cluster {
    /// The nodes, in start order.
    pub nodes: Vec<Node>,
    /// How long the start took until JetStream answered on every node.
    pub ready_after: Duration,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// `n` nodes of `bin` with [`generated_config`].
    pub fn start(bin: &Path, n: usize) -> Result<Self, ClusterError> {
        Self::start_with(bin, n, generated_config)
    }

    /// `n` nodes of `bin`, node `i` with the config `config(i, dir, ports)`
    /// returns (`dir` is the cluster's temporary directory, where the
    /// function may also write files the config includes). Ports are chosen
    /// free and then bound by nats-server, so another socket (a route's
    /// outgoing connection) may take one in between: a node that exits at
    /// start has the cluster started again on new ports, up to three times.
    pub fn start_with(
        bin: &Path,
        n: usize,
        config: impl Fn(usize, &Path, &[Ports]) -> String,
    ) -> Result<Self, ClusterError> {
        Self::start_as(bin, n, config, None)
    }

    /// [`Cluster::start_with`], for configs that refuse anonymous clients:
    /// the readiness probe connects as `user` (user name and password),
    /// with aduan's inbox prefix `_INBOX_<user>`.
    pub fn start_as(
        bin: &Path,
        n: usize,
        config: impl Fn(usize, &Path, &[Ports]) -> String,
        user: Option<(&str, &str)>,
    ) -> Result<Self, ClusterError> {
        let user = user.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(bin, n, &config, user.clone()) {
                Ok(this) => return Ok(this),
                Err(e @ ClusterError::Exited { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(ClusterError::NotListening(0)))
    }

    fn try_start(
        bin: &Path,
        n: usize,
        config: &impl Fn(usize, &Path, &[Ports]) -> String,
        user: Option<(String, String)>,
    ) -> Result<Self, ClusterError> {
        let dir = tempfile::tempdir()?;
        let ports = (0..n)
            .map(|_| {
                Ok(Ports {
                    client: free_port()?,
                    cluster: free_port()?,
                })
            })
            .collect::<Result<Vec<_>, std::io::Error>>()?;
        let started = Instant::now();
        let mut nodes = Vec::new();
        for i in 0..n {
            let path = dir.path().join(format!("n{i}.conf"));
            std::fs::write(&path, config(i, dir.path(), &ports))?;
            let mut node = Node {
                child: None,
                index: i,
                bin: bin.to_owned(),
                port: ports[i].client,
                conf: path,
            };
            node.start()?;
            nodes.push(node);
        }
        let mut this = Self {
            nodes,
            ready_after: Duration::ZERO,
            dir,
        };
        this.wait_for_jetstream(user)?;
        this.ready_after = started.elapsed();
        Ok(this)
    }

    /// The cluster's temporary directory (configs, stores).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Waits until every node answers `$JS.API.INFO` (in a cluster: a meta
    /// leader exists). Runs on a thread of its own, so it may be called
    /// from inside or outside a Tokio runtime.
    fn wait_for_jetstream(&self, user: Option<(String, String)>) -> Result<(), ClusterError> {
        let urls: Vec<String> = self.nodes.iter().map(Node::url).collect();
        let probe = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let deadline = Instant::now() + Duration::from_secs(30);
                for url in urls {
                    let not_ready = || ClusterError::JetStreamNotReady(url.clone());
                    let client = loop {
                        let mut options = async_nats::ConnectOptions::new();
                        if let Some((u, p)) = &user {
                            options = options
                                .user_and_password(u.clone(), p.clone())
                                .custom_inbox_prefix(format!("_INBOX_{u}"));
                        }
                        match options.connect(&url).await {
                            Ok(c) => break c,
                            Err(_) if Instant::now() < deadline => {
                                tokio::time::sleep(Duration::from_millis(20)).await
                            }
                            Err(_) => return Err(not_ready()),
                        }
                    };
                    while !jetstream_answers(&client).await {
                        if Instant::now() >= deadline {
                            return Err(not_ready());
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                Ok(())
            })
        });
        probe
            .join()
            .unwrap_or_else(|_| Err(ClusterError::JetStreamNotReady("probe panicked".into())))
    }

    /// Every node's address, starting at node `first` (a client then fails
    /// over to the others).
    pub fn addrs_from(&self, first: usize) -> Vec<async_nats::ServerAddr> {
        let n = self.nodes.len();
        (0..n)
            .filter_map(|i| self.nodes[(first + i) % n].url().parse().ok())
            .collect()
    }

    /// A new connection, to node `first` first.
    pub async fn connect(
        &self,
        first: usize,
    ) -> Result<async_nats::Client, async_nats::ConnectError> {
        async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(self.addrs_from(first))
            .await
    }

    /// Restarts node `i` on its port, config and store.
    pub fn restart(&mut self, i: usize) -> Result<(), ClusterError> {
        self.nodes[i].kill();
        self.nodes[i].start()
    }
}

/// Whether `$JS.API.INFO` answers without an error.
async fn jetstream_answers(client: &async_nats::Client) -> bool {
    let reply = client.request("$JS.API.INFO", "".into()).await;
    reply.is_ok_and(|m| {
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap_or_default();
        v.get("error").is_none() && v.get("type").is_some()
    })
}

/// A port free on loopback at the moment of asking.
pub fn free_port() -> std::io::Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}
