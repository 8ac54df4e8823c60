//! The citizen's pages: look up a tracking number and see its public status
//! (status, the owning org's name, due date, public timeline), and submit a
//! complaint on channel `web`. They work without JavaScript. Each render of
//! the form carries a fresh `channel_ref`, so sending the same form twice is
//! a duplicate, not two complaints.

use std::collections::BTreeSet;

use aduan_domain::TrackingNo;
use aduan_log::EventLog;
use aduan_proto::v1;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::PageError;
use crate::layout::{self, csrf};
use crate::session::AnonCsrf;
use crate::{Console, Lang};

/// `GET /`: the lookup form and the complaint form.
pub(crate) async fn home<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let anon = AnonCsrf::of(&headers);
    let page = home_page(&c, lang, &anon.token, &Submission::default(), None);
    anon.set_on(page.into_response())
}

fn home_page<L: EventLog + Clone>(
    c: &Console<L>,
    lang: Lang,
    token: &str,
    filled: &Submission,
    failed: Option<String>,
) -> Markup {
    let body = html! {
        section {
            h1 { (lang.t("lookup.title")) }
            form data-testid="lookup-form" method="get" action="/lacak" {
                label for="no" { (lang.t("lookup.no")) }
                input id="no" name="no" data-testid="lookup-no" required autocomplete="off";
                " "
                button data-testid="lookup-submit" type="submit" { (lang.t("lookup.submit")) }
            }
        }
        (submit_form(c, lang, token, filled, failed))
    };
    layout::page(lang, lang.t("submit.title"), None, body)
}

fn submit_form<L: EventLog + Clone>(
    c: &Console<L>,
    lang: Lang,
    token: &str,
    f: &Submission,
    failed: Option<String>,
) -> Markup {
    let rules = c.rules();
    let regions: BTreeSet<String> = rules
        .orgs()
        .iter()
        .filter_map(|o| o.region.as_ref().map(ToString::to_string))
        .collect();
    let privacy = ["confidential", "public", "anonymous"];
    html! {
        section {
            h1 { (lang.t("submit.title")) }
            @if let Some(why) = failed {
                p.error data-testid="submit-error" { (lang.t("submit.failed")) ": " (why) }
            }
            form data-testid="submit-form" method="post" action="/lapor" {
                (csrf(token))
                input type="hidden" name="channel_ref" value=(crate::session::random_hex());
                label for="title" { (lang.t("submit.subject")) }
                input id="title" name="title" required maxlength="200" value=(f.title);
                label for="body" { (lang.t("submit.body")) }
                textarea id="body" name="body" required { (f.body) }
                label for="region_code" { (lang.t("submit.region")) }
                select id="region_code" name="region_code" {
                    @for r in &regions {
                        option value=(r) selected[*r == f.region_code] { (r) }
                    }
                }
                label for="category" { (lang.t("submit.category")) }
                select id="category" name="category" {
                    option value="" { (lang.t("submit.none")) }
                    @for cat in rules.categories() {
                        option value=(cat.name) selected[cat.name == f.category] { (cat.name) }
                    }
                }
                label for="name" { (lang.t("submit.name")) }
                input id="name" name="name" value=(f.name);
                label for="phone" { (lang.t("submit.phone")) }
                input id="phone" name="phone" value=(f.phone);
                label for="email" { (lang.t("submit.email")) }
                input id="email" name="email" type="email" value=(f.email);
                label for="privacy" { (lang.t("submit.privacy")) }
                select id="privacy" name="privacy" {
                    @for p in privacy {
                        option value=(p) selected[p == f.privacy] { (lang.t(privacy_key(p))) }
                    }
                }
                p { button data-testid="submit-submit" type="submit" { (lang.t("submit.submit")) } }
            }
        }
    }
}

fn privacy_key(p: &str) -> &'static str {
    match p {
        "public" => "privacy.public",
        "anonymous" => "privacy.anonymous",
        _ => "privacy.confidential",
    }
}

/// The complaint form's fields (all optional here; intake checks them).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Submission {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    channel_ref: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    privacy: String,
}

