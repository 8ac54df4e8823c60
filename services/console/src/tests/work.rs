//! The work pages: an operator's actions, the head's review, the admin's
//! return, the dashboard's ranking and the recap CSV.

use aduan_domain::{ReporterToken, Status};
use aduan_projections::Window;

use super::*;

#[tokio::test]
async fn acknowledge_and_resolve_from_the_detail_page_change_the_complaint() {
    let w = world().await;
    let (id, no, _) = w.routed(DINKES, "act-1").await;
    let (mut b, _) = w.sign_in(World::opd(DINKES)).await;
    let inbox = w.get(&mut b, &format!("/opd/{DINKES}")).await;
    assert!(inbox.body.contains(&format!("data-complaint-id=\"{id}\"")));
    assert!(inbox.body.contains("data-overdue=\"false\""));
    let detail = format!("/opd/{DINKES}/complaints/{id}");
    let csrf = b.csrf.clone();
    let ack = w
        .post(&mut b, &format!("{detail}/acknowledge"), &[("csrf", &csrf)])
        .await;
    assert_eq!(ack.status, StatusCode::SEE_OTHER);
    assert_eq!(ack.location(), format!("{detail}?done=acknowledge"));
    assert!(w.complaint(&id).await.acknowledged);
    let page = w.get(&mut b, &ack.location()).await;
    assert!(page.testid("flash").is_some(), "{}", page.body);
    assert_eq!(page.testid("tracking-no"), Some(no.clone()));

    let form = [("csrf", csrf.as_str()), ("note", "Obat sudah dikirim")];
    let done = w.post(&mut b, &format!("{detail}/resolve"), &form).await;
    assert_eq!(done.location(), format!("{detail}?done=resolve"));
    assert_eq!(w.complaint(&id).await.status, Status::Resolved);
    let status = w.get(&mut b, &format!("/lacak/{no}")).await;
    assert!(
        status.body.contains("Obat sudah dikirim"),
        "{}",
        status.body
    );
}

#[tokio::test]
async fn a_reviewed_orgs_resolution_is_a_draft_until_the_head_approves_it() {
    let w = world().await;
    w.review(DINKES).await;
    let (id, no, _) = w.routed(DINKES, "review-1").await;
    let (mut op, _) = w.sign_in(World::opd(DINKES)).await;
    let detail = format!("/opd/{DINKES}/complaints/{id}");
    let form = [("csrf", op.csrf.as_str()), ("note", "Stok obat dipenuhi")];
    let drafted = w
        .post(&mut op.clone(), &format!("{detail}/resolve"), &form)
        .await;
    assert_eq!(drafted.location(), format!("{detail}?draft=1"));
    let page = w.get(&mut op, &drafted.location()).await;
    assert!(page.body.contains("data-draft=\"true\""), "{}", page.body);
    assert_eq!(
        w.complaint(&id).await.status,
        Status::Routed,
        "a draft is not an answer"
    );
    let public = w.get(&mut op, &format!("/lacak/{no}")).await;
    assert!(
        !public.body.contains("Stok obat dipenuhi"),
        "the draft went public"
    );
    // The operator may not open the head's page.
    let drafts = format!("/opd/{DINKES}/drafts");
    assert_eq!(w.get(&mut op, &drafts).await.status, StatusCode::FORBIDDEN);

    let head = Role::OpdHead {
        org: OrgCode::parse(DINKES).expect("org"),
        name: "kepala".into(),
    };
    let (mut h, _) = w.sign_in(head).await;
    let list = w.get(&mut h, &drafts).await;
    assert!(list.body.contains(&format!(
        "data-testid=\"draft-row\" data-complaint-id=\"{id}\""
    )));
    assert_eq!(
        list.testid("draft-text").as_deref(),
        Some("Stok obat dipenuhi")
    );
    let draft_id = w
        .complaint(&id)
        .await
        .drafts
        .keys()
        .next()
        .cloned()
        .expect("draft");
    let approve = format!("{drafts}/{id}/{draft_id}/approve");
    let csrf = h.csrf.clone();
    let done = w.post(&mut h, &approve, &[("csrf", &csrf)]).await;
    assert_eq!(done.location(), format!("{drafts}?done=approve"));
    assert_eq!(w.complaint(&id).await.status, Status::Resolved);
    let public = w.get(&mut h, &format!("/lacak/{no}")).await;
    assert!(
        public.body.contains("Stok obat dipenuhi"),
        "{}",
        public.body
    );
    assert!(w
        .get(&mut h, &drafts)
        .await
        .testid("drafts-empty")
        .is_some());
}

