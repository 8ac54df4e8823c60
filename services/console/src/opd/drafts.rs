//! The OPD head's page: its org's draft answers waiting for approval, each
//! with approve and return. Only the `opd_head` of that org may open it.

use aduan_domain::{ComplaintId, OrgRole};
use aduan_log::EventLog;
use aduan_proto::v1;
use aduan_proto::v1::opd_command::{self as oc, Action};
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use super::{actor_of, failed, flash, own_org, Flash};
use crate::error::PageError;
use crate::layout::{self, csrf};
use crate::session::Signed;
use crate::{Console, Lang};

/// `GET /opd/{org}/drafts`.
pub(crate) async fn drafts<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Path(org): Path<String>,
    Query(f): Query<Flash>,
) -> Result<Markup, PageError> {
    let (org, role) = own_org(lang, &signed, &org)?;
    if role != OrgRole::Head {
        return Err(PageError::Forbidden(lang));
    }
    let drafts = c
        .api
        .projections
        .drafts(&org)
        .map_err(|e| PageError::from((lang, e)))?;
    let body = html! {
        (flash(lang, &f))
        section {
            h1 { (lang.t("drafts.title")) }
            p { a href={ "/opd/" (org) } { (lang.t("inbox.title")) } }
            @if drafts.is_empty() { p data-testid="drafts-empty" { (lang.t("drafts.empty")) } }
            table data-testid="drafts" {
                tbody {
                    @for d in &drafts {
                        @let base = format!("/opd/{org}/drafts/{}/{}", d.complaint_id, d.draft_id);
                        tr data-testid="draft-row" data-complaint-id=(d.complaint_id) data-draft-id=(d.draft_id) {
                            td { (d.tracking_no) br; a href={ "/opd/" (org) "/complaints/" (d.complaint_id) } { (d.title) } }
                            td { strong { (lang.t(kind_key(&d.kind))) } ": " span data-testid="draft-text" { (d.text) } br; span.muted { (layout::when(d.at_ms)) } }
                            td.actions {
                                form data-testid="draft-approve" method="post" action={ (base) "/approve" } {
                                    (csrf(&signed.csrf))
                                    button data-testid="draft-approve-submit" type="submit" { (lang.t("drafts.approve")) }
                                }
                                form data-testid="draft-return" method="post" action={ (base) "/return" } {
                                    (csrf(&signed.csrf))
                                    input name="note" required placeholder=(lang.t("action.note"));
                                    " "
                                    button data-testid="draft-return-submit" type="submit" { (lang.t("drafts.return")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        lang,
        lang.t("drafts.title"),
        Some(&signed),
        body,
    ))
}

fn kind_key(kind: &str) -> &'static str {
    match kind {
        "resolution" => "drafts.kind.resolution",
        _ => "drafts.kind.follow_up",
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Decision {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// `POST /opd/{org}/drafts/{complaint_id}/{draft_id}/{approve|return}`.
pub(crate) async fn decide_draft<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Path((org, id, draft_id, decision)): Path<(String, String, String, String)>,
    Form(f): Form<Decision>,
) -> Result<Response, PageError> {
    if !signed.check(&f.csrf) {
        return Err(PageError::Forbidden(lang));
    }
    let (org, role) = own_org(lang, &signed, &org)?;
    if role != OrgRole::Head {
        return Err(PageError::Forbidden(lang));
    }
    let cid = ComplaintId::parse(&id).map_err(|_| PageError::NotFound(lang))?;
    let action = match decision.as_str() {
        "approve" => Action::ApproveAnswer(oc::ApproveAnswer { draft_id }),
        "return" => Action::ReturnAnswer(oc::ReturnAnswer {
            draft_id,
            note: f.note,
        }),
        _ => return Err(PageError::NotFound(lang)),
    };
    let cmd = v1::OpdCommand {
        complaint_id: cid.to_string(),
        actor: actor_of(&signed.role),
        action: Some(action),
    };
    let back = format!("/opd/{org}/drafts");
    let to = match c.api.commands.opd_as(&org, role, cmd).await {
        Ok(_) => format!("{back}?done={decision}"),
        Err(e) => format!("{back}?{}", failed(e)),
    };
    c.caught_up().await;
    Ok(Redirect::to(&to).into_response())
}
