//! The key layout of the `proj.views` tree. One tree holds every read model so
//! that a page of events and the checkpoint it reaches commit in one
//! `aduan_kv::Batch` (batches are atomic per tree).
//!
//! - `k` → checkpoint: last applied global position, u64 BE
//! - `v` → the format of every value here ([`FORMAT_VERSION`], u32 BE)
//! - `g` → totals over the whole log (events by type, routings by reason)
//! - `s` → the rule set in force (the last one published): its TOML source
//! - `c` ‖ complaint id → the complaint's record
//! - `t` ‖ tracking no → complaint id
//! - `i` ‖ org ‖ 0 ‖ due (sortable) ‖ complaint id → inbox item (open, owned)
//! - `d` ‖ org ‖ 0 ‖ day (sortable) → that org's counts for that UTC day
//! - `r` ‖ org ‖ 0 ‖ day ‖ complaint id ‖ 0 ‖ assignment → ms to first response
//! - `a` ‖ org ‖ 0 ‖ day ‖ complaint id ‖ 0 ‖ draft id → ms from draft to approval
//! - `p` ‖ complaint id → its public text and place ([`crate::Details`])
//! - `o` ‖ −received (sortable) ‖ complaint id → nothing: complaints newest first
//!
//! Org codes never contain a 0 byte, so `org ‖ 0` is a prefix of no other org.

use std::collections::BTreeMap;

use aduan_domain::ComplaintId;

/// Changes to the tree, as in an `aduan_kv::Batch`.
pub type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The checkpoint key.
pub const CHECKPOINT: &[u8] = b"k";
/// The key of the values' format.
pub const FORMAT: &[u8] = b"v";
/// The values' format: 7 counts reporters' ratings per org and day; 6 keeps answer review (a complaint's drafts, day
/// counts of drafts and returns, draft-to-approval times) and, for Open311, each
/// complaint's text and place, the newest-first index and the record's last change;
/// 5 had one or the other; 4 was postcard with open complaints per org in the
/// totals; 3 had day counts bounded by the rule set (unknown channels and
/// categories as `lainnya`); 2 was postcard counting every name; 1,
/// unmarked, was JSON. Read models in any other format are dropped at open
/// and rebuilt from the log.
pub const FORMAT_VERSION: u32 = 7;
/// The totals key.
pub const TOTALS: &[u8] = b"g";
/// The key of the rule set in force.
pub const RULES: &[u8] = b"s";

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Signed integers in an order-preserving big-endian form.
pub fn sortable(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

/// The UTC day (days since 1970-01-01) of a Unix-ms instant.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

fn key(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(64);
    k.push(tag);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// A complaint's record.
pub fn complaint(id: &ComplaintId) -> Vec<u8> {
    key(b'c', &[id.to_string().as_bytes()])
}

/// A tracking number's complaint id.
pub fn tracking(t: &str) -> Vec<u8> {
    key(b't', &[t.as_bytes()])
}

/// Moves every [`tracking`] key out of `changes` and returns them.
pub fn split_tracking(changes: &mut Changes) -> Changes {
    let mut tracking = changes.split_off(b"t".as_slice());
    let mut after = tracking.split_off(b"u".as_slice());
    changes.append(&mut after);
    tracking
}

/// Every inbox item of `org`.
pub fn inbox_prefix(org: &str) -> Vec<u8> {
    key(b'i', &[org.as_bytes(), &[0]])
}

/// The org of an inbox key.
pub fn inbox_org(key: &[u8]) -> Option<&str> {
    let rest = key.strip_prefix(b"i")?;
    let nul = rest.iter().position(|b| *b == 0)?;
    std::str::from_utf8(&rest[..nul]).ok()
}

/// The inbox keys of `org` due before `ms`: its overdue items at `ms`.
pub fn inbox_due_before(org: &str, ms: i64) -> std::ops::Range<Vec<u8>> {
    let start = inbox_prefix(org);
    let mut end = start.clone();
    end.extend_from_slice(&sortable(ms));
    start..end
}

/// One inbox item.
pub fn inbox(org: &str, due_ms: i64, id: &ComplaintId) -> Vec<u8> {
    let mut k = inbox_prefix(org);
    k.extend_from_slice(&sortable(due_ms));
    k.extend_from_slice(id.to_string().as_bytes());
    k
}

/// The counts of `org` on `day`.
pub fn day(org: &str, day: i64) -> Vec<u8> {
    key(b'd', &[org.as_bytes(), &[0], &sortable(day)])
}

/// First-response times of `org` for assignments made on `day`.
pub fn response_day(org: &str, day: i64) -> Vec<u8> {
    key(b'r', &[org.as_bytes(), &[0], &sortable(day)])
}

/// One first-response time.
pub fn response(org: &str, day: i64, id: &ComplaintId, assignment: u32) -> Vec<u8> {
    let mut k = response_day(org, day);
    k.extend_from_slice(id.to_string().as_bytes());
    k.push(0);
    k.extend_from_slice(&assignment.to_be_bytes());
    k
}

/// Draft-to-approval times of `org` for approvals made on `day`.
pub fn approval_day(org: &str, day: i64) -> Vec<u8> {
    key(b'a', &[org.as_bytes(), &[0], &sortable(day)])
}

/// One draft-to-approval time.
pub fn approval(org: &str, day: i64, id: &ComplaintId, draft_id: &str) -> Vec<u8> {
    let mut k = approval_day(org, day);
    k.extend_from_slice(id.to_string().as_bytes());
    k.push(0);
    k.extend_from_slice(draft_id.as_bytes());
    k
}

/// A complaint's public text and place.
pub fn details(id: &ComplaintId) -> Vec<u8> {
    key(b'p', &[id.to_string().as_bytes()])
}

/// A complaint in the newest-first index.
pub fn received(received_ms: i64, id: &ComplaintId) -> Vec<u8> {
    let mut k = received_bound(received_ms);
    k.extend_from_slice(id.to_string().as_bytes());
    k
}

/// The index key before every complaint received at `ms`: the index from
/// `received_bound(to)` to `received_bound(from - 1)` holds those received
/// in `from..=to`, newest first.
pub fn received_bound(ms: i64) -> Vec<u8> {
    key(b'o', &[&sortable(ms.saturating_neg())])
}

/// The complaint id of an index key.
pub fn received_id(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.get(9..)?).ok()
}
