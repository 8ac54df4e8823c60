//! How one event changes the read models. Every time used comes from the
//! event (`at_ms`, `received_at_ms`) or its envelope (`recorded_at_ms`),
//! never from a clock, so a rebuild writes byte-for-byte what the live run
//! wrote. Nothing of the reporter is ever copied out of `ComplaintReceived`.

use std::collections::BTreeMap;

use aduan_domain::{ComplaintEvent, RegionCode, Status, TrackingNo};
use aduan_log::RecordedEvent;
use aduan_proto::v1;
use aduan_rules::RuleSet;
use serde::{Deserialize, Serialize};

use crate::keys::{self, day_of};
use crate::page::Page;
use crate::ProjectionError;

/// What the projections keep of one complaint (never the reporter).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub tracking_no: String,
    pub status: String,
    pub owner: Option<String>,
    /// When the current owner got it (Unix ms).
    pub assigned_at_ms: i64,
    /// The current owner's resolve deadline.
    pub due_ms: Option<i64>,
    /// The current owner has answered in some way.
    pub responded: bool,
    /// Assignments so far (routings and escalations).
    pub assignments: u32,
    /// The org its complaint-level figures (received, channel, category) count for.
    pub counted_for: Option<String>,
    pub title: String,
    pub category: String,
    pub region: String,
    pub channel: String,
    pub received_at_ms: i64,
    pub timeline: Vec<Line>,
    /// Tracking numbers of complaints rejected as duplicates of this one.
    pub duplicates: Vec<String>,
}

/// One public timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub at_ms: i64,
    pub status: String,
    pub note: String,
}

/// One org's figures for one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Complaints received that day whose first owner (or rejecting triage) is this org.
    pub received: u64,
    /// Assignments made to it that day (routings and escalations).
    pub routed: u64,
    pub acknowledged: u64,
    pub followed_up: u64,
    pub resolved: u64,
    /// Of the assignments made that day, those it resolved by their deadline.
    pub resolved_on_time: u64,
    pub rejected: u64,
    /// "Not our authority" answers it gave.
    pub declined: u64,
    /// Complaints moved away from it to the org above.
    pub escalated: u64,
    pub channels: BTreeMap<String, u64>,
    pub categories: BTreeMap<String, u64>,
}

impl Counts {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &Counts) {
        self.received += o.received;
        self.routed += o.routed;
        self.acknowledged += o.acknowledged;
        self.followed_up += o.followed_up;
        self.resolved += o.resolved;
        self.resolved_on_time += o.resolved_on_time;
        self.rejected += o.rejected;
        self.declined += o.declined;
        self.escalated += o.escalated;
        for (k, v) in &o.channels {
            *self.channels.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.categories {
            *self.categories.entry(k.clone()).or_default() += v;
        }
    }
}

/// Figures over the whole log, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Events applied, by event type.
    pub events: BTreeMap<String, u64>,
    /// Routing decisions, by `ComplaintRouted.reason`.
    pub routings: BTreeMap<String, u64>,
    /// Events whose payload did not decode (skipped).
    pub undecodable: u64,
}

/// Applies one event to the page.
pub(crate) fn apply(
    page: &mut Page<'_>,
    rules: &RuleSet,
    totals: &mut Totals,
    e: &RecordedEvent,
) -> Result<(), ProjectionError> {
    let Some(id) = e.stream_id.strip_prefix("complaint-") else {
        return Ok(());
    };
    *totals.events.entry(e.event_type.clone()).or_default() += 1;
    let event = match ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload) {
        Ok(ev) => ev,
        Err(err) => {
            tracing::warn!(position = e.position, error = %err, "event skipped by projections");
            totals.undecodable += 1;
            return Ok(());
        }
    };
    if let ComplaintEvent::Routed(r) = &event {
        *totals.routings.entry(r.reason.clone()).or_default() += 1;
    }
    let key = keys::complaint(id);
    let mut rec = match (&event, page.get::<Record>(&key)?) {
        (ComplaintEvent::Received(r), None) => received(page, id, r),
        (_, Some(rec)) => rec,
        // A second Received, or events of a stream without one: nothing to fold.
        _ => return Ok(()),
    };
    let before = inbox_key(&rec);
    let mut f = Folder {
        page,
        rules,
        rec: &mut rec,
        at: e.recorded_at_ms,
    };
    f.event(&event)?;
    if let Some(k) = before {
        page.remove(k);
    }
    if let Some(k) = inbox_key(&rec) {
        page.put(k, &crate::query::InboxItem::of(&rec));
    }
    page.put(key, &rec);
    Ok(())
}

