//! How one event changes the read models. The complaint's state (status,
//! owner, deadlines, category, whether the owner has answered) is the
//! domain's own `Complaint`, folded by its `apply`; this module adds only what
//! a reader keeps beside it: the timeline, the figures per org and day, and
//! first-response times. The acting org of an answer, a decline or an
//! escalation is the owner before the event, as `decide` guarantees.
//!
//! Every time used comes from the event (`at_ms`, `received_at_ms`) or its
//! envelope (`recorded_at_ms`), never from a clock, and the rule set used is
//! the one published last before the event in the log, so a rebuild writes
//! byte-for-byte what the live run wrote. Nothing of the reporter is ever
//! copied out of `ComplaintReceived`.

use aduan_complaints::Published;
use std::collections::BTreeMap;

use aduan_domain::{Channel, ComplaintEvent, ComplaintId, Draft, OrgCode, Status, RULESET_STREAM};
use aduan_log::RecordedEvent;
use aduan_proto::v1;
use aduan_rules::RuleSet;

use crate::keys::{self, day_of};
use crate::page::{Held, Page};
use crate::record::{Counts, Details, Line, Record, Totals, Unusable, OTHER};
use crate::ProjectionError;

mod review;

/// Applies one event to the page.
pub(crate) fn apply(
    page: &mut Page<'_>,
    totals: &mut Totals,
    e: &RecordedEvent,
) -> Result<(), ProjectionError> {
    if e.stream_id == RULESET_STREAM {
        adopt(page, totals, e);
        return Ok(());
    }
    let Some(stream) = e.stream_id.strip_prefix("complaint-") else {
        return Ok(());
    };
    *totals.events.entry(e.event_type.clone()).or_default() += 1;
    let (id, event) = match decode(stream, e) {
        Ok(decoded) => decoded,
        Err(err) => return skipped(totals, e, &err),
    };
    if let ComplaintEvent::Routed(r) = &event {
        *totals.routings.entry(r.reason.clone()).or_default() += 1;
    }
    // A stream's first event finds no record: only its stream makes one.
    let stored = match e.stream_version {
        1 => None,
        _ => page.take_record(&id)?,
    };
    let held = match (&event, stored) {
        (_, Some(held)) => held,
        (ComplaintEvent::Received(r), None) => match Record::received(id, r) {
            Ok(rec) => {
                let t = rec.complaint.tracking_no.as_str();
                page.put_raw(keys::tracking(t), id.to_string().into_bytes());
                page.put(keys::details(&id), &Details::of(r));
                page.put_raw(
                    keys::received(rec.complaint.received_at_ms, &id),
                    Vec::new(),
                );
                Page::new_record(rec)
            }
            Err(err) => return skipped(totals, e, &err),
        },
        // Events of a stream without a usable Received: nothing to fold.
        (_, None) => return Ok(()),
    };
    let mut f = Folder::new(page, held, e.recorded_at_ms);
    f.held.rec.complaint.apply(&event);
    f.held.rec.updated_at_ms = f.held.rec.updated_at_ms.max(e.recorded_at_ms);
    f.event(&event)?;
    let Folder { page, held, .. } = f;
    page.put_record(held);
    Ok(())
}

/// The complaint id of the stream and its event, or why they are unusable.
fn decode(stream: &str, e: &RecordedEvent) -> Result<(ComplaintId, ComplaintEvent), Unusable> {
    let id = ComplaintId::parse(stream)?;
    // One stream per complaint, so that its first event is the first of its
    // record (`apply` reads no record for it).
    if id.to_string() != stream {
        return Err(Unusable::Stream(e.stream_id.clone()));
    }
    let event = ComplaintEvent::decode(&e.event_type, e.schema_version, &e.payload)
        .map_err(Unusable::Payload)?;
    // Orgs the domain would otherwise quietly read as "no owner".
    match &event {
        ComplaintEvent::Routed(r) => {
            OrgCode::parse(&r.org)?;
        }
        ComplaintEvent::Escalated(x) => {
            OrgCode::parse(&x.to_org)?;
        }
        ComplaintEvent::Rejected(r) if !r.duplicate_of.is_empty() => {
            ComplaintId::parse(&r.duplicate_of)?;
        }
        _ => {}
    }
    Ok((id, event))
}

fn skip(totals: &mut Totals, e: &RecordedEvent, err: &dyn std::error::Error) {
    tracing::warn!(position = e.position, error = %err, "event skipped by projections");
    totals.undecodable += 1;
}

/// [`skip`], as the end of [`apply`].
fn skipped(
    totals: &mut Totals,
    e: &RecordedEvent,
    err: &dyn std::error::Error,
) -> Result<(), ProjectionError> {
    skip(totals, e, err);
    Ok(())
}

