//! `aduan serve` (everything in one process) and `aduan intake` (intake alone).

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use aduan_api::ApiState;
use aduan_bus::Subjects;
use aduan_complaints::{At, ComplaintStore};
use aduan_intake::{Intake, ReporterKey};
use aduan_log_sled::SledLog;
use anyhow::Context;
use clap::Args;

use super::shutdown;

/// The sample rule set, built in so `aduan serve` runs from anywhere.
pub(super) const SAMPLE_RULES: &str = include_str!("../../../../deploy/rules/sample.toml");

/// Where the data lives and how to reach NATS; shared by the service commands.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Data directory: the event log (`log/`), the read models (`views/`) and
    /// the reporter-token key (`keys/reporter.key`, created on first start).
    #[arg(long, env = "ADUAN_DATA", default_value = "./data")]
    pub data: PathBuf,
    /// Jurisdiction rule set (TOML), published when it differs from the one in
    /// force; default: the one in force in the log, or the built-in sample
    /// (deploy/rules/sample.toml) when the log has none.
    #[arg(long, env = "ADUAN_RULES")]
    pub rules: Option<PathBuf>,
    /// Subject prefix on NATS.
    #[arg(long, env = "ADUAN_SUBJECT_PREFIX", default_value = "aduan")]
    pub subject_prefix: String,
}

/// Flags of `aduan serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: Common,
    /// Address the HTTP API listens on.
    #[arg(long, env = "ADUAN_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// NATS server URL (e.g. nats://127.0.0.1:4222); without it aduan runs
    /// with an in-process bus and speaks HTTP only.
    #[arg(long, env = "ADUAN_NATS")]
    pub nats: Option<String>,
    /// Shift the clock deadlines are judged by, in seconds (for drills and
    /// end-to-end tests of escalation and auto-close; never in production).
    #[arg(
        long,
        env = "ADUAN_CLOCK_OFFSET_SECS",
        default_value_t = 0,
        hide = true
    )]
    pub clock_offset_secs: i64,
}

/// Flags of `aduan intake`.
#[derive(Debug, Clone, Args)]
pub struct IntakeArgs {
    #[command(flatten)]
    pub common: Common,
    /// NATS server URL.
    #[arg(long, env = "ADUAN_NATS", default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
}

/// The opened stores of a data directory.
pub(super) struct Stores {
    pub(super) log: SledLog,
    pub(super) views: sled::Db,
    /// The same `views` database, as the projections see it.
    pub(super) read_models: aduan_kv::Db,
}

pub(super) fn open_stores(data: &Path) -> anyhow::Result<Stores> {
    let log = super::data::open_log(data)?;
    let views = sled::open(data.join("views"))
        .with_context(|| format!("cannot open read models in {}", data.display()))?;
    let read_models = aduan_kv_sled::wrap(views.clone());
    Ok(Stores {
        log,
        views,
        read_models,
    })
}

