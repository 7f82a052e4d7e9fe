//! `clickbill copy` end to end: SQLite into SQLite always, SQLite into PostgreSQL when
//! `CLICKBILL_TEST_POSTGRES_URL` names a server (each test creates a database of its own there
//! and drops it at the end; without the variable those tests say loudly that they were skipped,
//! and pass). Servers on both sides of a copy must answer `getOrderDetails` byte for byte alike.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clickbill_client::{
    Client, CreateOrderOutcome, Data, Key as Param, NewOrder as ApiOrder, OrderGood,
};
use clickbill_domain::model::{
    BillId, Commission, Customer, Discount, GoodName, Item, ManagerId, NewCoupon, NewManager,
    NewOrder, NewPartner, NewTenant, Order, OrderExtras, PartnerEntry, PartnerId, Product,
    ProductSpec, TenantSettings, Utm,
};
use clickbill_domain::order::StatusChange;
use clickbill_domain::transfer::{Collection, Record, StoredEvent, Transfer};
use clickbill_domain::{CreatedOrder, Store};
use clickbill_protocol::value::{Login, Money, Percent};
use clickbill_store_sqlite::SqliteStore;

use crate::support::{bin, run_command, run_on, Outcome, PostgresDatabase, Scratch, Server};

/// The databases these tests create on the PostgreSQL server, and what a skip leaves undone.
const COPY_DATABASE_PREFIX: &str = "clickbill_copy";
const NOTHING_COPIED: &str = "NOTHING WAS COPIED INTO POSTGRESQL";
/// Orders of the large copy into PostgreSQL when CLICKBILL_COPY_TEST_ORDERS does not say (a
/// smaller number makes a quick local run).
const LARGE_COPY_ORDERS: usize = 100_000;
/// Orders of the copies that are interrupted: enough for a hundred pages.
const INTERRUPTED_ORDERS: usize = 10_000;
/// Orders compared between the servers on both sides of a copy, unless
/// CLICKBILL_COPY_COMPARE=all asks for every one (as `bench/copy-check` does).
const SAMPLE: usize = 1000;
/// Requests in flight to each server while comparing.
const COMPARERS: usize = 8;
/// The server time the seeded orders were created at.
const NOW: i64 = 1_700_000_000;
/// Orders that [`seed`] creates through the store's own path; the rest it imports.
const CREATED_ORDERS: usize = 500;
/// Orders per transaction when [`seed`] imports them.
const IMPORT_PAGE: usize = 2000;
/// The longest a copy in these tests may take.
const COPY_LIMIT: Duration = Duration::from_secs(300);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// What [`seed`] wrote besides the orders numbered 1 to N of tenant `demo`.
struct Seeded {
    orders: usize,
    deleted_bill_id: i64,
    deleted_product_id: i64,
}

