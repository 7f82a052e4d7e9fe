//! The behaviour every [`Store`] backend must show, as async test functions over `&dyn Store`.
//!
//! A backend's integration tests run the whole suite with
//! [`store_suite_tests!`](crate::store_suite_tests), giving it a function that returns a fresh
//! store per test. The functions use logins of their own, so they also pass on a store that
//! other tests share. Everything here panics on a failed expectation, like any test.

use crate::contacts::{
    AddLead, Contact, ContactCommand, ContactOutcome, CountScope, GroupId, GroupKind, IpLimit,
    NewGroup, Subscription, SubscriptionOrigin, SubscriptionStatus, UpsertLead,
};
use crate::model::{
    BillId, Commission, Coupon, CouponId, Customer, Discount, GoodName, InitialStatus, Item,
    Manager, ManagerId, NewCoupon, NewManager, NewOrder, NewPartner, NewTenant, NotificationUrls,
    Order, OrderExtras, PartnerEntry, PartnerId, PayStatus, Payment, Product, ProductId,
    ProductPatch, ProductSpec, Tenant, TenantId, TenantSettings, Utm,
};
use crate::order::{OrderEventKind, StatusChange, StatusRefusal, DUPLICATE_WINDOW_SECONDS};
use crate::ports::{
    CreatedOrder, IdempotencyClaim, OrderTime, OrderUpdate, PartnerStats, Store, StoreError,
    StoredResponse, TimeWindow, IDEMPOTENCY_KEY_LIFETIME,
};
use clickbill_protocol::value::{Login, Money, Percent};
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Runs every suite function as a `#[tokio::test]` of the calling crate (which needs `tokio`
/// with `macros` and `rt-multi-thread` among its dev-dependencies).
///
/// `$fresh` names an async function returning `Option<F>` where `F: AsRef<dyn Store>`: a new,
/// empty store per test, kept alive as long as `F` is; `None` skips the test (say, when the
/// database server a backend needs is not configured).
#[macro_export]
macro_rules! store_suite_tests {
    ($fresh:path) => {
        $crate::store_suite_tests!(@each $fresh;
            tenants_add_and_find,
            tenant_conflicts_write_nothing,
            tenants_version_follows_tenant_changes_only,
            products_add_list_update_delete,
            product_ids_are_never_reused,
            orders_round_trip,
            bill_ids_start_at_first_bill_id,
            bill_ids_are_never_reused_after_delete,
            duplicate_rule,
            duplicate_rule_reports_the_highest_bill_id,
            update_order_applies_or_writes_nothing,
            tenants_are_isolated,
            coupons_add_and_find,
            partners_add_and_find,
            given_ids_are_kept_and_later_ids_stay_above,
            concurrent_identical_orders_make_one,
            concurrent_distinct_orders_get_distinct_ids,
            coupons_list_disable_and_enable,
            partners_are_listed_by_id,
            partner_stats_count_paid_orders_in_the_window,
            managers_add_and_find,
            orders_created_in_a_final_state,
            orders_in_window_by_creation_and_payment,
            orders_by_email_filter_by_status,
            due_auto_cancels_fire_across_tenants,
            idempotency_keys_claim_complete_and_expire,
            outbox_fans_out_claims_records_and_redelivers,
            groups_add_and_list,
            contacts_change_round_trip,
            contact_changes_write_nothing_when_refused,
            unsubscriptions_are_recorded_once,
            concurrent_new_contacts_make_one,
            contacts_count_and_page,
            subscribe_calls_count_per_ip,
            payment_joins_client_groups,
        );
    };
    (@each $fresh:path; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(fixture) = $fresh().await else {
                    eprintln!(concat!("skipped ", stringify!($name), ": no store configured"));
                    return;
                };
                let store: &dyn $crate::Store = ::core::convert::AsRef::as_ref(&fixture);
                $crate::store_suite::$name(store).await;
            }
        )+
    };
}

/// The server time the suite creates orders at; tests that need the clock to move add to it.
pub const NOW: i64 = 1_700_000_000;

fn money(minor: i64) -> Money {
    Money::from_minor(minor)
}

fn percent(hundredths: i64) -> Percent {
    Percent::from_hundredths(hundredths).expect("a valid percentage")
}

fn code(text: &str) -> GoodName {
    GoodName::parse(text).expect("a valid product code")
}

/// A tenant with default settings and no custom domains.
pub fn new_tenant(login: &str) -> NewTenant {
    NewTenant {
        login: Login::parse(login).expect("a valid login"),
        secret: format!("secret-of-{login}"),
        custom_domains: Vec::new(),
        settings: TenantSettings::default(),
    }
}

async fn tenant(store: &dyn Store, login: &str) -> Tenant {
    store
        .add_tenant(new_tenant(login))
        .await
        .expect("add tenant")
}

async fn product(store: &dyn Store, tenant: &Tenant, code_text: &str, price: i64) -> Product {
    store
        .add_product(
            tenant.id,
            ProductSpec::new(
                code(code_text),
                format!("Title of {code_text}"),
                money(price),
            ),
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
        sum: money(sum),
        pincode: String::new(),
        partners: Vec::new(),
    }
}

/// A minimal order of `email` for `items`.
pub fn new_order(email: &str, items: Vec<Item>) -> NewOrder {
    NewOrder {
        customer: Customer {
            email: email.to_owned(),
            ..Customer::default()
        },
        created: NOW,
        items,
        ..NewOrder::default()
    }
}

async fn create(store: &dyn Store, tenant: &Tenant, order: NewOrder, now: i64) -> CreatedOrder {
    store
        .create_order(tenant, order, now)
        .await
        .expect("create order")
}

async fn created(store: &dyn Store, tenant: &Tenant, order: NewOrder, now: i64) -> BillId {
    match create(store, tenant, order, now).await {
        CreatedOrder::Created(id) => id,
        other => panic!("expected a new order, got {other:?}"),
    }
}

/// Identical concurrent creations: exactly one made an order, every other one was told it is
/// a duplicate of that order.
pub fn assert_one_created_rest_duplicates(results: &[CreatedOrder]) {
    let made: Vec<BillId> = results
        .iter()
        .filter_map(|r| match r {
            CreatedOrder::Created(id) => Some(*id),
            CreatedOrder::Duplicate(_) => None,
        })
        .collect();
    assert_eq!(made.len(), 1, "exactly one order is created: {results:?}");
    let duplicates = results
        .iter()
        .filter(|r| **r == CreatedOrder::Duplicate(made[0]))
        .count();
    assert_eq!(duplicates, results.len() - 1, "{results:?}");
}

/// Replaces the items of a stored order, as no method does, to put the store in a state a test
/// needs.
async fn replace_items(store: &dyn Store, tenant: TenantId, bill_id: BillId, items: Vec<Item>) {
    let update = store
        .update_order(
            tenant,
            bill_id,
            NOW,
            Box::new(move |order: &mut Order| {
                order.items = items;
                Ok(Vec::new())
            }),
        )
        .await
        .unwrap();
    assert_eq!(update, OrderUpdate::Applied(Vec::new()));
}

fn bill(n: i64) -> BillId {
    BillId::new(n).expect("a positive bill id")
}

async fn change_status(
    store: &dyn Store,
    tenant: &Tenant,
    bill_id: BillId,
    change: StatusChange,
) -> OrderUpdate {
    let settings = tenant.settings.clone();
    store
        .update_order(
            tenant.id,
            bill_id,
            NOW,
            Box::new(move |order: &mut Order| order.apply(change, &settings)),
        )
        .await
        .expect("update order")
}

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
}

/// Polls every future until all are done and returns their outputs in order: the calls are in
/// flight together, as from concurrent requests.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

pub async fn tenants_add_and_find(store: &dyn Store) {
    let mut spec = new_tenant("suite-find-b");
    spec.custom_domains = vec!["Shop.Example".into(), "127.0.0.1".into()];
    spec.settings = TenantSettings {
        time_zone: chrono_tz::Asia::Tokyo,
        first_bill_id: 500,
        api_orders_enabled: false,
        prepayment_enabled: true,
        prepayment_minsum: money(25_050),
        require_activation: true,
        subscribe_limit_per_ip: 3,
        unsubscribe_url: "https://shop.example/unsubscribed".into(),
        test_payments: true,
    };
    let b = store.add_tenant(spec.clone()).await.expect("add tenant");
    assert_eq!(b.login.as_str(), "suite-find-b");
    assert_eq!(b.secret, spec.secret);
    assert!(b.enabled);
    assert_eq!(b.custom_domains, ["shop.example", "127.0.0.1"]);
    assert_eq!(b.settings, spec.settings);

    let found = |t: Option<Tenant>| t.expect("tenant found");
    assert_eq!(
        found(store.tenant_by_login("suite-find-b").await.unwrap()),
        b
    );
    assert_eq!(
        found(store.tenant_by_login("SUITE-Find-B").await.unwrap()),
        b
    );
    assert_eq!(
        found(store.tenant_by_domain("shop.example").await.unwrap()),
        b
    );
    assert_eq!(found(store.tenant_by_domain("127.0.0.1").await.unwrap()), b);
    assert_eq!(store.tenant_by_login("suite-find-x").await.unwrap(), None);
    assert_eq!(store.tenant_by_domain("other.example").await.unwrap(), None);

    let a = tenant(store, "suite-find-a").await;
    assert_eq!(a.settings, TenantSettings::default());
    assert_ne!(a.id, b.id);
    let listed: Vec<Tenant> = store
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.login.as_str().starts_with("suite-find-"))
        .collect();
    assert_eq!(listed, [a.clone(), b.clone()], "ordered by login");

    let mut changed = b.clone();
    changed.secret = "rotated".into();
    changed.enabled = false;
    changed.custom_domains = vec!["new.example".into()];
    changed.settings.time_zone = chrono_tz::UTC;
    changed.settings.first_bill_id = 7;
    changed.settings.api_orders_enabled = true;
    changed.settings.prepayment_enabled = false;
    changed.settings.prepayment_minsum = money(1);
    changed.settings.require_activation = false;
    changed.settings.subscribe_limit_per_ip = 0;
    changed.settings.unsubscribe_url = String::new();
    changed.settings.test_payments = false;
    store.save_tenant(&changed).await.expect("save tenant");
    assert_eq!(
        found(store.tenant_by_login("suite-find-b").await.unwrap()),
        changed
    );
    assert_eq!(
        found(store.tenant_by_domain("new.example").await.unwrap()),
        changed
    );
    assert_eq!(store.tenant_by_domain("shop.example").await.unwrap(), None);
    assert_eq!(
        found(store.tenant_by_login("suite-find-a").await.unwrap()),
        a
    );
}

pub async fn tenant_conflicts_write_nothing(store: &dyn Store) {
    let mut spec = new_tenant("suite-conflict-a");
    spec.custom_domains = vec!["a.example".into()];
    let a = store.add_tenant(spec).await.expect("add tenant");

    let mut same_login = new_tenant("Suite-Conflict-A");
    same_login.custom_domains = vec!["fresh.example".into()];
    assert_conflict(store.add_tenant(same_login).await, "login taken");
    assert_eq!(store.tenant_by_domain("fresh.example").await.unwrap(), None);

    let mut taken_domain = new_tenant("suite-conflict-b");
    taken_domain.custom_domains = vec!["b.example".into(), "A.Example".into()];
    assert_conflict(store.add_tenant(taken_domain).await, "domain taken");
    assert_eq!(
        store.tenant_by_login("suite-conflict-b").await.unwrap(),
        None
    );
    assert_eq!(store.tenant_by_domain("b.example").await.unwrap(), None);

    let b = tenant(store, "suite-conflict-b").await;
    let mut grab = b.clone();
    grab.secret = "changed".into();
    grab.custom_domains = vec!["a.example".into()];
    assert_conflict(store.save_tenant(&grab).await, "saving a taken domain");
    assert_eq!(
        store.tenant_by_login("suite-conflict-b").await.unwrap(),
        Some(b)
    );
    assert_eq!(store.tenant_by_domain("a.example").await.unwrap(), Some(a));
}

