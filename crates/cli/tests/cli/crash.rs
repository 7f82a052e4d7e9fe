//! Crash cycles: twenty times, `clickbill serve` is killed with SIGKILL under a mixed load of
//! new orders, payments and reads, and restarted on the same database. After every restart,
//! every order, payment and outbox event the server acknowledged before the kill is there.
//!
//! What was acknowledged is kept in a [`Ledger`]; [`verify`] holds one check per kind of
//! promise (orders, payments, events), each over the ledger and the restarted server. At the
//! end, every notification queued for those events must reach the receiver
//! ([`assert_every_notification_arrives`]), including those whose delivery a kill cut short.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clickbill_client::{
    Client, ClientError, CreateOrderOutcome, NewOrder, OrderGood, StatusUpdate,
};
use tokio::runtime::Runtime;

use crate::notifications::{free_address, start_receiver, Seen};
use crate::support::{eventually, Scratch, Server};

const CYCLES: usize = 20;
/// How long each cycle's load runs before the kill.
const LOAD_TIME: Duration = Duration::from_millis(700);
const CREATORS: usize = 3;
const PAYERS: usize = 2;
const READERS: usize = 1;
/// Bounds each task's requests per cycle whatever the machine's speed.
const MAX_CALLS_PER_TASK: usize = 400;

/// What the server acknowledged, over all cycles.
#[derive(Default)]
struct Ledger {
    /// Orders created: bill id and e-mail.
    orders: Vec<(i64, String)>,
    /// Orders whose full payment was acknowledged.
    paid: HashSet<i64>,
    /// Created orders not yet paid, for the payers to pick from.
    unpaid: Vec<i64>,
}

