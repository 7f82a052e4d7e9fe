//! Outgoing notifications (SPEC §16) as a receiver on 127.0.0.1 gets them: the bodies of the
//! examples byte for byte, the headers, retries while the receiver is down or failing, and
//! redelivery.

use crate::contacts::{recorded, wordpress_history};
use crate::helpers::{history_of_11_3, spawn_app_notifying, TestApp, EXAMPLES_TIME};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use clickbill_client::Notification;
use clickbill_domain::model::BillId;
use clickbill_domain::outbox::{now_ms, DeliveryFilter, DeliveryState, EventId, RetrySchedule};
use clickbill_domain::Store;
use clickbill_server::NotifierConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const CREATE_12345: &str = "bill_address=Lenina+1%2C+kv.+2&bill_city=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&bill_comment=Comment+%7E%21%2A%28%29%27&bill_email=client%40example.com&bill_first_name=%D0%98%D0%B2%D0%B0%D0%BD&bill_surname=Petrov&bill_phone=%2B77777777777&bill_tag=Tag&bill_timer_kill=1&utm%5Butm_source%5D=source&utm%5Butm_medium%5D=medium&utm%5Butm_campaign%5D=campaign&utm%5Butm_term%5D=term&goods%5B0%5D%5Bgood_name%5D=code1&goods%5B0%5D%5Bgood_sum%5D=1000&goods%5B1%5D%5Bgood_name%5D=code2&goods%5B1%5D%5Bgood_sum%5D=1999.5&bill_created=1700000000&hash=a40b3c4983c8b1b73927716674cfb9a3";
const CANCEL_12345: &str =
    "bill_id=12345&status=cancel&date=1700000000&hash=0cb35345faceccc78a31984609cb696f";
const MONEYBACK_12344: &str =
    "bill_id=12344&status=moneyback&ext_ref_no=R-1&hash=500e69c1a1589cfe13e2373ff704c81e";
const CREATE_12346: &str = "rpsKey=secret&customer_email=buyer%40example.com&customer_first_name=John&customer_last_name=Smith&order_created_at=2023-11-16+10%3A00%3A00&product_names=code1%2Ccode2&product_prices=900&coupon=586&affiliates=anna&utm_source=newsletter";
const PREPAY_12346: &str =
    "bill_id=12346&status=paid&date=1700125200&sum=1000&hash=c5dcc9fff84b78fba3114eebcc925fc8";

fn example(name: &str) -> String {
    let path = format!(
        "{}/../../testdata/notifications/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim_end()
        .to_owned()
}

/// A short schedule: 100, 200, 400 ms between five attempts.
fn quick(attempts: u32) -> NotifierConfig {
    NotifierConfig {
        schedule: RetrySchedule {
            first_delay: Duration::from_millis(100),
            factor: 2,
            attempts,
        },
        poll_interval: Duration::from_millis(100),
        ..NotifierConfig::default()
    }
}

/// One POST as the receiver saw it.
#[derive(Clone, Debug)]
struct Received {
    /// Path and query, e.g. `/jc.php?a=paid`.
    target: String,
    event_id: String,
    attempt: String,
    user_agent: String,
    content_type: String,
    body: String,
}

/// A receiver on a port of 127.0.0.1 that records what it gets and answers `status`, except
/// `200` for targets listed in `always_ok`.
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    task: Option<JoinHandle<()>>,
}

