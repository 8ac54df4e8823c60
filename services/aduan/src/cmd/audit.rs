//! `aduan audit`: a complaint's history, verification of the whole log's hash
//! chain, and export/import of the log. These open the data directory
//! themselves, so they run while `aduan serve` is stopped (the HTTP endpoint
//! `/v1/audit/complaints/{id}/events` serves history while it runs). On the
//! JetStream log (`--log jetstream --nats URL`), `verify`, `export` (not
//! `--redact`) and `import` work while the services run; the others are
//! sled-only.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use aduan_audit::Format;
use aduan_domain::OrgCode;
use aduan_log::{EventLog, LogError};
use aduan_log_sled::SledLog;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::args::{self, ComplaintRef, Moment};
use super::layout::Layout;
use super::log::{Backend, LogArgs};

/// `aduan audit …`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Data directory.
    #[arg(long, env = "ADUAN_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,
    /// The event log: `sled` (in --data) or `jetstream` (on the server of
    /// --nats; verify, export and import only).
    #[arg(
        long = "log",
        env = "ADUAN_LOG",
        value_enum,
        default_value = "sled",
        global = true
    )]
    pub backend: Backend,
    /// The JetStream stream holding the log.
    #[arg(
        long,
        env = "ADUAN_LOG_STREAM",
        default_value = "ADUAN_LOG",
        global = true
    )]
    pub log_stream: String,
    /// Copies of the JetStream log, as its services run it: 1, or 3 on a
    /// cluster of three servers (the stream is refused when they differ).
    #[arg(long, env = "ADUAN_LOG_REPLICAS", default_value = "1", value_parser = super::log::replicas, global = true)]
    pub log_replicas: aduan_log_jetstream::Replicas,
    /// NATS server URL, with --log jetstream.
    #[arg(long, env = "ADUAN_NATS", value_parser = args::nats_url, global = true)]
    pub nats: Option<String>,
    /// Subject prefix on NATS (the log's records are on `<prefix>.log.<stream>`).
    #[arg(long, env = "ADUAN_SUBJECT_PREFIX", default_value = "aduan", value_parser = args::subject_prefix, global = true)]
    pub subject_prefix: String,
    #[command(subcommand)]
    pub cmd: AuditCmd,
}

/// The audit subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Every event of one complaint, by tracking number or complaint id.
    History {
        /// Tracking number (K7QMX-3PA9F) or complaint id (UUID).
        #[arg(value_parser = args::complaint_ref)]
        id: ComplaintRef,
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
        /// A head hash anchored earlier (64 hex digits): fail unless the chain still contains it.
        #[arg(long, value_parser = parse_anchor)]
        expect_head: Option<[u8; 32]>,
    },
    /// Write every envelope with its decoded payload: one JSON object a line (aduan's own or
    /// CloudEvents), or one CloudEvents batch array (`--format cloudevents-batch`).
    /// A full export names confidential reporters: it is for auditors, and a file is created 0600.
    Export {
        /// First position to export.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Last position to export (default: the head); to save what precedes a damaged record.
        #[arg(long)]
        to: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Output file, created 0600 (default: standard output).
        #[arg(long, value_parser = args::new_file)]
        out: Option<PathBuf>,
        /// For sharing: replace each reporter's name, phone and email with a keyed hash
        /// (key: <data>/keys/export.key, created 0600). Every line says it is redacted and keeps
        /// the original hashes, so `check-export` still checks the chain; it cannot be imported.
        #[arg(long)]
        redact: bool,
    },
    /// Rebuild the read models as they stood at TIME into a separate directory
    /// and print the recap and ranking of then; the live read models are untouched.
    Replay {
        /// The moment (RFC 3339, e.g. 2026-11-20T17:00:00+07:00).
        #[arg(long, value_parser = args::moment)]
        until: Moment,
        /// Where to build the read models (default: a temporary directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Organisation whose recap to print.
        #[arg(long, default_value = "nasional", value_parser = args::org)]
        org: OrgCode,
        /// Parent whose children to rank.
        #[arg(long, default_value = "nasional", value_parser = args::org)]
        parent: OrgCode,
    },
    /// Restore an export into an empty data directory, with identical positions and hashes.
    /// The whole file is checked first (as `check-export` does); a refused file appends nothing.
    Import {
        /// The export (JSON lines or CloudEvents).
        #[arg(value_parser = args::existing_file)]
        file: PathBuf,
    },
    /// Cut every record after position N off a log whose end is damaged. Refuses without
    /// `--truncate-after`; records 1..=N must verify. What is cut (raw bytes, BLAKE3, time) is
    /// written first to <data>/repairs/ (0600). Export what you can first (`export --to`).
    Repair {
        /// The last position to keep.
        #[arg(long)]
        truncate_after: Option<u64>,
    },
    /// Check an export file without importing it or opening a data directory: each line's
    /// `data` against its payload, each record's hash, and the chain from line to line.
    /// Exit 1 naming the first bad line and position; prints the last hash to compare with
    /// `verify`'s head hash.
    CheckExport {
        /// The export (JSON lines or CloudEvents).
        #[arg(value_parser = args::existing_file)]
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
    /// CloudEvents 1.0 JSON batch (application/cloudevents-batch+json): one JSON array.
    /// For CloudEvents consumers; import and check-export read the two line formats.
    CloudeventsBatch,
}

