//! Overload and slow clients: past its limits the server sheds load with 503 and `Retry-After`,
//! keeps answering `/healthz`, closes connections that keep it waiting, and recovers.

use crate::helpers::{envelope, signed, spawn_app_with, TestApp};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GOODS_TIME: Duration = Duration::from_secs(10);

/// A complete signed `GetAllGoods` request for `demo` that asks to close the connection after.
fn goods_request() -> Vec<u8> {
    let body = signed("", "demo", "secret");
    format!(
        "POST /api/GetAllGoods HTTP/1.1\r\nHost: demo.justclick.ru\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// What came back on one connection: the status and `Retry-After`, or nothing at all.
#[derive(Debug, PartialEq)]
enum Outcome {
    Answered {
        status: u16,
        retry_after: Option<String>,
    },
    Closed,
}

async fn exchange(addr: SocketAddr, request: &[u8]) -> Outcome {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request).await?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await?;
        Ok::<_, std::io::Error>(bytes)
    };
    let bytes = match tokio::time::timeout(GOODS_TIME, attempt).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => Vec::new(),
        Err(_) => panic!("no answer and no close within {GOODS_TIME:?}"),
    };
    let text = String::from_utf8_lossy(&bytes);
    let Some(status_line) = text.lines().next().filter(|l| l.starts_with("HTTP/1.1 ")) else {
        return Outcome::Closed;
    };
    let status = status_line[9..12].parse().expect("status code");
    let retry_after = text
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("retry-after")
                .then(|| value.trim().to_owned())
        });
    Outcome::Answered {
        status,
        retry_after,
    }
}

/// `/healthz` answers 200 within a few tries (a try may land while every slot is taken).
async fn healthz_answers(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Outcome::Answered { status: 200, .. } = exchange(addr, HEALTHZ).await {
            return;
        }
        assert!(Instant::now() < deadline, "/healthz does not answer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens `n` connections that send nothing, and waits until the server has taken them.
async fn idle_connections(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(TcpStream::connect(addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    held
}

async fn goods_succeed(app: &TestApp) {
    let answer = app.post_signed("GetAllGoods", "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.body.starts_with(r#"{"error_code":0,"#),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn past_max_connections_the_server_sheds_and_recovers() {
    let Some(app) = spawn_app_with(|config| {
        config.max_connections = 8;
        config.read_timeout = Duration::from_secs(30);
        config.idle_timeout = Duration::from_secs(30);
    })
    .await
    else {
        return;
    };
    let held = idle_connections(app.addr, 8).await;

    let request = goods_request();
    let flood: Vec<_> = (0..200)
        .map(|_| {
            let request = request.clone();
            let addr = app.addr;
            tokio::spawn(async move { exchange(addr, &request).await })
        })
        .collect();
    healthz_answers(app.addr).await;
    let mut shed = 0;
    for outcome in flood {
        match outcome.await.expect("client task") {
            Outcome::Answered {
                status: 503,
                retry_after,
            } => {
                assert_eq!(retry_after.as_deref(), Some("1"));
                shed += 1;
            }
            Outcome::Closed => {}
            other => panic!("a connection past the limit got {other:?}"),
        }
    }
    assert!(
        shed >= 100,
        "only {shed} of 200 connections were told to retry"
    );
    healthz_answers(app.addr).await;

    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let parallel: Vec<_> = (0..8)
        .map(|_| {
            let request = request.clone();
            let addr = app.addr;
            tokio::spawn(async move { exchange(addr, &request).await })
        })
        .collect();
    for outcome in parallel {
        assert_eq!(
            outcome.await.expect("client task"),
            Outcome::Answered {
                status: 200,
                retry_after: None
            }
        );
    }
    goods_succeed(&app).await;
}

/// Sends the head of a form request announcing `length` body bytes, and `sent` of them.
async fn stalled_request(addr: SocketAddr, length: usize, sent: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /api/GetAllGoods HTTP/1.1\r\nHost: demo.justclick.ru\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(sent).await.expect("part of the body");
    stream
}

async fn read_answer(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    tokio::time::timeout(GOODS_TIME, stream.read_to_end(&mut bytes))
        .await
        .expect("an answer in time")
        .expect("read");
    String::from_utf8(bytes).expect("UTF-8 answer")
}

#[tokio::test]
async fn past_max_in_flight_requests_are_shed_and_healthz_still_answers() {
    let Some(app) = spawn_app_with(|config| {
        config.max_in_flight = 1;
        config.read_timeout = Duration::from_secs(30);
    })
    .await
    else {
        return;
    };
    let body = signed("", "demo", "secret");
    let (first, rest) = body.as_bytes().split_at(4);
    let mut slow = stalled_request(app.addr, body.len(), first).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(
        exchange(app.addr, &goods_request()).await,
        Outcome::Answered {
            status: 503,
            retry_after: Some("1".into())
        }
    );
    healthz_answers(app.addr).await;

    slow.write_all(rest).await.expect("rest of the body");
    let answer = read_answer(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains(r#"{"error_code":0,"#), "{answer}");
    goods_succeed(&app).await;
}

#[tokio::test]
async fn a_request_over_its_time_is_answered_503() {
    let Some(app) = spawn_app_with(|config| {
        config.request_timeout = Duration::from_millis(300);
        config.read_timeout = Duration::from_secs(30);
    })
    .await
    else {
        return;
    };
    let started = Instant::now();
    let mut slow = stalled_request(app.addr, 100, b"a=1").await;
    let answer = read_answer(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(answer.contains("retry-after: 1\r\n"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    goods_succeed(&app).await;
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed() {
    let Some(app) = spawn_app_with(|config| {
        config.idle_timeout = Duration::from_millis(300);
        config.read_timeout = Duration::from_millis(500);
    })
    .await
    else {
        return;
    };
    // A keep-alive connection that finished its request and then says nothing.
    let mut idle = TcpStream::connect(app.addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("request");
    let started = Instant::now();
    let answer = read_answer(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );

    // A head that trickles in, one byte every 100 ms, and never ends.
    let mut trickle = TcpStream::connect(app.addr).await.expect("connect");
    trickle
        .write_all(b"POST /api/GetAllGoods HTTP/1.1\r\nHost: demo.justclick.ru\r\nX-Slow: ")
        .await
        .expect("start of the head");
    let started = Instant::now();
    let mut closed = false;
    for _ in 0..100 {
        let mut probe = [0u8; 256];
        let waited = tokio::time::timeout(Duration::from_millis(100), trickle.read(&mut probe));
        // Closed, reset, or answered (408) and closed: the server stopped waiting.
        if waited.await.is_ok() {
            closed = true;
            break;
        }
        if trickle.write_all(b"a").await.is_err() {
            closed = true;
            break;
        }
    }
    assert!(closed, "a head sent over 10 s was still being read");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed after {:?}",
        started.elapsed()
    );
    goods_succeed(&app).await;
}

#[tokio::test]
async fn a_body_over_max_body_bytes_carries_no_parameters() {
    let Some(app) = spawn_app_with(|config| config.max_body_bytes = 200).await else {
        return;
    };
    let padded = format!("x={}", "a".repeat(300));
    app.post_signed("GetAllGoods", &padded)
        .await
        .assert_body(&envelope(2, "No transmitted data", "secret"));
    goods_succeed(&app).await;
}
