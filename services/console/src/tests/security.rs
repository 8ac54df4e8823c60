//! Sessions, CSRF and the boundary between orgs.

use super::*;

#[tokio::test]
async fn sign_in_sets_a_strict_httponly_session_and_sign_out_ends_it() {
    let w = world().await;
    let mut anon = Browser::default();
    let form = w.get(&mut anon, "/masuk").await;
    let csrf = form.csrf();
    let bad = w
        .post(
            &mut anon,
            "/masuk",
            &[("csrf", &csrf), ("token", "not-a-token")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.testid("signin-error").is_some(), "{}", bad.body);
    assert!(bad.set_cookie("aduan_session").is_none());

    let token = w.token(World::opd(DINKES));
    let ok = w
        .post(&mut anon, "/masuk", &[("csrf", &csrf), ("token", &token)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location(), format!("/opd/{DINKES}"));
    let cookie = ok.set_cookie("aduan_session").expect("session cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains(&token), "the token must not be the cookie");
    let mut b = anon.clone();
    let inbox = w.get(&mut b, &format!("/opd/{DINKES}")).await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.testid("whoami").expect("whoami").contains(DINKES));
    assert!(!inbox.body.contains(&token), "the token reached the page");
    assert_eq!(
        inbox.headers.get(header::CACHE_CONTROL).expect("cache"),
        "no-store"
    );

    let csrf = inbox.csrf();
    let out = w.post(&mut b, "/keluar", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out
        .set_cookie("aduan_session")
        .expect("cleared")
        .contains("Max-Age=0"));
    // The old cookie, replayed, opens nothing: the session is gone on the server.
    let again = w.get(&mut anon, &format!("/opd/{DINKES}")).await;
    assert_eq!(
        (again.status, again.location().as_str()),
        (StatusCode::SEE_OTHER, "/masuk")
    );
}

#[tokio::test]
async fn a_token_removed_from_the_token_file_ends_its_session() {
    let w = world().await;
    let (mut b, _) = w.sign_in(World::opd(DINKES)).await;
    let inbox = format!("/opd/{DINKES}");
    assert_eq!(w.get(&mut b, &inbox).await.status, StatusCode::OK);
    std::fs::write(w.dir.path().join("tokens.jsonl"), "").expect("revoke");
    let page = w.get(&mut b, &inbox).await;
    assert_eq!(
        (page.status, page.location().as_str()),
        (StatusCode::SEE_OTHER, "/masuk")
    );
}

#[tokio::test]
async fn a_post_without_or_with_a_wrong_csrf_token_is_403_and_appends_nothing() {
    let w = world().await;
    let (id, _, _) = w.routed(DINKES, "csrf-1").await;
    let (mut b, _) = w.sign_in(World::opd(DINKES)).await;
    let head = w.head();
    let path = format!("/opd/{DINKES}/complaints/{id}/acknowledge");
    for csrf in ["", "0123456789abcdef0123456789abcdef"] {
        let page = w.post(&mut b, &path, &[("csrf", csrf)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
        assert!(page.testid("forbidden").is_some());
    }
    assert_eq!(w.head(), head, "a refused form appended");
    assert!(!w.complaint(&id).await.acknowledged);

    // The citizen's form too: its token is bound to the visitor's cookie.
    let mut citizen = Browser::default();
    let home = w.get(&mut citizen, "/").await;
    let (csrf, channel_ref) = (home.csrf(), home.field("channel_ref"));
    let mut stranger = Browser::default();
    let form = [
        ("csrf", csrf.as_str()),
        ("channel_ref", channel_ref.as_str()),
        ("title", "Jalan rusak"),
        ("body", "Berlubang"),
        ("region_code", "33.18"),
    ];
    let page = w.post(&mut stranger, "/lapor", &form).await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "a token without its cookie"
    );
    let page = w.post(&mut citizen, "/lapor", &form[1..]).await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "a form without its token"
    );
    assert_eq!(w.head(), head, "a refused form appended");
}

#[tokio::test]
async fn another_orgs_session_gets_403_and_nothing_of_the_complaint() {
    let w = world().await;
    let (id, _, _) = w.routed(DINKES, "boundary-1").await;
    let (mut pupr, _) = w.sign_in(World::opd(PUPR)).await;
    let title = "Judul boundary-1";
    for path in [
        format!("/opd/{DINKES}/complaints/{id}"),
        format!("/opd/{PUPR}/complaints/{id}"),
        format!("/opd/{DINKES}"),
        format!("/opd/{DINKES}/drafts"),
    ] {
        let page = w.get(&mut pupr, &path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.testid("forbidden").is_some(), "{path}");
        assert!(!page.body.contains(title), "{path} leaked the title");
    }
    let head = w.head();
    let csrf = pupr.csrf.clone();
    for path in [
        format!("/opd/{DINKES}/complaints/{id}/acknowledge"),
        format!("/opd/{PUPR}/complaints/{id}/acknowledge"),
    ] {
        let page = w.post(&mut pupr, &path, &[("csrf", &csrf)]).await;
        assert_ne!(page.status, StatusCode::OK, "{path}");
    }
    assert_eq!(w.head(), head, "another org's action appended");
    // Its own inbox does not list the other org's complaint either.
    let own = w.get(&mut pupr, &format!("/opd/{PUPR}")).await;
    assert!(!own.body.contains(title));
    // The owner sees it, with the reporter withheld (confidential).
    let (mut dinkes, _) = w.sign_in(World::opd(DINKES)).await;
    let page = w
        .get(&mut dinkes, &format!("/opd/{DINKES}/complaints/{id}"))
        .await;
    assert_eq!(page.testid("complaint-title").as_deref(), Some(title));
    assert!(page.testid("reporter").is_none() && !page.body.contains("Siti Pelapor"));
}
