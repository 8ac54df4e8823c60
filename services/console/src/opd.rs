//! The OPD operator's pages: the inbox (oldest due first, overdue marked,
//! paged) and one complaint with a form per action. Only a session of that
//! org (operator or head) sees them; any other gets 403 and nothing of the
//! complaint. A reporter is shown only when they chose `public`.

use aduan_api::auth::Role;
use aduan_domain::{ComplaintEvent, ComplaintId, OrgCode, OrgRole, Privacy};
use aduan_log::EventLog;
use aduan_projections::InboxPage;
use aduan_proto::v1;
use aduan_proto::v1::opd_command::{self as oc, Action};
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::PageError;
use crate::layout::{self, csrf};
use crate::session::Signed;
use crate::{Console, Lang};

mod drafts;
pub(crate) use drafts::{decide_draft, drafts};

/// Items on one inbox page.
pub(crate) const PAGE: usize = 20;

/// The org of the path, if the signed-in user acts for it (operator or head).
pub(crate) fn own_org(
    lang: Lang,
    signed: &Signed,
    org: &str,
) -> Result<(OrgCode, OrgRole), PageError> {
    let org = OrgCode::parse(org).map_err(|_| PageError::Forbidden(lang))?;
    match &signed.role {
        Role::Opd { org: own, .. } if *own == org => Ok((org, OrgRole::Operator)),
        Role::OpdHead { org: own, .. } if *own == org => Ok((org, OrgRole::Head)),
        _ => Err(PageError::Forbidden(lang)),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Paging {
    /// The cursor of this page (none: the first).
    after: Option<String>,
    /// The cursors of the pages before, comma-separated (`-` for the first).
    trail: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// `GET /opd/{org}?after=&trail=`: one page of the inbox.
pub(crate) async fn inbox<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Path(org): Path<String>,
    Query(q): Query<Paging>,
) -> Result<Markup, PageError> {
    let (org, role) = own_org(lang, &signed, &org)?;
    let after = q.after.as_deref().filter(|a| !a.is_empty() && *a != "-");
    let limit = PAGE.to_string();
    let page = InboxPage::parse(Some(&limit), after).map_err(|e| PageError::from((lang, e)))?;
    let now = c.api.clock.now_ms();
    let inbox = c
        .api
        .projections
        .inbox(&org, now, &page)
        .map_err(|e| PageError::from((lang, e)))?;
    let trail: Vec<&str> = q
        .trail
        .as_deref()
        .map(|t| t.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let here = after.unwrap_or("-");
    let next = inbox.next.as_ref().map(|n| {
        let mut t = trail.clone();
        t.push(here);
        format!("/opd/{org}?after={n}&trail={}", t.join(","))
    });
    let prev = trail
        .split_last()
        .map(|(last, rest)| format!("/opd/{org}?after={last}&trail={}", rest.join(",")));
    let name = c
        .rules()
        .org(&org)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let body = html! {
        (flash(lang, &q.flash))
        section {
            h1 { (lang.t("inbox.title")) " — " (name) }
            p.muted {
                span data-testid="inbox-count-open" { (inbox.open) } " " (lang.t("inbox.open")) ", "
                span.overdue data-testid="inbox-count-overdue" { (inbox.overdue) } " " (lang.t("inbox.overdue"))
                @if role == OrgRole::Head {
                    " · " a data-testid="drafts-link" href={ "/opd/" (org) "/drafts" } { (lang.t("inbox.drafts")) }
                }
            }
            @if inbox.items.is_empty() { p data-testid="inbox-empty" { (lang.t("inbox.empty")) } }
            table data-testid="inbox" {
                thead { tr {
                    th { (lang.t("col.tracking")) } th { (lang.t("col.title")) } th { (lang.t("col.status")) }
                    th { (lang.t("col.category")) } th { (lang.t("col.due")) }
                } }
                tbody {
                    @for item in &inbox.items {
                        tr data-testid="inbox-row" data-complaint-id=(item.complaint_id) data-overdue=(item.overdue) {
                            td { (item.tracking_no) }
                            td { a data-testid="inbox-open" href={ "/opd/" (org) "/complaints/" (item.complaint_id) } { (item.title) } }
                            td { (lang.status(&item.status)) }
                            td { (item.category) }
                            td {
                                (layout::when_text(&item.due_at))
                                @if item.overdue { " " span.overdue { (lang.t("status.overdue")) } }
                            }
                        }
                    }
                }
            }
            div.paging {
                @if let Some(p) = prev { a data-testid="page-prev" href=(p) { (lang.t("inbox.prev")) } }
                @if let Some(n) = next { a data-testid="page-next" href=(n) { (lang.t("inbox.next")) } }
            }
        }
    };
    Ok(layout::page(
        lang,
        lang.t("inbox.title"),
        Some(&signed),
        body,
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Flash {
    done: Option<String>,
    draft: Option<String>,
    failed: Option<String>,
}

/// The flash line a redirect after a form asks for.
pub(crate) fn flash(lang: Lang, f: &Flash) -> Markup {
    html! {
        @if let Some(why) = &f.failed {
            section.flash.failed data-testid="flash" { (lang.t("flash.failed")) ": " (why) }
        } @else if f.draft.is_some() {
            section.flash data-testid="flash" data-draft="true" { (lang.t("flash.draft")) }
        } @else if let Some(done) = &f.done {
            section.flash data-testid="flash" data-done=(done) { (lang.t("flash.done")) }
        }
    }
}

/// `GET /opd/{org}/complaints/{complaint_id}`: the complaint as its owner sees it.
pub(crate) async fn detail<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Path((org, id)): Path<(String, String)>,
    Query(f): Query<Flash>,
) -> Result<Markup, PageError> {
    let (org, _) = own_org(lang, &signed, &org)?;
    let id = ComplaintId::parse(&id).map_err(|_| PageError::NotFound(lang))?;
    let loaded = c
        .api
        .commands
        .store()
        .load(&id)
        .await
        .map_err(|e| PageError::store(lang, e))?;
    let complaint = &loaded.complaint;
    // Another org's complaint: refused before anything of it is read out.
    if complaint.owner.as_ref() != Some(&org) {
        return Err(PageError::Forbidden(lang));
    }
    let Some(ComplaintEvent::Received(received)) = loaded.events.first() else {
        return Err(PageError::NotFound(lang));
    };
    let now = c.api.clock.now_ms();
    let timeline = c
        .api
        .projections
        .status(&complaint.tracking_no, now)
        .map_err(|e| PageError::from((lang, e)))?
        .map(|v| v.timeline)
        .unwrap_or_default();
    let reporter = received
        .reporter
        .as_ref()
        .filter(|_| complaint.privacy == Privacy::Public);
    let due = complaint.deadlines.map(|d| d.resolve_ms);
    let body = html! {
        (flash(lang, &f))
        section {
            h1 data-testid="complaint-title" { (received.title) }
            p { (lang.t("col.tracking")) ": " span data-testid="tracking-no" { (complaint.tracking_no) }
                " · " (lang.t("col.status")) ": "
                span data-testid="status" data-status=(complaint.status.to_string()) { (lang.status(&complaint.status.to_string())) }
                @if let Some(d) = due { " · " (lang.t("col.due")) ": " span data-testid="due" { (layout::when(d)) } }
            }
            h2 { (lang.t("detail.body")) }
            p data-testid="complaint-body" { (received.body) }
            h2 { (lang.t("detail.reporter")) }
            @if let Some(r) = reporter {
                p data-testid="reporter" { (identity(r)) }
            } @else {
                p.muted { (lang.t("detail.hidden")) }
            }
            (crate::citizen::timeline(lang, &timeline))
        }
        (action_forms(&c, lang, &signed, &org, &id))
    };
    Ok(layout::page(lang, &received.title, Some(&signed), body))
}

/// A reporter's name, phone and email, the empty ones left out.
fn identity(r: &v1::Reporter) -> String {
    let parts = [r.name.trim(), r.phone.trim(), r.email.trim()];
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

fn action_forms<L: EventLog + Clone>(
    c: &Console<L>,
    lang: Lang,
    signed: &Signed,
    org: &OrgCode,
    id: &ComplaintId,
) -> Markup {
    let base = format!("/opd/{org}/complaints/{id}");
    let rules = c.rules();
    let form = |name: &'static str, label: &'static str, fields: Markup| {
        html! {
            form data-testid={ "action-" (name) } method="post" action={ (base) "/" (name) } {
                (csrf(&signed.csrf))
                (fields)
                button data-testid={ "action-" (name) "-submit" } type="submit" { (lang.t(label)) }
            }
        }
    };
    let note = html! {
        label { (lang.t("action.note")) }
        textarea name="note" {}
    };
    html! {
        section.actions {
            (form("acknowledge", "action.acknowledge", html! {}))
            (form("follow_up", "action.follow_up", html! {
                (note)
                label { (lang.t("action.visibility")) }
                select name="visibility" {
                    option value="public" { (lang.t("visibility.public")) }
                    option value="internal" { (lang.t("visibility.internal")) }
                }
            }))
            (form("ask_reporter", "action.ask_reporter", note.clone()))
            (form("resolve", "action.resolve", note.clone()))
            (form("not_our_authority", "action.not_our_authority", html! {
                (note)
                label { (lang.t("action.suggested")) }
                select name="suggested_org" {
                    option value="" { "—" }
                    @for o in rules.orgs().iter().filter(|o| o.code != *org) {
                        option value=(o.code) { (o.name) }
                    }
                }
            }))
        }
    }
}

/// The fields of an action form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    suggested_org: String,
}

impl ActionForm {
    fn text(&self) -> String {
        if self.note.trim().is_empty() {
            self.text.clone()
        } else {
            self.note.clone()
        }
    }

    fn action(&self, name: &str) -> Option<Action> {
        Some(match name {
            "acknowledge" => Action::Acknowledge(oc::Acknowledge {}),
            "follow_up" => Action::FollowUp(oc::FollowUp {
                message: self.text(),
                public: self.visibility != "internal",
            }),
            "ask_reporter" => Action::RequestInfo(oc::RequestInfo {
                question: self.text(),
            }),
            "resolve" => Action::Resolve(oc::Resolve {
                resolution: self.text(),
            }),
            "not_our_authority" => Action::Reject(oc::Reject {
                reason: self.text(),
                suggested_org: self.suggested_org.trim().to_owned(),
            }),
            _ => return None,
        })
    }
}

/// `POST /opd/{org}/complaints/{complaint_id}/{action}`: the action as a
/// command of the signed-in user, then back to the complaint with a flash.
pub(crate) async fn act<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Path((org, id, name)): Path<(String, String, String)>,
    Form(f): Form<ActionForm>,
) -> Result<Response, PageError> {
    if !signed.check(&f.csrf) {
        return Err(PageError::Forbidden(lang));
    }
    let (org, role) = own_org(lang, &signed, &org)?;
    let cid = ComplaintId::parse(&id).map_err(|_| PageError::NotFound(lang))?;
    let action = f.action(&name).ok_or(PageError::NotFound(lang))?;
    let drafted = role == OrgRole::Operator
        && matches!(
            &action,
            Action::Resolve(_) | Action::FollowUp(oc::FollowUp { public: true, .. })
        )
        && c.rules().reviews_answers(&org);
    let cmd = v1::OpdCommand {
        complaint_id: cid.to_string(),
        actor: actor_of(&signed.role),
        action: Some(action),
    };
    let back = format!("/opd/{org}/complaints/{cid}");
    let to = match c.api.commands.opd_as(&org, role, cmd).await {
        // Declined, it is no longer this org's to open: back to the inbox.
        Ok(_) if name == "not_our_authority" => format!("/opd/{org}?done={name}"),
        Ok(_) if drafted => format!("{back}?draft=1"),
        Ok(_) => format!("{back}?done={name}"),
        Err(e) => format!("{back}?{}", failed(e)),
    };
    c.caught_up().await;
    Ok(Redirect::to(&to).into_response())
}

/// The recorded actor of a session: the token's name, as the API records it.
pub(crate) fn actor_of(role: &Role) -> String {
    let name = match role {
        Role::Opd { name, .. } | Role::OpdHead { name, .. } => name.trim(),
        Role::Admin { name } | Role::Auditor { name } => name.trim(),
    };
    if name.is_empty() {
        aduan_api::auth::UNNAMED_OPERATOR.to_owned()
    } else {
        name.to_owned()
    }
}

/// The query string that carries a refusal's message to the flash.
pub(crate) fn failed(e: impl Into<aduan_api::ApiError>) -> String {
    let message = e.into().error().message;
    serde_urlencoded::to_string([("failed", message)]).unwrap_or_default()
}
