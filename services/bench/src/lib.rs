//! Measurements of aduan against its peers on the same machine in the same run:
//! throughput, latency percentiles and peak memory, printed as a table.
//! Not a test: nothing here asserts; it measures and reports.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

pub mod growth;
pub mod intake;
pub mod jetstream;
pub mod jslog;
pub mod log;
pub mod pipeline;
pub mod postgres;
pub mod reads;
pub mod replay;
pub mod suite;

/// One measured configuration.
#[derive(Debug, Clone)]
pub struct Stats {
    /// What was measured ("aduan sled log", "JetStream", ...).
    pub system: String,
    /// Concurrent appenders or requesters.
    pub concurrency: usize,
    /// Operations completed.
    pub ops: u64,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Latency percentiles in microseconds: p50, p99, p99.9.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Peak resident memory of the measured process, when known (KiB).
    pub peak_rss_kib: Option<u64>,
}

impl Stats {
    /// Operations per second.
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
}

/// Latencies gathered by concurrent workers, merged at the end.
#[derive(Debug)]
pub struct Recorder {
    hist: Histogram<u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty recorder (1 µs to 60 s, 3 significant digits).
    pub fn new() -> Self {
        let hist = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
        Self { hist }
    }
    /// Records the time since `start`.
    pub fn record_since(&mut self, start: Instant) {
        let us = start.elapsed().as_micros().clamp(1, 60_000_000) as u64;
        let _ = self.hist.record(us);
    }
    /// Samples recorded.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }
    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }
    /// Adds another recorder's samples.
    pub fn merge(&mut self, other: &Recorder) {
        let _ = self.hist.add(&other.hist);
    }
    /// Turns the samples into [`Stats`].
    pub fn stats(&self, system: &str, concurrency: usize, elapsed: Duration) -> Stats {
        Stats {
            system: system.to_owned(),
            concurrency,
            ops: self.hist.len(),
            elapsed,
            p50_us: self.hist.value_at_quantile(0.50),
            p99_us: self.hist.value_at_quantile(0.99),
            p999_us: self.hist.value_at_quantile(0.999),
            peak_rss_kib: None,
        }
    }
}

/// Peak resident memory (VmHWM) of a process, from /proc; `None` elsewhere.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A Markdown table of results.
pub fn table(rows: &[Stats]) -> String {
    let mut out = String::from(
        "| system | concurrency | events/s | p50 µs | p99 µs | p99.9 µs | peak RSS MiB |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let rss = r
            .peak_rss_kib
            .map_or("n/a".to_owned(), |k| format!("{:.0}", k as f64 / 1024.0));
        out.push_str(&format!(
            "| {} | {} | {:.0} | {} | {} | {} | {} |\n",
            r.system,
            r.concurrency,
            r.rate(),
            r.p50_us,
            r.p99_us,
            r.p999_us,
            rss
        ));
    }
    out
}
