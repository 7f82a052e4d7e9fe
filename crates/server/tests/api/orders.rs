//! Order methods beyond the SPEC's examples: validation order, prices, status changes, failures.

use crate::helpers::{envelope, spawn_app, TestApp, EXAMPLES_TIME};
use std::sync::atomic::Ordering;

fn created(bill_id: i64) -> String {
    format!(
        r#"{{"error_code":0,"error_text":"Order created","result":{{"bill_id":"{bill_id}"}},"hash":"d72287948e429b9fe09196a0bdab2490"}}"#
    )
}

async fn create(app: &TestApp, body: &str) -> String {
    app.post_signed("CreateOrder", body).await.body
}

#[tokio::test]
async fn create_order_validates_in_order() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let wrong = envelope(3, "Wrong posted data", "secret");
    let cases: &[(&str, String)] = &[
        ("goods[0][good_name]=code1", envelope(600, "Wrong email: ''", "secret")),
        ("bill_email[]=a%40b.cd&goods[0][good_name]=code1", envelope(600, "Wrong email: ''", "secret")),
        ("bill_email=%FF%40b.cd&goods[0][good_name]=nosuch", envelope(604, "Product not exist: nosuch", "secret")),
        ("bill_email=+x%40b.c&goods[0][good_name]=code1", envelope(600, "Wrong email: ' x@b.c'", "secret")),
        ("bill_email=a%40b.cd", envelope(603, "Missing products", "secret")),
        ("bill_email=a%40b.cd&goods=code1", envelope(603, "Missing products", "secret")),
        ("bill_email=a%40b.cd&goods[0][good_name]=", envelope(604, "Product not exist: ", "secret")),
        ("bill_email=a%40b.cd&goods[0][good_name]=code1&goods[1][good_name]=nosuch&goods[1][good_sum]=x", envelope(604, "Product not exist: nosuch", "secret")),
        ("bill_email=a%40b.cd&goods[0][good_name]=code1&goods[1][good_name]=CODE1", wrong.clone()),
        ("bill_email=a%40b.cd&goods[0][good_name]=code1&goods[0][good_sum]=1e3", wrong.clone()),
        ("bill_email=a%40b.cd&goods[0][good_name]=code1&goods[0][good_sum]=-5", wrong.clone()),
        ("bill_email=a%40b.cd&goods[0][good_name]=code1&goods[1][good_name]=book1&goods[1][good_sum]=x", wrong.clone()),
        ("bill_email=a%40b.cd&goods[0][good_name]=book1&bill_first_name=A&bill_surname=B&bill_country=C&bill_city=D", envelope(605, "Not having any data for delivery products", "secret")),
        ("bill_email=a%40b.cd&goods[0][good_name]=code1&bill_created=-1", wrong.clone()),
        ("bill_email=a%40b.cd&goods[0][good_name]=code1&bill_created=soon", wrong.clone()),
        ("bill_email=a%40b.cd&goods[0][good_name]=code1&bill_timer_kill=maybe", wrong.clone()),
    ];
    for (body, expected) in cases {
        app.post_signed("CreateOrder", body)
            .await
            .assert_body(expected);
    }
    // Nothing was created along the way: the next order gets the first number.
    assert_eq!(
        create(&app, "bill_email=a%40b.cd&goods[]=code1").await,
        created(12344)
    );
}

