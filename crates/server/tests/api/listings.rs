//! GetOrders, getOrdersWithGoods, GetBills and GetPartnerStats: the SPEC's examples byte for
//! byte, then windows, filters, errors and totals one by one, raw and through the SDK.

use crate::helpers::{envelope, history_of_11_3, spawn_app, TestApp, EXAMPLES_TIME};
use clickbill_client::{
    Client, ClientError, Day, OrdersQuery, OrdersWithGoodsQuery, PartnerStatsQuery, PayStatus,
};
use clickbill_domain::Store;
use clickbill_protocol::sign::response_hash;

const CREATE_12345: &str = "bill_address=Lenina+1%2C+kv.+2&bill_city=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&bill_comment=Comment+%7E%21%2A%28%29%27&bill_email=client%40example.com&bill_first_name=%D0%98%D0%B2%D0%B0%D0%BD&bill_surname=Petrov&bill_phone=%2B77777777777&bill_tag=Tag&bill_timer_kill=1&utm%5Butm_source%5D=source&utm%5Butm_medium%5D=medium&utm%5Butm_campaign%5D=campaign&utm%5Butm_term%5D=term&goods%5B0%5D%5Bgood_name%5D=code1&goods%5B0%5D%5Bgood_sum%5D=1000&goods%5B1%5D%5Bgood_name%5D=code2&goods%5B1%5D%5Bgood_sum%5D=1999.5&bill_created=1700000000&hash=a40b3c4983c8b1b73927716674cfb9a3";

/// 01.11.2019 00:00:00 in Moscow.
const NOVEMBER_2019: i64 = 1_572_555_600;
/// 01.12.2019 00:00:00 in Moscow.
const DECEMBER_2019: i64 = 1_575_147_600;

fn ok_without_result() -> String {
    envelope(0, "OK", "secret")
}

/// A successful answer with `result`, its hash computed rather than copied.
fn ok_with(result: &str) -> String {
    format!(
        r#"{{"error_code":0,"error_text":"OK","result":{result},"hash":"{}"}}"#,
        response_hash(0, "OK", "secret")
    )
}

fn wrong_posted_data() -> String {
    envelope(3, "Wrong posted data", "secret")
}

fn orders_not_found() -> String {
    envelope(401, "Orders not found", "secret")
}

/// Creates an order of `demo` from a form body (unsigned) and returns its number.
async fn create(app: &TestApp, body: &str) -> i64 {
    create_for(app, "demo", "secret", body).await
}

