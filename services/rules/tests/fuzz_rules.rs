//! Fuzz-style tests of the rule-set parser (issue 7): `RuleSet::load` on raw
//! text, on TOML soup built from the format's own keys, on generated rule sets
//! (valid and subtly broken: cycles, unknown parents, duplicates, bad codes),
//! and on the sample rule set mutated line by line. Properties: nothing panics;
//! a refusal is a `LoadError` with at least one problem, in line order, every
//! line inside the file; an accepted rule set routes any facts without
//! panicking, to one of its own orgs, and `explain` agrees with `route`.
//!
//! `ADUAN_FUZZ_CASES=N` runs a sustained campaign
//! (`cargo test --release -p aduan-rules --test fuzz_rules`). `fuzz/corpus/rules/`
//! is replayed by `replay_corpus`: `ok-*.toml` must load, `err-*.toml` must be refused.

use aduan_fuzz::{config, corpus, corpus_files};

use aduan_domain::ids::{Channel, OrgCode, RegionCode};
use aduan_rules::{Facts, Kind, LoadError, RuleSet};
use proptest::prelude::*;
use proptest::sample::{select, Index};

const SAMPLE: &str = include_str!("../../../deploy/rules/sample.toml");

/// Loads `src` and checks the properties; returns the rule set when accepted.
fn check(src: &str) -> Result<Option<RuleSet>, TestCaseError> {
    match RuleSet::load(src) {
        Ok(rs) => {
            check_routes(&rs)?;
            Ok(Some(rs))
        }
        Err(e) => {
            check_error(src, &e)?;
            Ok(None)
        }
    }
}

fn check_error(src: &str, e: &LoadError) -> Result<(), TestCaseError> {
    prop_assert!(!e.problems.is_empty(), "a refusal without problems");
    let lines = src.lines().count().max(1) + 1;
    let mut last = 0;
    for p in &e.problems {
        if let Some(line) = p.line {
            prop_assert!(
                (1..=lines).contains(&line),
                "line {} of {}: {}",
                line,
                lines,
                p
            );
            prop_assert!(line >= last, "problems out of order: {:?}", e.problems);
            last = line;
        }
    }
    let _ = e.to_string();
    Ok(())
}

const REGIONS: &[&str] = &[
    "33",
    "33.18",
    "33.18.05",
    "33.18.05.2001",
    "36.73",
    "99",
    "11.01",
];
const WORDS: &[&str] = &[
    "obat",
    "puskesmas",
    "jalan",
    "berlubang",
    "sekolah",
    "bpjs",
    "listrik",
    "pln",
    "banjir",
    "",
];

/// Routes a spread of facts; every decision names an org of the rule set.
fn check_routes(rs: &RuleSet) -> Result<(), TestCaseError> {
    let kinds = Kind::ALL;
    for (i, region) in REGIONS
        .iter()
        .map(|r| RegionCode::parse(r).ok())
        .chain([None])
        .enumerate()
    {
        let category = rs.categories().get(i).map(|c| c.name.clone());
        let facts = Facts {
            region,
            category,
            title: WORDS[i % WORDS.len()].to_owned(),
            body: WORDS.join(" "),
            kind: kinds[i % kinds.len()],
            channel: Channel::parse(if i % 2 == 0 { "web" } else { "sms" }).expect("channel"),
        };
        let d = rs.route(&facts, &[]);
        prop_assert!(
            rs.org(&d.org).is_some(),
            "routed to {} outside the rule set",
            d.org
        );
        prop_assert_eq!(&rs.explain(&facts).decision, &d);
        let tried: Vec<OrgCode> = vec![d.org.clone()];
        let again = rs.route(&facts, &tried);
        prop_assert!(rs.org(&again.org).is_some());
    }
    Ok(())
}

