//! Cost as work grows: logs of increasing size (1 M, 3 M and 10 M events by
//! default), each written fresh, then for each: bytes on disk, the time to
//! open it (the first open after it was written, and again), the resident
//! memory right after the first, and the verify, export and rebuild rates.
//! Each figure per event is compared between the smallest and the largest
//! log: within a quarter is linear growth.
//!
//! Every timed pass runs alone in a fresh process ([`probe`], which `aduan
//! bench --probe PASS DIR` runs), so that nothing one pass leaves behind
//! speeds up or slows down the next: at 1 M events the log fits sled's cache
//! (1 GiB by default), so an export right after a verify in the same process
//! read it from memory, where at 10 M events it read the file again; and the
//! process that has just written the log starts with its allocator's memory
//! already mapped.
//! Every pass is timed [`REPEATS`] times, alternating between the sizes,
//! and its median kept.

use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};

use crate::replay;

/// Times the open, verify and export are each timed per log.
pub const REPEATS: usize = 3;

/// The figures of one log size.
#[derive(Debug, Clone)]
pub struct Growth {
    /// Events in the log.
    pub events: u64,
    /// Bytes of the log directory on disk.
    pub disk_bytes: u64,
    /// The first open after the log was written, with its files evicted
    /// from the page cache: sled 0.34 writes its own snapshot only when it
    /// opens a database, so this open reads every byte sled wrote since
    /// (timed again as [`as_never_opened`] leaves the log).
    pub first_open: Duration,
    /// Resident memory of the process right after that first open (KiB).
    pub rss_kib: u64,
    /// Opening it again (the median of [`REPEATS`], as every figure below).
    pub open: Duration,
    /// Verify of the whole log (median).
    pub verify: Duration,
    /// Export of the whole log as JSON lines (median).
    pub export: Duration,
    /// A projection rebuild into fresh read models.
    pub rebuild: Duration,
    /// The rebuild's store alone (see `replay::store_ceiling`).
    pub store: Duration,
}

/// A pass that [`probe`] times in a process of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Opening the log; also reports the resident memory after it.
    Open,
    /// Verifying the whole log.
    Verify,
    /// Exporting the whole log.
    Export,
    /// Rebuilding the projections, then the store alone.
    Rebuild,
}

impl FromStr for Probe {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "open" => Self::Open,
            "verify" => Self::Verify,
            "export" => Self::Export,
            "rebuild" => Self::Rebuild,
            _ => anyhow::bail!("unknown probe {s:?}: open, verify, export or rebuild"),
        })
    }
}

impl Probe {
    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Verify => "verify",
            Self::Export => "export",
            Self::Rebuild => "rebuild",
        }
    }
}

/// What one probe measured: its timed steps, and the resident memory (KiB)
/// after the log was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// The open for [`Probe::Open`], the pass for the others (the rebuild,
    /// then its store alone, for [`Probe::Rebuild`]).
    pub steps: Vec<Duration>,
    /// Resident memory right after the open.
    pub rss_kib: u64,
}

impl Probed {
    /// One line: the resident memory, then each step in microseconds.
    pub fn line(&self) -> String {
        let mut line = self.rss_kib.to_string();
        for s in &self.steps {
            let _ = write!(line, " {}", s.as_micros());
        }
        line
    }

