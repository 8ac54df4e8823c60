//! `aduan bench`: aduan's durable appends side by side with JetStream and
//! PostgreSQL on this machine, printed as a Markdown table with ratios.

use std::process::ExitCode;

use aduan_bench::suite::{self, Plan};
use anyhow::Context;
use clap::Args;

/// Flags of `aduan bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Concurrent appenders, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
    pub appenders: Vec<usize>,
    /// Events per concurrency level (one appender does a tenth).
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Payload bytes per event.
    #[arg(long, default_value_t = 500)]
    pub payload: usize,
    /// PostgreSQL to compare with (the bench creates and drops database aduan_bench there).
    #[arg(
        long,
        env = "ADUAN_BENCH_POSTGRES",
        default_value = "host=127.0.0.1 user=postgres dbname=test"
    )]
    pub postgres: String,
    /// Skip the PostgreSQL peer.
    #[arg(long)]
    pub no_postgres: bool,
    /// Skip the JetStream peer (it needs nats-server on the PATH).
    #[arg(long)]
    pub no_jetstream: bool,
}

/// Runs the benchmark and prints its table.
pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!args.appenders.contains(&0), "--appenders must be positive");
    let plan = Plan {
        concurrency: args.appenders,
        events: args.events,
        payload: args.payload,
        postgres: (!args.no_postgres).then_some(args.postgres),
        jetstream: !args.no_jetstream,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    let rows = rt.block_on(suite::run(&plan, &mut |line| eprintln!("{line}")))?;
    println!(
        "Durable appends, {} B payloads, {} cores, {} GiB memory\n",
        plan.payload,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib()
    );
    println!("{}", aduan_bench::table(&rows));
    println!("{}", suite::ratios(&rows));
    Ok(ExitCode::SUCCESS)
}

fn memory_gib() -> u64 {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: u64 = info
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (kib as f64 / 1024.0 / 1024.0).round() as u64
}
