//! One replay pass over a kept log, for profiling it alone:
//! `cargo run --release -p aduan-bench --example replaypass -- DIR EVENTS PASS`
//! writes a log of EVENTS events into DIR on first use, then times PASS
//! (`verify`, `export` or `rebuild`) over it, e.g. under `perf record`.

use std::time::Instant;

use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};

// The allocator of the `aduan` binary, so that its figures are the command's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, events, pass] = args.as_slice() else {
        anyhow::bail!(
            "usage: replaypass DIR EVENTS open|verify|export|rebuild|rebuild-memory|sizes"
        );
    };
    let dir = std::path::Path::new(dir);
    let events: u64 = events.parse()?;
    let opening = Instant::now();
    let log = if dir.join("log").exists() {
        SledLog::open(SledOptions::new(dir.join("log")))?
    } else {
        aduan_bench::replay::populate(&dir.join("log"), events / 2).await?
    };
    let head = *log.head().borrow();
    eprintln!("open: {:.2} s", opening.elapsed().as_secs_f64());
    let t0 = Instant::now();
    match pass.as_str() {
        "verify" => {
            aduan_log::verify(&log, 1, None, &mut |_| {}).await?;
        }
        "export" => {
            aduan_bench::replay::export(&log).await?;
        }
        "rebuild" => {
            let views = aduan_kv_redb::open(&dir.join(format!("views-{}", std::process::id())))?;
            aduan_projections::rebuild(&log, &views, None, |_, _| {}).await?;
        }
        "open" => {}
        "rebuild-memory" => {
            // The fold with the in-memory store: what a rebuild costs without sled.
            aduan_projections::rebuild(&log, &aduan_kv::Db::memory(), None, |_, _| {}).await?;
        }
        "sizes" => {
            // Key and value bytes of a rebuilt views database, by key tag.
            let views = aduan_kv_redb::open(&dir.join("views-sizes"))?;
            let p = aduan_projections::rebuild(&log, &views, None, |_, _| {}).await?;
            let mut by_tag = std::collections::BTreeMap::<char, (u64, u64, u64)>::new();
            for entry in p.dump()? {
                let t = by_tag.entry(entry.0[0] as char).or_default();
                t.0 += 1;
                t.1 += entry.0.len() as u64;
                t.2 += entry.1.len() as u64;
            }
            for (tag, (n, k, v)) in by_tag {
                println!(
                    "{tag}: {n} keys, {k} key bytes, {v} value bytes ({} per value)",
                    v / n
                );
            }
        }
        other => anyhow::bail!("unknown pass {other}"),
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{pass}: {head} events in {s:.2} s = {:.0} events/s",
        head as f64 / s
    );
    Ok(())
}
