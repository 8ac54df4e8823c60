//! The work lists of the console: an org's drafts waiting for its head, and
//! the resolutions an admin may still return. Both are read from the
//! complaint records the models already keep; nothing new is stored for them.

use aduan_domain::{ComplaintId, OrgCode, Status};
use aduan_kv::Tree;

use crate::page::decode;
use crate::query::InboxItem;
use crate::record::Record;
use crate::{keys, ProjectionError};

/// One draft answer waiting for the head of its org.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftItem {
    /// The complaint it answers.
    pub complaint_id: String,
    /// Its tracking number.
    pub tracking_no: String,
    /// The complaint's title.
    pub title: String,
    /// The draft's id (`approve_answer` / `return_answer` name it).
    pub draft_id: String,
    /// `resolution` or `follow_up`.
    pub kind: String,
    /// The answer as drafted.
    pub text: String,
    /// When it was drafted (Unix ms).
    pub at_ms: i64,
}

/// One resolved complaint an admin may still return as insufficient.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedItem {
    /// The complaint.
    pub complaint_id: String,
    /// Its tracking number.
    pub tracking_no: String,
    /// Its title.
    pub title: String,
    /// The org that resolved it.
    pub org: String,
    /// The resolution's text (its last public note).
    pub resolution: String,
    /// When it was resolved (Unix ms).
    pub resolved_at_ms: i64,
}

/// The drafts of `org` waiting for its head, oldest complaint due first.
pub(crate) fn drafts(tree: &Tree, org: &OrgCode) -> Result<Vec<DraftItem>, ProjectionError> {
    let mut out = Vec::new();
    for kv in tree.scan_prefix(keys::inbox_prefix(org.as_str())) {
        let (k, v) = kv?;
        let item: InboxItem = decode(&k, &v)?;
        let Some(rec) = record(tree, &item.complaint_id)? else {
            continue;
        };
        let c = &rec.complaint;
        for (draft_id, d) in c.drafts.iter().filter(|(_, d)| d.org == *org) {
            out.push(DraftItem {
                complaint_id: c.id.to_string(),
                tracking_no: c.tracking_no.to_string(),
                title: rec.title.clone(),
                draft_id: draft_id.clone(),
                kind: d.kind.as_str().to_owned(),
                text: d.text.clone(),
                at_ms: d.at_ms,
            });
        }
    }
    Ok(out)
}

/// Up to `limit` complaints resolved (not yet closed) by one of `orgs`,
/// newest received first.
pub(crate) fn resolved(
    tree: &Tree,
    orgs: &[OrgCode],
    limit: usize,
) -> Result<Vec<ResolvedItem>, ProjectionError> {
    let mut out = Vec::new();
    let range = keys::received_bound(i64::MAX)..keys::received_bound(i64::MIN + 1);
    for kv in tree.range(range) {
        if out.len() >= limit {
            break;
        }
        let (k, _) = kv?;
        let Some(rec) = keys::received_id(&k)
            .map(|id| record(tree, id))
            .transpose()?
        else {
            continue;
        };
        let Some(rec) = rec else { continue };
        let c = &rec.complaint;
        let by = c.resolved_by.as_ref().or(c.owner.as_ref());
        let Some(org) = by.filter(|o| c.status == Status::Resolved && orgs.contains(o)) else {
            continue;
        };
        let last = rec
            .timeline
            .iter()
            .rev()
            .find(|l| l.status == Status::Resolved);
        out.push(ResolvedItem {
            complaint_id: c.id.to_string(),
            tracking_no: c.tracking_no.to_string(),
            title: rec.title.clone(),
            org: org.to_string(),
            resolution: last.map(|l| l.note.clone()).unwrap_or_default(),
            resolved_at_ms: c.resolved_at_ms.unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The record of complaint `id` (its text form), if any.
fn record(tree: &Tree, id: &str) -> Result<Option<Record>, ProjectionError> {
    let Ok(id) = ComplaintId::parse(id) else {
        return Ok(None);
    };
    let key = keys::complaint(&id);
    tree.get(&key)?.map(|v| decode(&key, &v)).transpose()
}
