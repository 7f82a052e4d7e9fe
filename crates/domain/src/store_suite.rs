//! The behaviour every [`Store`] backend must show, as async test functions over `&dyn Store`.
//!
//! A backend's integration tests run the whole suite with
//! [`store_suite_tests!`](crate::store_suite_tests), giving it a function that returns a fresh
//! store per test. The functions use logins of their own, so they also pass on a store that
//! other tests share. Everything here panics on a failed expectation, like any test.

use crate::model::{
    BillId, Commission, CouponId, Customer, Discount, GoodName, Item, NewCoupon, NewOrder,
    NewPartner, NewTenant, NotificationUrls, Order, PartnerEntry, PartnerId, PayStatus, Product,
    ProductId, ProductPatch, ProductSpec, Tenant, TenantSettings, Utm,
};
use crate::order::{OrderEventKind, StatusChange, StatusRefusal, DUPLICATE_WINDOW_SECONDS};
use crate::ports::{CreatedOrder, OrderUpdate, Store, StoreError};
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
        tag: String::new(),
        comment: String::new(),
        kupon: String::new(),
        domain: String::new(),
        client_ip: String::new(),
        utm: Utm::default(),
        aff_utm: Utm::default(),
        auto_cancel_at: None,
        product_prepayment_minsum: None,
        items,
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
    };
    let id = created(store, &t, new.clone(), NOW).await;
    assert_eq!(id, bill(1), "the default first_bill_id is 1");
    let expected = Order::from_new(id, new.clone(), NOW);
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
    let items = wanted.clone();
    let update = store
        .update_order(
            t.id,
            high,
            NOW,
            Box::new(move |order: &mut Order| {
                order.items = items;
                Ok(Vec::new())
            }),
        )
        .await
        .unwrap();
    assert_eq!(update, OrderUpdate::Applied(Vec::new()));
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
    assert_eq!(duplicates, 49, "{results:?}");
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
