//! Routing: each step of the precedence, triage, `nasional`, exclusion,
//! explanations; table-driven over a small rule set made for it.

use aduan_domain::ids::{Channel, OrgCode, RegionCode};

use super::{line_of, sample};
use crate::{Facts, Kind, Reason, RuleSet};

const FIXTURE: &str = r#"
version = "route-1"

[[org]]
code = "nasional"
name = "Nasional"
[[org]]
code = "pusat-x"
name = "Badan Pusat"
parent = "nasional"
[[org]]
code = "prov"
name = "Provinsi"
parent = "nasional"
region = "33"
admin = true
[[org]]
code = "prov-x"
name = "Dinas Provinsi"
parent = "prov"
[[org]]
code = "kab"
name = "Kabupaten"
parent = "prov"
region = "33.18"
admin = true
[[org]]
code = "kab-a"
name = "A"
parent = "kab"
[[org]]
code = "kab-b"
name = "B"
parent = "kab"
[[org]]
code = "kab-c"
name = "C"
parent = "kab"
[[org]]
code = "kab-d"
name = "D"
parent = "kab"
[[org]]
code = "kab-e"
name = "E"
parent = "kab"

[[category]]
name = "kesehatan"
keywords = ["puskesmas", "obat"]
[[category]]
name = "jalan"
keywords = ["jalan", "aspal"]

[[rule]]
id = "prov-kes"
region = "33"
categories = ["kesehatan"]
to = "prov-x"
[[rule]]
id = "kab-info"
region = "33.18"
kinds = ["information_request"]
channels = ["ppid"]
to = "kab-e"
[[rule]]
id = "kab-any"
region = "33.18"
to = "kab-a"
[[rule]]
id = "kab-kes"
region = "33.18"
categories = ["kesehatan"]
to = "kab-b"
[[rule]]
id = "kab-kes-obat"
region = "33.18"
categories = ["kesehatan"]
keywords = ["obat", "apotek"]
to = "kab-c"
[[rule]]
id = "kab-kes-resep"
region = "33.18"
categories = ["kesehatan"]
keywords = ["obat", "resep"]
to = "kab-d"
[[rule]]
id = "pusat-jalan"
categories = ["jalan"]
to = "pusat-x"
"#;

fn fixture() -> RuleSet {
    RuleSet::load(FIXTURE).unwrap_or_else(|e| panic!("fixture does not load: {e}"))
}

fn facts(region: Option<&str>, category: Option<&str>, text: &str) -> Facts {
    Facts {
        region: region.map(|r| RegionCode::parse(r).unwrap_or_else(|e| panic!("{e}"))),
        category: category.map(str::to_owned),
        title: String::new(),
        body: text.to_owned(),
        kind: Kind::Complaint,
        channel: Channel::parse("web").unwrap_or_else(|e| panic!("{e}")),
    }
}

fn org(s: &str) -> OrgCode {
    OrgCode::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

struct Case {
    name: &'static str,
    region: Option<&'static str>,
    category: Option<&'static str>,
    text: &'static str,
    exclude: &'static [&'static str],
    org: &'static str,
    rule: Option<&'static str>,
    reason: Reason,
}

// One argument per column keeps the table below one line per case.
#[allow(clippy::too_many_arguments)]
const fn case(
    name: &'static str,
    region: Option<&'static str>,
    category: Option<&'static str>,
    text: &'static str,
    exclude: &'static [&'static str],
    org: &'static str,
    rule: Option<&'static str>,
    reason: Reason,
) -> Case {
    Case {
        name,
        region,
        category,
        text,
        exclude,
        org,
        rule,
        reason,
    }
}

