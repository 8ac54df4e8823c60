//! `aduan intake` (intake alone, on NATS) and the wiring `aduan serve` uses
//! for it.

use std::process::ExitCode;

use aduan_bus::Edge;
use aduan_intake::{Intake, ReporterKey};
use aduan_log_sled::SledLog;
use anyhow::Context;
use clap::Args;
use tokio::sync::watch;

use super::layout::{Layout, Stores, INTAKE_TREE};
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
/// where `layout` keeps it (created on first start).
pub async fn open(layout: &Layout, stores: &Stores) -> anyhow::Result<Intake<SledLog>> {
    let index = stores.views.open_tree(INTAKE_TREE)?;
    let key = ReporterKey::load_or_create(&layout.reporter_key())?;
    Ok(Intake::open(stores.log.clone(), index, key).await?)
}

/// Spawns intake's loops (the indexer; the NATS responder with `nats`).
pub fn spawn(
    tasks: &mut Tasks,
    intake: Intake<SledLog>,
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
    tracing::info!(data = %args.common.data.display(), nats = %redacted(&args.nats), "aduan intake starting");
    let layout = args.common.layout();
    let stores = layout.open()?;
    runtime()?.block_on(async move {
        let stop = shutdown::on_signal();
        let intake = open(&layout, &stores).await?;
        let nats = edge(Some(&args.nats), &args.common.subject_prefix).await?;
        let mut tasks = Tasks::default();
        spawn(&mut tasks, intake, nats, stop);
        finish(tasks, &stores).await
    })
}
