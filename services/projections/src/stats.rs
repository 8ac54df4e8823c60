//! The recap per organisation and period, and the ranking of an org's
//! children. Figures are stored per (org, UTC day) and summed at query time
//! over the org's subtree (the rule set's parent links) and the window's
//! days, so any `from`/`to` works and a rule-set change re-shapes the tree
//! without a rebuild.

use std::collections::BTreeMap;

use aduan_domain::{calendar, OrgCode};
use aduan_kv::Tree;
use aduan_rules::RuleSet;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::keys::{self, day_of};
use crate::page::decode;
use crate::query::{self, InboxPage};
use crate::record::Counts;
use crate::ProjectionError;

/// Widest window: about 2,700 years either side of 1970.
const FAR: i64 = 1_000_000;
/// How many categories the recap lists.
const TOP: usize = 5;

/// A range of UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First day (days since 1970-01-01).
    pub from_day: i64,
    /// Last day.
    pub to_day: i64,
}

impl Window {
    /// Every day.
    pub const ALL: Window = Window {
        from_day: -FAR,
        to_day: FAR,
    };

    /// Parses `from`/`to`, each a date (`2026-11-01`) or an RFC 3339 time
    /// (its UTC day); a missing end is open.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, ProjectionError> {
        let from_day = from
            .map(|s| parse_day(s, "from"))
            .transpose()?
            .unwrap_or(-FAR);
        let to_day = to.map(|s| parse_day(s, "to")).transpose()?.unwrap_or(FAR);
        if from_day > to_day {
            return Err(ProjectionError::InvalidArgument {
                field: "from",
                why: "must not be after to",
            });
        }
        Ok(Self { from_day, to_day })
    }

    fn contains(&self, day: i64) -> bool {
        (self.from_day..=self.to_day).contains(&day)
    }

    fn bound(day: i64) -> Option<String> {
        if day.abs() >= FAR {
            return None;
        }
        query::rfc3339(day * 86_400_000)
            .get(..10)
            .map(str::to_owned)
    }
}

/// Years a recap or ranking window may name: complaints are recorded from
/// 1970 on, and four-digit years keep every day's text `YYYY-MM-DD`.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

fn parse_day(s: &str, field: &'static str) -> Result<i64, ProjectionError> {
    let bad = ProjectionError::InvalidArgument {
        field,
        why: "must be a date (YYYY-MM-DD) or an RFC 3339 time",
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let t = match Date::parse(s, &fmt) {
        Ok(d) => d.midnight().assume_utc(),
        Err(_) => OffsetDateTime::parse(s, &Rfc3339).map_err(|_| bad)?,
    };
    if !YEARS.contains(&t.year()) {
        return Err(ProjectionError::InvalidArgument {
            field,
            why: "must be a date between 1970-01-01 and 9999-12-31",
        });
    }
    Ok(day_of(calendar::unix_ms(t)))
}

/// One category and how often it came in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryCount {
    pub category: String,
    pub count: u64,
}

/// An org's figures over a window, its descendants included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recap {
    pub org: String,
    pub org_name: String,
    /// First day, `YYYY-MM-DD`; null when open.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`; null when open.
    pub to: Option<String>,
    pub received: u64,
    pub routed: u64,
    pub acknowledged: u64,
    pub followed_up: u64,
    pub resolved: u64,
    /// Of the assignments made in the window, those resolved by their deadline.
    pub resolved_on_time: u64,
    pub rejected: u64,
    pub declined: u64,
    pub escalated: u64,
    /// Received in the window and still open now.
    pub open: u64,
    /// Of those, past their due date now.
    pub overdue: u64,
    /// Median time from assignment to the owner's first answer; null without answers.
    pub median_hours_to_first_response: Option<f64>,
    /// Of the answers drafted in the window (answer review), those still
    /// waiting for the head of their org now.
    pub drafts_waiting: u64,
    /// Drafts approved by the head of their org in the window.
    pub answers_approved: u64,
    /// Drafts the head of their org sent back in the window.
    pub answers_returned: u64,
    /// Resolutions an admin returned as insufficient in the window.
    pub resolutions_returned: u64,
    /// Median time from draft to approval, of approvals in the window; null without any.
    pub median_hours_draft_to_approval: Option<f64>,
    pub top_categories: Vec<CategoryCount>,
    pub channels: BTreeMap<String, u64>,
}

