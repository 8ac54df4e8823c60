//! Quick durable-append measurement of the sled log alone:
//! `cargo run --release -p aduan-bench --example logbench [CONCURRENCY...]`.
fn main() -> anyhow::Result<()> {
    let levels: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let levels = if levels.is_empty() {
        vec![1, 16, 256]
    } else {
        levels
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut rows = Vec::new();
        for c in levels {
            let dir = tempfile::tempdir()?;
            let total = if c == 1 { 5_000 } else { 200_000 };
            rows.push(aduan_bench::log::sled_appends(dir.path(), c, total, 500).await?);
        }
        println!("{}", aduan_bench::table(&rows));
        anyhow::Ok(())
    })
}