#[tokio::test]
async fn api_orders_can_be_switched_off() {
    let Some(app) = spawn_app().await else { return };
    let mut demo = app.demo.clone();
    demo.settings.api_orders_enabled = false;
    clickbill_domain::Store::save_tenant(app.store.as_ref(), &demo)
        .await
        .unwrap();
    // The tenant cache picks the change up within its refresh interval.
    let expected = envelope(
        606,
        "Function for creating new orders throw API was disabled for your account",
        "secret",
    );
    let mut answer = String::new();
    for _ in 0..100 {
        answer = app.post_signed("CreateOrder", "bill_email=bad").await.body;
        if answer == expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(answer, expected);
}

#[tokio::test]
async fn coupons_partners_and_domains_shape_the_order() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    assert_eq!(
        create(
            &app,
            "bill_email=Buyer%40Example.com&goods[0][good_name]=CODE2&goods[1][good_name]=code1&goods[1][good_sum]=800&bill_kupon=MINUS100&bill_aff=17&bill_domain=pay.example&bill_otchestvo=Petrovich&utm[utm_content]=c",
        )
        .await,
        created(12344)
    );
    let details = app
        .post_signed("GetOrderInfo", "bill_id=12344&good_info=1&payway_name=1")
        .await;
    details.assert_body(r#"{"error_code":0,"error_text":"OK","result":[{"id":"12344","first_name":"","last_name":"","middle_name":"Petrovich","email":"buyer@example.com","phone":"","city":"","country":"","address":"","region":"","postalcode":"","created":"1700000100","pay_status":"waiting","paid":"0","type":"0","payway":"","payway_support_phone":"","comment":"","domain":"pay.example","link":"http:\/\/pay.example\/bill\/?id=12344&crc=5a1c9153a4aafba3","good_ids":["2","1"],"good_count":"2","price":"3200.00","bill_sum_topay":"3200.00","prepayment_enabled":"1","prepayment_minsum":"1000.00","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"","kupon":"minus100","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"","source":"","campaign":"","content":"c","term":""},"items":[{"id":"code2","title":"Video pack","sum":"2400.00","price":"2500.00","pincode":"","partners":[{"partner_lvl":"1","partner_id":"17","partner_name":"anna","partner_fee":"300.00"},{"partner_lvl":"2","partner_id":"5","partner_name":"boris","partner_fee":"0.00"}]},{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"800.00","price":"1000.00","pincode":"","partners":[{"partner_lvl":"1","partner_id":"17","partner_name":"anna","partner_fee":"80.00"},{"partner_lvl":"2","partner_id":"5","partner_name":"boris","partner_fee":"40.00"}]}]}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#);
}

#[tokio::test]
async fn duplicates_are_found_within_a_day_only() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let body = "bill_email=a%40b.cd&goods[0][good_name]=code1";
    assert_eq!(create(&app, body).await, created(12344));
    assert_eq!(
        create(
            &app,
            "bill_email=A%40B.CD&goods[0][good_name]=code1&bill_comment=other"
        )
        .await,
        r#"{"error_code":601,"error_text":"Order already exist. His number send in result array.","result":{"bill_id":"12344"},"hash":"e1aecc358582bec038d45b98bf5c8bcb"}"#
    );
    app.clock.set(EXAMPLES_TIME + 86_400);
    assert_eq!(create(&app, body).await, created(12345));
}

