//! A world for the status query fuzz test: read models folded from a log of
//! a few hundred complaints in every state, every event decided by the
//! domain's `Complaint::decide`, and what the test folded itself beside them.

use std::collections::HashMap;
use std::sync::Arc;

use aduan_domain::calendar::unix_ms;
use aduan_domain::{
    reporter_token, CloseReason, Command, Complaint, ComplaintEvent, ComplaintId, Deadlines,
    ManualClock, OrgCode, RejectReason, ReporterToken, RouteReason, RuleSetEvent, SharedClock,
    TrackingNo, RULESET_STREAM,
};
use aduan_log::memory::MemoryLog;
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_projections::Projections;
use aduan_proto::v1;
use aduan_rules::RuleSet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The rule set the world runs under (org names in the views come from it).
const SAMPLE: &str = include_str!("../../../../deploy/rules/sample.toml");
/// Complaints folded into the read models before any query.
pub const COMPLAINTS: usize = 300;
/// The tracking number of the corpus's `ok-query` files: the first complaint's.
pub const CORPUS_TRACKING: &str = "K7QMX-3PA9F";
/// Owners the complaints are routed to (all orgs of the sample).
const ORGS: [&str; 4] = [
    "kab-pati-dinkes",
    "prov-jateng-dinkes",
    "prov-jateng-dpu",
    "pln",
];

/// A complaint as the test folded it from the events it appended.
pub struct Known {
    pub complaint: Complaint,
    /// Messages of its public follow-ups: each must be on its timeline.
    pub public: Vec<String>,
    /// Its reporter's name, phone and email, its private follow-ups and the
    /// reporter's replies: none may appear in any reply.
    pub secrets: Vec<String>,
}

/// Read models over a populated log, and what the test knows of it.
pub struct World {
    /// The read models, folded from the whole log.
    pub projections: Projections,
    /// The time queries are answered at.
    pub clock: SharedClock,
    /// The rule set in force.
    pub rules: RuleSet,
    /// Each complaint by its canonical tracking number.
    pub known: HashMap<String, Known>,
    /// The tracking numbers as issued (with the hyphen).
    pub tracking: Vec<String>,
}

/// Read models folded from a log of [`COMPLAINTS`] complaints in every state:
/// each received with a reporter of some privacy, routed, then put through a
/// random walk of commands that `Complaint::decide` accepts.
pub fn world() -> World {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let log = MemoryLog::new();
    let mut rng = StdRng::seed_from_u64(17);
    let mut now = datetime!(2026-11-02 08:00 UTC);
    let rules = RuleSet::load(SAMPLE).expect("sample rules");
    let published = RuleSetEvent::Published(v1::RuleSetPublished {
        version: rules.version().to_owned(),
        source: SAMPLE.to_owned(),
        source_hash: String::new(),
    });
    append(
        &rt,
        &log,
        RULESET_STREAM,
        0,
        &[published.encode()],
        published.type_name(),
    );
    let mut known = HashMap::new();
    let mut tracking = Vec::new();
    for i in 0..COMPLAINTS {
        let t = if i == 0 {
            TrackingNo::parse(CORPUS_TRACKING).expect("corpus tracking number")
        } else {
            TrackingNo::random()
        };
        now += Duration::minutes(rng.random_range(1..600));
        let k = lifecycle(&rt, &log, &mut rng, &mut now, i, &t);
        tracking.push(t.to_string());
        known.insert(t.as_str().to_owned(), k);
    }
    let projections = Projections::open(&aduan_kv::Db::memory()).expect("projections");
    let events = rt.block_on(log.read_all(1, usize::MAX)).expect("read");
    projections.apply(&events).expect("fold");
    World {
        projections,
        clock: Arc::new(ManualClock::new(now + Duration::days(3))),
        rules,
        known,
        tracking,
    }
}

