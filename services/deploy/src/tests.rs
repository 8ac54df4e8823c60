//! The generated users and config, checked with a NATS subject matcher: what
//! each user may do, what none may, and the config text nats-server reads.

use aduan_bus::Subjects;
use aduan_rules::RuleSet;

use crate::{inbox_prefix, nats_config, users, Options, Role, Service, User};

const RULES: &str = r#"
version = "t-1"
[sla]
acknowledge = 3
follow_up = 5
resolve = 60
auto_close = 10
max_hops = 3
[[org]]
code = "nasional"
name = "Nasional"
[[org]]
code = "kab-a"
name = "A"
parent = "nasional"
region = "33.18"
admin = true
[[org]]
code = "kab-b"
name = "B"
parent = "nasional"
region = "33.19"
admin = true
"#;

fn rules() -> RuleSet {
    RuleSet::load(RULES).expect("test rule set")
}

/// Whether NATS subject `subject` matches pattern `pattern` (`*` one token, `>` the rest).
fn matches(pattern: &str, subject: &str) -> bool {
    let (mut p, mut s) = (pattern.split('.'), subject.split('.'));
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

fn may(list: &[String], subject: &str) -> bool {
    list.iter().any(|p| matches(p, subject))
}

fn user<'a>(all: &'a [User], name: &str) -> &'a User {
    all.iter().find(|u| u.name == name).expect(name)
}

fn all_users() -> Vec<User> {
    let rules = rules();
    users(&rules, &Options::new(&rules))
}

#[test]
fn there_is_a_user_per_org_per_known_channel_and_per_service_each_named_once() {
    let all = all_users();
    // Three OPDs, three admin users (nasional and the two admin orgs).
    assert_eq!(all.len(), 3 + 3 + 9 + Service::ALL.len());
    let mut names: Vec<&str> = all.iter().map(|u| u.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len());
    for n in [
        "opd-kab-a",
        "adapter-sms",
        "adapter-lapor-gub",
        "svc-router",
        "svc-serve",
    ] {
        user(&all, n);
    }
    assert!(matches!(user(&all, "opd-kab-b").role, Role::Opd(ref o) if o.as_str() == "kab-b"));
}

#[test]
fn an_opd_may_use_only_its_own_consumer_and_cmd() {
    let all = all_users();
    let a = &user(&all, "opd-kab-a").permissions;
    for ok in [
        "aduan.opd.kab-a.cmd",
        "aduan.query.status",
        "$JS.API.CONSUMER.CREATE.ADUAN_OPD.opd-kab-a.aduan.opd.kab-a.inbox",
        "$JS.API.CONSUMER.MSG.NEXT.ADUAN_OPD.opd-kab-a",
        "$JS.API.CONSUMER.INFO.ADUAN_OPD.opd-kab-a",
        "$JS.ACK.ADUAN_OPD.opd-kab-a.1.5.5.1700000000000000000.0",
    ] {
        assert!(may(&a.publish, ok), "{ok} refused");
    }
    for refused in [
        "aduan.opd.kab-b.cmd",
        "aduan.opd.kab-a.inbox",
        "aduan.opd.kab-b.inbox",
        "aduan.intake.submit",
        "$JS.API.CONSUMER.CREATE.ADUAN_OPD",
        "$JS.API.CONSUMER.CREATE.ADUAN_OPD.opd-kab-a.aduan.opd.kab-b.inbox",
        "$JS.API.CONSUMER.CREATE.ADUAN_OPD.opd-kab-a.aduan.opd.*.inbox",
        "$JS.API.CONSUMER.CREATE.ADUAN_OPD.opd-kab-a",
        "$JS.API.CONSUMER.DURABLE.CREATE.ADUAN_OPD.opd-kab-a",
        "$JS.API.CONSUMER.MSG.NEXT.ADUAN_OPD.opd-kab-b",
        "$JS.API.DIRECT.GET.ADUAN_OPD",
        "$JS.API.DIRECT.GET.ADUAN_OPD.aduan.opd.kab-b.inbox",
        "$JS.API.STREAM.MSG.GET.ADUAN_OPD",
        "$JS.API.STREAM.INFO.ADUAN_OPD",
        "$JS.ACK.ADUAN_OPD.opd-kab-b.1.5.5.1700000000000000000.0",
    ] {
        assert!(!may(&a.publish, refused), "{refused} allowed");
    }
    assert_eq!(a.subscribe, vec!["_INBOX_opd-kab-a.>".to_owned()]);
    assert!(!a.allow_responses);
}

