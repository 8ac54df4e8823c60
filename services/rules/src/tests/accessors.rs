//! What the rest of aduan reads off a loaded rule set (parents for
//! escalation, categories, rules, a load error's kinds) and the category
//! line of an explanation: each written for a mutant `cargo mutants -p
//! aduan-rules` found alive.

use aduan_domain::ids::{Channel, OrgCode, RegionCode};

use super::{sample, SAMPLE};
use crate::{Facts, Kind, ProblemKind, RuleSet};

fn org(s: &str) -> OrgCode {
    OrgCode::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn parents_categories_and_rules_are_the_files() {
    let rs = sample();
    assert_eq!(
        rs.parent_of(&org("kab-pati-dinkes")),
        Some(&org("kab-pati"))
    );
    assert_eq!(rs.parent_of(&org("nasional")), None);
    assert_eq!(rs.parent_of(&org("tidak-ada")), None);
    let categories: Vec<_> = rs.categories().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(categories.len(), SAMPLE.matches("[[category]]").count());
    assert!(categories.contains(&"kesehatan"), "{categories:?}");
    assert_eq!(rs.rules().len(), SAMPLE.matches("[[rule]]").count());
}

#[test]
fn a_load_error_says_which_kinds_of_problem_it_holds() {
    let src = format!("{SAMPLE}\n[[org]]\ncode = \"kab-jayapura\"\nname = \"Jayapura\"\nparent = \"nasional\"\nregion = \"91.03\"\n");
    let err = RuleSet::load(&src).expect_err("a region without an admin");
    assert!(err.has(ProblemKind::NoAdmin), "{err}");
    assert!(!err.has(ProblemKind::Duplicate), "{err}");
}

#[test]
fn a_category_found_by_keywords_is_said_to_be_derived() {
    let facts = Facts {
        region: Some(RegionCode::parse("33.18").unwrap_or_else(|e| panic!("{e}"))),
        category: None,
        title: String::new(),
        body: "Puskesmas kehabisan obat".into(),
        kind: Kind::Complaint,
        channel: Channel::parse("web").unwrap_or_else(|e| panic!("{e}")),
    };
    let e = sample().explain(&facts);
    assert_eq!(
        e.lines[0],
        "category: kesehatan (derived from the text's keywords)"
    );
}

#[test]
fn a_reason_prints_as_its_contract_word() {
    use crate::Reason;
    let words: Vec<_> = [Reason::Rule, Reason::NoRule, Reason::NoRegion]
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(words, ["rule", "no_rule", "no_region"]);
}

#[test]
fn review_answers_is_read_per_org_and_off_by_default() {
    let src = SAMPLE.replace(
        "code = \"kab-pati-dinkes\"\n",
        "code = \"kab-pati-dinkes\"\nreview_answers = true\n",
    );
    assert_ne!(src, SAMPLE, "the sample names kab-pati-dinkes");
    let rs = RuleSet::load(&src).unwrap_or_else(|e| panic!("{e}"));
    assert!(rs.reviews_answers(&org("kab-pati-dinkes")));
    assert!(!rs.reviews_answers(&org("kab-pati")));
    assert!(!rs.reviews_answers(&org("tidak-ada")));
    assert!(!sample().reviews_answers(&org("kab-pati-dinkes")));
    let bad = SAMPLE.replace(
        "code = \"kab-pati-dinkes\"\n",
        "code = \"kab-pati-dinkes\"\nreview_answers = \"ya\"\n",
    );
    assert!(
        RuleSet::load(&bad).is_err(),
        "review_answers must be a boolean"
    );
}
