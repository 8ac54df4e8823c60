//! Who is calling: bearer tokens mapped to roles by a token file in the data
//! directory (`<data>/tokens.jsonl`, one JSON object per line). The file holds
//! only BLAKE3 hashes of tokens, so reading it never yields a usable token.
//! It is re-read whenever its modification time or size changes, so
//! `aduan token issue` takes effect while `aduan serve` runs. Processes on a
//! shared JetStream log read the same lines from a KV bucket instead, through
//! a [`TokenTable`] that `aduan-secrets` keeps current.
//!
//! Reporter tokens are not in this file: they belong to one complaint and are
//! checked against its `ComplaintReceived` by the command service.
//!
//! Line format: `{"hash": "<blake3 hex>", "role": "opd", "org": "kab-pati-dinkes", "name": "…"}`;
//! `role` is `opd` or `opd_head` (with `org`), `admin` or `auditor` (each
//! with a `name`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use aduan_domain::{reporter_token, OrgCode, OrgRole};
use aduan_proto::ErrorCode;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::ApiError;

/// The file name of the token file inside the data directory.
pub const TOKEN_FILE: &str = "tokens.jsonl";

/// The actor an OPD token issued without a name acts as.
pub const UNNAMED_OPERATOR: &str = "operator";

/// What a token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A work unit: acts on and reads only its own complaints.
    Opd {
        /// Its organisation.
        org: OrgCode,
        /// Who the token was issued to (may be empty).
        name: String,
    },
    /// The head of a work unit: acts on its complaints like an operator, and
    /// approves or returns its operators' draft answers (answer review).
    OpdHead {
        /// Its organisation.
        org: OrgCode,
        /// Who the token was issued to.
        name: String,
    },
    /// An administrator: rejects, re-routes and returns complaints, reads statistics.
    Admin {
        /// The admin's name, recorded as the actor of what they do.
        name: String,
    },
    /// An auditor: reads statistics and full histories.
    Auditor {
        /// The auditor's name.
        name: String,
    },
}

impl Role {
    /// The role's contract word (`opd`, `opd_head`, `admin`, `auditor`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Opd { .. } => "opd",
            Self::OpdHead { .. } => "opd_head",
            Self::Admin { .. } => "admin",
            Self::Auditor { .. } => "auditor",
        }
    }
}

/// One line of the token file.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    hash: String,
    role: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    org: String,
    #[serde(default)]
    name: String,
}

impl Line {
    fn role(&self) -> Option<Role> {
        let name = self.name.clone();
        match self.role.as_str() {
            "opd" => Some(Role::Opd {
                org: OrgCode::parse(&self.org).ok()?,
                name,
            }),
            "opd_head" => Some(Role::OpdHead {
                org: OrgCode::parse(&self.org).ok()?,
                name,
            }),
            "admin" => Some(Role::Admin { name }),
            "auditor" => Some(Role::Auditor { name }),
            _ => None,
        }
    }
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be written.
    #[error("cannot write the token file {path}: {source}")]
    Io {
        /// The token file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Tokens read from a shared table are issued into its bucket
    /// (`aduan token issue --log jetstream`), not through the reader.
    #[error("this process reads its tokens from a shared bucket; issue them there")]
    Shared,
}

/// The API tokens a process accepts: either the token file, loaded once and
/// kept in memory (clones share it), or a shared table that another task keeps
/// current (from a JetStream KV bucket, see `aduan-secrets`).
///
/// From the file, a known token is answered from memory, and the file is
/// looked at again (its mtime and size, then its text if they changed) at
/// most once per `recheck` for it, so a revoked token stops working within
/// that time; an unknown token looks at the file at once, so a token just
/// issued works at once. From a table, every answer comes from memory, as
/// current as its writer ([`TokenTable`]) keeps it.
#[derive(Debug, Clone)]
pub struct Tokens {
    inner: Arc<Inner>,
}

#[derive(Debug)]
enum Inner {
    File(FileSource),
    // A std RwLock: no .await happens while it is held.
    Table(RwLock<HashMap<String, Role>>),
}

#[derive(Debug)]
struct FileSource {
    path: PathBuf,
    recheck: Duration,
    // A std RwLock: no .await happens while it is held.
    cache: RwLock<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    stamp: Option<(SystemTime, u64)>,
    roles: HashMap<String, Role>,
    /// When the file was last looked at.
    checked: Option<Instant>,
}

impl Tokens {
    /// How long a known token is answered from memory before the file is looked at again.
    pub const RECHECK: Duration = Duration::from_secs(1);

