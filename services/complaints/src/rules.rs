//! The rule set in force, read from the log: the last `RuleSetPublished` at
//! or before a point of the log (the router, which routes each event by the
//! rules published before it) or a moment (an audit replay), or the latest
//! (a command, now). Each publication is parsed once and kept by its version
//! in the `ruleset` stream; one that no longer loads is skipped with an
//! error, so the one before it stays in force rather than all routing stopping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aduan_domain::RULESET_STREAM;
use aduan_log::{EventLog, RecordedEvent};
use aduan_rules::RuleSet;

use crate::{publication, ComplaintStore, StoreError};

/// Which point of history a rule set is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// After everything in the log.
    Latest,
    /// At a global position of the log: publications at or before it.
    Position(u64),
    /// At a moment (Unix ms): publications recorded at or before it.
    Time(i64),
}

impl At {
    fn admits(self, e: &RecordedEvent) -> bool {
        match self {
            Self::Latest => true,
            Self::Position(p) => e.position <= p,
            Self::Time(ms) => e.recorded_at_ms <= ms,
        }
    }
}

/// Parsed rule sets by their version in the `ruleset` stream (None: it did not load).
#[derive(Debug, Default)]
pub(crate) struct Cache {
    // A std Mutex: never held across an await.
    parsed: Mutex<HashMap<u64, Option<Arc<RuleSet>>>>,
}

impl<L: EventLog + Clone> ComplaintStore<L> {
    /// The rule set in force `at` that point, None when none was published by then.
    pub async fn rules_in_force(&self, at: At) -> Result<Option<Arc<RuleSet>>, StoreError> {
        let published = self.log.read_stream(RULESET_STREAM, 1).await?;
        for e in published.iter().rev().filter(|e| at.admits(e)) {
            if let Some(rules) = self.ruleset_of(e)? {
                return Ok(Some(rules));
            }
        }
        Ok(None)
    }

    /// The rule set a `ruleset` stream event publishes, parsed once; None
    /// (logged) when this build refuses it.
    pub fn ruleset_of(&self, e: &RecordedEvent) -> Result<Option<Arc<RuleSet>>, StoreError> {
        let key = e.stream_version;
        if let Some(cached) = lock(&self.rules.parsed).get(&key) {
            return Ok(cached.clone());
        }
        let parsed = match published_rules(e)? {
            Published::InForce { rules, .. } => Some(rules),
            Published::Refused(_) => None,
        };
        lock(&self.rules.parsed).insert(key, parsed.clone());
        Ok(parsed)
    }

    /// Publishes `source` unless it is the latest publication (see [`publication::publish_ruleset`]).
    pub async fn publish_ruleset(
        &self,
        source: &str,
    ) -> Result<Option<aduan_log::Appended>, StoreError> {
        publication::publish_ruleset(&self.log, source).await
    }
}

/// What a `ruleset` stream event publishes, as this build reads it.
#[derive(Debug)]
pub enum Published {
    /// A rule set that loads: it is in force from its position on.
    InForce {
        /// The TOML source, as published.
        source: String,
        /// The rules it defines.
        rules: Arc<RuleSet>,
    },
    /// A publication this build refuses; the one before it stays in force.
    Refused(aduan_rules::LoadError),
}

/// Reads the rule set a `ruleset` stream event publishes: the one policy for
/// every reader of the log (router, commands, projections, audit replay). A
/// publication that does not load is logged and reported as refused; an
/// event that does not decode at all is an error.
pub fn published_rules(e: &RecordedEvent) -> Result<Published, StoreError> {
    let source = publication::published(e)?.source;
    Ok(match RuleSet::load(&source) {
        Ok(rules) => Published::InForce {
            source,
            rules: Arc::new(rules),
        },
        Err(err) => {
            tracing::error!(position = e.position, error = %err, "a published rule set does not load; it is skipped");
            Published::Refused(err)
        }
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
