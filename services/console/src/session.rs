//! Who is signed in: server-side sessions keyed by a random id (128 bits) in
//! an HttpOnly, SameSite=Strict cookie; the token stays on the server, and
//! its role is checked again on every request, so a token removed from the
//! token file ends its sessions at once. Each session has its own CSRF token;
//! anonymous forms (the citizen's, sign-in) use a cookie-bound one
//! (double submit). Tokens are compared in constant time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aduan_api::auth::Role;
use aduan_log::EventLog;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

use crate::Console;

/// The session cookie's name.
pub(crate) const SESSION: &str = "aduan_session";
/// The anonymous CSRF cookie's name.
pub(crate) const ANON_CSRF: &str = "aduan_csrf";
/// How long a session lives after sign-in.
pub(crate) const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The signed-in sessions of this process; clones share them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sessions {
    // A std Mutex: no .await happens while it is held.
    inner: Arc<Mutex<HashMap<String, Session>>>,
}

#[derive(Debug, Clone)]
struct Session {
    /// Kept to ask the token file again on every request; never sent out.
    token: String,
    csrf: String,
    expires: Instant,
}

impl Sessions {
    /// A new session for `token`: its id and its CSRF token.
    pub(crate) fn open(&self, token: &str) -> String {
        let id = random_hex();
        let now = Instant::now();
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, s| s.expires > now);
        map.insert(
            id.clone(),
            Session {
                token: token.to_owned(),
                csrf: random_hex(),
                expires: now + LIFETIME,
            },
        );
        id
    }

    /// Ends session `id`.
    pub(crate) fn close(&self, id: &str) {
        let mut map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(id);
    }

    /// The token and CSRF token of a live session.
    fn get(&self, id: &str) -> Option<(String, String)> {
        let map = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| (s.token.clone(), s.csrf.clone()))
    }
}

/// 128 random bits as hex.
pub(crate) fn random_hex() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal strings, compared in time that depends only on their length.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in a request's headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Duration) -> HeaderValue {
    let text = format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The anonymous CSRF token of a request: its cookie's, or a fresh one to set.
#[derive(Debug, Clone)]
pub(crate) struct AnonCsrf {
    /// The token the form carries.
    pub token: String,
    /// True when the cookie must be set with the page.
    pub fresh: bool,
}

impl AnonCsrf {
    /// The request's token, or a new one.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        match cookie(headers, ANON_CSRF).filter(|c| c.len() == 32) {
            Some(token) => Self {
                token,
                fresh: false,
            },
            None => Self {
                token: random_hex(),
                fresh: true,
            },
        }
    }

    /// True when a form's `csrf` field matches the request's cookie.
    pub(crate) fn check(headers: &HeaderMap, field: &str) -> bool {
        cookie(headers, ANON_CSRF).is_some_and(|c| same(&c, field))
    }

    /// Adds the cookie to `resp` when it is fresh.
    pub(crate) fn set_on(&self, mut resp: Response) -> Response {
        if self.fresh {
            let v = set_cookie(ANON_CSRF, &self.token, LIFETIME);
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    }
}

/// A signed-in user: the session's role (asked of the token file now), its
/// id and CSRF token. Without a live session: a redirect to the sign-in page.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    pub role: Role,
    pub session: String,
    pub csrf: String,
}

impl Signed {
    /// True when a form's `csrf` field is this session's.
    pub(crate) fn check(&self, field: &str) -> bool {
        same(&self.csrf, field)
    }

    /// What `whoami` shows: the role and its org or name.
    pub(crate) fn who(&self) -> String {
        match &self.role {
            Role::Opd { org, .. } | Role::OpdHead { org, .. } => {
                format!("{} · {org}", self.role.kind())
            }
            Role::Admin { name } | Role::Auditor { name } => {
                format!("{} · {name}", self.role.kind())
            }
        }
    }
}

impl<L: EventLog + Clone> FromRequestParts<Console<L>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, c: &Console<L>) -> Result<Self, Response> {
        let signed = cookie(&parts.headers, SESSION).and_then(|id| {
            let (token, csrf) = c.sessions.get(&id)?;
            match c.api.tokens.role_of(&token) {
                Some(role) => Some(Self {
                    role,
                    session: id,
                    csrf,
                }),
                None => {
                    // The token left the token file: so does its session.
                    c.sessions.close(&id);
                    None
                }
            }
        });
        signed.ok_or_else(|| Redirect::to("/masuk").into_response())
    }
}
