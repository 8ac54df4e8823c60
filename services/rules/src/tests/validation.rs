//! Validation: one test per kind of problem, checking its message and line;
//! and that every problem of a file is reported at once.

use super::{line_of, SAMPLE};

use crate::{Problem, ProblemKind, RuleSet};

/// A valid file; tests append to it.
const BASE: &str = r#"version = "v"
[[org]]
code = "nasional"
name = "Nasional"
[[org]]
code = "kab"
name = "Kabupaten"
parent = "nasional"
region = "33.18"
admin = true
[[org]]
code = "kab-dinkes"
name = "Dinas Kesehatan"
parent = "kab"
[[category]]
name = "kesehatan"
keywords = ["obat"]
"#;

fn problems(src: &str) -> Vec<Problem> {
    match RuleSet::load(src) {
        Ok(_) => panic!("loaded, but should not:\n{src}"),
        Err(e) => e.problems,
    }
}

/// Asserts a problem of `kind` at the line of the last occurrence of `at`,
/// whose message has `says`.
fn expect(src: &str, kind: ProblemKind, at: Option<&str>, says: &str) {
    let all = problems(src);
    let line = at.map(|needle| last_line_of(src, needle));
    let found = all
        .iter()
        .any(|p| p.kind == kind && p.line == line && p.message.contains(says));
    assert!(
        found,
        "want {kind:?} at {line:?} saying {says:?}; got {all:#?}"
    );
}

fn last_line_of(src: &str, needle: &str) -> usize {
    match src.rfind(needle) {
        Some(at) => src[..at].matches('\n').count() + 1,
        None => panic!("{needle:?} not in the source"),
    }
}

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn base_and_sample_are_valid() {
    assert!(RuleSet::load(BASE).is_ok());
    let rs = RuleSet::load(SAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rs.version(), "sample-2026-11");
    assert_eq!(rs.sla().resolve, 60);
    assert_eq!(rs.holidays().len(), 16);
}

#[test]
fn sla_defaults_apply() {
    let rs = RuleSet::load(&with("[sla]\nresolve = 30\n")).unwrap_or_else(|e| panic!("{e}"));
    let sla = rs.sla();
    assert_eq!(
        (
            sla.acknowledge,
            sla.follow_up,
            sla.resolve,
            sla.auto_close,
            sla.max_hops
        ),
        (3, 5, 30, 10, 3)
    );
}

#[test]
fn syntax_errors_have_a_line() {
    let src = with("[[rule]\nid = \"x\"\n");
    expect(&src, ProblemKind::Syntax, Some("[[rule]\n"), "");
    let src = with("[[rule]]\nid = \"x\"\ncatgories = []\nto = \"kab\"\n");
    expect(&src, ProblemKind::Syntax, Some("catgories"), "catgories");
}

#[test]
fn unreadable_file() {
    let e = RuleSet::load_file("/nonexistent/rules.toml").err();
    assert!(e.is_some_and(|e| e.has(ProblemKind::Io)));
}

#[test]
fn invalid_values() {
    let src = with("[calendar]\nholidays = [\"2026-13-01\"]\n");
    expect(
        &src,
        ProblemKind::InvalidValue,
        Some("\"2026-13-01\""),
        "not a date",
    );
    let src = with("[sla]\nresolve = 0\n");
    expect(
        &src,
        ProblemKind::InvalidValue,
        Some("resolve = 0"),
        "sla.resolve",
    );
    let src = with("[[rule]]\nid = \"r\"\nchannels = [\"Web\"]\nto = \"kab\"\n");
    expect(&src, ProblemKind::InvalidValue, Some("\"Web\""), "channel");
}

#[test]
fn invalid_org_code() {
    let src = with("[[org]]\ncode = \"kab.pati\"\nname = \"X\"\nparent = \"kab\"\n");
    expect(
        &src,
        ProblemKind::InvalidOrgCode,
        Some("\"kab.pati\""),
        "org code",
    );
}

