//! `aduan router` (the router alone) and the wiring `aduan serve` uses for
//! it: put a rule set in force (`rules::put_in_force`), then run the router
//! with a JetStream sink when NATS is configured, else the in-process sink.
//! `aduan router` with NATS is elected: it campaigns for the router lease
//! and acts only while it holds it, so a second `aduan router` on the same
//! NATS stands by (no flag needed; see `aduan_router::run_elected`).

use std::process::ExitCode;
use std::sync::Arc;

use aduan_bus::Edge;
use aduan_router::{
    AssignmentSink, FencedSink, InboxStream, JetStreamSink, Lease, LeaseConfig, LocalSink,
    RouterConfig,
};
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
    /// Replicas of the `ADUAN_OPD` stream and the router lease's bucket when
    /// the router creates them: 1, or 3 on a three-node cluster.
    #[arg(long, env = "ADUAN_OPD_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    opd_replicas: u8,
}

/// Runs the router elected among its peers on `edge`'s NATS (see the module docs).
async fn spawn_elected(
    tasks: &mut Tasks,
    log: Log,
    views: aduan_kv::Db,
    edge: Edge,
    replicas: usize,
    config: RouterConfig,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let holder = format!("router-{}-{}", std::process::id(), nonce());
    let mut lease_config = LeaseConfig::new(holder, config.clock.clone());
    lease_config.replicas = replicas;
    let js = async_nats::jetstream::new(edge.client.clone());
    let lease = Lease::open(&js, lease_config).await?;
    let stream = InboxStream {
        replicas,
        ..InboxStream::default()
    };
    let sink = FencedSink::new(edge.client, edge.subjects, stream, lease).await?;
    tasks.spawn("router", async move {
        aduan_router::run_elected(log, &views, sink, config, stop)
            .await
            .context("router")
    });
    Ok(())
}

/// A few random characters, so two routers on one host differ even if a pid repeats.
fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{nanos:08x}")
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
        match nats {
            Some(edge) => {
                let replicas = usize::from(args.opd_replicas);
                spawn_elected(&mut tasks, log, views, edge, replicas, config, stop).await?
            }
            None => spawn(&mut tasks, log, views, None, config, stop).await?,
        }
        finish(tasks, &stores).await
    })
}