fn received(page: &mut Page<'_>, id: &str, r: &v1::ComplaintReceived) -> Record {
    // Keyed by the canonical form (what a query parses to); shown hyphenated.
    let (key, tracking_no) = match TrackingNo::parse(&r.tracking_no) {
        Ok(t) => (t.as_str().to_owned(), t.to_string()),
        Err(_) => (r.tracking_no.clone(), r.tracking_no.clone()),
    };
    page.put_raw(keys::tracking(&key), id.as_bytes().to_vec());
    let location = r.location.as_ref();
    Record {
        id: id.to_owned(),
        tracking_no,
        status: Status::Received.as_str().into(),
        title: r.title.clone(),
        category: r.category.clone(),
        region: location.map(|l| l.region_code.clone()).unwrap_or_default(),
        channel: r.channel.clone(),
        received_at_ms: r.received_at_ms,
        timeline: vec![Line {
            at_ms: r.received_at_ms,
            status: "received".into(),
            note: String::new(),
        }],
        ..Record::default()
    }
}

/// The inbox key of a complaint: open and owned, else none.
fn inbox_key(rec: &Record) -> Option<Vec<u8>> {
    let open = Status::parse(&rec.status).is_some_and(|s| s.is_open());
    match (&rec.owner, rec.due_ms) {
        (Some(org), Some(due)) if open => Some(keys::inbox(org, due, &rec.id)),
        _ => None,
    }
}

/// Folds one event into one record and the figures it touches.
struct Folder<'p, 'a, 'r> {
    page: &'p mut Page<'a>,
    rules: &'p RuleSet,
    rec: &'r mut Record,
    /// The envelope's recorded-at, used when an event carries no time.
    at: i64,
}

