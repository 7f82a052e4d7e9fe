//! Outgoing notifications through the real binary: an event committed before `kill -9` is
//! delivered after the restart, the `notifications` commands show and resend it, and a PHP
//! receiver running the documented hash check accepts every kind.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::support::{announce_skip, call, eventually, Scratch, Server};

/// A quick schedule so that a receiver that is down is retried many times a second.
const QUICK: &[&str] = &[
    "--notify-first-delay",
    "0.2",
    "--notify-backoff-factor",
    "1",
    "--notify-attempts",
    "100",
    "--notify-poll-interval",
    "0.1",
];

/// A free port of 127.0.0.1 that nothing listens on (yet).
pub(crate) fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// One request as the receiver saw it: the header block and the body.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    head: String,
    body: String,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// A minimal HTTP/1.1 receiver that answers every request `200 ok` and records it. Its thread
/// stops with the test process.
pub(crate) fn start_receiver(addr: SocketAddr) -> Arc<Mutex<Vec<Seen>>> {
    let listener = TcpListener::bind(addr).expect("the receiver binds");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            if let Some(request) = read_request(&stream) {
                log.lock().unwrap().push(request);
            }
            let mut stream = stream;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    seen
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let seen = Seen {
        head,
        body: String::new(),
    };
    let length: usize = seen.header("content-length")?.parse().ok()?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        body: String::from_utf8(body).ok()?,
        ..seen
    })
}

/// `notifications list` lines split into their tab-separated fields.
fn listed(s: &Scratch, extra: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["notifications", "list", "demo"];
    args.extend_from_slice(extra);
    s.ok(&args)
        .lines()
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect()
}

#[cfg(unix)]
#[test]
fn a_notification_committed_before_kill_9_is_delivered_after_the_restart() {
    let s = Scratch::new();
    let receiver = free_address();
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    let url = format!("http://{receiver}/jc.php?a=make");
    s.ok(&[
        "product",
        "add",
        "demo",
        "code1",
        "--title",
        "Course",
        "--price",
        "1000",
        "--url-new-order",
        &url,
    ]);

    let mut server = Server::start(&s, QUICK);
    let created = call(
        &server.base("demo"),
        "demo",
        "secret",
        "CreateOrder",
        &["bill_email=buyer@example.com", "goods[0][good_name]=code1"],
    );
    assert_eq!(created.code, 0, "{created:?}");
    // The receiver is down: the delivery is tried and stays pending.
    let mut event_id = String::new();
    let tried = eventually(Duration::from_secs(10), || {
        let rows = listed(&s, &["--state", "pending"]);
        match rows.as_slice() {
            [row] if row[4].parse::<u32>().unwrap_or(0) >= 1 => {
                event_id = row[0].clone();
                true
            }
            _ => false,
        }
    });
    assert!(tried.is_some(), "no failed attempt was logged");
    server.kill9();

    let seen = start_receiver(receiver);
    let _server = Server::start(&s, QUICK);
    let arrived = eventually(Duration::from_secs(15), || {
        seen.lock()
            .unwrap()
            .iter()
            .any(|r| r.header("x-clickbill-event-id") == Some(event_id.as_str()))
    });
    assert!(
        arrived.is_some(),
        "the event was not delivered after the restart"
    );
    let first = seen.lock().unwrap()[0].clone();
    assert!(
        first.head.starts_with("POST /jc.php?a=make HTTP/1.1"),
        "{first:?}"
    );
    assert!(
        first.body.starts_with("status=new_order&id=1&"),
        "{first:?}"
    );
    let attempt: u32 = first
        .header("x-clickbill-delivery-attempt")
        .unwrap()
        .parse()
        .unwrap();
    assert!(attempt >= 2, "{first:?}");

    let delivered = eventually(Duration::from_secs(10), || {
        listed(&s, &["--state", "delivered", "--bill", "1"]).len() == 1
    });
    assert!(delivered.is_some());
    let shown = s.run(&["notifications", "show", &event_id]).json();
    assert_eq!(shown["state"], "delivered");
    assert_eq!(shown["event"], "new_order");
    assert_eq!(shown["url"], url.as_str());
    let attempts = shown["attempts"].as_array().unwrap();
    let last = attempts.last().unwrap();
    assert_eq!(last["status"], 200);
    assert_eq!(last["response"], "ok");
    assert!(attempts[..attempts.len() - 1]
        .iter()
        .all(|a| a["status"].is_null() && a["error"] != ""));

    // Sent again by hand, with the same event id.
    s.ok(&["notifications", "redeliver", &event_id]);
    let again = eventually(Duration::from_secs(10), || {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|r| r.header("x-clickbill-event-id") == Some(event_id.as_str()))
            .count()
            >= 2
    });
    assert!(again.is_some(), "the redelivery did not arrive");

    let unknown = s.run(&[
        "notifications",
        "show",
        "0f8e0000-0000-4000-8000-000000000000",
    ]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    let malformed = s.run(&["notifications", "redeliver", "nope"]);
    assert_eq!(malformed.code, 2, "{malformed:?}");
}

