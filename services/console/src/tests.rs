//! The console through `routes(state).oneshot(request)`, without a socket,
//! over an in-memory log whose read models are tailed as in `aduan serve`.
//! Complaints are routed by hand (a `ComplaintRouted` appended), as the API's
//! own tests do, so no router runs.

use std::sync::Arc;
use std::time::Duration;

use aduan_api::auth::{Role, Tokens};
use aduan_api::ApiState;
use aduan_commands::Commands;
use aduan_domain::calendar::unix_ms;
use aduan_domain::{ComplaintEvent, ComplaintId, OrgCode, SystemClock};
use aduan_intake::Intake;
use aduan_log::memory::MemoryLog;
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_projections::Projections;
use aduan_proto::v1;
use aduan_rules::RuleSet;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

mod inbox;
mod pages;
mod security;
mod work;

/// The sample rule set.
const RULES: &str = include_str!("../../../deploy/rules/sample.toml");
const DINKES: &str = "kab-pati-dinkes";
const PUPR: &str = "kab-pati-pupr";
const DAY: i64 = 86_400_000;

struct World {
    state: ApiState<MemoryLog>,
    app: Router,
    _stop: tokio::sync::watch::Sender<bool>,
    dir: tempfile::TempDir,
}

/// An answer: status, headers, body.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    /// The value of the first `name="csrf"` field.
    fn csrf(&self) -> String {
        self.field("csrf")
    }

    /// The value of the first hidden field `name`.
    fn field(&self, name: &str) -> String {
        let at = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&at).map(|i| i + at.len()).expect(name);
        let end = self.body[start..].find('"').expect("end of value");
        self.body[start..start + end].to_owned()
    }

    /// The text inside the element with `data-testid="{id}"`.
    fn testid(&self, id: &str) -> Option<String> {
        let at = format!("data-testid=\"{id}\"");
        let start = self.body.find(&at)?;
        let open = self.body[start..].find('>')? + start + 1;
        let end = self.body[open..].find('<')? + open;
        Some(self.body[open..end].to_owned())
    }

    /// The value of `Set-Cookie` for cookie `name`.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// A browser's cookies for one user, with the CSRF token of its forms.
#[derive(Clone, Default)]
struct Browser {
    cookies: Vec<(String, String)>,
    csrf: String,
}

impl Browser {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps the cookies a response sets.
    fn keep(&mut self, page: &Page) {
        for v in page.headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().expect("cookie");
            let pair = v.split(';').next().expect("pair");
            let (k, val) = pair.split_once('=').expect("=");
            self.cookies.retain(|(name, _)| name != k);
            if !v.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), val.to_owned()));
            }
        }
    }
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = MemoryLog::new();
    let db = aduan_kv::Db::memory();
    let intake = Intake::open(
        log.clone(),
        db.open_tree("intake").expect("tree"),
        aduan_intake::ReporterKey::random(),
    )
    .await
    .expect("intake");
    let commands = Commands::new(log.clone(), Arc::new(SystemClock));
    commands
        .store()
        .publish_ruleset(RULES)
        .await
        .expect("rules");
    let projections = Projections::open(&db).expect("projections");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (p, l) = (projections.clone(), log.clone());
    tokio::spawn(async move { p.run(&l, rx).await });
    let state = ApiState {
        commands,
        projections,
        clock: Arc::new(SystemClock),
        health: aduan_api::health::Health::default(),
        boundaries: None,
        tokens: Tokens::with_recheck(dir.path().join("tokens.jsonl"), Duration::ZERO),
        log,
        intake,
        rules: Arc::new(RuleSet::load(RULES).expect("rules")),
    };
    let w = World {
        app: crate::routes(state.clone()),
        state,
        _stop: stop,
        dir,
    };
    w.caught_up().await;
    w
}

impl World {
    async fn caught_up(&self) {
        let head = *self.state.log.head().borrow();
        let mut p = self.state.projections.position();
        let wait = p.wait_for(|p| *p >= head);
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("projections caught up")
            .expect("projections running");
    }

    fn head(&self) -> u64 {
        *self.state.log.head().borrow()
    }

    async fn send(&self, req: Request<Body>) -> Page {
        let resp = self.app.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&self, b: &mut Browser, path: &str) -> Page {
        let req = Request::get(path).header(header::COOKIE, b.header());
        let page = self.send(req.body(Body::empty()).expect("request")).await;
        b.keep(&page);
        page
    }

