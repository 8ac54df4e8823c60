//! The leader dashboard (admin and auditor sessions): the recap per OPD over
//! a period, the ranking of an org's children (the read models' own
//! ranking, in its order), charts of the volume per channel and per category
//! per day, and the recap as CSV for the coordination meeting.

use std::collections::BTreeMap;

use aduan_api::auth::Role;
use aduan_domain::OrgCode;
use aduan_log::EventLog;
use aduan_projections::{ProjectionError, Window};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::chart;
use crate::error::PageError;
use crate::layout;
use crate::session::Signed;
use crate::{Console, Lang};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Period {
    org: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// One OPD's line of the recap.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub org: String,
    pub name: String,
    pub received: u64,
    pub open: u64,
    pub overdue: u64,
    pub resolved_on_time: u64,
    pub median_hours: Option<f64>,
    /// Mean of the reporters' ratings (1 to 5) given in the period.
    pub satisfaction: Option<f64>,
    /// Returned by the head of the org and by the admin.
    pub returned: u64,
}

fn leader(lang: Lang, signed: &Signed) -> Result<(), PageError> {
    match signed.role {
        Role::Admin { .. } | Role::Auditor { .. } => Ok(()),
        _ => Err(PageError::Forbidden(lang)),
    }
}

impl Period {
    fn parse(&self, lang: Lang) -> Result<(OrgCode, Window), PageError> {
        let org = OrgCode::parse(self.org.as_deref().unwrap_or("nasional").trim())
            .map_err(|_| PageError::NotFound(lang))?;
        let blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (from, to) = (blank(&self.from), blank(&self.to));
        let w = Window::parse(from.as_deref(), to.as_deref())
            .map_err(|e| PageError::from((lang, e)))?;
        Ok((org, w))
    }
}

/// The recap lines of `org`'s children (of `org` itself when it has none).
pub(crate) fn rows<L: EventLog + Clone>(
    c: &Console<L>,
    org: &OrgCode,
    w: Window,
) -> Result<Vec<Row>, ProjectionError> {
    let rules = c.rules();
    let mut orgs: Vec<OrgCode> = rules
        .orgs()
        .iter()
        .filter(|o| o.parent.as_ref() == Some(org))
        .map(|o| o.code.clone())
        .collect();
    if orgs.is_empty() {
        orgs.push(org.clone());
    }
    let now = c.api.clock.now_ms();
    let mut out = Vec::new();
    for code in orgs {
        let r = c.api.projections.recap(&code, w, now)?;
        let (rated, sum) = c
            .api
            .projections
            .daily(&code, w)?
            .values()
            .fold((0, 0), |(n, s), d| (n + d.rated, s + d.rating_sum));
        out.push(Row {
            org: r.org,
            name: r.org_name,
            received: r.received,
            open: r.open,
            overdue: r.overdue,
            resolved_on_time: r.resolved_on_time,
            median_hours: r.median_hours_to_first_response,
            satisfaction: (rated > 0).then(|| sum as f64 / rated as f64),
            returned: r.answers_returned + r.resolutions_returned,
        });
    }
    Ok(out)
}

fn one_decimal(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_default()
}