fn client(base: &str) -> Client {
    Client::builder(base, "demo", "secret")
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// Whether an error means the server went away (as it does at the kill), rather than a wrong
/// answer.
fn server_gone(error: &ClientError) -> bool {
    matches!(error, ClientError::Transport { .. })
}

/// Runs the mixed load against `base` until `stop`, recording every acknowledgement.
fn load(
    runtime: &Runtime,
    base: &str,
    cycle: usize,
    ledger: &Arc<Mutex<Ledger>>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for task in 0..CREATORS {
        let (client, ledger, stop) = (client(base), Arc::clone(ledger), Arc::clone(stop));
        tasks.push(runtime.spawn(async move {
            for i in 0..MAX_CALLS_PER_TASK {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let email = format!("c{cycle}.t{task}.{i}@example.com");
                let order = NewOrder::new()
                    .email(email.as_str())
                    .first_name("Crash")
                    .good(OrderGood::new("code1"));
                match client.create_order(&order).await {
                    Ok(CreateOrderOutcome::Created(bill_id)) => {
                        let mut ledger = ledger.lock().unwrap();
                        ledger.orders.push((bill_id, email));
                        ledger.unpaid.push(bill_id);
                    }
                    Ok(CreateOrderOutcome::Duplicate(id)) => {
                        panic!("{email} reported as a duplicate of {id}")
                    }
                    Err(error) if server_gone(&error) => return,
                    Err(error) => panic!("CreateOrder: {error}"),
                }
            }
        }));
    }
    for _ in 0..PAYERS {
        let (client, ledger, stop) = (client(base), Arc::clone(ledger), Arc::clone(stop));
        tasks.push(runtime.spawn(async move {
            for _ in 0..MAX_CALLS_PER_TASK {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Some(bill_id) = ledger.lock().unwrap().unpaid.pop() else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let payment = StatusUpdate::Paid {
                    date: now(),
                    sum: None,
                    payway: None,
                };
                match client.update_order_status(bill_id, &payment).await {
                    Ok(()) => {
                        ledger.lock().unwrap().paid.insert(bill_id);
                    }
                    // The payment may or may not have been made: the order is neither
                    // acknowledged as paid nor offered again.
                    Err(error) if server_gone(&error) => return,
                    Err(error) => panic!("paying order {bill_id}: {error}"),
                }
            }
        }));
    }
    for _ in 0..READERS {
        let (client, ledger, stop) = (client(base), Arc::clone(ledger), Arc::clone(stop));
        tasks.push(runtime.spawn(async move {
            for i in 0..MAX_CALLS_PER_TASK {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let picked = {
                    let ledger = ledger.lock().unwrap();
                    (!ledger.orders.is_empty())
                        .then(|| ledger.orders[i * 7919 % ledger.orders.len()].0)
                };
                let Some(bill_id) = picked else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                match client.get_order_details(bill_id, false).await {
                    Ok(_) => {}
                    Err(error) if server_gone(&error) => return,
                    Err(error) => panic!("reading acknowledged order {bill_id}: {error}"),
                }
            }
        }));
    }
    tasks
}

/// The `(bill_id, kind)` of every outbox event in the database.
fn events(database: &Path) -> HashSet<(i64, String)> {
    let connection =
        rusqlite::Connection::open_with_flags(database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the database opens read-only");
    let mut statement = connection
        .prepare("SELECT bill_id, kind FROM order_events")
        .expect("order_events");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// `(bill_id, kind, event_id)` of every notification queued in the database.
fn deliveries(database: &Path) -> Vec<(i64, String, String)> {
    let connection =
        rusqlite::Connection::open_with_flags(database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the database opens read-only");
    let mut statement = connection
        .prepare("SELECT bill_id, kind, event_id FROM outbox_deliveries")
        .expect("outbox_deliveries");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Every acknowledged order and payment has its notification queued, and each one queued
/// reaches the receiver at least once. A delivery in flight when its server was killed goes
/// again once its claim lapses (60 s), so this may wait that long.
fn assert_every_notification_arrives(
    database: &Path,
    ledger: &Ledger,
    received: &Mutex<Vec<Seen>>,
) {
    let queued = deliveries(database);
    let kinds: HashSet<(i64, &str)> = queued
        .iter()
        .map(|(bill_id, kind, _)| (*bill_id, kind.as_str()))
        .collect();
    for (bill_id, _) in &ledger.orders {
        assert!(
            kinds.contains(&(*bill_id, "new_order")),
            "no new_order notification for order {bill_id}"
        );
    }
    for bill_id in &ledger.paid {
        assert!(
            kinds.contains(&(*bill_id, "paid")),
            "no paid notification for order {bill_id}"
        );
    }
    let missing = || -> Vec<String> {
        let seen: HashSet<String> = received
            .lock()
            .unwrap()
            .iter()
            .filter_map(|request| request.header("x-clickbill-event-id").map(str::to_owned))
            .collect();
        queued
            .iter()
            .filter(|(_, _, event_id)| !seen.contains(event_id))
            .map(|(_, _, event_id)| event_id.clone())
            .collect()
    };
    let waited = eventually(Duration::from_secs(90), || missing().is_empty());
    assert!(
        waited.is_some(),
        "{} of {} notifications never arrived: {:?}",
        missing().len(),
        queued.len(),
        missing().iter().take(5).collect::<Vec<_>>()
    );
    eprintln!(
        "crash: all {} notifications arrived, the last {:?} after the final check began",
        queued.len(),
        waited.unwrap_or_default()
    );
}

/// Every promise the ledger holds, checked against the restarted server and its database.
/// `since` is how many orders were checked by earlier calls: the older ones are checked once
/// more at the end of the test, not after every restart.
fn verify(runtime: &Runtime, server: &Server, database: &Path, ledger: &Ledger, since: usize) {
    let reader = client(&server.base("demo"));
    // Orders, and the payment state of each.
    runtime.block_on(async {
        for (bill_id, email) in &ledger.orders[since..] {
            let order = reader
                .get_order_details(*bill_id, false)
                .await
                .unwrap_or_else(|error| panic!("acknowledged order {bill_id} is gone: {error}"));
            assert_eq!(&order.email, email, "order {bill_id}");
            let status = order.pay_status;
            if ledger.paid.contains(bill_id) {
                assert_eq!(
                    status, "paid",
                    "acknowledged payment of order {bill_id} is gone"
                );
            } else {
                // A payment cut off by the kill may or may not have been made.
                assert!(
                    ["waiting", "paid"].contains(&status.as_str()),
                    "order {bill_id}: {status}"
                );
            }
        }
    });
    // Payments of older orders, which the loop above no longer reads.
    runtime.block_on(async {
        for bill_id in ledger
            .paid
            .iter()
            .filter(|id| ledger.orders[..since].iter().any(|(o, _)| o == *id))
            .take(50)
        {
            let order = reader
                .get_order_details(*bill_id, false)
                .await
                .expect("a paid order");
            assert_eq!(
                order.pay_status, "paid",
                "acknowledged payment of order {bill_id} is gone"
            );
        }
    });
    // Outbox events: one `new_order` per acknowledged order, one `paid` per acknowledged payment.
    let recorded = events(database);
    for (bill_id, _) in &ledger.orders {
        assert!(
            recorded.contains(&(*bill_id, "new_order".to_owned())),
            "no new_order event for acknowledged order {bill_id}"
        );
    }
    for bill_id in &ledger.paid {
        assert!(
            recorded.contains(&(*bill_id, "paid".to_owned())),
            "no paid event for acknowledged payment of order {bill_id}"
        );
    }
}

#[cfg(unix)]
#[test]
fn twenty_kills_under_load_lose_nothing_acknowledged() {
    let started = Instant::now();
    let s = Scratch::new();
    let receiver = free_address();
    let received = start_receiver(receiver);
    let (created_url, paid_url) = (
        format!("http://{receiver}/created"),
        format!("http://{receiver}/paid"),
    );
    s.ok(&["tenant", "add", "demo", "--secret", "secret"]);
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
        &created_url,
        "--url-paid",
        &paid_url,
    ]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ledger: Arc<Mutex<Ledger>> = Arc::default();
    let mut server = Server::start(&s, &[]);
    let mut checked = 0;
    for cycle in 0..CYCLES {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = load(&runtime, &server.base("demo"), cycle, &ledger, &stop);
        std::thread::sleep(LOAD_TIME);
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        runtime.block_on(async {
            for task in tasks {
                tokio::time::timeout(Duration::from_secs(10), task)
                    .await
                    .expect("a load task ends once the server is gone")
                    .expect("a load task did not panic");
            }
        });
        server = Server::start(&s, &[]);
        let ledger = ledger.lock().unwrap();
        verify(&runtime, &server, &s.db_path(), &ledger, checked);
        checked = ledger.orders.len();
    }
    let ledger = ledger.lock().unwrap();
    verify(&runtime, &server, &s.db_path(), &ledger, 0);
    assert!(
        ledger.orders.len() >= CYCLES,
        "only {} orders acknowledged",
        ledger.orders.len()
    );
    assert!(!ledger.paid.is_empty(), "no payment acknowledged");
    assert_every_notification_arrives(&s.db_path(), &ledger, &received);
    eprintln!(
        "crash: {CYCLES} kills; {} orders and {} payments acknowledged, all present, in {:?}",
        ledger.orders.len(),
        ledger.paid.len(),
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(180),
        "the test must stay under 3 minutes, took {:?}",
        started.elapsed()
    );
}
