//! Running the real `clickbill` binary: one-shot commands with a time limit, and servers that
//! are always stopped (a Drop guard kills them whatever the test did).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;

/// The longest any single command may run before the test fails.
const COMMAND_LIMIT: Duration = Duration::from_secs(30);
/// The longest a server may take to print its `listening` line.
const START_LIMIT: Duration = Duration::from_secs(20);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_clickbill")
}

/// A fresh directory for one test's database, removed when dropped.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `sqlite://<dir>/clickbill.db`
    pub fn db_url(&self) -> String {
        format!("sqlite://{}", self.db_path().display())
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("clickbill.db")
    }

    /// Runs `clickbill --database <this db> ARGS...`.
    pub fn run(&self, args: &[&str]) -> Outcome {
        run_on(&self.db_url(), args)
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        ok_on(&self.db_url(), args)
    }
}

/// Runs `clickbill --database DATABASE_URL ARGS...`.
pub fn run_on(database_url: &str, args: &[&str]) -> Outcome {
    let mut full = vec!["--database".to_owned(), database_url.to_owned()];
    full.extend(args.iter().map(|s| s.to_string()));
    run_command(bin(), &full, &[])
}

/// Runs a command on `database_url` that must succeed; returns its standard output.
pub fn ok_on(database_url: &str, args: &[&str]) -> String {
    let out = run_on(database_url, args);
    assert_eq!(out.code, 0, "clickbill {args:?} failed: {out:?}");
    out.stdout
}

