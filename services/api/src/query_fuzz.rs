//! Fuzz of every query and path parameter of the read endpoints: random
//! strings (dates out of range, negative years, broken percent-encoding,
//! unicode, keys repeated or unknown) under every role, against read models
//! holding a complaint. No request may panic a handler, every answer is one
//! the contract allows, and every refusal is the contract's JSON error (a
//! bad parameter names its field). `ADUAN_FUZZ_CASES` sets the campaign size.

use aduan_domain::OrgCode;
use aduan_proto::v1;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::auth::{Role, Tokens};
use crate::test_state::{get, state};

/// Values a parameter may take: near-miss dates and codes, and anything.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("-0500-01-01".to_owned()),
        Just("0000-00-00".to_owned()),
        Just("10000-01-01".to_owned()),
        Just("2026-02-30".to_owned()),
        Just("2026-13-01".to_owned()),
        Just("2026-11-02T25:00:00Z".to_owned()),
        Just("1969-12-31".to_owned()),
        Just("9999-12-31".to_owned()),
        Just("nasional".to_owned()),
        Just("kab-pati".to_owned()),
        Just("kab-pati-dinkes".to_owned()),
        Just("1000".to_owned()),
        Just("1001".to_owned()),
        (-5i64..2000).prop_map(|n| n.to_string()),
        (-99_999i32..99_999, 0u8..20, 0u8..40)
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        "[a-z0-9.:+-]{0,30}",
        any::<String>(),
        "\\PC{0,300}",
    ]
}

/// A string as it goes on the wire: mostly percent-encoded, sometimes raw
/// with broken escapes.
fn wire() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => value().prop_map(|v| encode(&v)),
        1 => "[%A-Za-z0-9&=]{0,12}",
    ]
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A query string over the stats parameters and others, keys repeated at will.
fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("org".to_owned()),
        Just("parent".to_owned()),
        Just("from".to_owned()),
        Just("to".to_owned()),
        Just("limit".to_owned()),
        Just("after".to_owned()),
        "[a-z%]{1,6}",
    ];
    prop::collection::vec((key, wire()), 0..5).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// A GET request's path and query, over every read route.
fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => query().prop_map(|q| format!("/v1/stats/recap?{q}")),
        3 => query().prop_map(|q| format!("/v1/stats/ranking?{q}")),
        1 => wire().prop_map(|p| format!("/v1/complaints/{p}")),
        1 => (wire(), query()).prop_map(|(p, q)| format!("/v1/orgs/{p}/inbox?{q}")),
        1 => wire().prop_map(|p| format!("/v1/audit/complaints/{p}/events")),
        1 => query().prop_map(|q| format!("/readyz?{q}")),
        1 => query().prop_map(|q| format!("/metrics?{q}")),
    ]
}

/// The contract's error codes a read may be answered with.
const CODES: [&str; 5] = [
    "invalid_argument",
    "unauthorized",
    "forbidden",
    "not_found",
    "unavailable",
];

/// Checks one answer against what the contract allows.
fn check(target: &str, status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(body);
    prop_assert!(
        matches!(status, 200 | 400 | 401 | 403 | 404 | 503),
        "{target}: status {status}: {text}"
    );
    if status == 200 {
        return check_window(target, body);
    }
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        TestCaseError::fail(format!("{target}: {status} is not JSON ({e}): {text}"))
    })?;
    let code = v["error"]["code"].as_str().unwrap_or_default();
    prop_assert!(CODES.contains(&code), "{target}: code {code:?}: {text}");
    if status == 400 {
        let field = v["error"]["field"].as_str().unwrap_or_default();
        prop_assert!(
            ["org", "parent", "from", "to", "limit", "after", "query", "path"].contains(&field),
            "{target}: a bad parameter names its field: {text}"
        );
    }
    Ok(())
}

/// A recap or ranking answered names its window's days as `YYYY-MM-DD`
/// within 1970–9999: a date outside is refused, never answered.
fn check_window(target: &str, body: &[u8]) -> Result<(), TestCaseError> {
    if !target.starts_with("/v1/stats/") {
        return Ok(());
    }
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| TestCaseError::fail(format!("{target}: 200 is not JSON ({e})")))?;
    for field in ["from", "to"] {
        let Some(day) = v[field].as_str() else {
            continue;
        };
        let year: Option<i32> = day.get(..4).and_then(|y| y.parse().ok());
        prop_assert!(
            day.len() == 10 && year.is_some_and(|y| (1970..=9999).contains(&y)),
            "{target}: {field} answered as {day:?}"
        );
    }
    Ok(())
}

#[test]
fn no_query_or_path_parameter_panics_a_handler_or_leaves_the_contract() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (s, tokens) = rt.block_on(async {
        let s = state(dir.path()).await;
        aduan_complaints::publish_ruleset(&s.log, crate::test_state::RULES)
            .await
            .expect("publish");
        s.intake
            .submit(v1::SubmitComplaint {
                channel: "web".into(),
                channel_ref: "fuzz-1".into(),
                kind: "complaint".into(),
                title: "Obat habis".into(),
                body: "Puskesmas kehabisan obat".into(),
                ..Default::default()
            })
            .await
            .expect("submit");
        let events = aduan_log::EventLog::read_all(&s.log, 1, 100)
            .await
            .expect("read");
        s.projections.apply(&events).expect("apply");
        let t = Tokens::in_data_dir(dir.path());
        let issue = |r: Role| t.issue(&r).expect("issue");
        let tokens = vec![
            None,
            Some("not-a-token".to_owned()),
            Some(issue(Role::Admin { name: "a".into() })),
            Some(issue(Role::Auditor { name: "u".into() })),
            Some(issue(Role::Opd {
                org: OrgCode::parse("kab-pati-dinkes").expect("org"),
                name: "o".into(),
            })),
        ];
        (s, tokens)
    });
    let cases = std::env::var("ADUAN_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(target(), 0..tokens.len()), |(target, who)| {
            let (status, body) = rt.block_on(get(&s, &target, tokens[who].as_deref()));
            check(&target, status, body.as_bytes())
        })
        .expect("every answer within the contract");
}
