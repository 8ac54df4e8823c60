//! A real headless Chromium for the console's end-to-end tests: Debian's
//! `chromedriver` on a free loopback port (its process group killed on Drop),
//! a WebDriver session (fantoccini) on Debian's `chromium` with a fresh
//! profile, and the few steps the tests take: open a URL, find an element by
//! its `data-testid` (the console's page contract), fill a form, click, read
//! text, and save a screenshot under `target/browser-screenshots/`.
//!
//! It does not start `aduan` (see [`crate::Aduan`]), and it never skips: a
//! missing browser fails the test, saying how to install it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::{free_port, target_dir, wait_for_port};

/// Debian's chromium (package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a step waits for an element to appear.
const WAIT: Duration = Duration::from_secs(15);

/// Chromium's flags. Without the background-networking ones, Chromium's
/// connections are refused on the test machines (it tries to reach Google's
/// services first); `--no-sandbox` because the tests run as root.
const ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// How many browsers the tests of one process run at once: each Chromium
/// takes a core while it renders, and the machines have two.
static BROWSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A chromedriver and one headless Chromium session on it.
pub struct Browser {
    client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _slot: tokio::sync::SemaphorePermit<'static>,
}

/// Panics, saying how to install them, when chromium or chromedriver is missing.
fn require_installed() {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "{} missing: run scripts/test.sh, which installs Debian's chromium and chromium-driver \
         (or apt-get install chromium chromium-driver){}",
        missing.join(" and "),
        if std::env::var_os("CI").is_some() {
            "; CI must have them, so this is a failure, not a skip"
        } else {
            ""
        }
    );
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a fresh profile.
    pub async fn start() -> Self {
        Self::launch(true).await
    }

    /// [`Browser::start`] with the pages' JavaScript switched off (Chromium's
    /// content setting; WebDriver's own scripts still run).
    pub async fn start_without_javascript() -> Self {
        Self::launch(false).await
    }

    async fn launch(javascript: bool) -> Self {
        require_installed();
        let slot = BROWSERS
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let profile = tempfile::tempdir().expect("browser profile dir");
        let port = free_port();
        let mut driver = {
            use std::os::unix::process::CommandExt;
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                // Its own process group, so a drop can stop Chromium with it.
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map(Driver)
                .expect("spawn chromedriver")
        };
        wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            &mut driver.0,
            "chromedriver",
        );
        let mut args: Vec<String> = ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                // 1 allows, 2 blocks.
                "prefs": {"profile.managed_default_content_settings.javascript":
                    if javascript { 1 } else { 2 }},
            },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("capabilities are an object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("a Chromium session on chromedriver: {e}"));
        Self {
            client,
            _driver: driver,
            _profile: profile,
            _slot: slot,
        }
    }

    /// The WebDriver session, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The page's URL now.
    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("current URL").into()
    }

    /// The page's HTML now.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// The element with `data-testid="{id}"`, waiting for it; panics naming
    /// the page it is missing from.
    pub async fn by_testid(&self, id: &str) -> Element {
        self.find(&testid(id)).await
    }

    /// The element `css` selects, waiting for it.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("{} on {}: {e}", css, self.describe().await),
        }
    }

    /// The element `css` selects inside `parent` (no waiting: `parent` is loaded).
    pub async fn within(&self, parent: &Element, css: &str) -> Element {
        match parent.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("{css} inside its parent on {}: {e}", self.describe().await),
        }
    }

    /// Every element `css` selects now (no waiting).
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find elements")
    }

    /// Whether an element with `data-testid="{id}"` is on the page now.
    pub async fn has(&self, id: &str) -> bool {
        !self.all(&testid(id)).await.is_empty()
    }

    /// The visible text of `data-testid="{id}"`.
    pub async fn text(&self, id: &str) -> String {
        self.by_testid(id).await.text().await.expect("element text")
    }

    /// Sets the field `name` inside `form` (an element): selects the option
    /// of that value in a `<select>`, else types `value` into the cleared field.
    pub async fn fill(&self, form: &Element, name: &str, value: &str) {
        let field = form
            .find(Locator::Css(&format!("[name=\"{name}\"]")))
            .await
            .unwrap_or_else(|e| panic!("no field {name} in the form: {e}"));
        let tag = field.tag_name().await.expect("tag name");
        if tag.eq_ignore_ascii_case("select") {
            field
                .select_by_value(value)
                .await
                .unwrap_or_else(|e| panic!("no option {value:?} in select {name}: {e}"));
        } else {
            field.clear().await.expect("clear field");
            field.send_keys(value).await.expect("type into field");
        }
    }

    /// Clicks `data-testid="{id}"`, a link or a submit button, and waits
    /// for the page it leads to.
    pub async fn click(&self, id: &str) {
        let target = self.by_testid(id).await;
        self.click_element(&target).await;
    }

    /// Clicks `target`, a link or a submit button, and waits until the
    /// page it leads to has replaced this one and loaded. (WebDriver's click
    /// may return before a form's submission has even left.)
    pub async fn click_element(&self, target: &Element) {
        let old = self.find("html").await;
        if let Err(e) = target.click().await {
            panic!("click on {}: {e}", self.describe().await);
        }
        let deadline = Instant::now() + WAIT;
        // The old document's root goes stale once the next page replaces it.
        while old.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "the click led to no new page: {}",
                self.describe().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let ready = "return document.readyState";
        while self.client.execute(ready, vec![]).await.ok() != Some(json!("complete")) {
            assert!(
                Instant::now() < deadline,
                "the next page did not load: {}",
                self.describe().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Scrolls the window so that `target` is near its top (with what
    /// stands just above it, a heading say).
    pub async fn scroll_to(&self, target: &Element) {
        let arg = serde_json::to_value(target).expect("an element as JSON");
        self.client
            .execute(
                "arguments[0].scrollIntoView(true); window.scrollBy(0, -70);",
                vec![arg],
            )
            .await
            .expect("scroll");
    }

    /// Saves a PNG of the window to `target/browser-screenshots/{test}-{step}.png`
    /// and prints its path.
    pub async fn screenshot(&self, test: &str, step: &str) -> PathBuf {
        let dir = target_dir().join("browser-screenshots");
        std::fs::create_dir_all(&dir).expect("create the screenshot dir");
        let path = dir.join(format!("{test}-{step}.png"));
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot: {}", path.display());
        path
    }

    /// Ends the session (Chromium quits), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// The page now, for a failure message: its URL and the start of its HTML.
    async fn describe(&self) -> String {
        let url = self.client.current_url().await.map(String::from);
        let html = self.client.source().await.unwrap_or_default();
        let head: String = html.chars().take(1500).collect();
        format!("{} (page: {head})", url.unwrap_or_default())
    }
}

/// The chromedriver process, stopped with its process group when dropped,
/// also when a test panics (or the session could not even be created).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium processes it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The CSS selector of `data-testid="{id}"`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}
