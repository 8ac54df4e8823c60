//! What every aduan process on a shared JetStream log must read alike,
//! kept in JetStream KV buckets: the API tokens' hashes (bucket
//! [`TOKENS_BUCKET`], one entry per token, its key the token's BLAKE3 hash
//! and its value a line of the token file's format) and the secret keys
//! (bucket [`KEYS_BUCKET`]: the reporter-token key, the export key).
//!
//! A key is created once: [`Buckets::key`] writes a fresh random key with a
//! KV *create*, which the server refuses when the entry exists, so of several
//! processes starting at once the first wins and every other reads the
//! winner's. Tokens are read through [`Buckets::watch_tokens`]: a task
//! follows the bucket (its current entries, then every change) into an
//! [`aduan_api::auth::Tokens`] table, so a token issued into the bucket works
//! in every process within moments, and a deleted one stops working.
//!
//! It does not decide who may reach the buckets: that is the NATS server's
//! authorization (`aduan deploy nats-config`). The embedded sled setup keeps
//! its files (`tokens.jsonl`, `keys/`) and does not use this crate.

use std::collections::HashMap;
use std::time::Duration;

use aduan_api::auth::{self, Role, TokenTable, Tokens};
use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::StreamExt;
use rand::RngCore;

/// The bucket of API token hashes.
pub const TOKENS_BUCKET: &str = "aduan_tokens";
/// The bucket of shared secret keys.
pub const KEYS_BUCKET: &str = "aduan_keys";
/// How long [`Buckets::key`] reads a key another process created before it
/// gives up.
const STORED_KEY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The entry of the reporter-token key in [`KEYS_BUCKET`].
pub const REPORTER_KEY: &str = "reporter";
/// The entry of the redacted-export key in [`KEYS_BUCKET`].
pub const EXPORT_KEY: &str = "export";

/// How long [`Buckets::watch_tokens`] waits for the bucket's current tokens.
const FIRST_READ: Duration = Duration::from_secs(10);

/// Why a bucket could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The bucket could neither be found nor created.
    #[error("cannot open the KV bucket {bucket}: {source}")]
    Bucket {
        /// The bucket.
        bucket: &'static str,
        /// The cause.
        source: async_nats::Error,
    },
    /// An entry could not be read or written.
    #[error("cannot use {key} in the KV bucket {bucket}: {source}")]
    Entry {
        /// The bucket.
        bucket: &'static str,
        /// The entry's key.
        key: String,
        /// The cause.
        source: async_nats::Error,
    },
    /// A stored key is not 32 bytes.
    #[error("the entry {key} in the KV bucket {KEYS_BUCKET} is not a 32-byte key")]
    BadKey {
        /// The entry's key.
        key: String,
    },
    /// The bucket's tokens could not be read in time.
    #[error("the tokens of the KV bucket {TOKENS_BUCKET} were not read within {0:?}")]
    TokensNotRead(Duration),
}

/// The two buckets, opened (created when missing) on one connection; cheap
/// to clone.
#[derive(Clone)]
pub struct Buckets {
    inner: std::sync::Arc<Stores>,
}

struct Stores {
    tokens: kv::Store,
    keys: kv::Store,
}

impl std::fmt::Debug for Buckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buckets").finish_non_exhaustive()
    }
}

impl Buckets {
    /// Opens both buckets over `client`, creating each with `replicas` copies
    /// (1, or 3 like the log on a cluster) and file storage when missing.
    pub async fn open(client: async_nats::Client, replicas: usize) -> Result<Self, SecretsError> {
        let js = jetstream::new(client);
        let stores = Stores {
            tokens: bucket(&js, TOKENS_BUCKET, replicas).await?,
            keys: bucket(&js, KEYS_BUCKET, replicas).await?,
        };
        Ok(Self {
            inner: std::sync::Arc::new(stores),
        })
    }

