//! What every long-running command shares: the flags naming the data
//! directory and NATS, the runtime, the NATS connection, and the orderly end
//! (every loop drained, derived state flushed, log closed).

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use aduan_api::health::Health;
use aduan_bus::{Edge, Subjects};
use anyhow::Context;
use clap::Args;
use tokio::task::JoinSet;

use super::layout::{Layout, Secrets, Stores};
use super::log::{Backend, Log, LogArgs};

/// The services of one process, each a task that ends with its result and
/// is shown in `health` while it runs and how it ended.
#[derive(Debug, Default)]
pub struct Tasks {
    set: JoinSet<anyhow::Result<()>>,
    health: Health,
}

impl Tasks {
    /// No services yet; they will report to `health`.
    pub fn new(health: Health) -> Self {
        Self {
            set: JoinSet::new(),
            health,
        }
    }

    /// Spawns service `name`, watched by the health registry (see
    /// [`Health::watch`]).
    pub fn spawn<F>(&mut self, name: &'static str, service: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.set.spawn(self.health.watch(name, service));
    }

    async fn join_next(&mut self) -> Option<anyhow::Result<()>> {
        let r = self.set.join_next().await?;
        Some(r.map_err(anyhow::Error::from).and_then(|r| r))
    }
}

/// Where the data lives and how to reach NATS; shared by the service commands.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Data directory: the event log (`log/`), what is derived from it
    /// (`views/`), API token hashes (`tokens.jsonl`) and the reporter-token
    /// key (`keys/reporter.key`, created on first start).
    #[arg(long, env = "ADUAN_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// Jurisdiction rule set (TOML), published when it differs from the one in
    /// force; default: the one in force in the log, or the built-in sample
    /// (deploy/rules/sample.toml) when the log has none.
    #[arg(long, env = "ADUAN_RULES", value_parser = super::args::existing_file)]
    pub rules: Option<PathBuf>,
    /// Subject prefix on NATS.
    #[arg(
        long,
        env = "ADUAN_SUBJECT_PREFIX",
        default_value = "aduan",
        value_parser = super::args::subject_prefix
    )]
    pub subject_prefix: String,
    #[command(flatten)]
    pub log: LogArgs,
}

impl Common {
    /// The data directory's layout.
    pub fn layout(&self) -> Layout {
        Layout::new(&self.data)
    }

    /// Opens the stores of a service: the sled log and files of the data
    /// directory, or the JetStream log and KV buckets on `nats`'s server
    /// with only the derived state in the data directory. Call
    /// [`LogArgs::check`] first: a JetStream log without NATS is refused here
    /// too, but without exit code 2.
    pub async fn open(&self, nats: Option<&Edge>) -> anyhow::Result<Stores> {
        let layout = self.layout();
        match (self.log.backend, nats) {
            (Backend::Sled, _) => layout.open(),
            (Backend::JetStream, None) => Err(self.log.check(None).unwrap_err().into()),
            (Backend::JetStream, Some(edge)) => {
                let views = layout.open_views_only()?;
                let log = self.log.open_jetstream(edge, &self.subject_prefix).await?;
                let replicas = self.log.log_replicas.count();
                let buckets = aduan_secrets::Buckets::open(edge.client.clone(), replicas)
                    .await
                    .context("opening the token and key buckets")?;
                Ok(Stores {
                    log: Log::JetStream(log),
                    views,
                    secrets: Secrets::Kv(buckets),
                })
            }
        }
    }
}

/// A multi-threaded Tokio runtime.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

/// Connects to NATS at `url` (when given), retrying until the server answers.
/// A URL naming a user (`nats://svc-serve:PASSWORD@host:4222`, as
/// `aduan deploy nats-config` hands out) connects as that user, with replies
/// under its own inbox prefix `_INBOX_<user>`, the only one it may read.
pub async fn edge(url: Option<&str>, subject_prefix: &str) -> anyhow::Result<Option<Edge>> {
    let Some(url) = url else {
        return Ok(None);
    };
    let mut options = async_nats::ConnectOptions::new()
        .name("aduan")
        .retry_on_initial_connect();
    // async-nats does not read the user and password from the URL itself.
    if let Some((user, password)) = url_credentials(url) {
        let inbox = aduan_deploy::inbox_prefix(&user);
        options = options
            .user_and_password(user, password)
            .custom_inbox_prefix(inbox);
    }
    // async-nats parses a `&str` as one address: a comma-separated list
    // (every node of a cluster) is split here, so the client fails over.
    let servers = url
        .split(',')
        .map(|s| s.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("bad NATS URL {}", redacted(url)))?;
    let client = options
        .connect(servers)
        .await
        .with_context(|| format!("cannot connect to NATS at {}", redacted(url)))?;
    Ok(Some(Edge {
        client,
        subjects: Subjects::new(subject_prefix),
    }))
}

