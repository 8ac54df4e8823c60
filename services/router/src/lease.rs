//! The router's lease: which one of several router processes is active,
//! elected through a JetStream key-value bucket (`aduan_router_lease`, key
//! `active`). The value names the holder and when its lease expires (Unix
//! milliseconds by the holder's clock). A candidate takes the key with
//! `create` when it is absent, or with `update` on the revision it read when
//! the lease there has expired; the holder renews with `update` on its own
//! last revision. Every write is a compare-and-set on the key's revision, so
//! of two candidates racing only one wins.
//!
//! The holder counts its lease as valid until the expiry it wrote, computed
//! before the write was sent, so it stops acting no later than a standby
//! (judging the same expiry by its own clock) may take over. It stops at once
//! when a renewal fails. Clocks that disagree by more than the margin between
//! renewals could let two routers both believe they are active for a moment;
//! the lease keeps them from working twice, and the fence on the OPD stream
//! (see the crate docs) keeps them from publishing twice.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aduan_domain::SharedClock;
use async_nats::jetstream::{self, kv};
use tokio::sync::{watch, Mutex};

use crate::RouterError;

/// The key-value bucket of the router lease (its stream is `KV_<bucket>`).
pub const LEASE_BUCKET: &str = "aduan_router_lease";

/// How the lease is kept.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// The key-value bucket (created when missing).
    pub bucket: String,
    /// The key holding the lease.
    pub key: String,
    /// This candidate's name, unique per process.
    pub holder: String,
    /// How long a lease lasts without renewal; it is renewed at a third of it.
    pub ttl: Duration,
    /// Replicas of the bucket's stream (1, or 3 on a three-node cluster).
    pub replicas: usize,
    /// The clock expiries are written and judged by.
    pub clock: SharedClock,
}

impl LeaseConfig {
    /// Bucket `aduan_router_lease`, key `active`, a 6 s lease, one replica.
    pub fn new(holder: impl Into<String>, clock: SharedClock) -> Self {
        Self {
            bucket: LEASE_BUCKET.to_owned(),
            key: "active".to_owned(),
            holder: holder.into(),
            ttl: Duration::from_secs(6),
            replicas: 1,
            clock,
        }
    }
}

/// A candidate for the router's lease; clones share it.
#[derive(Clone)]
pub struct Lease {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("holder", &self.inner.config.holder)
            .field("held", &self.is_held())
            .finish()
    }
}

struct Inner {
    kv: kv::Store,
    config: LeaseConfig,
    /// The revision of the key this candidate last wrote, while it holds it.
    /// A Tokio mutex: it is held across the compare-and-set, so renewals
    /// and re-checks never race each other on the same revision.
    revision: Mutex<Option<u64>>,
    /// Until when (Unix ms) the lease is held; 0 when it is not.
    valid_until: AtomicI64,
    active: watch::Sender<bool>,
}

/// The holder and expiry as stored in the key.
struct Value {
    expires_ms: i64,
    holder: String,
}

impl Value {
    fn encode(&self) -> bytes::Bytes {
        format!("{} {}", self.expires_ms, self.holder).into()
    }

    fn decode(raw: &[u8]) -> Option<Self> {
        let (ms, holder) = std::str::from_utf8(raw).ok()?.split_once(' ')?;
        Some(Self {
            expires_ms: ms.parse().ok()?,
            holder: holder.to_owned(),
        })
    }
}

fn failed(e: &dyn std::fmt::Display) -> RouterError {
    RouterError::Lease(e.to_string())
}