/// Intake over the stores, with its index in the views and the reporter-token
/// key in `data/keys/reporter.key` (created on first start).
async fn open_intake(stores: &Stores, data: &Path) -> anyhow::Result<Intake<SledLog>> {
    let index = aduan_kv_sled::wrap(stores.views.clone()).open_tree("intake")?;
    let key = ReporterKey::load_or_create(&data.join("keys").join("reporter.key"))?;
    Ok(Intake::open(stores.log.clone(), index, key).await?)
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

pub(super) async fn connect(url: &str) -> anyhow::Result<async_nats::Client> {
    async_nats::ConnectOptions::new()
        .name("aduan")
        .retry_on_initial_connect()
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to NATS at {url}"))
}

/// Runs `aduan serve` until SIGTERM or Ctrl-C.
pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing::info!(
        data = %args.common.data.display(),
        http = %args.http,
        rules = ?args.common.rules,
        nats = ?args.nats,
        "aduan serve starting"
    );
    let stores = open_stores(&args.common.data)?;
    runtime()?.block_on(async move {
        let (trigger, stop) = shutdown::on_signal_or_failure();
        let offset = time::Duration::seconds(args.clock_offset_secs);
        let clock: aduan_domain::SharedClock = Arc::new(aduan_domain::OffsetClock { offset });
        // One connection serves every subject: NATS multiplexes it.
        let nats = match &args.nats {
            Some(url) => Some(connect(url).await?),
            None => None,
        };
        let intake = open_intake(&stores, &args.common.data).await?;
        let mut tasks = tokio::task::JoinSet::new();
        // The rule set is put in force before intake takes complaints, so every
        // complaint of this run is routed by it.
        let router = super::router::Wiring {
            log: stores.log.clone(),
            views: aduan_kv_sled::wrap(stores.views.clone()),
            rules: args.common.rules.as_deref(),
            nats: nats.clone(),
            subjects: Subjects::new(&args.common.subject_prefix),
            stop: stop.clone(),
            clock: clock.clone(),
        };
        super::router::spawn(&mut tasks, router).await?;
        let complaints = ComplaintStore::new(stores.log.clone(), clock.clone());
        let rules = complaints
            .rules_in_force(At::Latest)
            .await
            .context("reading the rule set in force")?
            .context("no rule set in force after publishing one")?;
        let indexer = intake.clone();
        let s = stop.clone();
        tasks.spawn(async move {
            indexer.run_indexer(s).await;
            Ok(())
        });
        if let Some(client) = nats.clone() {
            let subjects = Subjects::new(&args.common.subject_prefix);
            let (i, s) = (intake.clone(), stop.clone());
            tasks.spawn(async move {
                aduan_intake::nats::serve(i, client, &subjects, s)
                    .await
                    .map_err(anyhow::Error::msg)
            });
        }
        let commands = aduan_commands::Commands::with_store(complaints);
        let projections = super::projections::spawn(
            &mut tasks,
            super::projections::Wiring {
                log: stores.log.clone(),
                views: &stores.read_models,
                clock: clock.clone(),
                nats: nats.clone(),
                subjects: Subjects::new(&args.common.subject_prefix),
                stop: stop.clone(),
            },
        )?;
        if let Some(client) = nats {
            let subjects = Subjects::new(&args.common.subject_prefix);
            let (c, s) = (commands.clone(), stop.clone());
            tasks.spawn(async move {
                aduan_commands::nats::serve(c, client, subjects, s)
                    .await
                    .map_err(anyhow::Error::msg)
            });
        }
        let state = ApiState {
            log: stores.log.clone(),
            intake,
            rules,
            tokens: aduan_api::auth::Tokens::in_data_dir(&args.common.data),
            commands: commands.clone(),
            projections,
            clock,
        };
        let listener = tokio::net::TcpListener::bind(args.http)
            .await
            .with_context(|| format!("cannot listen on {}", args.http))?;
        tracing::info!(addr = %args.http, "HTTP API listening");
        let server = axum::serve(listener, aduan_api::app(state))
            .with_graceful_shutdown(shutdown::wait(stop.clone()));
        let server = tokio::spawn(server.into_future());
        // A service that fails (its store refused a write, say) stops the whole
        // process with exit 1, so a supervisor restarts it with the stores
        // reopened, instead of serving on with a dead router or read model.
        let failure = tokio::select! {
            _ = shutdown::wait(stop.clone()) => None,
            e = first_failure(&mut tasks) => Some(e),
        };
        if let Some(e) = &failure {
            tracing::error!(error = %e, "a service failed; stopping aduan");
            trigger.send_replace(true);
        }
        server.await?.context("HTTP server")?;
        let code = finish(tasks, &stores).await?;
        Ok(if failure.is_some() {
            ExitCode::from(1)
        } else {
            code
        })
    })
}

/// The first service that stops with an error (a clean early stop is not one).
async fn first_failure(tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>) -> anyhow::Error {
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r.map_err(anyhow::Error::from).and_then(|r| r) {
            return e;
        }
    }
    std::future::pending().await
}

/// Runs `aduan intake` until SIGTERM or Ctrl-C.
pub fn intake(args: IntakeArgs) -> anyhow::Result<ExitCode> {
    tracing::info!(data = %args.common.data.display(), nats = %args.nats, "aduan intake starting");
    let stores = open_stores(&args.common.data)?;
    runtime()?.block_on(async move {
        let stop = shutdown::on_signal();
        let intake = open_intake(&stores, &args.common.data).await?;
        let client = connect(&args.nats).await?;
        let subjects = Subjects::new(&args.common.subject_prefix);
        let mut tasks = tokio::task::JoinSet::new();
        let (indexer, s) = (intake.clone(), stop.clone());
        tasks.spawn(async move {
            indexer.run_indexer(s).await;
            Ok(())
        });
        aduan_intake::nats::serve(intake, client, &subjects, stop)
            .await
            .map_err(anyhow::Error::msg)?;
        finish(tasks, &stores).await
    })
}

/// Waits for every loop to drain, then makes the read models and the log durable.
pub(super) async fn finish(
    mut tasks: tokio::task::JoinSet<anyhow::Result<()>>,
    stores: &Stores,
) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r.map_err(anyhow::Error::from).and_then(|r| r) {
            tracing::error!(error = %e, "a service stopped with an error");
            failed = true;
        }
    }
    stores.views.flush().context("flushing read models")?;
    stores.log.close();
    tracing::info!("stopped cleanly");
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
