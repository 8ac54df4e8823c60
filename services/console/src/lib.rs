//! aduan's web console: server-rendered HTML pages (maud, compiled into the
//! binary) for citizens, OPD operators and heads, the region's admin and
//! leaders. The pages call the same services the JSON API calls (intake,
//! commands, read models) through the API's [`ApiState`], never HTTP. Signed-in
//! users hold a server-side session (an HttpOnly, SameSite=Strict cookie with
//! a random id); every form carries a CSRF token. It does not decide, store
//! or route anything itself: what a page shows comes from the read models or
//! the complaint's own stream, and what a form does is a command.
//!
//! The page contract (paths, form fields, `data-testid`s) is fixed in
//! `/work/shared`'s console contract; the browser tests rely on it.

use std::sync::Arc;
use std::time::Duration;

use aduan_api::ApiState;
use aduan_log::EventLog;
use axum::routing::{get, post};
use axum::Router;

mod admin;
mod assets;
mod chart;
mod citizen;
mod dashboard;
mod error;
mod i18n;
mod layout;
mod opd;
mod session;
mod signin;

#[cfg(test)]
mod tests;

pub use i18n::Lang;

/// What the console's handlers share: the API's services and the sessions.
#[derive(Debug, Clone)]
pub struct Console<L> {
    /// The services the JSON API uses.
    pub api: ApiState<L>,
    sessions: session::Sessions,
}

impl<L: EventLog + Clone> Console<L> {
    /// Waits (at most a second) until the read models have applied every
    /// event in the log, so the page after a form shows what the form did.
    pub(crate) async fn caught_up(&self) {
        let head = *self.api.log.head().borrow();
        let mut position = self.api.projections.position();
        let wait = position.wait_for(|p| *p >= head);
        let _ = tokio::time::timeout(Duration::from_secs(1), wait).await;
    }

    /// The rule set the read models hold in force, else the one the process started with.
    pub(crate) fn rules(&self) -> Arc<aduan_rules::RuleSet> {
        self.api
            .projections
            .rules()
            .unwrap_or_else(|| self.api.rules.clone())
    }
}

/// Every page of the console over `state`, with no fallback, so it merges
/// with the API's router (which has one).
pub fn routes<L: EventLog + Clone>(state: ApiState<L>) -> Router {
    let console = Console {
        api: state,
        sessions: session::Sessions::default(),
    };
    Router::new()
        .route("/", get(citizen::home::<L>))
        .route("/lapor", post(citizen::submit::<L>))
        .route("/lacak", get(citizen::lookup))
        .route("/lacak/{tracking_no}", get(citizen::status::<L>))
        .route("/masuk", get(signin::form).post(signin::sign_in::<L>))
        .route("/keluar", post(signin::sign_out::<L>))
        .route("/bahasa", get(i18n::switch))
        .route("/opd/{org}", get(opd::inbox::<L>))
        .route("/opd/{org}/drafts", get(opd::drafts::<L>))
        .route(
            "/opd/{org}/drafts/{complaint_id}/{draft_id}/{decision}",
            post(opd::decide_draft::<L>),
        )
        .route(
            "/opd/{org}/complaints/{complaint_id}",
            get(opd::detail::<L>),
        )
        .route(
            "/opd/{org}/complaints/{complaint_id}/{action}",
            post(opd::act::<L>),
        )
        .route("/admin", get(admin::page::<L>))
        .route(
            "/admin/complaints/{complaint_id}/{action}",
            post(admin::act::<L>),
        )
        .route("/dashboard", get(dashboard::page::<L>))
        .route("/dashboard/recap.csv", get(dashboard::csv::<L>))
        .route("/assets/console.css", get(assets::css))
        .layer(axum::middleware::from_fn(i18n::remember))
        .with_state(console)
}

/// The API's whole app with the console's pages mounted beside it, both
/// behind the API's request limits: the one call `aduan serve` (and
/// `aduan api`) make.
pub fn app<L: EventLog + Clone>(state: ApiState<L>) -> Router {
    let both = routes(state.clone()).merge(aduan_api::unlimited(state));
    aduan_api::limits::apply(both, aduan_api::limits::Limits::default())
}

/// Serves [`app`] on `listener` until `shutdown` turns true; requests in
/// flight then finish before it returns.
pub async fn run<L: EventLog + Clone>(
    listener: tokio::net::TcpListener,
    state: ApiState<L>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
}