    /// Reads what [`Probed::line`] wrote.
    pub fn parse(line: &str) -> anyhow::Result<Self> {
        let mut numbers = line.split_whitespace().map(str::parse::<u64>);
        let rss_kib = numbers
            .next()
            .ok_or_else(|| anyhow::anyhow!("empty probe line"))??;
        let steps = numbers
            .map(|us| Ok(Duration::from_micros(us?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!steps.is_empty(), "probe line {line:?} holds no step");
        Ok(Self { steps, rss_kib })
    }
}

/// Opens the log in `dir` and times `pass` over it, in this process; run it
/// in a fresh process (`aduan bench --probe PASS DIR` does).
pub async fn probe(dir: &Path, pass: Probe) -> anyhow::Result<Probed> {
    let t0 = Instant::now();
    let log = SledLog::open(SledOptions::new(dir))?;
    let open = t0.elapsed();
    let rss_kib = rss_kib().ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/self/status"))?;
    let steps = match pass {
        Probe::Open => vec![open],
        Probe::Verify => vec![replay::verify_pass(&log).await?.elapsed],
        Probe::Export => vec![replay::export_pass(&log).await?.elapsed],
        Probe::Rebuild => replay::rebuild_pass(&log)
            .await?
            .map(|p| p.elapsed)
            .to_vec(),
    };
    log.close();
    Ok(Probed { steps, rss_kib })
}

/// Runs [`probe`] in a child process.
pub type Prober<'a> = &'a dyn Fn(&Path, Probe) -> anyhow::Result<Probed>;

/// Writes a log of each size in `sizes` and measures it, each pass in a
/// child process that `prober` runs.
///
/// Every log is written before any is timed, and the passes alternate
/// between the sizes (the first open, the open again, verify, export and
/// rebuild over each log, then again, [`REPEATS`] rounds), so that a stretch
/// when the machine or its disk runs slower or faster falls on every size
/// alike. Timed one size after the other, the 1 M-event log's passes ran
/// minutes before the 10 M-event log's, and two runs of the same code had
/// the store alone grow ×1.01 and ×1.30.
pub async fn measure(
    sizes: &[u64],
    prober: Prober<'_>,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Vec<Growth>> {
    let mut logs = Vec::new();
    for &events in sizes {
        logs.push(Written::new(events, progress).await?);
    }
    // Per log, per pass (the first open, then PASSES), what each round measured.
    const PASSES: [Probe; 4] = [Probe::Open, Probe::Verify, Probe::Export, Probe::Rebuild];
    let mut probed: Vec<[Vec<Probed>; 5]> = vec![Default::default(); logs.len()];
    for round in 1..=REPEATS {
        progress(&format!(
            "growth: the first open, open, verify, export and rebuild over every log, each in a process of its own (round {round} of {REPEATS})…"
        ));
        for (log, [first, rest @ ..]) in logs.iter().zip(&mut probed) {
            let dir = log.dir.path();
            as_never_opened(dir)?;
            first.push(prober(dir, Probe::Open)?);
            for (pass, p) in PASSES.into_iter().zip(rest) {
                p.push(prober(dir, pass)?);
            }
        }
    }
    let mut out = Vec::new();
    for (log, [first, open, verify, export, rebuild]) in logs.iter().zip(probed) {
        out.push(Growth {
            events: log.events,
            disk_bytes: log.disk_bytes,
            first_open: median(&first, 0)?,
            rss_kib: median_of(&first, |p| Ok(p.rss_kib))?,
            open: median(&open, 0)?,
            verify: median(&verify, 0)?,
            export: median(&export, 0)?,
            rebuild: median(&rebuild, 0)?,
            store: median(&rebuild, 1)?,
        });
    }
    Ok(out)
}

/// Puts the log in `dir` back as it was before its first open after it was
/// written, for that open to be timed again: sled 0.34 writes its own
/// snapshot only when it opens a database, so the first open reads every
/// byte sled wrote since the snapshot of the log's creation. Removing sled's
/// snapshots (`snap.*`) makes an open read the whole log again, as that
/// first open did; the log's files are then dropped from the page cache, so
/// that every size reads them from the disk. That read from the page cache
/// varied: 0.44-0.93 s at 1 M events and 3.41-6.88 s at 10 M; from the disk,
/// 0.97-1.02 s and 7.86-8.60 s (`replaypass DIR N open` after `rm
/// log/snap.*`, two runs each, 2026-12-07 18:55 UTC).
fn as_never_opened(dir: &Path) -> anyhow::Result<()> {
    for f in files(dir)? {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("snap.") {
            std::fs::remove_file(&f)?;
        }
    }
    evict(dir)
}

/// A log written for [`measure`].
struct Written {
    dir: tempfile::TempDir,
    /// Its head.
    events: u64,
    disk_bytes: u64,
}

impl Written {
    async fn new(events: u64, progress: &mut dyn FnMut(&str)) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        progress(&format!("growth: writing {events} events…"));
        let log = replay::populate(dir.path(), events / 2).await?;
        let head = *log.head().borrow();
        log.close();
        drop(log);
        let disk_bytes = du(dir.path())?;
        // The kernel writes what was just written back in the background,
        // for tens of seconds at 10 M events, competing with every pass timed
        // below (the open of 2026-12-02 took 10.9 s at 10 M events, 3.6-4.9 s
        // with nothing left to write back): wait for it first.
        progress(&format!("growth: writing {events} events back to disk…"));
        sync_all(dir.path())?;
        Ok(Self {
            dir,
            events: head,
            disk_bytes,
        })
    }
}

/// The middle of step `i` of every probe in `probes`.
fn median(probes: &[Probed], i: usize) -> anyhow::Result<Duration> {
    median_of(probes, |p| step(p, i))
}

/// The middle of `figure` over `probes` (the upper one of an even count).
fn median_of<T: Ord + Copy>(
    probes: &[Probed],
    figure: impl Fn(&Probed) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut all = probes
        .iter()
        .map(figure)
        .collect::<anyhow::Result<Vec<_>>>()?;
    all.sort();
    all.get(all.len() / 2)
        .copied()
        .ok_or_else(|| anyhow::anyhow!("no probe to take the median of"))
}

/// Step `i` of a probe.
fn step(p: &Probed, i: usize) -> anyhow::Result<Duration> {
    p.steps
        .get(i)
        .copied()
        .ok_or_else(|| anyhow::anyhow!("the probe reported {} steps, not {}", p.steps.len(), i + 1))
}

/// The figures as a Markdown table, then one line per figure saying how its
/// cost per event grew from the smallest log to the largest.
pub fn table(rows: &[Growth]) -> String {
    let mut out = String::from(
        "| events | disk MiB | bytes/event | first open s | open s | RSS after open MiB | verify ev/s | export ev/s | rebuild ev/s | store alone ev/s |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for g in rows {
        let rate = |d: Duration| g.events as f64 / d.as_secs_f64().max(f64::MIN_POSITIVE);
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            g.events,
            g.disk_bytes as f64 / 1_048_576.0,
            g.disk_bytes as f64 / g.events.max(1) as f64,
            g.first_open.as_secs_f64(),
            g.open.as_secs_f64(),
            g.rss_kib as f64 / 1024.0,
            rate(g.verify),
            rate(g.export),
            rate(g.rebuild),
            rate(g.store),
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
    let figures: [(&str, Cost); 8] = [
        ("disk bytes", &|g| g.disk_bytes as f64),
        ("first open time", &|g| g.first_open.as_secs_f64()),
        ("open time", &|g| g.open.as_secs_f64()),
        ("RSS after open", &|g| g.rss_kib as f64),
        ("verify time", &|g| g.verify.as_secs_f64()),
        ("export time", &|g| g.export.as_secs_f64()),
        ("rebuild time", &|g| g.rebuild.as_secs_f64()),
        ("store alone time", &|g| g.store.as_secs_f64()),
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

/// Drops every file under `dir` from the page cache (they are synced).
fn evict(dir: &Path) -> anyhow::Result<()> {
    for f in files(dir)? {
        let file = std::fs::File::open(f)?;
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(events: u64, secs: f64) -> Growth {
        let d = Duration::from_secs_f64(secs);
        Growth {
            events,
            disk_bytes: events * 700,
            first_open: d,
            rss_kib: events,
            open: d,
            verify: d,
            export: d,
            rebuild: d,
            store: d,
        }
    }

    /// Logs of 100 and 400 events, a prober that notes which log and pass
    /// it was called for and times each call by its place in the order.
    #[tokio::test]
    async fn the_passes_alternate_between_the_sizes_and_each_figure_is_their_median() {
        let calls = std::sync::Mutex::new(Vec::<(std::path::PathBuf, Probe)>::new());
        let snapshots = |dir: &Path| {
            files(dir)
                .unwrap()
                .iter()
                .filter(|f| {
                    f.file_name()
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .starts_with("snap.")
                })
                .count()
        };
        // Call n (from 0) is pass n % 5 of its log in round n / 10; its
        // times are 30, 10 and 20 ms more in rounds 1, 2 and 3, so that the
        // third round's is the median.
        let prober = |dir: &Path, pass: Probe| -> anyhow::Result<Probed> {
            let mut calls = calls.lock().unwrap();
            let n = calls.len() as u64;
            calls.push((dir.to_owned(), pass));
            if n.is_multiple_of(5) {
                assert_eq!(
                    snapshots(dir),
                    0,
                    "sled's snapshot is gone before a first open"
                );
            } else {
                // As the open before this one did.
                std::fs::write(dir.join(format!("snap.{n}")), b"").unwrap();
            }
            let ms = |k| Duration::from_millis([30, 10, 20][(n / 10) as usize] + k);
            Ok(Probed {
                steps: vec![ms(n % 10), ms(100 + n % 10)],
                rss_kib: [300, 100, 200][(n / 10) as usize] + n % 10,
            })
        };
        let rows = measure(&[100, 400], &prober, &mut |_| {}).await.unwrap();
        let calls = calls.into_inner().unwrap();
        let (small, large) = (calls[0].0.clone(), calls[5].0.clone());
        assert_ne!(small, large);
        let passes = [
            Probe::Open,
            Probe::Open,
            Probe::Verify,
            Probe::Export,
            Probe::Rebuild,
        ];
        let mut expected = Vec::new();
        for _ in 0..REPEATS {
            for dir in [&small, &large] {
                expected.extend(passes.map(|p| (dir.clone(), p)));
            }
        }
        assert_eq!(calls, expected, "the order of the probes");
        let (s, l) = (&rows[0], &rows[1]);
        assert_eq!((s.events, l.events), (100, 400));
        assert_eq!(
            (s.rss_kib, l.rss_kib),
            (200, 205),
            "the first opens' median"
        );
        let mid = |k: u64| Duration::from_millis(20 + k);
        assert_eq!(
            [s.first_open, s.open, s.verify, s.export, s.rebuild, s.store],
            [mid(0), mid(1), mid(2), mid(3), mid(4), mid(104)]
        );
        assert_eq!(
            [l.first_open, l.open, l.verify, l.export, l.rebuild, l.store],
            [mid(5), mid(6), mid(7), mid(8), mid(9), mid(109)]
        );
    }

    #[test]
    fn a_probe_line_reads_back_as_written() {
        let probed = Probed {
            steps: vec![Duration::from_micros(1_500), Duration::from_secs(2)],
            rss_kib: 1234,
        };
        assert_eq!(probed.line(), "1234 1500 2000000");
        assert_eq!(Probed::parse(&probed.line()).unwrap(), probed);
        assert!(Probed::parse("1234").is_err(), "a line without a step");
        assert!(Probed::parse("1234 x").is_err());
        assert!("rebuilt".parse::<Probe>().is_err());
        for p in [Probe::Open, Probe::Verify, Probe::Export, Probe::Rebuild] {
            assert_eq!(p.as_str().parse::<Probe>().unwrap(), p);
        }
    }

    #[test]
    fn the_table_compares_cost_per_event_between_the_smallest_and_largest_log() {
        let small = log_of(1_000, 1.0);
        let middle = log_of(3_000, 30.0);
        let mut large = log_of(10_000, 12.0);
        large.export = Duration::from_secs(20);
        let table = table(&[small, middle, large]);
        assert!(
            table.contains("- verify time: per event ×1.20 from 1000 to 10000 events: linear\n"),
            "{table}"
        );
        assert!(
            table.contains(
                "- export time: per event ×2.00 from 1000 to 10000 events: faster than linear\n"
            ),
            "{table}"
        );
        assert!(
            table.contains("- disk bytes: per event ×1.00 from 1000 to 10000 events: linear\n"),
            "{table}"
        );
        assert!(
            table.contains("| 1000 | 1 | 700 | 1.00 | 1.00 | 1 | 1000 | 1000 | 1000 | 1000 |"),
            "{table}"
        );
    }
}