/// Fills the SQLite database at `path` through the store: tenants `demo` (secret `secret`) and
/// `other`, products (one deleted), a coupon, partners, a manager, and `orders` orders of
/// `demo` with partner entries, UTM values and API 2.0 fields here and there, every seventh
/// paid, one deleted.
fn seed(path: &Path, orders: usize) -> Seeded {
    runtime().block_on(async {
        let store = Arc::new(SqliteStore::open(path).expect("the source opens"));
        let new_tenant = |login: &str, secret: &str, domains: Vec<String>| NewTenant {
            login: Login::parse(login).unwrap(),
            secret: secret.into(),
            custom_domains: domains,
            settings: TenantSettings::default(),
        };
        let demo = store
            .add_tenant(new_tenant("demo", "secret", vec!["shop.example".into()]))
            .await
            .unwrap();
        let other = store
            .add_tenant(new_tenant("other", "other-secret", Vec::new()))
            .await
            .unwrap();
        let mut course = ProductSpec::new(
            GoodName::parse("code1").unwrap(),
            "Онлайн-курс",
            Money::from_minor(100_000),
        );
        course.partner_fees = BTreeMap::from([(
            1,
            Commission::Percent(Percent::from_hundredths(1000).unwrap()),
        )]);
        let course = store.add_product(demo.id, course).await.unwrap();
        let mut book = ProductSpec::new(
            GoodName::parse("book1").unwrap(),
            "Printed book",
            Money::from_minor(150_000),
        );
        book.physical = true;
        let book = store.add_product(demo.id, book).await.unwrap();
        let gone = ProductSpec::new(
            GoodName::parse("gone").unwrap(),
            "Withdrawn",
            Money::from_minor(500),
        );
        let gone = store.add_product(demo.id, gone).await.unwrap();
        let elsewhere = ProductSpec::new(
            GoodName::parse("code1").unwrap(),
            "Other shop",
            Money::from_minor(100),
        );
        let elsewhere = store.add_product(other.id, elsewhere).await.unwrap();
        let coupon = NewCoupon {
            id: None,
            code: "TEN".into(),
            discount: Discount::Percent(Percent::from_hundredths(1000).unwrap()),
            products: vec![course.id],
            expires_at: None,
        };
        store.add_coupon(demo.id, coupon).await.unwrap();
        for (id, login, parent) in [(17, "anna", None), (18, "boris", Some(PartnerId(17)))] {
            let partner = NewPartner {
                id: Some(PartnerId(id)),
                login: login.into(),
                parent,
                registered_at: NOW - 86_400,
            };
            store.add_partner(demo.id, partner).await.unwrap();
        }
        let manager = NewManager {
            id: Some(ManagerId(71257)),
            name: "Мария".into(),
        };
        store.add_manager(demo.id, manager).await.unwrap();

        // The first orders go through the store's own path, many writers at once so that
        // it commits them in groups; the bulk is imported a page at a time, which is some ten
        // times faster and stores the same.
        let created = orders.min(CREATED_ORDERS);
        let products = [course.clone(), book.clone(), gone.clone()];
        let writers = 32;
        let tasks: Vec<_> = (0..writers)
            .map(|writer| {
                let (store, demo, products) = (Arc::clone(&store), demo.clone(), products.clone());
                tokio::spawn(async move {
                    for n in (writer..created).step_by(writers) {
                        match store.create_order(&demo, order(n, &products), NOW).await {
                            Ok(CreatedOrder::Created(_)) => {}
                            other => panic!("order {n}: {other:?}"),
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        for bill_id in (7..=created as i64).step_by(7) {
            let settings = demo.settings.clone();
            let paid = payment(bill_id);
            store
                .update_order(
                    demo.id,
                    BillId::new(bill_id).unwrap(),
                    NOW + bill_id,
                    Box::new(move |order| order.apply(paid, &settings)),
                )
                .await
                .unwrap();
        }
        let mut next_event = store
            .last_key(Collection::Events)
            .await
            .unwrap()
            .map_or(1, |key| key.0 + 1);
        for first in (created..orders).step_by(IMPORT_PAGE) {
            let (mut page, mut events) = (Vec::new(), Vec::new());
            for n in first..orders.min(first + IMPORT_PAGE) {
                let bill_id = BillId::new(n as i64 + 1).unwrap();
                let (mut order, mut kinds) = Order::from_new(bill_id, order(n, &products), NOW);
                if bill_id.get() % 7 == 0 {
                    kinds.extend(order.apply(payment(bill_id.get()), &demo.settings).unwrap());
                }
                for kind in kinds {
                    events.push(Record::Event(StoredEvent {
                        id: next_event,
                        tenant: demo.id,
                        bill_id,
                        kind,
                        at: NOW,
                    }));
                    next_event += 1;
                }
                page.push(Record::Order {
                    tenant: demo.id,
                    order,
                    deleted: false,
                });
            }
            store.import(page).await.unwrap();
            store.import(events).await.unwrap();
        }
        let deleted_bill_id = (orders as i64 / 2).max(1);
        assert!(store
            .delete_order(demo.id, BillId::new(deleted_bill_id).unwrap())
            .await
            .unwrap());
        assert!(store.delete_product(demo.id, "gone").await.unwrap());
        for n in 0..3 {
            let order = order(n, std::slice::from_ref(&elsewhere));
            store.create_order(&other, order, NOW).await.unwrap();
        }
        let Ok(store) = Arc::try_unwrap(store) else {
            panic!("the writers are done with the store");
        };
        store.close().await.unwrap();
        Seeded {
            orders,
            deleted_bill_id,
            deleted_product_id: gone.id.0,
        }
    })
}

/// Every seventh order is paid in full.
fn payment(bill_id: i64) -> StatusChange {
    StatusChange::Paid {
        date: NOW + bill_id,
        amount: None,
        payway: Some("Card".into()),
    }
}

/// The `n`th order of a seeded shop: distinct e-mails, so that none is a duplicate.
fn order(n: usize, products: &[Product]) -> NewOrder {
    let product = &products[n % products.len()];
    let partners = if n.is_multiple_of(4) {
        vec![PartnerEntry {
            level: 1,
            partner_id: PartnerId(17),
            partner_name: "anna".into(),
            fee: Money::from_minor(10_000),
        }]
    } else {
        Vec::new()
    };
    let mut order = NewOrder {
        customer: Customer {
            email: format!("buyer{n}@example.com"),
            first_name: "Покупатель".into(),
            last_name: format!("N{n}"),
            phone: "+7 900 000-00-00".into(),
            city: "Москва".into(),
            ..Customer::default()
        },
        created: NOW - n as i64,
        comment: format!("order {n}: \"quoted\" & more"),
        items: vec![Item {
            product_id: product.id,
            code: product.spec.code.as_str().into(),
            title: product.spec.title.clone(),
            physical: product.spec.physical,
            price: product.spec.price,
            sum: product.spec.price,
            pincode: String::new(),
            partners,
        }],
        ..NewOrder::default()
    };
    if n.is_multiple_of(3) {
        order.utm = Utm {
            source: "newsletter".into(),
            campaign: format!("c{}", n % 10),
            ..Utm::default()
        };
    }
    if n.is_multiple_of(5) {
        order.extras = OrderExtras {
            billing_city: "Berlin".into(),
            sales_manager: Some(ManagerId(71257)),
            ..OrderExtras::default()
        };
    }
    order
}

/// One line of a copy's summary.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Copied {
    rows: u64,
    copied: u64,
    checksum: String,
}

/// The summary `copy` prints on success, by collection name.
fn summary(out: &Outcome) -> BTreeMap<String, Copied> {
    assert_eq!(out.code, 0, "copy failed: {out:?}");
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["collection", "rows", "copied", "sha256"]),
        "{out:?}"
    );
    let summary: BTreeMap<String, Copied> = lines
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, rows, copied, checksum] = fields[..] else {
                panic!("unexpected summary line {line:?}");
            };
            let copied = Copied {
                rows: rows.parse().unwrap(),
                copied: copied.parse().unwrap(),
                checksum: checksum.to_owned(),
            };
            (name.to_owned(), copied)
        })
        .collect();
    let names: Vec<&str> = Collection::ALL.iter().map(|c| c.name()).collect();
    let mut listed: Vec<&str> = summary.keys().map(String::as_str).collect();
    listed.sort_by_key(|name| names.iter().position(|n| n == name));
    assert_eq!(listed, names, "{out:?}");
    summary
}

