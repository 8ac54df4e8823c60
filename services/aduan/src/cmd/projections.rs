//! `aduan projections` (the read models alone, plus the NATS status query
//! with --nats) and `aduan projections rebuild` (drop and replay them, with a
//! progress bar); and the wiring `aduan serve` uses for both.

use std::process::ExitCode;
use std::sync::Arc;

use aduan_bus::Edge;
use aduan_domain::SharedClock;
use aduan_log::EventLog;
use aduan_projections::Projections;
use anyhow::Context;
use clap::{Args, Subcommand};
use tokio::sync::watch;

use super::log::{Backend, Log};
use super::process::{edge, finish, redacted, runtime, Common, Tasks};
use super::shutdown;

/// Flags of `aduan projections`.
#[derive(Debug, Clone, Args)]
pub struct ProjectionsArgs {
    #[command(subcommand)]
    cmd: Option<Sub>,
    #[command(flatten)]
    common: Common,
    /// NATS server URL: also answer `aduan.query.status`.
    #[arg(long, env = "ADUAN_NATS", value_parser = super::args::nats_url)]
    nats: Option<String>,
}

#[derive(Debug, Clone, Subcommand)]
enum Sub {
    /// Drop the read models and replay the whole log into them (stop `aduan serve` first).
    Rebuild {
        #[command(flatten)]
        common: Common,
    },
}

/// Opens the read models in `views` and spawns their loop (tailing `log`;
/// with `nats`, answering status queries by `clock`).
pub fn spawn(
    tasks: &mut Tasks,
    log: Log,
    views: &aduan_kv::Db,
    nats: Option<Edge>,
    clock: SharedClock,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Projections> {
    let p = Projections::open(views).context("opening the read models")?;
    let runner = p.clone();
    tasks.spawn("projections", async move {
        aduan_projections::run(runner, log, nats.map(|e| (e, clock)), stop)
            .await
            .context("projections")
    });
    Ok(p)
}

/// Runs `aduan projections` or `aduan projections rebuild`.
pub fn projections(args: ProjectionsArgs) -> anyhow::Result<ExitCode> {
    match args.cmd {
        Some(Sub::Rebuild { common }) => rebuild(&common),
        None => run(args),
    }
}

fn run(args: ProjectionsArgs) -> anyhow::Result<ExitCode> {
    tracing::info!(data = %args.common.data.display(), nats = ?args.nats.as_deref().map(redacted), log = ?args.common.log.backend, "aduan projections starting");
    args.common.log.check(args.nats.as_deref())?;
    runtime()?.block_on(async move {
        let stop = shutdown::on_signal();
        let nats = edge(args.nats.as_deref(), &args.common.subject_prefix).await?;
        let stores = args.common.open(nats.as_ref()).await?;
        let mut tasks = Tasks::default();
        let clock = Arc::new(aduan_domain::SystemClock);
        spawn(
            &mut tasks,
            stores.log.clone(),
            &stores.views,
            nats,
            clock,
            stop,
        )?;
        finish(tasks, &stores).await
    })
}

fn rebuild(common: &Common) -> anyhow::Result<ExitCode> {
    if common.log.backend == Backend::JetStream {
        return Err(super::Usage(
            "`projections rebuild` works on the sled log; a process on the JetStream log \
             rebuilds its read models when started on an empty --data"
                .to_owned(),
        )
        .into());
    }
    let stores = common.layout().open()?;
    runtime()?.block_on(async move {
        let bar = indicatif::ProgressBar::new(*stores.log.head().borrow());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
            )
            .context("progress bar template")?,
        );
        let started = std::time::Instant::now();
        let p = aduan_projections::rebuild(&stores.log, &stores.views, None, |done, head| {
            bar.set_length(head);
            bar.set_position(done);
        })
        .await
        .context("rebuilding the read models")?;
        bar.finish();
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let n = p.checkpoint();
        println!(
            "rebuilt read models from {n} events in {secs:.2} s ({:.0} events/s)",
            n as f64 / secs
        );
        stores.close().await?;
        Ok(ExitCode::SUCCESS)
    })
}
