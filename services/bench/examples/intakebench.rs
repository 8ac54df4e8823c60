//! Intake without NATS: `Intake::submit` from N tasks, to separate intake's own
//! cost from the request-reply round trip. `cargo run --release -p aduan-bench --example intakebench [N]`.
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let c: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let dir = tempfile::tempdir()?;
        let log = aduan_log_sled::SledLog::open(aduan_log_sled::SledOptions::new(
            dir.path().join("log"),
        ))?;
        let views = aduan_kv_redb::open(&dir.path().join("views"))?;
        let key = aduan_intake::ReporterKey::random();
        let index = views.open_tree("intake")?;
        let intake = aduan_intake::Intake::open(log.clone(), index, key).await?;
        let per = 20_000 / c;
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..c)
            .map(|t| {
                let intake = intake.clone();
                tokio::spawn(async move {
                    for i in 0..per {
                        intake
                            .submit(aduan_bench::intake::complaint(t * per + i))
                            .await?;
                    }
                    anyhow::Ok(())
                })
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        println!(
            "{c} tasks: {:.0} submissions/s",
            (per * c) as f64 / t0.elapsed().as_secs_f64()
        );
        anyhow::Ok(())
    })
}
