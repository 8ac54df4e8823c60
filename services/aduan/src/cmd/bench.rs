//! `aduan bench`: aduan's durable appends side by side with JetStream and
//! PostgreSQL on this machine, printed as a Markdown table with ratios.

use std::process::ExitCode;

use aduan_bench::suite::{self, Plan};
use anyhow::Context;
use clap::Args;

/// What `aduan bench` can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// Durable appends: aduan's log, JetStream, PostgreSQL.
    Log,
    /// Submissions over NATS request-reply.
    Intake,
    /// Submit over NATS → Assignment received from JetStream, at fixed rates.
    Pipeline,
    /// verify, export and projection rebuild on a large log.
    Replay,
}

/// Flags of `aduan bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Parts to run (default: all).
    #[arg(value_enum)]
    pub parts: Vec<Part>,
    /// Concurrent requesters for the intake part, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64", value_parser = super::args::positive)]
    pub requesters: Vec<usize>,
    /// Submissions per requester level (one requester does a tenth).
    #[arg(long, default_value_t = 40_000)]
    pub submissions: u64,
    /// Submission rates of the pipeline part, per second, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000", value_parser = super::args::positive_u64)]
    pub pipeline_rates: Vec<u64>,
    /// Seconds each pipeline rate runs.
    #[arg(long, default_value_t = 5)]
    pub pipeline_secs: u64,
    /// Events in the replay part's log (two per complaint).
    #[arg(long, default_value_t = 1_000_000)]
    pub replay_events: u64,
    /// Concurrent appenders, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,256", value_parser = super::args::positive)]
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

/// Runs the benchmark and prints its tables.
pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let all = args.parts.is_empty();
    let wants = |p: Part| all || args.parts.contains(&p);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    println!(
        "aduan bench, {}: {} cores, {} GiB memory\n",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib()
    );
    if wants(Part::Log) {
        let plan = Plan {
            concurrency: args.appenders.clone(),
            events: args.events,
            payload: args.payload,
            postgres: (!args.no_postgres).then(|| args.postgres.clone()),
            jetstream: !args.no_jetstream,
        };
        let rows = rt.block_on(suite::run(&plan, &mut |line| eprintln!("{line}")))?;
        println!("Durable appends, {} B payloads\n", plan.payload);
        println!("{}", aduan_bench::table(&rows));
        println!("{}", suite::ratios(&rows));
    }
    if wants(Part::Intake) {
        let rows = rt.block_on(suite::intake(
            &args.requesters,
            args.submissions,
            &mut |l| eprintln!("{l}"),
        ))?;
        println!("Intake over NATS request-reply (protobuf, reply after the event is durable)\n");
        println!("{}", aduan_bench::table(&rows));
    }
    if wants(Part::Pipeline) {
        let rows = rt.block_on(suite::pipeline(
            &args.pipeline_rates,
            args.pipeline_secs,
            &mut |l| eprintln!("{l}"),
        ))?;
        println!("Pipeline: submit over NATS → Assignment received on JetStream (ADUAN_OPD)\n");
        println!("{}", aduan_bench::table(&rows));
    }
    if wants(Part::Replay) {
        let passes = rt.block_on(suite::replay(args.replay_events, &mut |l| eprintln!("{l}")))?;
        println!("Replay over a log of {} events\n", args.replay_events);
        println!("| pass | events | seconds | events/s |\n| --- | ---: | ---: | ---: |");
        for p in passes {
            println!(
                "| {} | {} | {:.2} | {:.0} |",
                p.what,
                p.events,
                p.elapsed.as_secs_f64(),
                p.rate()
            );
        }
        println!();
    }
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
