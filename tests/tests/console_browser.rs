//! The web console in a real headless Chromium (Debian's chromium and
//! chromium-driver, which scripts/test.sh installs), driven over WebDriver
//! against a real `aduan serve` (no NATS) with the sample rule set, in which
//! kab-pati-dinkes has its answers reviewed by its head. Each test starts its
//! own serve and browser; the pages are found by the `data-testid` names of
//! the console's page contract, and each test saves screenshots of its key
//! steps to `target/browser-screenshots/<test>-<step>.png`. What a test needs
//! before its story starts (other complaints, a resolution) goes through the
//! JSON API.

use std::time::{Duration, Instant};

use aduan_e2e::browser::{testid, Browser};
use aduan_e2e::{get_json, http, issue_token, post_json, try_http, Aduan};
use serde_json::{json, Value};

const SAMPLE: &str = include_str!("../../deploy/rules/sample.toml");
const BOUNDARIES: &str = include_str!("../../deploy/rules/sample-boundaries.geojson");

/// The OPD whose answers its head reviews in these tests.
const DINKES: &str = "kab-pati-dinkes";
/// An OPD without review.
const PUPR: &str = "kab-pati-pupr";

/// A running `aduan serve` on a temporary data directory, with the sample
/// rule set in which [`DINKES`] has `review_answers = true`.
struct Console {
    aduan: Aduan,
    _dir: tempfile::TempDir,
}

