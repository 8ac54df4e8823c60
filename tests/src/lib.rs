//! The end-to-end harness: starts a real `nats-server` on a free loopback port
//! with its own store directory, and real `aduan` processes, and stops them on
//! Drop. Every end-to-end test uses it; none touches a server on port 4222.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub mod auth;
pub mod browser;
mod http;
pub mod processes;
pub use http::{get_json, http, post_json, try_http, try_http_with_head, try_post_json};

/// A free TCP port on 127.0.0.1 (released before returning, so racy but fine for tests).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// Whether something other than the connecting socket itself listens on
/// `addr`: on Linux a loopback connect to a port of the ephemeral range
/// that nobody listens on can pick that very port as its own and connect
/// to itself, which is no server.
fn listening(addr: &SocketAddr) -> Option<TcpStream> {
    let s = TcpStream::connect_timeout(addr, Duration::from_millis(200)).ok()?;
    (s.local_addr().ok() != s.peer_addr().ok()).then_some(s)
}

pub(crate) fn wait_for_port(addr: SocketAddr, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if listening(&addr).is_some() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} did not listen on {addr} within 30 s");
}

/// Whether the nats-server on `addr` is the one named `name`: its INFO, the
/// first line it sends, says so. Neither another test's server on a reused
/// port nor a socket connected to itself passes for it.
fn answers_as(addr: &SocketAddr, name: &str) -> bool {
    use std::io::{BufRead, BufReader};
    let Some(s) = listening(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut info = String::new();
    let _ = BufReader::new(s).read_line(&mut info);
    info.starts_with("INFO ") && info.contains(&format!("\"server_name\":\"{name}\""))
}

/// A nats-server with JetStream, on a free port, with a temporary store.
pub struct NatsServer {
    child: Child,
    port: u16,
    store: tempfile::TempDir,
    /// The server binary and, for a configured server, its config file.
    launch: Launch,
}

/// How a [`NatsServer`] is started.
#[derive(Clone)]
struct Launch {
    bin: PathBuf,
    config: Option<PathBuf>,
}

impl NatsServer {
    /// Starts one; panics with a clear message when `nats-server` is not installed.
    pub fn start() -> Self {
        let store = tempfile::tempdir().expect("store dir");
        let launch = Launch {
            bin: PathBuf::from("nats-server"),
            config: None,
        };
        Self::start_fresh(store, launch)
    }

    /// Starts `bin` (a nats-server) with JetStream and a config that
    /// includes `include` (an `authorization` block, say), kept beside it in
    /// the store directory.
    pub fn start_with_config(bin: &Path, include: &str) -> Self {
        let store = tempfile::tempdir().expect("store dir");
        let conf = store.path().join("conf");
        std::fs::create_dir(&conf).expect("config dir");
        std::fs::write(conf.join("included.conf"), include).expect("write included config");
        let config = conf.join("server.conf");
        let main = format!(
            "jetstream {{ store_dir: {:?} }}\ninclude ./included.conf\n",
            store.path().join("js")
        );
        std::fs::write(&config, main).expect("write server config");
        let launch = Launch {
            bin: bin.to_owned(),
            config: Some(config),
        };
        Self::start_fresh(store, launch)
    }

    /// Starts it on a free port; another port when the one chosen was
    /// taken before the server bound it (by another test's server, say).
    fn start_fresh(store: tempfile::TempDir, launch: Launch) -> Self {
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = Self::spawn(port, &store, &launch) {
                return Self {
                    child,
                    port,
                    store,
                    launch,
                };
            }
        }
        panic!("nats-server exited at start on five free ports in turn");
    }

    /// Starts it on `port`, which it must get.
    fn start_on(port: u16, store: tempfile::TempDir, launch: Launch) -> Self {
        let child = Self::spawn(port, &store, &launch)
            .unwrap_or_else(|| panic!("nats-server could not listen on port {port}"));
        Self {
            child,
            port,
            store,
            launch,
        }
    }

    /// The server on `port`, once it answers there; None when it exited
    /// first (its port was taken).
    fn spawn(port: u16, store: &tempfile::TempDir, launch: &Launch) -> Option<Child> {
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("aduan-test-{}-{n}", std::process::id());
        let mut cmd = Command::new(&launch.bin);
        cmd.args([
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-js",
            "-n",
            &name,
        ]);
        match &launch.config {
            Some(config) => cmd.arg("-c").arg(config),
            None => cmd.arg("-sd").arg(store.path()),
        };
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
            "nats-server not found: install the Debian package nats-server (the test command does)",
        );
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if answers_as(&addr, &name) {
                return Some(child);
            }
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("nats-server {name} did not answer on {addr} within 30 s");
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGKILL) and keeps its store, to be started again with [`NatsServer::restart`].
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and store.
    pub fn restart(self) -> Self {
        let mut this = self;
        this.stop();
        let store = std::mem::replace(&mut this.store, tempfile::tempdir().expect("dir"));
        let (port, launch) = (this.port, this.launch.clone());
        drop(this);
        Self::start_on(port, store, launch)
    }

    /// A client connection.
    pub async fn connect(&self) -> async_nats::Client {
        async_nats::connect(self.url())
            .await
            .expect("connect to test nats-server")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The workspace's root directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `target/` of the workspace).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Issues an API token with `aduan token issue ARGS --data DATA`; the token.
pub fn issue_token(data: &Path, args: &[&str]) -> String {
    let out = Command::new(aduan_bin())
        .args(["token", "issue"])
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run aduan token issue");
    assert!(
        out.status.success(),
        "aduan token issue {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The `aduan` binary, built once if it is not there yet.
pub fn aduan_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let (root, target) = (workspace_root(), target_dir());
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        // Without the variables cargo sets for this test crate: build scripts
        // that track them (ring's tracks CARGO_MANIFEST_DIR and CARGO_PKG_*)
        // would otherwise rebuild here, and again at the next `cargo test`.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || [
                    "CARGO_CRATE_NAME",
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                ]
                .contains(&key.as_ref())
            {
                cargo.env_remove(key.as_ref());
            }
        }
        let status = cargo
            .args(["build", "--quiet", "-p", "aduan", "--bin", "aduan"])
            .current_dir(&root)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p aduan failed");
        target.join("debug").join("aduan")
    })
    .clone()
}