const R: Reason = Reason::Rule;

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Region prefix length first.
    case("district inherits its regency's rule", Some("33.18.01"), Some("kesehatan"), "antre", &[], "kab-b", Some("kab-kes"), R),
    case("longer region beats a rule naming the category", Some("33.18"), Some("jalan"), "", &[], "kab-a", Some("kab-any"), R),
    case("other regency falls to the province rule", Some("33.19"), Some("kesehatan"), "", &[], "prov-x", Some("prov-kes"), R),
    case("rule without region applies anywhere", Some("33.19"), Some("jalan"), "", &[], "pusat-x", Some("pusat-jalan"), R),
    // Category next.
    case("naming the category beats not naming it", Some("33.18"), Some("kesehatan"), "", &[], "kab-b", Some("kab-kes"), R),
    // Keyword evidence next.
    case("one keyword hit beats none", Some("33.18"), Some("kesehatan"), "apotek tutup", &[], "kab-c", Some("kab-kes-obat"), R),
    case("two hits beat one", Some("33.18"), Some("kesehatan"), "obat dan resep", &[], "kab-d", Some("kab-kes-resep"), R),
    // File order last.
    case("equal evidence: earlier rule", Some("33.18"), Some("kesehatan"), "obatnya habis", &[], "kab-c", Some("kab-kes-obat"), R),
    // Category derived from the text.
    case("derived category routes", Some("33.18"), None, "Puskesmasnya tutup", &[], "kab-b", Some("kab-kes"), R),
    // Triage and nasional.
    case("no rule: admin of the enclosing region", Some("33.19"), None, "halo", &[], "prov", None, Reason::NoRule),
    case("no region: region-less rule still applies", None, Some("jalan"), "", &[], "pusat-x", Some("pusat-jalan"), R),
    case("no region, no rule: nasional", None, Some("kesehatan"), "", &[], "nasional", None, Reason::NoRegion),
    case("unknown region: nasional", Some("99.01"), None, "puskesmas", &[], "nasional", None, Reason::NoRegion),
    // Exclusion: re-routing never returns to an org already tried.
    case("skip tried org, same evidence", Some("33.18"), Some("kesehatan"), "obat", &["kab-c"], "kab-d", Some("kab-kes-resep"), R),
    case("skip both keyword rules", Some("33.18"), Some("kesehatan"), "obat", &["kab-c", "kab-d"], "kab-b", Some("kab-kes"), R),
    case("then the rule naming no category", Some("33.18"), Some("kesehatan"), "obat", &["kab-c", "kab-d", "kab-b"], "kab-a", Some("kab-any"), R),
    case("then the shorter region", Some("33.18"), Some("kesehatan"), "obat", &["kab-c", "kab-d", "kab-b", "kab-a"], "prov-x", Some("prov-kes"), R),
    case("every candidate tried: admin", Some("33.18"), Some("kesehatan"), "obat", &["kab-c", "kab-d", "kab-b", "kab-a", "prov-x"], "kab", None, Reason::NoRule),
    case("admin even when tried", Some("33.18"), Some("kesehatan"), "obat", &["kab-c", "kab-d", "kab-b", "kab-a", "prov-x", "kab"], "kab", None, Reason::NoRule),
];

#[test]
fn precedence_triage_and_exclusion() {
    let rs = fixture();
    for c in CASES {
        let exclude: Vec<OrgCode> = c.exclude.iter().map(|o| org(o)).collect();
        let d = rs.route(&facts(c.region, c.category, c.text), &exclude);
        assert_eq!(d.org.as_str(), c.org, "{}: org", c.name);
        assert_eq!(d.rule_id.as_deref(), c.rule, "{}: rule", c.name);
        assert_eq!(d.reason, c.reason, "{}: reason", c.name);
        assert_eq!(d.ruleset_version, "route-1", "{}", c.name);
    }
}

#[test]
fn kind_and_channel_narrow_a_rule() {
    let rs = fixture();
    let mut f = facts(Some("33.18"), None, "mohon data anggaran");
    f.kind = Kind::InformationRequest;
    f.channel = Channel::parse("ppid").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rs.route(&f, &[]).org.as_str(), "kab-e");
    f.channel = Channel::parse("web").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rs.route(&f, &[]).org.as_str(), "kab-a", "wrong channel");
    f.channel = Channel::parse("ppid").unwrap_or_else(|e| panic!("{e}"));
    f.kind = Kind::Aspiration;
    assert_eq!(rs.route(&f, &[]).org.as_str(), "kab-a", "wrong kind");
}

#[test]
fn decision_reports_the_category_used() {
    let rs = fixture();
    let d = rs.route(&facts(Some("33.18"), None, "obatnya habis"), &[]);
    assert_eq!(d.category.as_deref(), Some("kesehatan"));
    assert_eq!(d.org.as_str(), "kab-c");
    let d = rs.route(&facts(Some("33.18"), Some("lainnya"), "obat"), &[]);
    assert_eq!(
        d.category.as_deref(),
        Some("lainnya"),
        "a given category is kept"
    );
    assert_eq!(d.rule_id.as_deref(), Some("kab-any"));
    let d = rs.route(&facts(Some("33.18"), None, "halo"), &[]);
    assert_eq!(d.category, None);
    assert_eq!(Reason::NoRegion.as_str(), "no_region");
    assert_eq!(Reason::NoRule.as_str(), "no_rule");
    assert_eq!(Reason::Rule.as_str(), "rule");
}

