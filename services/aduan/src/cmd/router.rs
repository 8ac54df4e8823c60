//! `aduan router` (the router alone) and the wiring `aduan serve` uses for
//! it: make sure a rule set is in force (publish `--rules` when it differs
//! from the latest publication; without `--rules`, keep the rule set in force
//! in the log and publish the built-in sample only into a log that has none),
//! then run the router with a JetStream sink when NATS is configured, else
//! the in-process sink.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use aduan_bus::Subjects;
use aduan_log_sled::SledLog;
use aduan_router::{AssignmentSink, JetStreamSink, LocalSink, RouterConfig};
use anyhow::Context;
use clap::Args;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::serve::{connect, finish, open_stores, runtime, Common, SAMPLE_RULES};
use super::shutdown;

/// Flags of `aduan router`.
#[derive(Debug, Clone, Args)]
pub struct RouterArgs {
    #[command(flatten)]
    common: Common,
    /// NATS server URL: publish assignments to the OPD inboxes on JetStream.
    #[arg(long, env = "ADUAN_NATS")]
    nats: Option<String>,
}

/// What the router needs from the process that runs it.
pub(super) struct Wiring<'a> {
    pub log: SledLog,
    pub views: aduan_kv::Db,
    /// The rule set file; None: the one in force in the log (the built-in
    /// sample when the log has none).
    pub rules: Option<&'a Path>,
    pub nats: Option<async_nats::Client>,
    pub subjects: Subjects,
    pub stop: watch::Receiver<bool>,
    /// The time deadlines are judged by.
    pub clock: aduan_domain::SharedClock,
}

/// Puts a rule set in force: the file at `path` unless it is already the
/// latest publication; without a file, the one in force stays, and the
/// built-in sample is published only when the log holds none.
pub(super) async fn publish_rules(log: &SledLog, path: Option<&Path>) -> anyhow::Result<()> {
    let source = match path {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read rule set {}", p.display()))?,
        None => match aduan_complaints::latest_published(log)
            .await
            .context("reading the rule set in force")?
        {
            (_, Some(latest)) => {
                tracing::info!(version = latest.version, "keeping the rule set in force");
                return Ok(());
            }
            (_, None) => SAMPLE_RULES.to_owned(),
        },
    };
    if let Some(a) = aduan_complaints::publish_ruleset(log, &source)
        .await
        .context("publishing the rule set")?
    {
        tracing::info!(position = a.last_position, "rule set published");
    }
    Ok(())
}

/// Puts the configured rule set in force and spawns the router onto `tasks`.
pub(super) async fn spawn(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    w: Wiring<'_>,
) -> anyhow::Result<()> {
    publish_rules(&w.log, w.rules).await?;
    let config = RouterConfig::new(w.clock.clone());
    match w.nats {
        Some(client) => {
            let sink = JetStreamSink::new(client, w.subjects).await?;
            spawn_with(tasks, w.log, w.views, sink, config, w.stop);
        }
        None => spawn_with(tasks, w.log, w.views, LocalSink::new(1024), config, w.stop),
    }
    Ok(())
}

fn spawn_with<S: AssignmentSink>(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    log: SledLog,
    views: aduan_kv::Db,
    sink: S,
    config: RouterConfig,
    stop: watch::Receiver<bool>,
) {
    tasks.spawn(async move {
        aduan_router::run(log, &views, sink, config, stop)
            .await
            .context("router")
    });
}

/// Runs `aduan router` until SIGTERM or Ctrl-C.
pub fn router(args: RouterArgs) -> anyhow::Result<ExitCode> {
    tracing::info!(data = %args.common.data.display(), nats = ?args.nats, "aduan router starting");
    let stores = open_stores(&args.common.data)?;
    runtime()?.block_on(async move {
        let stop = shutdown::on_signal();
        let nats = match &args.nats {
            Some(url) => Some(connect(url).await?),
            None => None,
        };
        let mut tasks = JoinSet::new();
        let wiring = Wiring {
            log: stores.log.clone(),
            views: aduan_kv_sled::wrap(stores.views.clone()),
            rules: args.common.rules.as_deref(),
            nats,
            subjects: Subjects::new(&args.common.subject_prefix),
            stop,
            clock: Arc::new(aduan_domain::SystemClock),
        };
        spawn(&mut tasks, wiring).await?;
        finish(tasks, &stores).await
    })
}
