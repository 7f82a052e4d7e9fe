//! `clickbill serve` under far more connections than its limits: memory stays bounded, the
//! excess is told to retry, `/healthz` answers, and the server serves normally afterwards.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{call, Scratch, Server};

const IDLE_CONNECTIONS: usize = 600;
const REQUESTS: usize = 900;
/// The growth of the server's resident memory allowed under the whole load.
const RSS_GROWTH_LIMIT_KB: u64 = 64 * 1024;

/// The resident set size of a process, from /proc.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .expect("VmRSS")
}

/// Sends one request on a new connection; the status line's code, or `None` when the
/// connection closed without an answer.
async fn exchange(port: u16, request: &[u8]) -> Option<u16> {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.write_all(request).await.ok()?;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        std::str::from_utf8(answer.get(9..12)?).ok()?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(20), attempt)
        .await
        .expect("an answer or a close within 20 s")
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
const API: &[u8] = b"POST /api/GetAllGoods HTTP/1.1\r\nHost: demo.localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nConnection: close\r\n\r\na=1";

#[cfg(target_os = "linux")]
#[test]
fn fifteen_hundred_connections_keep_memory_bounded() {
    let s = Scratch::new();
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    s.ok(&[
        "product", "add", "demo", "code1", "--title", "Course", "--price", "1000",
    ]);
    let server = Server::start(
        &s,
        &[
            "--max-connections",
            "64",
            "--max-in-flight",
            "16",
            "--read-timeout",
            "5",
        ],
    );
    let port = server.port;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for _ in 0..20 {
            assert_eq!(exchange(port, API).await, Some(200));
        }
    });
    let baseline = rss_kb(server.pid());

    let (peak, statuses) = runtime.block_on(async {
        let mut idle = Vec::new();
        for _ in 0..IDLE_CONNECTIONS {
            idle.push(
                TcpStream::connect(("127.0.0.1", port))
                    .await
                    .expect("connect"),
            );
        }
        let requests: Vec<_> = (0..REQUESTS)
            .map(|_| tokio::spawn(exchange(port, API)))
            .collect();
        let mut peak = rss_kb(server.pid());
        let started = Instant::now();
        let mut healthy = false;
        while started.elapsed() < Duration::from_secs(10) && !healthy {
            healthy = exchange(port, HEALTHZ).await == Some(200);
            peak = peak.max(rss_kb(server.pid()));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(healthy, "/healthz did not answer under load");
        let mut statuses = Vec::new();
        for request in requests {
            statuses.push(request.await.expect("client task"));
            peak = peak.max(rss_kb(server.pid()));
        }
        drop(idle);
        (peak, statuses)
    });
    let served = statuses.iter().filter(|s| **s == Some(200)).count();
    let shed = statuses.iter().filter(|s| **s == Some(503)).count();
    let closed = statuses.iter().filter(|s| s.is_none()).count();
    assert_eq!(
        served + shed + closed,
        REQUESTS,
        "only 200, 503 or a close: {statuses:?}"
    );
    assert!(shed > 0, "nothing was shed");

    std::thread::sleep(Duration::from_millis(500));
    let outcome = call(&server.base("demo"), "demo", "secret", "GetAllGoods", &[]);
    assert_eq!(outcome.code, 0, "after the load: {}", outcome.stderr);
    let after = rss_kb(server.pid());
    eprintln!(
        "overload: {IDLE_CONNECTIONS} idle + {REQUESTS} requests: {served} served, {shed} shed (503), {closed} closed; RSS {baseline} kB before, {peak} kB peak ({:.2}x), {after} kB after",
        peak as f64 / baseline as f64
    );
    assert!(
        peak < baseline + RSS_GROWTH_LIMIT_KB,
        "RSS grew from {baseline} kB to {peak} kB"
    );
}
