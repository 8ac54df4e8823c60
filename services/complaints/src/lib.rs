//! The one way to change a complaint: [`ComplaintStore`] loads a complaint
//! from its stream (the domain's fold), asks the caller for a command, has the
//! domain decide it and appends the events at the version read; a lost race
//! is retried under one [`RetryPolicy`], and correlation and causation ids are
//! set in one place ([`Cause`]). It also says which rule set is in force at a
//! point of the log or a moment (read from `RuleSetPublished` events, parsed
//! once per publication), publishes rule sets, and computes SLA deadlines
//! ([`sla`]) for everyone who hands a complaint over.
//!
//! It works over any `aduan_log::EventLog` and knows no NATS, HTTP or storage
//! engine. It does not choose owners (the router does), parse requests (the
//! command service does), or keep read models (projections do).

use std::sync::Arc;

use aduan_domain::{Command, Complaint, ComplaintEvent, ComplaintId, SharedClock, SCHEMA_VERSION};
use aduan_log::{Appended, EventLog, ExpectedVersion, LogError, NewEvent, RecordedEvent};
use time::OffsetDateTime;

mod cause;
mod error;
mod publication;
mod retry;
mod rules;
pub mod sla;

pub use cause::Cause;
pub use error::StoreError;
pub use publication::{latest_published, publish_ruleset, published};
pub use retry::RetryPolicy;
pub use rules::{published_rules, At, Published};

/// A complaint as its stream holds it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The state after every event; `complaint.version` is the stream's version.
    pub complaint: Complaint,
    /// The stream's events, decoded, from its first.
    pub events: Vec<ComplaintEvent>,
    /// The stream's envelopes, one per event.
    pub records: Vec<RecordedEvent>,
}

impl Loaded {
    /// The complaint through its stream's first event, `record` decoded as
    /// `event`, with no read; None when that is no `ComplaintReceived`.
    pub fn first(record: RecordedEvent, event: ComplaintEvent) -> Option<Self> {
        let complaint = Complaint::fold([&event])?;
        Some(Self {
            complaint,
            events: vec![event],
            records: vec![record],
        })
    }

    /// Adds `record`, the stream's next event, decoded as `event`: the
    /// complaint as a read after it would load it.
    pub fn push(&mut self, record: RecordedEvent, event: ComplaintEvent) {
        debug_assert_eq!(record.stream_version, self.complaint.version + 1);
        self.complaint.apply(&event);
        self.events.push(event);
        self.records.push(record);
    }
}

/// What `execute` did.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The complaint after the command (unchanged when it decided nothing).
    pub complaint: Complaint,
    /// The events appended, empty when the command changed nothing.
    pub events: Vec<ComplaintEvent>,
    /// Where they were appended, None when nothing was.
    pub appended: Option<Appended>,
}

/// Loads, decides and appends complaints over the log `L`; clones share the
/// log, clock, policy and the cache of parsed rule sets.
#[derive(Debug, Clone)]
pub struct ComplaintStore<L> {
    log: L,
    clock: SharedClock,
    policy: RetryPolicy,
    rules: Arc<rules::Cache>,
}

impl<L: EventLog + Clone> ComplaintStore<L> {
    /// A store over `log`, deciding at `clock`'s time, with the default retry policy.
    pub fn new(log: L, clock: SharedClock) -> Self {
        Self {
            log,
            clock,
            policy: RetryPolicy::default(),
            rules: Arc::default(),
        }
    }