#[tokio::test]
async fn the_admin_returns_a_resolution_and_sees_it_in_the_list_until_then() {
    let w = world().await;
    let (id, _, _) = w.routed(DINKES, "return-1").await;
    let (op, _) = w.sign_in(World::opd(DINKES)).await;
    let form = [("csrf", op.csrf.as_str()), ("note", "Sudah")];
    let path = format!("/opd/{DINKES}/complaints/{id}/resolve");
    w.post(&mut op.clone(), &path, &form).await;
    let (mut a, _) = w
        .sign_in(Role::Admin {
            name: "dian".into(),
        })
        .await;
    let page = w.get(&mut a, "/admin?org=kab-pati-diskominfo").await;
    let row = format!("data-testid=\"resolution-row\" data-complaint-id=\"{id}\"");
    assert!(page.body.contains(&row), "{}", page.body);
    let csrf = a.csrf.clone();
    let form = [
        ("csrf", csrf.as_str()),
        ("reason", "Tidak menjawab"),
        ("scope", "kab-pati-diskominfo"),
    ];
    let done = w
        .post(&mut a, &format!("/admin/complaints/{id}/return"), &form)
        .await;
    assert_eq!(
        done.location(),
        "/admin?org=kab-pati-diskominfo&done=return"
    );
    assert_eq!(w.complaint(&id).await.status, Status::InProgress);
    assert!(!w.get(&mut a, "/admin").await.body.contains(&row));
}

/// dinkes resolves 2 of 2 on time, pupr 1 of 2, rsud 0 of 1; two ratings for dinkes.
async fn workload(w: &World) {
    let mut n = 0;
    for (org, routed, resolved) in [(DINKES, 2, 2), (PUPR, 2, 1), ("kab-pati-rsud", 1, 0)] {
        for i in 0..routed {
            n += 1;
            let (id, _, token) = w.routed(org, &format!("load-{n}")).await;
            if i < resolved {
                let cmd = v1::OpdCommand {
                    complaint_id: id.to_string(),
                    actor: "ani".into(),
                    action: Some(v1::opd_command::Action::Resolve(v1::opd_command::Resolve {
                        resolution: "Selesai".into(),
                    })),
                };
                let org = OrgCode::parse(org).expect("org");
                w.state.commands.opd(&org, cmd).await.expect("resolve");
                if org.as_str() == DINKES {
                    let token = ReporterToken::from(token);
                    let rating = 3 + i as u32;
                    let f = w
                        .state
                        .commands
                        .feedback(&id, &token, rating, String::new());
                    f.await.expect("feedback");
                }
            }
        }
    }
    w.caught_up().await;
}

