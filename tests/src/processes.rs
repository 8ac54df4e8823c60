//! aduan's services as separate processes on the JetStream log: nats-server
//! 2.15.1 (the binary `scripts/install-nats-2.15.sh` installs under
//! target/venv), and any `aduan` subcommand as a child process with its own
//! data directory and its stderr kept in a file beside it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::{aduan_bin, free_port, wait_for_port, NatsServer};

/// nats-server 2.15.1 from target/venv (atomic batches, which the JetStream log needs).
pub fn nats_server_2_15() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let bin = target.join("venv/bin/nats-server");
    assert!(
        bin.is_file(),
        "{} is missing: run scripts/install-nats-2.15.sh (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A single nats-server 2.15.1 fit for the JetStream log: `max_payload` 4 MiB
/// (aduan's 1 MiB payloads plus their envelope).
pub fn jetstream_server() -> NatsServer {
    NatsServer::start_with_config(&nats_server_2_15(), "max_payload: 4194304\n")
}

/// One `aduan` service process.
pub struct Service {
    child: Child,
    /// Its stderr, as a file.
    pub log: PathBuf,
    /// Its HTTP address, for a service that listens.
    pub http: Option<SocketAddr>,
}

impl Service {
    /// Starts `aduan <args>` with `--data <dir>/<name>`, its stderr in
    /// `<dir>/<name>.log` (RUST_LOG=info); with `http`, on a free HTTP port,
    /// waited for.
    pub fn start(dir: &Path, name: &str, args: &[&str], http: bool) -> Self {
        let log = dir.join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).expect("a log file");
        let mut cmd = Command::new(aduan_bin());
        cmd.args(args).arg("--data").arg(dir.join(name));
        let http = http.then(|| SocketAddr::from(([127, 0, 0, 1], free_port())));
        if let Some(addr) = http {
            cmd.args(["--http", &addr.to_string()]);
        }
        let mut child = cmd
            .env("RUST_LOG", "info,async_nats=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn aduan");
        if let Some(addr) = http {
            wait_for_port(addr, &mut child, name);
        }
        Self { child, log, http }
    }

    /// What it wrote to stderr so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its exit code if it has stopped by itself.
    pub fn exited(&mut self) -> Option<Option<i32>> {
        self.child.try_wait().ok().flatten().map(|s| s.code())
    }

    /// SIGTERM, then waits for its exit; its exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait for aduan").code()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
