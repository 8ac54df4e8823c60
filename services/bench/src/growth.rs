//! Cost as work grows: logs of increasing size (1 M and 10 M events by
//! default), each written fresh, then for each: bytes on disk, the time to
//! open it and the resident memory right after (measured in a child process,
//! so nothing this process allocated before counts), and the verify, rebuild
//! and export rates. Each figure per event is compared between the smallest
//! and the largest log: within a quarter is linear growth.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};

use crate::replay;

/// The figures of one log size.
#[derive(Debug, Clone)]
pub struct Growth {
    /// Events in the log.
    pub events: u64,
    /// Bytes of the log directory on disk.
    pub disk_bytes: u64,
    /// Time to open the closed log.
    pub open: Duration,
    /// Resident memory of a process that has just opened it (KiB).
    pub rss_kib: u64,
    /// verify, export, rebuild and the store alone, in that order.
    pub passes: Vec<replay::Pass>,
}

/// Opens the log in `dir` and returns how long that took and this process's
/// resident memory after it; run it in a fresh process (`aduan bench
/// --probe-open DIR` does).
pub fn probe_open(dir: &Path) -> anyhow::Result<(Duration, u64)> {
    let t0 = Instant::now();
    let log = SledLog::open(SledOptions::new(dir))?;
    let open = t0.elapsed();
    let rss = rss_kib().ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/self/status"))?;
    log.close();
    Ok((open, rss))
}

/// Writes a log of each size in `sizes` and measures it; `probe` runs
/// [`probe_open`] in a child process.
pub async fn measure(
    sizes: &[u64],
    probe: &dyn Fn(&Path) -> anyhow::Result<(Duration, u64)>,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Vec<Growth>> {
    let mut out = Vec::new();
    for &events in sizes {
        let scratch = tempfile::tempdir()?;
        progress(&format!("growth: writing {events} events…"));
        let log = replay::populate(scratch.path(), events / 2).await?;
        let head = *log.head().borrow();
        log.close();
        drop(log);
        let disk_bytes = du(scratch.path())?;
        // The kernel writes what was just written back in the background,
        // for tens of seconds at 10 M events, competing with every pass timed
        // below (the open of 2026-12-02 took 10.9 s at 10 M events, 3.6-4.9 s
        // with nothing left to write back): wait for it first.
        progress(&format!("growth: writing {events} events back to disk…"));
        sync_all(scratch.path())?;
        let (open, rss_kib) = probe(scratch.path())?;
        let log = SledLog::open(SledOptions::new(scratch.path()))?;
        progress(&format!(
            "growth: verify, export, rebuild over {head} events…"
        ));
        let passes = replay::passes(&log).await?;
        log.close();
        out.push(Growth {
            events: head,
            disk_bytes,
            open,
            rss_kib,
            passes,
        });
    }
    Ok(out)
}

/// The figures as a Markdown table, then one line per figure saying how its
/// cost per event grew from the smallest log to the largest.
pub fn table(rows: &[Growth]) -> String {
    let mut out = String::from(
        "| events | disk MiB | bytes/event | open s | RSS after open MiB | verify ev/s | export ev/s | rebuild ev/s | store alone ev/s |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for g in rows {
        let rate = |i: usize| g.passes.get(i).map_or(0.0, replay::Pass::rate);
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            g.events,
            g.disk_bytes as f64 / 1_048_576.0,
            g.disk_bytes as f64 / g.events.max(1) as f64,
            g.open.as_secs_f64(),
            g.rss_kib as f64 / 1024.0,
            rate(0),
            rate(1),
            rate(2),
            rate(3),
        );
    }
    let (Some(small), Some(large)) = (rows.first(), rows.last()) else {
        return out;
    };
    if small.events == large.events {
        return out;
    }
    out.push('\n');
    let per_event = |g: &Growth, cost: f64| cost / g.events.max(1) as f64;
    let secs = |g: &Growth, i: usize| g.passes.get(i).map_or(0.0, |p| p.elapsed.as_secs_f64());
    let figures: [(&str, Cost); 7] = [
        ("disk bytes", &|g| g.disk_bytes as f64),
        ("open time", &|g| g.open.as_secs_f64()),
        ("RSS after open", &|g| g.rss_kib as f64),
        ("verify time", &|g| secs(g, 0)),
        ("export time", &|g| secs(g, 1)),
        ("rebuild time", &|g| secs(g, 2)),
        ("store alone time", &|g| secs(g, 3)),
    ];
    for (name, cost) in figures {
        let growth =
            per_event(large, cost(large)) / per_event(small, cost(small)).max(f64::MIN_POSITIVE);
        let verdict = if growth <= 1.25 {
            "linear"
        } else {
            "faster than linear"
        };
        let _ = writeln!(
            out,
            "- {name}: per event ×{growth:.2} from {} to {} events: {verdict}",
            small.events, large.events
        );
    }
    out
}

/// A figure of one log, to compare per event.
type Cost<'a> = &'a dyn Fn(&Growth) -> f64;

/// Bytes of every file under `dir`.
fn du(dir: &Path) -> anyhow::Result<u64> {
    files(dir)?
        .iter()
        .try_fold(0, |total, f| Ok(total + f.metadata()?.len()))
}

/// `fsync`s every file under `dir`.
fn sync_all(dir: &Path) -> anyhow::Result<()> {
    for f in files(dir)? {
        std::fs::File::open(f)?.sync_all()?;
    }
    Ok(())
}

/// Every file under `dir`, at any depth.
fn files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

/// This process's resident memory (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