    async fn post(&self, b: &mut Browser, path: &str, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).expect("form");
        let req = Request::post(path)
            .header(header::COOKIE, b.header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        let page = self
            .send(req.body(Body::from(body)).expect("request"))
            .await;
        b.keep(&page);
        page
    }

    fn token(&self, role: Role) -> String {
        self.state.tokens.issue(&role).expect("issue")
    }

    fn opd(org: &str) -> Role {
        Role::Opd {
            org: OrgCode::parse(org).expect("org"),
            name: "ani".into(),
        }
    }

    /// Signs in with a new token of `role`: the browser and the token.
    async fn sign_in(&self, role: Role) -> (Browser, String) {
        let token = self.token(role);
        let mut b = Browser::default();
        let form = self.get(&mut b, "/masuk").await;
        let csrf = form.csrf();
        let page = self
            .post(&mut b, "/masuk", &[("csrf", &csrf), ("token", &token)])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let first = self.get(&mut b, &page.location()).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        b.csrf = first.csrf();
        (b, token)
    }

    /// A complaint submitted and routed to `org`: its id and tracking number.
    async fn routed(&self, org: &str, channel_ref: &str) -> (ComplaintId, String, String) {
        let ack = self
            .state
            .intake
            .submit(v1::SubmitComplaint {
                channel: "web".into(),
                channel_ref: channel_ref.into(),
                kind: "complaint".into(),
                title: format!("Judul {channel_ref}"),
                body: format!("Isi aduan {channel_ref}"),
                category: "kesehatan".into(),
                location: Some(v1::Location {
                    region_code: "33.18".into(),
                    ..Default::default()
                }),
                reporter: Some(v1::Reporter {
                    name: "Siti Pelapor".into(),
                    phone: "+62-811-1111".into(),
                    email: "siti@contoh.test".into(),
                    privacy: "confidential".into(),
                }),
            })
            .await
            .expect("submit");
        let now = unix_ms(time::OffsetDateTime::now_utc());
        let routed = ComplaintEvent::from(v1::ComplaintRouted {
            org: org.into(),
            hop: 1,
            reason: "rule".into(),
            due_at_ms: now + 60 * DAY,
            acknowledge_due_ms: now + 3 * DAY,
            follow_up_due_ms: now + 5 * DAY,
            at_ms: now,
            ..Default::default()
        });
        let id = ComplaintId::parse(&ack.complaint_id).expect("id");
        self.route(&id, routed).await;
        (id, ack.tracking_no, ack.reporter_token)
    }

    /// Routes a complaint that has only its `ComplaintReceived`, as the router would.
    async fn route(&self, id: &ComplaintId, routed: ComplaintEvent) {
        let e = NewEvent::new(routed.type_name(), "test", routed.encode());
        self.state
            .log
            .append(&id.stream(), ExpectedVersion::Exact(1), vec![e])
            .await
            .expect("route");
        self.caught_up().await;
    }

    /// [`World::routed`] with the resolve deadline `due_ms` instead of 60 days from now.
    async fn routed_due(&self, org: &str, channel_ref: &str, due_ms: i64) -> ComplaintId {
        let (id, _, _) = self.routed(org, channel_ref).await;
        let now = unix_ms(time::OffsetDateTime::now_utc());
        let moved = ComplaintEvent::from(v1::ComplaintRouted {
            org: org.into(),
            hop: 2,
            reason: "manual".into(),
            due_at_ms: due_ms,
            acknowledge_due_ms: due_ms,
            follow_up_due_ms: due_ms,
            at_ms: now,
            ..Default::default()
        });
        let e = NewEvent::new(moved.type_name(), "test", moved.encode());
        self.state
            .log
            .append(&id.stream(), ExpectedVersion::Exact(2), vec![e])
            .await
            .expect("route again");
        self.caught_up().await;
        id
    }

    async fn complaint(&self, id: &ComplaintId) -> aduan_domain::Complaint {
        let loaded = self.state.commands.store().load(id).await.expect("load");
        loaded.complaint
    }

    /// Puts `org` under answer review (the latest rule set wins).
    async fn review(&self, org: &str) {
        let from = format!("code = \"{org}\"\n");
        let rules = RULES.replace(&from, &format!("{from}review_answers = true\n"));
        let store = self.state.commands.store();
        store.publish_ruleset(&rules).await.expect("publish");
        self.caught_up().await;
    }
}
