//! PostgreSQL end to end: admin commands, `serve` and `call` on PostgreSQL, and three servers
//! sharing one database under load, one of them killed in the middle.
//!
//! The server is the one `CLICKBILL_TEST_POSTGRES_URL` names; without it these tests say loudly
//! that they were skipped, and pass. Each test creates a database of its own there and drops it
//! at the end: `clickbill` takes nothing but a URL, so a database is the unit of isolation.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clickbill_client::{CallOptions, Client, Key as Param, NewOrder, Response, TimerKill};
use clickbill_domain::model::{Order, PayStatus};
use clickbill_domain::order::OrderEventKind;
use clickbill_domain::transfer::{Collection, Key, Record, Transfer};
use clickbill_domain::Store;
use clickbill_store_postgres::{PostgresOptions, PostgresStore};
use serde_json::Value as Json;

use crate::support::{call, eventually, ok_on, run_on, Outcome, PostgresDatabase, Server};

/// A database of its own for one test (see [`PostgresDatabase`]), with the commands the tests
/// run on it.
struct TestDatabase(PostgresDatabase);

impl std::ops::Deref for TestDatabase {
    type Target = PostgresDatabase;

    fn deref(&self) -> &PostgresDatabase {
        &self.0
    }
}

impl TestDatabase {
    /// `None`, after a loud notice, when no PostgreSQL server is configured.
    fn create(test: &str) -> Option<TestDatabase> {
        PostgresDatabase::create(test, "clickbill_t", "NO POSTGRESQL SERVER WAS USED")
            .map(TestDatabase)
    }