/// Takes a published rule set into force for the events after it, read by
/// the complaint store's one policy: one this build does not load keeps the
/// previous in force, as the router does.
fn adopt(page: &mut Page<'_>, totals: &mut Totals, e: &RecordedEvent) {
    match aduan_complaints::published_rules(e) {
        Ok(Published::InForce { source, rules }) => page.publish(source, rules),
        Ok(Published::Refused(err)) => skip(totals, e, &err),
        Err(err) => skip(totals, e, &err),
    }
}

/// Folds one event into one record and the figures it touches.
struct Folder<'p, 'a> {
    page: &'p mut Page<'a>,
    held: Held,
    /// The owner before the event: the org that answers, declines or is
    /// escalated away from.
    before: Option<OrgCode>,
    /// The owner had answered before the event.
    responded: bool,
    /// The envelope's recorded-at, used when an event carries no time.
    at: i64,
    /// The drafts waiting before the event.
    drafts: BTreeMap<String, Draft>,
}

impl<'p, 'a> Folder<'p, 'a> {
    fn new(page: &'p mut Page<'a>, held: Held, at: i64) -> Self {
        let (before, responded) = (
            held.rec.complaint.owner.clone(),
            held.rec.complaint.responded,
        );
        let drafts = held.rec.complaint.drafts.clone();
        Self {
            page,
            held,
            before,
            responded,
            at,
            drafts,
        }
    }

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
            E::Received(_) | E::ReporterReplied(_) => {}
            E::FeedbackGiven(f) => self.rated(f)?,
            E::Routed(r) => self.assigned(self.when(r.at_ms))?,
            E::Escalated(x) => {
                let t = self.when(x.at_ms);
                self.count_before(t, |c| c.escalated += 1)?;
                self.assigned(t)?;
            }
            E::RoutingRejected(r) => self.count_before(self.when(r.at_ms), |c| c.declined += 1)?,
            E::Acknowledged(a) => {
                let t = self.when(a.at_ms);
                self.count_before(t, |c| c.acknowledged += 1)?;
                self.answered(t, Some("diterima oleh instansi".into()));
            }
            E::FollowUpPosted(f) => {
                let t = self.when(f.at_ms);
                self.count_before(t, |c| c.followed_up += 1)?;
                self.answered(t, f.public.then(|| f.message.clone()));
            }
            E::InformationRequested(q) => {
                self.answered(self.when(q.at_ms), Some(q.question.clone()))
            }
            E::Resolved(r) => self.resolved(r)?,
            E::Reopened(r) => self.line(self.when(r.at_ms), Status::Reopened, String::new()),
            E::Closed(c) => self.line(self.when(c.at_ms), Status::Closed, String::new()),
            E::Rejected(r) => self.rejected(r)?,
            E::AnswerDrafted(_) => {}
            E::AnswerApproved(a) => self.approved(a)?,
            E::AnswerReturned(r) => {
                self.count_before(self.when(r.at_ms), |c| c.answers_returned += 1)?
            }
            E::ResolutionReturned(r) => self.resolution_returned(r)?,
        }
        self.drafts_moved()
    }

    /// The complaint has a new owner (a routing or an escalation).
    fn assigned(&mut self, t: i64) -> Result<(), ProjectionError> {
        let Some(org) = self.rec().complaint.owner.clone() else {
            // `decode` let through only events naming a valid org.
            return Ok(());
        };
        self.count_complaint(&org)?;
        self.count(&org, t, |c| c.routed += 1)?;
        let rec = &mut self.held.rec;
        rec.assigned_at_ms = t;
        rec.assignments += 1;
        self.line(t, Status::Routed, format!("diteruskan ke {org}"));
        Ok(())
    }

    /// Counts received, channel and category once, for the first org that takes it.
    fn count_complaint(&mut self, org: &OrgCode) -> Result<(), ProjectionError> {
        let rec = &mut self.held.rec;
        if rec.counted_for.is_some() {
            return Ok(());
        }
        rec.counted_for = Some(org.clone());
        let rules = self.page.rules();
        let channel = counted_channel(rules, rec.channel.as_str()).to_owned();
        let category = counted_category(rules, &rec.complaint.category).to_owned();
        let received = rec.complaint.received_at_ms;
        self.count(org, received, |c| {
            c.received += 1;
            *c.channels.entry(channel).or_default() += 1;
            if !category.is_empty() {
                *c.categories.entry(category).or_default() += 1;
            }
        })
    }

    /// The owner answered in some way; its first answer to this assignment
    /// is a first-response time.
    fn answered(&mut self, t: i64, note: Option<String>) {
        if let Some(org) = self.before.as_ref().filter(|_| !self.responded) {
            let rec = &self.held.rec;
            let day = day_of(rec.assigned_at_ms);
            let k = keys::response(org.as_str(), day, &rec.complaint.id, rec.assignments);
            let ms = t - rec.assigned_at_ms;
            self.page.put_raw(k, ms.to_be_bytes().to_vec());
            self.responded = true;
        }
        if let Some(note) = note {
            self.line(t, Status::InProgress, note);
        }
    }

    fn resolved(&mut self, r: &v1::ComplaintResolved) -> Result<(), ProjectionError> {
        let t = self.when(r.at_ms);
        self.count_before(t, |c| c.resolved += 1)?;
        let on_time = self.rec().due_ms().is_some_and(|d| t <= d);
        if let Some(org) = self.before.clone().filter(|_| on_time) {
            let assigned = self.rec().assigned_at_ms;
            self.count(&org, assigned, |c| c.resolved_on_time += 1)?;
        }
        self.answered(t, None);
        self.line(t, Status::Resolved, r.resolution.clone());
        Ok(())
    }

    /// A rating counts for the org whose answer it rates, on its own day.
    fn rated(&mut self, f: &v1::FeedbackGiven) -> Result<(), ProjectionError> {
        let c = &self.rec().complaint;
        let Some(org) = c.resolved_by.clone().or_else(|| self.before.clone()) else {
            return Ok(());
        };
        let rating = u64::from(f.rating.clamp(1, 5));
        self.count(&org, self.when(f.at_ms), |c| {
            c.rated += 1;
            c.rating_sum += rating;
        })
    }

    fn rejected(&mut self, r: &v1::ComplaintRejected) -> Result<(), ProjectionError> {
        let t = self.when(r.at_ms);
        let rec = self.rec();
        let org = match (&rec.complaint.owner, &rec.counted_for) {
            (Some(o), _) | (None, Some(o)) => o.clone(),
            (None, None) => triage_of(self.page.rules(), rec),
        };
        self.count_complaint(&org)?;
        self.count(&org, t, |c| c.rejected += 1)?;
        self.line(t, Status::Rejected, r.reason_code.clone());
        let original = ComplaintId::parse(&r.duplicate_of).ok();
        if let Some(original) = original.filter(|_| r.reason_code == "duplicate") {
            if let Some(mut held) = self.page.take_record(&original)? {
                let t = &self.held.rec.complaint.tracking_no;
                if !held.rec.duplicates.contains(t) {
                    held.rec.duplicates.push(t.clone());
                }
                self.page.put_record(held);
            }
        }
        Ok(())
    }

    fn rec(&self) -> &Record {
        &self.held.rec
    }

    /// Adds to the counts of the owner before the event, if there was one.
    fn count_before(&mut self, t: i64, f: impl FnOnce(&mut Counts)) -> Result<(), ProjectionError> {
        match self.before.clone() {
            Some(org) => self.count(&org, t, f),
            None => Ok(()),
        }
    }

    /// Adds to `org`'s counts for the day of `t`.
    fn count(
        &mut self,
        org: &OrgCode,
        t: i64,
        f: impl FnOnce(&mut Counts),
    ) -> Result<(), ProjectionError> {
        self.page.count(keys::day(org.as_str(), day_of(t)), f)
    }

    fn line(&mut self, at_ms: i64, status: Status, note: String) {
        self.held.rec.timeline.push(Line {
            at_ms,
            status,
            note,
        });
    }
}

