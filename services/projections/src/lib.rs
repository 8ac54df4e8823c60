//! aduan's read models, folded from the event log: the public status view by
//! tracking number, each OPD's inbox, the recap per organisation and day, and
//! the ranking built on it. They derive from the domain's own `Complaint`
//! (its fold over the typed events) and from the rule set in force as the log
//! records it (`RuleSetPublished` in stream `ruleset`), never from a file.
//! Each page of events and the checkpoint it reaches are written in one atomic
//! batch of an `aduan_kv` tree, so a crash never applies an event twice or
//! skips one, and a rebuild from scratch gives byte-for-byte the same models.
//! It does not decide anything, append to the log, know the storage engine,
//! or check who may ask: the HTTP and NATS edges do that.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use aduan_domain::{OrgCode, TrackingNo};
use aduan_kv::{Db, Tree};
use aduan_log::{EventLog, RecordedEvent};
use aduan_proto::v1;
use aduan_rules::RuleSet;
use tokio::sync::watch;

mod error;
mod fold;
mod keys;
pub mod nats;
mod page;
mod query;
mod record;
mod requests;
mod stats;
mod worklists;

pub use aduan_kv::Entry;
pub use error::ProjectionError;
pub use query::{rfc3339, Inbox, InboxItem, InboxPage};
pub use record::{Counts, Details, Totals};
pub use requests::{PublicRequest, RequestFilter};
pub use stats::{CategoryCount, RankEntry, Ranking, Recap, Window};
pub use worklists::{DraftItem, ResolvedItem};

/// The tree (in the views database) that holds every read model.
pub const TREE: &str = "proj.views";
/// Events read and committed together while tailing.
const PAGE: usize = 1024;
/// Events per batch while rebuilding: bigger pages, fewer commits.
const REBUILD_PAGE: usize = 8192;
/// Tracking-number keys a rebuild holds back before it writes them, in key
/// order, with a page (see [`Projections::rebuild_paged`]): about 150 MB.
const REBUILD_TRACKING_HELD: usize = 1 << 20;

/// A folded page: its batch, the checkpoint it reaches, a rule set it published.
type Folded = (aduan_kv::Batch, u64, Option<Arc<RuleSet>>);

/// A page being written by a blocking task while a rebuild folds the next.
struct Writing {
    batch: Arc<aduan_kv::Batch>,
    task: tokio::task::JoinHandle<Result<(), aduan_kv::KvError>>,
    /// The checkpoint it reaches.
    last: u64,
    /// Holds the write back until dropped (see [`Rebuild::held`]).
    gate: Option<std::sync::mpsc::Sender<()>>,
}

impl Writing {
    fn start(tree: &Tree, batch: aduan_kv::Batch, last: u64, held: bool) -> Self {
        let batch = Arc::new(batch);
        let (tree, written) = (tree.clone(), batch.clone());
        let (gate, wait) = std::sync::mpsc::channel::<()>();
        let task = tokio::task::spawn_blocking(move || {
            // Returns at once unless held: then when the gate is dropped.
            let _ = wait.recv();
            tree.apply(&written)
        });
        let gate = held.then_some(gate);
        Self {
            batch,
            task,
            last,
            gate,
        }
    }
}

/// How a rebuild pages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rebuild {
    /// Events folded per page.
    pub page: usize,
    /// Each page's write waits until the next page is folded, so every fold
    /// reads through the page being written (tests: what otherwise depends on
    /// timing happens every time).
    pub held: bool,
    /// Tracking-number keys held back before they are written.
    pub tracking_held: usize,
}

/// The rule set in force, shared by the folding loop and the queries.
type InForce = Arc<RwLock<Option<Arc<RuleSet>>>>;

/// A handle on the read models; cheap to clone.
#[derive(Clone)]
pub struct Projections {
    tree: Tree,
    rules: InForce,
    position: Arc<watch::Sender<u64>>,
    caught_up: Arc<AtomicBool>,
}

impl std::fmt::Debug for Projections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projections")
            .field("position", &*self.position.borrow())
            .finish_non_exhaustive()
    }
}

