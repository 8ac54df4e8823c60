//! A three-node nats-server 2.15.1 cluster on loopback for the fault test:
//! full mesh of routes, a unique `server_name` and a store directory each,
//! `sync_interval: always`, `max_payload` 4 MiB. The minimum of
//! services/log-jetstream/tests/common (start, SIGKILL a node, restart it on
//! its port and store), copied here until the `aduan-nats-cluster` crate
//! replaces both.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aduan_e2e::free_port;

/// One nats-server process, by its config file.
pub struct Node {
    child: Option<Child>,
    /// Its `server_name`.
    pub name: String,
    port: u16,
    conf: PathBuf,
    log: PathBuf,
}

impl Node {
    /// Its client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it and waits until it listens; an error when it exits first
    /// (a port taken between choosing and binding it).
    fn start(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("node log");
        let child = Command::new(aduan_e2e::processes::nats_server_2_15())
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nats-server 2.15.1");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(format!("{} exited: {status}", self.name));
                }
            }
            assert!(Instant::now() < deadline, "{} did not listen", self.name);
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

    /// Starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        if let Err(e) = self.start() {
            panic!("restart: {e}");
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three clustered nodes in `dir`.
pub struct Cluster {
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// Starts three nodes (tried again on new ports, twice, when one exits at start).
    pub fn three(dir: &Path) -> Self {
        let mut failed = Vec::new();
        for attempt in 0..3 {
            match Self::try_three(&dir.join(format!("nats-{attempt}"))) {
                Ok(c) => return c,
                Err(e) => failed.push(e),
            }
        }
        panic!("the cluster did not start: {failed:?}");
    }

    fn try_three(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir).expect("cluster dir");
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, c)| format!("nats-route://127.0.0.1:{c}"))
            .collect();
        let mut nodes = Vec::new();
        for (i, (port, cport)) in ports.iter().enumerate() {
            let store = dir.join(format!("n{i}"));
            let conf = format!(
                "server_name: n{i}\nlisten: 127.0.0.1:{port}\nmax_payload: 4194304\n\
                 jetstream {{\n  store_dir: {store:?}\n  sync_interval: always\n}}\n\
                 cluster {{\n  name: aduan-faults\n  listen: 127.0.0.1:{cport}\n  routes: [{}]\n}}\n",
                routes.join(", ")
            );
            let path = dir.join(format!("n{i}.conf"));
            std::fs::write(&path, conf).expect("write config");
            let mut node = Node {
                child: None,
                name: format!("n{i}"),
                port: *port,
                conf: path,
                log: dir.join(format!("n{i}.log")),
            };
            node.start()?;
            nodes.push(node);
        }
        Ok(Self { nodes })
    }

    /// Every node's URL, comma-separated (as `--nats` takes them).
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.nodes.iter().map(Node::url).collect();
        urls.join(",")
    }

    /// A client of the cluster that fails over between the nodes.
    pub async fn connect(&self) -> async_nats::Client {
        let addrs: Vec<async_nats::ServerAddr> = self
            .nodes
            .iter()
            .map(|n| n.url().parse().expect("url"))
            .collect();
        async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .request_timeout(Some(Duration::from_secs(3)))
            .connect(addrs)
            .await
            .expect("connect to the cluster")
    }

    /// Waits until every node answers `$JS.API.INFO` (a meta leader exists).
    pub async fn wait_for_jetstream(&self) {
        let deadline = Instant::now() + Duration::from_secs(45);
        for node in &self.nodes {
            let client = async_nats::connect(node.url()).await.expect("connect");
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
                assert!(
                    Instant::now() < deadline,
                    "JetStream not ready on {}",
                    node.name
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The node named `name`.
    pub fn node(&mut self, name: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .expect("a node of the cluster")
    }
}