/// What a finished process left behind.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// Runs `program ARGS...` with `env` added, killing it when it outlives [`COMMAND_LIMIT`].
pub fn run_command(program: &str, args: &[String], env: &[(&str, &str)]) -> Outcome {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove("CLICKBILL_DATABASE_URL")
        .env_remove("CLICKBILL_SECRET")
        .env_remove("CLICKBILL_LISTEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    let guard = KillOnDrop(child);
    let status = guard
        .wait_until(Instant::now() + COMMAND_LIMIT)
        .unwrap_or_else(|| panic!("{program} {args:?} did not finish within {COMMAND_LIMIT:?}"));
    Outcome {
        code: status.code().expect("exited normally, not by a signal"),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A child process that is killed when the guard goes away.
struct KillOnDrop(Child);

impl KillOnDrop {
    fn wait_until(mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.0.try_wait().expect("waiting for the child") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `clickbill serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    /// Standard output after the `listening` line, line by line.
    pub lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `clickbill --database <db> serve --listen 127.0.0.1:0 EXTRA...` and waits for its
    /// `listening` line.
    pub fn start(scratch: &Scratch, extra: &[&str]) -> Server {
        Server::start_on(&scratch.db_url(), extra)
    }

    /// Starts `clickbill --database DATABASE_URL serve --listen 127.0.0.1:0 EXTRA...` and waits
    /// for its `listening` line.
    pub fn start_on(database_url: &str, extra: &[&str]) -> Server {
        let mut command = Command::new(bin());
        command
            .args([
                "--database",
                database_url,
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env_remove("CLICKBILL_DATABASE_URL")
            .env_remove("CLICKBILL_LISTEN")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("clickbill serve starts");

        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let pipe = child.stderr.take().expect("piped");
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });

        let mut server = Server {
            child,
            port: 0,
            lines,
            stderr,
        };
        let first = match server.lines.recv_timeout(START_LIMIT) {
            Ok(line) => line,
            Err(_) => panic!(
                "no `listening` line within {START_LIMIT:?}; stderr:\n{}",
                server.stderr()
            ),
        };
        let addr = first
            .strip_prefix("clickbill listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        server.port = addr
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {first:?}"));
        assert!(addr.starts_with("127.0.0.1:"), "{first}");
        assert_ne!(server.port, 0);
        server
    }

    /// `http://LOGIN.localhost:PORT`
    pub fn base(&self, login: &str) -> String {
        format!("http://{login}.localhost:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The next `n` lines of standard output after the `listening` line.
    pub fn next_lines(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                self.lines
                    .recv_timeout(Duration::from_secs(5))
                    .expect("another line of output")
            })
            .collect()
    }

    /// Sends `signal` to the server process by its pid.
    #[cfg(unix)]
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.pid()).expect("a pid fits");
        // SAFETY: kill(2) with the pid of a child this guard owns and has not reaped yet.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits (bounded) for the process to end and returns its status.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the server") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {limit:?}; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// `kill -9` and reap.
    #[cfg(unix)]
    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
        let status = self.wait(Duration::from_secs(10));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `clickbill call --url BASE --login L --secret S METHOD PARAMS...`.
pub fn call(base: &str, login: &str, secret: &str, method: &str, params: &[&str]) -> Outcome {
    let mut args: Vec<String> = ["call", "--url", base, "--login", login, "--secret", secret]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(method.to_owned());
    args.extend(params.iter().map(|s| s.to_string()));
    run_command(bin(), &args, &[])
}

/// Whether `php` with its curl extension is available. When it is not, the caller skips, loudly,
/// unless CLICKBILL_REQUIRE_PHP=1 demands it (as CI does), in which case this fails the test.
pub fn php_with_curl(test: &str) -> bool {
    let modules = Command::new("php")
        .arg("-m")
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).to_ascii_lowercase());
    let problem = match modules {
        None => "`php` is not on the PATH",
        Some(list) if !list.lines().any(|m| m.trim() == "curl") => {
            "`php` has no curl extension (Debian/Ubuntu: apt-get install php-curl)"
        }
        Some(_) => return true,
    };
    if std::env::var("CLICKBILL_REQUIRE_PHP").as_deref() == Ok("1") {
        panic!("{test}: {problem}, and CLICKBILL_REQUIRE_PHP=1 requires it");
    }
    announce_skip(
        test,
        "NO PHP CLIENT WAS RUN",
        &[
            problem,
            "Install php-cli and php-curl, or set CLICKBILL_REQUIRE_PHP=1 to make this a failure.",
        ],
    );
    false
}

/// Tells loudly that `test` was skipped. Written to the stderr handle itself: the test harness
/// captures `eprintln!`, and this notice must be seen even though the test passes.
pub fn announce_skip(test: &str, headline: &str, reasons: &[&str]) {
    let rule = "#".repeat(90);
    let mut notice = format!("\n{rule}\n## {test}: SKIPPED, {headline}\n");
    for reason in reasons {
        notice.push_str(&format!("## {reason}\n"));
    }
    notice.push_str(&format!("{rule}\n\n"));
    let _ = std::io::stderr().write_all(notice.as_bytes());
}

/// Polls `check` every 20 ms until it returns true or `limit` passes; returns the time it took.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if check() {
            return Some(start.elapsed());
        }
        if start.elapsed() >= limit {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The PostgreSQL server the tests may create databases on.
pub const POSTGRES_URL_VARIABLE: &str = "CLICKBILL_TEST_POSTGRES_URL";

/// A database of its own on the PostgreSQL server, dropped (whoever is still connected) when
/// the guard goes: `clickbill` takes nothing but a URL, so a database is the unit of isolation.
/// Declare it before the servers that use it, so that it outlives them.
pub struct PostgresDatabase {
    server_url: String,
    pub name: String,
    /// `clickbill --database` for this database.
    pub url: String,
}

impl PostgresDatabase {
    /// A database named `PREFIX_...`; `None`, after a loud notice saying `skipped`, when no
    /// PostgreSQL server is configured.
    pub fn create(test: &str, prefix: &str, skipped: &str) -> Option<PostgresDatabase> {
        let Ok(server_url) = std::env::var(POSTGRES_URL_VARIABLE) else {
            announce_skip(
                test,
                skipped,
                &[
                    &format!("{POSTGRES_URL_VARIABLE} is not set."),
                    "Point it at a PostgreSQL server where tests may create databases, such as \
                     postgres://postgres@127.0.0.1:5432/postgres",
                ],
            );
            return None;
        };
        static CREATED: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "{prefix}_{}_{}_{}",
            std::process::id(),
            CREATED.fetch_add(1, Ordering::Relaxed),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .subsec_micros()
        );
        let mut url = reqwest::Url::parse(&server_url)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VARIABLE} is not a URL: {e}"));
        url.set_path(&format!("/{name}"));
        execute_on_server(&server_url, &format!("CREATE DATABASE {name}"));
        Some(PostgresDatabase {
            server_url,
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        execute_on_server(
            &self.server_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs one statement on the server's own database (plain TCP: a test server is local).
fn execute_on_server(server_url: &str, statement: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(server_url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot reach {POSTGRES_URL_VARIABLE}: {e}"));
        let connection = tokio::spawn(connection);
        client
            .batch_execute(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        drop(client);
        let _ = connection.await;
    });
}
