//! Replay rates on a large log: `verify` (every record's hash and the chain),
//! `export` (envelopes as JSON lines), a projection rebuild and reopening, over a log of
//! complaints (ComplaintReceived + ComplaintRouted each) written for the purpose.

use std::time::{Duration, Instant};

use aduan_audit::{framing::Framed, Format};
use aduan_domain::{ComplaintEvent, ComplaintId, TrackingNo};
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_proto::v1;

/// One timed pass over the log.
#[derive(Debug, Clone)]
pub struct Pass {
    /// What was done.
    pub what: String,
    /// Events processed.
    pub events: u64,
    /// How long it took.
    pub elapsed: Duration,
}

impl Pass {
    /// Events per second.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

const ORGS: [&str; 4] = [
    "kab-pati-dinkes",
    "kab-pati-pupr",
    "kab-blora-dinkes",
    "kota-pekalongan-dlh",
];

fn events_of(n: u64, at_ms: i64) -> (ComplaintId, Vec<NewEvent>) {
    let id = ComplaintId::new();
    let received = ComplaintEvent::Received(v1::ComplaintReceived {
        complaint_id: id.to_string(),
        tracking_no: TrackingNo::random().as_str().to_owned(),
        channel: if n.is_multiple_of(3) { "sms" } else { "web" }.into(),
        channel_ref: format!("replay-{n}"),
        kind: "complaint".into(),
        title: "Jalan rusak".into(),
        body: "Jalan desa berlubang besar dan membahayakan pengendara motor, mohon segera diperbaiki sebelum musim hujan".into(),
        category: "infrastruktur".into(),
        location: Some(v1::Location { region_code: "33.18".into(), ..Default::default() }),
        received_at_ms: at_ms,
        ..Default::default()
    });
    let routed = ComplaintEvent::Routed(v1::ComplaintRouted {
        org: ORGS[(n % 4) as usize].into(),
        hop: 1,
        rule_id: "bench".into(),
        ruleset_version: "bench".into(),
        reason: "rule".into(),
        due_at_ms: at_ms + 60 * 86_400_000,
        acknowledge_due_ms: at_ms + 3 * 86_400_000,
        follow_up_due_ms: at_ms + 5 * 86_400_000,
        category: "infrastruktur".into(),
        at_ms,
        reason_text: String::new(),
    });
    let new = [received, routed]
        .iter()
        .map(|e| NewEvent::new(e.type_name(), "bench", e.encode()))
        .collect();
    (id, new)
}

/// Writes `complaints` complaints (two events each) into a fresh log in `dir`.
pub async fn populate(dir: &std::path::Path, complaints: u64) -> anyhow::Result<SledLog> {
    let log = SledLog::open(SledOptions::new(dir))?;
    let tasks: Vec<_> = (0..64u64)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut n = t;
                while n < complaints {
                    let (id, new) = events_of(n, 1_795_000_000_000 + n as i64 * 1000);
                    log.append(&id.stream(), ExpectedVersion::NoStream, new)
                        .await?;
                    n += 64;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(log)
}

/// Times verify, export, a projection rebuild over `log` (the rebuild takes
/// the rule set in force from the log, which holds none here) and the
/// rebuild's store alone ([`store_ceiling`]).
pub async fn passes(log: &SledLog) -> anyhow::Result<Vec<Pass>> {
    let mut out = vec![verify_pass(log).await?, export_pass(log).await?];
    out.extend(rebuild_pass(log).await?);
    Ok(out)
}

/// Times `aduan audit verify`'s check of the whole of `log`.
pub async fn verify_pass(log: &SledLog) -> anyhow::Result<Pass> {
    let t0 = Instant::now();
    let report = aduan_log::verify(log, 1, None, &mut |_| {}).await?;
    Ok(Pass {
        what: "audit verify".into(),
        events: report.events,
        elapsed: t0.elapsed(),
    })
}

/// Times [`export`] of the whole of `log`.
pub async fn export_pass(log: &SledLog) -> anyhow::Result<Pass> {
    let head = *log.head().borrow();
    let t0 = Instant::now();
    let bytes = export(log).await?;
    let elapsed = t0.elapsed();
    anyhow::ensure!(bytes > 0, "export wrote nothing");
    Ok(Pass {
        what: "audit export (JSON lines)".into(),
        events: head,
        elapsed,
    })
}

/// Times a projection rebuild of `log` into a fresh read-model database, then
/// [`store_ceiling`] over the models it left.
pub async fn rebuild_pass(log: &SledLog) -> anyhow::Result<[Pass; 2]> {
    let head = *log.head().borrow();
    let scratch = tempfile::tempdir()?;
    let views = aduan_kv_redb::open(scratch.path())?;
    let t0 = Instant::now();
    aduan_projections::rebuild(log, &views, None, |_, _| {}).await?;
    let rebuild = Pass {
        what: "projections rebuild".into(),
        events: head,
        elapsed: t0.elapsed(),
    };
    Ok([rebuild, store_ceiling(&views, head)?])
}

/// Exports the whole of `log` as JSON lines by the export command's own path
/// into a writer that only counts them; returns the bytes written.
pub async fn export(log: &SledLog) -> anyhow::Result<usize> {
    let head = *log.head().borrow();
    let mut w = Framed::new(Counted::default(), Format::Jsonl)?;
    aduan_audit::export(log, (1, head), None, &mut w, &mut |_| {}).await?;
    Ok(w.finish()?.0 .0)
}

/// A writer that keeps only the number of bytes written to it.
#[derive(Default)]
struct Counted(usize);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the rebuild's store alone costs: the read models it left, written
/// again into a fresh database in the rebuild's page size, in key order (the
/// store's easiest order), with no folding at all; one page is held at a
/// time, read from the rebuilt tree just before it is written, and the reads
/// are timed too, as is the flush that ends it (the store commits behind its
/// writers). Its rate, per event of the log, is about the most a rebuild
/// that writes these models to this store can reach.
fn store_ceiling(views: &aduan_kv::Db, events: u64) -> anyhow::Result<Pass> {
    let rebuilt = views.open_tree(aduan_projections::TREE)?;
    let mut models = rebuilt.iter();
    let scratch = tempfile::tempdir()?;
    let db = aduan_kv_redb::open(scratch.path())?;
    let tree = db.open_tree("ceiling")?;
    let mut keys = 0usize;
    let t0 = Instant::now();
    loop {
        let mut batch = aduan_kv::Batch::default();
        for kv in models.by_ref().take(8192) {
            let (k, v) = kv?;
            batch.insert(k, v);
        }
        if batch.is_empty() {
            break;
        }
        keys += batch.changes.len();
        tree.apply(&batch)?;
    }
    db.flush()?;
    let elapsed = t0.elapsed();
    let per_event = keys as f64 / events.max(1) as f64;
    Ok(Pass {
        what: format!(
            "store alone: the rebuilt models' {keys} keys ({per_event:.2} per event) read back and written to the store, no fold"
        ),
        events,
        elapsed,
    })
}

/// Times opening the closed log in `dir` twice: with the stream index snapshot
/// its close wrote, and without it (as after a crash), when the index is
/// rebuilt by scanning every record.
pub fn reopen(dir: &std::path::Path) -> anyhow::Result<Vec<Pass>> {
    let mut out = Vec::new();
    for (what, snapshot) in [
        ("open: stream index from snapshot", true),
        ("open: stream index rebuilt by a scan", false),
    ] {
        if !snapshot {
            std::fs::remove_file(dir.join(SledLog::STREAM_INDEX_FILE))?;
        }
        let t0 = Instant::now();
        let log = SledLog::open(SledOptions::new(dir))?;
        let elapsed = t0.elapsed();
        let events = *log.head().borrow();
        log.close();
        out.push(Pass {
            what: what.into(),
            events,
            elapsed,
        });
    }
    Ok(out)
}
