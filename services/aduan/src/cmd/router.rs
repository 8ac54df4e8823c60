//! `aduan router` (the router alone) and the wiring `aduan serve` uses for
//! it: put a rule set in force (`rules::put_in_force`), then run the router
//! with a JetStream sink when NATS is configured, else the in-process sink.

use std::process::ExitCode;
use std::sync::Arc;

use aduan_bus::Edge;
use aduan_router::{AssignmentSink, JetStreamSink, LocalSink, RouterConfig};
use anyhow::Context;
use clap::Args;
use tokio::sync::watch;

use super::log::Log;
use super::process::{edge, finish, redacted, runtime, Common, Tasks};
use super::{rules, shutdown};

/// Flags of `aduan router`.
#[derive(Debug, Clone, Args)]
pub struct RouterArgs {
    #[command(flatten)]
    common: Common,
    /// NATS server URL: publish assignments to the OPD inboxes on JetStream.
    #[arg(long, env = "ADUAN_NATS", value_parser = super::args::nats_url)]
    nats: Option<String>,
}

/// Spawns the router over `log` and `views`, its assignments to JetStream
/// with `nats`, else to an in-process sink.
pub async fn spawn(
    tasks: &mut Tasks,
    log: Log,
    views: aduan_kv::Db,
    nats: Option<Edge>,
    config: RouterConfig,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    match nats {
        Some(edge) => {
            let sink = JetStreamSink::new(edge.client, edge.subjects).await?;
            spawn_with(tasks, log, views, sink, config, stop);
        }
        None => spawn_with(tasks, log, views, LocalSink::new(1024), config, stop),
    }
    Ok(())
}

fn spawn_with<S: AssignmentSink>(
    tasks: &mut Tasks,
    log: Log,
    views: aduan_kv::Db,
    sink: S,
    config: RouterConfig,
    stop: watch::Receiver<bool>,
) {
    tasks.spawn("router", async move {
        aduan_router::run(log, &views, sink, config, stop)
            .await
            .context("router")
    });
}

/// Runs `aduan router` until SIGTERM or Ctrl-C.
pub fn router(args: RouterArgs) -> anyhow::Result<ExitCode> {
    tracing::info!(data = %args.common.data.display(), nats = ?args.nats.as_deref().map(redacted), log = ?args.common.log.backend, "aduan router starting");
    args.common.log.check(args.nats.as_deref())?;
    runtime()?.block_on(async move {
        let stop = shutdown::on_signal();
        let nats = edge(args.nats.as_deref(), &args.common.subject_prefix).await?;
        let stores = args.common.open(nats.as_ref()).await?;
        rules::put_in_force(&stores.log, args.common.rules.as_deref()).await?;
        let config = RouterConfig::new(Arc::new(aduan_domain::SystemClock));
        let mut tasks = Tasks::default();
        let (log, views) = (stores.log.clone(), stores.views.clone());
        spawn(&mut tasks, log, views, nats, config, stop).await?;
        finish(tasks, &stores).await
    })
}
