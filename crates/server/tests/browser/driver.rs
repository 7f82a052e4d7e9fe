//! A headless Chromium driven through chromedriver (WebDriver), started per test and always
//! ended with every process it started.
//!
//! Without chromium and chromedriver the tests say so loudly and pass, unless
//! CLICKBILL_REQUIRE_CHROMIUM=1 (CI), where a missing browser fails them.

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::future::Future;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REQUIRE_VARIABLE: &str = "CLICKBILL_REQUIRE_CHROMIUM";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long any one wait for the page may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a whole browser test may take, start-up included.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The browser's window: a phone's or a desktop's.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub width: u32,
    pub height: u32,
}

pub const PHONE: Window = Window {
    width: 390,
    height: 844,
};
pub const DESKTOP: Window = Window {
    width: 1280,
    height: 900,
};

/// The binaries, or `None` (after the notice) when the machine has none and may skip.
pub fn binaries() -> Option<(PathBuf, PathBuf)> {
    let find = |variable: &str, default: &str| {
        std::env::var_os(variable)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let chromium = find("CLICKBILL_CHROMIUM", CHROMIUM);
    let driver = find("CLICKBILL_CHROMEDRIVER", CHROMEDRIVER);
    if chromium.is_file() && driver.is_file() {
        return Some((chromium, driver));
    }
    let missing = format!(
        "chromium ({}) or chromedriver ({}) not found; install the Debian packages \
         `chromium chromium-driver`",
        chromium.display(),
        driver.display()
    );
    if std::env::var(REQUIRE_VARIABLE).as_deref() == Ok("1") {
        panic!("{REQUIRE_VARIABLE}=1 but {missing}");
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a browser test");
    let rule = "#".repeat(90);
    let notice = format!(
        "\n{rule}\n## {test}: SKIPPED, NO BROWSER WAS USED\n## {missing}.\n\
         ## Set {REQUIRE_VARIABLE}=1 to make this a failure.\n{rule}\n\n"
    );
    let _ = std::io::stderr().write_all(notice.as_bytes());
    None
}

/// chromedriver in a process group of its own; dropping it ends the whole group, so that no
/// browser it started outlives the test, whatever happened to the session.
struct DriverProcess {
    child: Child,
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        let group = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with the negated id of the group this test created for chromedriver
        // (`process_group(0)` below) touches that group's processes only.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
        // Browsers of the group that chromedriver did not wait for are children of init by
        // now; give the kernel a moment to deliver the signal to them too.
        let deadline = Instant::now() + Duration::from_secs(5);
        // SAFETY: signal 0 only asks whether a process of the group still exists.
        while unsafe { libc::kill(-group, 0) } == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One browser session and everything behind it.
pub struct Browser {
    pub client: Client,
    _driver: DriverProcess,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless chromium of `window`'s size. Every `*.localhost`
    /// host resolves to 127.0.0.1, where the test servers listen.
    pub async fn start(chromium: &Path, driver: &Path, window: Window) -> Browser {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
        let driver_process = DriverProcess { child };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + STEP_TIMEOUT;
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("a browser profile directory");
        let options = serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-proxy-server",
                "--host-resolver-rules=MAP *.localhost 127.0.0.1",
                format!("--window-size={},{}", window.width, window.height),
                format!("--user-data-dir={}", profile.path().display()),
                "--lang=en-US",
            ],
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let client = tokio::time::timeout(
            STEP_TIMEOUT,
            ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities)
                .connect(&format!("http://{address}")),
        )
        .await
        .expect("the browser starts in time")
        .expect("a browser session");
        Browser {
            client,
            _driver: driver_process,
            _profile: profile,
        }
    }

    /// Runs `steps`; when they fail (or time out), saves a screenshot under the target
    /// directory and names it before failing the test. The session is ended either way.
    pub async fn run<F>(self, name: &str, steps: impl FnOnce(Client) -> F)
    where
        F: Future<Output = ()>,
    {
        use futures_util::FutureExt;
        let outcome = tokio::time::timeout(
            TEST_TIMEOUT,
            std::panic::AssertUnwindSafe(steps(self.client.clone())).catch_unwind(),
        )
        .await;
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(panic)) => Some(panic),
            Err(_) => Some(
                Box::new(format!("{name} took longer than {TEST_TIMEOUT:?}"))
                    as Box<dyn std::any::Any + Send>,
            ),
        };
        if failure.is_some() {
            self.save_screenshot(name).await;
        }
        let _ = tokio::time::timeout(STEP_TIMEOUT, self.client.clone().close()).await;
        if let Some(panic) = failure {
            std::panic::resume_unwind(panic);
        }
    }

    async fn save_screenshot(&self, name: &str) {
        let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        let path = directory.join(format!("{name}.png"));
        let taken = tokio::time::timeout(STEP_TIMEOUT, self.client.screenshot()).await;
        match taken {
            Ok(Ok(png)) => {
                let saved =
                    std::fs::create_dir_all(&directory).and_then(|()| std::fs::write(&path, png));
                match saved {
                    Ok(()) => println!("screenshot of the failure: {}", path.display()),
                    Err(e) => println!("cannot save the screenshot {}: {e}", path.display()),
                }
            }
            Ok(Err(e)) => println!("cannot take a screenshot: {e}"),
            Err(_) => println!("cannot take a screenshot: the browser does not answer"),
        }
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits for an element.
pub async fn find(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(STEP_TIMEOUT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} on the page: {e}"))
}

/// The text of an element, once it is there. While a form's answer loads, the element found
/// may belong to the page being left; it is then looked up again on the new one.
pub async fn text(client: &Client, css: &str) -> String {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        match find(client, css).await.text().await {
            Ok(text) => return text,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("text of {css}: {e}"),
        }
    }
}

/// Waits until the browser's address satisfies `wanted`; returns it.
pub async fn wait_for_url(client: &Client, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let url = client.current_url().await.expect("current url").to_string();
        if wanted(&url) {
            return url;
        }
        assert!(Instant::now() < deadline, "{what}; the browser is at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