/// TOML fragments of the rule-set format, valid and not.
fn soup_token() -> impl Strategy<Value = String> {
    let fixed = select(vec![
        "version = \"v1\"\n",
        "[sla]\n",
        "acknowledge = 3\n",
        "follow_up = 0\n",
        "resolve = 60\n",
        "auto_close = 10\n",
        "max_hops = 4294967295\n",
        "[calendar]\n",
        "holidays = [\"2026-01-01\", \"2026-02-30\"]\n",
        "[[org]]\n",
        "code = \"nasional\"\n",
        "code = \"kab-pati\"\n",
        "code = \"Bad Code.*\"\n",
        "name = \"Org\"\n",
        "name = \"\"\n",
        "parent = \"nasional\"\n",
        "parent = \"kab-pati\"\n",
        "region = \"33.18\"\n",
        "region = \"33\"\n",
        "region = \"3x\"\n",
        "admin = true\n",
        "[[category]]\n",
        "name = \"kesehatan\"\n",
        "keywords = [\"obat\", \"\"]\n",
        "[[rule]]\n",
        "id = \"r1\"\n",
        "categories = [\"kesehatan\", \"nope\"]\n",
        "kinds = [\"complaint\", \"x\"]\n",
        "channels = [\"web\", \"fax\"]\n",
        "to = \"kab-pati\"\n",
        "to = \"nowhere\"\n",
        "unknown = 1\n",
        "code = 5\n",
        "[org]\n",
        "= \"\n",
        "\"\n",
        "'''\n",
        "[[\n",
        "\u{feff}",
        "# comment\n",
        "\n",
        "\t",
        "\r\n",
        "x = { a = [1, {b = 2}] }\n",
    ])
    .prop_map(str::to_owned);
    prop_oneof![8 => fixed, 1 => "[ -~]{0,12}\n?", 1 => ".{0,6}"]
}

/// One org, category or rule of a generated rule set.
fn org_codes() -> impl Strategy<Value = String> {
    select(vec![
        "nasional",
        "kab-pati",
        "kab-pati-dinkes",
        "kab-pati-diskominfo",
        "prov-jateng",
        "prov-jateng-diskominfo",
        "kab-blora",
        "x",
        "Kab Pati",
        "a.b",
        "",
        "nasional",
    ])
    .prop_map(str::to_owned)
}

#[derive(Debug, Clone)]
struct GenOrg {
    code: String,
    parent: Option<String>,
    region: Option<&'static str>,
    admin: bool,
}

#[derive(Debug, Clone)]
struct GenRule {
    id: String,
    region: Option<&'static str>,
    categories: Vec<&'static str>,
    keywords: Vec<&'static str>,
    kinds: Vec<&'static str>,
    to: String,
}

fn gen_org() -> impl Strategy<Value = GenOrg> {
    (
        org_codes(),
        proptest::option::weighted(0.8, org_codes()),
        proptest::option::of(select(vec![
            "33", "33.18", "33.17", "36", "36.73", "3x", "33.18.05",
        ])),
        proptest::bool::weighted(0.3),
    )
        .prop_map(|(code, parent, region, admin)| GenOrg {
            code,
            parent,
            region,
            admin,
        })
}

fn gen_rule() -> impl Strategy<Value = GenRule> {
    (
        select(vec!["r1", "r2", "r3", "", "r1"]),
        proptest::option::of(select(vec!["33", "33.18", "36", "99", "bad"])),
        proptest::collection::vec(select(vec!["kesehatan", "infrastruktur", "nope"]), 0..3),
        proptest::collection::vec(select(vec!["obat", "jalan", "", "rumah sakit"]), 0..3),
        proptest::collection::vec(
            select(vec!["complaint", "aspiration", "information_request", "x"]),
            0..2,
        ),
        org_codes(),
    )
        .prop_map(|(id, region, categories, keywords, kinds, to)| GenRule {
            id: id.to_owned(),
            region,
            categories,
            keywords,
            kinds,
            to,
        })
}

