//! API 2.0 `createorder`, `getgoods`, `getcoupons` and `getpersonalmanagers` (SPEC §15.1, §15.2,
//! §15.8–§15.10) over HTTP, with raw bodies and through the SDK.

use crate::helpers::{
    entry, envelope, history_of_11_3, partners, spawn_app, Answer, PartnerEntry, TestApp,
    EXAMPLES_TIME,
};
use clickbill_client::{
    Client, ClientError, CouponListEntry, CreateOrderOutcome, CreateOrderStatus, GoodListEntry,
    ManagerListEntry, NewOrderV2,
};
use clickbill_domain::model::{
    BillId, CouponId, Discount, ManagerId, NewCoupon, Order, PayStatus, Payment,
};
use clickbill_domain::Store;
use clickbill_protocol::sign::response_hash;
use clickbill_protocol::value::Money;
use serde_json::Value;
use std::sync::atomic::Ordering;

const OK: &str = r#"{"error_code":0,"error_text":"OK","hash":"b60bb23ab72ead13463d1205065965a5"}"#;

/// The §15.2 example request, as recorded.
const CREATE_12346: &str = "rpsKey=secret&customer_email=buyer%40example.com&customer_first_name=John&customer_last_name=Smith&order_created_at=2023-11-16+10%3A00%3A00&product_names=code1%2Ccode2&product_prices=900&coupon=586&affiliates=anna&utm_source=newsletter";

/// Order 12346 as getOrderDetails with `good_info=1` reports it after §15.2: `code1` at 900.00,
/// `code2` at 2500.00 − 100.00, partner fees of anna (level 1) and her parent boris (level 2).
const DETAILS_12346: &str = r#"{"error_code":0,"error_text":"OK","result":{"id":"12346","first_name":"John","last_name":"Smith","middle_name":"","email":"buyer@example.com","phone":"","city":"","country":"","address":"","region":"","postalcode":"","created":"1700118000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"","domain":"","link":"\/bill\/?id=12346&crc=8d6cd58084c85b49","good_ids":["1","2"],"good_count":"2","price":"3300.00","bill_sum_topay":"3300.00","prepayment_enabled":"1","prepayment_minsum":"1000.00","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"","kupon":"minus100","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"","source":"newsletter","campaign":"","content":"","term":""},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"900.00","price":"1000.00","pincode":"","partners":[{"partner_lvl":"1","partner_id":"17","partner_name":"anna","partner_fee":"90.00"},{"partner_lvl":"2","partner_id":"5","partner_name":"boris","partner_fee":"45.00"}]},{"id":"code2","title":"Video pack","sum":"2400.00","price":"2500.00","pincode":"","partners":[{"partner_lvl":"1","partner_id":"17","partner_name":"anna","partner_fee":"300.00"},{"partner_lvl":"2","partner_id":"5","partner_name":"boris","partner_fee":"0.00"}]}]},"hash":"b60bb23ab72ead13463d1205065965a5"}"#;

/// A later server time than the examples of §12–§14.
const LATER: i64 = EXAMPLES_TIME + 3_600;

fn money(text: &str) -> Money {
    Money::parse(text.as_bytes()).unwrap()
}

fn created_body(bill_id: i64) -> String {
    format!(
        r#"{{"error_code":0,"error_text":"OK","result":{{"bill_id":"{bill_id}"}},"hash":"b60bb23ab72ead13463d1205065965a5"}}"#
    )
}

fn duplicate_body(bill_id: i64) -> String {
    format!(
        r#"{{"error_code":601,"error_text":"Order already exist. His number send in result array.","result":{{"bill_id":"{bill_id}"}},"hash":"e1aecc358582bec038d45b98bf5c8bcb"}}"#
    )
}

fn sdk(app: &TestApp) -> Client {
    Client::new(
        &format!("http://demo.localhost:{}", app.addr.port()),
        "demo",
        "secret",
    )
    .expect("a valid base URL")
}

/// POSTs `createorder` for `demo` with the key in front of `body`.
async fn create(app: &TestApp, body: &str) -> Answer {
    app.post("createorder", format!("rpsKey=secret&{body}"))
        .await
}

