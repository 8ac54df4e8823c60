//! Measuring routing: a generated nation-sized rule set (every regency with
//! its admin and one OPD per category) and a timed loop of decisions over
//! varied complaints, some with a category and some left to the keywords.
//! Run it with `cargo run --release -p aduan-router --example route_bench`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use aduan_domain::{Channel, RegionCode};
use aduan_rules::{Facts, Kind, RuleSet};

/// The categories of the generated rule set, each with a few keywords.
const CATEGORIES: &[(&str, &[&str])] = &[
    ("kesehatan", &["puskesmas", "rsud", "dokter", "obat"]),
    ("infrastruktur", &["jalan", "jembatan", "drainase", "aspal"]),
    ("kependudukan", &["ktp", "akta", "kartu keluarga", "nik"]),
    ("pendidikan", &["sekolah", "guru", "ppdb", "ijazah"]),
    ("transportasi", &["angkot", "terminal", "parkir", "halte"]),
    ("lingkungan", &["sampah", "limbah", "polusi", "banjir"]),
    ("sosial", &["bansos", "pkh", "lansia", "disabilitas"]),
    ("ketertiban", &["pkl", "miras", "preman", "reklame"]),
    ("air-bersih", &["pdam", "air bersih", "pipa", "meteran"]),
    ("perizinan", &["izin", "imb", "pbg", "oss"]),
];

/// A valid rule set with `provinces × regencies × 10` rules.
pub fn generated_ruleset(provinces: u32, regencies: u32) -> String {
    let mut s =
        String::from("version = \"bench\"\n\n[[org]]\ncode = \"nasional\"\nname = \"Nasional\"\n");
    for (name, words) in CATEGORIES {
        let words: Vec<String> = words.iter().map(|w| format!("{w:?}")).collect();
        let _ = write!(
            s,
            "\n[[category]]\nname = \"{name}\"\nkeywords = [{}]\n",
            words.join(", ")
        );
    }
    for p in 11..11 + provinces {
        let prov = format!("prov-{p}");
        org(&mut s, &prov, "nasional", Some(&p.to_string()), false);
        org(
            &mut s,
            &format!("{prov}-kominfo"),
            &prov,
            Some(&p.to_string()),
            true,
        );
        for r in 1..=regencies {
            let region = format!("{p}.{r:02}");
            let kab = format!("kab-{p}-{r:02}");
            org(&mut s, &kab, &prov, Some(&region), false);
            org(&mut s, &format!("{kab}-kominfo"), &kab, Some(&region), true);
            for (cat, _) in CATEGORIES {
                let opd = format!("{kab}-{cat}");
                org(&mut s, &opd, &kab, None, false);
                let _ = write!(
                    s,
                    "\n[[rule]]\nid = \"{opd}\"\nregion = \"{region}\"\ncategories = [\"{cat}\"]\nto = \"{opd}\"\n"
                );
            }
        }
    }
    s
}

fn org(s: &mut String, code: &str, parent: &str, region: Option<&str>, admin: bool) {
    let _ = write!(
        s,
        "\n[[org]]\ncode = \"{code}\"\nname = \"{code}\"\nparent = \"{parent}\"\n"
    );
    if let Some(r) = region {
        let _ = writeln!(s, "region = \"{r}\"");
    }
    if admin {
        s.push_str("admin = true\n");
    }
}

/// `n` varied complaints over the generated rule set's regions.
pub fn sample_facts(provinces: u32, regencies: u32, n: usize) -> Vec<Facts> {
    let channel = Channel::parse("sms").ok();
    (0..n)
        .filter_map(|i| {
            let p = 11 + (i as u32 * 7) % provinces;
            let r = 1 + (i as u32 * 13) % regencies;
            let (cat, words) = CATEGORIES[i % CATEGORIES.len()];
            let body = format!(
                "Mohon ditindaklanjuti, {} di dekat rumah kami sudah lama bermasalah dan warga mengeluh",
                words[i % words.len()]
            );
            Some(Facts {
                region: RegionCode::parse(&format!("{p}.{r:02}")).ok(),
                // Every other one has no category, as from SMS or a tweet.
                category: (i % 2 == 0).then(|| cat.to_owned()),
                title: "Keluhan warga".to_owned(),
                body,
                kind: Kind::Complaint,
                channel: channel.clone()?,
            })
        })
        .collect()
}

/// Routes the facts round-robin for at least `min` and returns decisions per second.
pub fn decisions_per_second(rules: &RuleSet, facts: &[Facts], min: Duration) -> f64 {
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < min && !facts.is_empty() {
        for f in facts {
            std::hint::black_box(rules.route(std::hint::black_box(f), &[]));
        }
        n += facts.len() as u64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}