#[tokio::test]
async fn update_order_status_checks_in_order() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    assert_eq!(
        create(&app, "bill_email=a%40b.cd&goods[0][good_name]=code2").await,
        created(12344)
    );
    let wrong = envelope(3, "Wrong posted data", "secret");
    let empty = envelope(203, "Order number is empty", "secret");
    let nonexistent = envelope(200, "Nonexistent order", "secret");
    let wrong_status = envelope(201, "Wrong status", "secret");
    let not_paid = envelope(202, "Order not paid", "secret");
    let cases: &[(&str, &String)] = &[
        ("status=sent", &empty),
        ("bill_id=&status=nonsense", &empty),
        ("bill_id[]=1&status=sent", &empty),
        ("bill_id=12344", &wrong),
        ("bill_id=12344&status=", &wrong),
        ("bill_id=abc&status=nonsense", &wrong),
        ("bill_id=0&status=sent", &wrong),
        ("bill_id=-12344&status=sent", &wrong),
        ("bill_id=99&status=nonsense", &nonexistent),
        ("bill_id=99&status=sent", &nonexistent),
        ("bill_id=99&status=cancel", &nonexistent),
        ("bill_id=12344&status=Sent", &wrong_status),
        ("bill_id=12344&status=sent&rpo=R", &wrong),
        ("bill_id=12344&status=sent&date=0&rpo=R", &wrong),
        ("bill_id=12344&status=sent&date=1700000000&rpo=+", &wrong),
        ("bill_id=12344&status=paid", &wrong),
        ("bill_id=12344&status=paid&date=1700000000&sum=0", &wrong),
        ("bill_id=12344&status=paid&date=1700000000&sum=abc", &wrong),
        ("bill_id=12344&status=moneyback", &wrong),
        // Below the prepayment minimum of 1000.00.
        (
            "bill_id=12344&status=paid&date=1700000000&sum=999.99",
            &not_paid,
        ),
    ];
    for (body, expected) in cases {
        let answer = app.post_signed("UpdateOrderStatus", body).await;
        answer.assert_body(expected);
    }
    // Not paid yet: no refund.
    app.post_signed(
        "UpdateOrderStatus",
        "bill_id=12344&status=moneyback&ext_ref_no=R",
    )
    .await
    .assert_body(&envelope(204, "Order status is not changed", "secret"));
    // A partial payment, then the rest.
    let ok = envelope(0, "OK", "secret");
    app.post_signed(
        "UpdateOrderStatus",
        "bill_id=12344&status=paid&date=1700000200&sum=1000",
    )
    .await
    .assert_body(&ok);
    let details = app
        .post_signed("getOrderDetails", "bill_id=12344")
        .await
        .body;
    assert!(
        details.contains(r#""pay_status":"waiting","paid":"0","#),
        "{details}"
    );
    assert!(
        details.contains(r#""price":"2500.00","bill_sum_topay":"1500.00","#),
        "{details}"
    );
    assert!(
        details.contains(r#""last_payment_sum":"1000.00","prepayment_sum":"1000.00","#),
        "{details}"
    );
    app.post_signed(
        "UpdateOrderStatus",
        "bill_id=12344&status=paid&date=1700000300&payway=Card",
    )
    .await
    .assert_body(&ok);
    let details = app
        .post_signed("getOrderDetails", "bill_id=12344")
        .await
        .body;
    assert!(
        details.contains(r#""pay_status":"paid","paid":"1700000300","type":"0","payway":"Card","#),
        "{details}"
    );
    assert!(details.contains(r#""bill_sum_topay":"0.00","#), "{details}");
    app.post_signed(
        "UpdateOrderStatus",
        "bill_id=12344&status=paid&date=1700000400",
    )
    .await
    .assert_body(&not_paid);
    app.post_signed("UpdateOrderStatus", "bill_id=12344&status=cancel")
        .await
        .assert_body(&envelope(204, "Order status is not changed", "secret"));
    app.post_signed("UpdateOrderStatus", "bill_id=12344&status=return")
        .await
        .assert_body(&ok);
    app.post_signed(
        "UpdateOrderStatus",
        "bill_id=12344&status=moneyback&ext_ref_no=R-9",
    )
    .await
    .assert_body(&envelope(0, "Order status changed", "secret"));
    let details = app
        .post_signed("getOrderDetails", "bill_id=12344")
        .await
        .body;
    assert!(
        details.contains(r#""pay_status":"moneyback","#),
        "{details}"
    );
    assert!(
        details.contains(r#""delivery_status":"return","#),
        "{details}"
    );
}

#[tokio::test]
async fn cancel_twice_is_ok() {
    let Some(app) = spawn_app().await else { return };
    assert_eq!(
        create(&app, "bill_email=a%40b.cd&goods[0][good_name]=code1").await,
        created(12344)
    );
    for _ in 0..2 {
        app.post_signed("UpdateOrderStatus", "bill_id=12344&status=cancel")
            .await
            .assert_body(&envelope(0, "OK", "secret"));
    }
}

#[tokio::test]
async fn delete_order_rules() {
    let Some(app) = spawn_app().await else { return };
    assert_eq!(
        create(&app, "bill_email=a%40b.cd&goods[0][good_name]=code1").await,
        created(12344)
    );
    let nonexistent = envelope(200, "Nonexistent order", "secret");
    for body in [
        "bill_id=abc",
        "bill_id=0",
        "bill_id=-1",
        "bill_id=99",
        "bill_id=1.5",
    ] {
        app.post_signed("DeleteOrder", body)
            .await
            .assert_body(&nonexistent);
    }
    app.post_signed("DeleteOrder", "bill_id=+12344")
        .await
        .assert_body(&envelope(0, "OK", "secret"));
    app.post_signed("DeleteOrder", "bill_id=12344")
        .await
        .assert_body(&nonexistent);
    // A deleted order's number is not reused and it no longer counts as a duplicate.
    assert_eq!(
        create(&app, "bill_email=a%40b.cd&goods[0][good_name]=code1").await,
        created(12345)
    );
}

#[tokio::test]
async fn reading_orders_with_bad_numbers_is_400() {
    let Some(app) = spawn_app().await else { return };
    let not_found = envelope(400, "Order not found", "secret");
    for body in [
        "",
        "bill_id=",
        "bill_id=abc",
        "bill_id=0",
        "bill_id=-5",
        "bill_id[]=1",
        "bill_id=99999999999999999999",
    ] {
        let body = if body.is_empty() { "x=1" } else { body };
        app.post_signed("getOrderDetails", body)
            .await
            .assert_body(&not_found);
        app.post_signed("GetOrderInfo", body)
            .await
            .assert_body(&not_found);
    }
}

#[tokio::test]
async fn storage_failures_answer_with_the_method_failure_code() {
    let Some(app) = spawn_app().await else { return };
    app.store.failing.store(true, Ordering::SeqCst);
    let cases = [
        (
            "CreateOrder",
            "bill_email=a%40b.cd&goods[0][good_name]=code1",
            envelope(602, "Error creating order", "secret"),
        ),
        (
            "AddGood",
            "good_name=x&good_type=0&good_title=X&good_sum=1",
            envelope(303, "Failed to add product", "secret"),
        ),
        (
            "UpdateGood",
            "good_name=code1&good_sum=1",
            envelope(302, "Failed to remove product", "secret"),
        ),
        (
            "DeleteGood",
            "good_name=code1",
            envelope(302, "Failed to remove product", "secret"),
        ),
        ("GetAllGoods", "", envelope(3, "Internal error", "secret")),
        (
            "getOrderDetails",
            "bill_id=12344",
            envelope(3, "Internal error", "secret"),
        ),
        (
            "UpdateOrderStatus",
            "bill_id=12344&status=cancel",
            envelope(3, "Internal error", "secret"),
        ),
        (
            "DeleteOrder",
            "bill_id=12344",
            envelope(3, "Internal error", "secret"),
        ),
    ];
    for (method, body, expected) in cases {
        app.post_signed(method, body).await.assert_body(&expected);
    }
    // Validation that needs no storage still answers first.
    app.post_signed("CreateOrder", "bill_email=bad")
        .await
        .assert_body(&envelope(600, "Wrong email: 'bad'", "secret"));
}

#[tokio::test]
async fn a_panicking_handler_still_answers() {
    let Some(app) = spawn_app().await else { return };
    app.store.panicking.store(true, Ordering::SeqCst);
    app.post_signed(
        "CreateOrder",
        "bill_email=a%40b.cd&goods[0][good_name]=code1",
    )
    .await
    .assert_body(&envelope(602, "Error creating order", "secret"));
    app.post_signed("getOrderDetails", "bill_id=12344")
        .await
        .assert_body(&envelope(3, "Internal error", "secret"));
    app.store.panicking.store(false, Ordering::SeqCst);
    let answer = app.post_signed("GetAllGoods", "").await;
    assert!(answer.body.starts_with(r#"{"error_code":0,"#));
}

#[tokio::test]
async fn the_client_ip_is_stored_not_bill_ip() {
    let Some(app) = spawn_app().await else { return };
    let order = |bill_id: i64| {
        let store = app.store.clone();
        let tenant = app.demo.id;
        async move {
            clickbill_domain::Store::order(
                store.as_ref(),
                tenant,
                clickbill_domain::model::BillId::new(bill_id).unwrap(),
            )
            .await
            .unwrap()
            .unwrap()
        }
    };
    assert_eq!(
        create(
            &app,
            "bill_email=a%40b.cd&goods[0][good_name]=code1&bill_ip=10.9.9.9"
        )
        .await,
        created(12344)
    );
    assert_eq!(order(12344).await.client_ip, "127.0.0.1");
    let answer = app
        .client
        .post(app.url("/api/CreateOrder"))
        .header("Host", "demo.justclick.ru")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Forwarded-For", "203.0.113.7, 10.0.0.2")
        .body(crate::helpers::signed(
            "bill_email=b%40b.cd&goods[0][good_name]=code1",
            "demo",
            "secret",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), created(12345));
    assert_eq!(order(12345).await.client_ip, "203.0.113.7");
}