/// Creates an order that must succeed and returns its number.
async fn create_ok(app: &TestApp, body: &str) -> i64 {
    let answer = create(app, body).await;
    let parsed: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(parsed["error_code"], 0, "{body}: {}", answer.body);
    let bill_id: i64 = parsed["result"]["bill_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    answer.assert_body(&created_body(bill_id));
    bill_id
}

/// The order object getOrderDetails reports.
async fn details(app: &TestApp, bill_id: i64) -> Value {
    let answer = app
        .post(
            "getOrderDetails",
            format!("rpsKey=secret&bill_id={bill_id}&good_info=1"),
        )
        .await;
    let parsed: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(parsed["error_code"], 0, "{}", answer.body);
    parsed["result"].clone()
}

/// The order as stored, with what no method reports.
async fn stored(app: &TestApp, bill_id: i64) -> Order {
    app.store
        .order(app.demo.id, BillId::new(bill_id).unwrap())
        .await
        .unwrap()
        .expect("the order exists")
}

/// Asserts a list answer against the SPEC example: the body up to the hash byte for byte, and
/// the hash as the response signature of `0::OK` for the secret.
#[track_caller]
fn assert_example(answer: &Answer, example: &str) {
    let split = |body: &str| {
        let at = body.rfind(r#","hash":""#).expect("a hash");
        (
            body[..at].to_owned(),
            body[at + 9..body.len() - 2].to_owned(),
        )
    };
    let (body, hash) = split(&answer.body);
    let (expected, _) = split(example);
    assert_eq!(body, expected);
    assert_eq!(hash, response_hash(0, "OK", "secret"));
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
}

#[tokio::test]
async fn example_of_15_2_after_the_history_of_11_and_13() {
    let Some(app) = spawn_app().await else { return };
    // Order 12344 (§11.3), then order 12345 (§13.1.5), deleted in §13.8.
    history_of_11_3(&app).await;
    app.post_signed(
        "CreateOrder",
        "bill_email=client%40example.com&goods[0][good_name]=code1&goods[0][good_sum]=1000&goods[1][good_name]=code2&goods[1][good_sum]=1999.5&bill_created=1700000000",
    )
    .await
    .assert_body(r#"{"error_code":0,"error_text":"Order created","result":{"bill_id":"12345"},"hash":"d72287948e429b9fe09196a0bdab2490"}"#);
    app.post(
        "DeleteOrder",
        "bill_id=12345&hash=07104f8da0d90446813c981b4359de06",
    )
    .await
    .assert_body(OK);

    app.clock.set(LATER);
    app.post("createorder", CREATE_12346)
        .await
        .assert_body(r#"{"error_code":0,"error_text":"OK","result":{"bill_id":"12346"},"hash":"b60bb23ab72ead13463d1205065965a5"}"#);
    app.post("getOrderDetails", "rpsKey=secret&bill_id=12346&good_info=1")
        .await
        .assert_body(DETAILS_12346);

    // The same order again within a day is a duplicate of 12346.
    app.post("createorder", CREATE_12346)
        .await
        .assert_body(&duplicate_body(12346));

    let order = stored(&app, 12346).await;
    assert_eq!(order.price(), money("3300.00"));
    assert_eq!(order.to_pay(), money("3300.00"));
    let fees: Vec<Vec<Money>> = order
        .items
        .iter()
        .map(|item| item.partners.iter().map(|p| p.fee).collect())
        .collect();
    assert_eq!(
        fees,
        [
            vec![money("90.00"), money("45.00")],
            vec![money("300.00"), money("0.00")]
        ]
    );
    // API 2.0 orders have no auto-cancel timer, although code1 has a delay.
    assert_eq!(order.auto_cancel_at, None);
    assert_eq!(order.inserted_at, LATER);
    assert_eq!(order.client_ip, "127.0.0.1");
}

#[tokio::test]
async fn checks_run_in_the_documented_order() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(LATER);
    let wrong = envelope(3, "Wrong posted data", "secret");
    let delivery = envelope(605, "Not having any data for delivery products", "secret");
    let cases: Vec<(&str, String)> = vec![
        (
            "customer_email=buyer.example.com&product_names=nosuch&order_status=x",
            envelope(600, "Wrong email: 'buyer.example.com'", "secret"),
        ),
        (
            "product_names=nosuch",
            envelope(600, "Wrong email: ''", "secret"),
        ),
        (
            "customer_email=a%40b.cd&product_names=+%2C+%2C&order_status=x",
            envelope(603, "Missing products", "secret"),
        ),
        (
            "customer_email=a%40b.cd&product_names=",
            envelope(603, "Missing products", "secret"),
        ),
        (
            "customer_email=a%40b.cd&product_names=code1%2C+nosuch+%2Ccode1&product_prices=1%2C2%2Cx&order_status=x",
            envelope(604, "Product not exist: nosuch", "secret"),
        ),
        (
            "customer_email=a%40b.cd&product_names=code1%2CCODE1%2Cnosuch",
            wrong.clone(),
        ),
        (
            "customer_email=a%40b.cd&product_names=code1%2Cbook1&product_prices=abc",
            wrong.clone(),
        ),
        (
            "customer_email=a%40b.cd&product_names=book1%2Ccode1&product_prices=%2Cabc&customer_first_name=A",
            delivery.clone(),
        ),
        (
            "customer_email=a%40b.cd&product_names=code1%2Cbook1&customer_first_name=A&customer_last_name=B&customer_shipping=S&customer_shipping_city=C&order_status=x",
            delivery.clone(),
        ),
        (
            "customer_email=a%40b.cd&product_names=code1&order_status=Shipped",
            wrong.clone(),
        ),
        (
            "customer_email=a%40b.cd&product_names=code1&order_created_at=2023-11-16",
            wrong.clone(),
        ),
        (
            "customer_email=a%40b.cd&product_names=code1&order_paid_at=yesterday",
            wrong.clone(),
        ),
    ];
    for (body, expected) in &cases {
        let answer = create(&app, body).await;
        assert_eq!(&answer.body, expected, "{body}");
        answer.assert_body(expected);
    }
    // Nothing was created along the way: the next order gets the first number.
    assert_eq!(
        create_ok(&app, "customer_email=a%40b.cd&product_names=code1").await,
        12344
    );
    create(&app, "customer_email=A%40B.cd&product_names=code1")
        .await
        .assert_body(&duplicate_body(12344));

    app.store.failing.store(true, Ordering::SeqCst);
    create(&app, "customer_email=x%40b.cd&product_names=code1")
        .await
        .assert_body(&envelope(602, "Error creating order", "secret"));
    app.store.failing.store(false, Ordering::SeqCst);

    let mut demo = app.demo.clone();
    demo.settings.api_orders_enabled = false;
    app.store.save_tenant(&demo).await.unwrap();
    let disabled = envelope(
        606,
        "Function for creating new orders throw API was disabled for your account",
        "secret",
    );
    // The tenant cache picks the change up within its refresh interval.
    let mut answer = String::new();
    for _ in 0..100 {
        answer = create(&app, "customer_email=bad&product_names=").await.body;
        if answer == disabled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(answer, disabled);
}

#[tokio::test]
async fn orders_can_be_created_paid_cancelled_or_refunded() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(LATER);
    let base = "product_names=code1%2Ccode2&product_prices=900";

    let paid = create_ok(
        &app,
        &format!("customer_email=p%40b.cd&{base}&order_status=paid&order_paid_at=16.11.2023+12%3A30%3A00&payment_method=Card"),
    )
    .await;
    let order = details(&app, paid).await;
    assert_eq!(order["pay_status"], "paid");
    assert_eq!(order["paid"], "1700127000");
    assert_eq!(order["payway"], "Card");
    assert_eq!(order["price"], "3400.00");
    assert_eq!(order["bill_sum_topay"], "0.00");
    assert_eq!(order["last_payment_sum"], "3400.00");
    assert_eq!(order["prepayment_sum"], "0.00");
    assert_eq!(order["created"], LATER.to_string());
    assert_eq!(
        stored(&app, paid).await.payments,
        [Payment {
            amount: money("3400.00"),
            at: 1_700_127_000
        }]
    );

    // Without a payment time the payment is dated now; without a method the payway is empty.
    let paid_now = create_ok(
        &app,
        &format!("customer_email=q%40b.cd&{base}&order_status=PAID"),
    )
    .await;
    let order = details(&app, paid_now).await;
    assert_eq!(order["paid"], LATER.to_string());
    assert_eq!(order["payway"], "");

    let cancelled = create_ok(
        &app,
        &format!("customer_email=c%40b.cd&{base}&order_status=Cancel&order_paid_at=16.11.2023+12%3A30%3A00"),
    )
    .await;
    let order = details(&app, cancelled).await;
    assert_eq!(order["pay_status"], "cancel");
    assert_eq!(order["paid"], "0");
    assert_eq!(order["payway"], "");
    assert_eq!(order["bill_sum_topay"], "3400.00");
    assert_eq!(order["last_payment_sum"], "0.00");
    assert!(stored(&app, cancelled).await.payments.is_empty());

    let refunded = create_ok(
        &app,
        &format!("customer_email=m%40b.cd&{base}&order_status=moneyback&order_paid_at=2023-11-16+12%3A30%3A00&payment_method=Card"),
    )
    .await;
    let order = details(&app, refunded).await;
    assert_eq!(order["pay_status"], "moneyback");
    assert_eq!(order["paid"], "1700127000");
    assert_eq!(order["payway"], "");
    assert_eq!(order["bill_sum_topay"], "0.00");
    assert_eq!(order["last_payment_sum"], "3400.00");
    let order = stored(&app, refunded).await;
    assert_eq!(order.pay_status, PayStatus::Moneyback);
    assert_eq!(
        order.payments,
        [Payment {
            amount: money("3400.00"),
            at: 1_700_127_000
        }]
    );

    // Only a waiting order makes a later one a duplicate.
    create_ok(&app, &format!("customer_email=p%40b.cd&{base}")).await;
}

#[tokio::test]
async fn date_times_in_three_forms_in_the_tenant_zone() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(LATER);
    for (buyer, at) in [
        ("d1", "2023-11-16+10%3A00%3A00"),
        ("d2", "16.11.2023+10%3A00%3A00"),
        ("d3", "11%2F16%2F2023+10%3A00%3A00"),
    ] {
        let bill_id = create_ok(
            &app,
            &format!("customer_email={buyer}%40b.cd&product_names=code1&order_created_at={at}"),
        )
        .await;
        assert_eq!(
            details(&app, bill_id).await["created"],
            "1700118000",
            "{at}"
        );
    }
    for malformed in [
        "2023-11-16T10%3A00%3A00",
        "16.11.2023",
        "31.11.2023+10%3A00%3A00",
    ] {
        create(
            &app,
            &format!("customer_email=d4%40b.cd&product_names=code1&order_created_at={malformed}"),
        )
        .await
        .assert_body(&envelope(3, "Wrong posted data", "secret"));
    }
}

#[tokio::test]
async fn customer_fields_and_country_codes_are_mapped() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(LATER);
    let delivery = "customer_first_name=John&customer_last_name=Smith&customer_shipping=Main+St+1&customer_shipping_city=Town";
    for (buyer, codes, country) in [
        (
            "c1",
            "customer_shipping_country_code=gb",
            "United Kingdom of Great Britain and Northern Ireland",
        ),
        ("c2", "customer_shipping_country_code=NL", "Netherlands"),
        (
            "c3",
            "customer_shipping_country_code=Bo&customer_billing_country_code=US",
            "Bolivia (Plurinational State of)",
        ),
        (
            "c4",
            "customer_shipping_country_code=+&customer_billing_country_code=ru",
            "Russian Federation",
        ),
        ("c5", "customer_shipping_country_code=XK", "XK"),
    ] {
        let bill_id = create_ok(
            &app,
            &format!("customer_email={buyer}%40b.cd&product_names=book1&{delivery}&{codes}"),
        )
        .await;
        let order = details(&app, bill_id).await;
        assert_eq!(order["country"], country, "{codes}");
        assert_eq!(order["type"], "1");
    }
    create(
        &app,
        &format!("customer_email=c6%40b.cd&product_names=book1&{delivery}"),
    )
    .await
    .assert_body(&envelope(
        605,
        "Not having any data for delivery products",
        "secret",
    ));

    let bill_id = create_ok(
        &app,
        "customer_email=Buyer%40Example.com&product_names=code1&customer_middle_name=M\
         &customer_shipping_phone=%2B1+555&customer_shipping=Main+St+1&customer_shipping_address_2=Apt+5\
         &customer_shipping_city=Boston&customer_shipping_state=MA&customer_shipping_zip=02101\
         &customer_billing_address_1=B1&customer_billing_address_2=B2&customer_billing_city=BC\
         &customer_billing_state=BS&customer_billing_zip=BZ&customer_billing_country_code=de\
         &order_ip=198.51.100.1&order_confirmed=%D0%A1onfirmed&order_sales_manager=71257\
         &order_tag=vip&note=call+first&utm_medium=email&utm_campaign=autumn&utm_content=banner&utm_term=course",
    )
    .await;
    let order = details(&app, bill_id).await;
    for (key, value) in [
        ("email", "buyer@example.com"),
        ("middle_name", "M"),
        ("phone", "+1 555"),
        ("address", "Main St 1, Apt 5"),
        ("city", "Boston"),
        ("region", "MA"),
        ("postalcode", "02101"),
        ("country", "Germany"),
        ("tag", "vip"),
        ("comment", "call first"),
        ("domain", ""),
    ] {
        assert_eq!(order[key], value, "{key}");
    }
    assert_eq!(
        order["utm"],
        serde_json::json!({"medium":"email","source":"","campaign":"autumn","content":"banner","term":"course"})
    );
    let stored = stored(&app, bill_id).await;
    assert_eq!(stored.client_ip, "198.51.100.1");
    let extras = &stored.extras;
    assert_eq!(extras.shipping_phone, "+1 555");
    assert_eq!(
        [
            extras.billing_address_1.as_str(),
            &extras.billing_address_2,
            &extras.billing_city,
            &extras.billing_state,
            &extras.billing_zip,
            &extras.billing_country,
        ],
        ["B1", "B2", "BC", "BS", "BZ", "Germany"]
    );
    assert_eq!(extras.confirmed, "Сonfirmed");
    assert_eq!(extras.sales_manager, Some(ManagerId(71257)));

    // A manager id that names nobody is ignored; a blank order_ip records the client's address.
    let bill_id = create_ok(
        &app,
        "customer_email=n%40b.cd&product_names=code1&order_sales_manager=99&order_ip=+&customer_phone=%2B7&customer_shipping_phone=%2B1",
    )
    .await;
    let stored = self::stored(&app, bill_id).await;
    assert_eq!(stored.extras.sales_manager, None);
    assert_eq!(stored.client_ip, "127.0.0.1");
    assert_eq!(stored.customer.phone, "+7");
}

#[tokio::test]
async fn prices_keep_their_positions_in_the_list() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(LATER);
    app.post_signed(
        "AddGood",
        "good_name=code3&good_type=0&good_title=E-book&good_sum=490",
    )
    .await
    .assert_body(OK);
    let sums = |order: &Value| -> Vec<(String, String)> {
        order["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                (
                    item["sum"].as_str().unwrap().to_owned(),
                    item["price"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pair = |sum: &str, price: &str| (sum.to_owned(), price.to_owned());

    let bill_id = create_ok(
        &app,
        "customer_email=a%40b.cd&product_names=code1%2Ccode2%2Ccode3&product_prices=900%2C%2C1200",
    )
    .await;
    let order = details(&app, bill_id).await;
    assert_eq!(
        sums(&order),
        [
            pair("900.00", "1000.00"),
            pair("2500.00", "2500.00"),
            pair("1200.00", "490.00")
        ]
    );
    assert_eq!(order["price"], "4600.00");

    let bill_id = create_ok(
        &app,
        "customer_email=b%40b.cd&product_names=code1%2Ccode2&product_prices=%2C1999.5%2C77",
    )
    .await;
    let order = details(&app, bill_id).await;
    assert_eq!(
        sums(&order),
        [pair("1000.00", "1000.00"), pair("1999.50", "2500.00")]
    );
    assert_eq!(order["price"], "2999.50");
}

#[tokio::test]
async fn affiliates_name_partners_by_level() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(LATER);
    let item = |order: Value| order["items"][0].clone();
    let cases: Vec<(&str, Vec<PartnerEntry>)> = vec![
        // An unknown login leaves its level empty; code1 pays nothing on level 3.
        (
            "anna%2Cnosuch%2Cboris",
            vec![entry("1", "anna", "100.00"), entry("3", "boris", "0.00")],
        ),
        // A partner already used on a lower level is not repeated.
        (
            "boris%2C+anna+%2C%2CBORIS",
            vec![entry("1", "boris", "100.00"), entry("2", "anna", "50.00")],
        ),
        // One login: level 2 is that partner's parent.
        (
            "anna",
            vec![entry("1", "anna", "100.00"), entry("2", "boris", "50.00")],
        ),
        ("boris", vec![entry("1", "boris", "100.00")]),
        ("nosuch%2Canna", vec![entry("2", "anna", "50.00")]),
        ("nosuch", vec![]),
        ("", vec![]),
    ];
    for (index, (affiliates, expected)) in cases.iter().enumerate() {
        let bill_id = create_ok(
            &app,
            &format!("customer_email=p{index}%40b.cd&product_names=code1&affiliates={affiliates}"),
        )
        .await;
        assert_eq!(
            &partners(&item(details(&app, bill_id).await)),
            expected,
            "{affiliates}"
        );
    }
}

#[tokio::test]
async fn coupons_by_code_or_id_and_disabled_ones_are_ignored() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(LATER);
    let order_with = |buyer: &'static str, coupon: &'static str| {
        let app = &app;
        async move {
            let bill_id = create_ok(
                app,
                &format!(
                    "customer_email={buyer}%40b.cd&product_names=code1%2Ccode2&coupon={coupon}"
                ),
            )
            .await;
            let order = details(app, bill_id).await;
            (
                order["kupon"].as_str().unwrap().to_owned(),
                order["price"].as_str().unwrap().to_owned(),
            )
        }
    };
    assert_eq!(
        order_with("k1", "MINUS100").await,
        ("minus100".into(), "3400.00".into())
    );
    assert_eq!(
        order_with("k2", "585").await,
        ("coupon50proc".into(), "1750.00".into())
    );

    assert!(app
        .store
        .set_coupon_disabled(app.demo.id, "minus100", true)
        .await
        .unwrap());
    app.store
        .add_coupon(
            app.demo.id,
            NewCoupon {
                id: Some(CouponId(600)),
                code: "expired10".into(),
                discount: Discount::Fixed(money("10")),
                products: vec![],
                expires_at: Some(EXAMPLES_TIME),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        order_with("k3", "minus100").await,
        ("".into(), "3500.00".into())
    );
    assert_eq!(order_with("k4", "586").await, ("".into(), "3500.00".into()));
    assert_eq!(
        order_with("k5", "expired10").await,
        ("".into(), "3500.00".into())
    );

    // Listed: every coupon that is not switched off, expired ones included.
    app.post("getcoupons", "rpsKey=secret")
        .await
        .assert_body(r#"{"error_code":0,"error_text":"OK","result":[{"id":585,"coupon":"coupon50proc"},{"id":600,"coupon":"expired10"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#);
}

#[tokio::test]
async fn the_key_works_on_every_name_and_the_hash_on_2_0_names() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(LATER);
    let order = "customer_email=k%40b.cd&product_names=code1";
    // The 1.0 spelling with product_names is the 2.0 method.
    app.post("CreateOrder", format!("rps_key=secret&{order}"))
        .await
        .assert_body(&created_body(12344));
    let details = app
        .post("getOrderDetails", "rpsKey=secret&bill_id=12344")
        .await;
    assert!(
        details
            .body
            .starts_with(r#"{"error_code":0,"error_text":"OK","result":{"id":"12344","#),
        "{}",
        details.body
    );
    let goods = app.post("GetAllGoods", "rps_key=secret").await;
    assert!(
        goods.body.contains(r#""good_name":"code1""#),
        "{}",
        goods.body
    );
    app.post_signed("createorder", "customer_email=h%40b.cd&product_names=code2")
        .await
        .assert_body(&created_body(12345));
    let goods = app.post_signed("getgoods", "").await;
    assert!(goods.body.contains(r#"[{"id":1,"#), "{}", goods.body);
    app.post("createorder", format!("rpsKey=wrong&{order}"))
        .await
        .assert_body(r#"{"error_code":4,"error_text":"Incorrect hash","hash":"d7a07bb6e3a3ec39557fcc2849115a25"}"#);
    app.post("createorder", format!("rpsKey=+&rps_key=wrong&{order}"))
        .await
        .assert_body(r#"{"error_code":4,"error_text":"Incorrect hash","hash":"d7a07bb6e3a3ec39557fcc2849115a25"}"#);
    app.post("createorder", order.to_owned())
        .await
        .assert_body(&envelope(1, "Not transferred hash", "secret"));
}

#[tokio::test]
async fn list_examples_of_15_8_to_15_10() {
    let Some(app) = spawn_app().await else { return };
    assert_example(
        &app.post("getgoods", "rpsKey=secret").await,
        r#"{"error_code":0,"error_text":"OK","result":[{"id":1,"good_name":"code1","good_title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441"},{"id":2,"good_name":"code2","good_title":"Video pack"},{"id":3,"good_name":"book1","good_title":"Printed book"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#,
    );
    assert_example(
        &app.post("getcoupons", "rpsKey=secret").await,
        r#"{"error_code":0,"error_text":"OK","result":[{"id":585,"coupon":"coupon50proc"},{"id":586,"coupon":"minus100"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#,
    );
    assert_example(
        &app.post("getpersonalmanagers", "rpsKey=secret").await,
        r#"{"error_code":0,"error_text":"OK","result":[{"id":71257,"manager_id":71257,"manager_name":"Greg"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#,
    );

    // A tenant with nothing to list answers an empty list, never an error code.
    let empty = envelope(0, "OK", "othersecret")
        .replace(r#""error_text":"OK","#, r#""error_text":"OK","result":[],"#);
    for method in ["getgoods", "getcoupons", "getpersonalmanagers"] {
        app.post_host("other.justclick.ru", method, "rpsKey=othersecret")
            .await
            .assert_body(&empty);
    }
}

#[tokio::test]
async fn api_2_0_through_the_sdk() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(LATER);
    let client = sdk(&app);

    let goods = client.get_goods().await.unwrap();
    assert_eq!(
        goods[1],
        GoodListEntry {
            id: 2,
            good_name: "code2".into(),
            good_title: "Video pack".into()
        }
    );
    assert_eq!(goods.len(), 3);
    assert_eq!(
        client.get_coupons().await.unwrap(),
        [
            CouponListEntry {
                id: 585,
                coupon: "coupon50proc".into()
            },
            CouponListEntry {
                id: 586,
                coupon: "minus100".into()
            }
        ]
    );
    assert_eq!(
        client.get_personal_managers().await.unwrap(),
        [ManagerListEntry::new(71257, "Greg")]
    );

    let order = NewOrderV2::new()
        .customer_email("buyer@example.com")
        .customer_first_name("John")
        .customer_last_name("Smith")
        .order_created_at("2023-11-16 10:00:00")
        .priced_product("code1", 900)
        .product("code2")
        .coupon("586")
        .affiliates(["anna"])
        .utm_source("newsletter");
    assert_eq!(
        client.create_order_v2(&order).await.unwrap(),
        CreateOrderOutcome::Created(12344)
    );
    assert_eq!(
        client.create_order_v2(&order).await.unwrap(),
        CreateOrderOutcome::Duplicate(12344)
    );
    let details = client.get_order_details(12344, true).await.unwrap();
    assert_eq!(
        (
            details.price.as_str(),
            details.kupon.as_str(),
            details.created.as_str()
        ),
        ("3300.00", "minus100", "1700118000")
    );

    let paid = NewOrderV2::new()
        .customer_email("paid@example.com")
        .product("code2")
        .order_status(CreateOrderStatus::Paid)
        .order_paid_at("16.11.2023 12:30:00")
        .payment_method("Card")
        .order_sales_manager(71257);
    let bill_id = client.create_order_v2(&paid).await.unwrap().bill_id();
    let details = client.get_order_details(bill_id, false).await.unwrap();
    assert_eq!(
        (
            details.pay_status.as_str(),
            details.paid.as_str(),
            details.payway.as_str()
        ),
        ("paid", "1700127000", "Card")
    );
    assert_eq!(
        stored(&app, bill_id).await.extras.sales_manager,
        Some(ManagerId(71257))
    );

    match client
        .create_order_v2(&NewOrderV2::new().customer_email("a@b.cd").product("nosuch"))
        .await
    {
        Err(ClientError::Api { code, text, .. }) => {
            assert_eq!((code, text.as_str()), (604, "Product not exist: nosuch"))
        }
        other => panic!("expected 604, got {other:?}"),
    }
}
