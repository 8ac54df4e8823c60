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
use axum::routing::get;
use axum::Router;

mod error;
mod params;
mod read;
mod submit;

pub use error::Open311Error;

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

/// The Open311 routes, to be nested at `/open311/v2`.
pub fn router<L: EventLog + Clone>(state: Open311<L>) -> Router {
    Router::new()
        .route("/{file}", get(read::top::<L>).post(submit::post::<L>))
        .route("/requests/{file}", get(read::request::<L>))
        .route("/services/{file}", get(read::definition))
        .fallback(|| async { Open311Error::NotFound("no such Open311 resource".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

#[cfg(test)]
mod tests;
