//! The Open311 routes through `router().oneshot(request)`, without a socket,
//! over a sled log in a temporary directory, intake, and read models fed from
//! that log; the sample rule set and its sample boundaries.

mod get;
mod post;
mod routes;

use std::sync::Arc;

use aduan_domain::{ComplaintEvent, ComplaintId, SystemClock, TrackingNo};
use aduan_geo::Boundaries;
use aduan_intake::Intake;
use aduan_log::{EventLog, ExpectedVersion, NewEvent};
use aduan_log_sled::{SledLog, SledOptions};
use aduan_projections::Projections;
use aduan_proto::v1;
use aduan_rules::RuleSet;
use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::{router, ApiKeys, Open311};

const RULES: &str = include_str!("../../../deploy/rules/sample.toml");
const BOUNDARIES: &str = include_str!("../../../deploy/rules/sample-boundaries.geojson");
const FORM: &str = "application/x-www-form-urlencoded";
/// A point in Pati town (33.18 in the sample boundaries).
const PATI: (&str, &str) = ("-6.755", "111.038");

/// Knows one key.
struct Keys;

impl ApiKeys for Keys {
    fn adapter(&self, key: &str) -> Option<String> {
        (key == "good-key").then(|| "admin:adapter".to_owned())
    }
}

struct World {
    state: Open311<SledLog>,
    log: SledLog,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = SledOptions::new(dir.path().join("log"));
    opts.fsync = false;
    let log = SledLog::open(opts).expect("log");
    let intake = Intake::open(
        log.clone(),
        aduan_kv::Db::memory().open_tree("intake").expect("tree"),
        aduan_intake::ReporterKey::random(),
    )
    .await
    .expect("intake");
    aduan_complaints::publish_ruleset(&log, RULES)
        .await
        .expect("publish rules");
    let state = Open311 {
        intake,
        projections: Projections::open(&aduan_kv::Db::memory()).expect("projections"),
        rules: Arc::new(RuleSet::load(RULES).expect("rules")),
        boundaries: Some(Arc::new(Boundaries::parse(BOUNDARIES).expect("boundaries"))),
        keys: Arc::new(Keys),
        clock: Arc::new(SystemClock),
    };
    World {
        state,
        log,
        _dir: dir,
    }
}

/// A response: status and JSON body.
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    /// Asserts an Open311 error array with this status whose description says `says`.
    fn refused(&self, status: u16, says: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let e = &self.body[0];
        assert_eq!(e["code"], status, "{}", self.body);
        let d = e["description"].as_str().unwrap_or("");
        assert!(d.contains(says), "{d:?} lacks {says:?}");
        assert_eq!(self.body.as_array().map(Vec::len), Some(1));
    }
}

impl World {
    async fn send(&self, req: Request<Body>) -> Answer {
        let resp = router(self.state.clone())
            .oneshot(req)
            .await
            .expect("response");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer { status, body }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    /// POSTs `pairs` form-encoded to requests.json.
    async fn post(&self, pairs: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(pairs).expect("encode");
        self.post_raw(FORM, body.into_bytes(), None).await
    }

    async fn post_raw(&self, ct: &str, body: Vec<u8>, idem: Option<&str>) -> Answer {
        let mut req = Request::post("/requests.json").header(header::CONTENT_TYPE, ct);
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        self.send(req.body(Body::from(body)).expect("request"))
            .await
    }

    /// Brings the read models up to the log.
    async fn catch_up(&self) {
        let events = self.log.read_all(1, 10_000).await.expect("read");
        self.state.projections.apply(&events).expect("apply");
    }

    fn head(&self) -> u64 {
        *self.log.head().borrow()
    }

    /// The ComplaintReceived of the only complaint stream with `tracking_no`.
    async fn received(&self, tracking_no: &str) -> (ComplaintId, v1::ComplaintReceived) {
        let want = TrackingNo::parse(tracking_no).expect("tracking number");
        for e in self.log.read_all(1, 10_000).await.expect("read") {
            if let Ok(ComplaintEvent::Received(r)) =
                ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload)
            {
                if TrackingNo::parse(&r.tracking_no).ok() == Some(want.clone()) {
                    return (ComplaintId::parse(&r.complaint_id).expect("id"), r);
                }
            }
        }
        panic!("no complaint {tracking_no}");
    }

    /// Appends `events` to a complaint's stream after its current version.
    async fn then(&self, id: &ComplaintId, events: Vec<ComplaintEvent>) {
        let version = self
            .log
            .read_stream(&id.stream(), 1)
            .await
            .expect("stream")
            .len() as u64;
        let new = events
            .iter()
            .map(|e| NewEvent::new(e.type_name(), "test", e.encode()))
            .collect();
        self.log
            .append(&id.stream(), ExpectedVersion::Exact(version), new)
            .await
            .expect("append");
    }
}

/// A valid request in Pati, with a reporter.
fn pati_request() -> Vec<(&'static str, &'static str)> {
    vec![
        ("service_code", "infrastruktur"),
        ("lat", PATI.0),
        ("long", PATI.1),
        ("address_string", "Jl. Diponegoro, Pati"),
        (
            "description",
            "Jalan berlubang di depan pasar\nSudah dua bulan.",
        ),
        ("first_name", "Zaqwerty"),
        ("last_name", "Namaunik"),
        ("email", "rahasia.unik@contoh.test"),
        ("phone", "+62-899-0001-7777"),
    ]
}