/// The receiver of the README: the classic JustClick check, `created` for new_order and
/// cancel_order, `paid` (empty when absent) for the others. It logs `OK <event>` or
/// `BAD <event>` and answers 403 to a bad hash.
const PHP_RECEIVER: &str = r#"<?php
$key = 'secret';
$time = in_array($_POST['status'] ?? '', ['new_order', 'cancel_order'], true)
    ? $_POST['created'] : ($_POST['paid'] ?? '');
$ok = md5($_POST['id'] . $_POST['email'] . $time . $key) === $_POST['hash'];
file_put_contents(__DIR__ . '/received.log', ($ok ? 'OK ' : 'BAD ') . $_GET['a'] . "\n",
    FILE_APPEND | LOCK_EX);
http_response_code($ok ? 200 : 403);
echo $ok ? 'ok' : 'bad hash';
"#;

/// `php -S` serving the receiver, killed when dropped.
struct PhpServer(Child);

impl Drop for PhpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn php_available(test: &str) -> bool {
    let found = Command::new("php")
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        return true;
    }
    if std::env::var("CLICKBILL_REQUIRE_PHP").as_deref() == Ok("1") {
        panic!("{test}: `php` is not on the PATH, and CLICKBILL_REQUIRE_PHP=1 requires it");
    }
    announce_skip(
        test,
        "NO PHP RECEIVER WAS RUN",
        &["`php` is not on the PATH."],
    );
    false
}

#[test]
fn a_php_receiver_with_the_documented_check_accepts_every_kind() {
    if !php_available("a_php_receiver_with_the_documented_check_accepts_every_kind") {
        return;
    }
    let s = Scratch::new();
    let docroot = s.path().join("www");
    std::fs::create_dir(&docroot).unwrap();
    std::fs::write(docroot.join("receiver.php"), PHP_RECEIVER).unwrap();
    let addr = free_address();
    let php = PhpServer(
        Command::new("php")
            .args(["-S", &addr.to_string(), "-t"])
            .arg(&docroot)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("php -S starts"),
    );
    let up = eventually(Duration::from_secs(10), || TcpStream::connect(addr).is_ok());
    assert!(up.is_some(), "php -S did not start");

    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    s.ok(&[
        "tenant",
        "set",
        "demo",
        "prepayment_enabled=1",
        "prepayment_minsum=100",
    ]);
    let base = format!("http://{addr}/receiver.php");
    let mut product = vec![
        "product".to_owned(),
        "add".into(),
        "demo".into(),
        "code1".into(),
        "--title".into(),
        "Курс".into(),
        "--price".into(),
        "1000".into(),
    ];
    for (option, event) in [
        ("--url-new-order", "new_order"),
        ("--url-paid", "paid"),
        ("--url-prepaid", "prepaid"),
        ("--url-cancel", "cancel_order"),
        ("--url-moneyback", "moneyback"),
    ] {
        product.push(option.into());
        product.push(format!("{base}?a={event}"));
    }
    let product: Vec<&str> = product.iter().map(String::as_str).collect();
    s.ok(&product);

    let server = Server::start(&s, QUICK);
    let api = |method: &str, params: &[&str]| {
        let answer = call(&server.base("demo"), "demo", "secret", method, params);
        assert_eq!(answer.code, 0, "{method}: {answer:?}");
    };
    let order = ["bill_email=buyer@example.com", "goods[0][good_name]=code1"];
    api("CreateOrder", &order);
    api(
        "UpdateOrderStatus",
        &["bill_id=1", "status=paid", "date=1700000000", "sum=200"],
    );
    api(
        "UpdateOrderStatus",
        &["bill_id=1", "status=paid", "date=1700000100"],
    );
    api(
        "UpdateOrderStatus",
        &["bill_id=1", "status=moneyback", "ext_ref_no=R-1"],
    );
    api(
        "CreateOrder",
        &["bill_email=other@example.com", "goods[0][good_name]=code1"],
    );
    api("UpdateOrderStatus", &["bill_id=2", "status=cancel"]);

    let log = docroot.join("received.log");
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    // Order 1: new_order, prepaid, paid, moneyback; order 2: new_order, cancel_order.
    let all = eventually(Duration::from_secs(20), || read().lines().count() >= 6);
    assert!(all.is_some(), "received only:\n{}", read());
    let mut lines: Vec<String> = read().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "OK cancel_order",
            "OK moneyback",
            "OK new_order",
            "OK new_order",
            "OK paid",
            "OK prepaid",
        ]
    );
    drop(php);
}
