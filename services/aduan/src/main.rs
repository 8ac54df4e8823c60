//! The `aduan` command: parses the command line, sets up tracing, and hands
//! over to one subcommand. Exit codes: 0 success, 1 a failed check or a
//! runtime failure, 2 bad usage.

use clap::{Parser, Subcommand};

mod cmd;

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
    /// Run only the intake service on NATS.
    Intake(cmd::serve::IntakeArgs),
    /// Measure durable appends against JetStream and PostgreSQL on this machine.
    Bench(cmd::bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sled=warn,async_nats=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.cmd {
        Cmd::Serve(args) => cmd::serve::serve(args),
        Cmd::Intake(args) => cmd::serve::intake(args),
        Cmd::Bench(args) => cmd::bench::bench(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
