//! `aduan serve`: every service in one process over the embedded log (or
//! the JetStream log with `--log jetstream`), wired here and run by their own
//! crates; HTTP always, NATS with `--nats`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use aduan_complaints::{At, ComplaintStore};
use aduan_router::RouterConfig;
use anyhow::Context;
use clap::Args;

use super::api::Front;
use super::process::{edge, redacted, runtime, Common, Tasks};
use super::{intake, projections, router, rules, shutdown};

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
    #[arg(long, env = "ADUAN_NATS", value_parser = super::args::nats_url)]
    pub nats: Option<String>,
    /// Events the read models may lag behind the log before `/readyz`
    /// says the process is not ready.
    #[arg(long, env = "ADUAN_READY_MAX_LAG", default_value_t = aduan_api::health::DEFAULT_MAX_LAG)]
    pub ready_max_lag: u64,
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

/// Runs `aduan serve` until SIGTERM or Ctrl-C, or until a service fails (exit
/// 1, so a supervisor restarts it with the stores reopened).
pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let common = &args.common;
    tracing::info!(data = %common.data.display(), http = %args.http, rules = ?common.rules, nats = ?args.nats.as_deref().map(redacted), log = ?common.log.backend, "aduan serve starting");
    common.log.check(args.nats.as_deref())?;
    runtime()?.block_on(async {
        let (trigger, stop) = shutdown::on_signal_or_failure();
        let offset = time::Duration::seconds(args.clock_offset_secs);
        let clock: aduan_domain::SharedClock = Arc::new(aduan_domain::OffsetClock { offset });
        let nats = edge(args.nats.as_deref(), &common.subject_prefix).await?;
        let stores = common.open(nats.as_ref()).await?;
        // In force before intake takes complaints, so all of this run's are routed by it.
        rules::put_in_force(&stores.log, common.rules.as_deref()).await?;
        let complaints = ComplaintStore::new(stores.log.clone(), clock.clone());
        let in_force = complaints
            .rules_in_force(At::Latest)
            .await?
            .context("no rule set in force after putting one in force")?;
        let health = aduan_api::health::Health::new(args.ready_max_lag);
        let mut tasks = Tasks::new(health.clone());
        let (log, views) = (stores.log.clone(), stores.views.clone());
        let config = RouterConfig::new(clock.clone());
        router::spawn(&mut tasks, log, views, nats.clone(), config, stop.clone()).await?;
        let intake = intake::open(&stores).await?;
        intake::spawn(&mut tasks, intake.clone(), nats.clone(), stop.clone());
        let log = stores.log.clone();
        let projections = projections::spawn(
            &mut tasks,
            log,
            &stores.views,
            nats.clone(),
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