#[test]
fn nobody_may_subscribe_to_another_users_inbox_or_the_shared_one() {
    let all = all_users();
    for u in &all {
        let sub = &u.permissions.subscribe;
        assert!(
            may(sub, &format!("{}.x", inbox_prefix(&u.name))),
            "{}",
            u.name
        );
        assert!(!may(sub, "_INBOX.x"), "{} may read _INBOX", u.name);
        for v in all.iter().filter(|v| v.name != u.name) {
            let theirs = format!("{}.x", inbox_prefix(&v.name));
            assert!(!may(sub, &theirs), "{} may read {theirs}", u.name);
        }
    }
}

#[test]
fn only_the_router_publishes_assignments_and_only_services_answer_requests() {
    for u in all_users() {
        let forge = may(&u.permissions.publish, "aduan.opd.kab-b.inbox");
        let router = matches!(u.role, Role::Service(Service::Router | Service::Serve));
        assert_eq!(forge, router, "{}", u.name);
        let serves = matches!(u.role, Role::Service(s) if s != Service::Router);
        assert_eq!(u.permissions.allow_responses, serves, "{}", u.name);
        // nats-server reads an empty allow list as "anything".
        assert!(!u.permissions.publish.is_empty() && !u.permissions.subscribe.is_empty());
    }
}

#[test]
fn an_adapter_may_submit_and_query_only() {
    let all = all_users();
    let web = &user(&all, "adapter-web").permissions;
    assert!(may(&web.publish, "aduan.intake.submit") && may(&web.publish, "aduan.query.status"));
    for refused in [
        "aduan.opd.kab-a.cmd",
        "aduan.opd.kab-a.inbox",
        "$JS.API.INFO",
    ] {
        assert!(!may(&web.publish, refused), "{refused}");
    }
}

#[test]
fn the_subject_prefix_and_the_channel_choice_are_followed() {
    let rules = rules();
    let opts = Options {
        subjects: Subjects::new("gov.aduan"),
        channels: vec![aduan_domain::Channel::parse("sms").expect("sms")],
        ..Options::new(&rules)
    };
    let all = users(&rules, &opts);
    assert_eq!(all.len(), 3 + 3 + 1 + Service::ALL.len());
    let a = &user(&all, "opd-kab-a").permissions;
    assert!(may(&a.publish, "gov.aduan.opd.kab-a.cmd"));
    assert!(!may(&a.publish, "aduan.opd.kab-a.cmd"));
    let svc = &user(&all, "svc-serve").permissions;
    assert!(may(&svc.subscribe, "gov.aduan.intake.submit"));
}