impl Projections {
    /// Opens the read models in `views` (the live database, or a separate one
    /// for an audit replay), with the rule set in force as of their checkpoint.
    /// Read models written in another format than this build's are dropped
    /// here, so the tail rebuilds them from the log.
    pub fn open(views: &Db) -> Result<Self, ProjectionError> {
        let mut tree = views.open_tree(TREE)?;
        if !in_current_format(&tree)? {
            tracing::warn!("read models in another format: dropped, to be rebuilt from the log");
            views.drop_tree(TREE)?;
            tree = views.open_tree(TREE)?;
        }
        let position = read_checkpoint(&tree)?;
        let rules = match tree.get(keys::RULES)? {
            Some(v) => {
                let source: String = page::decode(keys::RULES, &v)?;
                let rules = RuleSet::load(&source).map_err(ProjectionError::StoredRules)?;
                Some(Arc::new(rules))
            }
            None => None,
        };
        Ok(Self {
            tree,
            rules: Arc::new(RwLock::new(rules)),
            position: Arc::new(watch::channel(position).0),
            caught_up: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The last global position applied (0 before any).
    pub fn checkpoint(&self) -> u64 {
        *self.position.borrow()
    }

    /// A receiver of the checkpoint, updated after each committed page.
    pub fn position(&self) -> watch::Receiver<u64> {
        self.position.subscribe()
    }

    /// True once the models have reached the log's head since they were opened.
    pub fn is_caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Acquire)
    }

    /// How far behind `head` the models are.
    pub fn lag(&self, head: u64) -> u64 {
        head.saturating_sub(self.checkpoint())
    }

    /// Applies one page of events in order, skipping those at or before the
    /// checkpoint, and commits the changes with the new checkpoint atomically.
    /// Returns the new checkpoint.
    pub fn apply(&self, events: &[RecordedEvent]) -> Result<u64, ProjectionError> {
        let start = self.checkpoint();
        let Some((batch, last, rules)) = self.fold_page(events, start, None, None)? else {
            return Ok(start);
        };
        self.tree.apply(&batch)?;
        self.adopt(rules, last);
        self.position.send_replace(last);
        Ok(last)
    }

    /// Folds the events after `start` (only those recorded at or before
    /// `until`, when given) over the tree as it will be once `behind` is
    /// written, into one batch that ends with the checkpoint it reaches.
    /// Returns the batch, that checkpoint and the rule set published among
    /// the events, if any; `None` when no event is after `start`.
    fn fold_page(
        &self,
        events: &[RecordedEvent],
        start: u64,
        until: Option<i64>,
        behind: Option<&aduan_kv::Batch>,
    ) -> Result<Option<Folded>, ProjectionError> {
        let Some(last) = events.last().map(|e| e.position).filter(|p| *p > start) else {
            return Ok(None);
        };
        let mut page = page::Page::new(&self.tree, behind, self.rules());
        let mut totals: Totals = page.get(keys::TOTALS)?.unwrap_or_default();
        for e in events.iter().filter(|e| e.position > start) {
            if until.is_none_or(|u| e.recorded_at_ms <= u) {
                fold::apply(&mut page, &mut totals, e)?;
            }
        }
        let (batch, rules) = page.finish(last, &mut totals);
        Ok(Some((batch, last, rules)))
    }

    /// Puts a rule set published up to `position` in force for the queries
    /// and the pages after it.
    fn adopt(&self, rules: Option<Arc<RuleSet>>, position: u64) {
        if let Some(rules) = rules {
            tracing::info!(
                version = rules.version(),
                position,
                "rule set in force for the read models"
            );
            *self.rules.write().unwrap_or_else(PoisonError::into_inner) = Some(rules);
        }
    }

    /// Tails `log` from the checkpoint until `shutdown` turns true.
    pub async fn run<L: EventLog>(
        &self,
        log: &L,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), ProjectionError> {
        let mut head = log.head();
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let from = self.checkpoint() + 1;
            let events = log.read_all(from, PAGE).await?;
            if !events.is_empty() {
                self.apply(&events)?;
                continue;
            }
            self.caught_up.store(true, Ordering::Release);
            let pos = self.checkpoint();
            tokio::select! {
                r = head.wait_for(|h| *h > pos) => if r.is_err() { return Ok(()) },
                _ = shutdown.changed() => {},
            }
        }
    }

    /// Drops the read models and replays the log into them (only the events
    /// recorded at or before `until`, Unix ms, when given), with the rule sets
    /// the log records; `progress` gets (events read, head). Returns the
    /// rebuilt models.
    pub async fn rebuild<L: EventLog>(
        views: &Db,
        log: &L,
        until: Option<i64>,
        progress: impl FnMut(u64, u64),
    ) -> Result<Self, ProjectionError> {
        let how = Rebuild {
            page: REBUILD_PAGE,
            held: false,
            tracking_held: REBUILD_TRACKING_HELD,
        };
        Self::rebuild_paged(views, log, until, how, progress).await
    }

