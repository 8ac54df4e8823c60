//! `aduan bench`: aduan's durable appends side by side with JetStream and
//! PostgreSQL on this machine, printed as a Markdown table with ratios.

use std::path::Path;
use std::process::ExitCode;

use aduan_bench::growth::{self, Probe, Probed};
use aduan_bench::suite::{self, Peers, Plan};
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
    /// verify, export, projection rebuild and whole reads on a large log,
    /// the reads beside JetStream's and PostgreSQL's.
    Replay,
    /// Logs of growing size: disk, open time, memory, verify, export and
    /// rebuild per size (only when named: it writes 14 M events by default).
    Growth,
}

/// Flags of `aduan bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Parts to run (default: all but growth).
    #[arg(value_enum)]
    pub parts: Vec<Part>,
    /// Every part once at its smallest sizes, as a smoke test that the
    /// command still runs (the test script does this); figures mean nothing.
    #[arg(long)]
    pub smoke: bool,
    /// Concurrent requesters for the intake part, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64", value_parser = super::args::positive)]
    pub requesters: Vec<usize>,
    /// Submissions per requester level (one requester does a tenth).
    #[arg(long, default_value_t = 40_000)]
    pub submissions: u64,
    /// Submission rates of the pipeline part, per second, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,2000,3000,5000", value_parser = super::args::positive_u64)]
    pub pipeline_rates: Vec<u64>,
    /// Seconds each pipeline rate runs.
    #[arg(long, default_value_t = 5)]
    pub pipeline_secs: u64,
    /// Events in the replay part's log (two per complaint).
    #[arg(long, default_value_t = 1_000_000)]
    pub replay_events: u64,
    /// Events in each log of the growth part, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000000,3000000,10000000", value_parser = super::args::positive_u64)]
    pub growth_events: Vec<u64>,
    /// Times one pass (open, verify, export or rebuild) over the log in DIR
    /// and prints its figures on one line (the growth part runs each pass so,
    /// in a child process).
    #[arg(long, hide = true, num_args = 2, value_names = ["PASS", "DIR"])]
    pub probe: Vec<String>,
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
pub fn bench(mut args: BenchArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    if let [pass, dir] = args.probe.as_slice() {
        let probed = rt.block_on(growth::probe(dir.as_ref(), pass.parse()?))?;
        println!("{}", probed.line());
        return Ok(ExitCode::SUCCESS);
    }
    if args.smoke {
        args.smallest();
    }
    let all = args.parts.is_empty();
    let wants = |p: Part| (all && p != Part::Growth) || args.parts.contains(&p);
    println!(
        "aduan bench, {}: {} cores, {} GiB memory\n",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib()
    );
    let peers = Peers {
        postgres: (!args.no_postgres).then(|| args.postgres.clone()),
        jetstream: !args.no_jetstream,
    };
    if wants(Part::Log) {
        let plan = Plan {
            concurrency: args.appenders.clone(),
            events: args.events,
            payload: args.payload,
            peers: peers.clone(),
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
        println!("{}\n", suite::highest_rate_under(&rows, 10_000));
    }
    if wants(Part::Replay) {
        let passes = rt.block_on(suite::replay(args.replay_events, &peers, &mut |l| {
            eprintln!("{l}")
        }))?;
        println!("Replay over a log of {} events\n", args.replay_events);
        println!("{}", suite::passes_table(&passes));
    }
    if wants(Part::Growth) {
        let exe = std::env::current_exe().context("this program's path")?;
        let prober = |dir: &Path, pass| probe_in_child(&exe, dir, pass);
        let rows = rt.block_on(growth::measure(&args.growth_events, &prober, &mut |l| {
            eprintln!("{l}")
        }))?;
        println!("Cost as the log grows (two events per complaint)\n");
        println!("{}", growth::table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

impl BenchArgs {
    /// The smallest sizes of every part, for `--smoke`.
    fn smallest(&mut self) {
        self.appenders = vec![1, 4];
        self.events = 2_000;
        self.requesters = vec![1, 4];
        self.submissions = 200;
        self.pipeline_rates = vec![100];
        self.pipeline_secs = 1;
        self.replay_events = 2_000;
        self.growth_events = vec![1_000, 4_000];
        if self.parts.is_empty() {
            self.parts = vec![
                Part::Log,
                Part::Intake,
                Part::Pipeline,
                Part::Replay,
                Part::Growth,
            ];
        }
    }
}

/// Runs `aduan bench --probe PASS DIR` with the binary `exe` and reads its line.
fn probe_in_child(exe: &Path, dir: &Path, pass: Probe) -> anyhow::Result<Probed> {
    let out = std::process::Command::new(exe)
        .args(["bench", "--probe", pass.as_str()])
        .arg(dir)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "probe {} of {} failed: {}",
        pass.as_str(),
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Probed::parse(String::from_utf8_lossy(&out.stdout).trim())
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
