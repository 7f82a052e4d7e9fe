//! The shared store suite on a fresh database file per test, then what only the SQLite store
//! promises: group commit, savepoint isolation inside a batch, durability across reopening,
//! readers that do not wait for the writer.

use clickbill_domain::model::{
    BillId, InitialStatus, NewOrder, Order, PayStatus, ProductSpec, Tenant, TenantId,
};
use clickbill_domain::order::StatusChange;
use clickbill_domain::store_suite::{join_all, new_order, new_tenant, NOW};
use clickbill_domain::{
    CreatedOrder, IdempotencyClaim, OrderChange, OrderUpdate, Store, StoreError, StoredResponse,
    IDEMPOTENCY_KEY_LIFETIME,
};
use clickbill_protocol::value::Money;
use clickbill_store_sqlite::{SqliteOptions, SqliteStore, SCHEMA_VERSION};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// A store on a database file that lives as long as the fixture.
struct Fixture {
    // Declared first so that the store is closed before its directory is removed.
    store: Arc<SqliteStore>,
    dir: TempDir,
}

impl AsRef<dyn Store> for Fixture {
    fn as_ref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(SqliteOptions::default())
    }

    fn with(options: SqliteOptions) -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open_with(dir.path().join("clickbill.db"), options)
            .expect("open the store");
        Fixture {
            store: Arc::new(store),
            dir,
        }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("clickbill.db")
    }
}

async fn fresh() -> Option<Fixture> {
    Some(Fixture::new())
}

clickbill_domain::store_suite_tests!(fresh);

fn sample_order(email: &str) -> NewOrder {
    new_order(email, Vec::new())
}

async fn add_tenant(store: &SqliteStore, login: &str) -> Tenant {
    store
        .add_tenant(new_tenant(login))
        .await
        .expect("add tenant")
}

/// Occupies the writer thread until the returned sender is used or dropped, so that the writes
/// queued meanwhile all land in the next batch.
/// Lets the held writer go once every future of the surrounding `join!` has queued its write:
/// all of them are polled once before any timer can fire.
async fn release_soon(release: mpsc::Sender<()>) {
    tokio::time::sleep(Duration::from_millis(50)).await;
    release.send(()).unwrap();
}

