//! The citizen's pages, the labels in both languages, and the assets.

use super::*;

async fn received_count(w: &World) -> usize {
    let events = w.state.log.read_all(1, 10_000).await.expect("read");
    events
        .iter()
        .filter(|e| e.event_type == "ComplaintReceived")
        .count()
}

#[tokio::test]
async fn the_citizen_form_appends_one_complaint_and_a_resubmit_is_a_duplicate() {
    let w = world().await;
    let mut b = Browser::default();
    let home = w.get(&mut b, "/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home
        .set_cookie("aduan_csrf")
        .expect("csrf cookie")
        .contains("HttpOnly"));
    let (csrf, channel_ref) = (home.csrf(), home.field("channel_ref"));
    let form = [
        ("csrf", csrf.as_str()),
        ("channel_ref", channel_ref.as_str()),
        ("title", "Obat habis di puskesmas"),
        ("body", "Puskesmas Margorejo kehabisan obat"),
        ("region_code", "33.18"),
        ("category", "kesehatan"),
        ("name", "Budi"),
        ("phone", ""),
        ("email", ""),
        ("privacy", "public"),
    ];
    let first = w.post(&mut b, "/lapor", &form).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let no = first.testid("tracking-no").expect("tracking number");
    assert!(first
        .testid("reporter-token")
        .is_some_and(|t| t.len() >= 32));
    assert_eq!(received_count(&w).await, 1);

    let again = w.post(&mut b, "/lapor", &form).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert!(again.testid("duplicate").is_some());
    assert_eq!(again.testid("tracking-no"), Some(no.clone()));
    assert_eq!(received_count(&w).await, 1, "a resubmission appended");

    let lookup = w
        .get(&mut b, &format!("/lacak?no={}", no.to_lowercase()))
        .await;
    assert_eq!(lookup.status, StatusCode::SEE_OTHER);
    let status = w.get(&mut b, &lookup.location()).await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);
    assert_eq!(status.testid("status").as_deref(), Some("Diterima"));
    assert!(status.body.contains("data-testid=\"timeline-entry\""));
    assert!(
        !status.body.contains("Budi"),
        "the reporter on a public page"
    );
    // The owner sees a reporter who chose `public`, without the empty fields.
    let t = aduan_domain::TrackingNo::parse(&no).expect("tracking number");
    let id = w
        .state
        .intake
        .index()
        .complaint_of(&t)
        .expect("index")
        .expect("known");
    let now = unix_ms(time::OffsetDateTime::now_utc());
    let routed = v1::ComplaintRouted {
        org: DINKES.into(),
        hop: 1,
        reason: "rule".into(),
        due_at_ms: now + 60 * DAY,
        at_ms: now,
        ..Default::default()
    };
    w.route(&id, ComplaintEvent::from(routed)).await;
    let (mut opd, _) = w.sign_in(World::opd(DINKES)).await;
    let detail = w
        .get(&mut opd, &format!("/opd/{DINKES}/complaints/{id}"))
        .await;
    assert_eq!(detail.testid("reporter").as_deref(), Some("Budi"));

    let unknown = w.get(&mut b, "/lacak/ZZZZZ-ZZZZZ").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.testid("not-found").is_some());
}

#[tokio::test]
async fn labels_are_indonesian_by_default_and_english_on_request() {
    let w = world().await;
    let mut b = Browser::default();
    let id = w.get(&mut b, "/").await;
    assert!(id.body.contains("Sampaikan aduan") && !id.body.contains("Submit a complaint"));
    let en = w.get(&mut b, "/?lang=en").await;
    assert!(en.body.contains("Submit a complaint") && !en.body.contains("Sampaikan aduan"));
    assert!(en
        .set_cookie("lang")
        .expect("lang cookie")
        .starts_with("lang=en"));
    // The cookie keeps the language on the next page.
    let next = w.get(&mut b, "/masuk").await;
    assert!(next.body.contains("Sign in"), "{}", next.body);
    let switch = w.get(&mut b, "/bahasa?to=id&back=/masuk").await;
    assert_eq!(switch.location(), "/masuk");
    assert!(w.get(&mut b, "/masuk").await.body.contains("Masuk"));
    // Without `back`, the switch returns to the page it was on, if it is this site's.
    let from = |referer: &str| {
        Request::get("/bahasa?to=en")
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::REFERER, referer)
            .body(Body::empty())
            .expect("request")
    };
    let here = w
        .send(from("http://127.0.0.1:8080/lacak/ABCDE-FGHJK?lang=id"))
        .await;
    assert_eq!(here.location(), "/lacak/ABCDE-FGHJK");
    let there = w.send(from("http://elsewhere.test/lacak")).await;
    assert_eq!(there.location(), "/");
    let away = w.get(&mut b, "/bahasa?to=en&back=//elsewhere.test/").await;
    assert_eq!(
        away.location(),
        "/",
        "the switch goes back only to this site"
    );
}

#[tokio::test]
async fn the_stylesheet_is_served_from_the_binary_and_no_page_names_another_origin() {
    let w = world().await;
    let mut b = Browser::default();
    let css = w.get(&mut b, "/assets/console.css").await;
    assert_eq!(css.status, StatusCode::OK);
    let cache = css
        .headers
        .get(header::CACHE_CONTROL)
        .expect("cache header");
    assert!(cache.to_str().expect("ascii").contains("max-age=31536000"));
    let (id, _, _) = w.routed(DINKES, "origin-1").await;
    let mut pages = vec![w.get(&mut b, "/").await, w.get(&mut b, "/masuk").await];
    let (mut opd, _) = w.sign_in(World::opd(DINKES)).await;
    pages.push(w.get(&mut opd, &format!("/opd/{DINKES}")).await);
    pages.push(
        w.get(&mut opd, &format!("/opd/{DINKES}/complaints/{id}"))
            .await,
    );
    let (mut admin, _) = w
        .sign_in(Role::Admin {
            name: "dian".into(),
        })
        .await;
    pages.push(w.get(&mut admin, "/admin").await);
    pages.push(w.get(&mut admin, "/dashboard?org=kab-pati").await);
    for page in &pages {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            !page.body.contains("http://") && !page.body.contains("https://"),
            "an external URL in {}",
            page.body
        );
    }
}