    /// The 32-byte key `name`, created at random when the bucket has none;
    /// of several processes creating it at once, every one gets the first's.
    pub async fn key(&self, name: &str) -> Result<[u8; 32], SecretsError> {
        let entry = |source: async_nats::Error| SecretsError::Entry {
            bucket: KEYS_BUCKET,
            key: name.to_owned(),
            source,
        };
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        let refused = match self
            .inner
            .keys
            .create(name, Bytes::copy_from_slice(&fresh))
            .await
        {
            Ok(_) => {
                tracing::info!(bucket = KEYS_BUCKET, key = name, "created a new key");
                return Ok(fresh);
            }
            Err(e) => e,
        };
        // Another process created it first. The server that answers reads
        // may not hold that entry yet (a replica of an R3 bucket): then the
        // create fails with "wrong last sequence" and finds no entry, as
        // seen in tests/tests/cluster_faults.rs on 2026-12-07. Read it again
        // for a while before giving up.
        let deadline = tokio::time::Instant::now() + STORED_KEY_WAIT;
        let stored = loop {
            let stored = self
                .inner
                .keys
                .get(name)
                .await
                .map_err(|e| entry(e.into()))?;
            match stored {
                Some(stored) => break stored,
                None if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(STORED_KEY_WAIT / 50).await;
                }
                None if refused.kind() == kv::CreateErrorKind::AlreadyExists => {
                    return Err(entry("created by another process, then deleted".into()));
                }
                None => return Err(entry(refused.into())),
            }
        };
        <[u8; 32]>::try_from(stored.as_ref()).map_err(|_| SecretsError::BadKey {
            key: name.to_owned(),
        })
    }

    /// Issues a new random token for `role` into the tokens bucket and
    /// returns it (shown once; only its hash is stored).
    pub async fn issue(&self, role: &Role) -> Result<String, SecretsError> {
        let (token, hash, line) = auth::new_line(role);
        self.inner
            .tokens
            .put(&hash, line.into())
            .await
            .map_err(|e| SecretsError::Entry {
                bucket: TOKENS_BUCKET,
                key: hash,
                source: e.into(),
            })?;
        Ok(token)
    }

    /// Revokes the token whose hash is `hash`.
    pub async fn revoke(&self, hash: &str) -> Result<(), SecretsError> {
        self.inner
            .tokens
            .delete(hash)
            .await
            .map_err(|e| SecretsError::Entry {
                bucket: TOKENS_BUCKET,
                key: hash.to_owned(),
                source: e.into(),
            })
    }

    /// The tokens of the bucket, read whole before this returns and kept
    /// current by a task that follows the bucket until the last clone of
    /// the returned [`Tokens`] is dropped.
    pub async fn watch_tokens(&self) -> Result<Tokens, SecretsError> {
        let (tokens, table) = Tokens::table();
        let (ready, read) = tokio::sync::oneshot::channel();
        tokio::spawn(follow(self.inner.tokens.clone(), table, ready));
        match tokio::time::timeout(FIRST_READ, read).await {
            Ok(Ok(())) => Ok(tokens),
            _ => Err(SecretsError::TokensNotRead(FIRST_READ)),
        }
    }
}

async fn bucket(
    js: &jetstream::Context,
    name: &'static str,
    replicas: usize,
) -> Result<kv::Store, SecretsError> {
    if let Ok(store) = js.get_key_value(name).await {
        return Ok(store);
    }
    let config = kv::Config {
        bucket: name.to_owned(),
        history: 1,
        storage: jetstream::stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    };
    match js.create_key_value(config).await {
        Ok(store) => Ok(store),
        // Another process may have created it meanwhile.
        Err(created) => js
            .get_key_value(name)
            .await
            .map_err(|_| SecretsError::Bucket {
                bucket: name,
                source: created.into(),
            }),
    }
}

/// Follows the tokens bucket into `table` until no [`Tokens`] reads it;
/// `ready` fires once the bucket's current entries are in.
async fn follow(store: kv::Store, table: TokenTable, ready: tokio::sync::oneshot::Sender<()>) {
    let mut ready = Some(ready);
    while table.is_open() {
        if let Err(e) = follow_once(&store, &table, &mut ready).await {
            tracing::warn!(bucket = TOKENS_BUCKET, error = %e, "following the tokens again in 1 s");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// One watch of the bucket: its current entries gathered into a fresh table
/// that replaces the old one whole (so a token deleted while no watch ran is
/// gone too), then every change applied as it comes.
async fn follow_once(
    store: &kv::Store,
    table: &TokenTable,
    ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<(), async_nats::Error> {
    let empty = store.status().await?.values() == 0;
    let mut watch = store.watch_with_history(">").await?;
    let mut fresh = Some(HashMap::new());
    let mut caught_up = |fresh: &mut Option<HashMap<String, Role>>| {
        table.replace_all(fresh.take().unwrap_or_default());
        if let Some(r) = ready.take() {
            let _ = r.send(());
        }
    };
    if empty {
        caught_up(&mut fresh);
    }
    while table.is_open() {
        let next = tokio::time::timeout(Duration::from_secs(1), watch.next()).await;
        let entry = match next {
            Err(_) => continue,
            Ok(None) => return Err("the watch ended".into()),
            Ok(Some(entry)) => entry?,
        };
        let put = entry.operation == kv::Operation::Put;
        match fresh.as_mut() {
            Some(map) => {
                map.remove(&entry.key);
                if put {
                    match auth::parse_line(&entry.value) {
                        Some((hash, role)) if hash == entry.key => {
                            map.insert(hash, role);
                        }
                        _ => unusable(&entry.key),
                    }
                }
                if entry.delta == 0 {
                    caught_up(&mut fresh);
                }
            }
            None if put => {
                if !table.put(&entry.key, &entry.value) {
                    unusable(&entry.key);
                }
            }
            None => table.remove(&entry.key),
        }
    }
    Ok(())
}

fn unusable(key: &str) {
    tracing::warn!(bucket = TOKENS_BUCKET, key, "unusable token entry");
}
