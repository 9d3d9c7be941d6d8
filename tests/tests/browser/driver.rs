//! chromedriver and headless Chromium for one test.
//!
//! chromedriver is started on a free port and ended (by its own process id)
//! when the [`Browser`] goes. Chromium runs with `--headless --no-sandbox
//! --disable-gpu --disable-background-networking` and trusts exactly the
//! broker's test server certificate: its SPKI hash is pinned with
//! `--ignore-certificate-errors-spki-list` (no blanket acceptance of bad
//! certificates). Downloads go to a temporary folder.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use doorstroom_tests::TestBroker;
use fantoccini::actions::InputSource;
use fantoccini::{Client, ClientBuilder, Locator};
use openssl::sha::sha256;
use openssl::x509::X509;
use serde_json::json;
use tempfile::TempDir;

/// Where the screenshots go: `<target>/browser-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Base64 of the SHA-256 of the broker certificate's SubjectPublicKeyInfo.
fn server_spki_hash(broker: &TestBroker) -> String {
    let pem = std::fs::read(broker.pki.server_cert_path()).expect("server cert");
    let cert = X509::from_pem(&pem).expect("server cert PEM");
    let spki = cert.public_key().and_then(|k| k.public_key_to_der()).expect("SPKI");
    base64::engine::general_purpose::STANDARD.encode(sha256(&spki))
}

/// A headless Chromium session on the broker.
pub struct Browser {
    pub client: Client,
    pub downloads: TempDir,
    /// Where [`Browser::open`] goes: the broker, or (the desk's tests) a
    /// desk using the same server certificate.
    pub base_url: String,
    label: String,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver and a browser for `broker`; `label` names the
    /// screenshots (e.g. the backend).
    pub async fn start(broker: &TestBroker, label: &str) -> Browser {
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {chromedriver} (apt-get install chromium-driver): {e}"));
        let downloads = tempfile::tempdir().expect("downloads dir");
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--window-size=1280,1000",
                    format!("--ignore-certificate-errors-spki-list={}", server_spki_hash(broker)),
                ],
                "prefs": {
                    "download.default_directory": downloads.path().to_string_lossy(),
                    "download.prompt_for_download": false,
                    "intl.accept_languages": "nl-NL,nl",
                },
            }),
        );
        let webdriver = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let attempt = ClientBuilder::rustls()
                .expect("rustls connector")
                .capabilities(caps.clone())
                .connect(&webdriver)
                .await;
            match attempt {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no WebDriver session on {webdriver}: {e}"),
            }
        };
        Browser {
            client,
            downloads,
            base_url: broker.base_url.clone(),
            label: label.to_owned(),
            driver,
        }
    }

    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base_url))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn fill(&self, id: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("field #{id}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Sets the value of the field with `id` as a script (a date input's
    /// typed form depends on the browser's locale; its value does not).
    /// Used by the desk's tests, which share this driver.
    #[allow(dead_code)]
    pub async fn set_value(&self, id: &str, value: &str) {
        self.client
            .execute(
                "document.getElementById(arguments[0]).value = arguments[1];",
                vec![serde_json::json!(id), serde_json::json!(value)],
            )
            .await
            .unwrap_or_else(|e| panic!("setting #{id}: {e}"));
    }

    /// Chooses the option with `value` in the select with `id`.
    pub async fn choose(&self, id: &str, value: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("select #{id}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing {value} in #{id}: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("element {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Clicks a link or submit button and waits until the next page has
    /// replaced this one (WebDriver's click does not wait for that).
    pub async fn submit(&self, css: &str) {
        let old = self.client.find(Locator::Css("html")).await.expect("a page");
        self.click(css).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while old.attr("lang").await.is_ok() {
            assert!(Instant::now() < deadline, "clicking {css} did not load a new page");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css("main"))
            .await
            .unwrap_or_else(|e| panic!("the page after {css}: {e}"));
    }

    /// Presses Tab `n` times from the top of the page and names each element
    /// that got the focus (its id, else its class).
    pub async fn tab_order(&self, n: usize) -> Vec<String> {
        let mut names = Vec::new();
        for _ in 0..n {
            let actions = fantoccini::actions::KeyActions::new("keyboard".into())
                .then(fantoccini::actions::KeyAction::Down {
                    value: fantoccini::key::Key::Tab.into(),
                })
                .then(fantoccini::actions::KeyAction::Up {
                    value: fantoccini::key::Key::Tab.into(),
                });
            self.client.perform_actions(actions).await.expect("Tab");
            let focused = self.client.active_element().await.expect("focused element");
            let id = focused.attr("id").await.expect("id").filter(|s| !s.is_empty());
            let class = focused.attr("class").await.expect("class").unwrap_or_default();
            names.push(id.unwrap_or(class));
        }
        names
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.expect("text"),
            Err(e) => {
                let page = match self.client.find(Locator::Css("body")).await {
                    Ok(body) => body.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                panic!("element {css} on {}: {e}\n--- page ---\n{page}", self.path().await)
            }
        }
    }

    pub async fn body_text(&self) -> String {
        self.text("body").await
    }

    /// Saves a screenshot as `<label>-<name>.png` in the artifacts folder,
    /// checks that it is a real, non-trivial PNG, and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
        // A blank 1280×1000 page compresses to a few kB; a rendered page
        // with text is much larger.
        assert!(
            png.len() > 10_000,
            "{name}: screenshot of {} bytes looks empty",
            png.len()
        );
        let path = artifacts_dir().join(format!("{}-{name}.png", self.label));
        std::fs::write(&path, &png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Waits for a file whose name ends in `suffix` to finish downloading.
    pub async fn downloaded(&self, suffix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let entries: Vec<_> = std::fs::read_dir(self.downloads.path())
                .expect("downloads")
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .collect();
            // Chromium reserves the final name with an empty file while it
            // still writes into `<name>.crdownload`, and renames over the
            // reservation when the download is complete. So a file with the
            // final name is done only once no partial download is left and
            // it holds bytes (nothing the console exports is empty).
            let in_progress = entries.iter().any(|p| p.to_string_lossy().ends_with(".crdownload"));
            let done = entries
                .iter()
                .find(|p| p.to_string_lossy().ends_with(suffix))
                .filter(|p| !in_progress && std::fs::metadata(p).is_ok_and(|m| m.len() > 0));
            if let Some(path) = done {
                return std::fs::read_to_string(path).expect("downloaded file");
            }
            assert!(Instant::now() < deadline, "no {suffix} download appeared");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        let _ = self.driver.kill();
    }
}