async fn create_for(app: &TestApp, login: &str, secret: &str, body: &str) -> i64 {
    let answer = app
        .post_signed_host(
            &format!("{login}.justclick.ru"),
            login,
            secret,
            "CreateOrder",
            body,
        )
        .await;
    let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(value["error_code"], 0, "{}", answer.body);
    value["result"]["bill_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// An order of `goods` (a form fragment) for `email`, reporting creation at `created`.
async fn create_at(app: &TestApp, email: &str, goods: &str, created: i64) -> i64 {
    create(
        app,
        &format!("bill_email={email}&{goods}&bill_created={created}"),
    )
    .await
}

async fn update_status(app: &TestApp, body: &str) {
    let answer = app.post_signed("UpdateOrderStatus", body).await;
    assert!(
        answer.body.starts_with(r#"{"error_code":0,"#),
        "{body}: {}",
        answer.body
    );
}

async fn pay(app: &TestApp, bill_id: i64, date: i64) {
    update_status(app, &format!("bill_id={bill_id}&status=paid&date={date}")).await;
}

async fn refund(app: &TestApp, bill_id: i64) {
    update_status(
        app,
        &format!("bill_id={bill_id}&status=moneyback&ext_ref_no=R-{bill_id}"),
    )
    .await;
}

/// The order numbers of a successful listing, in the order listed.
fn listed(method: &str, body: &str) -> Vec<i64> {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(value["error_code"], 0, "{method}: {body}");
    value["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{method}: {body}"))
        .iter()
        .map(|order| order["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

async fn get_orders(app: &TestApp, body: &str) -> Vec<i64> {
    let answer = app.post_signed("GetOrders", body).await;
    if answer.body == orders_not_found() {
        return Vec::new();
    }
    listed("GetOrders", &answer.body)
}

async fn with_goods(app: &TestApp, body: &str) -> Vec<i64> {
    let answer = app.post_signed("getOrdersWithGoods", body).await;
    listed("getOrdersWithGoods", &answer.body)
}

fn sdk(app: &TestApp) -> Client {
    Client::new(
        &format!("http://demo.localhost:{}", app.addr.port()),
        "demo",
        "secret",
    )
    .expect("a valid base URL")
}

#[tokio::test]
async fn examples_of_13_4_to_13_6_and_14_5() {
    let Some(app) = spawn_app().await else { return };
    history_of_11_3(&app).await;
    app.post("CreateOrder", CREATE_12345).await.assert_body(r#"{"error_code":0,"error_text":"Order created","result":{"bill_id":"12345"},"hash":"d72287948e429b9fe09196a0bdab2490"}"#);
    assert_eq!(
        response_hash(0, "OK", "secret"),
        "b60bb23ab72ead13463d1205065965a5"
    );

    // §13.4
    app.post(
        "GetOrders",
        "date_s=1699995600&date_e=1700081999&hash=0c321692e2cf054db82efd75157bc3a2",
    )
    .await
    .assert_body(&ok_with(r#"[{"id":"12345","first_name":"\u0418\u0432\u0430\u043d","last_name":"Petrov","middle_name":"","email":"client@example.com","phone":"+77777777777","city":"\u041c\u043e\u0441\u043a\u0432\u0430","country":"","address":"Lenina 1, kv. 2","region":"","postalcode":"","created":"1700000000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"Comment ~!*()'","domain":"","link":"\/bill\/?id=12345&crc=f88c7ebe4740db59","price":"2999.50","bill_sum_topay":"2999.50","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"Tag","kupon":"","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"medium","source":"source","campaign":"campaign","content":"","term":"term"},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"1000.00","price":"1000.00","pincode":"","partners":[]},{"id":"code2","title":"Video pack","sum":"1999.50","price":"2500.00","pincode":"","partners":[]}]}]"#));

    // §13.5
    app.post(
        "getOrdersWithGoods",
        "begin_date=01.11.2019&end_date=05.11.2019&paid=1&goods%5B0%5D=1&goods%5B1%5D=2&hash=5fb137c657a9c0ccc87dd69fdd46ff28",
    )
    .await
    .assert_body(&ok_with(r#"[{"id":"12344","first_name":"Maria","last_name":"Ivanova","middle_name":"","email":"client@example.com","phone":"","city":"","country":"","address":"","region":"","postalcode":"","created":"1572678000","pay_status":"paid","paid":"1572681600","type":"0","payway":"RussianPostService","comment":"","domain":"shop.example","link":"http:\/\/shop.example\/bill\/?id=12344&crc=5a1c9153a4aafba3","price":"500.00","bill_sum_topay":"0.00","is_recurrent":"0","last_payment_sum":"500.00","prepayment_sum":"0.00","tag":"","kupon":"coupon50proc","delivery_status":"","delivery_date":"0","rpo":"","items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"500.00","price":"1000.00","partners":[{"partner_lvl":"1","partner_id":"17","partner_name":"anna","partner_fee":"50.00"},{"partner_lvl":"2","partner_id":"5","partner_name":"boris","partner_fee":"25.00"}]}]}]"#));

    // §13.6
    app.post(
        "GetBills",
        "email=client%40example.com&pay_status=paid&hash=9974c97b243e6aee9e9c23af9b42172f",
    )
    .await
    .assert_body(&ok_with(r#"{"12344":{"1":{"good_id":"1","good_name":"code1","good_title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","good_sum":"500.00"}}}"#));

    // §14.5
    app.post(
        "GetPartnerStats",
        "partner=anna&date_from=2019-11-01&date_to=2019-11-30&hash=f315c41d612cb3431b79877969c8fcbf",
    )
    .await
    .assert_body(&ok_with(r#"{"earned_total":"50.00","topay_total":"50.00","clicks_total":"0","leads_total":"0","bills_total":"1","partners_total":"0"}"#));
    app.post(
        "GetPartnerStats",
        "partner=nobody&hash=0c75d63fc440277d38f211145e470a18",
    )
    .await
    .assert_body(r#"{"error_code":1000,"error_text":"Partner not found","hash":"2cff1b6bcde8506d75927b0e1d2a8828"}"#);
}

#[tokio::test]
async fn get_orders_defaults_to_today_until_now() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME); // 15.11.2023 01:15:00 in Moscow
    let today = 1_699_995_600;
    let yesterday_late = create_at(&app, "a%40b.cd", "goods[]=code1", today - 1).await;
    let midnight = create_at(&app, "b%40b.cd", "goods[]=code1", today).await;
    let just_now = create_at(&app, "c%40b.cd", "goods[]=code1", EXAMPLES_TIME).await;
    let later = create_at(&app, "d%40b.cd", "goods[]=code1", EXAMPLES_TIME + 1).await;
    assert_eq!(get_orders(&app, "").await, [midnight, just_now]);
    assert_eq!(
        get_orders(&app, &format!("date_e={}", EXAMPLES_TIME + 1)).await,
        [midnight, just_now, later]
    );
    assert_eq!(
        get_orders(&app, &format!("date_s={}", today - 1)).await,
        [yesterday_late, midnight, just_now]
    );
    // No length limit.
    assert_eq!(
        get_orders(&app, "date_s=0&date_e=9999999999").await,
        [yesterday_late, midnight, just_now, later]
    );
    // Single values that arrive as arrays are blank, so the defaults apply.
    assert_eq!(
        get_orders(&app, "date_s[]=0&date_e[x]=1").await,
        [midnight, just_now]
    );
}

#[tokio::test]
async fn get_orders_refuses_malformed_times_and_reports_an_empty_window() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    create_at(&app, "a%40b.cd", "goods[]=code1", EXAMPLES_TIME).await;
    for body in [
        "date_s=yesterday",
        "date_s=-5",
        "date_s=%2B5",
        "date_s=1.5",
        "date_e=1e9",
        "date_e=253402300800",
        "date_s=15.11.2023",
        "date_s=1&date_e=x&goods=nosuch",
    ] {
        app.post_signed("GetOrders", body)
            .await
            .assert_body(&wrong_posted_data());
    }
    for body in [
        "date_s=1&date_e=2",
        "date_e=1699995599",
        "goods=nosuch",
        "paid=1",
    ] {
        app.post_signed("GetOrders", body)
            .await
            .assert_body(&orders_not_found());
    }
    // Blank values are absent ones.
    assert_eq!(get_orders(&app, "date_s=&date_e=+").await.len(), 1);
}

#[tokio::test]
async fn paid_selects_paid_orders_by_payment_time() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let october = 1_571_130_000; // 15.10.2019 12:00 in Moscow
    let november = 1_573_376_400; // 10.11.2019 12:00 in Moscow
    let paid_in_november = create_at(&app, "a%40b.cd", "goods[]=code1", october).await;
    pay(&app, paid_in_november, november).await;
    let refunded = create_at(&app, "b%40b.cd", "goods[]=code1", november).await;
    pay(&app, refunded, november).await;
    refund(&app, refunded).await;
    let waiting = create_at(&app, "c%40b.cd", "goods[]=code1", november).await;
    let november_window = format!("date_s={NOVEMBER_2019}&date_e={}", DECEMBER_2019 - 1);
    assert_eq!(
        get_orders(&app, &november_window).await,
        [refunded, waiting]
    );
    assert_eq!(
        get_orders(&app, &format!("{november_window}&paid=1")).await,
        [paid_in_november]
    );
    assert_eq!(
        get_orders(&app, &format!("date_s=0&date_e={NOVEMBER_2019}&paid=1")).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        get_orders(&app, &format!("date_s=0&date_e={NOVEMBER_2019}&paid=0")).await,
        [paid_in_november]
    );
    assert_eq!(
        with_goods(&app, "begin_date=1.11.2019&end_date=30.11.2019&paid=true").await,
        [paid_in_november]
    );
    assert_eq!(
        with_goods(&app, "begin_date=1.10.2019&end_date=31.10.2019&paid=1").await,
        Vec::<i64>::new()
    );
    assert_eq!(
        with_goods(&app, "begin_date=1.10.2019&end_date=31.10.2019&paid=false").await,
        [paid_in_november]
    );
}

#[tokio::test]
async fn goods_filter_takes_ids_codes_lists_and_arrays() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let at = EXAMPLES_TIME;
    let first = create_at(&app, "a%40b.cd", "goods[]=code1", at).await;
    let second = create_at(&app, "b%40b.cd", "goods[]=code2", at).await;
    let both = create_at(&app, "c%40b.cd", "goods[]=code2&goods[]=code1", at).await;
    let cases: &[(&str, &[i64])] = &[
        ("goods=1", &[first, both]),
        ("goods=2", &[second, both]),
        ("goods=3", &[]),
        ("goods=code2", &[second, both]),
        ("goods=CODE1", &[first, both]),
        ("goods=1,2", &[first, second, both]),
        ("goods=+2+,+,nosuch", &[second, both]),
        ("goods[0]=1&goods[1]=2", &[first, second, both]),
        ("goods[]=nosuch&goods[]=Code2", &[second, both]),
        ("goods[]=3,1", &[first, both]),
        ("goods=book1", &[]),
        ("goods=nosuch", &[]),
        ("goods=", &[first, second, both]),
        ("goods[]=", &[first, second, both]),
        ("goods[0][0]=1", &[first, second, both]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            get_orders(&app, filter).await,
            *expected,
            "GetOrders {filter}"
        );
        assert_eq!(
            with_goods(&app, filter).await,
            *expected,
            "getOrdersWithGoods {filter}"
        );
    }
    // A deleted product's code names nothing any more; its number still matches the items.
    app.post_signed("DeleteGood", "good_name=code2")
        .await
        .assert_body(&ok_without_result());
    assert_eq!(get_orders(&app, "goods=code2").await, Vec::<i64>::new());
    assert_eq!(get_orders(&app, "goods=2").await, [second, both]);
}

#[tokio::test]
async fn listings_skip_deleted_orders_and_other_tenants() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let kept = create_at(&app, "client%40example.com", "goods[]=code1", EXAMPLES_TIME).await;
    let deleted = create_at(&app, "client%40example.com", "goods[]=code2", EXAMPLES_TIME).await;
    pay(&app, kept, EXAMPLES_TIME).await;
    pay(&app, deleted, EXAMPLES_TIME).await;
    app.post_signed("DeleteOrder", &format!("bill_id={deleted}"))
        .await
        .assert_body(&ok_without_result());

    let other_host = "other.justclick.ru";
    let other = |method: &'static str, body: &'static str| {
        app.post_signed_host(other_host, "other", "othersecret", method, body)
    };
    other(
        "AddGood",
        "good_name=code1&good_type=0&good_title=Other&good_sum=10",
    )
    .await
    .assert_body(&envelope(0, "OK", "othersecret"));
    let others = create_for(
        &app,
        "other",
        "othersecret",
        "bill_email=client%40example.com&goods[]=code1",
    )
    .await;

    assert_eq!(get_orders(&app, "").await, [kept]);
    assert_eq!(get_orders(&app, "paid=1").await, [kept]);
    assert_eq!(with_goods(&app, "").await, [kept]);
    let bills = app
        .post_signed("GetBills", "email=client%40example.com")
        .await;
    let value: serde_json::Value = serde_json::from_str(&bills.body).unwrap();
    let numbers: Vec<&String> = value["result"].as_object().unwrap().keys().collect();
    assert_eq!(numbers, [&kept.to_string()]);

    let answer = other("GetOrders", "").await;
    assert_eq!(listed("GetOrders", &answer.body), [others]);
    let answer = other("getOrdersWithGoods", "goods=1").await;
    assert_eq!(listed("getOrdersWithGoods", &answer.body), [others]);
    other("GetBills", "email=client%40example.com&pay_status=paid")
        .await
        .assert_body(&envelope(400, "Order not found", "othersecret"));
    other("GetPartnerStats", "partner=anna")
        .await
        .assert_body(&envelope(1000, "Partner not found", "othersecret"));
}

#[tokio::test]
async fn orders_with_goods_takes_whole_days_across_a_month_boundary() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let october_last = create_at(&app, "a%40b.cd", "goods[]=code1", NOVEMBER_2019 - 1).await;
    let november_first = create_at(&app, "b%40b.cd", "goods[]=code1", NOVEMBER_2019).await;
    let november_last = create_at(&app, "c%40b.cd", "goods[]=code1", DECEMBER_2019 - 1).await;
    let december_first = create_at(&app, "d%40b.cd", "goods[]=code1", DECEMBER_2019).await;
    let cases: &[(&str, &[i64])] = &[
        (
            "begin_date=31.10.2019&end_date=01.11.2019",
            &[october_last, november_first],
        ),
        ("begin_date=1.11.2019&end_date=1.11.2019", &[november_first]),
        (
            "begin_date=1.11.2019&end_date=30.11.2019",
            &[november_first, november_last],
        ),
        (
            "begin_date=30.11.2019&end_date=1.12.2019",
            &[november_last, december_first],
        ),
        // Only an end date: that day alone.
        ("end_date=31.10.2019", &[october_last]),
        // Unix times are used as given.
        (
            "begin_date=1572555599&end_date=1572555600",
            &[october_last, november_first],
        ),
        (
            "begin_date=1572555600&end_date=1575147599",
            &[november_first, november_last],
        ),
        // An empty window is an empty list, not an error.
        ("begin_date=2.11.2019&end_date=29.11.2019", &[]),
        ("begin_date=5.11.2019&end_date=4.11.2019", &[]),
    ];
    for (body, expected) in cases {
        assert_eq!(with_goods(&app, body).await, *expected, "{body}");
    }
    app.post_signed(
        "getOrdersWithGoods",
        "begin_date=2.11.2019&end_date=29.11.2019",
    )
    .await
    .assert_body(&ok_with("[]"));
}

#[tokio::test]
async fn orders_with_goods_defaults_to_today_until_now() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let today = 1_699_995_600;
    create_at(&app, "a%40b.cd", "goods[]=code1", today - 1).await;
    let midnight = create_at(&app, "b%40b.cd", "goods[]=code1", today).await;
    let just_now = create_at(&app, "c%40b.cd", "goods[]=code1", EXAMPLES_TIME).await;
    create_at(&app, "d%40b.cd", "goods[]=code1", EXAMPLES_TIME + 1).await;
    assert_eq!(with_goods(&app, "").await, [midnight, just_now]);
    assert_eq!(
        with_goods(&app, "begin_date[]=1.11.2023&end_date=").await,
        [midnight, just_now]
    );
    // A begin date alone ends now.
    let answer = app
        .post_signed("getOrdersWithGoods", "begin_date=14.11.2023")
        .await;
    assert_eq!(listed("getOrdersWithGoods", &answer.body).len(), 3);
}

#[tokio::test]
async fn orders_with_goods_days_are_days_of_the_tenant_zone() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    // 22:30 UTC on 14.11.2023 is 01:30 on the 15th in Moscow.
    let late_evening_utc = create_at(&app, "a%40b.cd", "goods[]=code1", 1_700_001_000).await;
    let on_the_15th = "begin_date=15.11.2023&end_date=15.11.2023";
    let on_the_14th = "begin_date=14.11.2023&end_date=14.11.2023";
    assert_eq!(with_goods(&app, on_the_15th).await, [late_evening_utc]);
    assert_eq!(with_goods(&app, on_the_14th).await, Vec::<i64>::new());

    let mut demo = app.demo.clone();
    demo.settings.time_zone = "UTC".parse().unwrap();
    app.store.save_tenant(&demo).await.unwrap();
    // The tenant cache picks the change up within its refresh interval.
    let mut on_the_14th_in_utc = Vec::new();
    for _ in 0..100 {
        on_the_14th_in_utc = with_goods(&app, on_the_14th).await;
        if !on_the_14th_in_utc.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(on_the_14th_in_utc, [late_evening_utc]);
    assert_eq!(with_goods(&app, on_the_15th).await, Vec::<i64>::new());
}

#[tokio::test]
async fn orders_with_goods_keeps_31_days_ending_with_the_end_day() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    // The window ending on 31.3.2024 starts on 1.3.2024 at the earliest; 29.2 is cut off.
    let leap_day_last_second = create_at(&app, "a%40b.cd", "goods[]=code1", 1_709_240_399).await;
    let march_first = create_at(&app, "b%40b.cd", "goods[]=code1", 1_709_240_400).await;
    let march_last_second = create_at(&app, "c%40b.cd", "goods[]=code1", 1_711_918_799).await;
    for body in [
        "begin_date=01.01.2024&end_date=31.03.2024",
        "begin_date=0&end_date=31.03.2024",
        "end_date=31.03.2024&begin_date=29.02.2024",
    ] {
        assert_eq!(
            with_goods(&app, body).await,
            [march_first, march_last_second],
            "{body}"
        );
    }
    // Ending a day earlier, 29.2 is the first kept day.
    assert_eq!(
        with_goods(&app, "begin_date=01.01.2024&end_date=30.03.2024").await,
        [leap_day_last_second, march_first]
    );
    // GetOrders has no limit.
    assert_eq!(
        get_orders(&app, "date_s=1704056400&date_e=1711918799").await,
        [leap_day_last_second, march_first, march_last_second]
    );
}

#[tokio::test]
async fn orders_with_goods_refuses_malformed_dates() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    for body in [
        "begin_date=31.02.2024",
        "begin_date=29.02.2023",
        "end_date=2024-01-01",
        "end_date=01.01.24",
        "begin_date=today",
        "begin_date=-1",
        "begin_date=1.11.2019&end_date=32.11.2019&goods=nosuch",
        "begin_date=01%2F11%2F2019",
    ] {
        app.post_signed("getOrdersWithGoods", body)
            .await
            .assert_body(&wrong_posted_data());
    }
}

#[tokio::test]
async fn orders_with_goods_items_have_no_pincode() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    create_at(&app, "a%40b.cd", "goods[]=code1", EXAMPLES_TIME).await;
    let with_goods = app.post_signed("getOrdersWithGoods", "").await.body;
    assert!(!with_goods.contains("pincode"), "{with_goods}");
    assert!(!with_goods.contains("good_ids"), "{with_goods}");
    let orders = app.post_signed("GetOrders", "").await.body;
    assert!(
        orders.contains(r#""price":"1000.00","pincode":"","partners":[]"#),
        "{orders}"
    );
    assert!(!orders.contains("good_ids"), "{orders}");
}

#[tokio::test]
async fn get_bills_by_email_and_status() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let email = "Buyer%40Example.com";
    let waiting = create_at(&app, email, "goods[]=code2&goods[]=code1", EXAMPLES_TIME).await;
    let paid = create_at(&app, email, "goods[]=code1", EXAMPLES_TIME).await;
    pay(&app, paid, EXAMPLES_TIME).await;
    let cancelled = create_at(
        &app,
        email,
        "goods[0][good_name]=code2&goods[0][good_sum]=7",
        1,
    )
    .await;
    update_status(&app, &format!("bill_id={cancelled}&status=cancel")).await;
    let refunded = create_at(&app, email, "goods[]=code2&bill_kupon=minus100", 1).await;
    pay(&app, refunded, EXAMPLES_TIME).await;
    refund(&app, refunded).await;
    let deleted = create_at(
        &app,
        email,
        "goods[]=book1&bill_first_name=A&bill_surname=B&bill_country=C&bill_city=D&bill_address=E",
        1,
    )
    .await;
    app.post_signed("DeleteOrder", &format!("bill_id={deleted}"))
        .await
        .assert_body(&ok_without_result());
    create_at(&app, "someone.else%40example.com", "goods[]=code1", 1).await;

    let code1 = r#""1":{"good_id":"1","good_name":"code1","good_title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","good_sum":"1000.00"}"#;
    let code2 = |sum: &str| {
        format!(
            r#""2":{{"good_id":"2","good_name":"code2","good_title":"Video pack","good_sum":"{sum}"}}"#
        )
    };
    let all = format!(
        "{{\"{waiting}\":{{{},{code1}}},\"{paid}\":{{{code1}}},\"{cancelled}\":{{{}}},\"{refunded}\":{{{}}}}}",
        code2("2500.00"),
        code2("7.00"),
        code2("2400.00")
    );
    for body in [
        "email=buyer%40example.com",
        "email=+BUYER%40EXAMPLE.COM+&pay_status=",
        "email=buyer%40example.com&pay_status[]=paid",
    ] {
        app.post_signed("GetBills", body)
            .await
            .assert_body(&ok_with(&all));
    }
    let cases = [
        (
            "waiting",
            format!("{{\"{waiting}\":{{{},{code1}}}}}", code2("2500.00")),
        ),
        ("paid", format!("{{\"{paid}\":{{{code1}}}}}")),
        (
            "cancel",
            format!("{{\"{cancelled}\":{{{}}}}}", code2("7.00")),
        ),
        (
            "moneyback",
            format!("{{\"{refunded}\":{{{}}}}}", code2("2400.00")),
        ),
    ];
    for (status, result) in cases {
        app.post_signed(
            "GetBills",
            &format!("email=buyer%40example.com&pay_status={status}"),
        )
        .await
        .assert_body(&ok_with(&result));
    }
}

#[tokio::test]
async fn get_bills_checks_in_order() {
    let Some(app) = spawn_app().await else { return };
    history_of_11_3(&app).await;
    for body in [
        "",
        "pay_status=paid",
        "email=",
        "email=client.example.com",
        "email[]=client%40example.com",
        "email=a%40b.c&pay_status=whatever",
        "email=client%40example.com&pay_status=shipped",
        "email=client%40example.com&pay_status=PAID",
        "email=client%40example.com&pay_status=+paid",
        "email=nobody%40example.com&pay_status=refunded",
    ] {
        app.post_signed("GetBills", body)
            .await
            .assert_body(&wrong_posted_data());
    }
    let order_not_found = envelope(400, "Order not found", "secret");
    for body in [
        "email=nobody%40example.com",
        "email=client%40example.com&pay_status=waiting",
        "email=client%40example.com&pay_status=cancel",
        "email=client%40example.com&pay_status=moneyback",
    ] {
        app.post_signed("GetBills", body)
            .await
            .assert_body(&order_not_found);
    }
}

#[tokio::test]
async fn partner_stats_check_in_order() {
    let Some(app) = spawn_app().await else { return };
    let no_data = envelope(2, "No transmitted data", "secret");
    let partner_not_found = envelope(1000, "Partner not found", "secret");
    let cases = [
        ("", no_data.clone()),
        ("partner=", no_data.clone()),
        ("partner=+", no_data.clone()),
        ("partner[]=anna", no_data.clone()),
        ("partner=&date_from=soon", no_data.clone()),
        ("partner=nobody&date_from=2019-13-01", wrong_posted_data()),
        ("partner=anna&date_from=2019-02-29", wrong_posted_data()),
        ("partner=anna&date_to=01.11.2019", wrong_posted_data()),
        ("partner=anna&date_to=2019-11-1", wrong_posted_data()),
        ("partner=anna&date_to=1572555600", wrong_posted_data()),
        ("partner=nobody", partner_not_found.clone()),
        ("partner=nobody&date_from=2019-11-01", partner_not_found),
    ];
    for (body, expected) in cases {
        app.post_signed("GetPartnerStats", body)
            .await
            .assert_body(&expected);
    }
    let nothing = ok_with(
        r#"{"earned_total":"0.00","topay_total":"0.00","clicks_total":"0","leads_total":"0","bills_total":"0","partners_total":"0"}"#,
    );
    app.post_signed("GetPartnerStats", "partner=anna")
        .await
        .assert_body(&nothing);
    app.post_signed("GetPartnerStats", "partner=ANNA&date_from=&date_to=")
        .await
        .assert_body(&nothing);
}

fn stats(earned: &str, bills: u32, partners: u32) -> String {
    ok_with(&format!(
        r#"{{"earned_total":"{earned}","topay_total":"{earned}","clicks_total":"0","leads_total":"0","bills_total":"{bills}","partners_total":"{partners}"}}"#
    ))
}

#[tokio::test]
async fn partner_stats_count_fees_of_paid_orders_to_the_kopeck() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let october = 1_571_130_000; // 15.10.2019 12:00 in Moscow
    let november = 1_573_376_400; // 10.11.2019 12:00 in Moscow
    let late_november = 1_574_240_400; // 20.11.2019 12:00 in Moscow
    let december = 1_575_968_400; // 10.12.2019 12:00 in Moscow

    // code1 at 333.33: anna (level 1, 10 %) earns 33.33, boris (level 2, 5 % of 333.33 =
    // 16.6665) earns 16.67. Created in October, paid in November.
    let odd_sum = create_at(
        &app,
        "a%40b.cd",
        "goods[0][good_name]=code1&goods[0][good_sum]=333.33&bill_aff_name=anna",
        october,
    )
    .await;
    pay(&app, odd_sum, november).await;
    // code2 (level 1: 300.00 fixed, level 2: none) and code1 at 1000.00: anna earns 400.00,
    // boris 50.00.
    let two_items = create_at(
        &app,
        "b%40b.cd",
        "goods[]=code2&goods[]=code1&bill_aff=17",
        november,
    )
    .await;
    pay(&app, two_items, late_november).await;
    // Refunded, unpaid, partly paid, cancelled and deleted orders earn nothing.
    let refunded = create_at(&app, "c%40b.cd", "goods[]=code1&bill_aff=17", november).await;
    pay(&app, refunded, november).await;
    refund(&app, refunded).await;
    create_at(&app, "d%40b.cd", "goods[]=code1&bill_aff=17", november).await;
    let partly_paid = create_at(&app, "e%40b.cd", "goods[]=code2&bill_aff=17", november).await;
    update_status(
        &app,
        &format!("bill_id={partly_paid}&status=paid&date={november}&sum=1000"),
    )
    .await;
    let cancelled = create_at(&app, "f%40b.cd", "goods[]=code1&bill_aff=17", november).await;
    update_status(&app, &format!("bill_id={cancelled}&status=cancel")).await;
    let deleted = create_at(&app, "g%40b.cd", "goods[]=code1&bill_aff=17", november).await;
    pay(&app, deleted, november).await;
    app.post_signed("DeleteOrder", &format!("bill_id={deleted}"))
        .await
        .assert_body(&ok_without_result());
    // Paid in December, outside November; boris alone on level 1.
    let december_order = create_at(&app, "h%40b.cd", "goods[]=code1&bill_aff=5", november).await;
    pay(&app, december_order, december).await;

    let november_days = "date_from=2019-11-01&date_to=2019-11-30";
    let cases = [
        (
            format!("partner=anna&{november_days}"),
            stats("433.33", 2, 0),
        ),
        (
            format!("partner=Boris&{november_days}"),
            stats("66.67", 2, 0),
        ),
        (
            "partner=anna&date_to=2019-11-10".to_owned(),
            stats("33.33", 1, 0),
        ),
        (
            "partner=anna&date_from=2019-11-11".to_owned(),
            stats("400.00", 1, 0),
        ),
        (
            "partner=anna&date_from=2019-10-01&date_to=2019-10-31".to_owned(),
            stats("0.00", 0, 0),
        ),
        (
            "partner=boris&date_from=2019-12-01".to_owned(),
            stats("100.00", 1, 1),
        ),
        // No window: everything, and anna, registered in 2020, is boris's sub-partner.
        ("partner=anna".to_owned(), stats("433.33", 2, 0)),
        ("partner=boris".to_owned(), stats("166.67", 3, 1)),
        // Registered on 13.09.2020 in Moscow.
        (
            "partner=boris&date_from=2020-09-13&date_to=2020-09-13".to_owned(),
            stats("0.00", 0, 1),
        ),
        (
            "partner=boris&date_from=2020-09-14".to_owned(),
            stats("0.00", 0, 0),
        ),
    ];
    for (body, expected) in cases {
        app.post_signed("GetPartnerStats", &body)
            .await
            .assert_body(&expected);
    }
}

#[tokio::test]
async fn partner_stats_window_is_whole_days_of_the_tenant_zone() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let order = create_at(&app, "a%40b.cd", "goods[]=code1&bill_aff=17", 1).await;
    // Paid at 22:30 UTC on 14.11.2023, already the 15th in Moscow.
    pay(&app, order, 1_700_001_000).await;
    app.post_signed("GetPartnerStats", "partner=anna&date_to=2023-11-14")
        .await
        .assert_body(&stats("0.00", 0, 0));
    app.post_signed(
        "GetPartnerStats",
        "partner=anna&date_from=2023-11-15&date_to=2023-11-15",
    )
    .await
    .assert_body(&stats("100.00", 1, 0));
}

#[tokio::test]
async fn listings_through_the_sdk() {
    let Some(app) = spawn_app().await else { return };
    history_of_11_3(&app).await;
    let client = sdk(&app);
    let second = create_at(&app, "client%40example.com", "goods[]=code2", EXAMPLES_TIME).await;

    let today = client.get_orders(&OrdersQuery::new()).await.unwrap();
    assert_eq!(
        today.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        [second.to_string()]
    );
    assert_eq!(today[0].items[0].pincode.as_deref(), Some(""));
    let everything = client
        .get_orders(&OrdersQuery::new().date_s(0).date_e(EXAMPLES_TIME))
        .await
        .unwrap();
    assert_eq!(everything.len(), 2);
    let nothing = client
        .get_orders(
            &OrdersQuery::new()
                .date_s(0)
                .date_e(EXAMPLES_TIME)
                .good("book1"),
        )
        .await
        .unwrap();
    assert!(nothing.is_empty());
    let paid = client
        .get_orders(&OrdersQuery::new().date_s(0).paid(true).goods([1, 2]))
        .await
        .unwrap();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].id, "12344");

    let day = |y, m, d| Day::new(y, m, d).unwrap();
    let november = client
        .get_orders_with_goods(
            &OrdersWithGoodsQuery::new()
                .begin_date(day(2019, 11, 1))
                .end_date(day(2019, 11, 5))
                .paid(true)
                .goods([1, 2]),
        )
        .await
        .unwrap();
    assert_eq!(november.len(), 1);
    assert_eq!(november[0].kupon, "coupon50proc");
    assert_eq!(november[0].items[0].pincode, None);
    assert_eq!(november[0].items[0].partners[1].partner_name, "boris");
    let by_time = client
        .get_orders_with_goods(
            &OrdersWithGoodsQuery::new()
                .begin_time(1_700_000_000)
                .end_time(EXAMPLES_TIME)
                .good("CODE2"),
        )
        .await
        .unwrap();
    assert_eq!(by_time.len(), 1);
    assert!(client
        .get_orders_with_goods(&OrdersWithGoodsQuery::new().good("code1"))
        .await
        .unwrap()
        .is_empty());

    let bills = client.get_bills("Client@Example.com", None).await.unwrap();
    let numbers: Vec<&str> = bills.0.iter().map(|b| b.bill_id.as_str()).collect();
    assert_eq!(numbers, ["12344", second.to_string().as_str()]);
    assert_eq!(bills.0[1].goods[0].good_name, "code2");
    assert_eq!(bills.0[1].goods[0].good_sum, "2500.00");
    let paid = client
        .get_bills("client@example.com", Some(PayStatus::Paid))
        .await
        .unwrap();
    assert_eq!(paid.0.len(), 1);
    assert_eq!(paid.0[0].goods[0].good_sum, "500.00");
    let refunded = client
        .get_bills("client@example.com", Some(PayStatus::Moneyback))
        .await
        .unwrap();
    assert!(refunded.0.is_empty());
    match client.get_bills("not an address", None).await {
        Err(ClientError::Api { code: 3, text, .. }) => assert_eq!(text, "Wrong posted data"),
        other => panic!("expected code 3, got {other:?}"),
    }

    let stats = client
        .get_partner_stats(
            &PartnerStatsQuery::new("anna")
                .date_from(day(2019, 11, 1))
                .date_to(day(2019, 11, 30)),
        )
        .await
        .unwrap();
    assert_eq!(
        (stats.earned_total.as_str(), stats.bills_total.as_str()),
        ("50.00", "1")
    );
    let boris = client
        .get_partner_stats(&PartnerStatsQuery::new("boris"))
        .await
        .unwrap();
    assert_eq!(
        (boris.earned_total.as_str(), boris.partners_total.as_str()),
        ("25.00", "1")
    );
    match client
        .get_partner_stats(&PartnerStatsQuery::new("nobody"))
        .await
    {
        Err(ClientError::Api {
            code: 1000, text, ..
        }) => assert_eq!(text, "Partner not found"),
        other => panic!("expected code 1000, got {other:?}"),
    }
}

#[tokio::test]
async fn storage_failures_answer_internal_error() {
    let Some(app) = spawn_app().await else { return };
    app.store
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let internal = envelope(3, "Internal error", "secret");
    for (method, body) in [
        ("GetOrders", ""),
        ("getOrdersWithGoods", "goods=1"),
        ("GetBills", "email=client%40example.com"),
        ("GetPartnerStats", "partner=anna"),
    ] {
        app.post_signed(method, body).await.assert_body(&internal);
    }
}