    /// The same store under another retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The log underneath.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// The clock commands are decided at.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The complaint as of its last durable event.
    pub async fn load(&self, id: &ComplaintId) -> Result<Loaded, StoreError> {
        let stream = id.stream();
        let records = self.log.read_stream(&stream, 1).await?;
        if records.is_empty() {
            return Err(StoreError::NotFound(*id));
        }
        let events = records
            .iter()
            .map(|r| {
                ComplaintEvent::decode(&r.event_type, r.schema_version, &r.payload).map_err(
                    |source| StoreError::Decode {
                        stream: stream.clone(),
                        version: r.stream_version,
                        source,
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let complaint = Complaint::fold(&events).ok_or(StoreError::NotAComplaint { stream })?;
        Ok(Loaded {
            complaint,
            events,
            records,
        })
    }

    /// Changes complaint `id`: loads it, asks `make` for the command at the
    /// clock's `now` (None: nothing to do), decides it and appends the events
    /// expecting the version read, recorded with `actor` and `cause`. A lost
    /// race re-reads and re-decides under the retry policy; a refusal is
    /// returned at once.
    pub async fn execute<E, F>(
        &self,
        id: &ComplaintId,
        actor: &str,
        cause: Cause,
        mut make: F,
    ) -> Result<Executed, E>
    where
        E: From<StoreError>,
        F: FnMut(&Complaint, OffsetDateTime) -> Result<Option<Command>, E>,
    {
        self.execute_loaded(id, actor, cause, |l, now| make(&l.complaint, now))
            .await
    }

    /// As [`execute`](Self::execute), for a caller that decides from the
    /// complaint's events too (the router reads the facts it was received with).
    pub async fn execute_loaded<E, F>(
        &self,
        id: &ComplaintId,
        actor: &str,
        cause: Cause,
        make: F,
    ) -> Result<Executed, E>
    where
        E: From<StoreError>,
        F: FnMut(&Loaded, OffsetDateTime) -> Result<Option<Command>, E>,
    {
        self.execute_from(id, None, actor, cause, make).await
    }

    /// As [`execute_loaded`](Self::execute_loaded), deciding first from
    /// `first`, the complaint as the caller last saw it (the router folds
    /// its own copy from the log's tail), instead of reading the stream: if
    /// the stream has moved on since, the append expecting `first`'s version
    /// loses the race, and the next attempt reads the stream.
    pub async fn execute_from<E, F>(
        &self,
        id: &ComplaintId,
        mut first: Option<&Loaded>,
        actor: &str,
        cause: Cause,
        mut make: F,
    ) -> Result<Executed, E>
    where
        E: From<StoreError>,
        F: FnMut(&Loaded, OffsetDateTime) -> Result<Option<Command>, E>,
    {
        let stream = id.stream();
        for attempt in 1..=self.policy.max_attempts.max(1) {
            let read;
            let loaded = match first.take() {
                Some(l) => l,
                None => {
                    read = self.load(id).await?;
                    &read
                }
            };
            let now = self.clock.now();
            let Some(command) = make(loaded, now)? else {
                return Ok(unchanged(loaded));
            };
            let name = command.name();
            let events = loaded
                .complaint
                .decide(command, now)
                .map_err(StoreError::from)?;
            if events.is_empty() {
                return Ok(unchanged(loaded));
            }
            let (correlation_id, causation_id) = cause.ids(loaded.records.last());
            let new = events
                .iter()
                .map(|e| NewEvent {
                    schema_version: SCHEMA_VERSION,
                    correlation_id,
                    causation_id,
                    ..NewEvent::new(e.type_name(), actor, e.encode())
                })
                .collect();
            let expected = ExpectedVersion::Exact(loaded.complaint.version);
            match self.log.append(&stream, expected, new).await {
                Ok(appended) => {
                    let mut complaint = loaded.complaint.clone();
                    complaint.apply_all(&events);
                    tracing::debug!(complaint_id = %id, command = name, actor, version = complaint.version, "command recorded");
                    return Ok(Executed {
                        complaint,
                        events,
                        appended: Some(appended),
                    });
                }
                Err(LogError::Conflict { .. }) => {
                    tracing::debug!(complaint_id = %id, command = name, attempt, "lost a race; deciding again");
                    if attempt < self.policy.max_attempts {
                        self.policy.pause(attempt).await;
                    }
                }
                // The log's queue is full: wait as after a lost race, unless
                // this was the last attempt.
                Err(e @ LogError::Overloaded { .. }) => {
                    if attempt >= self.policy.max_attempts {
                        return Err(StoreError::from(e).into());
                    }
                    self.policy.pause(attempt).await;
                }
                Err(e) => return Err(StoreError::from(e).into()),
            }
        }
        Err(StoreError::Contended {
            attempts: self.policy.max_attempts.max(1),
        }
        .into())
    }
}

fn unchanged(loaded: &Loaded) -> Executed {
    Executed {
        complaint: loaded.complaint.clone(),
        events: Vec::new(),
        appended: None,
    }
}

#[cfg(test)]
mod tests;