async fn hold_writer(store: &Arc<SqliteStore>) -> (mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = {
        let store = Arc::clone(store);
        tokio::spawn(async move {
            store
                .write(move |_| {
                    let _ = started_tx.send(());
                    let _ = release_rx.recv();
                    Ok(())
                })
                .await
                .expect("the holding job");
        })
    };
    tokio::task::spawn_blocking(move || started_rx.recv().expect("the writer started the job"))
        .await
        .unwrap();
    (release_tx, holder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let fx = Fixture::new();
    let store = &fx.store;
    let t = add_tenant(store, "group").await;
    let before = store.stats();
    let calls = (0..300)
        .map(|n| store.create_order(&t, sample_order(&format!("g{n}@example.com")), NOW))
        .collect();
    for result in join_all(calls).await {
        assert!(matches!(result, Ok(CreatedOrder::Created(_))), "{result:?}");
    }
    let after = store.stats();
    let jobs = after.jobs - before.jobs;
    let commits = after.commits - before.commits;
    assert_eq!(jobs, 300);
    assert!(
        commits <= 30,
        "300 concurrent writes took {commits} commits"
    );
    assert_eq!(after.failed_batches, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_respect_their_cap() {
    let fx = Fixture::with(SqliteOptions {
        max_batch: 8,
        ..SqliteOptions::default()
    });
    let store = &fx.store;
    let t = add_tenant(store, "capped").await;
    let before = store.stats();
    let calls = (0..64)
        .map(|n| store.create_order(&t, sample_order(&format!("c{n}@example.com")), NOW))
        .collect();
    for result in join_all(calls).await {
        result.expect("create order");
    }
    let commits = store.stats().commits - before.commits;
    assert!(
        commits >= 8,
        "64 writes in batches of at most 8 took {commits} commits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_is_undone_alone() {
    let fx = Fixture::new();
    let shared = &fx.store;
    let mut owner = new_tenant("owner");
    owner.custom_domains = vec!["taken.example".into()];
    shared.add_tenant(owner).await.unwrap();

    let (release, holder) = hold_writer(shared).await;
    let before = shared.stats();
    let mut clash = new_tenant("clash");
    clash.custom_domains = vec!["free.example".into(), "taken.example".into()];
    let (first, conflict, panicked, failed, last, ()) = tokio::join!(
        shared.add_tenant(new_tenant("first")),
        shared.add_tenant(clash),
        shared.write(|conn| -> Result<(), StoreError> {
            conn.execute("INSERT INTO meta (key, value) VALUES ('panicked', 1)", [])
                .unwrap();
            panic!("a job that panics");
        }),
        shared.write(|conn| -> Result<(), StoreError> {
            conn.execute("INSERT INTO meta (key, value) VALUES ('failed', 1)", [])
                .unwrap();
            Err(StoreError::Backend("refused on purpose".into()))
        }),
        shared.add_tenant(new_tenant("last")),
        release_soon(release),
    );
    holder.await.unwrap();
    assert!(first.is_ok(), "{first:?}");
    assert!(
        matches!(conflict, Err(StoreError::Conflict(_))),
        "{conflict:?}"
    );
    assert!(
        matches!(panicked, Err(StoreError::Backend(_))),
        "{panicked:?}"
    );
    assert!(matches!(failed, Err(StoreError::Backend(m)) if m == "refused on purpose"));
    assert!(last.is_ok(), "{last:?}");
    let after = shared.stats();
    assert_eq!(after.jobs - before.jobs, 5);
    assert_eq!(
        after.commits - before.commits,
        2,
        "the holder's commit, then one for all five writes"
    );

    assert!(shared.tenant_by_login("first").await.unwrap().is_some());
    assert!(shared.tenant_by_login("last").await.unwrap().is_some());
    assert!(shared.tenant_by_login("clash").await.unwrap().is_none());
    assert!(shared
        .tenant_by_domain("free.example")
        .await
        .unwrap()
        .is_none());
    let leftovers: i64 = shared
        .read(|c| {
            c.query_row(
                "SELECT count(*) FROM meta WHERE key IN ('panicked', 'failed')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| StoreError::Backend(e.to_string()))
        })
        .await
        .unwrap();
    assert_eq!(leftovers, 0);
    // The writer thread survived the panic.
    shared.add_tenant(new_tenant("after")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_fails_every_caller_of_the_batch() {
    let fx = Fixture::new();
    let store = &fx.store;
    let (release, holder) = hold_writer(store).await;
    let (a, poison, b, ()) = tokio::join!(
        store.add_tenant(new_tenant("doomed-a")),
        // A foreign key checked only at COMMIT makes the whole transaction fail there.
        store.write(|conn| {
            conn.execute_batch(
                "PRAGMA defer_foreign_keys = ON; \
                 INSERT INTO counters (tenant_id, name, next) VALUES (987654, 'x', 1);",
            )
            .map_err(|e| StoreError::Backend(e.to_string()))
        }),
        store.add_tenant(new_tenant("doomed-b")),
        release_soon(release),
    );
    holder.await.unwrap();
    for result in [a.map(|_| ()), poison, b.map(|_| ())] {
        assert!(
            matches!(&result, Err(StoreError::Backend(m)) if m.contains("commit failed")),
            "{result:?}"
        );
    }
    assert!(store.tenant_by_login("doomed-a").await.unwrap().is_none());
    assert!(store.tenant_by_login("doomed-b").await.unwrap().is_none());
    assert_eq!(store.stats().failed_batches, 1);
    store.add_tenant(new_tenant("survivor")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clickbill.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut spec = new_tenant("durable");
    spec.custom_domains = vec!["durable.example".into()];
    spec.settings.first_bill_id = 42;
    let t = store.add_tenant(spec).await.unwrap();
    let p = store
        .add_product(
            t.id,
            ProductSpec::new(
                clickbill_domain::model::GoodName::parse("p").unwrap(),
                "P",
                Money::from_minor(100),
            ),
        )
        .await
        .unwrap();
    let gone = store
        .add_product(
            t.id,
            ProductSpec::new(
                clickbill_domain::model::GoodName::parse("gone").unwrap(),
                "G",
                Money::from_minor(1),
            ),
        )
        .await
        .unwrap();
    assert!(store.delete_product(t.id, "gone").await.unwrap());
    let item = clickbill_domain::model::Item {
        product_id: p.id,
        code: "p".into(),
        title: "P".into(),
        physical: false,
        price: p.spec.price,
        sum: p.spec.price,
        pincode: String::new(),
        partners: Vec::new(),
    };
    let CreatedOrder::Created(kept) = store
        .create_order(&t, new_order("k@example.com", vec![item.clone()]), NOW)
        .await
        .unwrap()
    else {
        panic!("created");
    };
    let CreatedOrder::Created(deleted) = store
        .create_order(&t, new_order("d@example.com", vec![item.clone()]), NOW)
        .await
        .unwrap()
    else {
        panic!("created");
    };
    assert!(store.delete_order(t.id, deleted).await.unwrap());
    let settings = t.settings.clone();
    store
        .update_order(
            t.id,
            kept,
            NOW + 1,
            Box::new(move |o: &mut Order| o.apply(StatusChange::Cancel, &settings)),
        )
        .await
        .unwrap();
    let order_before = store.order(t.id, kept).await.unwrap().unwrap();
    let version_before = store.tenants_version().await.unwrap();
    store.close().await.unwrap();

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.tenant_by_domain("durable.example").await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(store.tenants_version().await.unwrap(), version_before);
    assert_eq!(
        store.products(t.id).await.unwrap(),
        std::slice::from_ref(&p)
    );
    assert_eq!(store.order(t.id, kept).await.unwrap(), Some(order_before));
    assert_eq!(store.order(t.id, deleted).await.unwrap(), None);
    let CreatedOrder::Created(next) = store
        .create_order(&t, new_order("n@example.com", vec![item]), NOW)
        .await
        .unwrap()
    else {
        panic!("created");
    };
    assert!(next > deleted, "numbers continue after reopening");
    let again = store
        .add_product(
            t.id,
            ProductSpec::new(
                clickbill_domain::model::GoodName::parse("gone").unwrap(),
                "G",
                Money::from_minor(1),
            ),
        )
        .await
        .unwrap();
    assert!(again.id > gone.id);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_do_not_wait_for_a_long_write() {
    let fx = Fixture::new();
    let store = &fx.store;
    add_tenant(store, "reader").await;
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let writer = {
        let store = Arc::clone(store);
        tokio::spawn(async move {
            store
                .write(move |conn| {
                    conn.execute("UPDATE tenants SET secret = 'uncommitted'", [])
                        .unwrap();
                    let _ = started_tx.send(());
                    std::thread::sleep(Duration::from_millis(1_500));
                    Ok(())
                })
                .await
        })
    };
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    for _ in 0..20 {
        let t = store.tenant_by_login("reader").await.unwrap().unwrap();
        assert_ne!(t.secret, "uncommitted", "a reader sees only committed data");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_millis(700), "20 reads took {took:?}");
    assert!(!writer.is_finished(), "the write was still running");
    writer.await.unwrap().unwrap();
    let t = store.tenant_by_login("reader").await.unwrap().unwrap();
    assert_eq!(t.secret, "uncommitted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_read_does_not_break_the_pool() {
    let fx = Fixture::with(SqliteOptions {
        readers: 1,
        ..SqliteOptions::default()
    });
    let result = fx
        .store
        .read(|_| -> Result<(), StoreError> { panic!("a read that panics") })
        .await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
    add_tenant(&fx.store, "still-readable").await;
    assert!(fx
        .store
        .tenant_by_login("still-readable")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_written_with_their_change() {
    let fx = Fixture::new();
    let store = &fx.store;
    let a = add_tenant(store, "events-a").await;
    let b = add_tenant(store, "events-b").await;
    let order = || new_order("e@example.com", Vec::new());
    let CreatedOrder::Created(id) = store.create_order(&a, order(), NOW).await.unwrap() else {
        panic!("created");
    };
    assert_eq!(
        store.create_order(&a, order(), NOW + 1).await.unwrap(),
        CreatedOrder::Duplicate(id)
    );
    let CreatedOrder::Created(other) = store.create_order(&b, order(), NOW + 2).await.unwrap()
    else {
        panic!("created");
    };
    let refused = store
        .update_order(
            a.id,
            id,
            NOW + 4,
            Box::new(|_| Err(clickbill_domain::order::StatusRefusal::NotPaid)),
        )
        .await
        .unwrap();
    assert!(matches!(refused, OrderUpdate::Refused(_)));
    let settings = a.settings.clone();
    store
        .update_order(
            a.id,
            id,
            NOW + 5,
            Box::new(move |o: &mut Order| {
                o.apply(
                    StatusChange::Paid {
                        date: NOW + 5,
                        amount: None,
                        payway: None,
                    },
                    &settings,
                )
            }),
        )
        .await
        .unwrap();
    assert!(store.delete_order(a.id, id).await.unwrap());

    let events: Vec<(i64, i64, i64, String, i64)> = store
        .read(|c| {
            let mut stmt = c
                .prepare("SELECT tenant_id, id, bill_id, kind, at FROM order_events ORDER BY id")
                .unwrap();
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .unwrap();
            Ok(rows.map(Result::unwrap).collect())
        })
        .await
        .unwrap();
    // Each event is dated the server time of the call that caused it.
    let expected = [
        (a.id.0, id.get(), "new_order", NOW),
        (b.id.0, other.get(), "new_order", NOW + 2),
        (a.id.0, id.get(), "paid", NOW + 5),
    ];
    let got: Vec<(i64, i64, &str, i64)> = events
        .iter()
        .map(|e| (e.0, e.2, e.3.as_str(), e.4))
        .collect();
    assert_eq!(got, expected);
    let ids: Vec<i64> = events.iter().map(|e| e.1).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "event ids are global: {ids:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_changing_tenants_is_seen() {
    let fx = Fixture::new();
    let server = &fx.store;
    let t = add_tenant(server, "shared").await;
    let version = server.tenants_version().await.unwrap();

    // The admin command line opens the same file with a store of its own.
    let admin = SqliteStore::open(fx.path()).unwrap();
    let mut changed = admin.tenant_by_login("shared").await.unwrap().unwrap();
    changed.secret = "rotated".into();
    admin.save_tenant(&changed).await.unwrap();
    admin.close().await.unwrap();

    assert_ne!(server.tenants_version().await.unwrap(), version);
    let seen = server.tenant_by_login("shared").await.unwrap().unwrap();
    assert_eq!(seen.secret, "rotated");
    assert_eq!(seen.id, t.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_alone_and_refuse_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    assert_eq!(SqliteStore::migrate(&path).unwrap(), SCHEMA_VERSION);
    assert_eq!(
        SqliteStore::migrate(&path).unwrap(),
        SCHEMA_VERSION,
        "idempotent"
    );
    let store = SqliteStore::open(&path).unwrap();
    let (journal, synchronous, foreign_keys): (String, i64, i64) = store
        .write(|c| {
            Ok((
                c.pragma_query_value(None, "journal_mode", |r| r.get(0))
                    .unwrap(),
                c.pragma_query_value(None, "synchronous", |r| r.get(0))
                    .unwrap(),
                c.pragma_query_value(None, "foreign_keys", |r| r.get(0))
                    .unwrap(),
            ))
        })
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(synchronous, 2, "FULL");
    assert_eq!(foreign_keys, 1);
    store
        .write(|c| {
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .map_err(|e| StoreError::Backend(e.to_string()))
        })
        .await
        .unwrap();
    store.close().await.unwrap();
    let newer = SqliteStore::open(&path);
    assert!(
        matches!(&newer, Err(StoreError::Backend(m)) if m.contains("newer")),
        "{newer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_tenant_cannot_take_orders() {
    let fx = Fixture::new();
    let mut ghost = add_tenant(&fx.store, "real").await;
    ghost.id = TenantId(ghost.id.0 + 1_000);
    let result = fx
        .store
        .create_order(&ghost, new_order("g@example.com", Vec::new()), NOW)
        .await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
}

async fn events_of(store: &SqliteStore, tenant: TenantId) -> Vec<(i64, String, i64)> {
    store
        .read(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT bill_id, kind, at FROM order_events WHERE tenant_id = ?1 ORDER BY id",
                )
                .unwrap();
            let rows = stmt
                .query_map([tenant.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap();
            Ok(rows.map(Result::unwrap).collect())
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_created_paid_records_both_events() {
    let fx = Fixture::new();
    let store = &fx.store;
    let t = add_tenant(store, "initial-events").await;
    let mut ids = Vec::new();
    for (n, initial) in [
        InitialStatus::Paid {
            at: NOW - 60,
            payway: "card".into(),
        },
        InitialStatus::Cancel,
        InitialStatus::Moneyback { at: NOW - 30 },
    ]
    .into_iter()
    .enumerate()
    {
        let mut order = sample_order(&format!("i{n}@example.com"));
        order.initial = initial;
        let CreatedOrder::Created(id) = store.create_order(&t, order, NOW).await.unwrap() else {
            panic!("created");
        };
        ids.push(id.get());
    }
    // Events are dated the server time of creation, whatever time the payment names.
    let expected = [
        (ids[0], "new_order", NOW),
        (ids[0], "paid", NOW),
        (ids[1], "new_order", NOW),
        (ids[2], "new_order", NOW),
    ];
    let events = events_of(store, t.id).await;
    let got: Vec<(i64, &str, i64)> = events.iter().map(|e| (e.0, e.1.as_str(), e.2)).collect();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purging_removes_old_keys_and_abandoned_claims_only() {
    let fx = Fixture::new();
    let store = &fx.store;
    let t = add_tenant(store, "purge").await;
    let response = || StoredResponse {
        status: 200,
        body: b"ok".to_vec(),
    };
    let claim = |key: &'static str, at: i64| store.claim_idempotency_key(t.id, key, "F", at, 30);
    for (key, at) in [("old", NOW), ("young", NOW + 1)] {
        assert_eq!(claim(key, at).await.unwrap(), IdempotencyClaim::Claimed);
        store
            .complete_idempotency_key(t.id, key, "F", response(), at)
            .await
            .unwrap();
    }
    assert_eq!(
        claim("abandoned", NOW).await.unwrap(),
        IdempotencyClaim::Claimed
    );
    assert_eq!(
        claim("running", NOW + 1).await.unwrap(),
        IdempotencyClaim::Claimed
    );

    assert_eq!(
        store
            .purge_idempotency_keys(NOW + IDEMPOTENCY_KEY_LIFETIME - 1)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .purge_idempotency_keys(NOW + IDEMPOTENCY_KEY_LIFETIME)
            .await
            .unwrap(),
        2
    );
    let left: Vec<String> = store
        .read(|c| {
            let mut stmt = c
                .prepare("SELECT key FROM idempotency_keys ORDER BY key")
                .unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            Ok(rows.map(Result::unwrap).collect())
        })
        .await
        .unwrap();
    assert_eq!(left, ["running", "young"]);
}

/// An unsubscribe written inside another write transaction goes to the tenant's
/// `unsubscribe_url` with the body of SPEC §16.9, and only when that transaction commits.
#[tokio::test]
async fn unsubscribes_are_queued_with_the_transaction_that_makes_them() {
    use clickbill_domain::outbox::{DeliveryFilter, UNSUBSCRIBE};
    use clickbill_protocol::notification::UnsubscribeNotification;
    use clickbill_store_sqlite::outbox::enqueue_unsubscribe;

    let fixture = Fixture::new();
    let store = &fixture.store;
    let mut tenant = store.add_tenant(new_tenant("unsub")).await.expect("tenant");
    let fields = UnsubscribeNotification {
        name: "Иван Петров".into(),
        email: "user8@example.com".into(),
        id_group: "1".into(),
        ip: "203.0.113.7".into(),
        ..UnsubscribeNotification::default()
    };
    let id = tenant.id;
    let queue = |fields: UnsubscribeNotification, fail: bool| {
        store.write(move |conn| {
            enqueue_unsubscribe(conn, id, &fields)?;
            if fail {
                return Err(StoreError::Backend("the unsubscription failed".into()));
            }
            Ok(())
        })
    };
    // No unsubscribe_url: nothing to send.
    queue(fields.clone(), false).await.unwrap();
    assert!(store
        .deliveries(id, DeliveryFilter::default())
        .await
        .unwrap()
        .is_empty());

    tenant.settings.unsubscribe_url = "https://crm.example/unsub.php".into();
    store.save_tenant(&tenant).await.unwrap();
    assert!(queue(fields.clone(), true).await.is_err());
    queue(fields, false).await.unwrap();
    let queued = store
        .deliveries(id, DeliveryFilter::default())
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "the failed transaction queued nothing");
    assert_eq!(queued[0].kind, UNSUBSCRIBE);
    assert_eq!(queued[0].bill_id, None);
    assert_eq!(queued[0].url, "https://crm.example/unsub.php");
    assert_eq!(
        String::from_utf8(queued[0].body.clone()).unwrap(),
        "name=%D0%98%D0%B2%D0%B0%D0%BD+%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2&email=user8%40example.com&phone=&city=&id_group=1&ip=203.0.113.7&status=0"
    );
}

async fn comment_of(store: &SqliteStore, tenant: TenantId, bill_id: BillId) -> Option<String> {
    store
        .order(tenant, bill_id)
        .await
        .expect("read the order")
        .map(|order| order.comment)
}

fn set_comment(comment: String) -> OrderChange {
    Box::new(move |order: &mut Order| {
        order.comment = comment;
        Ok(Vec::new())
    })
}

/// A store holding one order of a tenant named `login`.
async fn one_order(options: SqliteOptions, login: &str) -> (Fixture, Tenant, BillId) {
    let fx = Fixture::with(options);
    let tenant = add_tenant(&fx.store, login).await;
    let email = format!("{login}@example.com");
    let bill = match fx
        .store
        .create_order(&tenant, sample_order(&email), NOW)
        .await
        .unwrap()
    {
        CreatedOrder::Created(id) => id,
        other => panic!("{other:?}"),
    };
    (fx, tenant, bill)
}

/// Changes an order's comment with plain SQL, as any statement on any connection could.
fn set_comment_by_sql(
    conn: &rusqlite::Connection,
    tenant: TenantId,
    bill: BillId,
    comment: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE orders SET comment = ?3 WHERE tenant_id = ?1 AND bill_id = ?2",
        rusqlite::params![tenant.0, bill.get(), comment],
    )
    .map(|_| ())
    .map_err(|e| StoreError::Backend(e.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_orders_follow_every_write_of_the_writer() {
    let (fx, t, bill) = one_order(SqliteOptions::default(), "cached").await;
    let store = &fx.store;
    // Read twice: the second answer comes from the cache.
    assert_eq!(comment_of(store, t.id, bill).await.as_deref(), Some(""));
    assert_eq!(comment_of(store, t.id, bill).await.as_deref(), Some(""));

    let applied = store
        .update_order(t.id, bill, NOW, set_comment("through the store".into()))
        .await
        .unwrap();
    assert!(matches!(applied, OrderUpdate::Applied(_)));
    assert_eq!(
        comment_of(store, t.id, bill).await.as_deref(),
        Some("through the store")
    );

    // Any statement the writer runs is seen, not only the store's own order methods.
    let tenant = t.id;
    store
        .write(move |c| set_comment_by_sql(c, tenant, bill, "raw"))
        .await
        .unwrap();
    assert_eq!(comment_of(store, t.id, bill).await.as_deref(), Some("raw"));

    // A write that fails is rolled back; the cache still holds what was committed.
    let refused = store
        .write(move |c| {
            set_comment_by_sql(c, tenant, bill, "undone")?;
            Err::<(), _>(StoreError::Backend("refused on purpose".into()))
        })
        .await;
    assert!(refused.is_err());
    assert_eq!(comment_of(store, t.id, bill).await.as_deref(), Some("raw"));

    assert!(store.delete_order(t.id, bill).await.unwrap());
    assert_eq!(comment_of(store, t.id, bill).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fired_auto_cancels_reach_cached_orders() {
    let fx = Fixture::new();
    let store = &fx.store;
    let t = add_tenant(store, "timers").await;
    let mut order = sample_order("timer@example.com");
    order.auto_cancel_at = Some(NOW + 60);
    let CreatedOrder::Created(bill) = store.create_order(&t, order, NOW).await.unwrap() else {
        panic!("not created");
    };
    let before = store.order(t.id, bill).await.unwrap().unwrap();
    assert_ne!(before.pay_status, PayStatus::Cancel);
    let fired = store.fire_due_auto_cancels(NOW + 61, 10).await.unwrap();
    assert_eq!(fired.cancelled.len(), 1);
    let after = store.order(t.id, bill).await.unwrap().unwrap();
    assert_eq!(after.pay_status, PayStatus::Cancel);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_racing_updates_never_keep_a_stale_order() {
    let (fx, t, bill) = one_order(SqliteOptions::default(), "racing").await;
    let store = &fx.store;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (store, stop) = (Arc::clone(store), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut reads = 0_u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    store.order(t.id, bill).await.unwrap();
                    reads += 1;
                    // A cached read never waits, so the loop has to let other tasks run.
                    tokio::task::yield_now().await;
                }
                reads
            })
        })
        .collect();
    // Every acknowledged update is what the next read shows, however the readers interleave.
    for n in 0..300 {
        let comment = format!("update {n}");
        store
            .update_order(t.id, bill, NOW, set_comment(comment.clone()))
            .await
            .unwrap();
        assert_eq!(comment_of(store, t.id, bill).await, Some(comment));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_changing_an_order_is_seen_soon() {
    let (fx, t, bill) = one_order(SqliteOptions::default(), "foreign").await;
    let store = &fx.store;
    assert_eq!(comment_of(store, t.id, bill).await.as_deref(), Some(""));

    let other = rusqlite::Connection::open(fx.path()).unwrap();
    other.busy_timeout(Duration::from_secs(5)).unwrap();
    set_comment_by_sql(&other, t.id, bill, "by hand").unwrap();
    drop(other);

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if comment_of(store, t.id, bill).await.as_deref() == Some("by hand") {
            break;
        }
        assert!(Instant::now() < deadline, "the change was never seen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_cache_can_be_switched_off() {
    let uncached = SqliteOptions {
        order_cache: 0,
        ..SqliteOptions::default()
    };
    let (fx, t, bill) = one_order(uncached, "uncached").await;
    let store = &fx.store;
    assert_eq!(comment_of(store, t.id, bill).await.as_deref(), Some(""));
    let other = rusqlite::Connection::open(fx.path()).unwrap();
    set_comment_by_sql(&other, t.id, bill, "at once").unwrap();
    assert_eq!(
        comment_of(store, t.id, bill).await.as_deref(),
        Some("at once")
    );
}
