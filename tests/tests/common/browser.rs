//! A headless chromium for the browser tests, driven through chromedriver
//! (WebDriver) with fantoccini: one chromedriver per [`Browser`] on a free
//! loopback port, a fresh profile directory, the browser's console log
//! readable ([`Browser::severe`]), Chrome DevTools commands ([`Browser::cdp`])
//! for full-page and phone-size screenshots. Everything is ended on drop.
//!
//! The binaries: `CHROMEDRIVER_BIN` (else `/usr/bin/chromedriver`) and
//! `CHROMIUM_BIN` (else `/usr/bin/chromium`); `scripts/install-chromium.sh`
//! installs both. Without them the tests fail (they are never skipped).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// A binary named by `var`, else `default`; a panic saying how to get it.
fn binary(var: &str, default: &str) -> PathBuf {
    let how = "run scripts/install-chromium.sh (it installs Debian's chromium and \
               chromium-driver and prints chromedriver's path)";
    if let Some(p) = std::env::var_os(var) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "{var}={} is not a file; {how}, or unset {var}",
            p.display()
        );
        return p;
    }
    let p = PathBuf::from(default);
    assert!(
        p.is_file(),
        "no {default} (and {var} is not set): the browser tests need chromium and chromedriver; {how}"
    );
    p
}

/// The chromedriver binary.
pub fn chromedriver_bin() -> PathBuf {
    binary("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
}

/// The chromium binary.
pub fn chromium_bin() -> PathBuf {
    binary("CHROMIUM_BIN", "/usr/bin/chromium")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One HTTP/1.1 request with a JSON body (or none) to `addr`; the status and
/// the body as JSON (`Value::Null` when it is not JSON). `None` when the
/// connection fails. (chromedriver keeps connections open: the body is read
/// by its length.)
fn request(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let status = line.split_whitespace().nth(1)?.parse().ok()?;
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        r.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':')?;
        match n.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse::<usize>().ok(),
            "transfer-encoding" => chunked = v.contains("chunked"),
            _ => {}
        }
    }
    let mut raw = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).ok()?;
            let n = usize::from_str_radix(line.trim(), 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        raw.resize(n, 0);
        r.read_exact(&mut raw).ok()?;
    } else {
        r.read_to_end(&mut raw).ok()?;
    }
    Some((status, serde_json::from_slice(&raw).unwrap_or(Value::Null)))
}

/// A chromedriver process on a loopback port, killed on drop.
pub struct Driver {
    child: Child,
    /// `127.0.0.1:port`.
    pub addr: String,
}

impl Driver {
    /// Starts chromedriver and waits until `/status` says it is ready.
    pub fn start() -> Driver {
        let bin = chromedriver_bin();
        let mut last = String::new();
        // A port found free can be taken before chromedriver binds it: retry.
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("spawning {}: {e}", bin.display()));
            let addr = format!("127.0.0.1:{port}");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) {
                if let Ok(Some(status)) = child.try_wait() {
                    last = format!("{} exited with {status}", bin.display());
                    break;
                }
                if let Some((200, v)) = request(&addr, "GET", "/status", None) {
                    if v["value"]["ready"] == true {
                        return Driver { child, addr };
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            if last.is_empty() {
                last = format!("{} not ready on {addr} within 30 s", bin.display());
            }
        }
        panic!("chromedriver did not start: {last}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One entry of the browser's console log.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// `SEVERE`, `WARNING`, `INFO`, `DEBUG`.
    pub level: String,
    /// `javascript`, `network`, `console-api`, ...
    pub source: String,
    /// The text (with the URL for network entries).
    pub message: String,
}

/// A headless chromium session (its own chromedriver and profile), closed on drop.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    session: String,
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A 1280 x 1600 headless chromium; `scripts: false` disables JavaScript
    /// for the pages (a content setting: WebDriver's own scripts still run).
    pub async fn start(scripts: bool) -> Browser {
        let driver = Driver::start();
        let profile = tempfile::tempdir().expect("tempdir");
        let mut options = json!({
            "binary": chromium_bin(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                format!("--user-data-dir={}", profile.path().display()),
                "--window-size=1280,1600",
                // The date input's segments follow the locale: typed as en-US.
                "--lang=en-US",
                // Full-page screenshots as wide as the window.
                "--hide-scrollbars",
            ],
        });
        if !scripts {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://{}", driver.addr))
            .await
            .unwrap_or_else(|e| panic!("a chromium session through chromedriver: {e}"));
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        Browser {
            client,
            session,
            driver,
            _profile: profile,
        }
    }

    /// A command of the session that fantoccini has no method for, straight to
    /// chromedriver: `POST /session/{id}/{path}` with `body`; its `value`.
    pub fn command(&self, path: &str, body: &Value) -> Value {
        let p = format!("/session/{}/{path}", self.session);
        let (status, v) = request(&self.driver.addr, "POST", &p, Some(body))
            .unwrap_or_else(|| panic!("POST {p}: no answer from chromedriver"));
        assert_eq!(status, 200, "POST {p} {body}: {v}");
        v["value"].clone()
    }

    /// The browser's console log since the last call (chromedriver hands each
    /// entry out once): `POST /session/{id}/se/log {"type": "browser"}`.
    pub fn logs(&self) -> Vec<LogEntry> {
        let v = self.command("se/log", &json!({"type": "browser"}));
        let entries = v.as_array().unwrap_or_else(|| panic!("log: {v}"));
        entries
            .iter()
            .map(|e| LogEntry {
                level: e["level"].as_str().unwrap_or_default().to_string(),
                source: e["source"].as_str().unwrap_or_default().to_string(),
                message: e["message"].as_str().unwrap_or_default().to_string(),
            })
            .collect()
    }

    /// The `SEVERE` entries of [`Browser::logs`] (errors: uncaught exceptions,
    /// failed loads, `console.error`), as `source: message`.
    pub fn severe(&self) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .map(|e| format!("{}: {}", e.source, e.message))
            .collect()
    }

    /// A Chrome DevTools Protocol command; its result.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.command("goog/cdp/execute", &json!({"cmd": cmd, "params": params}))
    }

    /// Opens `url` and waits for its load event.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Runs `script` in the page (through WebDriver, so also when the page's
    /// own scripts are disabled); its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Every element matching `css`.
    pub async fn all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find_all {css}: {e}"))
    }

    /// The first element matching `css`.
    pub async fn one(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    /// A PNG of the whole page (beyond the viewport), through DevTools.
    pub fn full_page_png(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = self.cdp(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true}),
        );
        let data = v["data"].as_str().expect("screenshot data");
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64 PNG")
    }

    /// A PNG of the viewport.
    pub async fn viewport_png(&self) -> Vec<u8> {
        self.client.screenshot().await.expect("screenshot")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session (chromedriver closes chromium) before chromedriver is
        // killed, so no browser outlives the test.
        let p = format!("/session/{}", self.session);
        let _ = request(&self.driver.addr, "DELETE", &p, None);
    }
}

/// Polls `f` every 50 ms until it gives something, for at most `secs` seconds.
pub async fn poll<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(t) = f().await {
            return t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out after {secs} s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Width and height of a PNG (from its IHDR chunk); panics if not a PNG.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR",
        "not a PNG"
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// `target/screenshots/` of the target directory the tests run from
/// (`CARGO_TARGET_DIR` or the workspace's `target/`), created.
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test exe>
    let target: &Path = exe
        .ancestors()
        .nth(3)
        .expect("the test executable is under target/<profile>/deps");
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}