fn render(orgs: &[GenOrg], rules: &[GenRule], sla: [u32; 5]) -> String {
    let mut s = String::from("version = \"gen\"\n[sla]\n");
    for (k, v) in [
        "acknowledge",
        "follow_up",
        "resolve",
        "auto_close",
        "max_hops",
    ]
    .iter()
    .zip(sla)
    {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s.push_str("[calendar]\nholidays = [\"2026-01-01\"]\n");
    for o in orgs {
        s.push_str(&format!(
            "\n[[org]]\ncode = {:?}\nname = \"Org {}\"\n",
            o.code, o.code
        ));
        if let Some(p) = &o.parent {
            s.push_str(&format!("parent = {p:?}\n"));
        }
        if let Some(r) = o.region {
            s.push_str(&format!("region = {r:?}\n"));
        }
        if o.admin {
            s.push_str("admin = true\n");
        }
    }
    for c in ["kesehatan", "infrastruktur"] {
        s.push_str(&format!(
            "\n[[category]]\nname = {c:?}\nkeywords = [\"obat\", \"jalan\"]\n"
        ));
    }
    for r in rules {
        s.push_str(&format!("\n[[rule]]\nid = {:?}\n", r.id));
        if let Some(region) = r.region {
            s.push_str(&format!("region = {region:?}\n"));
        }
        s.push_str(&format!(
            "categories = {:?}\nkeywords = {:?}\n",
            r.categories, r.keywords
        ));
        if !r.kinds.is_empty() {
            s.push_str(&format!("kinds = {:?}\n", r.kinds));
        }
        s.push_str(&format!("to = {:?}\n", r.to));
    }
    s
}

/// A small rule set that loads, to mutate from.
fn base_orgs() -> Vec<GenOrg> {
    let org =
        |code: &str, parent: Option<&str>, region: Option<&'static str>, admin: bool| GenOrg {
            code: code.into(),
            parent: parent.map(Into::into),
            region,
            admin,
        };
    vec![
        org("nasional", None, None, false),
        org("prov-jateng", Some("nasional"), Some("33"), false),
        org(
            "prov-jateng-diskominfo",
            Some("prov-jateng"),
            Some("33"),
            true,
        ),
        org("kab-pati", Some("prov-jateng"), Some("33.18"), false),
        org("kab-pati-diskominfo", Some("kab-pati"), Some("33.18"), true),
        org("kab-pati-dinkes", Some("kab-pati"), Some("33.18"), false),
    ]
}

/// Provinces and their regencies that valid generated rule sets draw from.
const TREE: &[(&str, &[&str])] = &[
    ("33", &["33.18", "33.17", "33.26"]),
    ("36", &["36.73", "36.03"]),
    ("11", &["11.01"]),
];

/// The choices behind a rule set that is valid by construction: which
/// provinces and regencies exist, how many OPDs each regency has, and rules as
/// (region slot, category slot, keywords, target slot), resolved in `valid_set`.
#[derive(Debug, Clone)]
struct ValidChoices {
    provinces: Vec<bool>,
    regencies: Vec<bool>,
    opds: Vec<usize>,
    rules: Vec<(Index, Index, Vec<&'static str>, Index)>,
    sla: [u32; 5],
}

fn valid_choices() -> impl Strategy<Value = ValidChoices> {
    let regencies: usize = TREE.iter().map(|(_, r)| r.len()).sum();
    (
        proptest::collection::vec(proptest::bool::weighted(0.7), TREE.len()),
        proptest::collection::vec(proptest::bool::weighted(0.6), regencies),
        proptest::collection::vec(0usize..4, regencies),
        proptest::collection::vec(
            (
                any::<Index>(),
                any::<Index>(),
                proptest::collection::vec(
                    select(vec!["obat", "jalan", "rumah sakit", "pln"]),
                    0..3,
                ),
                any::<Index>(),
            ),
            0..12,
        ),
        proptest::array::uniform5(1u32..100),
    )
        .prop_map(|(provinces, regencies, opds, rules, sla)| ValidChoices {
            provinces,
            regencies,
            opds,
            rules,
            sla,
        })
}

/// Renders the choices as a rule set every validation should accept: a tree
/// under `nasional`, an admin org for every region, rules only to orgs whose
/// region overlaps theirs, and no two rules with the same region and category
/// (so none shadows another).
fn valid_set(c: &ValidChoices) -> String {
    let org = |code: String, parent: &str, region: &'static str, admin: bool| GenOrg {
        code,
        parent: Some(parent.to_owned()),
        region: Some(region),
        admin,
    };
    let mut orgs = vec![GenOrg {
        code: "nasional".into(),
        parent: None,
        region: None,
        admin: false,
    }];
    let mut slot = 0;
    for (p, (province, regencies)) in TREE.iter().enumerate() {
        let prov = format!("prov-{}", province.replace('.', ""));
        if c.provinces[p] {
            orgs.push(org(prov.clone(), "nasional", province, false));
            orgs.push(org(format!("{prov}-admin"), &prov, province, true));
        }
        for regency in regencies.iter() {
            let (here, opds) = (c.regencies[slot], c.opds[slot]);
            slot += 1;
            if !(c.provinces[p] && here) {
                continue;
            }
            let kab = format!("kab-{}", regency.replace('.', ""));
            orgs.push(org(kab.clone(), &prov, regency, false));
            orgs.push(org(format!("{kab}-admin"), &kab, regency, true));
            for n in 0..opds {
                orgs.push(org(format!("{kab}-opd{n}"), &kab, regency, false));
            }
        }
    }
    let mut taken = std::collections::HashSet::new();
    let mut rules = Vec::new();
    for (i, (region, category, keywords, to)) in c.rules.iter().enumerate() {
        let o = &orgs[region.index(orgs.len())];
        let category = [None, Some("kesehatan"), Some("infrastruktur")][category.index(3)];
        if !taken.insert((o.region, category)) {
            continue;
        }
        // Targets: orgs whose region lies within the rule's (or any, for no region).
        let targets: Vec<&GenOrg> = orgs
            .iter()
            .filter(|t| match (o.region, t.region) {
                (None, _) => true,
                (Some(r), Some(tr)) => tr == r || tr.starts_with(&format!("{r}.")),
                (Some(_), None) => false,
            })
            .collect();
        rules.push(GenRule {
            id: format!("r{i}"),
            region: o.region,
            categories: category.into_iter().collect(),
            keywords: keywords.clone(),
            kinds: vec![],
            to: targets[to.index(targets.len())].code.clone(),
        });
    }
    render(&orgs, &rules, c.sla)
}