impl Console {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = dir.path().join("rules.toml");
        let reviewed = SAMPLE.replace(
            &format!("code = \"{DINKES}\"\n"),
            &format!("code = \"{DINKES}\"\nreview_answers = true\n"),
        );
        assert_ne!(reviewed, SAMPLE, "the sample names {DINKES}");
        std::fs::write(&rules, reviewed).expect("write rules");
        // The sample names its boundary file beside it.
        std::fs::write(dir.path().join("sample-boundaries.geojson"), BOUNDARIES)
            .expect("write boundaries");
        let data = dir.path().join("data");
        let rules = rules.to_str().expect("utf-8 path");
        let mut aduan = Aduan::serve(&data, None, &["--rules", rules]);
        ready(&mut aduan).await;
        Self { aduan, _dir: dir }
    }

    /// The URL of `path` on this serve.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.aduan.base())
    }

    /// A new API token (`aduan token issue ARGS`).
    fn token(&self, args: &[&str]) -> String {
        issue_token(&self.aduan.data, args)
    }

    /// Submits a complaint to region 33.18 over the JSON API and waits until
    /// it is routed to `org`; its `(complaint_id, tracking_no)`.
    async fn submit(&self, title: &str, body: &str, category: &str, org: &str) -> (String, String) {
        let submit = json!({"channel": "web", "channel_ref": format!("api-{title}"),
            "kind": "complaint", "title": title, "body": body, "category": category,
            "location": {"region_code": "33.18"},
            "reporter": {"name": "Siti", "phone": "081200000000", "privacy": "confidential"}});
        let (code, ack) = post_json(self.aduan.http, "/v1/complaints", &submit).await;
        assert_eq!(code, 201, "{ack}");
        let id = ack["complaint_id"].as_str().expect("id").to_owned();
        let no = ack["tracking_no"].as_str().expect("tracking no").to_owned();
        self.status_until(&no, |v| v["org"] == org).await;
        (id, no)
    }

    /// Resolves complaint `id` of `org` with `token` over the JSON API.
    async fn resolve(&self, org: &str, token: &str, id: &str, text: &str) {
        let body = json!({"complaint_id": id, "actor": "ani", "resolve": {"resolution": text}});
        let auth = format!("Bearer {token}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        let path = format!("/v1/orgs/{org}/complaints/{id}/actions");
        let body = body.to_string();
        let (code, out) = http(self.aduan.http, "POST", &path, &headers, body.as_bytes()).await;
        assert_eq!(code, 200, "{out}");
    }

    /// Polls the public status view of `no` until `done` holds for it.
    async fn status_until(&self, no: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (code, view) = get_json(self.aduan.http, &format!("/v1/complaints/{no}")).await;
            if code == 200 && done(&view) {
                return view;
            }
            assert!(Instant::now() < deadline, "status never got there: {view}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Waits until `/readyz` of `aduan` says ready (its services run and the
/// read models caught up with the rule set it published at start); panics
/// with its exit status if it stopped.
async fn ready(aduan: &mut Aduan) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match try_http(aduan.http, "GET", "/readyz", &[], b"").await {
            Some((200, _)) => return,
            Some(_) => {}
            None => {
                if let Some(code) = aduan.exited() {
                    panic!("aduan serve stopped with exit code {code:?}");
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "aduan serve not ready after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signs in on `/masuk` with `token`; returns the URL signing in led to.
async fn sign_in(b: &Browser, c: &Console, token: &str) -> String {
    b.open(&c.url("/masuk")).await;
    b.by_testid("signin-token")
        .await
        .send_keys(token)
        .await
        .expect("type the token");
    b.click("signin-submit").await;
    b.by_testid("whoami").await;
    b.url().await
}

/// The path of a URL on the serve.
fn path_of(c: &Console, url: &str) -> String {
    url.strip_prefix(&c.aduan.base()).unwrap_or(url).to_owned()
}

/// The CSS selector of the element `id` whose `data-complaint-id` is `complaint`.
fn row(id: &str, complaint: &str) -> String {
    format!("{}[data-complaint-id=\"{complaint}\"]", testid(id))
}

/// The texts of the public timeline on the page.
async fn timeline(b: &Browser) -> Vec<String> {
    b.by_testid("timeline").await;
    let mut out = Vec::new();
    for e in b.all(&testid("timeline-entry")).await {
        out.push(e.text().await.expect("entry text"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_submits_a_complaint_and_finds_it_by_its_tracking_number() {
    let c = Console::start().await;
    // The citizen's pages need no JavaScript: this browser runs none.
    let b = Browser::start_without_javascript().await;
    b.open("data:text/html,<title>no</title><script>document.title='ran'</script>")
        .await;
    assert_eq!(b.client().title().await.expect("title"), "no");
    b.open(&c.url("/")).await;
    let form = b.by_testid("submit-form").await;
    let title = "Jalan berlubang di depan pasar Juwana";
    b.fill(&form, "title", title).await;
    b.fill(
        &form,
        "body",
        "Lubang besar di jalan depan pasar, sudah dua bulan",
    )
    .await;
    b.fill(&form, "region_code", "33.18").await;
    b.fill(&form, "category", "infrastruktur").await;
    b.fill(&form, "name", "Siti Aminah").await;
    b.fill(&form, "phone", "081200000000").await;
    b.fill(&form, "email", "siti@contoh.test").await;
    b.fill(&form, "privacy", "public").await;
    b.screenshot("citizen", "1-form").await;
    b.click("submit-submit").await;

    let no = b.text("tracking-no").await;
    assert_eq!(no.len(), 11, "a tracking number like K7QMX-3PA9F: {no}");
    assert!(
        !b.text("reporter-token").await.is_empty(),
        "the token is shown once"
    );
    b.screenshot("citizen", "2-submitted").await;

    // Back on the citizen page, the lookup form finds it.
    b.open(&c.url("/")).await;
    b.by_testid("lookup-no")
        .await
        .send_keys(&no)
        .await
        .expect("type");
    b.click("lookup-submit").await;
    assert_eq!(path_of(&c, &b.url().await), format!("/lacak/{no}"));
    assert_eq!(b.text("tracking-no").await, no);
    // Routing runs after the acknowledgement: the owner shows once it has.
    let pupr = "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Pati";
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.text("owner").await != pupr {
        assert!(Instant::now() < deadline, "never routed to {pupr}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        b.client().refresh().await.expect("reload");
    }
    let status = b.by_testid("status").await;
    assert_eq!(
        status.attr("data-status").await.expect("attr").as_deref(),
        Some("routed")
    );
    assert!(!b.text("due").await.is_empty(), "a due date is shown");
    assert!(!timeline(&b).await.is_empty());
    let html = b.source().await;
    assert!(
        !html.contains("Siti Aminah"),
        "the public page names no reporter"
    );
    b.screenshot("citizen", "3-status").await;

    // Indonesian by default; the language link switches this page to English.
    let html = b.find("html").await;
    assert_eq!(
        html.attr("lang").await.expect("attr").as_deref(),
        Some("id")
    );
    b.click("lang-switch").await;
    assert_eq!(path_of(&c, &b.url().await), format!("/lacak/{no}"));
    let html = b.find("html").await;
    assert_eq!(
        html.attr("lang").await.expect("attr").as_deref(),
        Some("en")
    );
    assert!(b
        .find("h1")
        .await
        .text()
        .await
        .expect("text")
        .starts_with("Complaint status"));

    // An unknown number is a not-found page.
    b.open(&c.url("/lacak/AAAAA-AAAAA")).await;
    b.by_testid("not-found").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_drafts_the_head_approves_and_the_citizen_reads_the_answer() {
    let c = Console::start().await;
    let (operator, head) = (
        c.token(&["--role", "opd", "--org", DINKES, "--name", "ani"]),
        c.token(&["--role", "opd_head", "--org", DINKES, "--name", "bu-kepala"]),
    );
    // Three complaints in Dinkes's inbox; the story follows the second.
    c.submit(
        "Vaksin habis di posyandu",
        "Posyandu Tayu kehabisan vaksin",
        "kesehatan",
        DINKES,
    )
    .await;
    let title = "Obat kosong di puskesmas Juwana";
    let (id, no) = c
        .submit(
            title,
            "Obat di puskesmas Juwana habis sejak minggu lalu",
            "kesehatan",
            DINKES,
        )
        .await;
    c.submit(
        "Bidan jarang datang",
        "Bidan desa jarang datang ke posyandu",
        "kesehatan",
        DINKES,
    )
    .await;
    let b = Browser::start().await;
    let test = "review";

    // The operator signs in, finds it in the inbox and opens it.
    let landed = sign_in(&b, &c, &operator).await;
    assert_eq!(path_of(&c, &landed), format!("/opd/{DINKES}"));
    assert!(b.text("whoami").await.contains(DINKES));
    b.by_testid("inbox").await;
    assert_eq!(b.all(&testid("inbox-row")).await.len(), 3);
    let line = b.find(&row("inbox-row", &id)).await;
    assert_eq!(
        line.attr("data-overdue").await.expect("attr").as_deref(),
        Some("false")
    );
    b.screenshot(test, "1-inbox").await;
    let open = b.within(&line, "a[data-testid=\"inbox-open\"]").await;
    b.click_element(&open).await;
    assert_eq!(b.text("complaint-title").await, title);
    assert_eq!(b.text("tracking-no").await, no);
    // Siti chose `confidential`: the OPD does not see who she is.
    assert!(!b.has("reporter").await);
    assert!(!b.source().await.contains("081200000000"));

    // Acknowledges it, then drafts a resolution: held for the head.
    b.click("action-acknowledge-submit").await;
    let flash = b.by_testid("flash").await;
    assert_eq!(
        flash.attr("data-done").await.expect("attr").as_deref(),
        Some("acknowledge")
    );
    let answer = "Obat sudah dikirim dari gudang farmasi ke Puskesmas Juwana";
    let form = b.by_testid("action-resolve").await;
    b.fill(&form, "note", answer).await;
    b.click("action-resolve-submit").await;
    let flash = b.by_testid("flash").await;
    assert_eq!(
        flash.attr("data-draft").await.expect("attr").as_deref(),
        Some("true")
    );
    let status = b.by_testid("status").await;
    assert_eq!(
        status.attr("data-status").await.expect("attr").as_deref(),
        Some("in_progress")
    );
    b.screenshot(test, "2-drafted").await;
    // Nothing of the draft reaches the public page yet.
    let view = c.status_until(&no, |_| true).await;
    assert!(!view.to_string().contains(answer), "{view}");

    // Signed out, the inbox sends the browser to sign in.
    b.click("signout").await;
    b.open(&c.url(&format!("/opd/{DINKES}"))).await;
    assert_eq!(path_of(&c, &b.url().await), "/masuk");
    b.by_testid("signin-form").await;
    assert!(!b.has("inbox").await);

    // The head approves the draft on the drafts page.
    let landed = sign_in(&b, &c, &head).await;
    assert_eq!(path_of(&c, &landed), format!("/opd/{DINKES}/drafts"));
    let draft = b.find(&row("draft-row", &id)).await;
    assert_eq!(
        b.within(&draft, &testid("draft-text"))
            .await
            .text()
            .await
            .expect("text"),
        answer
    );
    b.screenshot(test, "3-drafts").await;
    let approve = b.within(&draft, &testid("draft-approve-submit")).await;
    b.click_element(&approve).await;
    b.by_testid("flash").await;
    assert!(
        b.all(&row("draft-row", &id)).await.is_empty(),
        "the draft is decided"
    );
    b.screenshot(test, "4-approved").await;
    b.click("signout").await;

    // The citizen sees the answer on the status page.
    b.open(&c.url(&format!("/lacak/{no}"))).await;
    let status = b.by_testid("status").await;
    assert_eq!(
        status.attr("data-status").await.expect("attr").as_deref(),
        Some("resolved")
    );
    let entries = timeline(&b).await;
    assert!(entries.iter().any(|e| e.contains(answer)), "{entries:?}");
    b.screenshot(test, "5-citizen-reads").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_returns_a_resolution_and_the_citizen_sees_it_returned() {
    let c = Console::start().await;
    let operator = c.token(&["--role", "opd", "--org", PUPR]);
    let admin = c.token(&["--role", "admin", "--name", "budi"]);
    let (id, no) = c
        .submit(
            "Jembatan retak",
            "Jembatan di Desa Sukolilo retak dan miring",
            "infrastruktur",
            PUPR,
        )
        .await;
    c.resolve(PUPR, &operator, &id, "Sudah kami periksa").await;
    c.status_until(&no, |v| v["status"] == "resolved").await;
    let b = Browser::start().await;
    let test = "admin-return";

    let landed = sign_in(&b, &c, &admin).await;
    assert_eq!(path_of(&c, &landed), "/admin");
    b.by_testid("triage").await;
    b.by_testid("overdue").await;
    let line = b.find(&row("resolution-row", &id)).await;
    let text = b.within(&line, &testid("resolution-text")).await;
    assert_eq!(text.text().await.expect("text"), "Sudah kami periksa");
    let form = b.within(&line, &testid("return-resolution")).await;
    let reason = "Belum dijelaskan kapan jembatan diperbaiki";
    b.fill(&form, "reason", reason).await;
    b.screenshot(test, "1-admin").await;
    let submit = b.within(&form, &testid("return-resolution-submit")).await;
    b.click_element(&submit).await;
    b.by_testid("flash").await;
    assert!(
        b.all(&row("resolution-row", &id)).await.is_empty(),
        "no longer to review"
    );
    b.screenshot(test, "2-returned").await;
    b.click("signout").await;

    b.open(&c.url(&format!("/lacak/{no}"))).await;
    let status = b.by_testid("status").await;
    assert_eq!(
        status.attr("data-status").await.expect("attr").as_deref(),
        Some("in_progress")
    );
    let entries = timeline(&b).await;
    let last = entries.last().expect("entries");
    assert!(
        last.contains("returned") && last.contains(reason),
        "{entries:?}"
    );
    b.screenshot(test, "3-citizen-sees").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_cannot_open_another_orgs_complaint_by_url() {
    let c = Console::start().await;
    let pupr = c.token(&["--role", "opd", "--org", PUPR]);
    let title = "Rahasia pasien puskesmas Tlogowungu";
    let (id, _) = c
        .submit(title, "Data pasien puskesmas bocor", "kesehatan", DINKES)
        .await;
    let b = Browser::start().await;
    let test = "forbidden";
    sign_in(&b, &c, &pupr).await;
    for path in [
        format!("/opd/{DINKES}/complaints/{id}"),
        format!("/opd/{PUPR}/complaints/{id}"),
        format!("/opd/{DINKES}"),
    ] {
        b.open(&c.url(&path)).await;
        b.by_testid("forbidden").await;
        assert!(!b.has("complaint-title").await, "{path}");
        assert!(!b.source().await.contains(title), "{path} leaks the title");
    }
    b.screenshot(test, "1-forbidden").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_ranks_the_opds_as_the_workload_implies() {
    let c = Console::start().await;
    // (org, category, complaints, resolved on time) in region 33.18 (kab-pati).
    let workload = [
        ("kab-pati-dinsos", "sosial", 1, 0),
        ("kab-pati-dlh", "lingkungan", 3, 2),
        ("kab-pati-disdik", "pendidikan", 2, 0),
        (PUPR, "infrastruktur", 2, 2),
        ("kab-pati-dishub", "transportasi", 2, 1),
    ];
    for (org, category, n, resolved) in workload {
        let token = c.token(&["--role", "opd", "--org", org]);
        for i in 0..n {
            let title = format!("Aduan {category} nomor {i}");
            let (id, no) = c
                .submit(&title, "Mohon segera ditangani", category, org)
                .await;
            if i < resolved {
                c.resolve(org, &token, &id, "Sudah ditangani").await;
                c.status_until(&no, |v| v["status"] == "resolved").await;
            }
        }
    }
    // Best share resolved on time first (2/2, 2/3, 1/2, then 0/2 before 0/1:
    // busier first), then the OPDs that received nothing, by code.
    let busy = [
        PUPR,
        "kab-pati-dlh",
        "kab-pati-dishub",
        "kab-pati-disdik",
        "kab-pati-dinsos",
    ];
    let today = time::OffsetDateTime::now_utc().date();
    let (from, to) = (today.previous_day(), today.next_day());
    let (from, to) = (
        from.expect("a day").to_string(),
        to.expect("a day").to_string(),
    );
    let query = format!("from={from}&to={to}");

    let auditor = c.token(&["--role", "auditor", "--name", "bpk"]);
    let auth = format!("Bearer {auditor}");
    let api = format!("/v1/stats/ranking?parent=kab-pati&{query}");
    let (code, body) = http(c.aduan.http, "GET", &api, &[("Authorization", &auth)], b"").await;
    assert_eq!(code, 200, "{body}");
    let ranking: Value = serde_json::from_str(&body).expect("JSON");
    let from_api: Vec<String> = ranking["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["org"].as_str().expect("org").to_owned())
        .collect();
    assert_eq!(from_api[..busy.len()], busy, "{ranking}");

    let b = Browser::start().await;
    let landed = sign_in(&b, &c, &auditor).await;
    assert_eq!(path_of(&c, &landed), "/dashboard");
    b.open(&c.url(&format!("/dashboard?org=kab-pati&{query}")))
        .await;
    b.by_testid("ranking").await;
    let mut shown = Vec::new();
    for e in b.all(&testid("ranking-entry")).await {
        shown.push(e.attr("data-org").await.expect("attr").expect("data-org"));
    }
    assert_eq!(shown[..busy.len()], busy);
    assert_eq!(shown, from_api, "the page keeps the read models' order");
    let rest = &shown[busy.len()..];
    assert!(rest.windows(2).all(|w| w[0] < w[1]), "{rest:?}");
    // The recap counts what the workload sent.
    let recap = b
        .find(&format!(
            "{}[data-org=\"kab-pati-dlh\"]",
            testid("recap-row")
        ))
        .await;
    let cell = b.within(&recap, "[data-col=\"received\"]").await;
    assert_eq!(cell.text().await.expect("text"), "3");
    b.by_testid("chart-channels").await;
    b.by_testid("chart-categories").await;
    b.screenshot("dashboard", "1-recap").await;
    let ranking = b.by_testid("ranking").await;
    b.scroll_to(&ranking).await;
    b.screenshot("dashboard", "2-ranking").await;
    b.close().await;
}
