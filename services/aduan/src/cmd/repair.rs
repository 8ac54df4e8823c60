//! `aduan audit repair`: cutting a damaged end off the event log, explicitly
//! and with a record of what was cut.
//!
//! A log whose last record is damaged takes no appends (its head hash is
//! unknown), but it still reads: `verify` names the position and `export --to`
//! saves what precedes it. Cutting is the only way back to appending and
//! destroys evidence, so it is never implied: it needs `--truncate-after N`,
//! the records up to N must verify, and the bytes cut are written to
//! `<data>/repairs/` (durably) before anything is removed.

use std::io::Write;
use std::process::ExitCode;

use aduan_log::{EventLog, LogError};
use aduan_log_sled::SledLog;
use anyhow::Context;

use super::layout::Layout;

/// Runs `audit repair` on a log opened read-only.
pub async fn repair(
    log: &SledLog,
    layout: &Layout,
    truncate_after: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let head = *log.head().borrow();
    let damage = match aduan_log::verify(log, 1, None, &mut |_| {}).await {
        Ok(_) => None,
        Err(LogError::Corrupt { position, reason }) => Some((position, reason)),
        Err(e) => return Err(e.into()),
    };
    let found = match &damage {
        Some((p, reason)) => format!("the log is damaged at position {p}: {reason}"),
        None => format!("the log verifies up to its head, position {head}"),
    };
    let Some(keep) = truncate_after else {
        let hint = damage.map_or(head, |(p, _)| p.saturating_sub(1));
        return Err(super::Usage(format!(
            "{found}. Refusing to cut anything without --truncate-after N; export first \
             (`aduan audit export --to {hint}`), then `aduan audit repair --truncate-after {hint}`"
        ))
        .into());
    };
    if keep > head {
        return Err(super::Usage(format!(
            "--truncate-after {keep} is past the head, position {head}"
        ))
        .into());
    }
    if keep == head {
        println!("{found}; nothing after position {keep}, nothing cut");
        return Ok(ExitCode::SUCCESS);
    }
    if keep > 0 {
        match aduan_log::verify(log, 1, Some(keep), &mut |_| {}).await {
            Ok(_) => {}
            Err(LogError::Corrupt { position, reason }) => {
                println!(
                    "FAILED at position {position}: {reason}; the records kept must verify, \
                     so at most --truncate-after {}",
                    position - 1
                );
                return Ok(ExitCode::from(1));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let record = write_record(log, layout, keep, head)?;
    let cut = log.truncate_after(keep)?;
    println!(
        "cut {cut} records (positions {}..={head}); what was cut is in {}",
        keep + 1,
        record.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes what positions `keep + 1 ..= head` hold to a new file under
/// `<data>/repairs/`, 0600 (records name reporters), synced with its directory.
fn write_record(
    log: &SledLog,
    layout: &Layout,
    keep: u64,
    head: u64,
) -> anyhow::Result<std::path::PathBuf> {
    let now = time::OffsetDateTime::now_utc();
    let at = now
        .format(&time::format_description::well_known::Rfc3339)
        .context("time")?;
    let mut cut = Vec::new();
    for position in keep + 1..=head {
        let raw = log.raw_record(position).ok().flatten();
        cut.push(serde_json::json!({
            "position": position,
            "len": raw.as_ref().map(Vec::len),
            "blake3": raw.as_ref().map(|r| aduan_audit::hex(blake3::hash(r).as_bytes())),
            "bytes_hex": raw.as_ref().map(|r| aduan_audit::hex(r)),
        }));
    }
    let doc = serde_json::json!({
        "repaired_at": at,
        "truncated_after": keep,
        "head_before": head,
        "cut": cut,
    });
    let dir = layout.repairs();
    aduan_log_sled::create_dir_durable(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let name = format!(
        "{}-truncate-after-{keep}.json",
        at.replace(':', "").replace('.', "-")
    );
    let path = dir.join(name);
    let mut f = super::audit::create_private(&path)?;
    serde_json::to_writer_pretty(&mut f, &doc)?;
    f.write_all(b"\n")?;
    f.sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))?;
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))?;
    Ok(path)
}
