//! The GET side: services from the rule set; a request's status as it moves
//! from open to closed; lists filtered by id, service, status and window.

use aduan_domain::calendar::unix_ms;

use super::*;

#[tokio::test]
async fn services_are_the_rule_sets_categories() {
    let w = world().await;
    let a = w.get("/services.json").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let list = a.body.as_array().expect("array");
    assert_eq!(list.len(), w.state.rules.categories().len());
    let health = list
        .iter()
        .find(|s| s["service_code"] == "kesehatan")
        .expect("kesehatan");
    assert_eq!(health["service_name"], "kesehatan");
    assert!(health["description"]
        .as_str()
        .unwrap_or("")
        .contains("puskesmas"));
    assert_eq!(
        (&health["metadata"], &health["type"]),
        (&Value::Bool(false), &Value::from("realtime"))
    );
    assert!(health["keywords"]
        .as_str()
        .unwrap_or("")
        .starts_with("puskesmas,rsud"));
    w.get("/services.xml").await.refused(400, "JSON only");
    w.get("/services/kesehatan.json")
        .await
        .refused(404, "metadata false");
    w.get("/services.json?api_key=wrong")
        .await
        .refused(403, "invalid api_key");
    assert_eq!(w.get("/services.json?api_key=good-key").await.status, 200);
    w.get("/nothing.json")
        .await
        .refused(404, "no Open311 resource");
}

/// Posts the Pati request and brings the read models up to date: its number and id.
async fn posted(w: &World) -> (String, ComplaintId) {
    let a = w.post(&pati_request()).await;
    let no = a.body[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (id, _) = w.received(&no).await;
    w.catch_up().await;
    (no, id)
}

#[tokio::test]
async fn a_request_shows_owner_deadline_and_last_note_and_closes_when_resolved() {
    let w = world().await;
    let (no, id) = posted(&w).await;
    let path = format!("/requests/{no}.json");
    let a = w.get(&path).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let r = &a.body[0];
    assert_eq!(r["service_request_id"], no.as_str());
    assert_eq!(
        (&r["status"], &r["service_code"]),
        (&Value::from("open"), &Value::from("infrastruktur"))
    );
    assert_eq!(r["agency_responsible"], Value::Null, "not routed yet");
    assert_eq!(
        (r["lat"].as_f64(), r["long"].as_f64()),
        (Some(-6.755), Some(111.038))
    );
    assert_eq!(r["address"], "Jl. Diponegoro, Pati");
    assert!(r["description"]
        .as_str()
        .unwrap_or("")
        .starts_with("Jalan berlubang"));
    assert!(r["requested_datetime"]
        .as_str()
        .unwrap_or("")
        .ends_with('Z'));
    let now = unix_ms(time::OffsetDateTime::now_utc());
    let due = now + 60 * 86_400_000;
    let routed = v1::ComplaintRouted {
        org: "kab-pati-pupr".into(),
        hop: 1,
        reason: "rule".into(),
        due_at_ms: due,
        acknowledge_due_ms: due,
        follow_up_due_ms: due,
        at_ms: now,
        ..Default::default()
    };
    w.then(&id, vec![routed.into()]).await;
    w.catch_up().await;
    let r = w.get(&path).await.body[0].clone();
    assert_eq!(
        r["agency_responsible"],
        "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Pati"
    );
    assert_eq!(
        r["expected_datetime"],
        aduan_projections::rfc3339(due).as_str()
    );
    let resolved = v1::ComplaintResolved {
        org: "kab-pati-pupr".into(),
        resolution: "Sudah ditambal".into(),
        at_ms: now + 1,
    };
    w.then(&id, vec![resolved.into()]).await;
    w.catch_up().await;
    let a = w.get(&path).await;
    let r = &a.body[0];
    assert_eq!(
        (&r["status"], &r["status_notes"]),
        (&Value::from("closed"), &Value::from("Sudah ditambal"))
    );
    assert_eq!(r["expected_datetime"], Value::Null);
    let text = a.body.to_string();
    for secret in ["Zaqwerty", "Namaunik", "rahasia.unik", "+62-899"] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
    w.get("/requests/ZZZZZ-99999.json")
        .await
        .refused(404, "not found");
    w.get("/requests/not-a-number!.json")
        .await
        .refused(404, "not found");
    w.get(&format!("/requests/{no}.xml"))
        .await
        .refused(400, "JSON only");
}

fn numbers(a: &Answer) -> Vec<String> {
    assert_eq!(a.status, 200, "{}", a.body);
    a.body
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn lists_filter_by_id_service_status_and_window() {
    let w = world().await;
    let (road, road_id) = posted(&w).await;
    let health = w
        .post(&[
            ("service_code", "kesehatan"),
            ("address_string", "Puskesmas Pati I"),
            ("description", "Obat habis"),
        ])
        .await;
    let health = health.body[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let resolved = v1::ComplaintResolved {
        org: "kab-pati-pupr".into(),
        resolution: "selesai".into(),
        at_ms: unix_ms(time::OffsetDateTime::now_utc()),
    };
    w.then(&road_id, vec![resolved.into()]).await;
    w.catch_up().await;
    let w = &w;
    let list = |q: String| async move { numbers(&w.get(&format!("/requests.json{q}")).await) };
    assert_eq!(
        list(String::new()).await,
        [health.clone(), road.clone()],
        "newest first"
    );
    assert_eq!(
        list("?service_code=kesehatan".into()).await,
        vec![health.clone()]
    );
    assert_eq!(list("?status=closed".into()).await, vec![road.clone()]);
    assert_eq!(list("?status=open".into()).await, vec![health.clone()]);
    assert_eq!(list("?status=open,closed".into()).await.len(), 2);
    assert_eq!(
        list(format!(
            "?service_request_id={road},ZZZZZ-99999&status=open"
        ))
        .await,
        vec![road.clone()],
        "ids override the other filters; unknown ones are left out"
    );
    assert!(list("?end_date=2020-01-01T00:00:00Z".into())
        .await
        .is_empty());
    let bad = |q: &'static str, says: &'static str| async move {
        w.get(&format!("/requests.json{q}"))
            .await
            .refused(400, says)
    };
    bad("?status=pending", "unknown status").await;
    bad("?service_code=nope", "unknown service_code").await;
    bad("?start_date=yesterday", "start_date").await;
    bad(
        "?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        "90 days",
    )
    .await;
    bad(
        "?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
        "before",
    )
    .await;
    w.get("/requests.json?api_key=wrong")
        .await
        .refused(403, "invalid api_key");
}
