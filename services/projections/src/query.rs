//! The status view and the OPD inbox, read from the projection. "Overdue" is
//! judged against the `now` the caller passes (from its clock), never stored.

use aduan_domain::{calendar, ComplaintId, OrgCode, TrackingNo};
use aduan_kv::Tree;
use aduan_proto::v1;
use aduan_rules::RuleSet;
use serde::{Deserialize, Serialize};

use crate::page::decode;
use crate::record::Record;
use crate::{keys, ProjectionError};

/// One open complaint in an OPD's inbox (`GET /v1/orgs/{org}/inbox`); never the reporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxItem {
    pub complaint_id: String,
    pub tracking_no: String,
    pub status: String,
    /// RFC 3339, UTC.
    pub due_at: String,
    /// Judged at query time; stored as false.
    pub overdue: bool,
    pub title: String,
    pub category: String,
    pub region: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    #[serde(skip)]
    pub due_ms: i64,
}

impl InboxItem {
    pub(crate) fn of(rec: &Record) -> Self {
        let c = &rec.complaint;
        let due_ms = rec.due_ms().unwrap_or_default();
        Self {
            complaint_id: c.id.to_string(),
            tracking_no: c.tracking_no.to_string(),
            status: c.status.to_string(),
            due_at: rfc3339(due_ms),
            overdue: false,
            title: rec.title.clone(),
            category: c.category.clone(),
            region: rec
                .region
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            received_at: rfc3339(c.received_at_ms),
            due_ms,
        }
    }
}

/// An OPD's inbox: its open complaints, oldest due first, one page of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inbox {
    pub org: String,
    /// Open complaints in the whole inbox, not only this page.
    pub open: usize,
    /// Of those, past their due date.
    pub overdue: usize,
    pub items: Vec<InboxItem>,
    /// The `after` cursor of the next page; null on the last.
    pub next: Option<String>,
}

/// Which page of an inbox to list: up to `limit` items after the item a
/// cursor names (`Inbox::next` of the page before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPage {
    limit: usize,
    /// The inbox key of the last item of the page before.
    after: Option<(i64, ComplaintId)>,
}

impl InboxPage {
    /// Items a page holds when the caller does not say.
    pub const DEFAULT_LIMIT: usize = 100;
    /// The most items a page may hold.
    pub const MAX_LIMIT: usize = 1000;

    /// The first page, of the default size.
    pub fn first() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            after: None,
        }
    }

    /// Every item in one page, for the recap's count of open complaints.
    pub(crate) fn all() -> Self {
        Self {
            limit: usize::MAX,
            after: None,
        }
    }

    /// A page from the query parameters `limit` (1 to [`Self::MAX_LIMIT`])
    /// and `after` (a cursor this API gave out); either may be absent.
    pub fn parse(limit: Option<&str>, after: Option<&str>) -> Result<Self, ProjectionError> {
        let limit = match limit {
            None => Self::DEFAULT_LIMIT,
            Some(l) => l
                .parse()
                .ok()
                .filter(|n| (1..=Self::MAX_LIMIT).contains(n))
                .ok_or(ProjectionError::InvalidArgument {
                    field: "limit",
                    why: "must be a whole number from 1 to 1000",
                })?,
        };
        let after = match after {
            None => None,
            Some(c) => Some(parse_cursor(c).ok_or(ProjectionError::InvalidArgument {
                field: "after",
                why: "is not a cursor this inbox gave out",
            })?),
        };
        Ok(Self { limit, after })
    }
}

/// A cursor: the due time and complaint id of an inbox item.
fn cursor(due_ms: i64, id: &str) -> String {
    format!("{due_ms}.{id}")
}

fn parse_cursor(c: &str) -> Option<(i64, ComplaintId)> {
    let (due, id) = c.split_once('.')?;
    Some((due.parse().ok()?, ComplaintId::parse(id).ok()?))
}

/// One page of `org`'s inbox in due order, with `overdue` as of `now_ms`.
/// The totals count every key of the inbox; only the page's values are read.
pub(crate) fn inbox(
    tree: &Tree,
    org: &OrgCode,
    now_ms: i64,
    page: &InboxPage,
) -> Result<Inbox, ProjectionError> {
    let prefix = keys::inbox_prefix(org.as_str());
    let after = page
        .after
        .as_ref()
        .map(|(due, id)| keys::inbox(org.as_str(), *due, id));
    let (mut open, mut overdue, mut items, mut next) = (0, 0, Vec::<InboxItem>::new(), None);
    for kv in tree.scan_prefix(&prefix) {
        let (k, v) = kv?;
        // The due date is in the key (8 bytes after the prefix), which keeps the order.
        let due_ms = due_in_key(&k[prefix.len()..]);
        open += 1;
        overdue += usize::from(now_ms > due_ms);
        if after.as_ref().is_some_and(|a| k <= *a) {
            continue;
        }
        if items.len() == page.limit {
            if let (None, Some(last)) = (&next, items.last()) {
                next = Some(cursor(last.due_ms, &last.complaint_id));
            }
            continue;
        }
        let mut item: InboxItem = decode(&k, &v)?;
        item.due_ms = due_ms;
        item.overdue = now_ms > due_ms;
        items.push(item);
    }
    Ok(Inbox {
        org: org.to_string(),
        open,
        overdue,
        items,
        next,
    })
}