/// `org` and every org below it in the rule set (just `org` without one).
fn subtree(rules: Option<&RuleSet>, org: &OrgCode) -> Vec<OrgCode> {
    let mut out = vec![org.clone()];
    let Some(rules) = rules else {
        return out;
    };
    for o in rules.orgs() {
        let mut up = rules.parent_of(&o.code);
        while let Some(p) = up {
            if p == org {
                out.push(o.code.clone());
                break;
            }
            up = rules.parent_of(p);
        }
    }
    out
}

/// The recap of `org` over `w`, as of `now_ms`.
pub(crate) fn recap(
    tree: &Tree,
    rules: Option<&RuleSet>,
    org: &OrgCode,
    w: Window,
    now_ms: i64,
) -> Result<Recap, ProjectionError> {
    let mut sum = Counts::default();
    let (mut responses, mut approvals) = (Vec::new(), Vec::new());
    let (mut open, mut overdue) = (0, 0);
    for code in subtree(rules, org) {
        let o = code.as_str();
        for kv in tree.range(keys::day(o, w.from_day)..=keys::day(o, w.to_day)) {
            let (k, v) = kv?;
            sum.add(&decode::<Counts>(&k, &v)?);
        }
        read_ms(tree, keys::response_day, o, w, &mut responses)?;
        read_ms(tree, keys::approval_day, o, w, &mut approvals)?;
        for item in query::inbox(tree, &code, now_ms, &InboxPage::all())?.items {
            let received = OffsetDateTime::parse(&item.received_at, &Rfc3339)
                .map(|t| day_of(calendar::unix_ms(t)))
                .unwrap_or_default();
            if w.contains(received) {
                open += 1;
                overdue += u64::from(item.overdue);
            }
        }
    }
    Ok(Recap {
        org: org.to_string(),
        org_name: rules
            .and_then(|r| r.org(org))
            .map(|o| o.name.clone())
            .unwrap_or_default(),
        from: Window::bound(w.from_day),
        to: Window::bound(w.to_day),
        received: sum.received,
        routed: sum.routed,
        acknowledged: sum.acknowledged,
        followed_up: sum.followed_up,
        resolved: sum.resolved,
        resolved_on_time: sum.resolved_on_time,
        rejected: sum.rejected,
        declined: sum.declined,
        escalated: sum.escalated,
        open,
        overdue,
        median_hours_to_first_response: median_hours(responses),
        drafts_waiting: sum.drafts_waiting,
        answers_approved: sum.answers_approved,
        answers_returned: sum.answers_returned,
        resolutions_returned: sum.resolutions_returned,
        median_hours_draft_to_approval: median_hours(approvals),
        top_categories: top(&sum.categories),
        channels: sum.channels,
    })
}

/// Pushes the times (ms) stored under `org`'s keys of `prefix` for the
/// window's days onto `out`.
fn read_ms(
    tree: &Tree,
    prefix: fn(&str, i64) -> Vec<u8>,
    org: &str,
    w: Window,
    out: &mut Vec<i64>,
) -> Result<(), ProjectionError> {
    for kv in tree.range(prefix(org, w.from_day)..prefix(org, w.to_day + 1)) {
        let (_, v) = kv?;
        let mut b = [0u8; 8];
        b.copy_from_slice(v.get(..8).unwrap_or(&[0; 8]));
        out.push(i64::from_be_bytes(b));
    }
    Ok(())
}