pub async fn tenants_version_follows_tenant_changes_only(store: &dyn Store) {
    let v0 = store.tenants_version().await.unwrap();
    let mut t = tenant(store, "suite-version").await;
    let v1 = store.tenants_version().await.unwrap();
    assert_ne!(v1, v0, "adding a tenant");
    assert_eq!(
        store.tenants_version().await.unwrap(),
        v1,
        "stable while nothing changes"
    );

    t.custom_domains = vec!["version.example".into()];
    store.save_tenant(&t).await.unwrap();
    let v2 = store.tenants_version().await.unwrap();
    assert_ne!(v2, v1, "saving a tenant");

    // Order traffic must not make every tenant cache reload.
    let p = product(store, &t, "v", 1_000).await;
    let id = created(
        store,
        &t,
        new_order("v@example.com", vec![item(&p, 1_000)]),
        NOW,
    )
    .await;
    change_status(store, &t, id, StatusChange::Cancel).await;
    store.delete_order(t.id, id).await.unwrap();
    assert_eq!(
        store.tenants_version().await.unwrap(),
        v2,
        "catalogue and orders"
    );
}

pub async fn products_add_list_update_delete(store: &dyn Store) {
    let t = tenant(store, "suite-products").await;
    let mut full = ProductSpec::new(code("Code.1"), "Онлайн-курс", money(100_000));
    full.physical = true;
    full.parent_id = "12".into();
    full.urls = NotificationUrls {
        new_order: "https://n".into(),
        paid: "https://p".into(),
        prepaid: "https://pp".into(),
        cancel: "https://c".into(),
        moneyback: "https://m".into(),
    };
    full.success_link = "https://thanks".into();
    full.client_groups = vec!["grp1".into(), "1605189997.0025174394".into()];
    full.cash_on_delivery_only = true;
    full.quickpost_article = "Q1".into();
    full.post_service = "ems".into();
    full.prepayment_minsum = Some(money(50_000));
    full.timer_kill = 3_600;
    full.partner_fees = BTreeMap::from([
        (1, Commission::Percent(percent(750))),
        (2, Commission::Fixed(money(30_000))),
    ]);
    let one = store
        .add_product(t.id, full.clone())
        .await
        .expect("add product");
    assert_eq!(one.spec, full);
    let two = product(store, &t, "code_2", 250_000).await;
    assert!(two.id > one.id);
    assert_eq!(
        store.products(t.id).await.unwrap(),
        [one.clone(), two.clone()]
    );

    assert_conflict(
        store
            .add_product(t.id, ProductSpec::new(code("CODE.1"), "again", money(1)))
            .await,
        "code taken in another case",
    );

    let codes = ["code.1", "CODE_2", "missing", "Code.1"].map(String::from);
    let found = store.products_by_codes(t.id, &codes).await.unwrap();
    let mut found_ids: Vec<_> = found.iter().map(|p| p.id).collect();
    found_ids.sort();
    found_ids.dedup();
    assert_eq!(found_ids, [one.id, two.id]);
    assert!(
        found.iter().any(|p| p == &one),
        "the stored spelling and data"
    );
    assert!(store
        .products_by_codes(t.id, &["missing".into()])
        .await
        .unwrap()
        .is_empty());

    let patch = ProductPatch {
        title: Some("New title".into()),
        price: Some(money(99_950)),
        partner_fees: Some(BTreeMap::from([(3, Commission::Percent(percent(100)))])),
        ..ProductPatch::default()
    };
    let mut expected = one.clone();
    patch.clone().apply(&mut expected.spec);
    let updated = store
        .update_product(t.id, "CODE.1", patch.clone())
        .await
        .unwrap();
    assert_eq!(updated.as_ref(), Some(&expected));
    assert_eq!(
        store.products(t.id).await.unwrap(),
        [expected.clone(), two.clone()]
    );
    assert_eq!(
        store.update_product(t.id, "missing", patch).await.unwrap(),
        None
    );

    assert!(store.delete_product(t.id, "Code_2").await.unwrap());
    assert!(
        !store.delete_product(t.id, "code_2").await.unwrap(),
        "already gone"
    );
    assert!(!store.delete_product(t.id, "missing").await.unwrap());
    assert_eq!(store.products(t.id).await.unwrap(), [expected.clone()]);
    assert!(store
        .products_by_codes(t.id, &["code_2".into()])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .update_product(t.id, "code_2", ProductPatch::default())
            .await
            .unwrap(),
        None
    );

    let reused = product(store, &t, "CODE_2", 1).await;
    assert_eq!(
        reused.spec.code.as_str(),
        "CODE_2",
        "a deleted product's code is free"
    );
    assert!(reused.id > two.id, "with a new id");
}

pub async fn product_ids_are_never_reused(store: &dyn Store) {
    let t = tenant(store, "suite-product-ids").await;
    let first = product(store, &t, "a", 1).await;
    assert_eq!(first.id.0, 1, "product ids start at 1 per tenant");
    let second = product(store, &t, "b", 1).await;
    assert!(store.delete_product(t.id, "b").await.unwrap());
    let third = product(store, &t, "c", 1).await;
    assert!(
        third.id > second.id,
        "the deleted last id is not handed out again"
    );
    assert!(store.delete_product(t.id, "a").await.unwrap());
    let again = product(store, &t, "a", 1).await;
    assert!(again.id > third.id);
}

pub async fn orders_round_trip(store: &dyn Store) {
    let t = tenant(store, "suite-orders").await;
    let p1 = product(store, &t, "code1", 100_000).await;
    let p2 = product(store, &t, "code2", 250_000).await;
    let mut second = item(&p2, 199_950);
    second.physical = true;
    second.pincode = "PIN-1".into();
    second.partners = vec![
        PartnerEntry {
            level: 1,
            partner_id: PartnerId(17),
            partner_name: "anna".into(),
            fee: money(19_995),
        },
        PartnerEntry {
            level: 2,
            partner_id: PartnerId(5),
            partner_name: "boris".into(),
            fee: money(0),
        },
    ];
    let new = NewOrder {
        customer: Customer {
            first_name: "Иван".into(),
            last_name: "Petrov".into(),
            middle_name: "Ivanovich".into(),
            email: "client@example.com".into(),
            phone: "+77777777777".into(),
            country: "RU".into(),
            region: "Moscow region".into(),
            city: "Москва".into(),
            address: "Lenina 1, kv. 2".into(),
            postalcode: "101000".into(),
        },
        created: NOW - 3_600,
        tag: "Tag".into(),
        comment: "Comment ~!*()' \"quoted\" \\ back".into(),
        kupon: "coupon50proc".into(),
        domain: "shop.example".into(),
        client_ip: "203.0.113.7".into(),
        utm: Utm {
            medium: "medium".into(),
            source: "source".into(),
            campaign: "campaign".into(),
            content: String::new(),
            term: "term".into(),
        },
        aff_utm: Utm {
            medium: "am".into(),
            source: "as".into(),
            campaign: "ac".into(),
            content: "aco".into(),
            term: "at".into(),
        },
        auto_cancel_at: Some(NOW + 7_200),
        product_prepayment_minsum: Some(money(50_000)),
        items: vec![item(&p1, 100_000), second],
        extras: OrderExtras {
            shipping_phone: "+1 555 0100".into(),
            billing_city: "Boston".into(),
            confirmed: "Сonfirmed".into(),
            sales_manager: Some(ManagerId(71257)),
            ..OrderExtras::default()
        },
        ..NewOrder::default()
    };
    let id = created(store, &t, new.clone(), NOW).await;
    assert_eq!(id, bill(1), "the default first_bill_id is 1");
    let (expected, _) = Order::from_new(id, new.clone(), NOW);
    assert_eq!(store.order(t.id, id).await.unwrap(), Some(expected.clone()));
    assert_eq!(store.order(t.id, bill(2)).await.unwrap(), None);

    let other = created(
        store,
        &t,
        new_order("x@example.com", vec![item(&p1, 1)]),
        NOW,
    )
    .await;
    assert_eq!(other, bill(2));

    let paid = change_status(
        store,
        &t,
        id,
        StatusChange::Paid {
            date: NOW + 60,
            amount: None,
            payway: Some("card".into()),
        },
    )
    .await;
    assert_eq!(paid, OrderUpdate::Applied(vec![OrderEventKind::Paid]));
    let mut after = expected;
    after
        .apply(
            StatusChange::Paid {
                date: NOW + 60,
                amount: None,
                payway: Some("card".into()),
            },
            &t.settings,
        )
        .unwrap();
    let stored = store.order(t.id, id).await.unwrap().expect("order");
    assert_eq!(stored, after);
    assert_eq!(stored.pay_status, PayStatus::Paid);
    assert_eq!(stored.payments.len(), 1);

    let sent = change_status(
        store,
        &t,
        id,
        StatusChange::Sent {
            date: NOW + 120,
            rpo: "RPO123".into(),
        },
    )
    .await;
    assert_eq!(sent, OrderUpdate::Applied(Vec::new()));
    let stored = store.order(t.id, id).await.unwrap().expect("order");
    assert_eq!(stored.delivery.rpo, "RPO123");
    assert_eq!(stored.delivery.date, NOW + 120);
}

pub async fn bill_ids_start_at_first_bill_id(store: &dyn Store) {
    let mut spec = new_tenant("suite-first-bill");
    spec.settings.first_bill_id = 1_000;
    let mut t = store.add_tenant(spec).await.unwrap();
    let p = product(store, &t, "p", 100).await;
    let order = |n: u32| new_order(&format!("n{n}@example.com"), vec![item(&p, 100)]);

    assert_eq!(created(store, &t, order(1), NOW).await, bill(1_000));
    assert_eq!(created(store, &t, order(2), NOW).await, bill(1_001));

    t.settings.first_bill_id = 5_000;
    store.save_tenant(&t).await.unwrap();
    assert_eq!(created(store, &t, order(3), NOW).await, bill(5_000));

    t.settings.first_bill_id = 10;
    store.save_tenant(&t).await.unwrap();
    assert_eq!(
        created(store, &t, order(4), NOW).await,
        bill(5_001),
        "a lower first_bill_id never goes back"
    );

    // A caller's tenant from a cache may be ahead of what is stored; it is a lower bound too.
    let mut cached = t.clone();
    cached.settings.first_bill_id = 7_000;
    assert!(created(store, &cached, order(5), NOW).await >= bill(7_000));
}

pub async fn bill_ids_are_never_reused_after_delete(store: &dyn Store) {
    let t = tenant(store, "suite-bill-reuse").await;
    let p = product(store, &t, "p", 100).await;
    let order = |n: u32| new_order(&format!("r{n}@example.com"), vec![item(&p, 100)]);
    let first = created(store, &t, order(1), NOW).await;
    let last = created(store, &t, order(2), NOW).await;
    assert!(last > first);

    assert!(store.delete_order(t.id, last).await.unwrap());
    assert!(
        !store.delete_order(t.id, last).await.unwrap(),
        "already deleted"
    );
    assert!(
        !store.delete_order(t.id, bill(999)).await.unwrap(),
        "never existed"
    );
    assert_eq!(store.order(t.id, last).await.unwrap(), None);
    assert_eq!(
        change_status(store, &t, last, StatusChange::Cancel).await,
        OrderUpdate::NotFound
    );

    let next = created(store, &t, order(3), NOW).await;
    assert!(next > last, "{next} must be above the deleted {last}");
    assert!(store.order(t.id, first).await.unwrap().is_some());
}