    /// The tokens of the file at `path` (a missing file means no tokens yet).
    pub fn open(path: impl Into<PathBuf>) -> Self {
        Self::with_recheck(path, Self::RECHECK)
    }

    /// [`Tokens::open`] with another interval between looks at the file.
    pub fn with_recheck(path: impl Into<PathBuf>, recheck: Duration) -> Self {
        let inner = Inner::File(FileSource {
            path: path.into(),
            recheck,
            cache: RwLock::new(Cache::default()),
        });
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The tokens of `<data>/tokens.jsonl`.
    pub fn in_data_dir(data: &Path) -> Self {
        Self::open(data.join(TOKEN_FILE))
    }

    /// An empty shared table, and the handle that fills it.
    pub fn table() -> (Self, TokenTable) {
        let inner = Arc::new(Inner::Table(RwLock::new(HashMap::new())));
        let table = TokenTable {
            inner: Arc::downgrade(&inner),
        };
        (Self { inner }, table)
    }

    /// The role of a presented token, if the file (or table) knows it.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let hash = reporter_token::hash(token);
        match &*self.inner {
            Inner::File(file) => file.role_of(&hash),
            Inner::Table(roles) => roles
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&hash)
                .cloned(),
        }
    }

    /// Issues a new random token for `role`: appends its hash to the file and
    /// returns the token, which is shown once and never stored. A shared
    /// table is written by its owner, not here ([`TokenError::Shared`]).
    pub fn issue(&self, role: &Role) -> Result<String, TokenError> {
        match &*self.inner {
            Inner::File(file) => issue(&file.path, role),
            Inner::Table(_) => Err(TokenError::Shared),
        }
    }
}

impl FileSource {
    fn role_of(&self, hash: &str) -> Option<Role> {
        {
            let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
            let fresh = cache.checked.is_some_and(|t| t.elapsed() < self.recheck);
            if let Some(role) = cache.roles.get(hash).filter(|_| fresh) {
                return Some(role.clone());
            }
        }
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&mut cache);
        cache.roles.get(hash).cloned()
    }

    /// Re-reads the file when its mtime or size changed since the last read.
    fn refresh(&self, cache: &mut Cache) {
        cache.checked = Some(Instant::now());
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        if stamp == cache.stamp {
            return;
        }
        cache.stamp = stamp;
        cache.roles = match std::fs::read_to_string(&self.path) {
            Ok(text) => parse(&text, &self.path),
            Err(_) => HashMap::new(),
        };
    }
}

/// The writing end of a shared token table ([`Tokens::table`]). It holds
/// the table weakly: once every [`Tokens`] is gone, [`TokenTable::is_open`]
/// turns false and its writer can stop.
#[derive(Debug, Clone)]
pub struct TokenTable {
    inner: std::sync::Weak<Inner>,
}

impl TokenTable {
    /// True while some [`Tokens`] still reads the table.
    pub fn is_open(&self) -> bool {
        self.inner.strong_count() > 0
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Role>) -> R) -> Option<R> {
        let inner = self.inner.upgrade()?;
        match &*inner {
            Inner::Table(roles) => Some(f(&mut roles
                .write()
                .unwrap_or_else(PoisonError::into_inner))),
            Inner::File(_) => None,
        }
    }

    /// Accepts the token whose hash and role `line` holds (one line of the
    /// token file's format), stored under `key`; false, and nothing changed,
    /// when the line is unusable or grants another hash than its key (so
    /// that removing a key always revokes what it granted).
    pub fn put(&self, key: &str, line: &[u8]) -> bool {
        match parse_line(line) {
            Some((hash, role)) if hash == key.to_ascii_lowercase() => {
                self.with(|m| m.insert(hash, role)).is_some()
            }
            _ => false,
        }
    }

    /// Stops accepting the token with this hash.
    pub fn remove(&self, hash: &str) {
        self.with(|m| m.remove(&hash.to_ascii_lowercase()));
    }

    /// Replaces the whole table (after a full read of its source).
    pub fn replace_all(&self, roles: HashMap<String, Role>) {
        self.with(|m| *m = roles);
    }
}

/// The hash and role of one line of the token file's format, if usable.
pub fn parse_line(line: &[u8]) -> Option<(String, Role)> {
    let l = serde_json::from_slice::<Line>(line).ok()?;
    Some((l.hash.to_ascii_lowercase(), l.role()?))
}