fn median_hours(mut ms: Vec<i64>) -> Option<f64> {
    if ms.is_empty() {
        return None;
    }
    ms.sort_unstable();
    let n = ms.len();
    let mid = if n % 2 == 1 {
        ms[n / 2] as f64
    } else {
        (ms[n / 2 - 1] as f64 + ms[n / 2] as f64) / 2.0
    };
    Some(mid / 3_600_000.0)
}

fn top(categories: &BTreeMap<String, u64>) -> Vec<CategoryCount> {
    let mut v: Vec<_> = categories.iter().collect();
    // Most first; ties by name, so the order is the same on every rebuild.
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.into_iter()
        .take(TOP)
        .map(|(c, n)| CategoryCount {
            category: c.clone(),
            count: *n,
        })
        .collect()
}

/// One child in a ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RankEntry {
    pub rank: usize,
    pub org: String,
    pub org_name: String,
    pub routed: u64,
    pub resolved: u64,
    pub resolved_on_time: u64,
    /// `resolved_on_time / routed`; null when nothing was routed to it.
    pub share_resolved_on_time: Option<f64>,
    pub open: u64,
    pub overdue: u64,
}

/// The children of `parent`, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ranking {
    pub parent: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub entries: Vec<RankEntry>,
}

/// Ranks the children of `parent` by share resolved within deadline over `w`.
pub(crate) fn ranking(
    tree: &Tree,
    rules: Option<&RuleSet>,
    parent: &OrgCode,
    w: Window,
    now_ms: i64,
) -> Result<Ranking, ProjectionError> {
    let mut entries = Vec::new();
    let orgs = rules.map(RuleSet::orgs).unwrap_or_default();
    for child in orgs.iter().filter(|o| o.parent.as_ref() == Some(parent)) {
        let r = recap(tree, rules, &child.code, w, now_ms)?;
        entries.push(RankEntry {
            rank: 0,
            org: r.org,
            org_name: r.org_name,
            routed: r.routed,
            resolved: r.resolved,
            resolved_on_time: r.resolved_on_time,
            share_resolved_on_time: (r.routed > 0)
                .then(|| r.resolved_on_time as f64 / r.routed as f64),
            open: r.open,
            overdue: r.overdue,
        });
    }
    // Best share first, orgs with nothing routed last; then busier first, then by code.
    entries.sort_by(|a, b| {
        let share = |e: &RankEntry| e.share_resolved_on_time.unwrap_or(-1.0);
        share(b)
            .total_cmp(&share(a))
            .then(b.routed.cmp(&a.routed))
            .then(a.org.cmp(&b.org))
    });
    for (i, e) in entries.iter_mut().enumerate() {
        e.rank = i + 1;
    }
    Ok(Ranking {
        parent: parent.to_string(),
        from: Window::bound(w.from_day),
        to: Window::bound(w.to_day),
        entries,
    })
}

/// `org`'s figures (its descendants included) for each UTC day of `w` that
/// has any, in day order: the series the console's charts draw.
pub(crate) fn daily(
    tree: &Tree,
    rules: Option<&RuleSet>,
    org: &OrgCode,
    w: Window,
) -> Result<BTreeMap<i64, Counts>, ProjectionError> {
    let mut out = BTreeMap::<i64, Counts>::new();
    for code in subtree(rules, org) {
        let o = code.as_str();
        let prefix_len = keys::day(o, 0).len() - 8;
        for kv in tree.range(keys::day(o, w.from_day)..=keys::day(o, w.to_day)) {
            let (k, v) = kv?;
            let mut b = [0u8; 8];
            b.copy_from_slice(k.get(prefix_len..prefix_len + 8).unwrap_or(&[0; 8]));
            let day = (u64::from_be_bytes(b) ^ (1 << 63)) as i64;
            out.entry(day).or_default().add(&decode::<Counts>(&k, &v)?);
        }
    }
    Ok(out)
}