/// `GET /dashboard?org=&from=&to=`.
pub(crate) async fn page<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Query(q): Query<Period>,
) -> Result<Markup, PageError> {
    leader(lang, &signed)?;
    let (org, w) = q.parse(lang)?;
    let err = |e| PageError::from((lang, e));
    let rows = rows(&c, &org, w).map_err(err)?;
    let ranking = c
        .api
        .projections
        .ranking(&org, w, c.api.clock.now_ms())
        .map_err(err)?;
    let daily = c.api.projections.daily(&org, w).map_err(err)?;
    let channels: BTreeMap<i64, BTreeMap<String, u64>> = daily
        .iter()
        .map(|(d, c)| (*d, c.channels.clone()))
        .collect();
    let categories: BTreeMap<i64, BTreeMap<String, u64>> = daily
        .iter()
        .map(|(d, c)| (*d, c.categories.clone()))
        .collect();
    let query = serde_urlencoded::to_string([
        ("org", org.to_string()),
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    let rules = c.rules();
    let body = html! {
        section {
            h1 { (lang.t("dash.title")) }
            form method="get" action="/dashboard" {
                label for="org" { (lang.t("dash.org")) }
                select id="org" name="org" {
                    @for o in rules.orgs().iter().filter(|o| rules.orgs().iter().any(|c| c.parent.as_ref() == Some(&o.code))) {
                        option value=(o.code) selected[o.code == org] { (o.name) }
                    }
                }
                label for="from" { (lang.t("dash.from")) }
                input id="from" name="from" type="date" value=(q.from.clone().unwrap_or_default());
                label for="to" { (lang.t("dash.to")) }
                input id="to" name="to" type="date" value=(q.to.clone().unwrap_or_default());
                " " button type="submit" { (lang.t("dash.show")) }
            }
            p { a data-testid="recap-csv" href={ "/dashboard/recap.csv?" (query) } { (lang.t("dash.csv")) } }
        }
        section {
            h2 { (lang.t("dash.recap")) }
            table data-testid="recap" {
                thead { tr {
                    th { (lang.t("col.org")) } th { (lang.t("col.received")) } th { (lang.t("col.open")) }
                    th { (lang.t("col.overdue")) } th { (lang.t("col.on_time")) } th { (lang.t("col.median")) }
                    th { (lang.t("col.satisfaction")) } th { (lang.t("col.returned")) }
                } }
                tbody {
                    @for r in &rows {
                        tr data-testid="recap-row" data-org=(r.org) {
                            td { (r.name) } td data-col="received" { (r.received) } td data-col="open" { (r.open) }
                            td data-col="overdue" { (r.overdue) } td data-col="resolved_on_time" { (r.resolved_on_time) }
                            td data-col="median_hours" { (one_decimal(r.median_hours)) }
                            td data-col="satisfaction" { (one_decimal(r.satisfaction)) }
                            td data-col="returned" { (r.returned) }
                        }
                    }
                }
            }
        }
        section {
            h2 { (lang.t("dash.ranking")) }
            ol data-testid="ranking" {
                @for e in &ranking.entries {
                    li data-testid="ranking-entry" data-org=(e.org) data-rank=(e.rank) {
                        (e.org_name) " — " (lang.t("col.share")) ": "
                        (e.share_resolved_on_time.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "—".into()))
                        " (" (e.resolved_on_time) "/" (e.routed) ")"
                    }
                }
            }
        }
        section {
            h2 { (lang.t("dash.channels")) }
            @if daily.is_empty() { p.muted { (lang.t("dash.nodata")) } }
            (chart::stacked("chart-channels", lang.t("dash.channels"), &channels))
            h2 { (lang.t("dash.categories")) }
            (chart::stacked("chart-categories", lang.t("dash.categories"), &categories))
        }
    };
    Ok(layout::page(
        lang,
        lang.t("dash.title"),
        Some(&signed),
        body,
    ))
}

/// `GET /dashboard/recap.csv?org=&from=&to=`: the recap lines, header first.
pub(crate) async fn csv<L: EventLog + Clone>(
    State(c): State<Console<L>>,
    lang: Lang,
    signed: Signed,
    Query(q): Query<Period>,
) -> Result<Response, PageError> {
    leader(lang, &signed)?;
    let (org, w) = q.parse(lang)?;
    let rows = rows(&c, &org, w).map_err(|e| PageError::from((lang, e)))?;
    let mut text = String::from(
        "org,name,received,open,overdue,resolved_on_time,median_hours_to_first_response,satisfaction,answers_returned\r\n",
    );
    for r in &rows {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\r\n",
            field(&r.org),
            field(&r.name),
            r.received,
            r.open,
            r.overdue,
            r.resolved_on_time,
            one_decimal(r.median_hours),
            one_decimal(r.satisfaction),
            r.returned
        ));
    }
    let file = format!("attachment; filename=\"rekap-{org}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        text,
    )
        .into_response())
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
