//! Who may do what on NATS: the users of a rule set and the subjects each may
//! publish and subscribe to. Everything not listed is refused by the server;
//! every list is non-empty, because nats-server reads an empty allow list as
//! "no restriction". The log stream and the shared KV buckets are the
//! services' alone: no OPD, admin or adapter user gets any of their subjects.

use aduan_bus::Subjects;
use aduan_domain::{Channel, OrgCode};
use aduan_rules::RuleSet;

use crate::{inbox_prefix, Options, KV_BUCKETS, OPD_STREAM};

/// An aduan service that connects to NATS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `aduan intake`: serves `aduan.intake.submit`.
    Intake,
    /// `aduan router`: owns the `ADUAN_OPD` stream and publishes assignments.
    Router,
    /// `aduan projections`: serves `aduan.query.status`.
    Projections,
    /// The command handler (`aduan api`): serves `aduan.opd.*.cmd` and
    /// `aduan.admin.*.cmd`.
    Api,
    /// `aduan serve`: all of the above in one process.
    Serve,
}

impl Service {
    /// Every service, in the config's order.
    pub const ALL: [Service; 5] = [
        Self::Intake,
        Self::Router,
        Self::Projections,
        Self::Api,
        Self::Serve,
    ];

    /// Its name in its user's name (`svc-<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Router => "router",
            Self::Projections => "projections",
            Self::Api => "api",
            Self::Serve => "serve",
        }
    }
}

/// Whom a user stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// An OPD's workers.
    Opd(OrgCode),
    /// The admins (Diskominfo) of an admin org: its triage commands.
    Admin(OrgCode),
    /// A channel adapter.
    Adapter(Channel),
    /// An aduan service.
    Service(Service),
}

/// What a user may do; anything else the server refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    /// Subjects it may publish to (wildcards allowed).
    pub publish: Vec<String>,
    /// Subjects it may subscribe to.
    pub subscribe: Vec<String>,
    /// Whether it may answer the requests it receives (publish once to
    /// each request's reply subject), as a request-reply server must.
    pub allow_responses: bool,
}

/// A NATS user of the generated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its name: `opd-<org>`, `adapter-<channel>` or `svc-<service>`.
    pub name: String,
    /// Whom it stands for.
    pub role: Role,
    /// What it may do.
    pub permissions: Permissions,
}

/// Every user for `rules`: its OPDs in file order, then the admins of its
/// admin orgs (and `nasional`), then the adapters of `opts.channels`, then
/// the services.
pub fn users(rules: &RuleSet, opts: &Options) -> Vec<User> {
    let s = &opts.subjects;
    let opds = rules.orgs().iter().map(|o| opd(s, &o.code));
    let admins = rules
        .orgs()
        .iter()
        .filter(|o| o.admin || o.code == OrgCode::national())
        .map(|o| admin(s, &o.code));
    let adapters = opts.channels.iter().map(|c| adapter(s, c));
    let services = Service::ALL.into_iter().map(|v| service(opts, v));
    opds.chain(admins).chain(adapters).chain(services).collect()
}

/// An admin org's admins: its own `aduan.admin.<org>.cmd` and the status
/// query, replies on its own inbox.
fn admin(s: &Subjects, org: &OrgCode) -> User {
    let name = format!("admin-{org}");
    User {
        permissions: Permissions {
            publish: vec![s.admin_cmd(org.as_str()), s.query_status()],
            subscribe: vec![format!("{}.>", inbox_prefix(&name))],
            allow_responses: false,
        },
        name,
        role: Role::Admin(org.clone()),
    }
}

/// `$JS.API.<rest>`.
fn api(rest: &str) -> String {
    format!("$JS.API.{rest}")
}

/// An OPD: its own durable consumer (named like the user, filtered on its
/// own inbox), its own `.cmd`, the status query. The filtered create API puts
/// the filter in the subject, so the permission pins it; the server refuses a
/// body whose filter differs from the subject's. No direct get, no stream
/// message get, no publishing to any inbox (forged assignments).
fn opd(s: &Subjects, org: &OrgCode) -> User {
    let name = format!("opd-{org}");
    let inbox = inbox_prefix(&name);
    let consumer = format!("{OPD_STREAM}.{name}");
    let publish = vec![
        s.opd_cmd(org.as_str()),
        s.query_status(),
        api(&format!(
            "CONSUMER.CREATE.{consumer}.{}",
            s.opd_inbox(org.as_str())
        )),
        api(&format!("CONSUMER.INFO.{consumer}")),
        api(&format!("CONSUMER.MSG.NEXT.{consumer}")),
        api(&format!("CONSUMER.DELETE.{consumer}")),
        format!("$JS.ACK.{consumer}.>"),
    ];
    User {
        permissions: Permissions {
            publish,
            subscribe: vec![format!("{inbox}.>")],
            allow_responses: false,
        },
        name,
        role: Role::Opd(org.clone()),
    }
}

