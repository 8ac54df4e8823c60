//! The region admin's page (usually its Diskominfo): the triage queue (what
//! the admin orgs own: no rule, not our authority, too many hops) with
//! reroute and reject, the resolutions it may return as insufficient, and
//! the region's overdue complaints. Only an `admin` session opens it. An
//! admin token names no org, so the page shows every admin org's queue, or
//! one region's when `?org=` names its admin org.

use aduan_api::auth::Role;
use aduan_commands::AdminAction;
use aduan_domain::{ComplaintId, OrgCode, TrackingNo};
use aduan_log::EventLog;
use aduan_projections::{InboxItem, InboxPage};
use aduan_proto::v1::admin_command::{self as ac, Action};
use aduan_rules::RuleSet;
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::PageError;
use crate::layout::{self, csrf};
use crate::opd::{failed, flash, Flash};
use crate::session::Signed;
use crate::{Console, Lang};

/// Most rows each list shows.
const MOST: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Scope {
    org: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// The admin name of a session, or 403.
fn admin(lang: Lang, signed: &Signed) -> Result<String, PageError> {
    match &signed.role {
        Role::Admin { name } => Ok(name.clone()),
        _ => Err(PageError::Forbidden(lang)),
    }
}

/// The admin orgs of the rule set (`nasional` among them).
fn admin_orgs(rules: &RuleSet) -> Vec<OrgCode> {
    rules
        .orgs()
        .iter()
        .filter(|o| o.admin || o.parent.is_none())
        .map(|o| o.code.clone())
        .collect()
}

/// Every org at or below `top`.
fn below(rules: &RuleSet, top: &OrgCode) -> Vec<OrgCode> {
    rules
        .orgs()
        .iter()
        .filter(|o| {
            let mut at = Some(&o.code);
            while let Some(code) = at {
                if code == top {
                    return true;
                }
                at = rules.parent_of(code);
            }
            false
        })
        .map(|o| o.code.clone())
        .collect()
}

/// `GET /admin?org=`.
pub(crate) async fn page<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Query(q): Query<Scope>,
) -> Result<Markup, PageError> {
    admin(lang, &signed)?;
    let rules = c.rules();
    let admins = admin_orgs(&rules);
    let chosen = q
        .org
        .as_deref()
        .and_then(|o| OrgCode::parse(o).ok())
        .filter(|o| admins.contains(o));
    let (queues, region) = match &chosen {
        // A region's admin org answers for the region its parent governs.
        Some(a) => {
            let top = rules.parent_of(a).cloned().unwrap_or_else(|| a.clone());
            (vec![a.clone()], below(&rules, &top))
        }
        None => (
            admins.clone(),
            rules.orgs().iter().map(|o| o.code.clone()).collect(),
        ),
    };
    let err = |e| PageError::from((lang, e));
    let now = c.api.clock.now_ms();
    let first = InboxPage::parse(Some(&MOST.to_string()), None).map_err(err)?;
    let mut triage = Vec::new();
    for org in &queues {
        triage.extend(
            c.api
                .projections
                .inbox(org, now, &first)
                .map_err(err)?
                .items,
        );
    }
    let resolved = c.api.projections.resolved(&region, MOST).map_err(err)?;
    let mut overdue: Vec<(OrgCode, InboxItem)> = Vec::new();
    for org in &region {
        let items = c
            .api
            .projections
            .inbox(org, now, &first)
            .map_err(err)?
            .items;
        overdue.extend(
            items
                .into_iter()
                .take_while(|i| i.overdue)
                .map(|i| (org.clone(), i)),
        );
    }
    overdue.sort_by_key(|(_, i)| i.due_ms);
    overdue.truncate(MOST);
    let scope = chosen.as_ref().map(ToString::to_string).unwrap_or_default();
    let body = html! {
        (flash(lang, &q.flash))
        section {
            h1 { (lang.t("admin.title")) }
            form method="get" action="/admin" {
                label for="org" { (lang.t("admin.scope")) }
                select id="org" name="org" {
                    option value="" { (lang.t("admin.all")) }
                    @for a in &admins {
                        option value=(a) selected[chosen.as_ref() == Some(a)] { (name_of(&rules, a)) }
                    }
                }
                " " button type="submit" { (lang.t("admin.show")) }
            }
        }
        (triage_list(lang, &signed, &rules, &triage, &scope))
        (resolutions(lang, &signed, &rules, &resolved, &scope))
        section {
            h2 { (lang.t("admin.overdue")) }
            @if overdue.is_empty() { p { (lang.t("admin.overdue.empty")) } }
            table data-testid="overdue" {
                tbody {
                    @for (org, i) in &overdue {
                        tr data-testid="overdue-row" data-complaint-id=(i.complaint_id) data-org=(org) {
                            td { (i.tracking_no) } td { (i.title) } td { (name_of(&rules, org)) }
                            td.overdue { (layout::when_text(&i.due_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        lang,
        lang.t("admin.title"),
        Some(&signed),
        body,
    ))
}

fn name_of(rules: &RuleSet, org: &OrgCode) -> String {
    rules
        .org(org)
        .map(|o| o.name.clone())
        .unwrap_or_else(|| org.to_string())
}

fn triage_list(
    lang: Lang,
    signed: &Signed,
    rules: &RuleSet,
    items: &[InboxItem],
    scope: &str,
) -> Markup {
    html! {
        section {
            h2 { (lang.t("admin.triage")) }
            @if items.is_empty() { p { (lang.t("admin.triage.empty")) } }
            table data-testid="triage" {
                tbody {
                    @for i in items {
                        @let base = format!("/admin/complaints/{}", i.complaint_id);
                        tr data-testid="triage-row" data-complaint-id=(i.complaint_id) {
                            td { (i.tracking_no) br; (i.title) br; span.muted { (i.region) " · " (i.category) } }
                            td.actions {
                                form data-testid="reroute" method="post" action={ (base) "/reroute" } {
                                    (csrf(&signed.csrf))
                                    input type="hidden" name="scope" value=(scope);
                                    select name="to_org" {
                                        @for o in rules.orgs().iter().filter(|o| !o.admin && o.parent.is_some()) {
                                            option value=(o.code) { (o.name) }
                                        }
                                    }
                                    input name="reason" required placeholder=(lang.t("admin.reason"));
                                    button data-testid="reroute-submit" type="submit" { (lang.t("admin.reroute")) }
                                }
                                form data-testid="reject" method="post" action={ (base) "/reject" } {
                                    (csrf(&signed.csrf))
                                    input type="hidden" name="scope" value=(scope);
                                    select name="reason" {
                                        option value="spam" { (lang.t("admin.spam")) }
                                        option value="duplicate" { (lang.t("admin.duplicate")) }
                                    }
                                    input name="duplicate_of" placeholder=(lang.t("admin.duplicate_of"));
                                    button data-testid="reject-submit" type="submit" { (lang.t("admin.reject")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn resolutions(
    lang: Lang,
    signed: &Signed,
    rules: &RuleSet,
    items: &[aduan_projections::ResolvedItem],
    scope: &str,
) -> Markup {
    html! {
        section {
            h2 { (lang.t("admin.resolutions")) }
            @if items.is_empty() { p { (lang.t("admin.resolutions.empty")) } }
            table data-testid="resolutions" {
                tbody {
                    @for r in items {
                        tr data-testid="resolution-row" data-complaint-id=(r.complaint_id) {
                            td { (r.tracking_no) br; (r.title) }
                            td { (OrgCode::parse(&r.org).map(|o| name_of(rules, &o)).unwrap_or_default()) br; span data-testid="resolution-text" { (r.resolution) } }
                            td.actions {
                                form data-testid="return-resolution" method="post" action={ "/admin/complaints/" (r.complaint_id) "/return" } {
                                    (csrf(&signed.csrf))
                                    input type="hidden" name="scope" value=(scope);
                                    input name="reason" required placeholder=(lang.t("admin.reason"));
                                    button data-testid="return-resolution-submit" type="submit" { (lang.t("admin.return")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The fields of the admin's forms.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AdminForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    to_org: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    duplicate_of: String,
}

/// `POST /admin/complaints/{complaint_id}/{reroute|reject|return}`.
pub(crate) async fn act<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Path((id, name)): Path<(String, String)>,
    Form(f): Form<AdminForm>,
) -> Result<Response, PageError> {
    if !signed.check(&f.csrf) {
        return Err(PageError::Forbidden(lang));
    }
    let admin_name = admin(lang, &signed)?;
    let cid = ComplaintId::parse(&id).map_err(|_| PageError::NotFound(lang))?;
    let scope = OrgCode::parse(&f.scope)
        .map(|o| format!("org={o}&"))
        .unwrap_or_default();
    let back = |q: String| format!("/admin?{scope}{q}");
    let to = match action(&c, &name, &f) {
        Err(e) => back(failed(e)),
        Ok(None) => return Err(PageError::NotFound(lang)),
        Ok(Some(action)) => match c.api.commands.admin(&cid, &admin_name, action).await {
            Ok(_) => back(format!("done={name}")),
            Err(e) => back(failed(e)),
        },
    };
    c.caught_up().await;
    Ok(Redirect::to(&to).into_response())
}

/// The admin action a form asks for; None for an unknown action name.
fn action<L: EventLog + Clone>(
    c: &Console<L>,
    name: &str,
    f: &AdminForm,
) -> Result<Option<AdminAction>, aduan_api::ApiError> {
    let action = match name {
        "reroute" => Action::Reroute(ac::Reroute {
            org: f.to_org.clone(),
            reason: f.reason.clone(),
        }),
        "reject" => {
            // The form names the original by its tracking number; the command by its id.
            let duplicate_of = match f.duplicate_of.trim() {
                "" => String::new(),
                no => {
                    let unknown = || {
                        aduan_api::ApiError::new(
                            aduan_proto::ErrorCode::InvalidArgument,
                            "duplicate_of is not a known tracking number",
                        )
                    };
                    let t = TrackingNo::parse(no).map_err(|_| unknown())?;
                    c.api
                        .intake
                        .index()
                        .complaint_of(&t)?
                        .ok_or_else(unknown)?
                        .to_string()
                }
            };
            Action::Reject(ac::AdminReject {
                reason_code: f.reason.trim().to_owned(),
                reason: f.reason.trim().to_owned(),
                duplicate_of,
            })
        }
        "return" => Action::ReturnResolution(ac::ReturnResolution {
            reason: f.reason.clone(),
        }),
        _ => return Ok(None),
    };
    Ok(Some(AdminAction::from_proto(Some(action))?))
}