#[test]
fn admin_for_takes_the_longest_enclosing_region() {
    let rs = fixture();
    let region = |r: &str| RegionCode::parse(r).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rs.admin_for(Some(&region("33.18.01.2001"))).as_str(), "kab");
    assert_eq!(rs.admin_for(Some(&region("33.18"))).as_str(), "kab");
    assert_eq!(rs.admin_for(Some(&region("33.19"))).as_str(), "prov");
    assert_eq!(rs.admin_for(Some(&region("34"))).as_str(), "nasional");
    assert_eq!(rs.admin_for(None).as_str(), "nasional");
}

#[test]
fn explain_lists_winner_and_runners_up_with_reasons() {
    let rs = fixture();
    let e = rs.explain(&facts(Some("33.18"), Some("kesehatan"), "obat"));
    assert_eq!(e.decision.rule_id.as_deref(), Some("kab-kes-obat"));
    let line = |id: &str| line_of(FIXTURE, &format!("id = \"{id}\""));
    let want = [
        "category: kesehatan (given)".to_owned(),
        format!(
            "1. rule kab-kes-obat (line {}) -> kab-c: chosen: region 33.18, names the category, 1 keyword hit(s)",
            line("kab-kes-obat")
        ),
        format!(
            "2. rule kab-kes-resep (line {}) -> kab-d: ranked lower: later in the file than line {}",
            line("kab-kes-resep"),
            line("kab-kes-obat")
        ),
        format!(
            "3. rule kab-kes (line {}) -> kab-b: ranked lower: less keyword evidence (0 < 1 hits)",
            line("kab-kes")
        ),
        format!(
            "4. rule kab-any (line {}) -> kab-a: ranked lower: does not name the category, the winner does",
            line("kab-any")
        ),
        format!(
            "5. rule prov-kes (line {}) -> prov-x: ranked lower: shorter region prefix (2 < 5 characters)",
            line("prov-kes")
        ),
        format!(
            "- rule kab-info (line {}) -> kab-e: not a candidate: kind is not in [information_request]",
            line("kab-info")
        ),
        format!(
            "- rule pusat-jalan (line {}) -> pusat-x: not a candidate: category kesehatan is not in [jalan]",
            line("pusat-jalan")
        ),
    ];
    assert_eq!(e.lines, want);

    let e = rs.explain(&facts(None, None, "halo"));
    assert_eq!(e.decision.reason, Reason::NoRegion);
    assert!(
        e.to_string().contains("triage by nasional (no_region)"),
        "{e}"
    );
}

#[test]
fn sample_routes_realistic_complaints() {
    let rs = sample();
    let cases = [
        (
            Some("33.18.05"),
            "Puskesmas Juwana kekurangan obat",
            "kab-pati-dinkes",
        ),
        (
            Some("33.18"),
            "Antrean IGD RSUD sangat lama",
            "kab-pati-rsud",
        ),
        (
            Some("33.16"),
            "Djalan ke desa kami roesak dan berloebang",
            "kab-blora-pupr",
        ),
        (
            Some("33.75"),
            "Sampahnya menumpuk di TPS pasar",
            "kota-pekalongan-dlh",
        ),
        (
            Some("33.18"),
            "PPDB SMA zonasi tidak adil",
            "prov-jateng-disdikbud",
        ),
        (
            Some("33.18"),
            "Jalan provinsi Pati-Juwana berlubang",
            "prov-jateng-dpu",
        ),
        (
            Some("36.73"),
            "Pembuatan KTP elektronik lama",
            "kota-serang-disdukcapil",
        ),
        (Some("36.02"), "Air PDAM keruh", "kab-lebak-pdam"),
        (Some("33.19"), "Puskesmas tutup", "prov-jateng-dinkes"),
        (None, "Klaim BPJS ditolak", "bpjs-kesehatan"),
        (Some("36.73"), "listrik padam terus", "pln"),
        (Some("33.18"), "terima kasih", "kab-pati-diskominfo"),
        (Some("36.01"), "terima kasih", "prov-banten-diskominfo"),
        (None, "terima kasih", "nasional"),
    ];
    for (region, text, want) in cases {
        let d = rs.route(&facts(region, None, text), &[]);
        assert_eq!(d.org.as_str(), want, "{region:?} {text:?}: {d:?}");
        assert_eq!(d.ruleset_version, "sample-2026-11");
    }
}