/// Open and overdue complaints per owning org, as of `now_ms`, in org order:
/// the open counts kept in `totals`, the overdue ones read from the front of
/// each inbox (its keys are in due order), so a scrape reads only what is overdue.
pub(crate) fn open_per_org(
    tree: &Tree,
    totals: &crate::Totals,
    now_ms: i64,
) -> Result<std::collections::BTreeMap<String, (u64, u64)>, ProjectionError> {
    let mut out = std::collections::BTreeMap::new();
    for (org, open) in &totals.open {
        let mut overdue = 0;
        for kv in tree.range(keys::inbox_due_before(org, now_ms)) {
            kv?;
            overdue += 1;
        }
        out.insert(org.clone(), (*open, overdue));
    }
    Ok(out)
}

/// [`open_per_org`] by a scan of every inbox key: the tests' reference.
#[cfg(test)]
pub(crate) fn open_per_org_scanned(
    tree: &Tree,
    now_ms: i64,
) -> Result<std::collections::BTreeMap<String, (u64, u64)>, ProjectionError> {
    let mut out = std::collections::BTreeMap::<String, (u64, u64)>::new();
    for kv in tree.scan_prefix(b"i") {
        let (k, _) = kv?;
        let Some(nul) = k.iter().position(|b| *b == 0) else {
            continue;
        };
        let org = String::from_utf8_lossy(&k[1..nul]).into_owned();
        let entry = out.entry(org).or_default();
        entry.0 += 1;
        entry.1 += u64::from(now_ms > due_in_key(&k[nul + 1..]));
    }
    Ok(out)
}

fn due_in_key(rest: &[u8]) -> i64 {
    let mut b = [0u8; 8];
    if rest.len() >= 8 {
        b.copy_from_slice(&rest[..8]);
    }
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

/// The record of a complaint by tracking number.
pub(crate) fn record_of(tree: &Tree, t: &TrackingNo) -> Result<Option<Record>, ProjectionError> {
    let key = keys::tracking(t.as_str());
    let Some(id) = tree.get(&key)? else {
        return Ok(None);
    };
    let id: ComplaintId = decode_id(&key, &id)?;
    let key = keys::complaint(&id);
    tree.get(&key)?.map(|v| decode(&key, &v)).transpose()
}

/// A complaint id stored as its text.
fn decode_id(key: &[u8], v: &[u8]) -> Result<ComplaintId, ProjectionError> {
    let text = std::str::from_utf8(v).map_err(|e| ProjectionError::corrupt(key, e))?;
    ComplaintId::parse(text).map_err(|e| ProjectionError::corrupt(key, e))
}

/// What anyone may see of a complaint, as of `now_ms`.
/// Org names come from `rules`, the rule set in force; none before any.
pub(crate) fn status_view(rec: &Record, rules: Option<&RuleSet>, now_ms: i64) -> v1::StatusView {
    let c = &rec.complaint;
    let due = rec.due_ms().filter(|_| c.status.is_open());
    let org_name = c
        .owner
        .as_ref()
        .and_then(|o| rules?.org(o))
        .map(|o| o.name.clone())
        .unwrap_or_default();
    v1::StatusView {
        tracking_no: c.tracking_no.to_string(),
        status: c.status.to_string(),
        org: c.owner.as_ref().map(OrgCode::to_string).unwrap_or_default(),
        org_name,
        due_at: due.map(rfc3339).unwrap_or_default(),
        overdue: due.is_some_and(|d| now_ms > d),
        timeline: rec
            .timeline
            .iter()
            .map(|l| v1::TimelineEntry {
                at: rfc3339(l.at_ms),
                status: l.status.to_string(),
                note: l.note.clone(),
            })
            .collect(),
        duplicates: rec.duplicates.iter().map(TrackingNo::to_string).collect(),
    }
}

/// Unix milliseconds as RFC 3339 in UTC.
pub fn rfc3339(ms: i64) -> String {
    calendar::from_unix_ms(ms)
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
