//! Routing decisions per second on a generated rule set of ~5,000 rules
//! (34 provinces × 15 regencies × 10 OPDs), on one core.
//! `cargo run --release -p aduan-router --example route_bench`

use std::time::{Duration, Instant};

use aduan_router::bench::{decisions_per_second, generated_ruleset, sample_facts};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (provinces, regencies) = (34, 15);
    let source = generated_ruleset(provinces, regencies);
    let t = Instant::now();
    let rules = aduan_rules::RuleSet::load(&source)?;
    let loaded = t.elapsed();
    let facts = sample_facts(provinces, regencies, 10_000);
    let rate = decisions_per_second(&rules, &facts, Duration::from_secs(3));
    println!(
        "rules: {}, orgs: {}, load: {:.0} ms, routing: {:.0} decisions/s (one thread)",
        rules.rules().len(),
        rules.orgs().len(),
        loaded.as_secs_f64() * 1e3,
        rate
    );
    Ok(())
}
