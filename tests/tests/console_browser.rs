//! The web console in a real headless Chromium (Debian's chromium and
//! chromium-driver, which scripts/test.sh installs), driven over WebDriver
//! against a real `aduan serve` (no NATS) with the sample rule set, in which
//! kab-pati-dinkes has its answers reviewed by its head. Each scenario finds
//! elements by the `data-testid` names of the console's page contract and
//! saves screenshots of its key steps to `target/browser-screenshots/`.

use aduan_e2e::browser::Browser;
use aduan_e2e::Aduan;

const SAMPLE: &str = include_str!("../../deploy/rules/sample.toml");
const BOUNDARIES: &str = include_str!("../../deploy/rules/sample-boundaries.geojson");

/// The OPD whose answers its head reviews in these tests.
const DINKES: &str = "kab-pati-dinkes";

/// A running `aduan serve` on a temporary data directory, with the sample
/// rule set in which [`DINKES`] has `review_answers = true`.
struct Console {
    aduan: Aduan,
    _dir: tempfile::TempDir,
}

impl Console {
    fn start() -> Self {
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
        let aduan = Aduan::serve(&data, None, &["--rules", rules]);
        Self { aduan, _dir: dir }
    }

    /// The URL of `path` on this serve.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.aduan.base())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_reads_a_page_of_a_real_serve() {
    let console = Console::start();
    aduan_e2e::wait_ready(console.aduan.http).await;
    let browser = Browser::start().await;
    browser.open(&console.url("/openapi.json")).await;
    let body = browser.find("body").await.text().await.expect("text");
    assert!(body.contains("\"openapi\""), "{body}");
    let png = browser.screenshot("harness", "openapi").await;
    let png = std::fs::read(png).expect("read the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    browser.close().await;
}