/// Runs an audit subcommand.
pub fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    if let AuditCmd::CheckExport { file } = &args.cmd {
        return check_export(file);
    }
    if args.backend == Backend::JetStream {
        return on_jetstream(args);
    }
    let layout = Layout::new(&args.data);
    // Reading a log that is not there would create an empty one and report
    // on it ("ok: 0 events"): a mistyped --data must not pass an audit.
    if !matches!(args.cmd, AuditCmd::Import { .. }) && !layout.log().is_dir() {
        return Err(super::Usage(format!(
            "--data {} holds no event log ({} is missing)",
            args.data.display(),
            layout.log().display()
        ))
        .into());
    }
    // Only import appends; everything else reads, and reads a damaged log too.
    let log = match args.cmd {
        AuditCmd::Import { .. } => layout.open_log()?,
        _ => layout.open_log_read_only()?,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("runtime")?;
    let code = rt.block_on(async {
        match args.cmd {
            AuditCmd::History { id, json } => history(&log, &layout, id, json).await,
            AuditCmd::Verify {
                from,
                to,
                expect_head,
            } => verify(&log, from, to, expect_head).await,
            AuditCmd::Export {
                from,
                to,
                format,
                out,
                redact,
            } => {
                let key = redact
                    .then(|| aduan_audit::RedactionKey::load_or_create(&layout.export_key()))
                    .transpose()
                    .context("the export key")?;
                export(&log, (from, to), format, out, key.as_ref()).await
            }
            AuditCmd::Repair { truncate_after } => {
                super::repair::repair(&log, &layout, truncate_after).await
            }
            AuditCmd::Import { file } => import(&log, &file).await,
            // Answered above, before a data directory is opened or created.
            AuditCmd::CheckExport { file } => check_export(&file),
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

/// `verify`, `export` and `import` on the JetStream log.
fn on_jetstream(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let log_args = LogArgs {
        backend: args.backend,
        log_stream: args.log_stream.clone(),
        log_replicas: args.log_replicas,
    };
    log_args.check(args.nats.as_deref())?;
    let supported = match &args.cmd {
        AuditCmd::Verify { .. } | AuditCmd::Import { .. } => true,
        AuditCmd::Export { redact, .. } => !redact,
        _ => false,
    };
    if !supported {
        return Err(super::Usage(
            "on --log jetstream, audit runs verify, export (without --redact) and import".into(),
        )
        .into());
    }
    super::process::runtime()?.block_on(async {
        let edge = super::process::edge(args.nats.as_deref(), &args.subject_prefix)
            .await?
            .context("a NATS connection")?;
        let log = log_args.open_jetstream(&edge, &args.subject_prefix).await?;
        let code = match args.cmd {
            AuditCmd::Verify {
                from,
                to,
                expect_head,
            } => verify(&log, from, to, expect_head).await,
            AuditCmd::Export {
                from,
                to,
                format,
                out,
                ..
            } => export(&log, (from, to), format, out, None).await,
            AuditCmd::Import { file } => import(&log, &file).await,
            _ => Ok(ExitCode::from(2)),
        };
        log.close().await;
        code
    })
}

async fn history(
    log: &SledLog,
    layout: &Layout,
    id: ComplaintRef,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let complaint = match id {
        ComplaintRef::Id(c) => c,
        ComplaintRef::Tracking(t) => layout
            .complaint_of(&t)?
            .with_context(|| format!("no complaint has tracking number {t}"))?,
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

/// `--expect-head`: 64 hex digits, refused by clap (exit 2) otherwise.
fn parse_anchor(s: &str) -> Result<[u8; 32], String> {
    aduan_audit::parse_hash(s).ok_or_else(|| "a head hash is 64 hex digits".to_owned())
}

async fn verify<L: EventLog + Clone>(
    log: &L,
    from: u64,
    to: Option<u64>,
    expect: Option<[u8; 32]>,
) -> anyhow::Result<ExitCode> {
    let head = *log.head().borrow();
    let last = to.unwrap_or(head);
    if from == 0 || (head > 0 && from > head) || to.is_some_and(|t| t < from || t > head) {
        return Err(super::Usage(format!(
            "--from {from}{} is outside the log, whose head is position {head}",
            to.map(|t| format!(" --to {t}")).unwrap_or_default()
        ))
        .into());
    }
    let progress = bar(last.saturating_sub(from - 1));
    let result =
        aduan_log::verify(log, from, to, &mut |p| progress.set_position(p + 1 - from)).await;
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
        if aduan_log::position_of_hash(log, &anchor).await?.is_none() {
            println!(
                "FAILED: the anchored head {} is not in the chain: history before it changed or was cut",
                aduan_audit::hex(&anchor)
            );
            return Ok(ExitCode::from(1));
        }
    }
    // The hash printed is the head's, or named as the range's last.
    let which = if report.last_position == head {
        "head hash"
    } else {
        "hash of the range's last event (not the head)"
    };
    println!(
        "ok: {} events in {} streams, positions {}..{}, {which} {}",
        report.events,
        report.streams,
        report.first_position,
        report.last_position,
        aduan_audit::hex(&report.head_hash)
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates (or truncates) `path` readable by its owner only: an export names reporters.
pub(super) fn create_private(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    // The mode above applies only to a new file; an older one is narrowed too.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    Ok(f)
}

async fn export<L: EventLog + Clone>(
    log: &L,
    (from, to): (u64, Option<u64>),
    format: ExportFormat,
    out: Option<PathBuf>,
    redact: Option<&aduan_audit::RedactionKey>,
) -> anyhow::Result<ExitCode> {
    let format = match format {
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Cloudevents => Format::CloudEvents,
        ExportFormat::CloudeventsBatch => Format::CloudEventsBatch,
    };
    // Checked before the output file is created (or truncated).
    let stored = *log.head().borrow();
    if to.is_some_and(|t| t < from || t > stored) {
        return Err(super::Usage(format!(
            "--to {} is outside --from {from} ..= the head, position {stored}",
            to.unwrap_or_default()
        ))
        .into());
    }
    let head = to.unwrap_or(stored);
    let sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(create_private(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = aduan_audit::framing::Framed::new(BufWriter::new(sink), format)?;
    let progress = bar(head.saturating_sub(from.max(1) - 1));
    let written = aduan_audit::export(log, (from, head), redact, &mut w, &mut |n| {
        progress.set_position(n)
    })
    .await?;
    w.finish()?;
    progress.finish_and_clear();
    let what = if redact.is_some() { " (redacted)" } else { "" };
    eprintln!("exported {written} events{what}");
    Ok(ExitCode::SUCCESS)
}

async fn replay(
    log: &SledLog,
    until: &Moment,
    out: Option<PathBuf>,
    org: &OrgCode,
    parent: &OrgCode,
) -> anyhow::Result<ExitCode> {
    let until_ms = aduan_domain::calendar::unix_ms(until.at);
    let scratch = tempfile::tempdir()?;
    let dir = out.unwrap_or_else(|| scratch.path().to_owned());
    let views =
        aduan_kv_redb::open(&dir).with_context(|| format!("cannot open {}", dir.display()))?;
    let progress = bar(*log.head().borrow());
    // The rule set in force at each point comes from the log itself.
    let p =
        aduan_projections::rebuild(log, &views, Some(until_ms), |n, _| progress.set_position(n))
            .await?;
    progress.finish_and_clear();
    let all = aduan_projections::Window::ALL;
    let report = serde_json::json!({
        "as_of": until.text,
        "recap": p.recap(org, all, until_ms)?,
        "ranking": p.ranking(parent, all, until_ms)?,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

async fn import<L: EventLog>(log: &L, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let head = aduan_audit::import(log, std::io::BufReader::new(f)).await?;
    eprintln!("imported {head} events; run `aduan audit verify` to check them");
    Ok(ExitCode::SUCCESS)
}

/// `check-export`: the file alone, no data directory.
fn check_export(file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let progress = bar(0);
    progress.set_style(
        ProgressStyle::with_template("{pos} events checked ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let result = aduan_audit::check_export(std::io::BufReader::new(f), |_| progress.inc(1));
    progress.finish_and_clear();
    match result {
        Ok(r) => {
            println!(
                "ok: {} events, positions {}..{}, last hash {}",
                r.events,
                r.first_position,
                r.last_position,
                aduan_audit::hex(&r.head_hash)
            );
            if r.first_redacted_line.is_some() {
                println!(
                    "redacted export: {} lines with reporter identity replaced carry their original \
                     record hash, checked as links of the chain (not recomputable); every other \
                     record hash was recomputed",
                    r.carried
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(
            e @ (aduan_audit::AuditError::BadLine { .. }
            | aduan_audit::AuditError::DataMismatch { .. }
            | aduan_audit::AuditError::Chain { .. }),
        ) => {
            println!("FAILED at {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