pub async fn duplicate_rule(store: &dyn Store) {
    let t = tenant(store, "suite-duplicates").await;
    let p1 = product(store, &t, "p1", 1_000).await;
    let p2 = product(store, &t, "p2", 2_000).await;
    let order = |email: &str| new_order(email, vec![item(&p1, 1_000), item(&p2, 1_500)]);

    // Identical within the day, counted from insertion, not from `created`.
    let base = created(store, &t, order("a@example.com"), NOW).await;
    let mut other_details = order("a@example.com");
    other_details.customer.first_name = "Someone".into();
    other_details.comment = "different".into();
    other_details.created = NOW - 10 * DUPLICATE_WINDOW_SECONDS;
    assert_eq!(
        create(store, &t, other_details, NOW + 10).await,
        CreatedOrder::Duplicate(base)
    );
    assert_eq!(
        create(
            store,
            &t,
            order("a@example.com"),
            NOW + DUPLICATE_WINDOW_SECONDS - 1
        )
        .await,
        CreatedOrder::Duplicate(base),
        "one second before the day is over"
    );
    let later = created(
        store,
        &t,
        order("a@example.com"),
        NOW + DUPLICATE_WINDOW_SECONDS,
    )
    .await;
    assert!(later > base, "a day later it is a new order");

    // Items must match in number, product, sum and position.
    let b = created(store, &t, order("b@example.com"), NOW).await;
    let variants = [
        new_order("b@example.com", vec![item(&p1, 1_000)]),
        new_order("b@example.com", vec![item(&p2, 1_500), item(&p1, 1_000)]),
        new_order("b@example.com", vec![item(&p1, 1_000), item(&p2, 1_501)]),
        order("other@example.com"),
    ];
    let mut seen = HashSet::from([b]);
    for variant in variants {
        let id = created(store, &t, variant, NOW + 1).await;
        assert!(seen.insert(id), "{id} handed out twice");
    }

    // Deleted, cancelled, paid and refunded orders do not count.
    let deleted = created(store, &t, order("c@example.com"), NOW).await;
    assert!(store.delete_order(t.id, deleted).await.unwrap());
    let c = created(store, &t, order("c@example.com"), NOW + 1).await;
    change_status(store, &t, c, StatusChange::Cancel).await;
    let c2 = created(store, &t, order("c@example.com"), NOW + 2).await;
    change_status(
        store,
        &t,
        c2,
        StatusChange::Paid {
            date: NOW + 3,
            amount: None,
            payway: None,
        },
    )
    .await;
    let c3 = created(store, &t, order("c@example.com"), NOW + 4).await;
    assert_eq!(
        create(store, &t, order("c@example.com"), NOW + 5).await,
        CreatedOrder::Duplicate(c3),
        "only the waiting one counts"
    );
    change_status(
        store,
        &t,
        c3,
        StatusChange::Paid {
            date: NOW + 6,
            amount: None,
            payway: None,
        },
    )
    .await;
    change_status(
        store,
        &t,
        c3,
        StatusChange::Moneyback {
            ext_ref_no: "R1".into(),
        },
    )
    .await;
    created(store, &t, order("c@example.com"), NOW + 7).await;

    // A partly paid order is still waiting and still counts.
    let mut prepaid_tenant = new_tenant("suite-duplicates-prepaid");
    prepaid_tenant.settings.prepayment_enabled = true;
    prepaid_tenant.settings.prepayment_minsum = money(100);
    let pt = store.add_tenant(prepaid_tenant).await.unwrap();
    let pp = product(store, &pt, "p", 10_000).await;
    let partial = new_order("d@example.com", vec![item(&pp, 10_000)]);
    let d = created(store, &pt, partial.clone(), NOW).await;
    let prepaid = change_status(
        store,
        &pt,
        d,
        StatusChange::Paid {
            date: NOW + 1,
            amount: Some(money(500)),
            payway: None,
        },
    )
    .await;
    assert_eq!(prepaid, OrderUpdate::Applied(vec![OrderEventKind::Prepaid]));
    assert_eq!(
        create(store, &pt, partial, NOW + 2).await,
        CreatedOrder::Duplicate(d)
    );
}

pub async fn duplicate_rule_reports_the_highest_bill_id(store: &dyn Store) {
    let t = tenant(store, "suite-duplicates-highest").await;
    let p1 = product(store, &t, "p1", 1_000).await;
    let p2 = product(store, &t, "p2", 2_000).await;
    let wanted = vec![item(&p1, 1_000)];
    let low = created(store, &t, new_order("h@example.com", wanted.clone()), NOW).await;
    let high = created(
        store,
        &t,
        new_order("h@example.com", vec![item(&p2, 2_000)]),
        NOW + 1,
    )
    .await;
    // Make the newer order match as well, so that two orders qualify.
    replace_items(store, t.id, high, wanted.clone()).await;
    assert!(high > low);
    assert_eq!(
        create(store, &t, new_order("h@example.com", wanted), NOW + 2).await,
        CreatedOrder::Duplicate(high)
    );
}

pub async fn update_order_applies_or_writes_nothing(store: &dyn Store) {
    let t = tenant(store, "suite-update").await;
    let p = product(store, &t, "p", 1_000).await;
    let id = created(
        store,
        &t,
        new_order("u@example.com", vec![item(&p, 1_000)]),
        NOW,
    )
    .await;
    let before = store.order(t.id, id).await.unwrap().expect("order");

    let refused = store
        .update_order(
            t.id,
            id,
            NOW,
            Box::new(|order: &mut Order| {
                order.comment = "must not be stored".into();
                order.pay_status = PayStatus::Cancel;
                Err(StatusRefusal::NotChanged)
            }),
        )
        .await
        .unwrap();
    assert_eq!(refused, OrderUpdate::Refused(StatusRefusal::NotChanged));
    assert_eq!(store.order(t.id, id).await.unwrap().as_ref(), Some(&before));

    let applied = store
        .update_order(
            t.id,
            id,
            NOW,
            Box::new(|order: &mut Order| {
                order.comment = "stored".into();
                Ok(Vec::new())
            }),
        )
        .await
        .unwrap();
    assert_eq!(applied, OrderUpdate::Applied(Vec::new()));
    let stored = store.order(t.id, id).await.unwrap().expect("order");
    assert_eq!(stored.comment, "stored");
    assert_eq!(stored.inserted_at, before.inserted_at);

    assert_eq!(
        change_status(store, &t, id, StatusChange::Cancel).await,
        OrderUpdate::Applied(vec![OrderEventKind::Cancel])
    );
    assert_eq!(
        change_status(
            store,
            &t,
            id,
            StatusChange::Paid {
                date: NOW,
                amount: None,
                payway: None
            }
        )
        .await,
        OrderUpdate::Refused(StatusRefusal::NotPaid)
    );
    let cancelled = store.order(t.id, id).await.unwrap().expect("order");
    assert_eq!(cancelled.pay_status, PayStatus::Cancel);
    assert!(cancelled.payments.is_empty());
    assert_eq!(
        change_status(store, &t, bill(id.get() + 100), StatusChange::Cancel).await,
        OrderUpdate::NotFound
    );
}

pub async fn tenants_are_isolated(store: &dyn Store) {
    let a = tenant(store, "suite-isolation-a").await;
    let b = tenant(store, "suite-isolation-b").await;
    let pa = product(store, &a, "shared", 1_000).await;
    let only_a = product(store, &a, "only-a", 1_000).await;
    let pb = product(store, &b, "SHARED", 2_000).await;
    assert_eq!(pb.id.0, 1, "each tenant numbers its own products");
    assert_eq!(
        store.products(b.id).await.unwrap(),
        std::slice::from_ref(&pb)
    );
    assert!(store
        .products_by_codes(b.id, &["only-a".into()])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .update_product(b.id, "only-a", ProductPatch::default())
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete_product(b.id, "only-a").await.unwrap());
    assert_eq!(store.products(a.id).await.unwrap(), [pa.clone(), only_a]);

    let same = |p: &Product| new_order("same@example.com", vec![item(p, 1_000)]);
    let mut a_ids = Vec::new();
    for n in 0..3 {
        let order = new_order(&format!("a{n}@example.com"), vec![item(&pa, 1_000)]);
        a_ids.push(created(store, &a, order, NOW).await);
    }
    let a_same = created(store, &a, same(&pa), NOW).await;
    // An identical order of another tenant is no duplicate.
    let b_same = created(store, &b, same(&pb), NOW).await;
    assert_eq!(b_same, bill(1), "each tenant numbers its own orders");

    let foreign = a_ids[2];
    assert_eq!(store.order(b.id, foreign).await.unwrap(), None);
    assert_eq!(
        change_status(store, &b, foreign, StatusChange::Cancel).await,
        OrderUpdate::NotFound
    );
    assert!(!store.delete_order(b.id, foreign).await.unwrap());
    let kept = store.order(a.id, foreign).await.unwrap().expect("order");
    assert_eq!(kept.pay_status, PayStatus::Waiting);
    assert!(store.order(a.id, a_same).await.unwrap().is_some());
}

fn new_coupon(code: &str, discount: Discount, products: Vec<ProductId>) -> NewCoupon {
    NewCoupon {
        id: None,
        code: code.to_owned(),
        discount,
        products,
        expires_at: None,
    }
}

fn new_partner(login: &str, parent: Option<PartnerId>) -> NewPartner {
    NewPartner {
        id: None,
        login: login.to_owned(),
        parent,
        registered_at: NOW,
    }
}

/// Coupons are found by code (case-insensitively) and by id, within their tenant only; a code
/// is unique per tenant.
pub async fn coupons_add_and_find(store: &dyn Store) {
    let t = tenant(store, "suite-coupons").await;
    let other = tenant(store, "suite-coupons-other").await;
    let half = Discount::Percent(percent(5_000));
    let mut expiring = new_coupon(
        "Coupon50proc",
        half,
        vec![ProductId(3), ProductId(1), ProductId(3)],
    );
    expiring.expires_at = Some(NOW);
    let coupon = store.add_coupon(t.id, expiring).await.unwrap();
    assert_eq!(coupon.products, [ProductId(1), ProductId(3)]);
    assert_eq!(coupon.expires_at, Some(NOW));
    assert_eq!(
        store.coupon_by_code(t.id, "COUPON50PROC").await.unwrap(),
        Some(coupon.clone())
    );
    assert_eq!(
        store.coupon_by_id(t.id, coupon.id).await.unwrap(),
        Some(coupon.clone())
    );
    assert_eq!(
        store
            .coupon_by_code(other.id, "coupon50proc")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.coupon_by_id(other.id, coupon.id).await.unwrap(), None);
    let conflict = store
        .add_coupon(t.id, new_coupon("coupon50PROC", half, vec![]))
        .await;
    assert!(
        matches!(conflict, Err(StoreError::Conflict(_))),
        "{conflict:?}"
    );
    let fixed = store
        .add_coupon(
            t.id,
            new_coupon("minus100", Discount::Fixed(money(10_000)), vec![]),
        )
        .await
        .unwrap();
    assert!(fixed.id > coupon.id);
    assert_eq!(
        store.coupon_by_code(t.id, "minus100").await.unwrap(),
        Some(fixed)
    );
}