#[test]
fn invalid_region() {
    let src = with("[[org]]\ncode = \"kec\"\nname = \"X\"\nparent = \"kab\"\nregion = \"33.1\"\n");
    expect(
        &src,
        ProblemKind::InvalidRegion,
        Some("\"33.1\""),
        "region code",
    );
    let src = with("[[rule]]\nid = \"r\"\nregion = \"3318\"\nto = \"kab\"\n");
    expect(
        &src,
        ProblemKind::InvalidRegion,
        Some("\"3318\""),
        "region code",
    );
}

#[test]
fn unknown_orgs() {
    let src = with("[[org]]\ncode = \"xx\"\nname = \"X\"\nparent = \"nope\"\n");
    expect(
        &src,
        ProblemKind::UnknownOrg,
        Some("\"nope\""),
        "parent \"nope\" is not an org",
    );
    let src = with("[[rule]]\nid = \"r\"\nto = \"kab-dinkez\"\n");
    expect(
        &src,
        ProblemKind::UnknownOrg,
        Some("\"kab-dinkez\""),
        "`to` \"kab-dinkez\"",
    );
}

#[test]
fn duplicates() {
    let first = line_of(BASE, "code = \"kab-dinkes\"");
    let src = with("[[org]]\ncode = \"kab-dinkes\"\nname = \"Again\"\nparent = \"kab\"\n");
    let says = format!("duplicate org kab-dinkes (first at line {first})");
    expect(
        &src,
        ProblemKind::Duplicate,
        Some("code = \"kab-dinkes\""),
        &says,
    );
    let src = with("[[category]]\nname = \"kesehatan\"\n");
    expect(
        &src,
        ProblemKind::Duplicate,
        Some("name = \"kesehatan\""),
        "duplicate category",
    );
    let rule = "[[rule]]\nid = \"r\"\nregion = \"33.18\"\nto = \"kab\"\n";
    let src = with(&format!("{rule}{}", rule.replace("33.18", "33.18.01")));
    expect(
        &src,
        ProblemKind::Duplicate,
        Some("id = \"r\""),
        "duplicate rule id \"r\"",
    );
    let src = with("[[org]]\ncode = \"kab-2\"\nname = \"X\"\nparent = \"nasional\"\nregion = \"33.18\"\nadmin = true\n");
    expect(
        &src,
        ProblemKind::Duplicate,
        Some("code = \"kab-2\""),
        "region 33.18 has two admin orgs: kab and kab-2",
    );
}

#[test]
fn cycle_in_the_org_tree() {
    let src = with(concat!(
        "[[org]]\ncode = \"aa\"\nname = \"A\"\nparent = \"bb\"\n",
        "[[org]]\ncode = \"bb\"\nname = \"B\"\nparent = \"aa\"\n",
    ));
    expect(
        &src,
        ProblemKind::Cycle,
        Some("code = \"aa\""),
        "cycle: aa -> bb -> aa",
    );
    let src = with("[[org]]\ncode = \"self\"\nname = \"S\"\nparent = \"self\"\n");
    expect(
        &src,
        ProblemKind::Cycle,
        Some("code = \"self\""),
        "self -> self",
    );
}

#[test]
fn roots() {
    let src = with("[[org]]\ncode = \"lonely\"\nname = \"L\"\n");
    expect(
        &src,
        ProblemKind::Root,
        Some("code = \"lonely\""),
        "only nasional may be the root",
    );
    let src = BASE.replace("code = \"nasional\"", "code = \"pusat\"");
    expect(&src, ProblemKind::Root, None, "no org nasional");
    let src = BASE.replace(
        "name = \"Nasional\"",
        "name = \"Nasional\"\nparent = \"kab-dinkes\"",
    );
    expect(
        &src,
        ProblemKind::Root,
        Some("parent = \"kab-dinkes\""),
        "must not have a parent",
    );
}