/// The user and password of the first server of a NATS URL list, percent-decoded.
pub fn url_credentials(url: &str) -> Option<(String, String)> {
    let first = url.split(',').next()?.trim();
    let addr = first.parse::<async_nats::ServerAddr>().ok()?;
    let user = addr.username()?;
    Some((
        percent_decode(user),
        percent_decode(addr.password().unwrap_or("")),
    ))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A NATS URL list fit for a log: each password replaced by `***`.
pub fn redacted(url: &str) -> String {
    let one = |server: &str| -> String {
        let (scheme, rest) = server.split_once("://").unwrap_or(("", server));
        let Some((userinfo, host)) = rest.rsplit_once('@') else {
            return server.to_owned();
        };
        let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
        let sep = if scheme.is_empty() { "" } else { "://" };
        format!("{scheme}{sep}{user}:***@{host}")
    };
    url.split(',').map(one).collect::<Vec<_>>().join(",")
}

/// A listener on `addr`, saying so.
pub async fn listen(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(%addr, "HTTP API listening");
    Ok(listener)
}

/// Waits for the stop signal or for a service to fail; a failure (its store
/// refused a write, say) stops every other service through `trigger`, so
/// the process exits 1 and a supervisor restarts it with the stores
/// reopened, instead of serving on with a dead router or read model.
/// Returns true on a failure.
pub async fn stop_on_failure(
    tasks: &mut Tasks,
    stop: tokio::sync::watch::Receiver<bool>,
    trigger: &tokio::sync::watch::Sender<bool>,
) -> bool {
    let failure = tokio::select! {
        _ = super::shutdown::wait(stop) => None,
        e = first_failure(tasks) => Some(e),
    };
    if let Some(e) = &failure {
        tracing::error!(error = format!("{e:#}"), "a service failed; stopping aduan");
        trigger.send_replace(true);
    }
    failure.is_some()
}

/// The first service that stops with an error (a clean early stop is not one).
async fn first_failure(tasks: &mut Tasks) -> anyhow::Error {
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            return e;
        }
    }
    std::future::pending().await
}

/// Waits for every loop to drain, then makes the derived state and the log durable.
pub async fn finish(mut tasks: Tasks, stores: &Stores) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            tracing::error!(error = format!("{e:#}"), "a service stopped with an error");
            failed = true;
        }
    }
    stores.close().await?;
    tracing::info!("stopped cleanly");
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::{redacted, url_credentials, Tasks};
    use aduan_api::health::{Health, ServiceState};
    use anyhow::Context;

    /// A service's failure is reported with its cause: a failed router said
    /// only "router" before, where it is logged (`/readyz` says "failed" alone).
    #[tokio::test]
    async fn a_failed_service_is_reported_with_its_cause() {
        let health = Health::default();
        let mut tasks = Tasks::new(health.clone());
        tasks.spawn("router", async {
            Err(anyhow::anyhow!("disk full")).context("router")
        });
        let e = tasks.join_next().await.expect("one").expect_err("failed");
        assert_eq!(
            health.services()["router"],
            ServiceState::Failed(format!("{e:#}"))
        );
        assert_eq!(format!("{e:#}"), "router: disk full");
    }

    #[test]
    fn a_url_gives_its_user_and_password_and_logs_without_the_password() {
        let url = "nats://svc-serve:s3cr%40t@127.0.0.1:4222,nats://svc-serve:s3cr%40t@h2:4222";
        assert_eq!(
            url_credentials(url),
            Some(("svc-serve".to_owned(), "s3cr@t".to_owned()))
        );
        assert_eq!(url_credentials("nats://127.0.0.1:4222"), None);
        let logged = redacted(url);
        assert!(!logged.contains("s3cr"), "{logged}");
        assert_eq!(
            logged,
            "nats://svc-serve:***@127.0.0.1:4222,nats://svc-serve:***@h2:4222"
        );
        assert_eq!(redacted("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }
}