/// Partners are found by login (case-insensitively) and by id, within their tenant only; a
/// parent must exist.
pub async fn partners_add_and_find(store: &dyn Store) {
    let t = tenant(store, "suite-partners").await;
    let other = tenant(store, "suite-partners-other").await;
    let boris = store
        .add_partner(t.id, new_partner("Boris", None))
        .await
        .unwrap();
    let anna = store
        .add_partner(t.id, new_partner("anna", Some(boris.id)))
        .await
        .unwrap();
    assert_eq!(anna.parent, Some(boris.id));
    assert_eq!(
        store.partner_by_login(t.id, "ANNA").await.unwrap(),
        Some(anna.clone())
    );
    assert_eq!(
        store.partner_by_id(t.id, anna.id).await.unwrap(),
        Some(anna.clone())
    );
    assert_eq!(
        store.partner_by_login(other.id, "anna").await.unwrap(),
        None
    );
    assert_eq!(store.partner_by_id(other.id, boris.id).await.unwrap(), None);
    let taken = store.add_partner(t.id, new_partner("boris", None)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let orphan = store
        .add_partner(t.id, new_partner("orphan", Some(PartnerId(999))))
        .await;
    assert!(orphan.is_err());
    assert_eq!(store.partner_by_login(t.id, "orphan").await.unwrap(), None);
}

/// Ids carried over from another system are kept; a taken id is a conflict; ids the store
/// hands out afterwards are above every id given.
pub async fn given_ids_are_kept_and_later_ids_stay_above(store: &dyn Store) {
    let t = tenant(store, "suite-given-ids").await;
    let fixed = Discount::Fixed(money(100));
    let mut imported = new_coupon("imported", fixed, vec![]);
    imported.id = Some(CouponId(585));
    assert_eq!(
        store.add_coupon(t.id, imported.clone()).await.unwrap().id,
        CouponId(585)
    );
    imported.code = "another".into();
    let clash = store.add_coupon(t.id, imported).await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    assert_eq!(store.coupon_by_code(t.id, "another").await.unwrap(), None);
    let mut lower = new_coupon("lower", fixed, vec![]);
    lower.id = Some(CouponId(7));
    assert_eq!(store.add_coupon(t.id, lower).await.unwrap().id, CouponId(7));
    let next = store
        .add_coupon(t.id, new_coupon("next", fixed, vec![]))
        .await
        .unwrap();
    assert_eq!(next.id, CouponId(586));

    let mut boris = new_partner("boris", None);
    boris.id = Some(PartnerId(5));
    store.add_partner(t.id, boris).await.unwrap();
    let mut anna = new_partner("anna", Some(PartnerId(5)));
    anna.id = Some(PartnerId(17));
    assert_eq!(
        store.add_partner(t.id, anna).await.unwrap().id,
        PartnerId(17)
    );
    let mut clash = new_partner("clash", None);
    clash.id = Some(PartnerId(5));
    let clash = store.add_partner(t.id, clash).await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
    let next = store
        .add_partner(t.id, new_partner("next", None))
        .await
        .unwrap();
    assert_eq!(next.id, PartnerId(18));
}

pub async fn concurrent_identical_orders_make_one(store: &dyn Store) {
    let t = tenant(store, "suite-race-same").await;
    let p = product(store, &t, "p", 1_000).await;
    let order = new_order("race@example.com", vec![item(&p, 1_000)]);
    let calls = (0..50)
        .map(|_| store.create_order(&t, order.clone(), NOW))
        .collect();
    let results: Vec<CreatedOrder> = join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("create order"))
        .collect();
    assert_one_created_rest_duplicates(&results);
}

pub async fn concurrent_distinct_orders_get_distinct_ids(store: &dyn Store) {
    let mut spec = new_tenant("suite-race-distinct");
    spec.settings.first_bill_id = 100;
    let t = store.add_tenant(spec).await.unwrap();
    let p = product(store, &t, "p", 1_000).await;
    let emails: Vec<String> = (0..200).map(|n| format!("buyer{n}@example.com")).collect();
    let calls = emails
        .iter()
        .map(|email| store.create_order(&t, new_order(email, vec![item(&p, 1_000)]), NOW))
        .collect();
    let ids: Vec<BillId> = join_all(calls)
        .await
        .into_iter()
        .map(|r| match r.expect("create order") {
            CreatedOrder::Created(id) => id,
            other => panic!("distinct orders are no duplicates: {other:?}"),
        })
        .collect();
    let unique: HashSet<BillId> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 200, "every order gets its own number");
    assert!(ids.iter().all(|id| id.get() >= 100));
    for (id, email) in ids.iter().zip(&emails) {
        let order = store.order(t.id, *id).await.unwrap().expect("order");
        assert_eq!(&order.customer.email, email, "order {id}");
    }
    let highest = ids.iter().max().copied().expect("ids");
    let next = created(
        store,
        &t,
        new_order("after@example.com", vec![item(&p, 1_000)]),
        NOW,
    )
    .await;
    assert!(next > highest, "numbers keep increasing after a burst");
}

/// Every coupon is listed, disabled ones too; a disabled coupon is still found and keeps its
/// code taken, but is not usable; enabling it again restores it.
pub async fn coupons_list_disable_and_enable(store: &dyn Store) {
    let t = tenant(store, "suite-coupon-list").await;
    let other = tenant(store, "suite-coupon-list-other").await;
    let fixed = Discount::Fixed(money(500));
    let mut imported = new_coupon("Imported", fixed, vec![ProductId(2)]);
    imported.id = Some(CouponId(40));
    let imported = store.add_coupon(t.id, imported).await.unwrap();
    let mut early = new_coupon("early", Discount::Percent(percent(1_000)), vec![]);
    early.id = Some(CouponId(3));
    let early = store.add_coupon(t.id, early).await.unwrap();
    let generated = store
        .add_coupon(t.id, new_coupon("generated", fixed, vec![]))
        .await
        .unwrap();
    assert!(!imported.disabled && !early.disabled && !generated.disabled);
    assert_eq!(
        store.coupons(t.id).await.unwrap(),
        [early.clone(), imported.clone(), generated.clone()],
        "ordered by id"
    );
    assert_eq!(store.coupons(other.id).await.unwrap(), []);

    assert!(store
        .set_coupon_disabled(t.id, "IMPORTED", true)
        .await
        .unwrap());
    assert!(
        store
            .set_coupon_disabled(t.id, "imported", true)
            .await
            .unwrap(),
        "disabling twice still names an existing coupon"
    );
    assert!(!store
        .set_coupon_disabled(t.id, "missing", true)
        .await
        .unwrap());
    assert!(
        !store
            .set_coupon_disabled(other.id, "imported", false)
            .await
            .unwrap(),
        "another tenant's coupon"
    );
    let disabled = store
        .coupon_by_code(t.id, "imported")
        .await
        .unwrap()
        .expect("a disabled coupon is still found");
    assert!(disabled.disabled);
    assert!(!disabled.usable_at(NOW));
    assert_eq!(
        Coupon {
            disabled: false,
            ..disabled.clone()
        },
        imported
    );
    assert_eq!(
        store.coupon_by_id(t.id, imported.id).await.unwrap(),
        Some(disabled.clone())
    );
    assert_eq!(
        store.coupons(t.id).await.unwrap(),
        [early.clone(), disabled, generated.clone()]
    );
    assert_conflict(
        store
            .add_coupon(t.id, new_coupon("imported", fixed, vec![]))
            .await,
        "a disabled coupon's code stays taken",
    );

    assert!(store
        .set_coupon_disabled(t.id, "Imported", false)
        .await
        .unwrap());
    let enabled = store
        .coupon_by_code(t.id, "imported")
        .await
        .unwrap()
        .expect("coupon");
    assert_eq!(enabled, imported);
    assert!(enabled.usable_at(NOW));
    assert_eq!(
        store.coupons(t.id).await.unwrap(),
        [early, imported, generated]
    );
}

/// Every partner of the tenant, ordered by id whatever the order of creation.
pub async fn partners_are_listed_by_id(store: &dyn Store) {
    let t = tenant(store, "suite-partner-list").await;
    let other = tenant(store, "suite-partner-list-other").await;
    let mut boris = new_partner("boris", None);
    boris.id = Some(PartnerId(50));
    let boris = store.add_partner(t.id, boris).await.unwrap();
    let mut anna = new_partner("anna", Some(boris.id));
    anna.id = Some(PartnerId(7));
    anna.registered_at = NOW + 60;
    let anna = store.add_partner(t.id, anna).await.unwrap();
    let carl = store
        .add_partner(t.id, new_partner("carl", Some(anna.id)))
        .await
        .unwrap();
    assert_eq!(carl.id, PartnerId(51));
    assert_eq!(store.partners(t.id).await.unwrap(), [anna, boris, carl]);
    assert_eq!(store.partners(other.id).await.unwrap(), []);
}

/// `item` with one partner entry per `(partner, fee)`, levels counted from 1.
fn with_partners(mut item: Item, entries: &[(PartnerId, i64)]) -> Item {
    item.partners = entries
        .iter()
        .zip(1..)
        .map(|(&(partner_id, fee), level)| PartnerEntry {
            level,
            partner_id,
            partner_name: format!("partner-{}", partner_id.0),
            fee: money(fee),
        })
        .collect();
    item
}

fn paid_on(date: i64) -> StatusChange {
    StatusChange::Paid {
        date,
        amount: None,
        payway: None,
    }
}

fn window(from: Option<i64>, to: Option<i64>) -> TimeWindow {
    TimeWindow { from, to }
}

fn stats(earned: i64, bills: u64, sub_partners: u64) -> PartnerStats {
    PartnerStats {
        earned: money(earned),
        bills,
        sub_partners,
        leads: 0,
    }
}

