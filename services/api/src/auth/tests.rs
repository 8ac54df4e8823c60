//! Token file, roles and scopes.

use super::*;
use axum::http::StatusCode;

fn opd(org: &str) -> Role {
    Role::Opd {
        org: OrgCode::parse(org).expect("org"),
        name: "ani".into(),
    }
}

#[test]
fn an_issued_token_maps_to_its_role_and_only_its_hash_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = Tokens::in_data_dir(dir.path());
    assert_eq!(tokens.role_of("anything"), None);
    let t = tokens.issue(&opd("kab-pati-dinkes")).expect("issue");
    assert_eq!(tokens.role_of(&t), Some(opd("kab-pati-dinkes")));
    let file = std::fs::read_to_string(dir.path().join(TOKEN_FILE)).expect("file");
    assert!(!file.contains(&t));
    assert!(file.contains(&reporter_token::hash(&t)));
}

#[test]
fn a_token_issued_by_another_handle_is_seen_without_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = Tokens::in_data_dir(dir.path());
    assert_eq!(served.role_of("x"), None);
    let path = dir.path().join(TOKEN_FILE);
    let admin = Role::Admin {
        name: "budi".into(),
    };
    let t = issue(&path, &admin).expect("issue");
    assert_eq!(served.role_of(&t), Some(admin));
}

#[test]
fn a_known_token_is_answered_from_memory_and_a_revoked_one_ends_within_the_recheck() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(TOKEN_FILE);
    let recheck = Duration::from_millis(200);
    let served = Tokens::with_recheck(&path, recheck);
    let t = issue(&path, &opd("kab-pati-dinkes")).expect("issue");
    assert_eq!(served.role_of(&t), Some(opd("kab-pati-dinkes")));
    // The file is gone, but a request within the recheck reads no file.
    std::fs::remove_file(&path).expect("revoke all");
    assert_eq!(served.role_of(&t), Some(opd("kab-pati-dinkes")));
    std::thread::sleep(recheck + Duration::from_millis(50));
    assert_eq!(served.role_of(&t), None, "revoked after the recheck");
}

#[test]
fn bad_lines_are_skipped_and_good_ones_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(TOKEN_FILE);
    std::fs::write(
        &path,
        "not json\n{\"hash\":\"ab\",\"role\":\"opd\",\"org\":\"BAD.ORG\"}\n",
    )
    .expect("write");
    let t = issue(&path, &Role::Auditor { name: "c".into() }).expect("issue");
    let tokens = Tokens::open(&path);
    assert_eq!(tokens.role_of(&t), Some(Role::Auditor { name: "c".into() }));
}

#[test]
fn scopes_refuse_other_roles() {
    let c = Caller::new(opd("kab-pati-dinkes"));
    assert!(c
        .require_org(&OrgCode::parse("kab-pati-dinkes").expect("org"))
        .is_ok());
    let other = c.require_org(&OrgCode::parse("kab-kudus").expect("org"));
    assert_eq!(other.map_err(|e| e.status()), Err(StatusCode::FORBIDDEN));
    assert!(c.require_admin().is_err());
    assert!(c.require_admin_or_auditor().is_err());
    let a = Caller::new(Role::Admin {
        name: "budi".into(),
    });
    assert_eq!(a.require_admin().ok(), Some("budi"));
    assert!(a.require_auditor().is_err());
    assert!(a.require_admin_or_auditor().is_ok());
    assert_eq!(a.actor(), "admin:budi");
}

#[test]
fn an_opd_head_token_acts_for_its_org_as_head_and_reads_no_statistics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = Tokens::in_data_dir(dir.path());
    let dinkes = OrgCode::parse("kab-pati-dinkes").expect("org");
    let head = Role::OpdHead {
        org: dinkes.clone(),
        name: "kepala".into(),
    };
    let t = tokens.issue(&head).expect("issue");
    assert_eq!(tokens.role_of(&t), Some(head.clone()));
    let file = std::fs::read_to_string(dir.path().join(TOKEN_FILE)).expect("file");
    assert!(file.contains("\"role\":\"opd_head\""), "{file}");
    let c = Caller::new(head);
    assert_eq!(c.require_org(&dinkes).ok(), Some(OrgRole::Head));
    assert_eq!(c.actor(), "opd_head:kab-pati-dinkes:kepala");
    let other = OrgCode::parse("kab-kudus").expect("org");
    assert!(c.require_org(&other).is_err());
    assert!(c.require_admin().is_err());
    assert!(c.require_admin_or_auditor().is_err());
    let operator = Caller::new(opd("kab-pati-dinkes"));
    assert_eq!(operator.require_org(&dinkes).ok(), Some(OrgRole::Operator));
}
