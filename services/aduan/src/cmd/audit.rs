//! `aduan audit`: a complaint's history, verification of the whole log's hash
//! chain, and export/import of the log. These open the data directory
//! themselves, so they run while `aduan serve` is stopped (the HTTP endpoint
//! `/v1/audit/complaints/{id}/events` serves history while it runs).

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use aduan_audit::Format;
use aduan_domain::{ComplaintId, TrackingNo};
use aduan_log::{EventLog, LogError, SledLog};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::data;

/// `aduan audit …`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Data directory.
    #[arg(long, env = "ADUAN_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,
    #[command(subcommand)]
    pub cmd: AuditCmd,
}

/// The audit subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Every event of one complaint, by tracking number or complaint id.
    History {
        /// Tracking number (K7QMX-3PA9F) or complaint id (UUID).
        id: String,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check every record's hash and the hash chain; exit 1 naming the first bad position.
    Verify {
        /// First position to check.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Last position to check (default: the head).
        #[arg(long)]
        to: Option<u64>,
        /// A head hash anchored earlier: fail unless the chain still contains it.
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Write every envelope with its decoded payload, one JSON object a line.
    Export {
        /// First position to export.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Rebuild the read models as they stood at TIME into a separate directory
    /// and print the recap and ranking of then; the live read models are untouched.
    Replay {
        /// The moment (RFC 3339, e.g. 2026-11-20T17:00:00+07:00).
        #[arg(long)]
        until: String,
        /// Where to build the read models (default: a temporary directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Organisation whose recap to print.
        #[arg(long, default_value = "nasional")]
        org: String,
        /// Parent whose children to rank.
        #[arg(long, default_value = "nasional")]
        parent: String,
    },
    /// Restore an export into an empty data directory, with identical positions and hashes.
    Import {
        /// The export (JSON lines or CloudEvents).
        file: PathBuf,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// aduan's envelope as JSON lines.
    Jsonl,
    /// CloudEvents 1.0 structured mode, one a line.
    Cloudevents,
}

/// Runs an audit subcommand.
pub fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let log = data::open_log(&args.data)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("runtime")?;
    let code = rt.block_on(async {
        match args.cmd {
            AuditCmd::History { id, json } => history(&log, &args.data, &id, json).await,
            AuditCmd::Verify {
                from,
                to,
                expect_head,
            } => verify(&log, from, to, expect_head).await,
            AuditCmd::Export { from, format, out } => export(&log, from, format, out).await,
            AuditCmd::Import { file } => import(&log, &file).await,
            AuditCmd::Replay {
                until,
                out,
                org,
                parent,
            } => replay(&log, &until, out, &org, &parent).await,
        }
    });
    log.close();
    code
}

async fn history(
    log: &SledLog,
    data_dir: &std::path::Path,
    id: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let complaint = match ComplaintId::parse(id) {
        Ok(c) => c,
        Err(_) => {
            let t = TrackingNo::parse(id).map_err(|e| {
                anyhow::anyhow!("{id:?} is neither a complaint id nor a tracking number: {e}")
            })?;
            data::complaint_of(data_dir, &t)?
                .with_context(|| format!("no complaint has tracking number {t}"))?
        }
    };
    let events = log.read_stream(&complaint.stream(), 1).await?;
    anyhow::ensure!(!events.is_empty(), "no complaint {complaint}");
    let rows = aduan_audit::rows(&events);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", aduan_audit::table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

fn bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

async fn verify(
    log: &SledLog,
    from: u64,
    to: Option<u64>,
    expect: Option<String>,
) -> anyhow::Result<ExitCode> {
    let expect = match expect {
        Some(h) => Some(aduan_audit::parse_hash(&h).context("--expect-head takes 64 hex digits")?),
        None => None,
    };
    let head = *log.head().borrow();
    let progress = bar(to.unwrap_or(head).min(head).saturating_sub(from.max(1) - 1));
    let start = from.max(1);
    let result =
        aduan_log::verify(log, from, to, &mut |p| progress.set_position(p + 1 - start)).await;
    progress.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(LogError::Corrupt { position, reason }) => {
            println!("FAILED at position {position}: {reason}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(anchor) = expect {
        if !contains_hash(
            log,
            report.first_position.max(1),
            report.last_position,
            anchor,
        )
        .await?
        {
            println!(
                "FAILED: the anchored head {} is not in the chain: history before it changed",
                aduan_audit::hex(&anchor)
            );
            return Ok(ExitCode::from(1));
        }
    }
    println!(
        "ok: {} events in {} streams, positions {}..{}, head hash {}",
        report.events,
        report.streams,
        report.first_position,
        report.last_position,
        aduan_audit::hex(&report.head_hash)
    );
    Ok(ExitCode::SUCCESS)
}

async fn contains_hash(
    log: &SledLog,
    from: u64,
    to: u64,
    anchor: [u8; 32],
) -> anyhow::Result<bool> {
    let mut next = from;
    while next <= to {
        let page = log.read_all(next, 4096).await?;
        let Some(last) = page.last().map(|e| e.position) else {
            break;
        };
        if page.iter().any(|e| e.hash == anchor) {
            return Ok(true);
        }
        next = last + 1;
    }
    Ok(false)
}

async fn export(
    log: &SledLog,
    from: u64,
    format: ExportFormat,
    out: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let format = match format {
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Cloudevents => Format::CloudEvents,
    };
    let sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::new(sink);
    let head = *log.head().borrow();
    let progress = bar(head.saturating_sub(from.max(1) - 1));
    let mut next = from.max(1);
    let mut written = 0u64;
    while next <= head {
        let page = log.read_all(next, 4096).await?;
        let Some(last) = page.last().map(|e| e.position) else {
            break;
        };
        for e in &page {
            let line = match format {
                Format::Jsonl => aduan_audit::to_jsonl(e),
                Format::CloudEvents => aduan_audit::to_cloudevent(e),
            };
            writeln!(w, "{line}")?;
        }
        written += page.len() as u64;
        progress.set_position(written);
        next = last + 1;
    }
    w.flush()?;
    progress.finish_and_clear();
    eprintln!("exported {written} events");
    Ok(ExitCode::SUCCESS)
}

async fn replay(
    log: &SledLog,
    until: &str,
    out: Option<PathBuf>,
    org: &str,
    parent: &str,
) -> anyhow::Result<ExitCode> {
    use time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(until, &Rfc3339)
        .with_context(|| format!("--until {until:?} is not an RFC 3339 time"))?;
    let until_ms = aduan_domain::calendar::unix_ms(at);
    let org = aduan_domain::OrgCode::parse(org)?;
    let parent = aduan_domain::OrgCode::parse(parent)?;
    let rules = rules_in_force(log, until_ms).await?;
    let scratch = tempfile::tempdir()?;
    let dir = out.unwrap_or_else(|| scratch.path().to_owned());
    let views = sled::open(&dir).with_context(|| format!("cannot open {}", dir.display()))?;
    let progress = bar(*log.head().borrow());
    let p = aduan_projections::rebuild(log, &views, rules, Some(until_ms), |n, _| {
        progress.set_position(n)
    })
    .await?;
    progress.finish_and_clear();
    let all = aduan_projections::Window::ALL;
    let report = serde_json::json!({
        "as_of": until,
        "recap": p.recap(&org, all, until_ms)?,
        "ranking": p.ranking(&parent, all, until_ms)?,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// The rule set in force in the log at `until_ms`: the last published by then.
async fn rules_in_force(
    log: &SledLog,
    until_ms: i64,
) -> anyhow::Result<std::sync::Arc<aduan_rules::RuleSet>> {
    let store = aduan_complaints::ComplaintStore::new(
        log.clone(),
        std::sync::Arc::new(aduan_domain::SystemClock),
    );
    store
        .rules_in_force(aduan_complaints::At::Time(until_ms))
        .await?
        .context("no rule set had been published by then: nothing was routed")
}

async fn import(log: &SledLog, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        *log.head().borrow() == 0,
        "import needs an empty data directory; this log holds events"
    );
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut batch = Vec::with_capacity(4096);
    let mut n = 0u64;
    for line in std::io::BufReader::new(f).lines() {
        n += 1;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        batch.push(aduan_audit::export::from_line(&line, n)?);
        if batch.len() == 4096 {
            log.import(std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        log.import(batch).await?;
    }
    eprintln!(
        "imported {} events; run `aduan audit verify` to check them",
        *log.head().borrow()
    );
    Ok(ExitCode::SUCCESS)
}