/// SPEC §14.5: fees of non-deleted orders that are `paid`, by payment time, both window ends
/// included; an order counts once however many entries it has for the partner, a 0.00 entry
/// included; sub-partners by registration time.
pub async fn partner_stats_count_paid_orders_in_the_window(store: &dyn Store) {
    let t = tenant(store, "suite-partner-stats").await;
    let other = tenant(store, "suite-partner-stats-other").await;
    let add = |login: &str, id: i64, parent: Option<i64>, registered_at: i64| {
        let partner = NewPartner {
            id: Some(PartnerId(id)),
            login: login.to_owned(),
            parent: parent.map(PartnerId),
            registered_at,
        };
        store.add_partner(t.id, partner)
    };
    let boris = add("boris", 5, None, NOW - 1_000).await.unwrap().id;
    let anna = add("anna", 17, Some(5), NOW).await.unwrap().id;
    add("carl", 18, Some(5), NOW + 500).await.unwrap();
    add("dora", 19, Some(17), NOW + 100).await.unwrap();
    add("lone", 20, None, NOW).await.unwrap();
    let p = product(store, &t, "p", 10_000).await;
    let (t1, t2, t3) = (NOW + 100, NOW + 200, NOW + 300);

    let order = |n: u32, items: Vec<Item>| new_order(&format!("stats{n}@example.com"), items);
    // Two entries for anna on one order, and boris's 0.00 entry.
    let two_entries = created(
        store,
        &t,
        order(
            1,
            vec![
                with_partners(item(&p, 10_000), &[(anna, 100), (boris, 0)]),
                with_partners(item(&p, 5_000), &[(anna, 50)]),
            ],
        ),
        NOW,
    )
    .await;
    change_status(store, &t, two_entries, paid_on(t1)).await;
    let anna_item = |fee: i64| vec![with_partners(item(&p, 10_000), &[(anna, fee)])];
    created(store, &t, order(2, anna_item(200)), NOW).await;
    let refunded = created(store, &t, order(3, anna_item(300)), NOW).await;
    change_status(store, &t, refunded, paid_on(t2)).await;
    let refund = StatusChange::Moneyback {
        ext_ref_no: "R".into(),
    };
    change_status(store, &t, refunded, refund).await;
    let deleted = created(store, &t, order(4, anna_item(400)), NOW).await;
    change_status(store, &t, deleted, paid_on(t2)).await;
    assert!(store.delete_order(t.id, deleted).await.unwrap());
    let late = created(store, &t, order(5, anna_item(500)), NOW).await;
    change_status(store, &t, late, paid_on(t3)).await;
    let cancelled = created(store, &t, order(6, anna_item(70)), NOW).await;
    change_status(store, &t, cancelled, StatusChange::Cancel).await;

    // The same partner number in another tenant is another partner.
    let mut twin = new_partner("anna-elsewhere", None);
    twin.id = Some(anna);
    store.add_partner(other.id, twin).await.unwrap();
    let op = product(store, &other, "p", 10_000).await;
    let foreign = created(
        store,
        &other,
        new_order(
            "stats@example.com",
            vec![with_partners(item(&op, 10_000), &[(anna, 1_000)])],
        ),
        NOW,
    )
    .await;
    change_status(store, &other, foreign, paid_on(t1)).await;

    let of = |partner: PartnerId, from: Option<i64>, to: Option<i64>| {
        store.partner_stats(t.id, partner, window(from, to))
    };
    assert_eq!(of(anna, None, None).await.unwrap(), stats(650, 2, 1));
    assert_eq!(
        of(anna, Some(t1), Some(t3)).await.unwrap(),
        stats(650, 2, 1)
    );
    assert_eq!(
        of(anna, Some(t1 + 1), Some(t3)).await.unwrap(),
        stats(500, 1, 0)
    );
    assert_eq!(
        of(anna, Some(t1), Some(t3 - 1)).await.unwrap(),
        stats(150, 1, 1)
    );
    assert_eq!(of(anna, Some(t3), None).await.unwrap(), stats(500, 1, 0));
    assert_eq!(of(anna, None, Some(t1)).await.unwrap(), stats(150, 1, 1));
    assert_eq!(of(anna, Some(t2), Some(t2)).await.unwrap(), stats(0, 0, 0));
    assert_eq!(of(anna, Some(t3), Some(t1)).await.unwrap(), stats(0, 0, 0));

    assert_eq!(of(boris, None, None).await.unwrap(), stats(0, 1, 2));
    assert_eq!(
        of(boris, None, Some(NOW + 499)).await.unwrap(),
        stats(0, 1, 1)
    );
    assert_eq!(
        of(boris, Some(NOW + 500), None).await.unwrap(),
        stats(0, 0, 1)
    );
    assert_eq!(
        of(boris, Some(NOW), Some(NOW)).await.unwrap(),
        stats(0, 0, 1)
    );
    assert_eq!(of(PartnerId(20), None, None).await.unwrap(), stats(0, 0, 0));
    assert_eq!(
        of(PartnerId(999), None, None).await.unwrap(),
        stats(0, 0, 0)
    );
    assert_eq!(
        store
            .partner_stats(other.id, anna, TimeWindow::default())
            .await
            .unwrap(),
        stats(1_000, 1, 0)
    );

    // A waiting order paid later counts from then on.
    let pending = created(store, &t, order(7, anna_item(1)), NOW).await;
    assert_eq!(of(anna, None, None).await.unwrap(), stats(650, 2, 1));
    change_status(store, &t, pending, paid_on(t3)).await;
    assert_eq!(of(anna, None, None).await.unwrap(), stats(651, 3, 1));

    // Should a change ever rewrite an order's items, the statistics follow.
    let items = vec![with_partners(item(&p, 10_000), &[(boris, 9)])];
    replace_items(store, t.id, pending, items).await;
    assert_eq!(of(anna, None, None).await.unwrap(), stats(650, 2, 1));
    assert_eq!(of(boris, None, None).await.unwrap(), stats(9, 2, 2));
}

/// Managers keep given ids; generated ids stay above every id given; a taken id is a conflict.
pub async fn managers_add_and_find(store: &dyn Store) {
    let t = tenant(store, "suite-managers").await;
    let other = tenant(store, "suite-managers-other").await;
    let manager = |id: Option<i64>, name: &str| NewManager {
        id: id.map(ManagerId),
        name: name.to_owned(),
    };
    let imported = store
        .add_manager(t.id, manager(Some(71_257), "Мария"))
        .await
        .unwrap();
    assert_eq!(
        imported,
        Manager {
            id: ManagerId(71_257),
            name: "Мария".into()
        }
    );
    let low = store
        .add_manager(t.id, manager(Some(3), "Low"))
        .await
        .unwrap();
    assert_eq!(low.id, ManagerId(3));
    let next = store
        .add_manager(t.id, manager(None, "Next"))
        .await
        .unwrap();
    assert_eq!(next.id, ManagerId(71_258));
    assert_conflict(
        store.add_manager(t.id, manager(Some(3), "Clash")).await,
        "manager id taken",
    );
    assert_conflict(
        store
            .add_manager(t.id, manager(Some(71_258), "Clash"))
            .await,
        "a generated manager id is taken too",
    );
    assert_eq!(
        store.managers(t.id).await.unwrap(),
        [low.clone(), imported.clone(), next.clone()]
    );
    assert_eq!(
        store.manager_by_id(t.id, imported.id).await.unwrap(),
        Some(imported.clone())
    );
    assert_eq!(store.manager_by_id(t.id, ManagerId(4)).await.unwrap(), None);

    assert_eq!(store.managers(other.id).await.unwrap(), []);
    assert_eq!(
        store.manager_by_id(other.id, imported.id).await.unwrap(),
        None
    );
    let first_elsewhere = store
        .add_manager(other.id, manager(None, "Other"))
        .await
        .unwrap();
    assert_eq!(
        first_elsewhere.id,
        ManagerId(1),
        "each tenant numbers its own"
    );
    let same_id = store
        .add_manager(other.id, manager(Some(71_257), "Twin"))
        .await
        .unwrap();
    assert_eq!(same_id.id, imported.id, "ids are per tenant");
}

/// API 2.0 orders may start paid, cancelled or refunded; the store keeps exactly the order
/// [`Order::from_new`] makes, API 2.0 fields included, and such orders are no duplicates.
pub async fn orders_created_in_a_final_state(store: &dyn Store) {
    let t = tenant(store, "suite-initial").await;
    let p = product(store, &t, "p", 10_000).await;
    let extras = OrderExtras {
        shipping_phone: "+7 900 000-00-00".into(),
        billing_address_1: "Lenina 1".into(),
        billing_address_2: "kv. 2".into(),
        billing_city: "Москва".into(),
        billing_state: "MO".into(),
        billing_zip: "101000".into(),
        billing_country: "Россия".into(),
        confirmed: "1".into(),
        sales_manager: Some(ManagerId(8)),
    };
    let order = |initial: InitialStatus| {
        let mut new = new_order("initial@example.com", vec![item(&p, 9_000)]);
        new.auto_cancel_at = Some(NOW + 3_600);
        new.extras = extras.clone();
        new.initial = initial;
        new
    };
    let cases = [
        (
            InitialStatus::Paid {
                at: NOW - 50,
                payway: "card".into(),
            },
            PayStatus::Paid,
        ),
        (InitialStatus::Cancel, PayStatus::Cancel),
        (
            InitialStatus::Moneyback { at: NOW - 40 },
            PayStatus::Moneyback,
        ),
        (InitialStatus::Waiting, PayStatus::Waiting),
    ];
    for (initial, status) in cases {
        let new = order(initial.clone());
        let id = created(store, &t, new.clone(), NOW).await;
        let stored = store.order(t.id, id).await.unwrap().expect("order");
        assert_eq!(stored, Order::from_new(id, new, NOW).0, "{initial:?}");
        assert_eq!(stored.pay_status, status);
        assert_eq!(stored.extras, extras);
    }
    let listed = store
        .orders_by_email(t.id, "initial@example.com", Some(PayStatus::Paid))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let paid = &listed[0];
    assert_eq!((paid.paid_at, paid.payway.as_str()), (NOW - 50, "card"));
    assert_eq!(
        paid.payments,
        [Payment {
            amount: money(9_000),
            at: NOW - 50
        }]
    );
    assert_eq!(paid.auto_cancel_at, None);
    let refunded = store
        .orders_by_email(t.id, "initial@example.com", Some(PayStatus::Moneyback))
        .await
        .unwrap();
    assert_eq!(refunded.len(), 1);
    assert_eq!(refunded[0].paid_at, NOW - 40);
    assert_eq!(refunded[0].payments.len(), 1);
    assert_eq!(
        store
            .orders_in_window(t.id, OrderTime::Paid, TimeWindow::default())
            .await
            .unwrap(),
        listed,
        "a refunded order is no longer paid"
    );
}

/// SPEC §13.4–§13.5: by `created` every non-deleted order, by payment time only `paid` ones;
/// both ends of the window included, an open side unbounded, ordered by `bill_id`.
pub async fn orders_in_window_by_creation_and_payment(store: &dyn Store) {
    let t = tenant(store, "suite-window").await;
    let other = tenant(store, "suite-window-other").await;
    let p = product(store, &t, "p", 1_000).await;
    let (c1, c2, c3) = (NOW - 3_000, NOW - 2_000, NOW - 1_000);
    let at = |created: i64, n: u32| {
        let mut new = new_order(&format!("w{n}@example.com"), vec![item(&p, 1_000)]);
        new.created = created;
        new
    };
    // Numbers and creation times run in different orders.
    let third = created(store, &t, at(c3, 1), NOW).await;
    let first = created(store, &t, at(c1, 2), NOW).await;
    let second = created(store, &t, at(c2, 3), NOW).await;
    let deleted = created(store, &t, at(c2, 4), NOW).await;
    assert!(store.delete_order(t.id, deleted).await.unwrap());
    let op = product(store, &other, "p", 1_000).await;
    let mut foreign = new_order("w@example.com", vec![item(&op, 1_000)]);
    foreign.created = c2;
    let foreign = created(store, &other, foreign, NOW).await;
    change_status(store, &other, foreign, paid_on(c2)).await;

    let listed = |time: OrderTime, from: Option<i64>, to: Option<i64>| async move {
        store
            .orders_in_window(t.id, time, window(from, to))
            .await
            .unwrap()
            .iter()
            .map(|o| o.bill_id)
            .collect::<Vec<_>>()
    };
    let all = vec![third, first, second];
    assert_eq!(listed(OrderTime::Created, Some(c1), Some(c3)).await, all);
    assert_eq!(listed(OrderTime::Created, None, None).await, all);
    assert_eq!(
        listed(OrderTime::Created, Some(c1 + 1), Some(c3)).await,
        [third, second]
    );
    assert_eq!(
        listed(OrderTime::Created, Some(c1), Some(c3 - 1)).await,
        [first, second]
    );
    assert_eq!(
        listed(OrderTime::Created, Some(c2), None).await,
        [third, second]
    );
    assert_eq!(
        listed(OrderTime::Created, None, Some(c2)).await,
        [first, second]
    );
    assert_eq!(
        listed(OrderTime::Created, Some(c2), Some(c2)).await,
        [second]
    );
    assert_eq!(listed(OrderTime::Created, Some(c3), Some(c1)).await, []);
    assert_eq!(listed(OrderTime::Paid, None, None).await, []);

    // Payment states: paid on p1 and p2, refunded, partly paid, cancelled, paid then deleted.
    let (p1, p2) = (NOW + 100, NOW + 200);
    change_status(store, &t, first, paid_on(p2)).await;
    change_status(store, &t, third, paid_on(p1)).await;
    let refunded = created(store, &t, at(c1, 5), NOW).await;
    change_status(store, &t, refunded, paid_on(p1)).await;
    let refund = StatusChange::Moneyback {
        ext_ref_no: "R".into(),
    };
    change_status(store, &t, refunded, refund).await;
    let cancelled = created(store, &t, at(c1, 6), NOW).await;
    change_status(store, &t, cancelled, StatusChange::Cancel).await;
    let paid_deleted = created(store, &t, at(c1, 7), NOW).await;
    change_status(store, &t, paid_deleted, paid_on(p1)).await;
    assert!(store.delete_order(t.id, paid_deleted).await.unwrap());

    assert_eq!(listed(OrderTime::Paid, None, None).await, [third, first]);
    assert_eq!(
        listed(OrderTime::Paid, Some(p1), Some(p2)).await,
        [third, first]
    );
    assert_eq!(
        listed(OrderTime::Paid, Some(p1 + 1), Some(p2)).await,
        [first]
    );
    assert_eq!(
        listed(OrderTime::Paid, Some(p1), Some(p2 - 1)).await,
        [third]
    );
    assert_eq!(listed(OrderTime::Paid, None, Some(p1)).await, [third]);
    assert_eq!(listed(OrderTime::Paid, Some(p2), None).await, [first]);
    assert_eq!(listed(OrderTime::Paid, Some(p2 + 1), None).await, []);
    assert_eq!(
        listed(OrderTime::Created, None, None).await,
        [third, first, second, refunded, cancelled],
        "every state counts by creation"
    );

    let full = store
        .orders_in_window(t.id, OrderTime::Paid, window(Some(p2), Some(p2)))
        .await
        .unwrap();
    assert_eq!(
        full,
        [store.order(t.id, first).await.unwrap().expect("order")],
        "listed orders are whole"
    );
    let elsewhere = store
        .orders_in_window(other.id, OrderTime::Paid, TimeWindow::default())
        .await
        .unwrap();
    assert_eq!(elsewhere.len(), 1);
    assert_eq!(elsewhere[0].bill_id, foreign);
}