/// The name a channel is counted under: itself when known (to the rule set
/// in force, or CONTRACT.md's list before any), else [`OTHER`]. Channels are
/// free tokens, so without this one day's counts would grow with every new
/// token a client makes up.
fn counted_channel<'c>(rules: Option<&RuleSet>, channel: &'c str) -> &'c str {
    let known = match rules {
        Some(rules) => rules.knows_channel(channel),
        None => Channel::KNOWN.contains(&channel),
    };
    if known {
        channel
    } else {
        OTHER
    }
}

/// The name a category is counted under: itself when the rule set in force
/// has it, else [`OTHER`]; none stays none. Intake takes any category (the
/// contract makes it free text), so the rule set bounds what is counted.
fn counted_category<'c>(rules: Option<&RuleSet>, category: &'c str) -> &'c str {
    match rules {
        _ if category.is_empty() => "",
        Some(rules) if rules.knows_category(category) => category,
        _ => OTHER,
    }
}

/// Who takes a complaint rejected before anyone owned it: its region's
/// triage admin under the rules in force, `nasional` before any rule set.
fn triage_of(rules: Option<&RuleSet>, rec: &Record) -> OrgCode {
    match rules {
        Some(rules) => rules.admin_for(rec.region.as_ref()),
        None => OrgCode::national(),
    }
}