impl Folder<'_, '_, '_> {
    fn when(&self, at_ms: i64) -> i64 {
        if at_ms != 0 {
            at_ms
        } else {
            self.at
        }
    }

    fn event(&mut self, event: &ComplaintEvent) -> Result<(), ProjectionError> {
        use ComplaintEvent as E;
        match event {
            E::Received(_) => {}
            E::Routed(r) => {
                let t = self.when(r.at_ms);
                self.set_status(Status::Routed);
                self.assigned(&r.org, r.due_at_ms, t, &r.category)?;
            }
            E::Escalated(x) => {
                let t = self.when(x.at_ms);
                if !x.from_org.is_empty() {
                    self.count(&x.from_org, t, |c| c.escalated += 1)?;
                }
                // As in the domain's fold: an escalation moves the owner but
                // keeps a complaint already in progress in progress.
                if matches!(
                    Status::parse(&self.rec.status),
                    Some(Status::Received | Status::Reopened)
                ) {
                    self.set_status(Status::Routed);
                }
                self.assigned(&x.to_org, x.due_at_ms, t, "")?;
            }
            E::RoutingRejected(r) => {
                let t = self.when(r.at_ms);
                self.count(&r.org, t, |c| c.declined += 1)?;
                self.set_status(Status::Routed);
                self.unassign();
            }
            E::Acknowledged(a) => {
                let t = self.when(a.at_ms);
                self.count(&a.org, t, |c| c.acknowledged += 1)?;
                self.answered(&a.org, t, "diterima oleh instansi".into())?;
            }
            E::FollowUpPosted(f) => {
                let t = self.when(f.at_ms);
                self.count(&f.org, t, |c| c.followed_up += 1)?;
                let note = f.public.then(|| f.message.clone());
                self.answered_quietly(&f.org, t, note)?;
            }
            E::InformationRequested(q) => {
                self.answered(&q.org, self.when(q.at_ms), q.question.clone())?
            }
            E::ReporterReplied(_) | E::FeedbackGiven(_) => {}
            E::Resolved(r) => self.resolved(r)?,
            E::Reopened(r) => {
                self.set_status(Status::Reopened);
                self.unassign();
                self.line(self.when(r.at_ms), "reopened", String::new());
            }
            E::Closed(c) => {
                self.set_status(Status::Closed);
                self.line(self.when(c.at_ms), "closed", String::new());
            }
            E::Rejected(r) => self.rejected(r)?,
        }
        Ok(())
    }

    fn assigned(
        &mut self,
        org: &str,
        due: i64,
        t: i64,
        category: &str,
    ) -> Result<(), ProjectionError> {
        if !category.is_empty() {
            self.rec.category = category.to_owned();
        }
        self.count_complaint(org)?;
        self.count(org, t, |c| c.routed += 1)?;
        self.rec.owner = Some(org.to_owned());
        self.rec.assigned_at_ms = t;
        self.rec.due_ms = Some(due);
        self.rec.responded = false;
        self.rec.assignments += 1;
        self.line(t, "routed", format!("diteruskan ke {org}"));
        Ok(())
    }

    /// Counts received, channel and category once, for the first org that takes it.
    fn count_complaint(&mut self, org: &str) -> Result<(), ProjectionError> {
        if self.rec.counted_for.is_some() {
            return Ok(());
        }
        self.rec.counted_for = Some(org.to_owned());
        let (channel, category) = (self.rec.channel.clone(), self.rec.category.clone());
        self.count(org, self.rec.received_at_ms, |c| {
            c.received += 1;
            *c.channels.entry(channel).or_default() += 1;
            if !category.is_empty() {
                *c.categories.entry(category).or_default() += 1;
            }
        })
    }

    fn answered(&mut self, org: &str, t: i64, note: String) -> Result<(), ProjectionError> {
        self.answered_quietly(org, t, Some(note))
    }

    fn answered_quietly(
        &mut self,
        org: &str,
        t: i64,
        note: Option<String>,
    ) -> Result<(), ProjectionError> {
        if !self.rec.responded && self.rec.owner.as_deref() == Some(org) {
            self.rec.responded = true;
            let day = day_of(self.rec.assigned_at_ms);
            let k = keys::response(org, day, &self.rec.id, self.rec.assignments);
            self.page
                .put_raw(k, (t - self.rec.assigned_at_ms).to_be_bytes().to_vec());
        }
        self.set_status(Status::InProgress);
        if let Some(note) = note {
            self.line(t, "in_progress", note);
        }
        Ok(())
    }

    fn resolved(&mut self, r: &v1::ComplaintResolved) -> Result<(), ProjectionError> {
        let t = self.when(r.at_ms);
        self.count(&r.org, t, |c| c.resolved += 1)?;
        let on_time = self.rec.owner.as_deref() == Some(r.org.as_str())
            && self.rec.due_ms.is_some_and(|d| t <= d);
        if on_time {
            self.count(&r.org, self.rec.assigned_at_ms, |c| c.resolved_on_time += 1)?;
        }
        self.answered_quietly(&r.org, t, None)?;
        self.set_status(Status::Resolved);
        self.line(t, "resolved", r.resolution.clone());
        Ok(())
    }

    fn rejected(&mut self, r: &v1::ComplaintRejected) -> Result<(), ProjectionError> {
        let t = self.when(r.at_ms);
        let org = match (&self.rec.owner, &self.rec.counted_for) {
            (Some(o), _) | (None, Some(o)) => o.clone(),
            (None, None) => {
                let region = RegionCode::parse(&self.rec.region).ok();
                self.rules.admin_for(region.as_ref()).to_string()
            }
        };
        self.count_complaint(&org)?;
        self.count(&org, t, |c| c.rejected += 1)?;
        self.set_status(Status::Rejected);
        self.line(t, "rejected", r.reason_code.clone());
        if r.reason_code == "duplicate" && !r.duplicate_of.is_empty() {
            let key = keys::complaint(&r.duplicate_of);
            if let Some(mut original) = self.page.get::<Record>(&key)? {
                if !original.duplicates.contains(&self.rec.tracking_no) {
                    original.duplicates.push(self.rec.tracking_no.clone());
                    self.page.put(key, &original);
                }
            }
        }
        Ok(())
    }

    /// Adds to `org`'s counts for the day of `t`.
    fn count(
        &mut self,
        org: &str,
        t: i64,
        f: impl FnOnce(&mut Counts),
    ) -> Result<(), ProjectionError> {
        let key = keys::day(org, day_of(t));
        let mut c: Counts = self.page.get(&key)?.unwrap_or_default();
        f(&mut c);
        self.page.put(key, &c);
        Ok(())
    }

    fn set_status(&mut self, s: Status) {
        self.rec.status = s.as_str().into();
    }

    fn unassign(&mut self) {
        self.rec.owner = None;
        self.rec.due_ms = None;
        self.rec.responded = false;
    }

    fn line(&mut self, at_ms: i64, status: &str, note: String) {
        self.rec.timeline.push(Line {
            at_ms,
            status: status.into(),
            note,
        });
    }
}
