//! A real browser for the dashboard's tests: Debian's headless Chromium driven over WebDriver
//! (its `chromedriver`, started per test on a free port) with fantoccini. Without Chromium a
//! browser test is skipped with a note, except in CI (`CI` set), where it fails: `.ci/run`
//! installs `chromium` and `chromium-driver`.
//!
//! Screenshots go to `target/screenshots/` of the workspace (kept by CI as artifacts and
//! referenced by the README).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Where Debian puts the driver and the browser.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long a wait for the page may take before the test fails.
const WAIT: Duration = Duration::from_secs(30);

/// One headless Chromium session against one application.
pub struct Browser {
    client: Client,
    driver: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The workspace's `target/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots")
}

impl Browser {
    /// A browser on `base` (`http://127.0.0.1:port`), or `None` (skip) when Chromium is not
    /// installed outside CI.
    ///
    /// # Panics
    /// In CI when Chromium or its driver is missing or does not start.
    pub async fn start(base: &str) -> Option<Browser> {
        let installed =
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists();
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs Chromium for the browser tests: apt-get install chromium chromium-driver"
            );
            eprintln!(
                "skipped: Chromium is not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--window-size=1280,900", "--lang=en-US"],
            }
        });
        let caps = caps.as_object().cloned().expect("object");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < WAIT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = e;
                }
                Err(e) => panic!("chromedriver did not answer: {e}"),
            }
        };
        Some(Browser {
            client,
            driver,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// The WebDriver client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens a path of the application.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the page shown is at a path starting with `prefix` (a form's POST and its
    /// redirect may still be under way when the click returns); returns the path.
    pub async fn wait_path(&self, prefix: &str, within: Duration) -> String {
        let started = Instant::now();
        loop {
            let path = self.path().await;
            if path.starts_with(prefix) {
                return path;
            }
            assert!(
                started.elapsed() < within,
                "never reached `{prefix}` within {within:?} (page {path})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for an element (CSS selector).
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element `{css}` on {}: {e}", self.base))
    }

    /// Whether an element is on the page now.
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Types `text` into an input (cleared first).
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    /// Chooses the option whose value is `value` in a select.
    pub async fn select(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.select_by_value(value).await.expect("select");
    }

    /// Clicks an element.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Clicks a link or a form's button that loads a new page, and waits until that page has
    /// loaded: what is read next is never the page being left, even when both pages have the
    /// element (a filter form's results, a form that posts back to its own page).
    ///
    /// # Panics
    /// When no new page has loaded within the wait.
    pub async fn click_and_load(&self, css: &str) {
        let el = self.find(css).await;
        self.eval("window.__leaving = true; return null;").await;
        el.click().await.expect("click");
        let started = Instant::now();
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.__leaving === undefined && document.readyState === 'complete';",
                    Vec::new(),
                )
                .await;
            if matches!(loaded, Ok(ref v) if *v == json!(true)) {
                return;
            }
            assert!(
                started.elapsed() < WAIT,
                "clicking `{css}` loaded no new page within {WAIT:?} (page {})",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The visible text of an element.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// Waits until an element's text contains `needle`; returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str, within: Duration) -> String {
        let started = Instant::now();
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = el.text().await
                && text.contains(needle)
            {
                return text;
            }
            assert!(
                started.elapsed() < within,
                "`{css}` never showed `{needle}` within {within:?} (page {})",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The page's HTML.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("source")
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, Vec::new())
            .await
            .expect("script runs")
    }

    /// Whether every image on the page loaded (a plot that failed to render shows as broken).
    pub async fn images_loaded(&self) -> bool {
        self.eval(
            "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0);",
        )
        .await
            == json!(true)
    }

    /// Signs in with a key through the sign-in page.
    pub async fn sign_in(&self, key: &str) {
        self.goto("/sign-in").await;
        self.fill("#key", key).await;
        self.click("form[action='/sign-in'] button[type=submit]")
            .await;
        self.find("form.signout").await;
    }

    /// Signs out with the header's button.
    pub async fn sign_out(&self) {
        self.click("form.signout button").await;
        self.find("#key").await;
    }

    /// Saves a screenshot of the page as `target/screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Ends the browser session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