/// SPEC §13.6: one e-mail's non-deleted orders, optionally of one status, ordered by number.
pub async fn orders_by_email_filter_by_status(store: &dyn Store) {
    let t = tenant(store, "suite-by-email").await;
    let other = tenant(store, "suite-by-email-other").await;
    let p = product(store, &t, "p", 1_000).await;
    let mut n = 0;
    let mut make = |email: &str| {
        n += 1;
        // Different sums keep the orders of one e-mail from being duplicates.
        new_order(email, vec![item(&p, n)])
    };
    let waiting = created(store, &t, make("a@example.com"), NOW).await;
    let paid = created(store, &t, make("a@example.com"), NOW).await;
    let cancelled = created(store, &t, make("a@example.com"), NOW).await;
    let refunded = created(store, &t, make("a@example.com"), NOW).await;
    let deleted = created(store, &t, make("a@example.com"), NOW).await;
    let someone_else = created(store, &t, make("b@example.com"), NOW).await;
    let second_paid = created(store, &t, make("a@example.com"), NOW).await;
    change_status(store, &t, paid, paid_on(NOW)).await;
    change_status(store, &t, second_paid, paid_on(NOW)).await;
    change_status(store, &t, cancelled, StatusChange::Cancel).await;
    change_status(store, &t, refunded, paid_on(NOW)).await;
    let refund = StatusChange::Moneyback {
        ext_ref_no: "R".into(),
    };
    change_status(store, &t, refunded, refund).await;
    assert!(store.delete_order(t.id, deleted).await.unwrap());
    let op = product(store, &other, "p", 1_000).await;
    created(
        store,
        &other,
        new_order("a@example.com", vec![item(&op, 1_000)]),
        NOW,
    )
    .await;

    let of = |email: &'static str, status: Option<PayStatus>| async move {
        store
            .orders_by_email(t.id, email, status)
            .await
            .unwrap()
            .iter()
            .map(|o| o.bill_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("a@example.com", None).await,
        [waiting, paid, cancelled, refunded, second_paid]
    );
    assert_eq!(
        of("a@example.com", Some(PayStatus::Waiting)).await,
        [waiting]
    );
    assert_eq!(
        of("a@example.com", Some(PayStatus::Paid)).await,
        [paid, second_paid]
    );
    assert_eq!(
        of("a@example.com", Some(PayStatus::Cancel)).await,
        [cancelled]
    );
    assert_eq!(
        of("a@example.com", Some(PayStatus::Moneyback)).await,
        [refunded]
    );
    assert_eq!(of("b@example.com", None).await, [someone_else]);
    assert_eq!(of("b@example.com", Some(PayStatus::Paid)).await, []);
    assert_eq!(of("nobody@example.com", None).await, []);
    let whole = store
        .orders_by_email(t.id, "b@example.com", None)
        .await
        .unwrap();
    assert_eq!(
        whole,
        [store
            .order(t.id, someone_else)
            .await
            .unwrap()
            .expect("order")]
    );
    assert_eq!(
        store
            .orders_by_email(other.id, "a@example.com", None)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// The auto-cancel sweep fires every tenant's due timers, earliest first, up to its limit; a
/// deleted, cancelled or paid order has no timer left, and a part-paid one loses its timer
/// without being cancelled.
pub async fn due_auto_cancels_fire_across_tenants(store: &dyn Store) {
    // Timers long before the suite's clock, so that other tests' timers never fall due here.
    const BASE: i64 = 1_000;
    let a = tenant(store, "suite-timers-a").await;
    let b = tenant(store, "suite-timers-b").await;
    let pa = product(store, &a, "p", 1_000).await;
    let pb = product(store, &b, "p", 1_000).await;
    let mut n = 0;
    let mut timed = |p: &Product, at: Option<i64>| {
        n += 1;
        let mut new = new_order(&format!("timer{n}@example.com"), vec![item(p, 1_000)]);
        new.auto_cancel_at = at;
        new
    };
    let a10 = created(store, &a, timed(&pa, Some(BASE + 10)), NOW).await;
    let a5 = created(store, &a, timed(&pa, Some(BASE + 5)), NOW).await;
    let a20 = created(store, &a, timed(&pa, Some(BASE + 20)), NOW).await;
    let untimed = created(store, &a, timed(&pa, None), NOW).await;
    let a_deleted = created(store, &a, timed(&pa, Some(BASE + 1)), NOW).await;
    assert!(store.delete_order(a.id, a_deleted).await.unwrap());
    let a_cancelled = created(store, &a, timed(&pa, Some(BASE + 2)), NOW).await;
    change_status(store, &a, a_cancelled, StatusChange::Cancel).await;
    let a_paid = created(store, &a, timed(&pa, Some(BASE + 3)), NOW).await;
    change_status(store, &a, a_paid, paid_on(NOW)).await;
    let b15 = created(store, &b, timed(&pb, Some(BASE + 15)), NOW).await;
    let b7 = created(store, &b, timed(&pb, Some(BASE + 7)), NOW).await;
    let b_part_paid = created(store, &b, timed(&pb, Some(BASE + 8)), NOW).await;
    let part_payment = store
        .update_order(
            b.id,
            b_part_paid,
            NOW,
            Box::new(|order| {
                order.payments.push(Payment {
                    amount: Money::from_minor(100),
                    at: NOW,
                });
                Ok(Vec::new())
            }),
        )
        .await
        .unwrap();
    assert!(matches!(part_payment, OrderUpdate::Applied(_)));

    let fire = |now: i64, limit: usize| async move {
        let fired = store.fire_due_auto_cancels(now, limit).await.unwrap();
        let cancelled: Vec<_> = fired
            .cancelled
            .iter()
            .map(|d| (d.tenant, d.bill_id))
            .collect();
        (fired.taken, cancelled)
    };
    assert_eq!(fire(BASE + 4, 10).await, (0, vec![]));
    assert_eq!(fire(BASE + 5, 0).await, (0, vec![]));
    assert_eq!(
        fire(BASE + 5, 10).await,
        (1, vec![(a.id, a5)]),
        "due at its own second"
    );
    assert_eq!(
        fire(BASE + 15, 2).await,
        (2, vec![(b.id, b7)]),
        "earliest first; the part-paid order loses its timer uncancelled"
    );
    assert_eq!(
        fire(BASE + 15, 10).await,
        (2, vec![(a.id, a10), (b.id, b15)])
    );
    assert_eq!(
        fire(BASE + 15, 10).await,
        (0, vec![]),
        "fired timers are gone"
    );
    assert_eq!(fire(BASE + 20, 10).await, (1, vec![(a.id, a20)]));

    let status = |t: TenantId, bill: BillId| async move {
        let order = store.order(t, bill).await.unwrap().unwrap();
        (order.pay_status, order.auto_cancel_at)
    };
    for (t, bill) in [
        (a.id, a5),
        (a.id, a10),
        (a.id, a20),
        (b.id, b7),
        (b.id, b15),
    ] {
        assert_eq!(status(t, bill).await, (PayStatus::Cancel, None), "{bill}");
    }
    assert_eq!(status(b.id, b_part_paid).await, (PayStatus::Waiting, None));
    assert_eq!(status(a.id, untimed).await, (PayStatus::Waiting, None));
    assert_eq!(status(a.id, a_paid).await.0, PayStatus::Paid);
}

/// SPEC §17: a key is claimed once; the same request meanwhile is in flight, another one is a
/// mismatch; a completed key replays its response for a day; a lapsed claim is free again.
pub async fn idempotency_keys_claim_complete_and_expire(store: &dyn Store) {
    let t = tenant(store, "suite-idempotency").await;
    let other = tenant(store, "suite-idempotency-other").await;
    const LEASE: i64 = 30;
    let claim = |tenant: &Tenant, key: &'static str, fingerprint: &'static str, now: i64| {
        let id = tenant.id;
        async move {
            store
                .claim_idempotency_key(id, key, fingerprint, now, LEASE)
                .await
                .expect("claim")
        }
    };
    let response = StoredResponse {
        status: 200,
        body: b"{\"error_code\":0}\n\x00\xff".to_vec(),
    };

    assert_eq!(claim(&t, "k1", "A", NOW).await, IdempotencyClaim::Claimed);
    assert_eq!(
        claim(&t, "k1", "A", NOW + 10).await,
        IdempotencyClaim::InFlight
    );
    assert_eq!(
        claim(&t, "k1", "B", NOW + 10).await,
        IdempotencyClaim::Mismatch
    );
    assert_eq!(
        claim(&other, "k1", "B", NOW + 10).await,
        IdempotencyClaim::Claimed,
        "keys are per tenant"
    );
    store
        .complete_idempotency_key(t.id, "k1", "A", response.clone(), NOW + 20)
        .await
        .unwrap();
    assert_eq!(
        claim(&t, "k1", "A", NOW + 21).await,
        IdempotencyClaim::Done(response.clone())
    );
    assert_eq!(
        claim(&t, "k1", "B", NOW + 21).await,
        IdempotencyClaim::Mismatch
    );
    assert_eq!(
        claim(&other, "k1", "B", NOW + 21).await,
        IdempotencyClaim::InFlight,
        "the other tenant's claim is its own"
    );
    // A completed key outlives any lease and lasts a day from completion.
    let expiry = NOW + 20 + IDEMPOTENCY_KEY_LIFETIME;
    assert_eq!(
        claim(&t, "k1", "A", expiry - 1).await,
        IdempotencyClaim::Done(response.clone())
    );
    assert_eq!(
        claim(&t, "k1", "B", expiry - 1).await,
        IdempotencyClaim::Mismatch
    );
    assert_eq!(
        claim(&t, "k1", "B", expiry).await,
        IdempotencyClaim::Claimed
    );
    assert_eq!(
        claim(&t, "k1", "A", expiry).await,
        IdempotencyClaim::Mismatch
    );

    // A claim neither completed nor released lapses after its lease, for any request.
    assert_eq!(claim(&t, "k2", "A", NOW).await, IdempotencyClaim::Claimed);
    assert_eq!(
        claim(&t, "k2", "A", NOW + LEASE - 1).await,
        IdempotencyClaim::InFlight
    );
    assert_eq!(
        claim(&t, "k2", "A", NOW + LEASE).await,
        IdempotencyClaim::Claimed
    );
    assert_eq!(
        claim(&t, "k2", "B", NOW + 2 * LEASE - 1).await,
        IdempotencyClaim::Mismatch,
        "the renewed claim holds for a new lease"
    );
    assert_eq!(
        claim(&t, "k2", "B", NOW + 2 * LEASE).await,
        IdempotencyClaim::Claimed
    );
    let other_response = StoredResponse {
        status: 409,
        body: b"conflict".to_vec(),
    };
    store
        .complete_idempotency_key(t.id, "k2", "A", response.clone(), NOW + 2 * LEASE)
        .await
        .unwrap();
    assert_eq!(
        claim(&t, "k2", "B", NOW + 2 * LEASE).await,
        IdempotencyClaim::InFlight,
        "the lapsed claim's request cannot complete the claim of another"
    );
    store
        .complete_idempotency_key(t.id, "k2", "B", other_response.clone(), NOW + 2 * LEASE)
        .await
        .unwrap();
    assert_eq!(
        claim(&t, "k2", "B", NOW + 2 * LEASE).await,
        IdempotencyClaim::Done(other_response)
    );

    // Releasing frees a claim at once; a completed key is not released.
    assert_eq!(claim(&t, "k3", "A", NOW).await, IdempotencyClaim::Claimed);
    store
        .release_idempotency_key(t.id, "k3", "A")
        .await
        .unwrap();
    assert_eq!(
        claim(&t, "k3", "B", NOW + 1).await,
        IdempotencyClaim::Claimed
    );
    store
        .release_idempotency_key(other.id, "k3", "B")
        .await
        .unwrap();
    store
        .release_idempotency_key(t.id, "k3", "A")
        .await
        .unwrap();
    assert_eq!(
        claim(&t, "k3", "B", NOW + 2).await,
        IdempotencyClaim::InFlight,
        "another tenant's release, or one of another request, leaves the claim"
    );
    store
        .complete_idempotency_key(t.id, "k3", "B", response.clone(), NOW + 3)
        .await
        .unwrap();
    store
        .release_idempotency_key(t.id, "k3", "B")
        .await
        .unwrap();
    assert_eq!(
        claim(&t, "k3", "B", NOW + 4).await,
        IdempotencyClaim::Done(response.clone())
    );
    store
        .release_idempotency_key(t.id, "never", "A")
        .await
        .unwrap();

    // Purging forgets keys past their lifetime and nothing younger.
    assert_eq!(claim(&t, "old", "A", NOW).await, IdempotencyClaim::Claimed);
    store
        .complete_idempotency_key(t.id, "old", "A", response.clone(), NOW)
        .await
        .unwrap();
    assert_eq!(
        claim(&t, "young", "A", NOW).await,
        IdempotencyClaim::Claimed
    );
    store
        .complete_idempotency_key(t.id, "young", "A", response.clone(), NOW + 100)
        .await
        .unwrap();
    let purged = store
        .purge_idempotency_keys(NOW + IDEMPOTENCY_KEY_LIFETIME)
        .await
        .unwrap();
    assert!(purged >= 1, "{purged}");
    assert_eq!(
        claim(&t, "young", "A", NOW + IDEMPOTENCY_KEY_LIFETIME).await,
        IdempotencyClaim::Done(response.clone())
    );
    assert_eq!(
        claim(&t, "old", "B", NOW + IDEMPOTENCY_KEY_LIFETIME).await,
        IdempotencyClaim::Claimed
    );
}

/// Order events become one delivery per distinct URL with the order's body; a claim leases a
/// delivery; a late record of a lapsed claim writes nothing; redelivery starts a new round.
pub async fn outbox_fans_out_claims_records_and_redelivers(store: &dyn Store) {
    use crate::outbox::{
        now_ms, AttemptOutcome, AttemptRecord, DeliveryFilter, DeliveryState, EventId,
    };
    let t = tenant(store, "suite-outbox").await;
    let pending_before = store.pending_deliveries().await.unwrap();
    let pending = || async move { store.pending_deliveries().await.unwrap() - pending_before };
    let shared = "http://127.0.0.1:9/shared";
    let mut products = Vec::new();
    for (code, paid) in [("o1", shared), ("o2", "http://127.0.0.1:9/two"), ("o3", "")] {
        let mut spec = ProductSpec::new(self::code(code), "t", money(100));
        spec.urls = NotificationUrls {
            new_order: if paid.is_empty() {
                String::new()
            } else {
                shared.to_owned()
            },
            paid: paid.to_owned(),
            ..NotificationUrls::default()
        };
        products.push(store.add_product(t.id, spec).await.expect("product"));
    }
    let items = products.iter().map(|p| item(p, 100)).collect();
    let id = created(store, &t, new_order("outbox@example.com", items), NOW).await;
    let paid = change_status(
        store,
        &t,
        id,
        StatusChange::Paid {
            date: NOW + 1,
            amount: None,
            payway: None,
        },
    )
    .await;
    assert_eq!(paid, OrderUpdate::Applied(vec![OrderEventKind::Paid]));

    let all = store
        .deliveries(t.id, DeliveryFilter::default())
        .await
        .unwrap();
    let routes: Vec<(&str, &str)> = all
        .iter()
        .map(|d| (d.kind.as_str(), d.url.as_str()))
        .collect();
    assert_eq!(
        routes,
        [
            ("new_order", shared),
            ("paid", shared),
            ("paid", "http://127.0.0.1:9/two"),
        ]
    );
    assert!(all
        .iter()
        .all(|d| d.state == DeliveryState::Pending && d.attempts == 0 && d.bill_id == Some(id)));
    assert!(String::from_utf8_lossy(&all[0].body).starts_with("status=new_order&id="));
    assert_eq!(all[1].body, all[2].body, "one body per event");
    assert_ne!(all[1].event_id, all[2].event_id, "one event id per URL");
    assert_eq!(pending().await, 3);
    let filtered = store
        .deliveries(
            t.id,
            DeliveryFilter {
                state: Some(DeliveryState::Failed),
                bill_id: None,
            },
        )
        .await
        .unwrap();
    assert!(filtered.is_empty());

    let now = now_ms();
    let mine = |claimed: Vec<crate::outbox::ClaimedDelivery>| -> Vec<_> {
        claimed.into_iter().filter(|c| c.tenant == t.id).collect()
    };
    let first = mine(store.claim_deliveries(now, 60_000, 100).await.unwrap());
    assert_eq!(first.len(), 3);
    assert!(first
        .iter()
        .all(|c| c.attempt == 1 && c.failed_in_round == 0));
    assert!(mine(store.claim_deliveries(now, 60_000, 100).await.unwrap()).is_empty());
    // The lease lapsed: another worker takes them over.
    let second = mine(
        store
            .claim_deliveries(now + 60_000, 60_000, 100)
            .await
            .unwrap(),
    );
    assert_eq!(second.len(), 3);

    let record = |attempt: u32, status: Option<u16>| AttemptRecord {
        attempt,
        at_ms: now,
        status,
        error: if status == Some(200) {
            String::new()
        } else {
            "HTTP 500".into()
        },
        latency_ms: 3,
        response: b"answer".to_vec(),
    };
    let outcomes = [
        AttemptOutcome::Delivered,
        AttemptOutcome::RetryAt(now + 5_000),
        AttemptOutcome::Failed,
    ];
    for (claimed, outcome) in second.iter().zip(outcomes) {
        let status = if outcome == AttemptOutcome::Delivered {
            200
        } else {
            500
        };
        assert!(store
            .record_attempt(claimed, record(1, Some(status)), outcome)
            .await
            .unwrap());
    }
    // The first claim comes back late: its attempt is no longer the delivery's.
    assert!(!store
        .record_attempt(&first[0], record(1, Some(200)), AttemptOutcome::Delivered)
        .await
        .unwrap());

    let state_of = |event_id: EventId| async move {
        store.delivery(&event_id).await.unwrap().expect("delivery")
    };
    let (delivered, log) = state_of(second[0].event_id.clone()).await;
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(log, [record(1, Some(200))]);
    let (retrying, _) = state_of(second[1].event_id.clone()).await;
    assert_eq!(retrying.state, DeliveryState::Pending);
    assert_eq!(retrying.due_ms, now + 5_000);
    assert!(mine(
        store
            .claim_deliveries(now + 4_999, 60_000, 100)
            .await
            .unwrap()
    )
    .is_empty());
    let (failed, _) = state_of(second[2].event_id.clone()).await;
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(pending().await, 1, "only the one to retry is pending");

    assert!(store.redeliver(&failed.event_id, now + 10).await.unwrap());
    assert_eq!(pending().await, 2);
    let again = mine(store.claim_deliveries(now + 10, 60_000, 100).await.unwrap());
    let again: Vec<_> = again
        .into_iter()
        .filter(|c| c.event_id == failed.event_id)
        .collect();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].attempt, again[0].failed_in_round), (2, 0));
    let unknown = EventId::parse("00000000-0000-4000-8000-000000000000").unwrap();
    assert!(!store.redeliver(&unknown, now).await.unwrap());
    assert!(store.delivery(&unknown).await.unwrap().is_none());
}

