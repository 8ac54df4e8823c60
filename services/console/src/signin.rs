//! Sign-in with a token of the token file (`aduan token issue`), sign-out.
//! The token is checked once here and kept server-side in the session; the
//! browser holds only the session id.

use aduan_api::auth::Role;
use aduan_log::EventLog;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::PageError;
use crate::layout::{self, csrf};
use crate::session::{set_cookie, AnonCsrf, Signed, LIFETIME, SESSION};
use crate::{Console, Lang};

/// `GET /masuk`.
pub(crate) async fn form(lang: Lang, headers: HeaderMap) -> Response {
    let anon = AnonCsrf::of(&headers);
    anon.set_on(page(lang, &anon.token, false).into_response())
}

fn page(lang: Lang, token: &str, failed: bool) -> Markup {
    let body = html! {
        section {
            h1 { (lang.t("signin.title")) }
            @if failed { p.error data-testid="signin-error" { (lang.t("signin.error")) } }
            form data-testid="signin-form" method="post" action="/masuk" {
                (csrf(token))
                label for="token" { (lang.t("signin.token")) }
                input id="token" name="token" type="password" data-testid="signin-token" required autocomplete="off";
                " "
                button data-testid="signin-submit" type="submit" { (lang.t("signin.submit")) }
            }
        }
    };
    layout::page(lang, lang.t("signin.title"), None, body)
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignIn {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

/// `POST /masuk`: a known token opens a session and goes to the role's first page.
pub(crate) async fn sign_in<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Result<Response, PageError> {
    if !AnonCsrf::check(&headers, &f.csrf) {
        return Err(PageError::Forbidden(lang));
    }
    let token = f.token.trim();
    let Some(role) = c.api.tokens.role_of(token) else {
        return Ok((StatusCode::UNAUTHORIZED, page(lang, &f.csrf, true)).into_response());
    };
    let id = c.sessions.open(token);
    let to = match &role {
        Role::Opd { org, .. } => format!("/opd/{org}"),
        Role::OpdHead { org, .. } => format!("/opd/{org}/drafts"),
        Role::Admin { .. } => "/admin".to_owned(),
        Role::Auditor { .. } => "/dashboard".to_owned(),
    };
    let mut resp = Redirect::to(&to).into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION, &id, LIFETIME));
    Ok(resp)
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignOut {
    #[serde(default)]
    csrf: String,
}

/// `POST /keluar`: ends the session on the server and clears the cookie.
pub(crate) async fn sign_out<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Form(f): Form<SignOut>,
) -> Result<Response, PageError> {
    if !signed.check(&f.csrf) {
        return Err(PageError::Forbidden(lang));
    }
    c.sessions.close(&signed.session);
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION, "", std::time::Duration::ZERO),
    );
    Ok(resp)
}