    fn run(&self, args: &[&str]) -> Outcome {
        run_on(&self.url, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        ok_on(&self.url, args)
    }

    /// The store the servers share, opened by the test to check what they wrote.
    async fn store(&self) -> PostgresStore {
        let mut options = PostgresOptions::new(self.url.as_str());
        options.pool_size = 2;
        PostgresStore::connect(options)
            .await
            .expect("the test opens the database")
    }
}

fn is_secret(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn assert_input_error(db: &TestDatabase, args: &[&str], message: &str) {
    let out = db.run(args);
    assert_eq!(out.code, 2, "{args:?}: {out:?}");
    assert!(out.stderr.contains(message), "{args:?}: {out:?}");
}

/// Needs no PostgreSQL server: what a user sees when the database is unreachable or the URL is
/// wrong, and that the password never shows.
#[test]
fn an_unusable_postgres_url_fails_without_showing_the_password() {
    let unreachable = "postgres://clickbill:hunter2@127.0.0.1:1/clickbill?sslmode=disable";
    for args in [
        &["--db-connect-timeout", "2", "tenant", "list"][..],
        &["--db-connect-timeout", "2", "tenant", "add", "shop"],
        &["--db-connect-timeout", "2", "migrate"],
        &[
            "--db-connect-timeout",
            "2",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ],
    ] {
        let out = run_on(unreachable, args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        assert!(
            out.stderr
                .contains("postgres://clickbill@127.0.0.1:1/clickbill"),
            "the message names the database: {out:?}"
        );
        assert!(!out.stderr.contains("hunter2"), "{args:?}: {out:?}");
    }
    for (url, args) in [
        (
            "postgres://clickbill:hunter2@db:port/clickbill",
            &["tenant", "list"][..],
        ),
        (unreachable, &["--db-pool-size", "0", "tenant", "list"]),
        (
            unreachable,
            &["tenant", "list", "--db-statement-timeout", "x"],
        ),
    ] {
        let out = run_on(url, args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(!out.stderr.contains("hunter2"), "{args:?}: {out:?}");
    }
}

#[test]
fn admin_commands_work_on_postgres() {
    let Some(db) = TestDatabase::create("admin_commands_work_on_postgres") else {
        return;
    };
    let migrated = db.ok(&["migrate"]);
    assert!(
        migrated.starts_with("postgres")
            && migrated.contains(&format!("/{} at schema version ", db.name)),
        "{migrated:?}"
    );
    let url = reqwest::Url::parse(&db.url).unwrap();
    if let Some(password) = url.password() {
        assert!(!migrated.contains(password), "{migrated:?}");
    }
    assert_eq!(
        db.ok(&["migrate"]),
        migrated,
        "migrating again changes nothing"
    );

    let added = db.run(&["tenant", "add", "Shop", "--domain", "Shop.Example."]);
    assert_eq!(added.code, 0, "{added:?}");
    assert!(is_secret(added.stdout.trim()), "{added:?}");
    db.ok(&["tenant", "add", "demo", "--secret", "secret"]);
    assert_input_error(&db, &["tenant", "add", "shop"], "already exists");
    assert_input_error(
        &db,
        &["tenant", "add", "other", "--domain", "shop.example"],
        "already belongs",
    );
    assert_input_error(&db, &["tenant", "show", "nosuch"], "no tenant nosuch");

    db.ok(&[
        "tenant",
        "set",
        "shop",
        "first_bill_id=1000",
        "time_zone=Europe/Berlin",
    ]);
    db.ok(&["tenant", "domain", "add", "shop", "pay.shop.example"]);
    let shown = db.run(&["tenant", "show", "shop"]).json();
    assert_eq!(shown["first_bill_id"], 1000, "{shown}");
    assert_eq!(shown["time_zone"], "Europe/Berlin", "{shown}");
    assert_eq!(
        shown["custom_domains"],
        serde_json::json!(["shop.example", "pay.shop.example"])
    );
    let disabled = db.run(&["tenant", "disable", "shop"]);
    assert_eq!(disabled.code, 0, "{disabled:?}");
    assert!(
        disabled.stderr.contains("within about a second"),
        "{disabled:?}"
    );
    assert_eq!(
        db.ok(&["tenant", "list"]),
        "demo\tenabled\t-\nshop\tdisabled\tshop.example,pay.shop.example\n"
    );
    db.ok(&["tenant", "enable", "shop"]);
    let rotated = db.run(&["tenant", "rotate-secret", "shop"]);
    assert!(is_secret(rotated.stdout.trim()), "{rotated:?}");
    assert!(
        rotated.stderr.contains("within about a second"),
        "{rotated:?}"
    );

    let product = db.run(&[
        "product", "add", "shop", "ebook", "--title", "E-book", "--price", "490", "--fee", "1=10%",
    ]);
    assert_eq!(product.code, 0, "{product:?}");
    assert!(product.stderr.contains("good_id 1"), "{product:?}");
    assert_input_error(
        &db,
        &[
            "product", "add", "shop", "EBOOK", "--title", "x", "--price", "1",
        ],
        "already has a product",
    );
    db.ok(&["product", "update", "shop", "ebook", "--price", "500"]);
    let listed = db.ok(&["product", "list", "shop"]);
    assert_eq!(listed, "1\tebook\tdigital\t500.00\tE-book\n");

    assert_eq!(
        db.ok(&["coupon", "add", "shop", "SPRING10", "--percent", "10"]),
        "1\n"
    );
    assert_eq!(
        db.ok(&[
            "coupon", "add", "shop", "BOOK100", "--amount", "100", "--goods", "ebook", "--id",
            "586"
        ]),
        "586\n"
    );
    db.ok(&["coupon", "disable", "shop", "SPRING10"]);
    let coupons = db.ok(&["coupon", "list", "shop"]);
    assert_eq!(coupons.lines().count(), 2, "{coupons}");
    assert!(coupons.contains("586\tBOOK100\t"), "{coupons}");

    assert_eq!(db.ok(&["partner", "add", "shop", "anna"]), "1\n");
    assert_eq!(
        db.ok(&["partner", "add", "shop", "boris", "--parent", "anna"]),
        "2\n"
    );
    let partners = db.ok(&["partner", "list", "shop"]);
    let columns: Vec<Vec<&str>> = partners
        .lines()
        .map(|line| line.split('\t').take(3).collect())
        .collect();
    assert_eq!(columns, [["1", "anna", "-"], ["2", "boris", "anna"]]);
    let anna = db.run(&["partner", "show", "shop", "anna"]).json();
    assert_eq!(anna["sub_partners"], 1, "{anna}");

    assert_eq!(
        db.ok(&["manager", "add", "shop", "Greg", "--id", "71257"]),
        "71257\n"
    );
    assert_eq!(db.ok(&["manager", "list", "shop"]), "71257\tGreg\n");

    // The demo tenant kept nothing of the shop's.
    assert_eq!(db.ok(&["product", "list", "demo"]), "");
    assert_eq!(db.ok(&["coupon", "list", "demo"]), "");
}

/// `serve --sandbox` seeds PostgreSQL; two servers on the database see each other's orders and
/// a secret rotation or a disabled tenant within about a second.
#[test]
fn serve_and_call_on_postgres() {
    let Some(db) = TestDatabase::create("serve_and_call_on_postgres") else {
        return;
    };
    let first = Server::start_on(&db.url, &["--sandbox", "--db-pool-size", "4"]);
    let lines = first.next_lines(2);
    assert!(lines[0].contains("created now"), "{lines:?}");
    let second = Server::start_on(&db.url, &["--db-pool-size", "4"]);

    let goods = call(&first.base("demo"), "demo", "secret", "GetAllGoods", &[]);
    assert_eq!(goods.code, 0, "{goods:?}");
    let names: Vec<Json> = goods.json()["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|good| good["good_name"].clone())
        .collect();
    assert_eq!(names, ["code1", "code2", "book1"]);

    let created = call(
        &first.base("demo"),
        "demo",
        "secret",
        "CreateOrder",
        &["bill_email=anna@example.com", "goods[0][good_name]=code2"],
    );
    assert_eq!(created.code, 0, "{created:?}");
    assert_eq!(created.json()["result"]["bill_id"], "12346");
    let again = call(
        &second.base("demo"),
        "demo",
        "secret",
        "CreateOrder",
        &["bill_email=anna@example.com", "goods[0][good_name]=code2"],
    );
    assert_eq!(again.code, 1, "{again:?}");
    assert_eq!(again.json()["error_code"], 601);
    assert_eq!(again.json()["result"]["bill_id"], "12346");
    let read = call(
        &second.base("demo"),
        "demo",
        "secret",
        "getOrderDetails",
        &["bill_id=12346"],
    );
    assert_eq!(read.code, 0, "{read:?}");
    assert_eq!(read.json()["result"]["email"], "anna@example.com");

    let servers = [&first, &second];
    let everywhere = |secret: &str, code: &str| {
        servers.iter().all(|server| {
            call(&server.base("demo"), "demo", secret, "GetAllGoods", &[])
                .stdout
                .contains(&format!("\"error_code\":{code},"))
        })
    };
    let secret = db
        .ok(&["tenant", "rotate-secret", "demo"])
        .trim()
        .to_owned();
    let rotated = eventually(Duration::from_secs(5), || {
        everywhere(&secret, "0") && everywhere("secret", "4")
    })
    .expect("the servers never took the new secret");
    db.ok(&["tenant", "disable", "demo"]);
    let disabled = eventually(Duration::from_secs(5), || everywhere(&secret, "7"))
        .expect("the servers never saw the tenant disabled");
    eprintln!(
        "postgres: two servers took a rotated secret in {rotated:?}, a disabled tenant in \
         {disabled:?}"
    );
    for (change, took) in [("rotated secret", rotated), ("disabled tenant", disabled)] {
        assert!(
            took < Duration::from_millis(1500),
            "the {change} took {took:?} to reach every server"
        );
    }
}

/// The tenants of the load tests, with their secrets. A tenant's orders take its order counter
/// one at a time, whichever replica creates them; several tenants keep the load's length in
/// check on a small machine.
const TENANTS: [(&str, &str); 4] = [
    ("demo", "secret"),
    ("shop", "shop-secret"),
    ("books", "books-secret"),
    ("music", "music-secret"),
];
const REPLICAS: usize = 3;
const CLIENT_THREADS: usize = 20;
/// Distinct orders sent (retries come on top).
const ORDERS: usize = 5_000;
/// Every this many orders, one carries an Idempotency-Key and is sent again with it to another
/// replica, which must answer byte for byte the same; another is sent again without a key and
/// must be answered 601 with its bill id.
const RETRY_EVERY: usize = 25;
/// Every this many orders, one cancels itself [`TIMER_DELAY`] seconds after it is sent. Not all
/// of them: a timer costs a write of its own, and the point is the race between the replicas'
/// sweeps, not their throughput.
const TIMER_EVERY: usize = 10;
/// Late enough that the retries of an order still find it waiting (a cancelled order is no
/// duplicate), early enough that the timers come due while the load still runs.
const TIMER_DELAY: i64 = 4;
/// What each load test must stay under, from its first command to its last check.
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// The load tests take turns: two at once would share the cores and the database's connection
/// limit, and each would take twice as long as its time limit allows for.
static LOAD_TURN: Mutex<()> = Mutex::new(());

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An order a replica said it created.
#[derive(Clone, Debug)]
struct Acknowledged {
    tenant: usize,
    bill_id: i64,
    email: String,
    replica: usize,
}

/// What the client threads share: which replicas are down, and what was answered.
#[derive(Default)]
struct Ledger {
    down: [AtomicBool; REPLICAS],
    acknowledged: Mutex<Vec<Acknowledged>>,
    acknowledged_count: AtomicUsize,
    /// E-mails of orders whose request was lost with a killed replica: they may or may not exist.
    in_doubt: Mutex<Vec<String>>,
    keyed_replays: AtomicUsize,
    duplicates: AtomicUsize,
}

impl Ledger {
    /// The first replica at or after `start` (round robin) that is up.
    fn up_from(&self, start: usize) -> usize {
        (start..start + REPLICAS)
            .map(|replica| replica % REPLICAS)
            .find(|&replica| !self.down[replica].load(Ordering::SeqCst))
            .expect("a replica is up")
    }
}

/// `clients[replica][tenant]`
fn clients(ports: &[u16]) -> Vec<Vec<Client>> {
    ports
        .iter()
        .map(|port| {
            TENANTS
                .iter()
                .map(|(login, secret)| {
                    Client::builder(&format!("http://{login}.localhost:{port}"), *login, *secret)
                        .timeout(Duration::from_secs(15))
                        .build()
                        .expect("a client")
                })
                .collect()
        })
        .collect()
}

fn bill_id_of(response: &Response) -> i64 {
    response.result.as_ref().expect("a result")["bill_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no bill_id in {response:?}"))
}

/// One client thread: `ORDERS / CLIENT_THREADS` distinct orders, round robin over the replicas
/// that are up, with the retries of [`RETRY_EVERY`].
fn client_thread(thread: usize, ports: Vec<u16>, ledger: Arc<Ledger>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clients = clients(&ports);
    let per_thread = ORDERS / CLIENT_THREADS;
    for i in 0..per_thread {
        let n = thread * per_thread + i;
        let tenant = n % TENANTS.len();
        let replica = ledger.up_from(thread + i);
        let email = format!("order{n}@example.com");
        let mut order = NewOrder::new()
            .email(email.as_str())
            .first_name("Replica")
            .good("code1");
        if n.is_multiple_of(TIMER_EVERY) {
            order = order.timer_kill(TimerKill::At(now_unix() + TIMER_DELAY));
        }
        let keyed = n.is_multiple_of(RETRY_EVERY);
        let resent = n % RETRY_EVERY == RETRY_EVERY / 2;
        let options = if keyed {
            CallOptions::new().idempotency_key(format!("order-{n}"))
        } else {
            CallOptions::new()
        };
        let send = |replica: usize| {
            runtime.block_on(clients[replica][tenant].call_with_options(
                "CreateOrder",
                order.params(),
                &options,
            ))
        };
        let response = match send(replica) {
            Ok(response) => response,
            Err(_) if ledger.down[replica].load(Ordering::SeqCst) => {
                ledger.in_doubt.lock().unwrap().push(email);
                continue;
            }
            Err(error) => panic!("replica {replica} failed while up: {error}"),
        };
        assert_eq!(response.error_code, 0, "order {n}: {response:?}");
        let bill_id = bill_id_of(&response);
        ledger.acknowledged.lock().unwrap().push(Acknowledged {
            tenant,
            bill_id,
            email,
            replica,
        });
        ledger.acknowledged_count.fetch_add(1, Ordering::SeqCst);
        if !(keyed || resent) {
            continue;
        }
        let other = ledger.up_from(replica + 1);
        let again = match send(other) {
            Ok(again) => again,
            // The order is acknowledged already; a retry lost with its replica changes nothing.
            Err(_) if ledger.down[other].load(Ordering::SeqCst) => continue,
            Err(error) => panic!("replica {other} failed while up: {error}"),
        };
        if keyed {
            assert_eq!(
                String::from_utf8_lossy(&again.body),
                String::from_utf8_lossy(&response.body),
                "order {n}: the keyed retry on replica {other} answers byte for byte the same"
            );
            ledger.keyed_replays.fetch_add(1, Ordering::SeqCst);
        } else {
            assert_eq!(again.error_code, 601, "order {n} sent again: {again:?}");
            assert_eq!(bill_id_of(&again), bill_id, "order {n} sent again");
            ledger.duplicates.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The index in [`TENANTS`] of every tenant id.
async fn tenant_indexes(store: &PostgresStore) -> HashMap<i64, usize> {
    store
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|tenant| {
            let index = TENANTS
                .iter()
                .position(|(login, _)| *login == tenant.login.as_str())
                .expect("a tenant of the test");
            (tenant.id.0, index)
        })
        .collect()
}

/// Every order of the database, with its tenant's index.
async fn stored_orders(store: &PostgresStore) -> Vec<(usize, Order)> {
    let tenants = tenant_indexes(store).await;
    exported(store, Collection::Orders)
        .await
        .into_iter()
        .map(|record| match record {
            Record::Order { tenant, order, .. } => (tenants[&tenant.0], order),
            other => panic!("not an order: {other:?}"),
        })
        .collect()
}

/// Whether the load gave the order with this e-mail an auto-cancel timer.
fn has_timer(email: &str) -> bool {
    let number = email
        .strip_prefix("order")
        .and_then(|rest| rest.split('@').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("{email} is not an e-mail of the load"));
    number.is_multiple_of(TIMER_EVERY)
}

/// Every record of `collection`, read a page at a time.
async fn exported(store: &PostgresStore, collection: Collection) -> Vec<Record> {
    let mut all = Vec::new();
    let mut after: Option<Key> = None;
    loop {
        let page = store.export(collection, after, 1_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.key());
        all.extend(page);
    }
    all
}

/// Runs the load on three replicas, killing replica 1 halfway when `kill` says so, then checks
/// that every acknowledged order exists exactly once, that the auto-cancel timers all fired
/// exactly once, and that the replicas that stayed up answer for every order.
fn replicas_under_load(test: &str, kill: bool) {
    let Some(db) = TestDatabase::create(test) else {
        return;
    };
    let _turn = LOAD_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let started = Instant::now();
    for (login, secret) in TENANTS {
        db.ok(&["tenant", "add", login, "--secret", secret]);
        db.ok(&[
            "product", "add", login, "code1", "--title", "Course", "--price", "1000",
        ]);
    }
    let mut servers: Vec<Server> = (0..REPLICAS)
        .map(|_| {
            Server::start_on(
                &db.url,
                &["--db-pool-size", "8", "--auto-cancel-interval", "1"],
            )
        })
        .collect();
    let ports: Vec<u16> = servers.iter().map(|server| server.port).collect();

    let ledger = Arc::new(Ledger::default());
    let threads: Vec<_> = (0..CLIENT_THREADS)
        .map(|thread| {
            let ports = ports.clone();
            let ledger = Arc::clone(&ledger);
            thread::spawn(move || client_thread(thread, ports, ledger))
        })
        .collect();
    let killed = if kill {
        let halfway = eventually(Duration::from_secs(40), || {
            ledger.acknowledged_count.load(Ordering::SeqCst) >= ORDERS / 2
        });
        assert!(halfway.is_some(), "half the orders took more than 40 s");
        ledger.down[1].store(true, Ordering::SeqCst);
        servers[1].kill9();
        Some(ledger.acknowledged_count.load(Ordering::SeqCst))
    } else {
        None
    };
    for thread in threads {
        thread.join().expect("a client thread passed its checks");
    }
    let load_time = started.elapsed();

    let acknowledged = ledger.acknowledged.lock().unwrap().clone();
    let in_doubt: HashSet<String> = ledger.in_doubt.lock().unwrap().iter().cloned().collect();
    assert_eq!(acknowledged.len() + in_doubt.len(), ORDERS);
    if kill {
        assert!(
            in_doubt.len() <= CLIENT_THREADS,
            "only requests in flight at the kill are in doubt: {}",
            in_doubt.len()
        );
    } else {
        assert!(in_doubt.is_empty(), "{in_doubt:?}");
    }
    let mut ids = HashSet::new();
    for order in &acknowledged {
        assert!(
            ids.insert((order.tenant, order.bill_id)),
            "bill id {} of tenant {} acknowledged twice",
            order.bill_id,
            TENANTS[order.tenant].0
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(db.store());
    // Every acknowledged order exists once, under the id and tenant it was acknowledged with;
    // an order nobody acknowledged is one whose request was lost with the killed replica.
    let stored = runtime.block_on(stored_orders(&store));
    let mut by_email: HashMap<&str, Vec<(usize, i64)>> = HashMap::new();
    for (tenant, order) in &stored {
        by_email
            .entry(order.customer.email.as_str())
            .or_default()
            .push((*tenant, order.bill_id.get()));
    }
    for order in &acknowledged {
        assert_eq!(
            by_email.get(order.email.as_str()),
            Some(&vec![(order.tenant, order.bill_id)]),
            "acknowledged order {order:?} is stored exactly once"
        );
    }
    for (email, copies) in &by_email {
        assert_eq!(copies.len(), 1, "{email} is stored {copies:?}");
    }
    let acknowledged_emails: HashSet<&str> = acknowledged
        .iter()
        .map(|order| order.email.as_str())
        .collect();
    for (_, order) in &stored {
        let email = order.customer.email.as_str();
        assert!(
            acknowledged_emails.contains(email) || in_doubt.contains(email),
            "order {} ({email}) was neither acknowledged nor lost with a replica",
            order.bill_id.get()
        );
    }
    let unacknowledged = stored.len() - acknowledged.len();

    // The replicas that stayed up answer for orders any replica created.
    let up: Vec<usize> = (0..REPLICAS)
        .filter(|&replica| !ledger.down[replica].load(Ordering::SeqCst))
        .collect();
    let clients = clients(&ports);
    runtime.block_on(async {
        let step = (acknowledged.len() / 100).max(1);
        for order in acknowledged.iter().step_by(step) {
            let reader = up[(order.replica + 1) % up.len()];
            let response = clients[reader][order.tenant]
                .call(
                    "getOrderDetails",
                    vec![(
                        Param::from("bill_id"),
                        clickbill_client::Data::Int(order.bill_id),
                    )],
                )
                .await
                .expect("a replica that stayed up answers");
            assert_eq!(response.error_code, 0, "{order:?}: {response:?}");
            let details = response.result.expect("an order");
            assert_eq!(details["email"], order.email.as_str(), "{order:?}");
        }
    });

    // Every timer fires, once: the replicas sweep every second, competing for the same orders.
    let timers_done = eventually(Duration::from_secs(TIMER_DELAY as u64 + 10), || {
        runtime
            .block_on(stored_orders(&store))
            .iter()
            .all(|(_, order)| order.auto_cancel_at.is_none())
    });
    assert!(timers_done.is_some(), "some auto-cancel timer never fired");
    let tenants = runtime.block_on(tenant_indexes(&store));
    let mut events: HashMap<(usize, i64, OrderEventKind), usize> = HashMap::new();
    for record in runtime.block_on(exported(&store, Collection::Events)) {
        let Record::Event(event) = record else {
            panic!("not an event: {record:?}")
        };
        *events
            .entry((tenants[&event.tenant.0], event.bill_id.get(), event.kind))
            .or_default() += 1;
    }
    let mut timers = 0;
    for (tenant, order) in runtime.block_on(stored_orders(&store)) {
        let timed = has_timer(&order.customer.email);
        let count = |kind| {
            events
                .get(&(tenant, order.bill_id.get(), kind))
                .copied()
                .unwrap_or(0)
        };
        let expected = if timed {
            PayStatus::Cancel
        } else {
            PayStatus::Waiting
        };
        assert_eq!(order.pay_status, expected, "{}", order.customer.email);
        assert_eq!(
            count(OrderEventKind::Cancel),
            usize::from(timed),
            "cancel_order events of {}",
            order.customer.email
        );
        assert_eq!(
            count(OrderEventKind::NewOrder),
            1,
            "{}",
            order.customer.email
        );
        timers += usize::from(timed);
    }
    assert_eq!(events.values().sum::<usize>(), stored.len() + timers);
    runtime.block_on(store.close());

    for (replica, server) in servers.iter().enumerate() {
        if !ledger.down[replica].load(Ordering::SeqCst) {
            let log = server.stderr();
            assert!(!log.contains("panicked"), "replica {replica}:\n{log}");
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "postgres {test}: {} orders acknowledged by {REPLICAS} replicas ({} keyed replays, {} \
         duplicates answered 601, {timers} timers fired once{}), load {load_time:?}, all checked \
         in {elapsed:?}",
        acknowledged.len(),
        ledger.keyed_replays.load(Ordering::SeqCst),
        ledger.duplicates.load(Ordering::SeqCst),
        match killed {
            Some(at) => format!(
                "; replica 1 killed after {at} acknowledgements, {} in doubt, {unacknowledged} \
                 of them stored",
                in_doubt.len()
            ),
            None => String::new(),
        }
    );
    assert!(
        elapsed < TEST_LIMIT,
        "the test must stay under {TEST_LIMIT:?}, took {elapsed:?}"
    );
}

#[test]
fn three_replicas_share_one_database() {
    replicas_under_load("three_replicas_share_one_database", false);
}

#[cfg(unix)]
#[test]
fn a_replica_killed_under_load_loses_nothing() {
    replicas_under_load("a_replica_killed_under_load_loses_nothing", true);
}