fn new_group(name: &str, kind: GroupKind) -> NewGroup {
    NewGroup {
        id: None,
        name: name.into(),
        title: format!("Title of {name}"),
        kind,
    }
}

fn add_lead(targets: &[GroupId], ip: &str) -> ContactCommand {
    ContactCommand::AddLead(AddLead {
        targets: targets.to_vec(),
        name: Some("Lead".into()),
        phone: Some("+1".into()),
        city: None,
        tag: Some("t".into()),
        activation: false,
        partner: None,
        origin: SubscriptionOrigin {
            ip: ip.into(),
            utm: Utm {
                source: "src".into(),
                ..Utm::default()
            },
            aff_utm: Utm::default(),
            doneurl2: "https://done.example/".into(),
        },
        limit: None,
    })
}

/// Group numbers increase from 1 per tenant, given ones are kept, names are unique
/// case-insensitively, and the list comes in number order with every kind.
pub async fn groups_add_and_list(store: &dyn Store) {
    let t = tenant(store, "suite-groups").await;
    let other = tenant(store, "suite-groups-other").await;
    let first = store
        .add_group(t.id, new_group("grp1", GroupKind::Standard))
        .await
        .unwrap();
    assert_eq!(first.id, GroupId(1));
    let given = store
        .add_group(
            t.id,
            NewGroup {
                id: Some(GroupId(10)),
                ..new_group("auto", GroupKind::Auto)
            },
        )
        .await
        .unwrap();
    assert_eq!(given.id, GroupId(10));
    let next = store
        .add_group(t.id, new_group("clients", GroupKind::Client))
        .await
        .unwrap();
    assert_eq!(next.id, GroupId(11));
    assert_conflict(
        store
            .add_group(t.id, new_group("GRP1", GroupKind::Standard))
            .await,
        "a name taken case-insensitively",
    );
    assert_conflict(
        store
            .add_group(
                t.id,
                NewGroup {
                    id: Some(GroupId(10)),
                    ..new_group("x", GroupKind::Standard)
                },
            )
            .await,
        "a number taken",
    );
    let listed = store.groups(t.id).await.unwrap();
    assert_eq!(listed, vec![first, given, next]);
    assert!(store.groups(other.id).await.unwrap().is_empty());
    store
        .add_group(other.id, new_group("grp1", GroupKind::Standard))
        .await
        .expect("names are per tenant");
}