#[test]
fn unknown_category_and_kind() {
    let src = with("[[rule]]\nid = \"r\"\ncategories = [\"kesehatan\", \"jalan\"]\nto = \"kab\"\n");
    expect(
        &src,
        ProblemKind::UnknownCategory,
        Some("\"jalan\""),
        "unknown category \"jalan\"",
    );
    let src = with("[[rule]]\nid = \"r\"\nkinds = [\"complain\"]\nto = \"kab\"\n");
    expect(
        &src,
        ProblemKind::UnknownKind,
        Some("\"complain\""),
        "unknown kind \"complain\"",
    );
}

#[test]
fn unreachable_rules() {
    let broad = "[[rule]]\nid = \"broad\"\nregion = \"33.18\"\ncategories = [\"kesehatan\"]\nto = \"kab\"\n";
    let narrow = "[[rule]]\nid = \"narrow\"\nregion = \"33.18\"\ncategories = [\"kesehatan\"]\nkinds = [\"complaint\"]\nto = \"kab-dinkes\"\n";
    let src = with(&format!("{broad}{narrow}"));
    let says = format!(
        "rule narrow can never match: rule broad (line {})",
        last_line_of(&src, "id = \"broad\"")
    );
    expect(
        &src,
        ProblemKind::Unreachable,
        Some("id = \"narrow\""),
        &says,
    );
    // The other way round both are reachable: the narrow one comes first.
    assert!(RuleSet::load(&with(&format!("{narrow}{broad}"))).is_ok());
    // Keywords make a later rule reachable: evidence ranks it higher.
    let keyed = narrow.replace("kinds = [\"complaint\"]", "keywords = [\"apotek\"]");
    assert!(RuleSet::load(&with(&format!("{broad}{keyed}"))).is_ok());
    let src = with("[[rule]]\nid = \"r\"\nkeywords = [\"!!\"]\nto = \"kab\"\n");
    expect(
        &src,
        ProblemKind::Unreachable,
        Some("\"!!\""),
        "has no words, so it can never match",
    );
}

#[test]
fn regions_need_an_admin() {
    let src = with("[[org]]\ncode = \"kab-blora\"\nname = \"Blora\"\nparent = \"nasional\"\nregion = \"33.16\"\n");
    expect(
        &src,
        ProblemKind::NoAdmin,
        Some("\"33.16\""),
        "region 33.16 (of org kab-blora) has no admin org",
    );
    let src = with("[[rule]]\nid = \"r\"\nregion = \"36\"\nto = \"nasional\"\n");
    expect(
        &src,
        ProblemKind::NoAdmin,
        Some("\"36\""),
        "region 36 (of rule r) has no admin org",
    );
    // A district is covered by its regency's admin, a rule's or an org's.
    assert!(RuleSet::load(&with(
        "[[rule]]\nid = \"r\"\nregion = \"33.18.01\"\nto = \"kab\"\n"
    ))
    .is_ok());
    assert!(RuleSet::load(&with(
        "[[org]]\ncode = \"kec-juwana\"\nname = \"Juwana\"\nparent = \"kab\"\nregion = \"33.18.05\"\n"
    ))
    .is_ok());
}

#[test]
fn jurisdiction() {
    let src = with("[[org]]\ncode = \"far\"\nname = \"F\"\nparent = \"kab\"\nregion = \"36.01\"\nadmin = true\n");
    expect(
        &src,
        ProblemKind::Jurisdiction,
        Some("\"36.01\""),
        "not within its parent kab's region 33.18",
    );
    let src = with("[[rule]]\nid = \"r\"\nregion = \"33.18\"\nto = \"kab-dinkes\"\n[[rule]]\nid = \"r2\"\nregion = \"33.18.01\"\nto = \"kab-dinkes\"\n");
    assert!(RuleSet::load(&src).is_ok(), "overlapping regions are fine");
    let extra = "[[org]]\ncode = \"prov\"\nname = \"P\"\nparent = \"nasional\"\nregion = \"36\"\nadmin = true\n";
    let src = with(&format!(
        "{extra}[[rule]]\nid = \"r\"\nregion = \"36\"\nto = \"kab-dinkes\"\n"
    ));
    expect(
        &src,
        ProblemKind::Jurisdiction,
        Some("to = \"kab-dinkes\""),
        "whose region 33.18 does not overlap it",
    );
}