#[tokio::test]
async fn the_dashboard_ranks_as_the_read_models_do_and_the_csv_has_a_row_per_opd() {
    let w = world().await;
    workload(&w).await;
    let (mut b, _) = w.sign_in(Role::Auditor { name: "aud".into() }).await;
    let page = w.get(&mut b, "/dashboard?org=kab-pati").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let shown: Vec<&str> = page
        .body
        .split("data-testid=\"ranking-entry\" data-org=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    let kab = OrgCode::parse("kab-pati").expect("org");
    let now = w.state.clock.now_ms();
    let ranking = w
        .state
        .projections
        .ranking(&kab, Window::ALL, now)
        .expect("ranking");
    let expected: Vec<&str> = ranking.entries.iter().map(|e| e.org.as_str()).collect();
    assert_eq!(shown, expected);
    assert_eq!(&shown[..3], [DINKES, PUPR, "kab-pati-rsud"]);
    for chart in ["chart-channels", "chart-categories"] {
        assert!(
            page.body.contains(&format!("<svg data-testid=\"{chart}\"")),
            "{chart}"
        );
    }
    assert!(
        page.body.contains("data-series=\"web\""),
        "no bar for channel web"
    );

    let csv = w.get(&mut b, "/dashboard/recap.csv?org=kab-pati").await;
    assert_eq!(csv.status, StatusCode::OK);
    let kind = csv.headers.get(header::CONTENT_TYPE).expect("type");
    assert_eq!(kind, "text/csv; charset=utf-8");
    let disposition = csv
        .headers
        .get(header::CONTENT_DISPOSITION)
        .expect("disposition");
    assert!(disposition
        .to_str()
        .expect("ascii")
        .starts_with("attachment"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].starts_with("org,name,received,open,overdue,resolved_on_time,"));
    let rules = RuleSet::load(RULES).expect("rules");
    let children = rules
        .orgs()
        .iter()
        .filter(|o| o.parent.as_ref() == Some(&kab))
        .count();
    assert_eq!(lines.len(), 1 + children);
    let dinkes = lines
        .iter()
        .find(|l| l.starts_with(DINKES))
        .expect("dinkes row");
    let recap = w
        .state
        .projections
        .recap(&OrgCode::parse(DINKES).expect("org"), Window::ALL, now);
    let r = recap.expect("recap");
    let cells: Vec<&str> = dinkes.split(',').collect();
    let n = cells.len();
    assert_eq!(
        cells[n - 7..n - 3],
        [r.received, r.open, r.overdue, r.resolved_on_time].map(|v| v.to_string())
    );
    assert_eq!((r.received, r.resolved_on_time), (2, 2));
    assert_eq!(cells[n - 2], "3.5", "mean of the ratings 3 and 4");

    // Operators do not see the dashboard.
    let (mut op, _) = w.sign_in(World::opd(DINKES)).await;
    assert_eq!(
        w.get(&mut op, "/dashboard").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_admin_reroutes_and_rejects_from_the_triage_queue() {
    let w = world().await;
    let triage = "kab-pati-diskominfo";
    let (first, first_no, _) = w.routed(triage, "triage-1").await;
    let (second, _, _) = w.routed(triage, "triage-2").await;
    let (mut a, _) = w
        .sign_in(Role::Admin {
            name: "dian".into(),
        })
        .await;
    let page = w.get(&mut a, "/admin").await;
    for id in [first, second] {
        let row = format!("data-testid=\"triage-row\" data-complaint-id=\"{id}\"");
        assert!(page.body.contains(&row), "{}", page.body);
    }
    let csrf = a.csrf.clone();
    let reroute = [
        ("csrf", csrf.as_str()),
        ("to_org", DINKES),
        ("reason", "Urusan kesehatan"),
    ];
    let done = w
        .post(
            &mut a,
            &format!("/admin/complaints/{first}/reroute"),
            &reroute,
        )
        .await;
    assert_eq!(done.location(), "/admin?done=reroute");
    assert_eq!(
        w.complaint(&first).await.owner,
        Some(OrgCode::parse(DINKES).expect("org"))
    );

    let head = w.head();
    let unknown = [
        ("csrf", csrf.as_str()),
        ("reason", "duplicate"),
        ("duplicate_of", "ZZZZZ-ZZZZZ"),
    ];
    let refused = w
        .post(
            &mut a,
            &format!("/admin/complaints/{second}/reject"),
            &unknown,
        )
        .await;
    assert!(
        refused.location().starts_with("/admin?failed="),
        "{}",
        refused.location()
    );
    assert_eq!(w.head(), head, "a refused reject appended");
    let page = w.get(&mut a, &refused.location()).await;
    assert!(page.testid("flash").is_some());

    let duplicate = [
        ("csrf", csrf.as_str()),
        ("reason", "duplicate"),
        ("duplicate_of", first_no.as_str()),
    ];
    let done = w
        .post(
            &mut a,
            &format!("/admin/complaints/{second}/reject"),
            &duplicate,
        )
        .await;
    assert_eq!(done.location(), "/admin?done=reject");
    assert_eq!(w.complaint(&second).await.status, Status::Rejected);
    let page = w.get(&mut a, "/admin").await;
    assert!(
        !page.body.contains("data-testid=\"triage-row\""),
        "{}",
        page.body
    );
}