fn copy_command(from: &str, to: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["copy", "--from", from, "--to", to]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs `clickbill copy` to its end, which may take longer than other commands.
fn run_copy(from: &str, to: &str, extra: &[&str]) -> Outcome {
    let mut child = Command::new(bin())
        .args(copy_command(from, to, extra))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("clickbill copy starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let status = wait_for(&mut child);
    Outcome {
        code: status.code().expect("exited, not killed"),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Waits for `child` to end within [`COPY_LIMIT`]; kills it and fails the test after that.
fn wait_for(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + COPY_LIMIT;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the copy") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the copy did not end within {COPY_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `clickbill` servers on both databases and checks that they answer `getOrderDetails`
/// alike, byte for byte, for a sample of `demo`'s orders, the deleted one included (which
/// both report missing).
fn assert_same_answers(source_url: &str, target_url: &str, seeded: &Seeded) {
    let source = Server::start_on(source_url, &[]);
    let target = Server::start_on(target_url, &[]);
    let client = |server: &Server| {
        Client::builder(&server.base("demo"), "demo", "secret")
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a client")
    };
    let (source_client, target_client) = (client(&source), client(&target));
    let every_order = std::env::var("CLICKBILL_COPY_COMPARE").is_ok_and(|v| v == "all");
    let step = if every_order {
        1
    } else {
        (seeded.orders / SAMPLE).max(1)
    };
    let mut bill_ids: Vec<i64> = (1..=seeded.orders as i64).step_by(step).collect();
    bill_ids.push(seeded.deleted_bill_id);
    let compared = bill_ids.len();
    let started = Instant::now();
    let bill_ids = Arc::new(bill_ids);
    let deleted_bill_id = seeded.deleted_bill_id;
    runtime().block_on(async {
        let mut comparers = tokio::task::JoinSet::new();
        for first in 0..COMPARERS {
            let (ours, theirs) = (source_client.clone(), target_client.clone());
            let bill_ids = Arc::clone(&bill_ids);
            comparers.spawn(async move {
                for &bill_id in bill_ids.iter().skip(first).step_by(COMPARERS) {
                    let params = vec![(Param::from("bill_id"), Data::Int(bill_id))];
                    let theirs = theirs.call("getOrderDetails", params.clone());
                    let (ours, theirs) = tokio::join!(ours.call("getOrderDetails", params), theirs);
                    let (ours, theirs) = (ours.unwrap(), theirs.unwrap());
                    assert_eq!(
                        String::from_utf8_lossy(&theirs.body),
                        String::from_utf8_lossy(&ours.body),
                        "getOrderDetails {bill_id}"
                    );
                    assert_eq!(
                        ours.error_code == 0,
                        bill_id != deleted_bill_id,
                        "{bill_id}: {ours:?}"
                    );
                }
            });
        }
        while let Some(finished) = comparers.join_next().await {
            if let Err(failure) = finished {
                std::panic::resume_unwind(failure.into_panic());
            }
        }
        let goods = (
            source_client.call("GetAllGoods", Vec::new()).await.unwrap(),
            target_client.call("GetAllGoods", Vec::new()).await.unwrap(),
        );
        assert_eq!(goods.0.body, goods.1.body, "GetAllGoods");
    });
    eprintln!(
        "getOrderDetails byte for byte alike on both sides for {compared} of {compared} orders \
         compared (every order: {every_order}) in {:?}",
        started.elapsed()
    );
}

/// The target numbers new rows above the copied ones: a new order through its server, a new
/// product (above the deleted one too) and a new tenant.
fn assert_new_ids_continue(target_url: &str, seeded: &Seeded) {
    let server = Server::start_on(target_url, &[]);
    let client = Client::builder(&server.base("demo"), "demo", "secret")
        .build()
        .expect("a client");
    let order = ApiOrder::new()
        .email("after-the-copy@example.com")
        .good(OrderGood::new("code1"));
    let created = runtime()
        .block_on(client.create_order(&order))
        .expect("CreateOrder");
    assert_eq!(
        created,
        CreateOrderOutcome::Created(seeded.orders as i64 + 1)
    );
    drop(server);
    let added = run_on(
        target_url,
        &[
            "product", "add", "demo", "after", "--title", "After", "--price", "1",
        ],
    );
    assert_eq!(added.code, 0, "{added:?}");
    assert!(
        added
            .stderr
            .contains(&format!("good_id {}", seeded.deleted_product_id + 1)),
        "above the deleted product, the last one before the copy: {added:?}"
    );
}

/// Every record of the SQLite database at `path` that is of `collection`.
fn records(path: &Path, collection: Collection) -> Vec<Record> {
    runtime().block_on(async {
        let store = SqliteStore::open(path).unwrap();
        let records = store.export(collection, None, usize::MAX).await.unwrap();
        store.close().await.unwrap();
        records
    })
}

#[test]
fn sqlite_copies_into_sqlite_with_every_id_and_the_same_answers() {
    let started = Instant::now();
    let (source, target) = (Scratch::new(), Scratch::new());
    let seeded = seed(&source.db_path(), 300);
    let copied = summary(&run_copy(
        &source.db_url(),
        &target.db_url(),
        &["--page-size", "7"],
    ));
    assert_eq!(copied["tenants"].rows, 2);
    assert_eq!(copied["products"].rows, 4);
    assert_eq!(copied["partners"].rows, 2);
    assert_eq!(copied["orders"].rows, 303);
    for line in copied.values() {
        assert_eq!(line.copied, line.rows);
    }

    let products = records(&target.db_path(), Collection::Products);
    assert!(products.iter().any(|r| matches!(r,
        Record::Product { product, deleted: true, .. } if product.id.0 == seeded.deleted_product_id)));
    let orders = records(&target.db_path(), Collection::Orders);
    assert!(orders.iter().any(|r| matches!(r,
        Record::Order { order, deleted: true, .. } if order.bill_id.get() == seeded.deleted_bill_id)));

    let again = run_copy(&source.db_url(), &target.db_url(), &[]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stderr.contains("is not empty"), "{again:?}");
    assert!(again.stdout.is_empty(), "{again:?}");
    assert_eq!(
        summary(&run_copy(&source.db_url(), &target.db_url(), &["--resume"]))["orders"],
        Copied {
            copied: 0,
            ..copied["orders"].clone()
        }
    );

    assert_same_answers(&source.db_url(), &target.db_url(), &seeded);
    assert_new_ids_continue(&target.db_url(), &seeded);
    eprintln!("sqlite into sqlite: {:?}", started.elapsed());
}

#[test]
fn copy_refuses_what_it_cannot_do_as_usage_errors() {
    let (source, target) = (Scratch::new(), Scratch::new());
    let missing = run_copy(&source.db_url(), &target.db_url(), &[]);
    assert_eq!(missing.code, 2, "a source that does not exist: {missing:?}");
    assert!(!target.db_path().exists(), "{missing:?}");
    seed(&source.db_path(), 3);
    for extra in [&["--resume", "--force"][..], &["--page-size", "0"]] {
        let out = run_copy(&source.db_url(), &target.db_url(), extra);
        assert_eq!(out.code, 2, "{extra:?}: {out:?}");
    }
    let same = run_copy(&source.db_url(), &source.db_url(), &[]);
    assert_eq!(same.code, 2, "{same:?}");
    assert!(same.stderr.contains("the same database"), "{same:?}");

    // A target holding other rows: refused, then written beside them under --force.
    target.ok(&["tenant", "add", "zeta", "--secret", "z"]);
    let refused = run_copy(&source.db_url(), &target.db_url(), &[]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--force"), "{refused:?}");
    let resumed = run_copy(&source.db_url(), &target.db_url(), &["--resume"]);
    assert_eq!(resumed.code, 2, "not a copy of this source: {resumed:?}");
    assert!(resumed.stderr.contains("cannot resume"), "{resumed:?}");
    // `zeta` took tenant id 1, which the source's `demo` has: the first page conflicts.
    let forced = run_copy(&source.db_url(), &target.db_url(), &["--force"]);
    assert_eq!(forced.code, 1, "{forced:?}");
    assert!(forced.stderr.contains("already exists"), "{forced:?}");

    let help = run_command(bin(), &["copy".into(), "--help".into()], &[]);
    assert_eq!(help.code, 0);
    for text in [
        "--resume",
        "--force",
        "--page-size",
        "Exit status:",
        "sha256",
    ] {
        assert!(help.stdout.contains(text), "{text}: {help:?}");
    }
}

/// A running `clickbill copy` whose progress lines on standard error the test reads as they
/// come; killed when dropped.
struct RunningCopy {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl RunningCopy {
    fn start(from: &str, to: &str, extra: &[&str]) -> RunningCopy {
        let mut child = Command::new(bin())
            .args(copy_command(from, to, extra))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("clickbill copy starts");
        let (sender, lines) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped");
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        RunningCopy { child, lines }
    }

    /// Waits for a progress line `copying orders DONE/TOTAL` with `DONE` past `after` and
    /// before the end; returns `DONE`.
    fn wait_for_orders_past(&self, after: u64) -> u64 {
        let deadline = Instant::now() + COPY_LIMIT;
        loop {
            let line = self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the copy reports its orders before it ends");
            let Some(progress) = line.strip_prefix("clickbill copy: copying orders ") else {
                continue;
            };
            let (done, total) = progress.split_once('/').expect("DONE/TOTAL");
            let (done, total): (u64, u64) = (done.parse().unwrap(), total.parse().unwrap());
            assert!(
                done < total,
                "the copy finished before it could be interrupted"
            );
            if done > after {
                return done;
            }
        }
    }

    #[cfg(unix)]
    fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits");
        // SAFETY: kill(2) with the pid of a child this guard owns and has not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits for the process to end; the rest of its standard error.
    fn wait(mut self) -> (ExitStatus, String) {
        let status = wait_for(&mut self.child);
        let rest: Vec<String> = self.lines.iter().collect();
        (status, rest.join("\n"))
    }
}

impl Drop for RunningCopy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Interrupts a copy into `target_url` twice, by SIGINT and by `kill -9`, while it copies
/// orders; `--resume` then finishes it, and it verifies with the checksums of an uninterrupted
/// copy of the same source.
#[cfg(unix)]
fn interrupt_and_resume(source: &Scratch, target_url: &str, expected: &BTreeMap<String, Copied>) {
    let page = ["--page-size", "100"];
    let copy = RunningCopy::start(&source.db_url(), target_url, &page);
    copy.wait_for_orders_past(0);
    copy.signal(libc::SIGINT);
    let (status, stderr) = copy.wait();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");

    let refused = run_copy(&source.db_url(), target_url, &page);
    assert_eq!(refused.code, 2, "{refused:?}");

    let resumed = RunningCopy::start(
        &source.db_url(),
        target_url,
        &[&page[..], &["--resume"]].concat(),
    );
    let first = resumed.wait_for_orders_past(0);
    resumed.wait_for_orders_past(first);
    drop(resumed);

    let finished = summary(&run_copy(
        &source.db_url(),
        target_url,
        &[&page[..], &["--resume"]].concat(),
    ));
    for (name, line) in &finished {
        assert_eq!(line.rows, expected[name].rows, "{name}");
        assert_eq!(line.checksum, expected[name].checksum, "{name}");
    }
    let orders = &finished["orders"];
    assert!(
        0 < orders.copied && orders.copied < orders.rows,
        "the last run copied only the rest: {orders:?}"
    );
}

/// The checksums of an uninterrupted copy of `source`.
fn straight_copy(source: &Scratch) -> BTreeMap<String, Copied> {
    let target = Scratch::new();
    summary(&run_copy(&source.db_url(), &target.db_url(), &[]))
}

#[cfg(unix)]
#[test]
fn an_interrupted_copy_into_sqlite_finishes_with_resume() {
    let started = Instant::now();
    let (source, target) = (Scratch::new(), Scratch::new());
    seed(&source.db_path(), INTERRUPTED_ORDERS);
    let expected = straight_copy(&source);
    interrupt_and_resume(&source, &target.db_url(), &expected);
    eprintln!("interrupted copy into sqlite: {:?}", started.elapsed());
}

#[cfg(unix)]
#[test]
fn an_interrupted_copy_into_postgres_finishes_with_resume() {
    let Some(database) = PostgresDatabase::create(
        "an_interrupted_copy_into_postgres_finishes_with_resume",
        COPY_DATABASE_PREFIX,
        NOTHING_COPIED,
    ) else {
        return;
    };
    let started = Instant::now();
    let source = Scratch::new();
    seed(&source.db_path(), INTERRUPTED_ORDERS);
    let expected = straight_copy(&source);
    interrupt_and_resume(&source, &database.url, &expected);
    eprintln!("interrupted copy into postgres: {:?}", started.elapsed());
}

/// The case: a large SQLite database moved into PostgreSQL, then servers on both answer
/// alike. CLICKBILL_COPY_TEST_ORDERS sets the number of orders.
#[test]
fn a_large_sqlite_database_moves_into_postgres() {
    let Some(database) = PostgresDatabase::create(
        "a_large_sqlite_database_moves_into_postgres",
        COPY_DATABASE_PREFIX,
        NOTHING_COPIED,
    ) else {
        return;
    };
    let orders = std::env::var("CLICKBILL_COPY_TEST_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(LARGE_COPY_ORDERS);
    let started = Instant::now();
    let source = Scratch::new();
    let seeded = seed(&source.db_path(), orders);
    let seeding = started.elapsed();
    let copied = summary(&run_copy(&source.db_url(), &database.url, &[]));
    let copying = started.elapsed() - seeding;
    assert_eq!(copied["orders"].rows, orders as u64 + 3);
    assert_eq!(copied["tenants"].rows, 2);
    assert_same_answers(&source.db_url(), &database.url, &seeded);
    assert_new_ids_continue(&database.url, &seeded);
    eprintln!(
        "{orders} orders into postgres: seeded in {seeding:?}, copied and verified in \
         {copying:?}, {:?} in all",
        started.elapsed()
    );
}