/// Waits until every request-reply subject aduan serves has a responder: each
/// is sent a malformed body, which every service refuses without writing.
fn wait_for_responders(url: &str) {
    wait_for_responders_as(
        url,
        None,
        &[
            "aduan.intake.submit",
            "aduan.query.status",
            "aduan.opd.probe.cmd",
            "aduan.admin.probe.cmd",
        ],
    );
}

/// A NATS user and its password.
pub type UserPass<'a> = (&'a str, &'a str);

/// Connects to `url` as `user` (with its own inbox prefix `_INBOX_<user>`,
/// as `aduan deploy nats-config` requires), or anonymously.
pub async fn connect_as(url: &str, user: Option<UserPass<'_>>) -> async_nats::Client {
    let mut options = async_nats::ConnectOptions::new();
    if let Some((user, password)) = user {
        options = options
            .user_and_password(user.into(), password.into())
            .custom_inbox_prefix(format!("_INBOX_{user}"));
    }
    options
        .connect(url)
        .await
        .expect("connect to test nats-server")
}

/// [`wait_for_responders`] as `user`, on `subjects`.
pub fn wait_for_responders_as(url: &str, user: Option<UserPass<'_>>, subjects: &[&str]) {
    let url = url.to_owned();
    let user = user.map(|(u, p)| (u.to_owned(), p.to_owned()));
    let subjects: Vec<String> = subjects.iter().map(|s| s.to_string()).collect();
    let probe = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let user = user.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
            let client = connect_as(&url, user).await;
            let deadline = Instant::now() + Duration::from_secs(30);
            for subject in subjects {
                while client
                    .request(subject.clone(), vec![0xff, 0xff].into())
                    .await
                    .is_err()
                {
                    assert!(
                        Instant::now() < deadline,
                        "no responder on {subject} within 30 s"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
    });
    probe.join().expect("readiness probe");
}

/// A running `aduan serve`, with its own data directory and HTTP port.
pub struct Aduan {
    child: Child,
    /// Its HTTP address.
    pub http: SocketAddr,
    /// Its data directory (kept across restarts).
    pub data: PathBuf,
}

impl Aduan {
    /// Starts `aduan serve` on `data`, with NATS at `nats` when given, plus `extra` flags.
    pub fn serve(data: &Path, nats: Option<&str>, extra: &[&str]) -> Self {
        let this = Self::spawn_serve(data, nats, extra);
        if let Some(url) = nats {
            wait_for_responders(url);
        }
        this
    }

    /// Starts `aduan serve` on `data` with NATS at `nats` (a URL with its
    /// user and password) on a server with authorization, and waits until
    /// `probe` sees responders on `subjects`.
    pub fn serve_authorised(
        data: &Path,
        nats: &str,
        probe: (&str, UserPass<'_>),
        subjects: &[&str],
    ) -> Self {
        let this = Self::spawn_serve(data, Some(nats), &[]);
        wait_for_responders_as(probe.0, Some(probe.1), subjects);
        this
    }

    fn spawn_serve(data: &Path, nats: Option<&str>, extra: &[&str]) -> Self {
        let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut cmd = Command::new(aduan_bin());
        cmd.arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--http")
            .arg(http.to_string());
        if let Some(url) = nats {
            cmd.args(["--nats", url]);
        }
        cmd.args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn aduan serve");
        wait_for_port(http, &mut child, "aduan serve");
        Self {
            child,
            http,
            data: data.to_owned(),
        }
    }

    /// Base URL of its HTTP API.
    pub fn base(&self) -> String {
        format!("http://{}", self.http)
    }

    /// SIGTERM, then waits for a clean exit; returns its exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait for aduan");
        status.code()
    }

    /// Its exit code if it has stopped by itself.
    pub fn exited(&mut self) -> Option<Option<i32>> {
        self.child.try_wait().ok().flatten().map(|s| s.code())
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Aduan {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A NATS request (JSON with `Content-Type: application/json` when `json`),
/// retried while nobody answers yet (a service may subscribe a moment after
/// the HTTP port opens); its reply's payload. Panics after 10 s without a
/// reply or 50 tries without a responder.
pub async fn request(
    nc: &async_nats::Client,
    subject: &str,
    payload: Vec<u8>,
    json: bool,
) -> bytes::Bytes {
    for _ in 0..50 {
        let mut headers = async_nats::HeaderMap::new();
        if json {
            headers.insert("Content-Type", "application/json");
        }
        let fut = nc.request_with_headers(subject.to_owned(), headers, payload.clone().into());
        match tokio::time::timeout(Duration::from_secs(10), fut)
            .await
            .expect("reply in time")
        {
            Ok(msg) => return msg.payload,
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("request failed: {e}"),
        }
    }
    panic!("nobody serves {subject}");
}

/// Waits until `/readyz` says ready: every service of the process (intake,
/// router, projections, the command handler) registered and running, and the
/// read models caught up with the log's head.
pub async fn wait_ready(addr: SocketAddr) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = http(addr, "GET", "/readyz", &[], b"").await;
        if status == 200 {
            assert_eq!(body, "ready");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not ready after 30 s: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;

    use super::answers_as;

    /// A listener that greets each of `n` connections with `greeting`.
    fn greeter(greeting: &'static str, n: usize) -> std::net::SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        std::thread::spawn(move || {
            for s in l.incoming().take(n) {
                let _ = s.expect("accept").write_all(greeting.as_bytes());
            }
        });
        addr
    }

    #[test]
    fn a_nats_server_is_known_by_the_name_in_its_info() {
        let info = "INFO {\"server_id\":\"N1\",\"server_name\":\"aduan-test-1-0\",\"version\":\"2.9.10\"}\r\n";
        let addr = greeter(info, 3);
        assert!(answers_as(&addr, "aduan-test-1-0"));
        assert!(!answers_as(&addr, "aduan-test-1-1"), "another server");
        assert!(!answers_as(&addr, "aduan-test-1"), "a prefix of the name");
        assert!(!answers_as(
            &greeter("HTTP/1.1 400\r\n", 1),
            "aduan-test-1-0"
        ));
    }
}
