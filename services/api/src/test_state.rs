//! The state the handler tests run against: a sled log in a temporary
//! directory (fsync off), intake and read models in memory, the sample rule
//! set. Shared by the read and command endpoint tests.

use std::path::Path;
use std::sync::Arc;

use aduan_commands::Commands;
use aduan_domain::SystemClock;
use aduan_intake::Intake;
use aduan_log::EventLog;
use aduan_log_sled::{SledLog, SledOptions};
use aduan_projections::Projections;
use aduan_rules::RuleSet;

use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::auth::Tokens;
use crate::{app, ApiState};

/// The sample rule set.
pub(crate) const RULES: &str = include_str!("../../../deploy/rules/sample.toml");

/// A fresh state over a log in `dir`; nothing is published yet.
pub(crate) async fn state(dir: &Path) -> ApiState<SledLog> {
    state_over(dir, sled_log(dir)).await
}

/// The sled log in `dir` (fsync off).
pub(crate) fn sled_log(dir: &Path) -> SledLog {
    let mut opts = SledOptions::new(dir.join("log"));
    opts.fsync = false;
    SledLog::open(opts).expect("log")
}

/// A fresh state over `log`, with its token file in `dir`.
pub(crate) async fn state_over<L: EventLog + Clone>(dir: &Path, log: L) -> ApiState<L> {
    let intake = Intake::open(
        log.clone(),
        aduan_kv::Db::memory().open_tree("intake").expect("tree"),
        aduan_intake::ReporterKey::random(),
    )
    .await
    .expect("intake");
    ApiState {
        commands: Commands::new(log.clone(), Arc::new(SystemClock)),
        projections: Projections::open(&aduan_kv::Db::memory()).expect("projections"),
        clock: Arc::new(SystemClock),
        health: crate::health::Health::default(),
        boundaries: None,
        tokens: Tokens::in_data_dir(dir),
        log,
        intake,
        rules: Arc::new(RuleSet::load(RULES).expect("rules")),
    }
}

/// A GET of `path` through the whole app, with `token` as bearer: status and body.
pub(crate) async fn get(s: &ApiState<SledLog>, path: &str, token: Option<&str>) -> (u16, String) {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = app(s.clone())
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
