//! The inbox's order, overdue marks and paging; the console mounted beside the API.

use super::*;

/// The complaint ids of the inbox rows of a page, in order.
fn rows(page: &Page) -> Vec<String> {
    page.body
        .split("data-testid=\"inbox-row\" data-complaint-id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_inbox_lists_oldest_due_first_marks_the_overdue_and_pages() {
    let w = world().await;
    let now = unix_ms(time::OffsetDateTime::now_utc());
    // Due in 30 days, then one overdue since yesterday, then 20 more due later, a day apart.
    let later = w.routed_due(DINKES, "page-a", now + 30 * DAY).await;
    let overdue = w.routed_due(DINKES, "page-b", now - DAY).await;
    let mut ids = vec![overdue.to_string(), later.to_string()];
    for i in 0..crate::opd::PAGE as i64 {
        let due = now + (40 + i) * DAY;
        let id = w.routed_due(DINKES, &format!("page-{i}"), due).await;
        ids.push(id.to_string());
    }
    let (mut b, _) = w.sign_in(World::opd(DINKES)).await;
    let first = w.get(&mut b, &format!("/opd/{DINKES}")).await;
    assert_eq!(rows(&first), ids[..crate::opd::PAGE]);
    let mark = format!("data-complaint-id=\"{overdue}\" data-overdue=\"true\"");
    assert!(first.body.contains(&mark), "{}", first.body);
    assert_eq!(first.body.matches("data-overdue=\"true\"").count(), 1);
    assert!(first.testid("page-prev").is_none());
    let next = first.body.split("data-testid=\"page-next\" href=\"").nth(1);
    let next = next.and_then(|s| s.split('"').next()).expect("page-next");
    let second = w.get(&mut b, &next.replace("&amp;", "&")).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(rows(&second), ids[crate::opd::PAGE..]);
    assert!(second.testid("page-next").is_none());
    let prev = second
        .body
        .split("data-testid=\"page-prev\" href=\"")
        .nth(1);
    let prev = prev.and_then(|s| s.split('"').next()).expect("page-prev");
    let back = w.get(&mut b, &prev.replace("&amp;", "&")).await;
    assert_eq!(rows(&back), rows(&first));
}

#[tokio::test]
async fn the_console_is_mounted_beside_the_api_in_one_app() {
    let w = world().await;
    let app = crate::app(w.state.clone());
    let get = |path: &'static str| {
        let app = app.clone();
        async move {
            let req = Request::get(path).body(Body::empty()).expect("request");
            let resp = app.oneshot(req).await.expect("response");
            let kind = resp.headers().get(header::CONTENT_TYPE).cloned();
            (
                resp.status(),
                kind.map(|k| k.to_str().unwrap_or("").to_owned()),
            )
        }
    };
    let (status, kind) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.is_some_and(|k| k.starts_with("text/html")));
    assert_eq!(get("/healthz").await.0, StatusCode::OK);
    let (status, kind) = get("/v1/no-such-route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(kind.is_some_and(|k| k.starts_with("application/json")));
}

#[tokio::test]
async fn not_our_authority_leaves_the_inbox_and_an_internal_follow_up_stays_private() {
    let w = world().await;
    let (id, no, _) = w.routed(DINKES, "decline-1").await;
    let (mut b, _) = w.sign_in(World::opd(DINKES)).await;
    let detail = format!("/opd/{DINKES}/complaints/{id}");
    let csrf = b.csrf.clone();
    let internal = [
        ("csrf", csrf.as_str()),
        ("note", "Catatan dalam rapat staf"),
        ("visibility", "internal"),
    ];
    let done = w
        .post(&mut b, &format!("{detail}/follow_up"), &internal)
        .await;
    assert_eq!(done.location(), format!("{detail}?done=follow_up"));
    let public = w.get(&mut b, &format!("/lacak/{no}")).await;
    assert!(
        !public.body.contains("Catatan dalam rapat staf"),
        "an internal note went public"
    );

    let decline = [
        ("csrf", csrf.as_str()),
        ("note", "Ini urusan PUPR"),
        ("suggested_org", PUPR),
    ];
    let done = w
        .post(&mut b, &format!("{detail}/not_our_authority"), &decline)
        .await;
    assert_eq!(
        done.location(),
        format!("/opd/{DINKES}?done=not_our_authority")
    );
    let c = w.complaint(&id).await;
    assert_eq!(
        (c.owner, c.suggested_org),
        (None, Some(OrgCode::parse(PUPR).expect("org")))
    );
    let inbox = w.get(&mut b, &done.location()).await;
    assert!(inbox.testid("flash").is_some(), "{}", inbox.body);
    assert!(rows(&inbox).is_empty());
}
