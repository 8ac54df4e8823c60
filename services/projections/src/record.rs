//! What the read models store: one record per complaint (the domain's own
//! state of it plus what only a reader keeps), and the figures per org and
//! day and over the whole log. Every id in them is typed, so a stored value
//! that does not parse is an error when read, never a default.

use std::collections::BTreeMap;

use aduan_domain::{Channel, Complaint, ComplaintId, RegionCode, Status, TrackingNo};
use aduan_proto::v1;
use serde::{Deserialize, Serialize};

/// What the projections keep of one complaint (never the reporter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The domain's state, folded from the same events: status, owner,
    /// deadlines, category and whether the owner has answered all come from
    /// here. Stored with the record, so a page folds on from it without
    /// reading the complaint's stream again.
    pub complaint: Complaint,
    /// When the current owner got it (Unix ms).
    pub assigned_at_ms: i64,
    /// Assignments so far (routings and escalations).
    pub assignments: u32,
    /// The org its complaint-level figures (received, channel, category) count for.
    pub counted_for: Option<aduan_domain::OrgCode>,
    /// The reporter's title (public).
    pub title: String,
    /// Where it happened; None when the reporter gave no region.
    pub region: Option<RegionCode>,
    /// The channel it came in through.
    pub channel: Channel,
    /// The public timeline.
    pub timeline: Vec<Line>,
    /// Tracking numbers of complaints rejected as duplicates of this one.
    pub duplicates: Vec<TrackingNo>,
    /// When its last event was recorded (Unix ms).
    pub updated_at_ms: i64,
}

/// Why an event is skipped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unusable {
    /// The payload does not decode.
    #[error(transparent)]
    Payload(aduan_domain::DecodeError),
    /// The stream or payload names an id that does not parse.
    #[error(transparent)]
    Id(#[from] aduan_domain::InvalidId),
    /// The complaint id or tracking number does not parse.
    #[error("complaint id or tracking number does not parse")]
    Ids,
    /// The stream names its complaint otherwise than `complaint-<id>` in
    /// the id's own (lower-case, hyphenated) form, as every writer does.
    #[error("stream {0} does not name its complaint as complaint-<id>")]
    Stream(String),
    /// The payload's complaint id is not its stream's.
    #[error("complaint id {payload} in stream of {stream}")]
    Mismatch {
        /// The id in the payload.
        payload: ComplaintId,
        /// The id of the stream.
        stream: ComplaintId,
    },
}

impl Record {
    /// The record a complaint starts with: ids parsed here, once.
    pub(crate) fn received(
        stream: ComplaintId,
        r: &v1::ComplaintReceived,
    ) -> Result<Self, Unusable> {
        let mut complaint = Complaint::received(r).ok_or(Unusable::Ids)?;
        if complaint.id != stream {
            return Err(Unusable::Mismatch {
                payload: complaint.id,
                stream,
            });
        }
        // Nothing of the reporter leaves ComplaintReceived; the read models
        // never check a reporter token, so not even its hash is kept.
        complaint.reporter_token_hash.clear();
        let region = match r.location.as_ref().map(|l| l.region_code.as_str()) {
            None | Some("") => None,
            Some(code) => Some(RegionCode::parse(code)?),
        };
        Ok(Self {
            assigned_at_ms: 0,
            assignments: 0,
            counted_for: None,
            title: r.title.clone(),
            region,
            channel: Channel::parse(&r.channel)?,
            timeline: vec![Line {
                at_ms: r.received_at_ms,
                status: Status::Received,
                note: String::new(),
            }],
            duplicates: Vec::new(),
            updated_at_ms: r.received_at_ms,
            complaint,
        })
    }

    /// The current owner's resolve deadline, while someone owns it.
    pub fn due_ms(&self) -> Option<i64> {
        self.complaint.deadlines.map(|d| d.resolve_ms)
    }
}

/// One public timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// When (Unix ms).
    pub at_ms: i64,
    /// The status it shows.
    pub status: Status,
    /// The public note, if any.
    pub note: String,
}

/// What channels and categories the rule set does not know are counted as
/// ("other"), so one day's figures stay bounded by the rule set, not by
/// what clients send.
pub const OTHER: &str = "lainnya";

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
    /// Of the answers it drafted that day (answer review), those still
    /// waiting for its head: up at the draft, down when the draft is
    /// approved, returned or dropped.
    pub drafts_waiting: u64,
    /// Drafts its head approved that day.
    pub answers_approved: u64,
    /// Drafts its head sent back that day.
    pub answers_returned: u64,
    /// Its resolutions an admin returned as insufficient that day.
    pub resolutions_returned: u64,
    /// Reporters' ratings (1 to 5) of its answers given that day.
    pub rated: u64,
    /// Their sum, so any window's mean is `rating_sum / rated`.
    pub rating_sum: u64,
    /// Received, by channel: the known ones by name, the rest as [`OTHER`].
    pub channels: BTreeMap<String, u64>,
    /// Received, by category: the rule set's by name, the rest as [`OTHER`].
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
        self.drafts_waiting += o.drafts_waiting;
        self.answers_approved += o.answers_approved;
        self.answers_returned += o.answers_returned;
        self.resolutions_returned += o.resolutions_returned;
        self.rated += o.rated;
        self.rating_sum += o.rating_sum;
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
    /// Complaint events applied, by event type.
    pub events: BTreeMap<String, u64>,
    /// Routing decisions, by `ComplaintRouted.reason`.
    pub routings: BTreeMap<String, u64>,
    /// Events skipped: a payload that did not decode, an id in it that does
    /// not parse, or a published rule set this build does not load.
    pub undecodable: u64,
    /// Open complaints by owning org: items in each inbox, counted as they
    /// enter and leave it, so `/metrics` reads them without a scan.
    pub open: BTreeMap<String, u64>,
}

impl Totals {
    /// A complaint's inbox item moved from `from` to `to` (inbox keys).
    pub(crate) fn moved(&mut self, from: Option<&[u8]>, to: Option<&[u8]>) {
        if let Some(org) = from.and_then(crate::keys::inbox_org) {
            if let Some(n) = self.open.get_mut(org) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.open.remove(org);
                }
            }
        }
        if let Some(org) = to.and_then(crate::keys::inbox_org) {
            *self.open.entry(org.to_owned()).or_default() += 1;
        }
    }
}

/// A complaint's own text and place, as the reporter gave them: written once
/// when it is received, apart from the record that changes with every event.
/// The public may read them (Open311 `description`, `address`, `lat`,
/// `long`); nothing of the reporter is among them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Details {
    /// The body.
    pub body: String,
    /// The address given, possibly empty.
    pub address: String,
    /// Latitude, when given.
    pub lat: Option<f64>,
    /// Longitude, when given.
    pub lon: Option<f64>,
}

impl Details {
    pub(crate) fn of(r: &v1::ComplaintReceived) -> Self {
        let l = r.location.clone().unwrap_or_default();
        Self {
            body: r.body.clone(),
            address: l.address,
            lat: l.lat,
            lon: l.lon,
        }
    }
}
