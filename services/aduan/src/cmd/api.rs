//! `aduan api` (the HTTP API and the OPD/admin command handler, over read
//! models of its own) and the wiring of both that `aduan serve` shares.
//!
//! On the JetStream log, `aduan api` is one of several processes: it folds
//! the log into the read models of its own --data, takes HTTP submissions
//! through an intake of its own (dedupe is the log's), reads tokens from the
//! `aduan_tokens` bucket, and answers `aduan.opd.<org>.cmd` and
//! `aduan.admin.<org>.cmd` on NATS. It does not route (run `aduan router`)
//! and does not publish a rule set: it waits for the one in force.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aduan_api::ApiState;
use aduan_bus::Edge;
use aduan_complaints::{At, ComplaintStore};
use aduan_domain::SharedClock;
use aduan_rules::RuleSet;
use anyhow::Context;
use clap::Args;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::layout::Stores;
use super::log::Log;
use super::process::{edge, finish, listen, redacted, runtime, stop_on_failure, Common, Tasks};
use super::{intake, projections, rules, shutdown};

/// Flags of `aduan api`.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    #[command(flatten)]
    pub common: Common,
    /// Address the HTTP API listens on.
    #[arg(long, env = "ADUAN_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// NATS server URL: answer OPD and admin commands on NATS (and, with
    /// --log jetstream, the server holding the log, tokens and keys).
    #[arg(long, env = "ADUAN_NATS", value_parser = super::args::nats_url)]
    pub nats: Option<String>,
    /// Events the read models may lag behind the log before `/readyz`
    /// says the process is not ready.
    #[arg(long, env = "ADUAN_READY_MAX_LAG", default_value_t = aduan_api::health::DEFAULT_MAX_LAG)]
    pub ready_max_lag: u64,
}

/// What the HTTP API and the command handler serve from.
pub struct Front {
    /// The complaints over the log (commands, rule sets).
    pub complaints: ComplaintStore<Log>,
    /// Intake, for HTTP submissions.
    pub intake: aduan_intake::Intake<Log>,
    /// The read models.
    pub projections: aduan_projections::Projections,
    /// The rule set in force.
    pub rules: Arc<RuleSet>,
    /// The rule file given with --rules, for its region boundaries.
    pub rule_file: Option<std::path::PathBuf>,
    /// The clock of deadlines.
    pub clock: SharedClock,
    /// The health registry of the process.
    pub health: aduan_api::health::Health,
}

impl Front {
    /// Spawns the front ([`Front::spawn`]) beside `tasks` and runs until
    /// `stop` (or until a service fails, which pulls `trigger`); then lets
    /// requests in flight finish, stops the services and closes `stores`.
    /// Exit 1 when a service failed.
    pub async fn run(
        self,
        mut tasks: Tasks,
        stores: &Stores,
        nats: Option<Edge>,
        http: SocketAddr,
        stop: watch::Receiver<bool>,
        trigger: &watch::Sender<bool>,
    ) -> anyhow::Result<ExitCode> {
        let server = self
            .spawn(&mut tasks, stores, nats, http, stop.clone())
            .await?;
        let failed = stop_on_failure(&mut tasks, stop, trigger).await;
        server.await??;
        let code = finish(tasks, stores).await?;
        Ok(if failed { ExitCode::from(1) } else { code })
    }

    /// Spawns the command handler (with NATS) into `tasks` and the HTTP API
    /// with the web console on `http`; returns the HTTP server's task.
    pub async fn spawn(
        self,
        tasks: &mut Tasks,
        stores: &Stores,
        nats: Option<Edge>,
        http: SocketAddr,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
        let boundaries = rules::boundaries(self.rule_file.as_deref(), &self.rules)?;
        let commands = aduan_commands::Commands::with_store(self.complaints);
        if let Some(edge) = nats {
            let (commands, stop) = (commands.clone(), stop.clone());
            tasks.spawn("commands", async move {
                aduan_commands::run(commands, edge, stop)
                    .await
                    .map_err(anyhow::Error::msg)
            });
        }
        let state = ApiState {
            log: stores.log.clone(),
            intake: self.intake,
            rules: self.rules,
            tokens: stores.secrets.tokens().await?,
            commands,
            projections: self.projections,
            clock: self.clock,
            health: self.health,
            boundaries,
        };
        let listener = listen(http).await?;
        Ok(tokio::spawn(async move {
            aduan_console::run(listener, state, stop)
                .await
                .context("HTTP server")
        }))
    }
}

/// The rule set in force in the log, waited for (another process, the
/// router, puts it in force) until `stop`.
async fn rules_in_force(
    complaints: &ComplaintStore<Log>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Option<Arc<RuleSet>>> {
    let mut said = false;
    loop {
        if let Some(r) = complaints.rules_in_force(At::Latest).await? {
            return Ok(Some(r));
        }
        if !said {
            tracing::info!("waiting for a rule set in force (`aduan router` puts one in force)");
            said = true;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = stop.wait_for(|v| *v) => return Ok(None),
        }
    }
}

/// Runs `aduan api` until SIGTERM or Ctrl-C, or until a service fails (exit 1).
pub fn api(args: ApiArgs) -> anyhow::Result<ExitCode> {
    let common = &args.common;
    tracing::info!(data = %common.data.display(), http = %args.http, nats = ?args.nats.as_deref().map(redacted), log = ?common.log.backend, "aduan api starting");
    common.log.check(args.nats.as_deref())?;
    runtime()?.block_on(async {
        let (trigger, stop) = shutdown::on_signal_or_failure();
        let clock: SharedClock = Arc::new(aduan_domain::SystemClock);
        let nats = edge(args.nats.as_deref(), &common.subject_prefix).await?;
        let stores = common.open(nats.as_ref()).await?;
        let complaints = ComplaintStore::new(stores.log.clone(), clock.clone());
        let Some(in_force) = rules_in_force(&complaints, stop.clone()).await? else {
            stores.close().await?;
            return Ok(ExitCode::SUCCESS);
        };
        let health = aduan_api::health::Health::new(args.ready_max_lag);
        let mut tasks = Tasks::new(health.clone());
        let intake = intake::open(&stores).await?;
        intake::spawn(&mut tasks, intake.clone(), None, stop.clone());
        let log = stores.log.clone();
        let projections = projections::spawn(
            &mut tasks,
            log,
            &stores.views,
            None,
            clock.clone(),
            stop.clone(),
        )?;
        let front = Front {
            complaints,
            intake,
            projections,
            rules: in_force,
            rule_file: common.rules.clone(),
            clock,
            health,
        };
        front
            .run(tasks, &stores, nats, args.http, stop, &trigger)
            .await
    })
}