impl Submission {
    fn to_proto(&self) -> v1::SubmitComplaint {
        let anonymous = self.privacy == "anonymous";
        v1::SubmitComplaint {
            channel: "web".into(),
            channel_ref: self.channel_ref.trim().to_owned(),
            kind: "complaint".into(),
            title: self.title.clone(),
            body: self.body.clone(),
            category: self.category.trim().to_owned(),
            location: Some(v1::Location {
                region_code: self.region_code.trim().to_owned(),
                ..Default::default()
            }),
            // An anonymous reporter leaves nothing of themselves behind.
            reporter: (!anonymous).then(|| v1::Reporter {
                name: self.name.trim().to_owned(),
                phone: self.phone.trim().to_owned(),
                email: self.email.trim().to_owned(),
                privacy: self.privacy.clone(),
            }),
        }
    }
}

/// `POST /lapor`: submits the form through intake; shows the tracking number
/// and the reporter token once.
pub(crate) async fn submit<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    headers: HeaderMap,
    Form(f): Form<Submission>,
) -> Result<Response, PageError> {
    if !AnonCsrf::check(&headers, &f.csrf) {
        return Err(PageError::Forbidden(lang));
    }
    if f.channel_ref.trim().is_empty() {
        let page = home_page(&c, lang, &f.csrf, &f, Some("channel_ref".into()));
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let ack = match c.api.intake.submit(f.to_proto()).await {
        Ok(ack) => ack,
        Err(e) => {
            let e = aduan_api::ApiError::from(e);
            let page = home_page(&c, lang, &f.csrf, &f, Some(e.error().message));
            return Ok((e.status(), page).into_response());
        }
    };
    c.caught_up().await;
    let status_path = format!("/lacak/{}", ack.tracking_no);
    let body = html! {
        section {
            h1 { (lang.t("submitted.title")) }
            @if ack.duplicate {
                p data-testid="duplicate" { (lang.t("submitted.duplicate")) }
            }
            p { (lang.t("submitted.no")) ": " span.big data-testid="tracking-no" { (ack.tracking_no) } }
            @if !ack.reporter_token.is_empty() {
                p { (lang.t("submitted.token")) ": " code data-testid="reporter-token" { (ack.reporter_token) } }
            }
            p { a data-testid="status-link" href=(status_path) { (lang.t("submitted.status")) } }
        }
    };
    let code = if ack.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let page = layout::page(lang, lang.t("submitted.title"), None, body);
    Ok((code, page).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct Lookup {
    #[serde(default)]
    no: String,
}

/// `GET /lacak?no=…`: to the status page of that number.
pub(crate) async fn lookup(lang: Lang, Query(q): Query<Lookup>) -> Result<Redirect, PageError> {
    let t = TrackingNo::parse(q.no.trim()).map_err(|_| PageError::NotFound(lang))?;
    Ok(Redirect::to(&format!("/lacak/{t}")))
}

/// `GET /lacak/{tracking_no}`: the public status, or 404.
pub(crate) async fn status<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    Path(no): Path<String>,
) -> Result<Markup, PageError> {
    let t = TrackingNo::parse(&no).map_err(|_| PageError::NotFound(lang))?;
    let now = c.api.clock.now_ms();
    let view = c
        .api
        .projections
        .status(&t, now)
        .map_err(|e| PageError::from((lang, e)))?
        .ok_or(PageError::NotFound(lang))?;
    let body = html! {
        section {
            h1 { (lang.t("status.title")) " " span data-testid="tracking-no" { (view.tracking_no) } }
            dl {
                dt { (lang.t("status.status")) }
                dd data-testid="status" data-status=(view.status) { (lang.status(&view.status)) }
                dt { (lang.t("status.owner")) }
                dd data-testid="owner" {
                    @if view.org_name.is_empty() { (lang.t("status.none")) } @else { (view.org_name) }
                }
                dt { (lang.t("status.due")) }
                dd data-testid="due" {
                    @if view.due_at.is_empty() { (lang.t("status.none")) } @else {
                        (layout::when_text(&view.due_at))
                        @if view.overdue { " " span.overdue { (lang.t("status.overdue")) } }
                    }
                }
            }
            (timeline(lang, &view.timeline))
        }
    };
    Ok(layout::page(lang, lang.t("status.title"), None, body))
}

/// The public timeline as an ordered list.
pub(crate) fn timeline(lang: Lang, entries: &[v1::TimelineEntry]) -> Markup {
    html! {
        h2 { (lang.t("status.timeline")) }
        ol data-testid="timeline" {
            @for e in entries {
                li data-testid="timeline-entry" {
                    span.muted { (layout::when_text(&e.at)) } " — "
                    strong { (lang.status(&e.status)) }
                    @if !e.note.is_empty() { ": " (e.note) }
                }
            }
        }
    }
}