/// A new random token for `role`: the token (shown once, never stored), its
/// hash, and the line of the token file's format that grants it.
pub fn new_line(role: &Role) -> (String, String, Vec<u8>) {
    // 32 random bytes as hex and their BLAKE3 hash: the same shape as a reporter token.
    let (token, hash) = reporter_token::generate();
    let (org, name) = match role {
        Role::Opd { org, name } | Role::OpdHead { org, name } => (org.to_string(), name.clone()),
        Role::Admin { name } | Role::Auditor { name } => (String::new(), name.clone()),
    };
    let line = Line {
        hash: hash.clone(),
        role: role.kind().into(),
        org,
        name,
    };
    // A struct of strings always serialises.
    let json = serde_json::to_vec(&line).unwrap_or_default();
    (token.as_str().to_owned(), hash, json)
}

/// An Open311 `api_key` is an API token of any role; the adapter it
/// identifies is the token's actor (`opd:<org>:<name>`, `admin:<name>`, …).
impl aduan_open311::ApiKeys for Tokens {
    fn adapter(&self, key: &str) -> Option<String> {
        self.role_of(key).map(|role| Caller::new(role).actor())
    }
}

fn parse(text: &str, path: &Path) -> HashMap<String, Role> {
    let mut roles = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw.as_bytes()) {
            Some((hash, role)) => {
                roles.insert(hash, role);
            }
            // A bad line refuses its token, not the whole file.
            None => tracing::warn!(file = %path.display(), line = n + 1, "unusable token line"),
        }
    }
    roles
}

/// Issues a new random token for `role` into the token file at `path`
/// (created if missing) and returns it.
pub fn issue(path: &Path, role: &Role) -> Result<String, TokenError> {
    let (token, _, mut text) = new_line(role);
    text.push(b'\n');
    let io = |source| TokenError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // One write of one line in append mode, so concurrent issuers do not interleave.
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(&text).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(token)
}

/// The bearer token of a request, unchecked (for reporter tokens, which the
/// command service checks against the complaint).
#[derive(Debug, Clone)]
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        bearer(parts)
            .map(|t| Self(t.to_owned()))
            .ok_or_else(|| unauthorized("missing bearer token"))
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, message)
}

/// An authenticated caller (`Authorization: Bearer <token>` found in the
/// token file): 401 `unauthorized` without a token or with an unknown one.
/// Handlers then check the scope with the `require_*` methods (403 `forbidden`).
#[derive(Debug, Clone)]
pub struct Caller {
    role: Role,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Tokens: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| unauthorized("missing bearer token"))?;
        let role = Tokens::from_ref(state)
            .role_of(token)
            .ok_or_else(|| unauthorized("unknown token"))?;
        Ok(Self { role })
    }
}

impl Caller {
    /// A caller with this role (for tests and in-process callers).
    pub fn new(role: Role) -> Self {
        Self { role }
    }

    /// The caller's role.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// The envelope actor for what this caller does: `opd:<org>:<name>`,
    /// `opd_head:<org>:<name>`, `admin:<name>` or `auditor:<name>`.
    pub fn actor(&self) -> String {
        match &self.role {
            Role::Opd { org, name } => format!("opd:{org}:{name}"),
            Role::OpdHead { org, name } => format!("opd_head:{org}:{name}"),
            Role::Admin { name } => format!("admin:{name}"),
            Role::Auditor { name } => format!("auditor:{name}"),
        }
    }

    /// Passes only an OPD or OPD-head token of `org` (403 otherwise), and
    /// says which of the two it is.
    pub fn require_org(&self, org: &OrgCode) -> Result<OrgRole, ApiError> {
        match &self.role {
            Role::Opd { org: own, .. } if own == org => Ok(OrgRole::Operator),
            Role::OpdHead { org: own, .. } if own == org => Ok(OrgRole::Head),
            _ => Err(forbidden(format!("this token may not act for {org}"))),
        }
    }

    /// Passes only an admin token and returns the admin's name.
    pub fn require_admin(&self) -> Result<&str, ApiError> {
        match &self.role {
            Role::Admin { name } => Ok(name),
            _ => Err(forbidden("an admin token is required")),
        }
    }

    /// Passes only an auditor token and returns the auditor's name.
    pub fn require_auditor(&self) -> Result<&str, ApiError> {
        match &self.role {
            Role::Auditor { name } => Ok(name),
            _ => Err(forbidden("an auditor token is required")),
        }
    }

    /// Passes an admin or an auditor token.
    pub fn require_admin_or_auditor(&self) -> Result<(), ApiError> {
        match &self.role {
            Role::Admin { .. } | Role::Auditor { .. } => Ok(()),
            Role::Opd { .. } | Role::OpdHead { .. } => {
                Err(forbidden("an admin or auditor token is required"))
            }
        }
    }
}

#[cfg(test)]
mod tests;
