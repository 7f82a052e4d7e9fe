//! Several stores on one schema play the replicas of a deployment: each has its own pool, so
//! their calls meet only in the database, as those of separate processes would.

use crate::support::{server_url, Schema};
use clickbill_domain::model::{
    BillId, Commission, Customer, Discount, GoodName, InitialStatus, Item, NewCoupon, NewManager,
    NewOrder, NewPartner, OrderExtras, PartnerEntry, PartnerId, PayStatus, Product, ProductSpec,
    Tenant, TenantId,
};
use clickbill_domain::order::{OrderEventKind, StatusChange};
use clickbill_domain::store_suite::{
    assert_one_created_rest_duplicates, new_order, new_tenant, NOW,
};
use clickbill_domain::transfer::{Collection, Key, Record, Transfer};
use clickbill_domain::{
    CreatedOrder, FiredTimers, IdempotencyClaim, Store, StoreError, StoredResponse,
};
use clickbill_protocol::value::{Money, Percent};
use clickbill_store_postgres::{PostgresOptions, PostgresStore, SCHEMA_VERSION};
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `n` stores on one fresh schema.
struct Replicas {
    // Declared first so that the stores' connections close before the schema is dropped.
    stores: Vec<Arc<PostgresStore>>,
    schema: Schema,
}

impl Replicas {
    async fn new(test: &str, n: usize) -> Option<Replicas> {
        let schema = Schema::new(&server_url(test)?);
        let mut stores = Vec::with_capacity(n);
        for _ in 0..n {
            stores.push(schema.store().await);
        }
        Some(Replicas { stores, schema })
    }

    /// The store that call number `n` goes to: calls take turns over the replicas.
    fn turn(&self, n: usize) -> Arc<PostgresStore> {
        Arc::clone(&self.stores[n % self.stores.len()])
    }
}

/// Runs every future on a task of its own and returns their outputs in order.
async fn in_parallel<T, F>(futures: Vec<F>) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.expect("the task ran to its end"));
    }
    outputs
}

async fn product(store: &dyn Store, tenant: &Tenant, code: &str, price: i64) -> Product {
    let code = GoodName::parse(code).expect("a valid product code");
    store
        .add_product(
            tenant.id,
            ProductSpec::new(code, "A product", Money::from_minor(price)),
        )
        .await
        .expect("add product")
}

fn item(product: &Product, sum: i64) -> Item {
    Item {
        product_id: product.id,
        code: product.spec.code.as_str().to_owned(),
        title: product.spec.title.clone(),
        physical: product.spec.physical,
        price: product.spec.price,
        sum: Money::from_minor(sum),
        pincode: String::new(),
        partners: Vec::new(),
    }
}

async fn created(store: &dyn Store, tenant: &Tenant, order: NewOrder) -> BillId {
    match store.create_order(tenant, order, NOW).await {
        Ok(CreatedOrder::Created(id)) => id,
        other => panic!("expected a new order, got {other:?}"),
    }
}

/// Every record of `collection`, read `page` at a time.
async fn export_all(store: &dyn Transfer, collection: Collection, page: usize) -> Vec<Record> {
    let mut all: Vec<Record> = Vec::new();
    loop {
        let after = all.last().map(Record::key);
        let records = store.export(collection, after, page).await.expect("export");
        assert!(records.len() <= page);
        let done = records.len() < page;
        all.extend(records);
        if done {
            return all;
        }
    }
}

