//! The public view of complaints as service requests (what Open311's
//! `requests` show): status, owner, deadline, the last public note, and the
//! complaint's own text and place — never the reporter. Listed newest first
//! from an index by time received, within a bounded window and count.

use aduan_domain::{ComplaintId, OrgCode, Status, TrackingNo};
use aduan_kv::Tree;
use aduan_rules::RuleSet;

use crate::page::decode;
use crate::record::{Details, Record};
use crate::{keys, query, ProjectionError};

/// One complaint as the public may see it, with its text and place.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicRequest {
    /// The tracking number.
    pub tracking_no: TrackingNo,
    /// Where it stands.
    pub status: Status,
    /// Its category (the routing's, or the reporter's before routing).
    pub category: String,
    /// The organisation that owns it now, if any.
    pub owner: Option<OrgCode>,
    /// That organisation's name in the rule set in force (empty if unknown).
    pub owner_name: String,
    /// When it was received (Unix ms).
    pub received_at_ms: i64,
    /// When its last event was recorded (Unix ms).
    pub updated_at_ms: i64,
    /// The owner's resolve deadline while it is open.
    pub due_ms: Option<i64>,
    /// The last public note of its timeline (empty if none).
    pub last_note: String,
    /// The complaint's text and place.
    pub details: Details,
}

/// Which complaints to list: received in `from_ms..=to_ms`, of one of
/// `categories` (all when empty), open or closed (both when None), at most
/// `limit`, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFilter {
    /// Earliest time received (Unix ms), inclusive.
    pub from_ms: i64,
    /// Latest time received (Unix ms), inclusive.
    pub to_ms: i64,
    /// Categories to keep; empty keeps all.
    pub categories: Vec<String>,
    /// Keep only open (`Some(true)`) or only closed (`Some(false)`) ones.
    pub open: Option<bool>,
    /// Most complaints returned.
    pub limit: usize,
}

/// The public view of one complaint's record.
fn view(
    tree: &Tree,
    rec: &Record,
    rules: Option<&RuleSet>,
) -> Result<Option<PublicRequest>, ProjectionError> {
    let c = &rec.complaint;
    let key = keys::details(&c.id);
    let Some(details) = tree.get(&key)? else {
        return Ok(None);
    };
    let details: Details = decode(&key, &details)?;
    let owner_name = c
        .owner
        .as_ref()
        .and_then(|o| rules?.org(o))
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let last_note = rec
        .timeline
        .iter()
        .rev()
        .find(|l| !l.note.is_empty())
        .map(|l| l.note.clone())
        .unwrap_or_default();
    Ok(Some(PublicRequest {
        tracking_no: c.tracking_no.clone(),
        status: c.status,
        category: c.category.clone(),
        owner: c.owner.clone(),
        owner_name,
        received_at_ms: c.received_at_ms,
        updated_at_ms: rec.updated_at_ms,
        due_ms: rec.due_ms().filter(|_| c.status.is_open()),
        last_note,
        details,
    }))
}

/// The public view of a tracking number, if the read models know it.
pub(crate) fn one(
    tree: &Tree,
    t: &TrackingNo,
    rules: Option<&RuleSet>,
) -> Result<Option<PublicRequest>, ProjectionError> {
    match query::record_of(tree, t)? {
        Some(rec) => view(tree, &rec, rules),
        None => Ok(None),
    }
}

/// The complaints `f` selects, newest first.
pub(crate) fn list(
    tree: &Tree,
    f: &RequestFilter,
    rules: Option<&RuleSet>,
) -> Result<Vec<PublicRequest>, ProjectionError> {
    let mut out = Vec::new();
    if f.to_ms < f.from_ms || f.limit == 0 {
        return Ok(out);
    }
    let start = keys::received_bound(f.to_ms);
    let end = keys::received_bound(f.from_ms.saturating_sub(1));
    for kv in tree.range(start..end) {
        let (k, _) = kv?;
        let id = keys::received_id(&k)
            .and_then(|s| ComplaintId::parse(s).ok())
            .ok_or_else(|| ProjectionError::corrupt(&k, "index key without a complaint id"))?;
        let key = keys::complaint(&id);
        let Some(rec) = tree.get(&key)? else {
            continue;
        };
        let rec: Record = decode(&key, &rec)?;
        let c = &rec.complaint;
        let wanted = (f.categories.is_empty() || f.categories.contains(&c.category))
            && f.open.is_none_or(|open| open == c.status.is_open());
        if !wanted {
            continue;
        }
        if let Some(v) = view(tree, &rec, rules)? {
            out.push(v);
            if out.len() >= f.limit {
                break;
            }
        }
    }
    Ok(out)
}
