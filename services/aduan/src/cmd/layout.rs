//! The data directory, in one place: what lives where, and opening it with
//! messages a person can act on.
//!
//! ```text
//! <data>/log/               the event log (sled; the only source of truth)
//! <data>/views/             what is derived from it: read models, intake's
//!                           tracking-number index, router checkpoint and deadlines
//! <data>/tokens.jsonl       hashes of API tokens (`aduan token issue`)
//! <data>/keys/reporter.key  the key reporter tokens are derived with (0600)
//! <data>/keys/export.key    the key of `audit export --redact`'s hashes (0600)
//! <data>/repairs/           what `audit repair` cut off the log, one file a repair (0600)
//! ```
//!
//! With `--log jetstream` the log is a JetStream stream, the tokens and keys
//! live in KV buckets (`aduan-secrets`), and the data directory holds only
//! `views/`: this process's own derived state, rebuilt from the log when empty.

use std::path::PathBuf;

use aduan_api::auth::Tokens;
use aduan_domain::{ComplaintId, TrackingNo};
use aduan_intake::ReporterKey;
use aduan_log::LogError;
use aduan_log_sled::{create_dir_durable, SledLog, SledOptions};
use anyhow::Context;

use super::log::Log;

/// Where each part of a data directory lives.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout of the data directory `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The event log.
    pub fn log(&self) -> PathBuf {
        self.root.join("log")
    }

    /// The derived state: read models, indexes, checkpoints.
    pub fn views(&self) -> PathBuf {
        self.root.join("views")
    }

    /// The API tokens' hashes.
    pub fn tokens(&self) -> PathBuf {
        self.root.join(aduan_api::auth::TOKEN_FILE)
    }

    /// The key reporter tokens are derived with.
    pub fn reporter_key(&self) -> PathBuf {
        self.keys().join("reporter.key")
    }

    /// The key a redacted export hashes reporter identity with.
    pub fn export_key(&self) -> PathBuf {
        self.keys().join("export.key")
    }

    /// Opens the event log, explaining a lock held by a running `aduan`.
    pub fn open_log(&self) -> anyhow::Result<SledLog> {
        self.create_dirs()?;
        SledLog::open(SledOptions::new(self.log())).map_err(|e| self.explain(e))
    }

    /// Opens the event log read-only, even when its last record is damaged
    /// (for `audit verify`, `export`, `history`, `replay` and `repair`).
    pub fn open_log_read_only(&self) -> anyhow::Result<SledLog> {
        self.create_dirs()?;
        SledLog::open_for_salvage(SledOptions::new(self.log())).map_err(|e| self.explain(e))
    }

    /// Creates the data directory and its `log/`, `views/` and `keys/` where
    /// missing, with their entries synced, so that a power loss right after the
    /// first start cannot take them (and what was acknowledged in them) away.
    pub fn create_dirs(&self) -> anyhow::Result<()> {
        for dir in [self.root.clone(), self.log(), self.views(), self.keys()] {
            create_dir_durable(&dir)
                .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        }
        Ok(())
    }

    /// The keys' directory.
    pub fn keys(&self) -> PathBuf {
        self.root.join("keys")
    }

    /// Where `audit repair` writes its record of what it cut.
    pub fn repairs(&self) -> PathBuf {
        self.root.join("repairs")
    }

    fn explain(&self, e: LogError) -> anyhow::Error {
        match e {
            LogError::Locked { path } => anyhow::anyhow!(
                "data directory {} is in use by a running aduan; stop it or pass another --data",
                path.display()
            ),
            LogError::Corrupt { position, reason } => anyhow::anyhow!(
                "the event log in {} cannot take appends: its last record (position {position}) \
                 is damaged: {reason}. `aduan audit verify` and `aduan audit export --to N` still \
                 read it; `aduan audit repair --truncate-after N` cuts what follows position N",
                self.root.display()
            ),
            e => anyhow::anyhow!("cannot open the event log in {}: {e}", self.root.display()),
        }
    }

    /// Opens the derived state.
    pub fn open_views(&self) -> anyhow::Result<aduan_kv::Db> {
        self.create_dirs()?;
        aduan_kv_redb::open(&self.views())
            .with_context(|| format!("cannot open read models in {}", self.root.display()))
    }

    /// The sled log, the derived state and the files of tokens and keys, for a service.
    pub fn open(&self) -> anyhow::Result<Stores> {
        let log = Log::Sled(self.open_log()?);
        let views = self.open_views()?;
        let secrets = Secrets::Files(self.clone());
        Ok(Stores {
            log,
            views,
            secrets,
        })
    }

    /// The derived state only, beside a shared log: `<data>/views`, created
    /// when missing (and then rebuilt from the log by the services).
    pub fn open_views_only(&self) -> anyhow::Result<aduan_kv::Db> {
        for dir in [self.root.clone(), self.views()] {
            create_dir_durable(&dir)
                .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        }
        aduan_kv_redb::open(&self.views())
            .with_context(|| format!("cannot open read models in {}", self.root.display()))
    }

    /// The complaint with tracking number `t`, from intake's index.
    pub fn complaint_of(&self, t: &TrackingNo) -> anyhow::Result<Option<ComplaintId>> {
        let index = aduan_intake::Index::new(self.open_views()?.open_tree(INTAKE_TREE)?);
        Ok(index.complaint_of(t)?)
    }
}

/// Intake's tree in the views.
pub const INTAKE_TREE: &str = "intake";

/// The opened stores of a service.
pub struct Stores {
    /// The event log.
    pub log: Log,
    /// The derived state.
    pub views: aduan_kv::Db,
    /// Where the API tokens and the keys are.
    pub secrets: Secrets,
}

impl Stores {
    /// Makes the derived state durable and closes the log.
    pub async fn close(&self) -> anyhow::Result<()> {
        self.views.flush().context("flushing read models")?;
        self.log.close().await;
        Ok(())
    }
}

/// Where the API tokens' hashes and the keys are: files of the data
/// directory (one process, the sled log), or KV buckets every process of a
/// shared log reads.
#[derive(Debug, Clone)]
pub enum Secrets {
    /// `<data>/tokens.jsonl` and `<data>/keys/`.
    Files(Layout),
    /// The buckets `aduan_tokens` and `aduan_keys`.
    Kv(aduan_secrets::Buckets),
}

impl Secrets {
    /// The reporter-token key, created on first start (by the first process).
    pub async fn reporter_key(&self) -> anyhow::Result<ReporterKey> {
        match self {
            Self::Files(layout) => Ok(ReporterKey::load_or_create(&layout.reporter_key())?),
            Self::Kv(buckets) => Ok(ReporterKey::from_bytes(
                buckets.key(aduan_secrets::REPORTER_KEY).await?,
            )),
        }
    }

    /// The API tokens, as current as their source.
    pub async fn tokens(&self) -> anyhow::Result<Tokens> {
        match self {
            Self::Files(layout) => Ok(Tokens::open(layout.tokens())),
            Self::Kv(buckets) => Ok(buckets.watch_tokens().await?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_data_directory_is_created_with_its_parts() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(tmp.path().join("new").join("data"));
        layout.create_dirs().expect("create");
        for dir in [layout.log(), layout.views(), layout.keys()] {
            assert!(dir.is_dir(), "{}", dir.display());
        }
        let log = layout.open_log().expect("open");
        log.close();
    }
}