/// A channel adapter: submit and the status query, replies on its own inbox.
fn adapter(s: &Subjects, channel: &Channel) -> User {
    let name = format!("adapter-{channel}");
    User {
        permissions: Permissions {
            publish: vec![s.intake_submit(), s.query_status()],
            subscribe: vec![format!("{}.>", inbox_prefix(&name))],
            allow_responses: false,
        },
        name,
        role: Role::Adapter(channel.clone()),
    }
}

/// What a service publishes and subscribes to (besides its own inbox).
fn service_subjects(s: &Subjects, v: Service) -> (Vec<String>, Vec<String>) {
    match v {
        Service::Intake => (vec![], vec![s.intake_submit()]),
        Service::Projections => (vec![], vec![s.query_status()]),
        Service::Api => (vec![], vec![s.all_cmds(), s.all_admin_cmds()]),
        Service::Router => {
            let stream = OPD_STREAM;
            let publish = vec![
                s.all_inboxes(),
                api(&format!("STREAM.CREATE.{stream}")),
                api(&format!("STREAM.UPDATE.{stream}")),
                api(&format!("STREAM.INFO.{stream}")),
                // Its ordered consumer reading the last message ids at start.
                api(&format!("CONSUMER.CREATE.{stream}")),
                api(&format!("CONSUMER.CREATE.{stream}.>")),
                api(&format!("CONSUMER.INFO.{stream}.>")),
                api(&format!("CONSUMER.MSG.NEXT.{stream}.>")),
                api(&format!("CONSUMER.DELETE.{stream}.>")),
            ];
            (publish, vec![])
        }
        Service::Serve => {
            let (mut publish, mut subscribe) = (vec![], vec![]);
            for part in [
                Service::Intake,
                Service::Router,
                Service::Projections,
                Service::Api,
            ] {
                let (p, s) = service_subjects(s, part);
                publish.extend(p);
                subscribe.extend(s);
            }
            (publish, subscribe)
        }
    }
}

/// What every service may publish to use the state the services share: the
/// log stream and the KV buckets ([`KV_BUCKETS`], each in its stream
/// `KV_<bucket>`). Per stream: create, update (an older version's stream
/// brought up to date) and look it up; read single messages (the log reads
/// records and its last sequence from the stream's leader with
/// `STREAM.MSG.GET`; a KV get uses `DIRECT.GET` when the bucket allows it);
/// ordered consumers of any name (the log's follower, KV watchers), their
/// pulls, info, deletion and flow-control replies; the account's JetStream
/// info (`$JS.API.INFO`, read before a KV bucket is created). Then the data subjects:
/// the log's one subject (its fenced atomic batches are headers on
/// publishes there) and `$KV.<bucket>.>` (puts, creates, deletes). Replies
/// come on the service's own inbox, which it may already read.
pub fn shared_state(opts: &Options) -> Vec<String> {
    let streams = std::iter::once(opts.log_stream.clone())
        .chain(KV_BUCKETS.iter().map(|b| format!("KV_{b}")));
    let mut publish = Vec::new();
    for stream in streams {
        for verb in [
            "STREAM.CREATE",
            "STREAM.UPDATE",
            "STREAM.INFO",
            "STREAM.MSG.GET",
        ] {
            publish.push(api(&format!("{verb}.{stream}")));
        }
        publish.push(api(&format!("DIRECT.GET.{stream}")));
        publish.push(api(&format!("CONSUMER.CREATE.{stream}")));
        for verb in [
            "DIRECT.GET",
            "CONSUMER.CREATE",
            "CONSUMER.INFO",
            "CONSUMER.MSG.NEXT",
            "CONSUMER.DELETE",
        ] {
            publish.push(api(&format!("{verb}.{stream}.>")));
        }
        publish.push(format!("$JS.FC.{stream}.>"));
    }
    publish.push(opts.log_subject.clone());
    // Account info: async-nats reads it before it creates a KV bucket.
    publish.push(api("INFO"));
    publish.extend(KV_BUCKETS.iter().map(|b| format!("$KV.{b}.>")));
    publish
}

/// An aduan service: what it serves and publishes, the shared state
/// ([`shared_state`]), and its own inbox (for JetStream API replies). Its
/// own inbox is also in its publish list, which is harmless and keeps that
/// list from being empty.
fn service(opts: &Options, v: Service) -> User {
    let name = format!("svc-{}", v.name());
    let inbox = format!("{}.>", inbox_prefix(&name));
    let (mut publish, mut subscribe) = service_subjects(&opts.subjects, v);
    publish.extend(shared_state(opts));
    publish.push(inbox.clone());
    subscribe.push(inbox);
    User {
        permissions: Permissions {
            publish,
            subscribe,
            allow_responses: v != Service::Router,
        },
        name,
        role: Role::Service(v),
    }
}