#[test]
fn every_problem_is_reported_in_line_order() {
    let src = with(concat!(
        "[[org]]\ncode = \"xx\"\nname = \"X\"\nparent = \"nope\"\n",
        "[[rule]]\nid = \"r\"\ncategories = [\"jalan\"]\nkinds = [\"keluhan\"]\nto = \"ghost\"\n",
    ));
    let all = problems(&src);
    let kinds: Vec<ProblemKind> = all.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            ProblemKind::UnknownOrg,
            ProblemKind::UnknownCategory,
            ProblemKind::UnknownKind,
            ProblemKind::UnknownOrg,
        ],
        "{all:#?}"
    );
    let lines: Vec<Option<usize>> = all.iter().map(|p| p.line).collect();
    let want =
        ["\"nope\"", "\"jalan\"", "\"keluhan\"", "\"ghost\""].map(|n| Some(last_line_of(&src, n)));
    assert_eq!(lines, want);
    let shown = crate::LoadError { problems: all }.to_string();
    assert!(shown.starts_with("rule set has 4 problem(s)"), "{shown}");
    assert!(
        shown.contains(&format!(
            "line {}: org xx: parent \"nope\"",
            last_line_of(&src, "\"nope\"")
        )),
        "{shown}"
    );
}

#[test]
fn known_channels_default_to_the_contract_list_and_may_be_set() {
    let rs = RuleSet::load(BASE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rs.channels().len(), aduan_domain::Channel::KNOWN.len());
    assert!(rs.knows_channel("lapor-gub") && !rs.knows_channel("wa"));
    // A list replaces the default; channels named by rules are known too.
    let src = format!(
        "channels = [\"web\", \"wa\"]\n{BASE}[[rule]]\nid = \"r\"\nchannels = [\"sms\"]\nto = \"kab-dinkes\"\n"
    );
    let rs = RuleSet::load(&src).unwrap_or_else(|e| panic!("{e}"));
    let known: Vec<_> = rs.channels().iter().map(|c| c.as_str()).collect();
    assert_eq!(known, ["sms", "wa", "web"]);
    assert!(rs.knows_category("kesehatan") && !rs.knows_category("lainnya"));
    let bad = format!("channels = [\"Web Form\"]\n{BASE}");
    expect(
        &bad,
        ProblemKind::InvalidValue,
        Some("channels"),
        "channels:",
    );
}

#[test]
fn geo_boundaries_and_category_descriptions_are_optional_and_read() {
    // An older file, without either, loads with neither.
    let old = RuleSet::load(BASE).expect("base");
    assert_eq!(old.boundaries(), None);
    assert_eq!(old.categories()[0].description, "");
    let src = BASE.replace(
        "name = \"kesehatan\"",
        "name = \"kesehatan\"\ndescription = \"  Layanan kesehatan \"",
    ) + "[geo]\nboundaries = \"regions.geojson\"\n";
    let rs = RuleSet::load(&src).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rs.boundaries(), Some("regions.geojson"));
    assert_eq!(rs.categories()[0].description, "Layanan kesehatan");
}

#[test]
fn geo_boundaries_must_be_a_relative_path_inside_the_rule_directory() {
    for bad in [
        "\"\"",
        "\"  \"",
        "\"/etc/regions.geojson\"",
        "\"../x.geojson\"",
    ] {
        let src = with(&format!("[geo]\nboundaries = {bad}\n"));
        expect(
            &src,
            ProblemKind::InvalidValue,
            Some("boundaries ="),
            "geo.boundaries",
        );
    }
    expect(
        &with("[geo]\nboundary = \"x.geojson\"\n"),
        ProblemKind::Syntax,
        Some("boundary ="),
        "boundary",
    );
}
