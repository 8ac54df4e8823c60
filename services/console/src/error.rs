//! What a page answers when it cannot show what was asked: a page of its
//! own with the status that fits (403 `forbidden`, 404 `not-found`, or the
//! service's error), never a detail of what it would have shown.

use aduan_api::ApiError;
use aduan_commands::CommandError;
use aduan_complaints::StoreError;
use aduan_intake::IntakeError;
use aduan_projections::ProjectionError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::layout;
use crate::Lang;

/// Why a page is not shown.
#[derive(Debug)]
pub(crate) enum PageError {
    /// The signed-in user may not see it (or a form came without its CSRF token).
    Forbidden(Lang),
    /// Nothing by that name.
    NotFound(Lang),
    /// A service refused or failed.
    Service(Lang, ApiError),
}

impl PageError {
    /// A service error, in `lang`.
    pub(crate) fn service(lang: Lang, e: impl Into<ApiError>) -> Self {
        Self::Service(lang, e.into())
    }

    /// A complaint store error, in `lang`.
    pub(crate) fn store(lang: Lang, e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => Self::NotFound(lang),
            e => Self::Service(lang, ApiError::unavailable(&e)),
        }
    }
}

impl From<(Lang, ProjectionError)> for PageError {
    fn from((lang, e): (Lang, ProjectionError)) -> Self {
        Self::service(lang, e)
    }
}

impl From<(Lang, CommandError)> for PageError {
    fn from((lang, e): (Lang, CommandError)) -> Self {
        Self::service(lang, e)
    }
}

impl From<(Lang, IntakeError)> for PageError {
    fn from((lang, e): (Lang, IntakeError)) -> Self {
        Self::service(lang, e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, lang, testid, title, text) = match &self {
            Self::Forbidden(l) => (
                StatusCode::FORBIDDEN,
                *l,
                "forbidden",
                l.t("forbidden.title"),
                l.t("forbidden.text").to_owned(),
            ),
            Self::NotFound(l) => (
                StatusCode::NOT_FOUND,
                *l,
                "not-found",
                l.t("notfound.title"),
                l.t("notfound.text").to_owned(),
            ),
            Self::Service(l, e) => (
                e.status(),
                *l,
                "error",
                l.t("error.title"),
                e.error().message,
            ),
        };
        let body = html! {
            section data-testid=(testid) {
                h1 { (title) }
                p { (text) }
                p { a href="/" { (lang.t("app")) } }
            }
        };
        (status, layout::page(lang, title, None, body)).into_response()
    }
}