impl Receiver {
    async fn start(addr: SocketAddr, always_ok: &'static [&'static str]) -> Receiver {
        let listener = TcpListener::bind(addr).await.expect("receiver binds");
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (log, answer) = (Arc::clone(&received), Arc::clone(&status));
        let handler = move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (log, answer) = (Arc::clone(&log), Arc::clone(&answer));
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let target = uri.path_and_query().map(ToString::to_string).unwrap();
                let ok = always_ok.contains(&target.as_str());
                log.lock().unwrap().push(Received {
                    event_id: header("x-clickbill-event-id"),
                    attempt: header("x-clickbill-delivery-attempt"),
                    user_agent: header("user-agent"),
                    content_type: header("content-type"),
                    body: String::from_utf8(body.to_vec()).unwrap(),
                    target,
                });
                let code = if ok {
                    200
                } else {
                    answer.load(Ordering::SeqCst)
                };
                (StatusCode::from_u16(code).unwrap(), "thanks")
            }
        };
        let router = axum::Router::new().fallback(handler);
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("receiver runs");
        });
        Receiver {
            received,
            status,
            task: Some(task),
        }
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (at most 15 s) until `done` holds for what was received.
    async fn wait_until(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..300 {
            let all = self.all();
            if done(&all) {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: not received in time; got {:#?}", self.all());
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A free port of 127.0.0.1 that nothing listens on (yet).
async fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

async fn app_notifying(receiver: SocketAddr, config: NotifierConfig) -> Option<TestApp> {
    spawn_app_notifying(config, &format!("http://{receiver}")).await
}

fn distinct_events(received: &[Received]) -> BTreeSet<String> {
    received.iter().map(|r| r.event_id.clone()).collect()
}

#[tokio::test]
async fn every_event_reaches_its_urls_with_the_bodies_of_16() {
    let addr = free_address().await;
    let receiver = Receiver::start(addr, &[]).await;
    let Some(app) = app_notifying(addr, quick(5)).await else {
        return;
    };
    history_of_11_3(&app).await;
    app.post("CreateOrder", CREATE_12345)
        .await
        .assert_body(r#"{"error_code":0,"error_text":"Order created","result":{"bill_id":"12345"},"hash":"d72287948e429b9fe09196a0bdab2490"}"#);
    // A duplicate (601) notifies nothing.
    app.post("CreateOrder", CREATE_12345).await;
    app.post("UpdateOrderStatus", CANCEL_12345).await;
    app.post("UpdateOrderStatus", MONEYBACK_12344).await;
    app.clock.set(EXAMPLES_TIME + 3_600);
    app.post("createorder", CREATE_12346).await;
    app.post("UpdateOrderStatus", PREPAY_12346)
        .await
        .assert_body(
            r#"{"error_code":0,"error_text":"OK","hash":"b60bb23ab72ead13463d1205065965a5"}"#,
        );

    // new_order 12344, 12345 and 12346 (each once: their products share one URL), paid 12344,
    // cancel_order 12345, moneyback 12344, prepaid 12346.
    let received = receiver
        .wait_until("seven notifications", |all| all.len() >= 7)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = if receiver.all().len() > received.len() {
        receiver.all()
    } else {
        received
    };
    assert_eq!(received.len(), 7, "{received:#?}");
    let by_target = |target: &str| -> Vec<String> {
        received
            .iter()
            .filter(|r| r.target == target)
            .map(|r| r.body.clone())
            .collect()
    };
    let made = by_target("/jc.php?a=make");
    assert_eq!(made.len(), 3, "{made:#?}");
    assert!(made.contains(&example("new_order")), "{made:#?}");
    assert_eq!(by_target("/jc.php?a=paid"), [example("paid")]);
    assert_eq!(by_target("/jc.php?a=cancel"), [example("cancel_order")]);
    assert_eq!(by_target("/jc.php?a=moneyback"), [example("moneyback")]);
    assert_eq!(by_target("/jc.php?a=prepaid"), [example("prepaid")]);

    let version = format!("clickbill/{}", env!("CARGO_PKG_VERSION"));
    for r in &received {
        assert_eq!(r.attempt, "1");
        assert_eq!(r.user_agent, version);
        assert_eq!(r.content_type, "application/x-www-form-urlencoded");
        assert!(EventId::parse(&r.event_id).is_some(), "{}", r.event_id);
        assert!(
            Notification::parse(r.body.as_bytes())
                .verify_detected("secret")
                .is_ok(),
            "{r:#?}"
        );
    }
    assert_eq!(distinct_events(&received).len(), 7);

    let log = app
        .store
        .deliveries(
            app.demo.id,
            DeliveryFilter {
                bill_id: BillId::new(12344),
                ..DeliveryFilter::default()
            },
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = log.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["new_order", "paid", "moneyback"]);
    for delivery in &log {
        assert_eq!(delivery.state, DeliveryState::Delivered);
        let (_, attempts) = app
            .store
            .delivery(&delivery.event_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].status, Some(200));
        assert_eq!(attempts[0].response, b"thanks");
    }
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_every_event_once_it_is_up() {
    let addr = free_address().await;
    let Some(app) = app_notifying(addr, quick(8)).await else {
        return;
    };
    history_of_11_3(&app).await;
    app.post("CreateOrder", CREATE_12345).await;
    app.post("UpdateOrderStatus", CANCEL_12345).await;
    // Long enough for a few refused attempts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pending = app
        .store
        .deliveries(app.demo.id, DeliveryFilter::default())
        .await
        .unwrap();
    assert_eq!(pending.len(), 4, "{pending:#?}");
    for delivery in &pending {
        assert_eq!(delivery.state, DeliveryState::Pending);
        let (_, attempts) = app
            .store
            .delivery(&delivery.event_id)
            .await
            .unwrap()
            .unwrap();
        assert!(!attempts.is_empty());
        assert!(attempts
            .iter()
            .all(|a| a.status.is_none() && !a.error.is_empty()));
    }

    let receiver = Receiver::start(addr, &[]).await;
    let received = receiver
        .wait_until("every event", |all| distinct_events(all).len() == 4)
        .await;
    let expected: BTreeSet<String> = pending.iter().map(|d| d.event_id.to_string()).collect();
    assert_eq!(distinct_events(&received), expected);
    assert!(received
        .iter()
        .all(|r| r.attempt.parse::<u32>().unwrap() > 1));
    for _ in 0..100 {
        let all = app
            .store
            .deliveries(app.demo.id, DeliveryFilter::default())
            .await
            .unwrap();
        if all.iter().all(|d| d.state == DeliveryState::Delivered) {
            for delivery in all {
                let (_, attempts) = app
                    .store
                    .delivery(&delivery.event_id)
                    .await
                    .unwrap()
                    .unwrap();
                let last = attempts.last().unwrap();
                assert_eq!(last.status, Some(200));
                assert_eq!(last.attempt as usize, attempts.len());
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deliveries were not all recorded as delivered");
}

#[tokio::test]
async fn a_failing_receiver_fails_after_the_schedule_without_holding_up_others() {
    let addr = free_address().await;
    let receiver = Receiver::start(addr, &["/jc.php?a=paid"]).await;
    receiver.status.store(500, Ordering::SeqCst);
    let Some(app) = app_notifying(addr, quick(3)).await else {
        return;
    };
    history_of_11_3(&app).await;

    // paid arrives at once although new_order keeps failing.
    receiver
        .wait_until("paid", |all| {
            all.iter().any(|r| r.target == "/jc.php?a=paid")
        })
        .await;
    let made = receiver
        .wait_until("three attempts of new_order", |all| {
            all.iter().filter(|r| r.target == "/jc.php?a=make").count() >= 3
        })
        .await;
    let attempts: Vec<&str> = made
        .iter()
        .filter(|r| r.target == "/jc.php?a=make")
        .map(|r| r.attempt.as_str())
        .collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    let event_id = made
        .iter()
        .find(|r| r.target == "/jc.php?a=make")
        .unwrap()
        .event_id
        .clone();
    assert!(made
        .iter()
        .filter(|r| r.target == "/jc.php?a=make")
        .all(|r| r.event_id == event_id));
    let event_id = EventId::parse(&event_id).unwrap();

    let mut failed = None;
    for _ in 0..100 {
        let (delivery, log) = app.store.delivery(&event_id).await.unwrap().unwrap();
        if delivery.state == DeliveryState::Failed {
            failed = Some(log);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = failed.expect("marked failed after three attempts");
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|a| a.status == Some(500) && a.error == "HTTP 500"));
    // 100 ms, then 200 ms between the attempts.
    assert!(log[1].at_ms - log[0].at_ms >= 100, "{log:#?}");
    assert!(log[2].at_ms - log[1].at_ms >= 200, "{log:#?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count = |target: &str| receiver.all().iter().filter(|r| r.target == target).count();
    assert_eq!(count("/jc.php?a=make"), 3, "no attempt after the last");
    assert_eq!(count("/jc.php?a=paid"), 1);
    let states: BTreeMap<String, DeliveryState> = app
        .store
        .deliveries(app.demo.id, DeliveryFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.kind, d.state))
        .collect();
    assert_eq!(states["paid"], DeliveryState::Delivered);
    assert_eq!(states["new_order"], DeliveryState::Failed);

    // Sent again by hand, with the same event id, once the receiver works.
    receiver.status.store(200, Ordering::SeqCst);
    assert!(app.store.redeliver(&event_id, now_ms()).await.unwrap());
    let again = receiver
        .wait_until("the redelivery", |all| {
            all.iter().filter(|r| r.target == "/jc.php?a=make").count() == 4
        })
        .await;
    let last = again
        .iter()
        .rfind(|r| r.target == "/jc.php?a=make")
        .unwrap();
    assert_eq!(last.event_id, event_id.as_str());
    assert_eq!(last.attempt, "4");
    for _ in 0..100 {
        let (delivery, _) = app.store.delivery(&event_id).await.unwrap().unwrap();
        if delivery.state == DeliveryState::Delivered {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the redelivery was not recorded");
}

#[tokio::test]
async fn the_first_attempt_follows_the_commit_within_a_second() {
    let addr = free_address().await;
    let receiver = Receiver::start(addr, &[]).await;
    // A worker that looks at the outbox on its own only every 30 s: the first attempt comes
    // sooner only because the commit wakes it.
    let config = NotifierConfig {
        poll_interval: Duration::from_secs(30),
        ..NotifierConfig::default()
    };
    let Some(app) = app_notifying(addr, config).await else {
        return;
    };
    // The worker's first look at the outbox finds nothing; the order comes after it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answered = std::time::Instant::now();
    app.post("CreateOrder", CREATE_12345).await;
    receiver
        .wait_until("new_order", |all| !all.is_empty())
        .await;
    let took = answered.elapsed();
    eprintln!("first attempt {took:?} after the answer to CreateOrder");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

/// SPEC §16.9: the unsubscription of §12.3 reaches the tenant's `unsubscribe_url` with the
/// example's body, once, and nothing else is sent for the subscriptions before it.
#[tokio::test]
async fn an_unsubscription_reaches_the_unsubscribe_url_as_16_9_shows() {
    let addr = free_address().await;
    let receiver = Receiver::start(addr, &[]).await;
    let Some(app) = app_notifying(addr, quick(3)).await else {
        return;
    };
    wordpress_history(&app).await;
    app.post("DeleteSubscribe", recorded("DeleteSubscribe")[0].as_str())
        .await
        .assert_body(
            r#"{"error_code":0,"error_text":"OK","hash":"b60bb23ab72ead13463d1205065965a5"}"#,
        );
    let received = receiver
        .wait_until("the unsubscribe notification", |all| !all.is_empty())
        .await;
    assert_eq!(received.len(), 1, "{received:#?}");
    assert_eq!(received[0].target, "/unsub.php");
    assert_eq!(received[0].body, example("unsubscribe"));
    assert_eq!(received[0].attempt, "1");
    // Unsubscribing again changes nothing and queues nothing.
    app.post("DeleteSubscribe", recorded("DeleteSubscribe")[0].as_str())
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.all().len(), 1, "{:#?}", receiver.all());
}