    /// [`Projections::rebuild`], `how.page` events at a time. A blocking task
    /// writes each page while the next one folds over it (reads see the page
    /// being written first), so folding and the store's writes, the two
    /// halves of a rebuild's time, run on two cores; at most one page is
    /// being written at a time, and they are written in order.
    ///
    /// Tracking numbers are random, so their keys, written as complaints
    /// arrive, land all over the tree: each commit rewrote a stored page per
    /// key, more of them as the tree grew, and a rebuild slowed with the
    /// log's size (README, "Cost as the log grows"). The fold never reads
    /// them, so a rebuild holds them back and writes them in key order,
    /// `how.tracking_held` at a time with a page and the rest at the end. The
    /// format key is written last: a rebuild cut short leaves models in no
    /// format, which the next [`Projections::open`] drops.
    pub(crate) async fn rebuild_paged<L: EventLog>(
        views: &Db,
        log: &L,
        until: Option<i64>,
        how: Rebuild,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Self, ProjectionError> {
        views.drop_tree(TREE)?;
        let this = Self::open(views)?;
        let head = *log.head().borrow();
        progress(0, head);
        let mut writing: Option<Writing> = None;
        let mut position = 0;
        let mut tracking = Vec::new();
        while position < head {
            let events = log.read_all(position + 1, how.page).await?;
            let behind = writing.as_ref().map(|w| &*w.batch);
            let Some((mut batch, last, rules)) =
                this.fold_page(&events, position, until, behind)?
            else {
                break;
            };
            this.adopt(rules, last);
            batch.changes.remove(keys::FORMAT);
            tracking.extend(keys::split_tracking(&mut batch.changes));
            if tracking.len() >= how.tracking_held {
                batch
                    .changes
                    .append(&mut page::last_writes(std::mem::take(&mut tracking)));
            }
            if let Some(w) = writing.take() {
                progress(this.written(w).await?, head);
            }
            writing = Some(Writing::start(&this.tree, batch, last, how.held));
            position = last;
        }
        if let Some(w) = writing.take() {
            progress(this.written(w).await?, head);
        }
        if position > 0 {
            let mut rest = aduan_kv::Batch {
                changes: page::last_writes(tracking),
            };
            rest.insert(keys::FORMAT, keys::FORMAT_VERSION.to_be_bytes());
            this.written(Writing::start(&this.tree, rest, position, false))
                .await?;
        }
        // Rebuilt means stored: the models, not only handed to the store.
        let flushed = views.clone();
        tokio::task::spawn_blocking(move || flushed.flush())
            .await
            .map_err(ProjectionError::Writer)??;
        this.caught_up.store(true, Ordering::Release);
        Ok(this)
    }

    /// Waits for `w` to be written; returns the checkpoint it reached.
    async fn written(&self, mut w: Writing) -> Result<u64, ProjectionError> {
        drop(w.gate.take());
        w.task.await.map_err(ProjectionError::Writer)??;
        self.position.send_replace(w.last);
        Ok(w.last)
    }

    /// The status view of a tracking number, as of `now_ms`.
    pub fn status(
        &self,
        t: &TrackingNo,
        now_ms: i64,
    ) -> Result<Option<v1::StatusView>, ProjectionError> {
        let rules = self.rules();
        Ok(query::record_of(&self.tree, t)?
            .map(|r| query::status_view(&r, rules.as_deref(), now_ms)))
    }

    /// The public view of a tracking number, with the complaint's text and
    /// place (Open311's request); None when unknown.
    pub fn public_request(&self, t: &TrackingNo) -> Result<Option<PublicRequest>, ProjectionError> {
        requests::one(&self.tree, t, self.rules().as_deref())
    }

    /// The complaints `filter` selects, newest first (Open311's `requests`).
    pub fn public_requests(
        &self,
        filter: &RequestFilter,
    ) -> Result<Vec<PublicRequest>, ProjectionError> {
        requests::list(&self.tree, filter, self.rules().as_deref())
    }

    /// One page of `org`'s open complaints, oldest due first, overdue as of `now_ms`.
    pub fn inbox(
        &self,
        org: &OrgCode,
        now_ms: i64,
        page: &InboxPage,
    ) -> Result<Inbox, ProjectionError> {
        query::inbox(&self.tree, org, now_ms, page)
    }

    /// `org`'s figures over `w`, its descendants included, open/overdue as of `now_ms`.
    pub fn recap(&self, org: &OrgCode, w: Window, now_ms: i64) -> Result<Recap, ProjectionError> {
        stats::recap(&self.tree, self.rules().as_deref(), org, w, now_ms)
    }

    /// The children of `parent` ranked by share resolved within deadline over `w`.
    pub fn ranking(
        &self,
        parent: &OrgCode,
        w: Window,
        now_ms: i64,
    ) -> Result<Ranking, ProjectionError> {
        stats::ranking(&self.tree, self.rules().as_deref(), parent, w, now_ms)
    }

    /// `org`'s figures (descendants included) per UTC day of `w`, days without any left out.
    pub fn daily(
        &self,
        org: &OrgCode,
        w: Window,
    ) -> Result<std::collections::BTreeMap<i64, Counts>, ProjectionError> {
        stats::daily(&self.tree, self.rules().as_deref(), org, w)
    }

    /// The drafts of `org` waiting for its head (answer review).
    pub fn drafts(&self, org: &OrgCode) -> Result<Vec<DraftItem>, ProjectionError> {
        worklists::drafts(&self.tree, org)
    }

    /// Up to `limit` complaints resolved by one of `orgs` and not yet closed,
    /// newest received first: what an admin may return as insufficient.
    pub fn resolved(
        &self,
        orgs: &[OrgCode],
        limit: usize,
    ) -> Result<Vec<ResolvedItem>, ProjectionError> {
        worklists::resolved(&self.tree, orgs, limit)
    }

    /// Open and overdue complaints per owning org, as of `now_ms`.
    pub fn open_per_org(
        &self,
        now_ms: i64,
    ) -> Result<std::collections::BTreeMap<String, (u64, u64)>, ProjectionError> {
        query::open_per_org(&self.tree, &self.totals()?, now_ms)
    }

    /// Figures over the whole log (events by type, routings by reason).
    pub fn totals(&self) -> Result<Totals, ProjectionError> {
        Ok(page::Page::new(&self.tree, None, None)
            .get(keys::TOTALS)?
            .unwrap_or_default())
    }

    /// The rule set in force as of the checkpoint (names and the org tree):
    /// the one published last in the log; None before any publication.
    pub fn rules(&self) -> Option<Arc<RuleSet>> {
        self.rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every key and value of the read models, in key order: for comparing a
    /// live run with a rebuild byte for byte.
    pub fn dump(&self) -> Result<Vec<Entry>, ProjectionError> {
        self.tree.iter().map(|kv| kv.map_err(Into::into)).collect()
    }
}

/// True when `tree` is empty or written in this build's format.
fn in_current_format(tree: &Tree) -> Result<bool, ProjectionError> {
    let format = tree.get(keys::FORMAT)?;
    let current = keys::FORMAT_VERSION.to_be_bytes();
    Ok(match format {
        Some(f) => f == current,
        None => tree.iter().next().is_none(),
    })
}

fn read_checkpoint(tree: &Tree) -> Result<u64, ProjectionError> {
    let Some(v) = tree.get(keys::CHECKPOINT)? else {
        return Ok(0);
    };
    let bytes: [u8; 8] = v
        .as_slice()
        .try_into()
        .map_err(|_| ProjectionError::Checkpoint { len: v.len() })?;
    Ok(u64::from_be_bytes(bytes))
}

/// Runs the read models until `shutdown`: tails `log` into `projections`
/// and, with `nats`, answers status queries by the clock given with it. The
/// HTTP API reads the same `projections` handle, which the caller keeps.
pub async fn run<L: EventLog>(
    projections: Projections,
    log: L,
    nats: Option<(aduan_bus::Edge, aduan_domain::SharedClock)>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ProjectionError> {
    let tail = projections.run(&log, shutdown.clone());
    let query = async {
        match nats {
            Some((edge, clock)) => nats::serve(
                projections.clone(),
                clock,
                edge.client,
                &edge.subjects,
                shutdown,
            )
            .await
            .map_err(ProjectionError::Nats),
            None => Ok(()),
        }
    };
    let (tailed, queried) = tokio::join!(tail, query);
    tailed.and(queried)
}

/// Drops the read models in `views` and replays `log` into them; see [`Projections::rebuild`].
pub async fn rebuild<L: EventLog>(
    log: &L,
    views: &Db,
    until: Option<i64>,
    progress: impl FnMut(u64, u64),
) -> Result<Projections, ProjectionError> {
    Projections::rebuild(views, log, until, progress).await
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod model_tests;

#[cfg(test)]
mod rules_tests;

#[cfg(test)]
mod edge_tests;

#[cfg(test)]
mod inbox_tests;

#[cfg(test)]
mod counts_tests;

#[cfg(test)]
mod review_tests;

#[cfg(test)]
mod requests_tests;

#[cfg(test)]
mod worklists_tests;
