//! `aduan projections` (the read models alone, plus the NATS status query
//! with --nats) and `aduan projections rebuild` (drop and replay them, with a
//! progress bar); and the wiring `aduan serve` uses for both.

use std::process::ExitCode;
use std::sync::Arc;

use aduan_bus::Subjects;
use aduan_domain::SharedClock;
use aduan_log::EventLog;
use aduan_log_sled::SledLog;
use aduan_projections::Projections;
use aduan_rules::RuleSet;
use anyhow::Context;
use clap::{Args, Subcommand};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::serve::{connect, finish, load_rules, open_stores, runtime, Common};
use super::shutdown;

/// Flags of `aduan projections`.
#[derive(Debug, Clone, Args)]
pub struct ProjectionsArgs {
    #[command(subcommand)]
    cmd: Option<Sub>,
    #[command(flatten)]
    common: Common,
    /// NATS server URL: also answer `aduan.query.status`.
    #[arg(long, env = "ADUAN_NATS")]
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

/// What `spawn` needs.
pub struct Wiring<'a> {
    pub log: SledLog,
    pub views: &'a sled::Db,
    pub rules: Arc<RuleSet>,
    pub clock: SharedClock,
    pub nats: Option<async_nats::Client>,
    pub subjects: Subjects,
    pub stop: watch::Receiver<bool>,
}

/// Opens the read models and spawns their tailing loop (and the NATS status
/// query when connected) into `tasks`.
pub fn spawn(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    w: Wiring<'_>,
) -> anyhow::Result<Projections> {
    let p = Projections::open(w.views, w.rules).context("opening the read models")?;
    let (runner, log, stop) = (p.clone(), w.log, w.stop.clone());
    tasks.spawn(async move { runner.run(&log, stop).await.context("projections") });
    if let Some(client) = w.nats {
        let (q, stop) = (p.clone(), w.stop);
        tasks.spawn(async move {
            aduan_projections::nats::serve(q, w.clock, client, &w.subjects, stop)
                .await
                .map_err(anyhow::Error::msg)
        });
    }
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
    tracing::info!(data = %args.common.data.display(), nats = ?args.nats, "aduan projections starting");
    let rules = Arc::new(load_rules(args.common.rules.as_deref())?);
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
            views: &stores.views,
            rules,
            clock: Arc::new(aduan_domain::SystemClock),
            nats,
            subjects: Subjects::new(&args.common.subject_prefix),
            stop,
        };
        spawn(&mut tasks, wiring)?;
        finish(tasks, &stores).await
    })
}

fn rebuild(common: &Common) -> anyhow::Result<ExitCode> {
    let rules = Arc::new(load_rules(common.rules.as_deref())?);
    let stores = open_stores(&common.data)?;
    runtime()?.block_on(async move {
        let bar = indicatif::ProgressBar::new(*stores.log.head().borrow());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
            )
            .context("progress bar template")?,
        );
        let started = std::time::Instant::now();
        let p =
            aduan_projections::rebuild(&stores.log, &stores.views, rules, None, |done, head| {
                bar.set_length(head);
                bar.set_position(done);
            })
            .await
            .context("rebuilding the read models")?;
        bar.finish();
        stores.views.flush().context("flushing read models")?;
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let n = p.checkpoint();
        println!(
            "rebuilt read models from {n} events in {secs:.2} s ({:.0} events/s)",
            n as f64 / secs
        );
        stores.log.close();
        Ok(ExitCode::SUCCESS)
    })
}
