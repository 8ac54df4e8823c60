//! The `aduan` command: parses the command line, sets up tracing, and hands
//! over to one subcommand. Exit codes: 0 success, 1 a failed check or a
//! runtime failure, 2 bad usage.

use clap::{Parser, Subcommand};

mod cmd;

/// mimalloc, for the reasons in this crate's Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// aduan: the "no wrong door" dispatcher for public-service complaints.
#[derive(Debug, Parser)]
#[command(name = "aduan", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run all of aduan in one process over the embedded log (intake, router,
    /// projections, HTTP API; NATS when --nats is given).
    Serve(cmd::serve::ServeArgs),
    /// Run only the intake service on NATS (several side by side on
    /// `--log jetstream`).
    Intake(cmd::intake::IntakeArgs),
    /// Run the HTTP API and the OPD/admin command handler over read models
    /// of its own (a process of the JetStream deployment).
    Api(cmd::api::ApiArgs),
    /// Run the read models alone (and the NATS status query with --nats), or
    /// `rebuild` them from the log.
    Projections(cmd::projections::ProjectionsArgs),
    /// Run only the router: route complaints, publish assignments, escalate
    /// missed deadlines (JetStream OPD inboxes with --nats).
    Router(cmd::router::RouterArgs),
    /// Check, explain or publish a jurisdiction rule set.
    Rules(cmd::rules::RulesArgs),
    /// Measure durable appends against JetStream and PostgreSQL on this machine.
    Bench(cmd::bench::BenchArgs),
    /// Audit: a complaint's history, hash-chain verification, export and import.
    Audit(cmd::audit::AuditArgs),
    /// Issue API tokens (OPD, admin, auditor); only their hashes are stored.
    Token(cmd::token::TokenArgs),
    /// Generate deployment files from a rule set (the NATS authorization config).
    Deploy(cmd::deploy::DeployArgs),
}

impl Cmd {
    /// True for the long-running services.
    fn is_service(&self) -> bool {
        matches!(
            self,
            Self::Serve(_)
                | Self::Intake(_)
                | Self::Projections(_)
                | Self::Router(_)
                | Self::Api(_)
        )
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Services log what they do; one-shot tools print their answer and stay quiet.
    let default_filter = if cli.cmd.is_service() {
        "info,sled=warn,async_nats=warn"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.cmd {
        Cmd::Serve(args) => cmd::serve::serve(args),
        Cmd::Intake(args) => cmd::intake::intake(args),
        Cmd::Api(args) => cmd::api::api(args),
        Cmd::Projections(args) => cmd::projections::projections(args),
        Cmd::Router(args) => cmd::router::router(args),
        Cmd::Rules(args) => cmd::rules::rules(args),
        Cmd::Bench(args) => cmd::bench::bench(args),
        Cmd::Audit(args) => cmd::audit::audit(args),
        Cmd::Token(args) => cmd::token::token(args),
        Cmd::Deploy(args) => cmd::deploy::deploy(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            let usage = e.downcast_ref::<cmd::Usage>().is_some();
            std::process::ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