async fn events(store: &dyn Transfer) -> Vec<(TenantId, BillId, OrderEventKind)> {
    export_all(store, Collection::Events, 1_000)
        .await
        .into_iter()
        .map(|record| match record {
            Record::Event(event) => (event.tenant, event.bill_id, event.kind),
            other => panic!("an event, not {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_orders_on_every_replica_make_one() {
    let Some(r) = Replicas::new("identical_orders_on_every_replica_make_one", 3).await else {
        return;
    };
    let t = r.stores[0].add_tenant(new_tenant("race")).await.unwrap();
    let p = product(&*r.stores[1], &t, "p", 1_000).await;
    let order = new_order("race@example.com", vec![item(&p, 1_000)]);
    let calls = (0..50)
        .map(|n| {
            let (store, t, order) = (r.turn(n), t.clone(), order.clone());
            async move { store.create_order(&t, order, NOW).await }
        })
        .collect();
    let results: Vec<CreatedOrder> = in_parallel(calls)
        .await
        .into_iter()
        .map(|r| r.expect("create order"))
        .collect();
    assert_one_created_rest_duplicates(&results);
    assert_eq!(r.stores[2].count(Collection::Orders).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn distinct_orders_on_every_replica_get_their_own_numbers() {
    let Some(r) = Replicas::new("distinct_orders_on_every_replica_get_their_own_numbers", 3).await
    else {
        return;
    };
    let mut spec = new_tenant("burst");
    spec.settings.first_bill_id = 100;
    let t = r.stores[0].add_tenant(spec).await.unwrap();
    let p = product(&*r.stores[0], &t, "p", 1_000).await;
    let emails: Vec<String> = (0..200).map(|n| format!("buyer{n}@example.com")).collect();
    let calls = emails
        .iter()
        .enumerate()
        .map(|(n, email)| {
            let (store, t) = (r.turn(n), t.clone());
            let order = new_order(email, vec![item(&p, 1_000)]);
            async move { store.create_order(&t, order, NOW).await }
        })
        .collect();
    let ids: Vec<BillId> = in_parallel(calls)
        .await
        .into_iter()
        .map(|r| match r.expect("create order") {
            CreatedOrder::Created(id) => id,
            other => panic!("distinct orders are no duplicates: {other:?}"),
        })
        .collect();
    let unique: HashSet<BillId> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 200, "every order gets its own number");
    assert!(ids.iter().all(|id| id.get() >= 100), "{ids:?}");
    for (n, (id, email)) in ids.iter().zip(&emails).enumerate() {
        let order = r.turn(n + 1).order(t.id, *id).await.unwrap();
        assert_eq!(order.expect("order").customer.email, *email, "order {id}");
    }
    assert_eq!(r.stores[1].count(Collection::Orders).await.unwrap(), 200);
    let highest = ids.iter().max().copied().unwrap();
    let next = created(
        &*r.stores[2],
        &t,
        new_order("after@example.com", vec![item(&p, 1_000)]),
    )
    .await;
    assert!(next > highest, "numbers keep increasing after a burst");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_replica_wins_an_idempotency_key() {
    let Some(r) = Replicas::new("one_replica_wins_an_idempotency_key", 3).await else {
        return;
    };
    let t = r.stores[0].add_tenant(new_tenant("keys")).await.unwrap();
    let fingerprint = |n: usize| if n.is_multiple_of(2) { "A" } else { "B" };
    let claims = (0..30)
        .map(|n| {
            let store = r.turn(n);
            async move {
                let claim = store
                    .claim_idempotency_key(t.id, "order-1", fingerprint(n), NOW, 30)
                    .await
                    .expect("claim");
                (fingerprint(n), claim)
            }
        })
        .collect();
    let claims = in_parallel(claims).await;
    let winners: Vec<&str> = claims
        .iter()
        .filter(|(_, claim)| *claim == IdempotencyClaim::Claimed)
        .map(|(fingerprint, _)| *fingerprint)
        .collect();
    assert_eq!(winners.len(), 1, "{claims:?}");
    for (fingerprint, claim) in &claims {
        if *claim != IdempotencyClaim::Claimed {
            let expected = if *fingerprint == winners[0] {
                IdempotencyClaim::InFlight
            } else {
                IdempotencyClaim::Mismatch
            };
            assert_eq!(*claim, expected, "{claims:?}");
        }
    }

    let response = StoredResponse {
        status: 200,
        body: b"{\"error_code\":0}".to_vec(),
    };
    r.stores[1]
        .complete_idempotency_key(t.id, "order-1", winners[0], response.clone(), NOW + 1)
        .await
        .unwrap();
    for store in &r.stores {
        assert_eq!(
            store
                .claim_idempotency_key(t.id, "order-1", winners[0], NOW + 2, 30)
                .await
                .unwrap(),
            IdempotencyClaim::Done(response.clone())
        );
    }
}

/// The server's auto-cancel sweep, in small batches: (orders cancelled, timers taken).
async fn sweep(store: Arc<PostgresStore>, now: i64) -> (usize, usize) {
    let (mut cancelled, mut taken) = (0, 0);
    loop {
        let fired = store.fire_due_auto_cancels(now, 3).await.expect("sweep");
        cancelled += fired.cancelled.len();
        taken += fired.taken;
        if fired.taken < 3 {
            return (cancelled, taken);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_sweeping_at_once_cancel_each_order_once() {
    let Some(r) = Replicas::new("replicas_sweeping_at_once_cancel_each_order_once", 3).await else {
        return;
    };
    let a = r.stores[0]
        .add_tenant(new_tenant("timers-a"))
        .await
        .unwrap();
    let b = r.stores[0]
        .add_tenant(new_tenant("timers-b"))
        .await
        .unwrap();
    let pa = product(&*r.stores[0], &a, "p", 1_000).await;
    let pb = product(&*r.stores[0], &b, "p", 1_000).await;
    let mut due = HashSet::new();
    let mut later = HashSet::new();
    for n in 0..40 {
        let (t, p) = if n % 2 == 0 { (&a, &pa) } else { (&b, &pb) };
        let mut order = new_order(&format!("timer{n}@example.com"), vec![item(p, 1_000)]);
        order.auto_cancel_at = Some(if n < 34 { 1_000 + n } else { NOW + 3_600 });
        let id = created(&*r.turn(n as usize), t, order).await;
        if n < 34 {
            due.insert((t.id, id));
        } else {
            later.insert((t.id, id));
        }
    }

    let sweeps = (0..9).map(|n| sweep(r.turn(n), NOW)).collect();
    let outcomes = in_parallel(sweeps).await;
    let cancelled: usize = outcomes.iter().map(|(cancelled, _)| cancelled).sum();
    let taken: usize = outcomes.iter().map(|(_, taken)| taken).sum();
    assert_eq!(cancelled, 34, "each due order is cancelled by one sweep");
    assert_eq!(taken, 34, "concurrent sweeps share the work: {outcomes:?}");

    let mut cancels: BTreeMap<(TenantId, BillId), usize> = BTreeMap::new();
    for (tenant, bill_id, kind) in events(&*r.stores[1]).await {
        if kind == OrderEventKind::Cancel {
            *cancels.entry((tenant, bill_id)).or_default() += 1;
        }
    }
    assert_eq!(cancels.len(), 34, "{cancels:?}");
    for (key, count) in &cancels {
        assert!(due.contains(key), "{key:?} was not due");
        assert_eq!(*count, 1, "{key:?}");
    }
    for (tenant, bill_id) in &due {
        let order = r.stores[2].order(*tenant, *bill_id).await.unwrap().unwrap();
        assert_eq!(order.pay_status, PayStatus::Cancel);
        assert_eq!(order.auto_cancel_at, None);
    }
    for (tenant, bill_id) in &later {
        let order = r.stores[2].order(*tenant, *bill_id).await.unwrap().unwrap();
        assert_eq!(order.pay_status, PayStatus::Waiting);
    }
    assert_eq!(
        r.stores[0].fire_due_auto_cancels(NOW, 100).await.unwrap(),
        FiredTimers::default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_changes_are_seen_by_every_replica() {
    let Some(r) = Replicas::new("tenant_changes_are_seen_by_every_replica", 2).await else {
        return;
    };
    let (writer, reader) = (&r.stores[0], &r.stores[1]);
    let v0 = reader.tenants_version().await.unwrap();
    let mut t = writer.add_tenant(new_tenant("seen")).await.unwrap();
    let v1 = reader.tenants_version().await.unwrap();
    assert_ne!(v1, v0);

    t.custom_domains = vec!["seen.example".into()];
    t.secret = "rotated".into();
    writer.save_tenant(&t).await.unwrap();
    let v2 = reader.tenants_version().await.unwrap();
    assert_ne!(v2, v1);
    assert_eq!(
        reader.tenant_by_domain("seen.example").await.unwrap(),
        Some(t.clone())
    );

    // Plain SQL from a session whose search path does not name the schema: the trigger still
    // finds its counter.
    let raw = r.schema.raw().await;
    raw.batch_execute(&format!(
        "SET search_path TO public; UPDATE {}.tenants SET enabled = FALSE",
        r.schema.name()
    ))
    .await
    .unwrap();
    let v3 = reader.tenants_version().await.unwrap();
    assert_ne!(v3, v2);
    assert!(
        !reader
            .tenant_by_login("seen")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_at_once_apply_each_migration_once() {
    let Some(url) = server_url("replicas_migrating_at_once_apply_each_migration_once") else {
        return;
    };
    let schema = Schema::new(&url);
    let options = schema.options();
    let runs = (0..3)
        .map(|_| {
            let options = options.clone();
            async move { PostgresStore::migrate(&options).await }
        })
        .collect();
    for version in in_parallel(runs).await {
        assert_eq!(version.expect("migrate"), SCHEMA_VERSION);
    }
    let raw = schema.raw().await;
    let versions: Vec<i32> = raw
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let expected: Vec<i32> = (0..=SCHEMA_VERSION as i32).collect();
    assert_eq!(versions, expected);

    let fresh = Schema::new(&url);
    let connects = (0..3)
        .map(|_| {
            let options = fresh.options();
            async move { PostgresStore::connect(options).await.map(|_| ()) }
        })
        .collect();
    for connected in in_parallel(connects).await {
        connected.expect("connect and migrate");
    }

    raw.batch_execute("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)")
        .await
        .unwrap();
    let refused = PostgresStore::migrate(&options).await;
    assert!(
        matches!(&refused, Err(StoreError::Backend(m)) if m.contains("newer")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_longer_than_the_timeout_fail() {
    let Some(url) = server_url("statements_longer_than_the_timeout_fail") else {
        return;
    };
    let schema = Schema::new(&url);
    let mut options = schema.options();
    options.statement_timeout = Duration::from_millis(300);
    let store = PostgresStore::connect(options).await.unwrap();
    let raw = schema.raw().await;
    raw.batch_execute(
        "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN PERFORM pg_sleep(5); RETURN NEW; END $$; \
         CREATE TRIGGER slow BEFORE INSERT ON tenants FOR EACH ROW EXECUTE FUNCTION slow();",
    )
    .await
    .unwrap();

    let started = Instant::now();
    let slow = store.add_tenant(new_tenant("slow")).await;
    assert!(
        matches!(&slow, Err(StoreError::Backend(m)) if m.contains("statement timeout")),
        "{slow:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(store.tenant_by_login("slow").await.unwrap(), None);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_waits_for_another_beyond_the_statement_timeout() {
    let Some(url) = server_url("a_migration_waits_for_another_beyond_the_statement_timeout") else {
        return;
    };
    let schema = Schema::new(&url);
    let mut options = schema.options();
    options.statement_timeout = Duration::from_millis(200);
    assert_eq!(
        PostgresStore::migrate(&options).await.unwrap(),
        SCHEMA_VERSION
    );

    // Another replica in the middle of migrating holds the version-0 row.
    let mut raw = schema.raw().await;
    let other = raw.transaction().await.unwrap();
    other
        .execute(
            "SELECT version FROM schema_migrations WHERE version = 0 FOR UPDATE",
            &[],
        )
        .await
        .unwrap();
    let waiting = tokio::spawn(PostgresStore::connect(options));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !waiting.is_finished(),
        "the second migration waits for the first"
    );
    other.commit().await.unwrap();
    let store = waiting
        .await
        .unwrap()
        .expect("connect once the first is done");
    assert!(store.tenants().await.unwrap().is_empty());
}

/// The URL the tests use, with `sslmode` set.
fn with_ssl_mode(url: &str, mode: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode={mode}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_follows_sslmode() {
    let Some(url) = server_url("tls_follows_sslmode") else {
        return;
    };
    let schema = Schema::new(&url);
    let raw = schema.raw().await;
    let ssl: String = raw.query_one("SHOW ssl", &[]).await.unwrap().get(0);

    let connect = |mode: &str| {
        let mut options = schema.options();
        options.url = with_ssl_mode(&url, mode);
        options.connect_timeout = Duration::from_secs(5);
        PostgresStore::connect(options)
    };
    let plain = connect("disable").await.expect("sslmode=disable");
    plain.tenants().await.unwrap();
    if ssl != "on" {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"tls_follows_sslmode: the server has no TLS; only sslmode=disable was tried\n",
        );
        return;
    }
    for mode in ["prefer", "require"] {
        let store = connect(mode)
            .await
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        store.tenants().await.unwrap();
    }
    let unverified = connect("verify-full").await;
    let Err(StoreError::Backend(message)) = &unverified else {
        panic!("a certificate from no public authority: {unverified:?}");
    };
    assert!(message.contains("TLS"), "{message}");
    assert!(!message.contains(&url), "{message}");

    let mut unreachable = PostgresOptions::new("postgres://nobody:hunter2@127.0.0.1:1/none");
    unreachable.connect_timeout = Duration::from_secs(2);
    let refused = PostgresStore::migrate(&unreachable).await;
    assert!(
        matches!(&refused, Err(StoreError::Backend(m)) if !m.contains("hunter2")),
        "{refused:?}"
    );
}

/// A store with a bit of everything: settings and domains, deleted rows, given ids, a child
/// partner numbered below its parent, orders in every state, their events.
async fn populate(store: &PostgresStore) {
    let mut spec = new_tenant("copy-a");
    spec.custom_domains = vec!["a.example".into(), "shop.a.example".into()];
    spec.settings.first_bill_id = 500;
    spec.settings.time_zone = chrono_tz::Asia::Tokyo;
    spec.settings.prepayment_enabled = true;
    let a = store.add_tenant(spec).await.unwrap();
    let b = store.add_tenant(new_tenant("copy-b")).await.unwrap();

    let mut full = ProductSpec::new(
        GoodName::parse("Full.1").unwrap(),
        "Курс",
        Money::from_minor(100_000),
    );
    full.physical = true;
    full.client_groups = vec!["grp1".into(), "grp2".into()];
    full.prepayment_minsum = Some(Money::from_minor(5_000));
    full.timer_kill = 600;
    // Orders of this product queue notifications, which move with the copy.
    full.urls.new_order = "http://127.0.0.1:9/new".into();
    full.urls.cancel = "http://127.0.0.1:9/cancel".into();
    full.partner_fees = BTreeMap::from([
        (
            1,
            Commission::Percent(Percent::from_hundredths(750).unwrap()),
        ),
        (2, Commission::Fixed(Money::from_minor(300))),
    ]);
    let full = store.add_product(a.id, full).await.unwrap();
    let gone = product(store, &a, "gone", 10).await;
    assert!(store.delete_product(a.id, "gone").await.unwrap());
    let again = product(store, &a, "gone", 20).await;
    let pb = product(store, &b, "p", 1_000).await;

    let percent = Discount::Percent(Percent::from_hundredths(1_000).unwrap());
    store
        .add_coupon(
            a.id,
            NewCoupon {
                id: None,
                code: "Ten".into(),
                discount: percent,
                products: vec![full.id, gone.id],
                expires_at: Some(NOW + 10),
            },
        )
        .await
        .unwrap();
    store
        .add_coupon(
            a.id,
            NewCoupon {
                id: Some(clickbill_domain::model::CouponId(585)),
                code: "given".into(),
                discount: Discount::Fixed(Money::from_minor(100)),
                products: Vec::new(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    assert!(store
        .set_coupon_disabled(a.id, "given", true)
        .await
        .unwrap());

    let partner = |id: Option<i64>, login: &str, parent: Option<i64>| NewPartner {
        id: id.map(PartnerId),
        login: login.into(),
        parent: parent.map(PartnerId),
        registered_at: NOW - 100,
    };
    store
        .add_partner(a.id, partner(Some(50), "boss", None))
        .await
        .unwrap();
    store
        .add_partner(a.id, partner(Some(7), "kid", Some(50)))
        .await
        .unwrap();
    store
        .add_partner(a.id, partner(None, "next", Some(7)))
        .await
        .unwrap();
    store
        .add_partner(b.id, partner(None, "solo", None))
        .await
        .unwrap();
    store
        .add_manager(
            a.id,
            NewManager {
                id: Some(clickbill_domain::model::ManagerId(71257)),
                name: "Ann".into(),
            },
        )
        .await
        .unwrap();
    store
        .add_manager(
            b.id,
            NewManager {
                id: None,
                name: "Bob".into(),
            },
        )
        .await
        .unwrap();

    let mut with_partners = item(&full, 90_000);
    with_partners.partners = vec![PartnerEntry {
        level: 1,
        partner_id: PartnerId(7),
        partner_name: "kid".into(),
        fee: Money::from_minor(6_750),
    }];
    let mut rich = new_order("rich@example.com", vec![with_partners, item(&again, 20)]);
    rich.customer = Customer {
        first_name: "Иван".into(),
        email: "rich@example.com".into(),
        ..Customer::default()
    };
    rich.auto_cancel_at = Some(NOW + 600);
    rich.extras = OrderExtras {
        billing_city: "Boston".into(),
        sales_manager: Some(clickbill_domain::model::ManagerId(71257)),
        ..OrderExtras::default()
    };
    let rich = created(store, &a, rich).await;
    let settings = a.settings.clone();
    store
        .update_order(
            a.id,
            rich,
            NOW,
            Box::new(move |order| {
                order.apply(
                    StatusChange::Paid {
                        date: NOW,
                        amount: None,
                        payway: Some("Card".into()),
                    },
                    &settings,
                )
            }),
        )
        .await
        .unwrap();
    let cancelled = created(store, &a, new_order("c@example.com", vec![item(&full, 1)])).await;
    let settings = a.settings.clone();
    store
        .update_order(
            a.id,
            cancelled,
            NOW,
            Box::new(move |order| order.apply(StatusChange::Cancel, &settings)),
        )
        .await
        .unwrap();
    let deleted = created(store, &a, new_order("d@example.com", vec![item(&full, 2)])).await;
    assert!(store.delete_order(a.id, deleted).await.unwrap());
    let mut paid = new_order("p@example.com", vec![item(&pb, 1_000)]);
    paid.initial = InitialStatus::Paid {
        at: NOW - 5,
        payway: "Cash".into(),
    };
    created(store, &b, paid).await;
    for n in 0..5 {
        created(
            store,
            &b,
            new_order(&format!("b{n}@example.com"), vec![item(&pb, 1_000)]),
        )
        .await;
    }
    populate_contacts(store, &a).await;
}

/// A group, contacts in it and an unsubscription, so that every collection has rows.
async fn populate_contacts(store: &PostgresStore, tenant: &Tenant) {
    use clickbill_domain::contacts::{
        ContactCommand, GroupKind, NewGroup, SubscriptionOrigin, UpsertLead,
    };
    let group = store
        .add_group(
            tenant.id,
            NewGroup {
                id: None,
                name: "news".into(),
                title: "News".into(),
                kind: GroupKind::Standard,
            },
        )
        .await
        .unwrap();
    for email in ["c1@example.com", "c2@example.com"] {
        let join = UpsertLead {
            first_name: Some("C".into()),
            add_tags: vec!["t".into()],
            join: vec![group.id],
            origin: SubscriptionOrigin {
                ip: "10.1.1.1".into(),
                ..SubscriptionOrigin::default()
            },
            ..UpsertLead::default()
        };
        store
            .change_contact(
                tenant.id,
                Some(email),
                ContactCommand::UpsertLead(join),
                NOW,
            )
            .await
            .unwrap();
    }
    let leave = ContactCommand::Unsubscribe {
        groups: vec![group.id],
        strict: true,
    };
    store
        .change_contact(tenant.id, Some("c2@example.com"), leave, NOW + 1)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_holds_every_row_and_numbers_go_on_above_it() {
    let Some(url) = server_url("a_copy_holds_every_row_and_numbers_go_on_above_it") else {
        return;
    };
    let (from_schema, to_schema) = (Schema::new(&url), Schema::new(&url));
    let source = from_schema.store().await;
    let target = to_schema.store().await;
    populate(&source).await;

    let mut exported = BTreeMap::new();
    for collection in Collection::ALL {
        assert_eq!(target.last_key(collection).await.unwrap(), None);
        let records = export_all(&*source, collection, 3).await;
        assert!(!records.is_empty(), "{collection:?}");
        let keys: Vec<Key> = records.iter().map(Record::key).collect();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "{collection:?}: {keys:?}"
        );
        assert!(records.iter().all(|r| r.collection() == collection));
        for page in records.chunks(4) {
            target.import(page.to_vec()).await.expect("import a page");
        }
        exported.insert(collection, records);
    }
    for collection in Collection::ALL {
        let copied = export_all(&*target, collection, 1_000).await;
        assert_eq!(copied, exported[&collection], "{collection:?}");
        assert_eq!(
            target.count(collection).await.unwrap(),
            source.count(collection).await.unwrap()
        );
        assert_eq!(
            target.last_key(collection).await.unwrap(),
            source.last_key(collection).await.unwrap()
        );
    }
    let first_tenants = exported[&Collection::Tenants][..1].to_vec();
    let again = target.import(first_tenants).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let first_order = exported[&Collection::Orders][..1].to_vec();
    let again = target.import(first_order).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    // The copy hands out numbers above everything it received.
    let highest =
        |collection: Collection| exported[&collection].iter().map(Record::key).max().unwrap();
    let tenant = target.add_tenant(new_tenant("copy-new")).await.unwrap();
    assert!(Key(tenant.id.0, 0) > highest(Collection::Tenants));
    let a = target.tenant_by_login("copy-a").await.unwrap().unwrap();
    let p = product(&*target, &a, "fresh", 1).await;
    assert_eq!(p.id.0, 4, "above the deleted product 2 and the live 3");
    let coupon = target
        .add_coupon(
            a.id,
            NewCoupon {
                id: None,
                code: "fresh".into(),
                discount: Discount::Fixed(Money::from_minor(1)),
                products: Vec::new(),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(coupon.id.0, 586);
    let partner = target
        .add_partner(
            a.id,
            NewPartner {
                id: None,
                login: "fresh".into(),
                parent: None,
                registered_at: NOW,
            },
        )
        .await
        .unwrap();
    assert_eq!(partner.id, PartnerId(52));
    let manager = target
        .add_manager(
            a.id,
            NewManager {
                id: None,
                name: "New".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(manager.id.0, 71258);
    let last_event = highest(Collection::Events);
    let bill = created(
        &*target,
        &a,
        new_order("fresh@example.com", vec![item(&p, 1)]),
    )
    .await;
    assert_eq!(bill.get(), 503, "above 500…502, the deleted 502 included");
    let new_events = export_all(&*target, Collection::Events, 1_000).await;
    assert!(new_events.last().unwrap().key() > last_event);
    assert_eq!(
        new_events.iter().filter(|e| e.key() > last_event).count(),
        1,
        "one new_order event"
    );
    // Products and tenants reached through the copy are whole.
    assert_eq!(
        source.products(a.id).await.unwrap().len() + 1,
        target.products(a.id).await.unwrap().len()
    );
    assert_eq!(
        target
            .tenant_by_domain("shop.a.example")
            .await
            .unwrap()
            .map(|t| t.id),
        Some(a.id)
    );
}