#[test]
fn the_config_holds_bcrypt_hashes_of_the_credentials_and_no_clear_password() {
    let rules = rules();
    let opts = Options {
        bcrypt_cost: 4,
        ..Options::new(&rules)
    };
    let out = nats_config(&rules, &opts).expect("generate");
    assert_eq!(out.credentials.len(), 3 + 3 + 9 + Service::ALL.len());
    let text = out.credentials_text();
    for c in &out.credentials {
        assert_eq!(c.password.len(), crate::PASSWORD_LEN);
        assert!(c.password.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(
            !out.config.contains(&c.password),
            "clear password of {}",
            c.user
        );
        assert!(text.contains(&format!("\n{} {}\n", c.user, c.password)));
        let entry = out
            .config
            .split(&format!("user: \"{}\"", c.user))
            .nth(1)
            .expect("the user's entry");
        let hash = entry
            .split("password: \"")
            .nth(1)
            .and_then(|h| h.split('"').next())
            .expect("its hash");
        assert!(hash.starts_with("$2a$04$"), "{hash}");
        assert!(bcrypt::verify(&c.password, hash).expect("verify"));
    }
    let again = nats_config(&rules, &opts).expect("generate again");
    assert_ne!(again.credentials[0].password, out.credentials[0].password);
    assert!(out.config.contains("authorization {"));
    assert_eq!(out.config.matches("allow_responses: true").count(), 4);
}

#[test]
fn a_cost_bcrypt_refuses_is_an_error() {
    let rules = rules();
    let opts = Options {
        bcrypt_cost: 3,
        ..Options::new(&rules)
    };
    assert!(matches!(
        nats_config(&rules, &opts),
        Err(crate::DeployError::Hash(_))
    ));
}

#[test]
fn an_admin_may_send_only_its_own_orgs_admin_commands() {
    let all = all_users();
    let s = Subjects::default();
    let a = &user(&all, "admin-kab-a").permissions;
    assert!(may(&a.publish, &s.admin_cmd("kab-a")));
    assert!(!may(&a.publish, &s.admin_cmd("kab-b")));
    assert!(!may(&a.publish, &s.opd_cmd("kab-a")));
    assert!(!may(&a.subscribe, &s.all_admin_cmds()));
    user(&all, "admin-nasional");
    assert!(all.iter().all(|u| u.name != "admin-kab-a-dinkes"));
    // The command handler serves the admin subjects; nobody else may.
    for u in &all {
        let serves = may(&u.permissions.subscribe, &s.admin_cmd("kab-a"));
        let handler = matches!(u.role, Role::Service(Service::Api | Service::Serve));
        assert_eq!(serves, handler, "{}", u.name);
    }
}

/// What the services do with the log stream and the KV buckets.
const SHARED_STATE: &[&str] = &[
    "$JS.API.INFO",
    "aduan.log.ADUAN_LOG",
    "$JS.API.STREAM.CREATE.ADUAN_LOG",
    "$JS.API.STREAM.INFO.ADUAN_LOG",
    "$JS.API.STREAM.MSG.GET.ADUAN_LOG",
    "$JS.API.CONSUMER.CREATE.ADUAN_LOG.Xq3fOrdered",
    "$JS.API.CONSUMER.MSG.NEXT.ADUAN_LOG.Xq3fOrdered",
    "$JS.API.CONSUMER.DELETE.ADUAN_LOG.Xq3fOrdered",
    "$JS.API.STREAM.CREATE.KV_aduan_tokens",
    "$JS.API.STREAM.INFO.KV_aduan_keys",
    "$JS.API.DIRECT.GET.KV_aduan_tokens.$KV.aduan_tokens.abc",
    "$JS.API.STREAM.MSG.GET.KV_aduan_router_lease",
    "$JS.API.CONSUMER.CREATE.KV_aduan_tokens.w1.$KV.aduan_tokens.>",
    "$JS.FC.KV_aduan_tokens.w1.1",
    "$KV.aduan_tokens.abc",
    "$KV.aduan_keys.reporter",
    "$KV.aduan_router_lease.active",
];

#[test]
fn only_services_may_use_the_log_stream_and_the_kv_buckets() {
    for u in all_users() {
        let service = matches!(u.role, Role::Service(_));
        for subject in SHARED_STATE {
            let may_publish = may(&u.permissions.publish, subject);
            assert_eq!(may_publish, service, "{} publish {subject}", u.name);
            assert!(
                !may(&u.permissions.subscribe, subject),
                "{} {subject}",
                u.name
            );
        }
        // What the log does not use stays refused even to the services.
        for refused in [
            "$JS.API.STREAM.DELETE.ADUAN_LOG",
            "$JS.API.STREAM.PURGE.ADUAN_LOG",
            "$JS.API.STREAM.MSG.DELETE.ADUAN_LOG",
            "$JS.API.STREAM.DELETE.KV_aduan_tokens",
            "$JS.API.STREAM.INFO.KV_other",
            "$KV.other.x",
            "aduan.log.OTHER",
        ] {
            assert!(
                !may(&u.permissions.publish, refused),
                "{} {refused}",
                u.name
            );
        }
    }
}

#[test]
fn the_log_stream_and_its_subject_follow_the_flags() {
    let rules = rules();
    let opts = Options::new(&rules).prefix_and_log("gov.aduan", "LOG_B");
    assert_eq!(opts.log_subject, "gov.aduan.log.LOG_B");
    let all = users(&rules, &opts);
    let svc = &user(&all, "svc-intake").permissions;
    for ok in ["gov.aduan.log.LOG_B", "$JS.API.STREAM.MSG.GET.LOG_B"] {
        assert!(may(&svc.publish, ok), "{ok}");
    }
    for refused in ["aduan.log.ADUAN_LOG", "$JS.API.STREAM.MSG.GET.ADUAN_LOG"] {
        assert!(!may(&svc.publish, refused), "{refused}");
    }
    let out = nats_config(
        &rules,
        &Options {
            bcrypt_cost: 4,
            ..opts
        },
    )
    .expect("generate");
    assert!(out.config.contains("gov.aduan.log.LOG_B"));
    assert!(out.config.contains("$KV.aduan_tokens.>"));
}

#[test]
fn the_kv_buckets_are_the_ones_the_services_open() {
    assert_eq!(
        crate::KV_BUCKETS,
        [
            aduan_secrets::TOKENS_BUCKET,
            aduan_secrets::KEYS_BUCKET,
            aduan_router::LEASE_BUCKET
        ]
    );
}
