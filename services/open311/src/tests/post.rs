//! `POST requests.json`: what a good request appends, how a point becomes a
//! region and a route, and every refusal appending nothing.

use aduan_domain::{Channel, RegionCode};
use aduan_rules::{Facts, Kind, Reason};

use super::*;

#[tokio::test]
async fn a_request_becomes_a_confidential_open311_complaint_in_the_region_of_its_point() {
    let w = world().await;
    let a = w.post(&pati_request()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let created = &a.body[0];
    let no = created["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        created["token"].as_str().map(str::len),
        Some(64),
        "the reporter token"
    );
    assert!(created["service_notice"]
        .as_str()
        .unwrap_or("")
        .contains(&no));
    let (_, r) = w.received(&no).await;
    assert_eq!(
        (r.channel.as_str(), r.kind.as_str()),
        ("open311", "complaint")
    );
    assert_eq!(r.category, "infrastruktur");
    assert_eq!(r.title, "Jalan berlubang di depan pasar");
    assert_eq!(r.body, "Jalan berlubang di depan pasar\nSudah dua bulan.");
    let l = r.location.expect("location");
    assert_eq!(l.region_code, "33.18");
    assert_eq!((l.lat, l.lon), (Some(-6.755), Some(111.038)));
    assert_eq!(l.address, "Jl. Diponegoro, Pati");
    let who = r.reporter.expect("reporter");
    assert_eq!(who.name, "Zaqwerty Namaunik");
    assert_eq!(
        who.privacy, "confidential",
        "confidential unless asked otherwise"
    );
    assert!(!r.channel_ref.is_empty(), "a generated reference");
}

/// How the router would route what the request stored.
fn route(w: &World, r: &v1::ComplaintReceived) -> aduan_rules::Decision {
    let region = r.location.as_ref().map(|l| l.region_code.as_str());
    let facts = Facts {
        region: region
            .filter(|c| !c.is_empty())
            .map(|c| RegionCode::parse(c).expect("code")),
        category: Some(r.category.clone()),
        title: r.title.clone(),
        body: r.body.clone(),
        kind: Kind::Complaint,
        channel: Channel::parse(&r.channel).expect("channel"),
    };
    w.state.rules.route(&facts, &[])
}

#[tokio::test]
async fn a_point_inside_a_sample_polygon_routes_to_its_opd_and_one_outside_to_triage() {
    let w = world().await;
    let inside = w.post(&pati_request()).await;
    let (_, r) = w
        .received(inside.body[0]["service_request_id"].as_str().expect("id"))
        .await;
    let d = route(&w, &r);
    assert_eq!((d.org.as_str(), d.reason), ("kab-pati-pupr", Reason::Rule));
    // Jakarta: in no sample polygon, so no region and the national triage.
    let mut outside = pati_request();
    outside[1] = ("lat", "-6.2");
    outside[2] = ("long", "106.85");
    let a = w.post(&outside).await;
    let (_, r) = w
        .received(a.body[0]["service_request_id"].as_str().expect("id"))
        .await;
    assert_eq!(
        r.location.as_ref().map(|l| l.region_code.as_str()),
        Some("")
    );
    let d = route(&w, &r);
    assert_eq!((d.org.as_str(), d.reason), ("nasional", Reason::NoRegion));
}

#[tokio::test]
async fn privacy_can_be_chosen_and_an_address_alone_is_enough() {
    let w = world().await;
    let a = w
        .post(&[
            ("service_code", "kesehatan"),
            ("address_string", "Puskesmas Pati I"),
            ("description", "Obat habis"),
            ("first_name", "Siti"),
            ("privacy", "public"),
        ])
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let (_, r) = w
        .received(a.body[0]["service_request_id"].as_str().expect("id"))
        .await;
    assert_eq!(r.reporter.expect("reporter").privacy, "public");
    let l = r.location.expect("location");
    assert_eq!((l.region_code.as_str(), l.lat), ("", None));
}

#[tokio::test]
async fn a_retry_dedupes_only_with_an_idempotency_key() {
    let w = world().await;
    let body = serde_urlencoded::to_string(pati_request()).expect("encode");
    let first = w
        .post_raw(FORM, body.clone().into_bytes(), Some("k-1"))
        .await;
    let after_first = w.head();
    let again = w
        .post_raw(FORM, body.clone().into_bytes(), Some("k-1"))
        .await;
    assert_eq!((first.status, again.status), (201, 200));
    assert_eq!(
        first.body[0]["service_request_id"],
        again.body[0]["service_request_id"]
    );
    let head = w.head();
    assert_eq!(head, after_first, "the retry appended nothing");
    let plain = w.post_raw(FORM, body.clone().into_bytes(), None).await;
    let plain2 = w.post_raw(FORM, body.into_bytes(), None).await;
    assert_eq!((plain.status, plain2.status), (201, 201));
    assert_ne!(
        plain.body[0]["service_request_id"],
        plain2.body[0]["service_request_id"]
    );
    assert_eq!(w.head(), head + 2);
}

#[tokio::test]
async fn an_api_key_must_be_valid_when_given_and_anonymous_posting_stays_possible() {
    let w = world().await;
    let mut with_key = pati_request();
    with_key.push(("api_key", "good-key"));
    assert_eq!(w.post(&with_key).await.status, 201);
    assert_eq!(w.post(&pati_request()).await.status, 201);
    let head = w.head();
    let mut bad = pati_request();
    bad.push(("api_key", "wrong"));
    w.post(&bad).await.refused(403, "invalid api_key");
    assert_eq!(w.head(), head, "nothing appended");
}

#[tokio::test]
async fn bad_requests_get_the_open311_error_array_and_append_nothing() {
    let w = world().await;
    let head = w.head();
    let without = |name: &str| -> Vec<(&'static str, &'static str)> {
        pati_request()
            .into_iter()
            .filter(|(k, _)| *k != name)
            .collect()
    };
    let with = |name: &'static str, value: &'static str| {
        let mut p = without(name);
        p.push((name, value));
        p
    };
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            with("service_code", "sampah-luar-angkasa"),
            "unknown service_code",
        ),
        (without("service_code"), "service_code is required"),
        (without("description"), "description is required"),
        (with("description", "   "), "description is required"),
        (with("lat", "abc"), "lat: \"abc\" is not a number"),
        (with("lat", "95"), "lat: \"95\""),
        (with("long", "NaN"), "long: "),
        (without("long"), "lat needs long"),
        (
            pati_request()
                .into_iter()
                .filter(|(k, _)| !["lat", "long", "address_string"].contains(k))
                .collect(),
            "lat and long, or address_string, are required",
        ),
        (
            with("privacy", "rahasia-sekali"),
            "privacy: unknown privacy",
        ),
        (with("email", "no-at-sign"), "email"),
    ];
    for (pairs, says) in cases {
        w.post(&pairs).await.refused(400, says);
    }
    let json = serde_json::to_vec(&serde_json::json!({"service_code": "kesehatan"})).expect("json");
    w.post_raw("application/json", json, None)
        .await
        .refused(415, "application/x-www-form-urlencoded");
    let huge = format!(
        "service_code=kesehatan&description={}",
        "a".repeat(70 * 1024)
    );
    w.post_raw(FORM, huge.into_bytes(), None)
        .await
        .refused(413, "exceeds 65536 bytes");
    let xml = w
        .send(
            Request::post("/requests.xml")
                .header(header::CONTENT_TYPE, FORM)
                .body(Body::from("service_code=kesehatan"))
                .expect("request"),
        )
        .await;
    xml.refused(400, "JSON only");
    assert_eq!(w.head(), head, "no refusal appends anything");
}
