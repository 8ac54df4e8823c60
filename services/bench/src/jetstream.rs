//! The JetStream peer: the same appends as an event store on JetStream would
//! make them — one subject per stream, `Nats-Expected-Last-Subject-Sequence`
//! for optimistic concurrency, `Nats-Msg-Id` for dedupe, each PubAck awaited —
//! against a nats-server this benchmark starts on a free port with its own
//! file store. nats-server 2.9 syncs its file store only every 60 s, so these
//! acks are not power-loss durable while aduan's are (PITFALLS.md).

use std::path::Path;
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
}

impl Server {
    /// Starts `nats-server -js` on a free loopback port with its store in `dir`.
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start nats-server (is it installed?): {e}"))?;
        let url = format!("nats://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { child, url })
    }

    /// Its process id, for peak memory.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
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
    let mut stats = all.stats("NATS JetStream (file, R1)", concurrency, started.elapsed());
    stats.peak_rss_kib = crate::peak_rss_kib(server.pid());
    Ok(stats)
}
