//! Crash safety (DESIGN §5): `kill -9` in the middle of a write load loses no acknowledged order.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clickbill_client::{Client, CreateOrderOutcome, Data, Key, NewOrder, OrderGood};
use serde_json::Value as Json;

use crate::support::{Scratch, Server};

const TASKS: usize = 8;
/// Bounds the load (and so the verification) whatever the machine's speed; far above what a
/// task sends before the kill, which the test checks.
const MAX_ORDERS_PER_TASK: usize = 1500;
/// How long the load runs before the kill.
const LOAD_TIME: Duration = Duration::from_millis(1500);

/// An order the server said it created, with what was asked for.
#[derive(Clone, Debug)]
struct Acknowledged {
    bill_id: i64,
    email: String,
    comment: String,
    sum: String,
}

fn client(base: &str) -> Client {
    Client::builder(base, "demo", "secret")
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client")
}

async fn details(client: &Client, bill_id: i64) -> (Vec<u8>, Json) {
    let response = client
        .call(
            "getOrderDetails",
            vec![(Key::from("bill_id"), Data::Int(bill_id))],
        )
        .await
        .unwrap_or_else(|e| panic!("getOrderDetails {bill_id}: {e}"));
    assert_eq!(
        response.error_code, 0,
        "acknowledged order {bill_id} is gone: {response:?}"
    );
    let json = response.result.clone().expect("an order");
    (response.body, json)
}

#[cfg(unix)]
#[test]
fn acknowledged_orders_survive_kill_9() {
    let started = Instant::now();
    let s = Scratch::new();
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    s.ok(&[
        "product", "add", "demo", "code1", "--title", "Course", "--price", "1000",
    ]);
    let mut server = Server::start(&s, &[]);
    let base = server.base("demo");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let acknowledged: Arc<Mutex<Vec<Acknowledged>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..TASKS)
        .map(|task| {
            let client = client(&base);
            let acknowledged = Arc::clone(&acknowledged);
            let stop = Arc::clone(&stop);
            runtime.spawn(async move {
                for i in 0..MAX_ORDERS_PER_TASK {
                    if stop.load(Ordering::Relaxed) {
                        return true;
                    }
                    let email = format!("load{task}.{i}@example.com");
                    let comment = format!("task {task}, order {i}: ~!*()' & Ω");
                    // Two decimals, as the server writes money back.
                    let sum = format!("{}.{:02}", 100 + i, task);
                    let order = NewOrder::new()
                        .email(email.as_str())
                        .first_name("Load")
                        .comment(comment.as_str())
                        .good(OrderGood::new("code1").sum(sum.as_str()));
                    match client.create_order(&order).await {
                        Ok(CreateOrderOutcome::Created(bill_id)) => {
                            acknowledged.lock().unwrap().push(Acknowledged {
                                bill_id,
                                email,
                                comment,
                                sum,
                            });
                        }
                        Ok(CreateOrderOutcome::Duplicate(id)) => {
                            panic!("distinct orders reported as a duplicate of {id}")
                        }
                        // The server is gone: what was not acknowledged may or may not exist.
                        Err(_) => return true,
                    }
                }
                false
            })
        })
        .collect();

    // Halfway through, read a sample of what has been acknowledged so far, to compare byte for
    // byte after the crash.
    std::thread::sleep(LOAD_TIME / 2);
    let sample: Vec<Acknowledged> = {
        let done = acknowledged.lock().unwrap();
        let step = (done.len() / 40).max(1);
        done.iter().step_by(step).cloned().collect()
    };
    assert!(
        !sample.is_empty(),
        "no order was acknowledged within {:?}",
        LOAD_TIME / 2
    );
    let reader = client(&base);
    let before: Vec<(i64, Vec<u8>)> = runtime.block_on(async {
        let mut bodies = Vec::new();
        for order in &sample {
            bodies.push((order.bill_id, details(&reader, order.bill_id).await.0));
        }
        bodies
    });

    std::thread::sleep(LOAD_TIME / 2);
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    runtime.block_on(async {
        for task in load {
            let interrupted = tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("a load task ends once the server is gone")
                .expect("a load task did not panic");
            assert!(
                interrupted,
                "a load task finished before the kill: raise the cap"
            );
        }
    });
    let acknowledged = acknowledged.lock().unwrap().clone();
    let distinct: HashSet<i64> = acknowledged.iter().map(|a| a.bill_id).collect();
    assert_eq!(distinct.len(), acknowledged.len(), "bill ids are unique");

    let server = Server::start(&s, &[]);
    let base = server.base("demo");
    runtime.block_on(async {
        let reader = client(&base);
        for (bill_id, body) in &before {
            let (after, _) = details(&reader, *bill_id).await;
            assert_eq!(
                String::from_utf8_lossy(&after),
                String::from_utf8_lossy(body),
                "order {bill_id} changed across the crash"
            );
        }
        let checks: Vec<_> = acknowledged
            .chunks(acknowledged.len().div_ceil(TASKS).max(1))
            .map(|chunk| {
                let chunk = chunk.to_vec();
                let reader = reader.clone();
                tokio::spawn(async move {
                    for order in chunk {
                        let (_, json) = details(&reader, order.bill_id).await;
                        assert_eq!(json["id"], order.bill_id.to_string());
                        assert_eq!(json["email"], order.email.as_str());
                        assert_eq!(json["comment"], order.comment.as_str());
                        assert_eq!(json["first_name"], "Load");
                        assert_eq!(json["pay_status"], "waiting");
                        assert_eq!(json["items"][0]["id"], "code1");
                        assert_eq!(json["items"][0]["sum"], order.sum.as_str());
                        assert_eq!(json["price"], order.sum.as_str());
                    }
                })
            })
            .collect();
        for check in checks {
            check
                .await
                .expect("every acknowledged order reads back as created");
        }
    });
    eprintln!(
        "durability: {} acknowledged orders ({} compared byte for byte) survived kill -9 in {:?}",
        acknowledged.len(),
        before.len(),
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the test must stay under 20 s, took {:?}",
        started.elapsed()
    );
}
