//! The side-by-side run behind `aduan bench`: each system at each concurrency,
//! in one process on one machine, then the ratios.

use std::fmt::Write as _;

use crate::{
    intake as intake_bench, jetstream, jslog, log, postgres, reads, replay as replay_bench, Stats,
};

/// Most events each JetStream log row appends (a level with one appender a
/// tenth): an R1 stream commits an atomic batch in about 30 ms, so 200,000
/// events at 16 appenders would take minutes.
pub const JETSTREAM_LOG_EVENTS: u64 = 20_000;

/// The sled row's name (the ratios' numerator).
const SLED: &str = "aduan sled log";

/// Intake over NATS at each requester level.
pub async fn intake(
    levels: &[usize],
    submissions: u64,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Vec<Stats>> {
    let scratch = tempfile::tempdir()?;
    let server = jetstream::Server::start(&scratch.path().join("nats"))?;
    let mut rows = Vec::new();
    for &c in levels {
        let n = if c == 1 {
            (submissions / 10).max(500)
        } else {
            submissions
        };
        reset_peak_rss();
        let s =
            intake_bench::nats_submissions(&server, &scratch.path().join(format!("i{c}")), c, n)
                .await?;
        progress(&row(&s));
        rows.push(s);
    }
    Ok(rows)
}

/// The whole pipeline at each submission rate.
pub async fn pipeline(
    rates: &[u64],
    secs: u64,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Vec<Stats>> {
    let scratch = tempfile::tempdir()?;
    let server = jetstream::Server::start(&scratch.path().join("nats"))?;
    let mut rows = Vec::new();
    for &rate in rates {
        let dir = scratch.path().join(format!("p{rate}"));
        for s in crate::pipeline::submit_to_assignment(&server, &dir, rate, secs).await? {
            progress(&row(&s));
            rows.push(s);
        }
    }
    Ok(rows)
}

/// verify, export, rebuild and reopening over a fresh log of about `events`
/// events, then reading it whole beside the same events read from the peers
/// `peers` names.
pub async fn replay(
    events: u64,
    peers: &Peers,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Vec<replay_bench::Pass>> {
    let scratch = tempfile::tempdir()?;
    progress(&format!("writing {events} events…"));
    let log = replay_bench::populate(scratch.path(), events / 2).await?;
    let mut passes = replay_bench::passes(&log).await?;
    passes.push(reads::aduan(&log).await?);
    if peers.jetstream {
        match jetstream::Server::start(&scratch.path().join("nats")) {
            Ok(server) => passes.push(reads::jetstream(&log, &server).await?),
            Err(e) => progress(&format!("JetStream read peer skipped: {e}")),
        }
    }
    if let Some(url) = &peers.postgres {
        match postgres::setup(url, 1).await {
            Ok(pool) => {
                let read = reads::postgres(&log, &pool).await;
                pool.close();
                let _ = postgres::teardown(url).await;
                passes.push(read?);
            }
            Err(e) => progress(&format!(
                "PostgreSQL read peer skipped: cannot reach {url}: {e}"
            )),
        }
    }
    log.close();
    drop(log);
    passes.extend(replay_bench::reopen(scratch.path())?);
    for p in &passes {
        progress(&format!("{}: {:.0} events/s", p.what, p.rate()));
    }
    Ok(passes)
}

/// Which peers to compare with.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    /// PostgreSQL connection string, or None to skip that peer.
    pub postgres: Option<String>,
    /// Whether to run the JetStream peers.
    pub jetstream: bool,
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Concurrency levels (appenders).
    pub concurrency: Vec<usize>,
    /// Events per level (a level with one appender does a tenth, it is latency-bound).
    pub events: u64,
    /// Payload bytes per event.
    pub payload: usize,
    /// The peers.
    pub peers: Peers,
}

/// Runs the plan, reporting each row through `progress` as it is measured.
pub async fn run(plan: &Plan, progress: &mut dyn FnMut(&str)) -> anyhow::Result<Vec<Stats>> {
    let mut rows = Vec::new();
    let scratch = tempfile::tempdir()?;
    let mut peers = Vec::new();
    if plan.peers.jetstream {
        match jetstream::Server::start(&scratch.path().join("nats")) {
            Ok(s) => peers.push(s),
            Err(e) => progress(&format!("JetStream peer skipped: {e}")),
        }
        let fair = jetstream::fair_binary()
            .ok_or_else(|| {
                anyhow::anyhow!("nats-server 2.15.1 not installed (scripts/install-nats-2.15.sh)")
            })
            .and_then(|bin| jetstream::Server::start_fair(&bin, &scratch.path().join("nats-fair")));
        match fair {
            Ok(s) => peers.push(s),
            Err(e) => progress(&format!("fair JetStream peer skipped: {e}")),
        }
    }
    let js_logs = if plan.peers.jetstream {
        jetstream_logs(progress)
    } else {
        Vec::new()
    };
    let pg = match &plan.peers.postgres {
        Some(url) => match postgres::setup(url, 64).await {
            Ok(pool) => Some(pool),
            Err(e) => {
                progress(&format!("PostgreSQL peer skipped: cannot reach {url}: {e}"));
                None
            }
        },
        None => None,
    };
    for &c in &plan.concurrency {
        let events = if c == 1 {
            (plan.events / 10).max(1000)
        } else {
            plan.events
        };
        reset_peak_rss();
        let dir = scratch.path().join(format!("sled-{c}"));
        let s = log::sled_appends(&dir, c, events, plan.payload).await?;
        progress(&row(&s));
        rows.push(s);
        for server in &peers {
            let s = jetstream::appends(server, c, events, plan.payload).await?;
            progress(&row(&s));
            rows.push(s);
        }
        for peer in &js_logs {
            let n = events.min(JETSTREAM_LOG_EVENTS / if c == 1 { 10 } else { 1 });
            let s = jslog::appends(peer, c, n, plan.payload).await?;
            progress(&row(&s));
            rows.push(s);
        }
        if let Some(pool) = &pg {
            let s = postgres::appends(pool, c, events, plan.payload).await?;
            progress(&row(&s));
            rows.push(s);
        }
    }
    if let (Some(url), Some(pool)) = (&plan.peers.postgres, pg) {
        // Close the pool first, so dropping the database ends no live connection.
        pool.close();
        let _ = postgres::teardown(url).await;
    }
    Ok(rows)
}

/// aduan's JetStream log on one node and on a three-node cluster of
/// nats-server 2.15.1; a peer that does not start is reported and skipped.
fn jetstream_logs(progress: &mut dyn FnMut(&str)) -> Vec<jslog::Peer> {
    let Some(bin) = jetstream::fair_binary() else {
        progress("aduan JetStream log rows skipped: nats-server 2.15.1 not installed (scripts/install-nats-2.15.sh)");
        return Vec::new();
    };
    let mut logs = Vec::new();
    for start in [jslog::Peer::single, jslog::Peer::three] {
        match start(&bin) {
            Ok(p) => logs.push(p),
            Err(e) => progress(&format!("aduan JetStream log row skipped: {e}")),
        }
    }
    logs
}

fn row(s: &Stats) -> String {
    format!(
        "{} × {}: {:.0} events/s, p99 {} µs",
        s.system,
        s.concurrency,
        s.rate(),
        s.p99_us
    )
}

/// Resets this process's peak RSS so each aduan row reports its own peak (Linux).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Each aduan log's rate over each peer's, per concurrency level: the sled
/// log's over every other row's (the JetStream logs' included), a
/// JetStream log's over the peers that are not aduan's.
pub fn ratios(rows: &[Stats]) -> String {
    let mut out = String::new();
    for r in rows.iter().filter(|r| r.system.starts_with("aduan")) {
        let over = |p: &&Stats| {
            p.concurrency == r.concurrency
                && p.system != r.system
                && (r.system == SLED || !p.system.starts_with("aduan"))
        };
        for peer in rows.iter().filter(over) {
            let _ = writeln!(
                out,
                "- {} appenders: {} / {} = {:.2}×",
                r.concurrency,
                r.system,
                peer.system,
                r.rate() / peer.rate()
            );
        }
    }
    out
}

/// The highest pipeline rate among `rows` whose p99 stays under `p99_us`, as a sentence.
pub fn highest_rate_under(rows: &[Stats], p99_us: u64) -> String {
    let best = rows
        .iter()
        .filter(|r| r.system.contains("Assignment") && r.p99_us < p99_us)
        .max_by(|a, b| a.rate().total_cmp(&b.rate()));
    match best {
        Some(r) => format!(
            "Highest measured rate with p99 under {} ms: {} (delivered {:.0}/s, p99 {} µs).",
            p99_us / 1000,
            r.system,
            r.rate(),
            r.p99_us
        ),
        None => format!("No measured rate kept p99 under {} ms.", p99_us / 1000),
    }
}

/// Replay passes as a Markdown table.
pub fn passes_table(passes: &[replay_bench::Pass]) -> String {
    let mut out =
        String::from("| pass | events | seconds | events/s |\n| --- | ---: | ---: | ---: |\n");
    for p in passes {
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} | {:.0} |",
            p.what,
            p.events,
            p.elapsed.as_secs_f64(),
            p.rate()
        );
    }
    out
}
