//! Open311 GeoReport v2 over aduan (CONTRACT.md, second wave): an axum
//! router that the HTTP API nests at `/open311/v2`. `services.json` lists the
//! rule set's categories as services; `POST requests.json` (form-encoded)
//! becomes a complaint on channel `open311` through intake, its coordinates
//! mapped to a region code by the rule set's boundary file;
//! `requests.json` and `requests/{service_request_id}.json` answer from the
//! read models, the tracking number being the `service_request_id`.
//!
//! JSON only: a `.xml` resource gets a 400 that says so. It decides nothing
//! about routing, keeps no state of its own and never shows a reporter.

use std::sync::Arc;

use aduan_domain::SharedClock;
use aduan_geo::Boundaries;
use aduan_intake::Intake;
use aduan_log::EventLog;
use aduan_projections::Projections;
use aduan_rules::RuleSet;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, Uri};
use axum::routing::{get, post, MethodRouter};
use axum::Router;

mod error;
#[cfg(feature = "openapi")]
pub mod openapi;
mod params;
mod read;
mod submit;

pub use error::{ErrorEntry, Open311Error};

/// Where the HTTP API nests these routes.
pub const PREFIX: &str = "/open311/v2";

/// Largest POST body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// The channel every Open311 submission comes in on.
pub const CHANNEL: &str = "open311";

/// Checks `api_key`s: the adapter a key identifies, None for an unknown key.
pub trait ApiKeys: Send + Sync + 'static {
    /// The name of the adapter `key` identifies, or None when it is not a valid key.
    fn adapter(&self, key: &str) -> Option<String>;
}

/// What the Open311 handlers share.
pub struct Open311<L> {
    /// Intake, for submissions.
    pub intake: Intake<L>,
    /// The read models, for requests.
    pub projections: Projections,
    /// The rule set in force: its categories are the services.
    pub rules: Arc<RuleSet>,
    /// The rule set's region boundaries; None: points map to no region.
    pub boundaries: Option<Arc<Boundaries>>,
    /// Valid `api_key`s.
    pub keys: Arc<dyn ApiKeys>,
    /// The clock the default 90-day window ends at.
    pub clock: SharedClock,
}

impl<L: Clone> Clone for Open311<L> {
    fn clone(&self) -> Self {
        Self {
            intake: self.intake.clone(),
            projections: self.projections.clone(),
            rules: self.rules.clone(),
            boundaries: self.boundaries.clone(),
            keys: self.keys.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl<L> std::fmt::Debug for Open311<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Open311")
            .field("rules", &self.rules.version())
            .field("boundaries", &self.boundaries.as_ref().map(|b| b.len()))
            .finish_non_exhaustive()
    }
}

impl<L> Open311<L> {
    /// Passes a request without `api_key`, or with a valid one; returns the adapter.
    fn adapter(&self, api_key: Option<&str>) -> Result<Option<String>, Open311Error> {
        match api_key {
            None => Ok(None),
            Some(k) => self
                .keys
                .adapter(k)
                .map(Some)
                .ok_or(Open311Error::Forbidden),
        }
    }
}

/// The Open311 routes, to be nested at [`PREFIX`]: every route of [`routes`],
/// and the Open311 error array for any other path or method.
pub fn router<L: EventLog + Clone>(state: Open311<L>) -> Router {
    routes::<L>()
        .into_iter()
        .fold(Router::new(), |r, route| {
            r.route(route.pattern(), route.handler)
        })
        .fallback(unknown)
        .method_not_allowed_fallback(|| async { Open311Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Every Open311 route, the one list [`router`] serves. Each handler carries
/// its OpenAPI description (`#[utoipa::path]`, feature `openapi`), and the
/// API's document must list the same operations (aduan-api's `openapi_tests.rs`).
pub fn routes<L: EventLog + Clone>() -> Vec<Route<Open311<L>>> {
    vec![
        Route::get("/services.json", read::services::<L>),
        Route::get("/services/{service_code}.json", read::definition),
        Route::get("/requests.json", read::requests::<L>),
        Route::post("/requests.json", submit::post::<L>),
        Route::get("/requests/{service_request_id}.json", read::request::<L>),
    ]
}

/// One Open311 operation: a method, its path under [`PREFIX`] and its handler.
#[derive(Debug)]
pub struct Route<S> {
    /// `GET` or `POST`.
    pub method: Method,
    /// The path as served below [`PREFIX`], with `{name}` parameters.
    pub path: &'static str,
    handler: MethodRouter<S>,
}

impl<S: Clone + Send + Sync + 'static> Route<S> {
    /// `GET path`.
    pub fn get<H: Handler<T, S>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self {
            method: Method::GET,
            path,
            handler: get(handler),
        }
    }

    /// `POST path`.
    pub fn post<H: Handler<T, S>, T: 'static>(path: &'static str, handler: H) -> Self {
        Self {
            method: Method::POST,
            path,
            handler: post(handler),
        }
    }

    /// The router's pattern: axum 0.8 matches a parameter only as a whole
    /// segment, so `{id}.json` is routed as `{id}` and the handler checks the
    /// suffix (a `.xml` one is refused as JSON-only).
    fn pattern(&self) -> &'static str {
        match self.path.strip_suffix(".json") {
            Some(p) if p.ends_with('}') => p,
            _ => self.path,
        }
    }
}

/// Any other path: `.xml` is refused as JSON-only, anything else is not found.
async fn unknown(uri: Uri) -> Open311Error {
    let file = uri.path().rsplit('/').next().unwrap_or("");
    match params::json_stem(file) {
        Err(e) => e,
        Ok(_) => Open311Error::NotFound(format!("no Open311 resource {file:?}")),
    }
}

#[cfg(test)]
mod tests;
