//! The route list against the router: each listed route reaches its handler
//! (not the fallback), and a method no route serves gets the error array.

use super::*;

#[tokio::test]
async fn every_listed_route_reaches_its_handler() {
    let w = world().await;
    for r in crate::routes::<SledLog>() {
        let uri = r
            .path
            .replace("{service_request_id}", "K7QMX-3PA9F")
            .replace("{service_code}", "kesehatan");
        let req = Request::builder()
            .method(r.method.clone())
            .uri(&uri)
            .header(header::CONTENT_TYPE, FORM)
            .body(Body::empty())
            .expect("request");
        let a = w.send(req).await;
        assert_ne!(a.status, 405, "{} {uri}: {}", r.method, a.body);
        assert!(
            !a.body.to_string().contains("no Open311 resource"),
            "{} {uri}: the fallback answered: {}",
            r.method,
            a.body
        );
    }
}

#[tokio::test]
async fn another_method_gets_405_in_the_open311_form_and_xml_stays_refused() {
    let w = world().await;
    for (method, uri) in [("DELETE", "/requests.json"), ("POST", "/services.json")] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        w.send(req).await.refused(405, "method not allowed");
    }
    w.get("/requests.xml").await.refused(400, "JSON only");
    w.get("/services/kesehatan.xml")
        .await
        .refused(400, "JSON only");
}