/// Appends complaint `i`'s events; returns what the test folded.
fn lifecycle(
    rt: &tokio::runtime::Runtime,
    log: &MemoryLog,
    rng: &mut StdRng,
    now: &mut OffsetDateTime,
    i: usize,
    t: &TrackingNo,
) -> Known {
    let id = ComplaintId::new();
    let (token, hash) = reporter_token::generate();
    let reporter = v1::Reporter {
        name: format!("Nama Pelapor {i:03}"),
        phone: format!("+62-811-{:04}-{:04}", 7000 + i, 3000 + i),
        email: format!("pelapor.{i:03}@rahasia.test"),
        privacy: ["public", "confidential", "anonymous"][i % 3].into(),
    };
    let mut public = Vec::new();
    let mut secrets = vec![
        reporter.name.clone(),
        reporter.phone.clone(),
        reporter.email.clone(),
    ];
    let received = ComplaintEvent::Received(v1::ComplaintReceived {
        complaint_id: id.to_string(),
        tracking_no: t.to_string(),
        channel: "web".into(),
        kind: "complaint".into(),
        title: format!("Keluhan {i}"),
        body: "Obat di puskesmas habis".into(),
        location: Some(v1::Location {
            region_code: "33.18".into(),
            ..Default::default()
        }),
        reporter: Some(reporter),
        reporter_token_hash: hash,
        received_at_ms: unix_ms(*now),
        ..Default::default()
    });
    let mut c = Complaint::fold([&received]).expect("received folds");
    let mut events = vec![received];
    for step in 0..rng.random_range(1..10) {
        *now += Duration::minutes(rng.random_range(1..3000));
        // Most complaints are routed first, as the router does.
        let first = if step == 0 && rng.random_bool(0.9) {
            0
        } else {
            rng.random_range(0..12)
        };
        let cmd = command(first, rng, &c, &token, &format!("{i:03}-{step}"), *now);
        let Ok(decided) = c.decide(cmd, *now) else {
            continue;
        };
        for e in &decided {
            match e {
                ComplaintEvent::FollowUpPosted(f) if f.public => public.push(f.message.clone()),
                ComplaintEvent::FollowUpPosted(f) => secrets.push(f.message.clone()),
                ComplaintEvent::ReporterReplied(r) => secrets.push(r.message.clone()),
                _ => {}
            }
        }
        c.apply_all(&decided);
        events.extend(decided);
    }
    let payloads: Vec<_> = events.iter().map(|e| (e.type_name(), e.encode())).collect();
    for (name, payload) in payloads {
        let version = log_version(rt, log, &id.stream());
        append(rt, log, &id.stream(), version, &[payload], name);
    }
    Known {
        complaint: c,
        public,
        secrets,
    }
}

/// Command number `n` (0..12) for `c`, from its owner or its reporter when
/// the command is theirs to give.
fn command(
    n: u32,
    rng: &mut StdRng,
    c: &Complaint,
    token: &ReporterToken,
    tag: &str,
    now: OffsetDateTime,
) -> Command {
    let any_org = OrgCode::parse(ORGS[rng.random_range(0..ORGS.len())]).expect("org");
    let org = c.owner.clone().unwrap_or_else(|| any_org.clone());
    let due = |days: i64| unix_ms(now + Duration::days(days));
    match n {
        0 | 1 => Command::Route {
            org: any_org,
            rule_id: String::new(),
            ruleset_version: "jateng".into(),
            reason: RouteReason::Rule,
            due: Deadlines {
                acknowledge_ms: due(1),
                follow_up_ms: due(2),
                resolve_ms: due(30),
            },
            category: "kesehatan".into(),
            reason_text: String::new(),
            triage: false,
        },
        2 => Command::Acknowledge { org },
        3 | 4 => {
            let public = rng.random_bool(0.5);
            let kind = if public { "publik" } else { "internal" };
            Command::FollowUp {
                org,
                message: format!("tindak lanjut {kind} {tag}"),
                public,
                review: false,
            }
        }
        5 => Command::RequestInfo {
            org,
            question: "Di mana alamatnya?".into(),
        },
        6 => Command::ReporterReply {
            token: token.clone(),
            message: format!("balasan pelapor {tag}"),
        },
        7 => Command::Resolve {
            org,
            resolution: "Obat sudah tersedia".into(),
            review: false,
        },
        8 => Command::GiveFeedback {
            token: token.clone(),
            rating: 4,
            comment: String::new(),
        },
        9 => Command::Reopen {
            token: token.clone(),
            reason: "Belum selesai".into(),
        },
        10 => Command::DeclineAuthority {
            org,
            reason: "Bukan wewenang kami".into(),
            suggested_org: None,
        },
        _ if rng.random_bool(0.5) => Command::AdminReject {
            reason_code: RejectReason::Spam,
            reason: "spam".into(),
            duplicate_of: None,
        },
        _ => Command::Close {
            reason: CloseReason::Feedback,
        },
    }
}

fn log_version(rt: &tokio::runtime::Runtime, log: &MemoryLog, stream: &str) -> u64 {
    rt.block_on(log.read_stream(stream, 1)).expect("read").len() as u64
}

fn append(
    rt: &tokio::runtime::Runtime,
    log: &MemoryLog,
    stream: &str,
    version: u64,
    payloads: &[Vec<u8>],
    event_type: &str,
) {
    let expected = match version {
        0 => ExpectedVersion::NoStream,
        v => ExpectedVersion::Exact(v),
    };
    let events = payloads
        .iter()
        .map(|p| NewEvent::new(event_type, "fuzz", p.clone()))
        .collect();
    rt.block_on(log.append(stream, expected, events))
        .expect("append");
}
