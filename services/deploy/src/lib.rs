//! Deployment files generated from a rule set. Today one: the nats-server
//! authorization config (`aduan deploy nats-config`), with a user per OPD of
//! the rule set (its own durable consumer on the `ADUAN_OPD` inbox stream and
//! its own `.cmd` subject only), a user per channel adapter (submit and status
//! query only) and a user per aduan service, each receiving replies only under
//! its own inbox prefix (`_INBOX_<user>`). Passwords are random, generated
//! here; the config holds their bcrypt hashes, and the clear passwords are
//! returned once for the credentials file. The services (and only they) may
//! also use the JetStream log stream (`ADUAN_LOG` by default) and the KV
//! buckets the services share ([`KV_BUCKETS`]). It writes no files and opens
//! no connection: the `aduan` command does that.

mod permissions;
mod render;

#[cfg(test)]
mod tests;

use aduan_bus::Subjects;
use aduan_domain::Channel;
use aduan_rules::RuleSet;
use rand::distr::{Alphanumeric, SampleString};

pub use permissions::{shared_state, users, Permissions, Role, Service, User};

/// The JetStream stream holding every OPD inbox (the router's).
pub const OPD_STREAM: &str = aduan_router::JetStreamSink::STREAM;

/// The JetStream stream of the log unless told otherwise (`--log-stream`).
pub const DEFAULT_LOG_STREAM: &str = "ADUAN_LOG";

/// The JetStream KV buckets the services share: API token hashes, keys
/// (reporter-token and export keys), the router's active/standby lease.
pub const KV_BUCKETS: [&str; 3] = ["aduan_tokens", "aduan_keys", aduan_router::LEASE_BUCKET];

/// The subject the JetStream log's records are published on, as the
/// `aduan` command names it: `<subject prefix>.log.<stream>`.
pub fn log_subject(subject_prefix: &str, stream: &str) -> String {
    format!("{subject_prefix}.log.{stream}")
}

/// The bcrypt cost of the generated hashes unless told otherwise; nats-server
/// checks a hash on every connection, so higher costs slow every connect.
pub const DEFAULT_COST: u32 = 11;

/// Characters in a generated password (letters and digits, so it needs no
/// escaping in a `nats://user:password@host` URL): about 190 bits.
pub const PASSWORD_LEN: usize = 32;

/// What went wrong generating a config.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// bcrypt refused (a cost outside 4..=31).
    #[error("cannot hash a password: {0}")]
    Hash(bcrypt::BcryptError),
}

// By hand, not `#[from]`: its message is already in ours, and a source
// too would print it twice in a chain (`{:#}`).
impl From<bcrypt::BcryptError> for DeployError {
    fn from(e: bcrypt::BcryptError) -> Self {
        Self::Hash(e)
    }
}

/// The inbox prefix of `user`: its clients receive replies only on
/// `_INBOX_<user>.>` (async-nats: `ConnectOptions::custom_inbox_prefix`), so
/// a reply carrying a reporter token travels on no subject another user may
/// subscribe to.
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX_{user}")
}

/// What to generate for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The subjects, under the prefix the services use (`--subject-prefix`).
    pub subjects: Subjects,
    /// The channels that get an adapter user.
    pub channels: Vec<Channel>,
    /// bcrypt cost of the password hashes.
    pub bcrypt_cost: u32,
    /// The JetStream stream holding the log.
    pub log_stream: String,
    /// The subject its records are published on ([`log_subject`]).
    pub log_subject: String,
}

impl Options {
    /// Prefix `aduan`, an adapter for every channel `rules` knows, the
    /// default cost, the log in stream `ADUAN_LOG` on `aduan.log.ADUAN_LOG`.
    pub fn new(rules: &RuleSet) -> Self {
        Self {
            subjects: Subjects::default(),
            channels: rules.channels().to_vec(),
            bcrypt_cost: DEFAULT_COST,
            log_stream: DEFAULT_LOG_STREAM.to_owned(),
            log_subject: log_subject("aduan", DEFAULT_LOG_STREAM),
        }
    }

    /// The same options for subject prefix `prefix` and log stream `stream`
    /// (the subjects and the log's subject both follow the prefix).
    pub fn prefix_and_log(mut self, prefix: &str, stream: &str) -> Self {
        self.subjects = Subjects::new(prefix);
        self.log_stream = stream.to_owned();
        self.log_subject = log_subject(prefix, stream);
        self
    }
}

/// One user's clear password, for the credentials file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The user name.
    pub user: String,
    /// The clear password: shown once, stored nowhere else.
    pub password: String,
}

/// A generated authorization config and the clear passwords it hashes.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// The nats-server config text (an `authorization` block to include).
    pub config: String,
    /// One per user, in the config's order.
    pub credentials: Vec<Credential>,
    /// The rule set version it was generated from.
    pub version: String,
}

impl NatsConfig {
    /// The credentials file's text: `user password` per line, after a comment.
    pub fn credentials_text(&self) -> String {
        render::credentials(&self.version, &self.credentials)
    }
}

/// Generates the authorization config for `rules`: users, random passwords,
/// their bcrypt hashes in the config.
pub fn nats_config(rules: &RuleSet, opts: &Options) -> Result<NatsConfig, DeployError> {
    let users = users(rules, opts);
    let mut credentials = Vec::with_capacity(users.len());
    let mut hashes = Vec::with_capacity(users.len());
    for u in &users {
        let password = Alphanumeric.sample_string(&mut rand::rng(), PASSWORD_LEN);
        // nats-server recognises `$2a$`, `$2b$`, `$2x$`, `$2y$`; 2a is the most widely read.
        let hash = bcrypt::hash_with_result(&password, opts.bcrypt_cost)?
            .format_for_version(bcrypt::Version::TwoA);
        hashes.push(hash);
        credentials.push(Credential {
            user: u.name.clone(),
            password,
        });
    }
    Ok(NatsConfig {
        config: render::config(rules.version(), opts, &users, &hashes),
        credentials,
        version: rules.version().to_owned(),
    })
}