impl Lease {
    /// Opens the lease's bucket, creating it when missing.
    pub async fn open(js: &jetstream::Context, config: LeaseConfig) -> Result<Self, RouterError> {
        let kv = match js.get_key_value(&config.bucket).await {
            Ok(kv) => kv,
            Err(_) => {
                // The bucket's stream as async-nats's `create_key_value`
                // makes it, made directly: that call first asks for the
                // account's info, whose answer from nats-server 2.9 this
                // async-nats does not parse.
                let stream = jetstream::stream::Config {
                    name: format!("KV_{}", config.bucket),
                    subjects: vec![format!("$KV.{}.>", config.bucket)],
                    max_messages_per_subject: 1,
                    storage: jetstream::stream::StorageType::File,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    discard: jetstream::stream::DiscardPolicy::New,
                    num_replicas: config.replicas,
                    ..Default::default()
                };
                js.get_or_create_stream(stream)
                    .await
                    .map_err(|e| failed(&e))?;
                js.get_key_value(&config.bucket)
                    .await
                    .map_err(|e| failed(&e))?
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                kv,
                config,
                revision: Mutex::new(None),
                valid_until: AtomicI64::new(0),
                active: watch::channel(false).0,
            }),
        })
    }

    /// This candidate's name.
    pub fn holder(&self) -> &str {
        &self.inner.config.holder
    }

    /// Whether this candidate holds the lease now, by its clock: asked before
    /// every batch of publishes.
    pub fn is_held(&self) -> bool {
        self.inner.config.clock.now_ms() < self.inner.valid_until.load(Ordering::SeqCst)
    }

    /// Turns true while this candidate holds the lease.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.inner.active.subscribe()
    }

    /// Takes the lease when it is free or expired; false when another holds
    /// a live one or won the race for it.
    pub async fn try_acquire(&self) -> Result<bool, RouterError> {
        let cfg = &self.inner.config;
        let mut revision = self.inner.revision.lock().await;
        let now = cfg.clock.now_ms();
        let value = Value {
            expires_ms: now + cfg.ttl.as_millis() as i64,
            holder: cfg.holder.clone(),
        };
        let entry = self
            .inner
            .kv
            .entry(cfg.key.as_str())
            .await
            .map_err(|e| failed(&e))?;
        let written = match entry {
            Some(e) if e.operation == kv::Operation::Put => {
                let current = Value::decode(&e.value);
                let live = current
                    .as_ref()
                    .is_some_and(|v| v.expires_ms > now && v.holder != cfg.holder);
                if live {
                    return Ok(false);
                }
                self.inner
                    .kv
                    .update(cfg.key.as_str(), value.encode(), e.revision)
                    .await
                    .map_err(|e| e.kind() == kv::UpdateErrorKind::WrongLastRevision)
            }
            // Absent, deleted (a holder that resigned) or purged.
            _ => self
                .inner
                .kv
                .create(cfg.key.as_str(), value.encode())
                .await
                .map_err(|e| e.kind() == kv::CreateErrorKind::AlreadyExists),
        };
        match written {
            Ok(rev) => {
                *revision = Some(rev);
                self.hold_until(value.expires_ms);
                tracing::info!(holder = %cfg.holder, revision = rev, "router lease taken");
                Ok(true)
            }
            Err(true) => Ok(false),
            Err(false) => Err(RouterError::Lease("writing the lease failed".into())),
        }
    }

    /// Extends the lease by a TTL; false (and no longer held) when the
    /// lease has expired by this candidate's clock or the write failed.
    pub async fn renew(&self) -> Result<bool, RouterError> {
        let cfg = &self.inner.config;
        let mut revision = self.inner.revision.lock().await;
        let Some(rev) = *revision else {
            return Ok(false);
        };
        if !self.is_held() {
            *revision = None;
            self.lose("expired before it was renewed");
            return Ok(false);
        }
        let now = cfg.clock.now_ms();
        let value = Value {
            expires_ms: now + cfg.ttl.as_millis() as i64,
            holder: cfg.holder.clone(),
        };
        match self
            .inner
            .kv
            .update(cfg.key.as_str(), value.encode(), rev)
            .await
        {
            Ok(next) => {
                *revision = Some(next);
                self.hold_until(value.expires_ms);
                Ok(true)
            }
            Err(e) => {
                *revision = None;
                self.lose(&e.to_string());
                Ok(false)
            }
        }
    }

    /// Gives the lease up (deletes the key if this candidate still holds
    /// it), so a standby need not wait for it to expire.
    pub async fn resign(&self) {
        let mut revision = self.inner.revision.lock().await;
        if let Some(rev) = revision.take() {
            self.inner.valid_until.store(0, Ordering::SeqCst);
            self.inner.active.send_replace(false);
            tracing::info!(holder = %self.inner.config.holder, "router lease given up");
            let key = self.inner.config.key.as_str();
            if let Err(e) = self.inner.kv.delete_expect_revision(key, Some(rev)).await {
                tracing::warn!(error = %e, "giving up the router lease failed; it will expire");
            }
        }
    }

    /// Keeps trying to take the lease, and renews it while held, every
    /// third of its TTL, until `stop` turns true; then resigns.
    pub async fn campaign(self, mut stop: watch::Receiver<bool>) {
        let every = self.inner.config.ttl / 3;
        loop {
            let result = if self.inner.revision.lock().await.is_some() {
                self.renew().await
            } else {
                self.try_acquire().await
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "router lease");
                if self.is_held() {
                    // An error is no renewal: stop acting now.
                    *self.inner.revision.lock().await = None;
                    self.lose("renewal failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|v| *v) => break,
            }
        }
        self.resign().await;
    }

    fn hold_until(&self, until_ms: i64) {
        self.inner.valid_until.store(until_ms, Ordering::SeqCst);
        self.inner
            .active
            .send_if_modified(|a| !std::mem::replace(a, true));
    }

    /// Stops acting at once.
    pub(crate) fn lose(&self, why: &str) {
        self.inner.valid_until.store(0, Ordering::SeqCst);
        if self
            .inner
            .active
            .send_if_modified(|a| std::mem::replace(a, false))
        {
            tracing::warn!(holder = %self.inner.config.holder, why, "router lease lost");
        }
    }
}