/// A line-level change to a rule-set file.
#[derive(Debug, Clone)]
enum Edit {
    Delete(Index),
    Duplicate(Index),
    Swap(Index, Index),
    Replace(Index, String),
    /// Replace the value after `=` on a line.
    Value(Index, String),
    Truncate(Index),
    FlipChar(Index, char),
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    let value = select(vec![
        "\"\"",
        "0",
        "-1",
        "4294967296",
        "true",
        "[]",
        "[\"\"]",
        "\"nasional\"",
        "\"kab-pati\"",
        "\"33.18\"",
        "\"2026-13-01\"",
        "\"x y\"",
        "{}",
        "\"\u{0}\"",
        "1.5",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        3 => any::<Index>().prop_map(Edit::Delete),
        2 => any::<Index>().prop_map(Edit::Duplicate),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        1 => (any::<Index>(), soup_token()).prop_map(|(i, t)| Edit::Replace(i, t)),
        4 => (any::<Index>(), value).prop_map(|(i, v)| Edit::Value(i, v)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        2 => (any::<Index>(), any::<char>()).prop_map(|(i, c)| Edit::FlipChar(i, c)),
    ]
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = src.lines().map(str::to_owned).collect();
    let mut tail = None;
    for e in edits {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match e {
            Edit::Delete(i) => {
                lines.remove(i.index(n));
            }
            Edit::Duplicate(i) => {
                let l = lines[i.index(n)].clone();
                lines.insert(i.index(n), l);
            }
            Edit::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
            Edit::Replace(i, t) => lines[i.index(n)] = t.trim_end_matches('\n').to_owned(),
            Edit::Value(i, v) => {
                let l = &mut lines[i.index(n)];
                if let Some((k, _)) = l.split_once('=') {
                    *l = format!("{k}= {v}");
                }
            }
            Edit::Truncate(i) => {
                let text = lines.join("\n");
                let mut cut = i.index(text.len() + 1);
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                tail = Some(text[..cut].to_owned());
                break;
            }
            Edit::FlipChar(i, c) => {
                let l = &mut lines[i.index(n)];
                let chars: Vec<char> = l.chars().collect();
                if !chars.is_empty() {
                    let k = i.index(chars.len());
                    *l = chars[..k]
                        .iter()
                        .chain([c])
                        .chain(&chars[k + 1..])
                        .collect();
                }
            }
        }
    }
    tail.unwrap_or_else(|| lines.join("\n"))
}

#[test]
fn the_sample_loads_and_routes() {
    let rs = RuleSet::load(SAMPLE).expect("the sample loads");
    check_routes(&rs).expect("routes");
    let base = render(&base_orgs(), &[], [3, 5, 60, 10, 3]);
    RuleSet::load(&base).unwrap_or_else(|e| panic!("the base loads: {e}\n{base}"));
}

proptest! {
    #![proptest_config(config(1_000))]

    #[test]
    fn raw_text_never_panics(src in ".{0,300}") {
        check(&src)?;
    }

    #[test]
    fn toml_soup_never_panics(tokens in proptest::collection::vec(soup_token(), 0..40)) {
        check(&tokens.concat())?;
    }

    #[test]
    fn generated_rule_sets_never_panic(
        orgs in proptest::collection::vec(gen_org(), 0..8),
        rules in proptest::collection::vec(gen_rule(), 0..5),
        sla in proptest::array::uniform5(prop_oneof![4 => 1u32..100, 1 => Just(0u32), 1 => Just(u32::MAX)]),
    ) {
        check(&render(&orgs, &rules, sla))?;
    }

    #[test]
    fn generated_rule_sets_over_a_valid_base_never_panic(
        extra in proptest::collection::vec(gen_org(), 0..4),
        rules in proptest::collection::vec(gen_rule(), 1..5),
    ) {
        let mut orgs = base_orgs();
        orgs.extend(extra);
        check(&render(&orgs, &rules, [3, 5, 60, 10, 3]))?;
    }

    /// Every accepted set's properties (own orgs, explain agrees with route)
    /// are exercised on each case here, since every generated set must load.
    #[test]
    fn valid_rule_sets_load_and_route_to_their_own_orgs(choices in valid_choices()) {
        let src = valid_set(&choices);
        let loaded = check(&src)?;
        prop_assert!(loaded.is_some(), "a valid set was refused:\n{}\n{}", src,
            RuleSet::load(&src).err().map(|e| e.to_string()).unwrap_or_default());
    }

    #[test]
    fn edited_small_rule_sets_never_panic(edits in proptest::collection::vec(arb_edit(), 1..6)) {
        let base = render(&base_orgs(), &[GenRule {
            id: "pati-kesehatan".into(),
            region: Some("33.18"),
            categories: vec!["kesehatan"],
            keywords: vec!["obat"],
            kinds: vec![],
            to: "kab-pati-dinkes".into(),
        }], [3, 5, 60, 10, 3]);
        check(&apply(&base, &edits))?;
    }
}

proptest! {
    // The sample is 950 lines: each case parses and validates all of it.
    #![proptest_config(config(200))]

    #[test]
    fn edited_sample_never_panics(edits in proptest::collection::vec(arb_edit(), 1..6)) {
        check(&apply(SAMPLE, &edits))?;
    }
}

/// Replays `fuzz/corpus/rules`: `ok-*` must load, `err-*` must be refused.
#[test]
fn replay_corpus() {
    for f in corpus_files("rules") {
        let loaded = check(&f.text()).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(f.must_pass(), loaded.is_some(), "{}", f.name);
    }
}

/// Writes the seed corpus (`cargo test -p aduan-rules --test fuzz_rules -- --ignored`).
#[test]
#[ignore = "writes fuzz/corpus; run by hand to regenerate the seeds"]
fn write_seed_corpus() {
    let dir = corpus("rules");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let write = |name: &str, s: &str| std::fs::write(dir.join(name), s).expect("write");
    let rule = |to: &str| GenRule {
        id: "r1".into(),
        region: Some("33.18"),
        categories: vec!["kesehatan"],
        keywords: vec!["obat"],
        kinds: vec!["complaint"],
        to: to.into(),
    };
    let sla = [3, 5, 60, 10, 3];
    write(
        "ok-small.toml",
        &render(&base_orgs(), &[rule("kab-pati-dinkes")], sla),
    );
    write("err-empty.toml", "");
    write("err-not-toml.toml", "[[org]\ncode = \n");
    write(
        "err-unknown-org.toml",
        &render(&base_orgs(), &[rule("nowhere")], sla),
    );
    let mut cyclic = base_orgs();
    cyclic[1].parent = Some("kab-pati".into());
    write("err-cycle.toml", &render(&cyclic, &[], sla));
    let mut dup = base_orgs();
    dup.push(dup[3].clone());
    write("err-duplicate-org.toml", &render(&dup, &[], sla));
    let mut bad = base_orgs();
    bad[5].code = "Kab Pati.*".into();
    write("err-bad-org-code.toml", &render(&bad, &[], sla));
    write(
        "err-zero-sla.toml",
        &render(&base_orgs(), &[], [0, 5, 60, 10, 3]),
    );
    let mut no_root = base_orgs();
    no_root.remove(0);
    write("err-no-root.toml", &render(&no_root, &[], sla));
    write(
        "err-unknown-field.toml",
        &format!("{}\nunknown = 1\n", render(&base_orgs(), &[], sla)),
    );
    let mut jurisdiction = rule("kab-pati-dinkes");
    jurisdiction.region = Some("36");
    write(
        "err-jurisdiction.toml",
        &render(&base_orgs(), &[jurisdiction], sla),
    );
}
