//! `aduan intake` (intake alone, on NATS) and the wiring `aduan serve` and
//! `aduan api` use for it. On a JetStream log several `aduan intake`
//! processes serve side by side: dedupe is the log's (each complaint's stream
//! is created with `NoStream`), and they share the reporter key's bucket.

use std::process::ExitCode;

use aduan_bus::Edge;
use aduan_intake::Intake;
use anyhow::Context;
use clap::Args;
use tokio::sync::watch;

use super::layout::{Stores, INTAKE_TREE};
use super::log::Log;
use super::process::{edge, finish, redacted, runtime, Common, Tasks};
use super::shutdown;

/// Flags of `aduan intake`.
#[derive(Debug, Clone, Args)]
pub struct IntakeArgs {
    #[command(flatten)]
    pub common: Common,
    /// NATS server URL.
    #[arg(
        long,
        env = "ADUAN_NATS",
        default_value = "nats://127.0.0.1:4222",
        value_parser = super::args::nats_url
    )]
    pub nats: String,
}

/// Intake over `stores`, its index in the views and its reporter-token key
/// from the stores' secrets (created on first start).
pub async fn open(stores: &Stores) -> anyhow::Result<Intake<Log>> {
    let index = stores.views.open_tree(INTAKE_TREE)?;
    let key = stores.secrets.reporter_key().await?;
    Ok(Intake::open(stores.log.clone(), index, key).await?)
}

/// Spawns intake's loops (the indexer; the NATS responder with `nats`).
pub fn spawn(
    tasks: &mut Tasks,
    intake: Intake<Log>,
    nats: Option<Edge>,
    stop: watch::Receiver<bool>,
) {
    tasks.spawn("intake", async move {
        aduan_intake::run(intake, nats, stop)
            .await
            .map_err(anyhow::Error::msg)
            .context("intake")
    });
}

/// Runs `aduan intake` until SIGTERM or Ctrl-C.
pub fn intake(args: IntakeArgs) -> anyhow::Result<ExitCode> {
    tracing::info!(data = %args.common.data.display(), nats = %redacted(&args.nats), log = ?args.common.log.backend, "aduan intake starting");
    runtime()?.block_on(async move {
        let stop = shutdown::on_signal();
        let nats = edge(Some(&args.nats), &args.common.subject_prefix).await?;
        let stores = args.common.open(nats.as_ref()).await?;
        let intake = open(&stores).await?;
        let mut tasks = Tasks::default();
        spawn(&mut tasks, intake, nats, stop);
        finish(tasks, &stores).await
    })
}