/// Every field of a contact and its subscriptions comes back as saved.
pub async fn contacts_change_round_trip(store: &dyn Store) {
    let t = tenant(store, "suite-contacts").await;
    let other = tenant(store, "suite-contacts-other").await;
    let g1 = store
        .add_group(t.id, new_group("g1", GroupKind::Standard))
        .await
        .unwrap();
    let mut imported = Contact::new(None, NOW - 50);
    imported.name = "Имя".into();
    imported.first_name = "F".into();
    imported.middle_name = "M".into();
    imported.last_name = "L".into();
    imported.phone = "+7".into();
    imported.city = "Omsk".into();
    imported.tags = vec!["b".into(), "A".into()];
    imported.partner = Some(PartnerId(17));
    imported.extras.insert("lead_utc".into(), "+03".into());
    imported.subscriptions.push(Subscription {
        group: g1.id,
        status: SubscriptionStatus::InvalidEmail,
        time: NOW - 40,
        ip: "203.0.113.7".into(),
        utm: Utm {
            medium: "m".into(),
            source: "s".into(),
            campaign: "c".into(),
            content: "co".into(),
            term: "t".into(),
        },
        aff_utm: Utm {
            medium: "am".into(),
            ..Utm::default()
        },
        doneurl2: "https://x.example/".into(),
    });
    let outcome = store
        .change_contact(
            t.id,
            Some("a@example.com"),
            ContactCommand::Import(imported.clone()),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(outcome, ContactOutcome::Done);
    let stored = store
        .contact_by_email(t.id, "a@example.com")
        .await
        .unwrap()
        .expect("stored");
    imported.email = Some("a@example.com".into());
    assert_eq!(stored.contact, imported);
    assert!(store
        .contact_by_email(other.id, "a@example.com")
        .await
        .unwrap()
        .is_none());
    let again = store
        .change_contact(
            t.id,
            Some("a@example.com"),
            ContactCommand::Import(imported.clone()),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        again,
        ContactOutcome::Unchanged,
        "importing twice changes nothing"
    );
    assert!(store
        .unsubscribe_events(t.id, 0, 10)
        .await
        .unwrap()
        .is_empty());
}

/// A command that refuses or finds nothing leaves no trace.
pub async fn contact_changes_write_nothing_when_refused(store: &dyn Store) {
    let t = tenant(store, "suite-contacts-refused").await;
    let g1 = store
        .add_group(t.id, new_group("g1", GroupKind::Standard))
        .await
        .unwrap();
    let missing = store
        .change_contact(
            t.id,
            Some("nobody@example.com"),
            ContactCommand::AddTags(vec!["x".into()]),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(missing, ContactOutcome::NotFound);
    assert_eq!(
        store.count_contacts(t.id, CountScope::All).await.unwrap(),
        0
    );
    store
        .change_contact(
            t.id,
            Some("a@example.com"),
            add_lead(&[g1.id], "1.2.3.4"),
            NOW,
        )
        .await
        .unwrap();
    let before = store.contact_by_email(t.id, "a@example.com").await.unwrap();
    let strict = ContactCommand::Unsubscribe {
        groups: vec![g1.id, GroupId(99)],
        strict: true,
    };
    let refused = store
        .change_contact(t.id, Some("a@example.com"), strict, NOW + 1)
        .await
        .unwrap();
    assert_eq!(refused, ContactOutcome::NoSubscription);
    assert_eq!(
        store.contact_by_email(t.id, "a@example.com").await.unwrap(),
        before
    );
    let limited = ContactCommand::AddLead(AddLead {
        limit: Some(IpLimit {
            ip: "1.2.3.4".into(),
            max: 1,
        }),
        ..match add_lead(&[GroupId(1)], "1.2.3.4") {
            ContactCommand::AddLead(add) => add,
            _ => unreachable!(),
        }
    });
    let outcome = store
        .change_contact(t.id, Some("b@example.com"), limited, NOW + 2)
        .await
        .unwrap();
    assert_eq!(outcome, ContactOutcome::LimitReached);
    assert!(store
        .contact_by_email(t.id, "b@example.com")
        .await
        .unwrap()
        .is_none());
}

/// One event per subscription that becomes `STATUS_UNSUBSCRIBE`, with the contact's data.
pub async fn unsubscriptions_are_recorded_once(store: &dyn Store) {
    let t = tenant(store, "suite-unsubscribe").await;
    let other = tenant(store, "suite-unsubscribe-other").await;
    let g1 = store
        .add_group(t.id, new_group("g1", GroupKind::Standard))
        .await
        .unwrap();
    let g2 = store
        .add_group(t.id, new_group("g2", GroupKind::Standard))
        .await
        .unwrap();
    let email = Some("u@example.com");
    store
        .change_contact(t.id, email, add_lead(&[g1.id, g2.id], "10.0.0.1"), NOW)
        .await
        .unwrap();
    let leave = ContactCommand::Unsubscribe {
        groups: vec![g1.id, g2.id],
        strict: true,
    };
    for at in [NOW + 1, NOW + 2] {
        store
            .change_contact(t.id, email, leave.clone(), at)
            .await
            .unwrap();
    }
    let events = store.unsubscribe_events(t.id, 0, 10).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events.iter().map(|e| e.group).collect::<Vec<_>>(),
        [g1.id, g2.id]
    );
    for event in &events {
        assert_eq!(
            (
                event.name.as_str(),
                event.email.as_str(),
                event.phone.as_str(),
                event.ip.as_str(),
                event.at
            ),
            ("Lead", "u@example.com", "+1", "10.0.0.1", NOW + 1)
        );
    }
    assert!(events[0].id < events[1].id);
    let after_first = store
        .unsubscribe_events(t.id, events[0].id, 10)
        .await
        .unwrap();
    assert_eq!(after_first, events[1..].to_vec());
    assert!(store
        .unsubscribe_events(other.id, 0, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Simultaneous first subscriptions of one address make one contact.
pub async fn concurrent_new_contacts_make_one(store: &dyn Store) {
    let t = tenant(store, "suite-contacts-race").await;
    let g1 = store
        .add_group(t.id, new_group("g1", GroupKind::Standard))
        .await
        .unwrap();
    let g2 = store
        .add_group(t.id, new_group("g2", GroupKind::Standard))
        .await
        .unwrap();
    let calls = (0..20)
        .map(|_| {
            store.change_contact(
                t.id,
                Some("race@example.com"),
                add_lead(&[g1.id, g2.id], "10.0.0.2"),
                NOW,
            )
        })
        .collect();
    let outcomes: Vec<ContactOutcome> = join_all(calls)
        .await
        .into_iter()
        .map(|o| o.expect("no failure"))
        .collect();
    let done = outcomes
        .iter()
        .filter(|o| **o == ContactOutcome::Done)
        .count();
    assert_eq!(done, 1, "{outcomes:?}");
    assert_eq!(
        store.count_contacts(t.id, CountScope::All).await.unwrap(),
        1
    );
    let stored = store
        .contact_by_email(t.id, "race@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.contact.subscriptions.len(), 2);
    assert_eq!(
        store
            .subscribe_calls_from(t.id, "10.0.0.2", 0)
            .await
            .unwrap(),
        1
    );
}

/// Counts by scope; pages in number order without gaps or repeats.
pub async fn contacts_count_and_page(store: &dyn Store) {
    let t = tenant(store, "suite-contacts-count").await;
    let g1 = store
        .add_group(t.id, new_group("g1", GroupKind::Standard))
        .await
        .unwrap();
    let g2 = store
        .add_group(t.id, new_group("g2", GroupKind::Standard))
        .await
        .unwrap();
    for n in 0..5 {
        let targets = if n % 2 == 0 {
            vec![g1.id]
        } else {
            vec![g1.id, g2.id]
        };
        store
            .change_contact(
                t.id,
                Some(&format!("c{n}@example.com")),
                add_lead(&targets, "10.0.0.3"),
                NOW,
            )
            .await
            .unwrap();
    }
    let without_email = ContactCommand::UpsertLead(UpsertLead::default());
    store
        .change_contact(t.id, None, without_email.clone(), NOW)
        .await
        .unwrap();
    store
        .change_contact(t.id, None, without_email, NOW)
        .await
        .unwrap();
    store
        .change_contact(
            t.id,
            Some("c0@example.com"),
            ContactCommand::Unsubscribe {
                groups: vec![g1.id],
                strict: false,
            },
            NOW,
        )
        .await
        .unwrap();
    let count = |scope| store.count_contacts(t.id, scope);
    assert_eq!(count(CountScope::All).await.unwrap(), 7);
    assert_eq!(count(CountScope::Unique).await.unwrap(), 4);
    assert_eq!(count(CountScope::Group(g1.id)).await.unwrap(), 4);
    assert_eq!(count(CountScope::Group(g2.id)).await.unwrap(), 2);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.contacts_page(t.id, after, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        seen.extend(page.into_iter().map(|c| c.id));
    }
    assert_eq!(seen.len(), 7);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

/// Only writes that count are counted, per address, from the given time on.
pub async fn subscribe_calls_count_per_ip(store: &dyn Store) {
    let t = tenant(store, "suite-subscribe-calls").await;
    let g1 = store
        .add_group(t.id, new_group("g1", GroupKind::Standard))
        .await
        .unwrap();
    for (n, at) in [(0, NOW), (1, NOW + 10), (1, NOW + 20)] {
        store
            .change_contact(
                t.id,
                Some(&format!("s{n}@example.com")),
                add_lead(&[g1.id], "10.0.0.4"),
                at,
            )
            .await
            .unwrap();
    }
    let calls = |since| store.subscribe_calls_from(t.id, "10.0.0.4", since);
    assert_eq!(calls(NOW).await.unwrap(), 2, "the repeat created nothing");
    assert_eq!(calls(NOW + 1).await.unwrap(), 1);
    assert_eq!(
        store
            .subscribe_calls_from(t.id, "10.0.0.5", 0)
            .await
            .unwrap(),
        0
    );
}

/// A payment that completes an order subscribes its buyer to the products' client groups in
/// the same write; a partial payment does not.
pub async fn payment_joins_client_groups(store: &dyn Store) {
    let t = tenant(store, "suite-client-groups").await;
    let clients = store
        .add_group(t.id, new_group("buyers", GroupKind::Client))
        .await
        .unwrap();
    let mut spec = ProductSpec::new(code("course"), "Course", money(100_000));
    spec.client_groups = vec!["BUYERS".into(), "nosuch".into()];
    let course = store.add_product(t.id, spec).await.unwrap();
    let mut order = new_order("buyer@example.com", vec![item(&course, 100_000)]);
    order.customer.first_name = "Bo".into();
    order.customer.last_name = "Byer".into();
    let CreatedOrder::Created(bill_id) = store.create_order(&t, order, NOW).await.unwrap() else {
        panic!("created");
    };
    assert!(store
        .contact_by_email(t.id, "buyer@example.com")
        .await
        .unwrap()
        .is_none());
    let paid = change_status(store, &t, bill_id, paid_on(NOW + 5)).await;
    assert!(matches!(paid, OrderUpdate::Applied(_)), "{paid:?}");
    let buyer = store
        .contact_by_email(t.id, "buyer@example.com")
        .await
        .unwrap()
        .expect("the buyer became a contact")
        .contact;
    assert_eq!(buyer.name, "Bo Byer");
    assert_eq!(buyer.subscriptions.len(), 1);
    assert_eq!(buyer.subscriptions[0].group, clients.id);
    assert_eq!(buyer.subscriptions[0].status, SubscriptionStatus::Subscribe);
    assert_eq!(buyer.subscriptions[0].time, NOW);
}
