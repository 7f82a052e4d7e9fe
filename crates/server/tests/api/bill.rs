//! The bill page (SPEC §10.6) and payments through it: content in both languages, the 404
//! cases, escaping, every outcome of the test provider through raw POSTs, double submits and
//! where the buyer is sent afterwards.

use crate::helpers::{envelope, spawn_app, TestApp, EXAMPLES_TIME};
use clickbill_client::{Notification, NotificationKind};
use clickbill_domain::model::BillId;
use clickbill_domain::outbox::DeliveryFilter;
use serde_json::Value;
use std::time::{Duration, Instant};

const DEMO: &str = "demo.justclick.ru";

/// A page or redirect as the tests look at it.
#[derive(Debug)]
struct Page {
    status: u16,
    content_type: String,
    location: Option<String>,
    body: String,
}

impl Page {
    #[track_caller]
    fn assert_html(&self, status: u16) -> &str {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.content_type, "text/html; charset=utf-8");
        &self.body
    }
}

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

async fn read(response: reqwest::Response) -> Page {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Page {
        status: response.status().as_u16(),
        content_type: header("content-type").unwrap_or_default(),
        location: header("location"),
        body: response.text().await.expect("body"),
    }
}

async fn get(app: &TestApp, host: &str, path: &str, accept_language: Option<&str>) -> Page {
    let mut request = browser().get(app.url(path)).header("Host", host);
    if let Some(languages) = accept_language {
        request = request.header("Accept-Language", languages);
    }
    read(request.send().await.expect("request")).await
}

async fn post(app: &TestApp, host: &str, path: &str, form: &str) -> Page {
    let response = browser()
        .post(app.url(path))
        .header("Host", host)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .expect("request");
    read(response).await
}

/// Switches `demo`'s `test_payments` setting on and waits until the server's tenant cache
/// has it (the page of `link` then offers the test provider).
async fn enable_test_payments(app: &TestApp, link: &str) {
    let mut demo = app
        .store
        .inner
        .tenant_by_login("demo")
        .await
        .unwrap()
        .unwrap();
    demo.settings.test_payments = true;
    app.store.inner.save_tenant(&demo).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !get(app, DEMO, link, None)
        .await
        .body
        .contains("provider-test")
    {
        assert!(Instant::now() < deadline, "the setting reaches the server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The form fields of one outcome of the test provider.
fn form(outcome: &str, seen: &str, amount: Option<&str>) -> String {
    let mut form = format!("provider=test&outcome={outcome}&seen={seen}");
    if let Some(amount) = amount {
        form.push_str(&format!("&amount={amount}"));
    }
    form
}

const ORDER: &str = "bill_email=buyer%40example.com&bill_first_name=Ivan&bill_surname=Petrov&goods[0][good_name]=code1&goods[1][good_name]=code2";

#[tokio::test]
async fn a_new_bill_shows_seller_items_totals_and_status_in_both_languages() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (bill_id, link) = app.new_order_with_link("bill_email=buyer%40example.com&bill_first_name=Ivan&bill_surname=Petrov&bill_comment=Call+me&bill_kupon=minus100&bill_aff_name=anna&goods[0][good_name]=code1&goods[1][good_name]=code2",
    )
    .await;
    assert_eq!(
        link,
        format!(
            "/bill/?id={bill_id}&crc={}",
            clickbill_protocol::sign::bill_crc("secret", bill_id)
        )
    );

    let ru = get(&app, DEMO, &link, None).await;
    let body = ru.assert_html(200);
    for expected in [
        "<html lang=\"ru\">",
        &format!("Счёт №{bill_id}"),
        "<dd id=\"seller\">demo</dd>",
        "<dd id=\"buyer\">Ivan Petrov</dd>",
        "<dd id=\"comment\">Call me</dd>",
        "id=\"status\">Ожидает оплаты<",
        "<td class=\"title\">Онлайн-курс</td><td class=\"num price\">1000.00</td><td class=\"num\">1000.00</td>",
        "<td class=\"title\">Video pack</td><td class=\"num price\">2500.00</td><td class=\"num\">2400.00</td>",
        "id=\"coupon\">minus100<",
        "id=\"total\">3400.00 руб.<",
        "id=\"paid\">0.00 руб.<",
        "id=\"left\">3400.00 руб.<",
        "id=\"no-providers\"",
    ] {
        assert!(body.contains(expected), "{expected} in\n{body}");
    }
    // Partner data never reaches the buyer.
    for hidden in ["anna", "partner", "300.00", "buyer@example.com"] {
        assert!(!body.contains(hidden), "{hidden} in\n{body}");
    }
    assert!(!body.contains("<form"), "no provider, no form");

    let en = get(&app, DEMO, &link, Some("de-DE, en;q=0.8, ru;q=0.5")).await;
    let body = en.assert_html(200);
    for expected in [
        "<html lang=\"en\">",
        &format!("Bill No. {bill_id}"),
        "id=\"status\">Awaiting payment<",
        "id=\"left\">3400.00 RUB<",
        // The switch leads to the other language and keeps the bill.
        &format!("href=\"/bill/?id={bill_id}&#38;crc="),
        "&#38;lang=ru\" hreflang=\"ru\">Русский</a>",
    ] {
        assert!(body.contains(expected), "{expected} in\n{body}");
    }

    // `?lang=` overrides the header; the page's own links keep it.
    enable_test_payments(&app, &link).await;
    let chosen = get(&app, DEMO, &format!("{link}&lang=en"), Some("ru")).await;
    let body = chosen.assert_html(200);
    assert!(body.contains("<html lang=\"en\">"));
    assert!(body.contains(&format!(
        "action=\"/bill/?id={bill_id}&#38;crc={}&#38;lang=en\"",
        clickbill_protocol::sign::bill_crc("secret", bill_id)
    )));

    // Any host of the tenant: its custom domain too, and the form without the slash.
    let custom = get(&app, "shop.example", &link, None).await;
    assert!(custom
        .assert_html(200)
        .contains(&format!("Счёт №{bill_id}")));
    let bare = get(&app, DEMO, &link.replacen("/bill/", "/bill", 1), None).await;
    bare.assert_html(200);
}

#[tokio::test]
async fn wrong_addresses_are_404_pages() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (bill_id, link) = app.new_order_with_link(ORDER).await;
    let (deleted_id, deleted_link) = app
        .new_order_with_link("bill_email=other%40example.com&goods[0][good_name]=code1")
        .await;
    app.post_signed("DeleteOrder", &format!("bill_id={deleted_id}"))
        .await
        .assert_body(&envelope(0, "OK", "secret"));
    let crc = clickbill_protocol::sign::bill_crc("secret", bill_id);
    let unknown = bill_id + 100;
    let cases = [
        (DEMO, format!("/bill/?id={bill_id}")),
        (DEMO, format!("/bill/?id={bill_id}&crc=")),
        (DEMO, format!("/bill/?id={bill_id}&crc=0000000000000000")),
        (
            DEMO,
            format!("/bill/?id={bill_id}&crc={}", crc.to_uppercase()),
        ),
        (DEMO, format!("/bill/?id={bill_id}&crc={crc}0")),
        (DEMO, format!("/bill/?id={bill_id}&crc[]={crc}")),
        (DEMO, format!("/bill/?crc={crc}")),
        (DEMO, format!("/bill/?id=x&crc={crc}")),
        (
            DEMO,
            format!(
                "/bill/?id={unknown}&crc={}",
                clickbill_protocol::sign::bill_crc("secret", unknown)
            ),
        ),
        (DEMO, deleted_link.clone()),
        // Another tenant's host, with the link of demo's order and with one signed by its own
        // secret: the order is not its.
        ("other.justclick.ru", link.clone()),
        (
            "other.justclick.ru",
            format!(
                "/bill/?id={bill_id}&crc={}",
                clickbill_protocol::sign::bill_crc("othersecret", bill_id)
            ),
        ),
        ("off.justclick.ru", link.clone()),
        ("nobody.justclick.ru", link.clone()),
        ("unknown.example", link.clone()),
    ];
    for (host, path) in &cases {
        let page = get(&app, host, path, None).await;
        let body = page.assert_html(404);
        assert!(body.contains("Счёт не найден"), "{host}{path}: {body}");
        assert!(!body.contains("Ivan"));
        let paid = post(&app, host, path, &form("pay", "3500.00", None)).await;
        paid.assert_html(404);
    }
    let english = get(&app, DEMO, &format!("/bill/?id={bill_id}&lang=en"), None).await;
    assert!(english.assert_html(404).contains("Bill not found"));
    assert_eq!(app.order_details(bill_id).await["pay_status"], "waiting");
}

#[tokio::test]
async fn everything_shown_is_escaped() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    app.post_signed(
        "AddGood",
        "good_name=evil&good_type=0&good_title=%3Cscript%3Ealert(%22t%22)%3C%2Fscript%3E+%26+O%27Neil&good_sum=10",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let (_, link) = app.new_order_with_link("bill_email=x%40example.com&bill_first_name=%3Cb%3E%22Ann%22&bill_surname=O%27Neil%3C%2Fb%3E&bill_comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22%3E%3Cimg+src%3Dx%3E&goods[0][good_name]=evil",
    )
    .await;
    enable_test_payments(&app, &link).await;
    let page = get(&app, DEMO, &link, None).await;
    let body = page.assert_html(200);
    for raw in ["<script", "<b>", "<img", "\"Ann\"", "O'Neil"] {
        assert!(!body.contains(raw), "{raw} unescaped in\n{body}");
    }
    for escaped in [
        "&#60;script&#62;alert(&#34;t&#34;)&#60;/script&#62; &#38; O&#39;Neil",
        "&#60;b&#62;&#34;Ann&#34; O&#39;Neil&#60;/b&#62;",
        "&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#62;&#60;img src=x&#62;",
    ] {
        assert!(body.contains(escaped), "{escaped} in\n{body}");
    }
}

#[tokio::test]
async fn without_a_provider_nothing_can_be_paid() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (bill_id, link) = app.new_order_with_link(ORDER).await;
    let refused = post(&app, DEMO, &link, &form("pay", "3500.00", None)).await;
    let body = refused.assert_html(400);
    assert!(body.contains("Форма оплаты не распознана"), "{body}");
    let order = app.order_details(bill_id).await;
    assert_eq!(
        (&order["pay_status"], &order["bill_sum_topay"]),
        (&Value::from("waiting"), &Value::from("3500.00"))
    );
}

#[tokio::test]
async fn paying_in_full_sends_the_buyer_to_the_success_link_and_the_bill_shows_paid() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    app.post_signed(
        "UpdateGood",
        "good_name=code2&good_success_link=https%3A%2F%2Fshop.example%2Fthanks%3Fa%3D1%26b%3D2",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let (bill_id, link) = app.new_order_with_link(ORDER).await;
    enable_test_payments(&app, &link).await;

    let page = get(&app, DEMO, &link, None).await;
    let body = page.assert_html(200);
    for expected in [
        "id=\"provider-test\"",
        "<input type=\"hidden\" name=\"seen\" value=\"3500.00\">",
        "id=\"pay-full-button\">Оплатить 3500.00 руб.</button>",
        "name=\"amount\" id=\"amount\" value=\"1000.00\"",
        "(от 1000.00 до 3500.00 руб.)",
        "id=\"decline-button\"",
    ] {
        assert!(body.contains(expected), "{expected} in\n{body}");
    }

    app.clock.set(EXAMPLES_TIME + 60);
    let paid = post(&app, DEMO, &link, &form("pay", "3500.00", Some("1"))).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    assert_eq!(
        paid.location.as_deref(),
        Some("https://shop.example/thanks?a=1&b=2")
    );
    let order = app.order_details(bill_id).await;
    for (key, value) in [
        ("pay_status", "paid"),
        ("paid", &(EXAMPLES_TIME + 60).to_string()[..]),
        ("payway", "TestPayment"),
        ("bill_sum_topay", "0.00"),
        ("last_payment_sum", "3500.00"),
        ("prepayment_sum", "0.00"),
    ] {
        assert_eq!(order[key], value, "{key}");
    }

    let page = get(&app, DEMO, &link, Some("en")).await;
    let body = page.assert_html(200);
    for expected in [
        "id=\"status\">Paid<",
        "id=\"paid\">3500.00 RUB<",
        "id=\"left\">0.00 RUB<",
    ] {
        assert!(body.contains(expected), "{expected} in\n{body}");
    }
    assert!(
        !body.contains("<form"),
        "a paid bill offers no payment:\n{body}"
    );

    // The payment is an ordinary one: it queued the `paid` notification (SPEC §16.6) for the
    // products' URLs in its transaction, signed so that a receiver's check accepts it.
    let filter = DeliveryFilter {
        state: None,
        bill_id: Some(BillId::new(bill_id).unwrap()),
    };
    let queued = app
        .store
        .inner
        .deliveries(app.demo.id, filter)
        .await
        .unwrap();
    let paid: Vec<_> = queued.iter().filter(|d| d.kind == "paid").collect();
    assert!(!paid.is_empty(), "{queued:#?}");
    for delivery in paid {
        let notification = Notification::parse(&delivery.body);
        assert_eq!(
            notification.verify_detected("secret"),
            Ok(NotificationKind::Paid)
        );
        assert_eq!(notification.text("payway").as_deref(), Some("TestPayment"));
        assert_eq!(
            notification.text("last_payment_sum").as_deref(),
            Some("3500.00")
        );
    }
}

#[tokio::test]
async fn without_a_success_link_the_buyer_returns_to_the_bill() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (bill_id, link) = app.new_order_with_link(ORDER).await;
    enable_test_payments(&app, &link).await;
    let paid = post(
        &app,
        DEMO,
        &format!("{link}&lang=en"),
        &form("pay", "3500.00", None),
    )
    .await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let back = format!("{link}&lang=en&notice=paid");
    assert_eq!(paid.location.as_deref(), Some(&back[..]));
    let page = get(&app, DEMO, &back, None).await;
    let body = page.assert_html(200);
    assert!(body.contains("Thank you! The bill is paid."), "{body}");
    assert!(body.contains("id=\"status\">Paid<"));
    assert_eq!(app.order_details(bill_id).await["pay_status"], "paid");
}

#[tokio::test]
async fn a_part_payment_is_a_prepayment_within_the_limits() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (bill_id, link) = app.new_order_with_link(ORDER).await;
    enable_test_payments(&app, &link).await;

    for (amount, status, message) in [
        ("", 422, "Укажите сумму"),
        ("abc", 422, "Укажите сумму"),
        ("999.99", 422, "в указанных пределах"),
        ("3500.01", 422, "в указанных пределах"),
    ] {
        let refused = post(
            &app,
            DEMO,
            &link,
            &form("pay_part", "3500.00", Some(amount)),
        )
        .await;
        let body = refused.assert_html(status);
        assert!(body.contains(message), "{amount}: {body}");
    }
    assert_eq!(app.order_details(bill_id).await["last_payment_sum"], "0.00");

    let prepaid = post(
        &app,
        DEMO,
        &link,
        &form("pay_part", "3500.00", Some("1 200,50")),
    )
    .await;
    assert_eq!(prepaid.status, 303, "{}", prepaid.body);
    let back = format!("{link}&lang=ru&notice=prepaid");
    assert_eq!(prepaid.location.as_deref(), Some(&back[..]));
    let order = app.order_details(bill_id).await;
    for (key, value) in [
        ("pay_status", "waiting"),
        ("payway", ""),
        ("bill_sum_topay", "2299.50"),
        ("prepayment_sum", "1200.50"),
        ("last_payment_sum", "1200.50"),
    ] {
        assert_eq!(order[key], value, "{key}");
    }

    let page = get(&app, DEMO, &back, None).await;
    let body = page.assert_html(200);
    for expected in [
        "Частичная оплата получена",
        "id=\"status\">Оплачен частично<",
        "id=\"paid\">1200.50 руб.<",
        "id=\"left\">2299.50 руб.<",
        "<input type=\"hidden\" name=\"seen\" value=\"2299.50\">",
        "(от 1000.00 до 2299.50 руб.)",
    ] {
        assert!(body.contains(expected), "{expected} in\n{body}");
    }

    // The rest, in full: the order is paid and the prepayment stays a prepayment.
    let paid = post(&app, DEMO, &link, &form("pay", "2299.50", None)).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let order = app.order_details(bill_id).await;
    assert_eq!(order["pay_status"], "paid");
    assert_eq!(order["prepayment_sum"], "1200.50");
    assert_eq!(order["last_payment_sum"], "2299.50");
}

#[tokio::test]
async fn part_payments_follow_the_tenant_and_product_minimum() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    app.post_signed("UpdateGood", "good_name=code2&good_prepayment_minsum=2000")
        .await
        .assert_body(&envelope(0, "OK", "secret"));
    let (bill_id, link) = app.new_order_with_link(ORDER).await;
    enable_test_payments(&app, &link).await;
    let page = get(&app, DEMO, &link, None).await;
    assert!(page
        .assert_html(200)
        .contains("(от 2000.00 до 3500.00 руб.)"));
    let refused = post(
        &app,
        DEMO,
        &link,
        &form("pay_part", "3500.00", Some("1500")),
    )
    .await;
    refused.assert_html(422);
    assert_eq!(app.order_details(bill_id).await["prepayment_sum"], "0.00");

    // A tenant that takes no prepayments offers none, and refuses a crafted one.
    let mut demo = app
        .store
        .inner
        .tenant_by_login("demo")
        .await
        .unwrap()
        .unwrap();
    demo.settings.prepayment_enabled = false;
    app.store.inner.save_tenant(&demo).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&app, DEMO, &link, None).await.body.contains("pay-part") {
        assert!(Instant::now() < deadline, "the setting reaches the server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = post(
        &app,
        DEMO,
        &link,
        &form("pay_part", "3500.00", Some("2500")),
    )
    .await;
    assert!(refused
        .assert_html(409)
        .contains("Этот способ оплаты недоступен"));
    assert_eq!(app.order_details(bill_id).await["prepayment_sum"], "0.00");
}

#[tokio::test]
async fn a_declined_payment_records_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (bill_id, link) = app.new_order_with_link(ORDER).await;
    enable_test_payments(&app, &link).await;
    let before = app.order_details(bill_id).await;
    let declined = post(
        &app,
        DEMO,
        &format!("{link}&lang=en"),
        &form("decline", "3500.00", None),
    )
    .await;
    let body = declined.assert_html(200);
    assert!(
        body.contains("The payment was declined. No money was charged."),
        "{body}"
    );
    assert!(body.contains("id=\"status\">Awaiting payment<"));
    assert!(body.contains("id=\"pay-full\""), "the buyer may try again");
    assert_eq!(app.order_details(bill_id).await, before);
}

#[tokio::test]
async fn a_form_sent_twice_pays_once() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (bill_id, link) = app.new_order_with_link(ORDER).await;
    enable_test_payments(&app, &link).await;

    // One after the other: the second finds the bill paid.
    let full = form("pay", "3500.00", None);
    assert_eq!(post(&app, DEMO, &link, &full).await.status, 303);
    let again = post(&app, DEMO, &link, &full).await;
    let body = again.assert_html(409);
    assert!(body.contains("Этот счёт нельзя оплатить"), "{body}");
    assert!(body.contains("id=\"status\">Оплачен<"));
    assert_eq!(
        app.order_details(bill_id).await["last_payment_sum"],
        "3500.00"
    );

    // At the same time: the same part payment sent eight times is recorded once.
    let (bill_id, link) = app
        .new_order_with_link(
            "bill_email=twice%40example.com&goods[0][good_name]=code1&goods[1][good_name]=code2",
        )
        .await;
    let part = form("pay_part", "3500.00", Some("1000"));
    let attempts = (0..8).map(|_| post(&app, DEMO, &link, &part));
    let answers = futures_util::future::join_all(attempts).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 409, 409, 409, 409, 409, 409, 409]);
    for refused in answers.iter().filter(|a| a.status == 409) {
        assert!(
            refused.body.contains("Сумма к оплате изменилась"),
            "{}",
            refused.body
        );
    }
    let order = app.order_details(bill_id).await;
    assert_eq!(order["prepayment_sum"], "1000.00");
    assert_eq!(order["bill_sum_topay"], "2500.00");
}

#[tokio::test]
async fn cancelled_and_refunded_bills_cannot_be_paid() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (cancelled, cancelled_link) = app.new_order_with_link(ORDER).await;
    enable_test_payments(&app, &cancelled_link).await;
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={cancelled}&status=cancel"),
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let (refunded, refunded_link) = app
        .new_order_with_link(
            "bill_email=refund%40example.com&goods[0][good_name]=code1&goods[1][good_name]=code2",
        )
        .await;
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={refunded}&status=paid&date={EXAMPLES_TIME}&sum=1000"),
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={refunded}&status=moneyback&ext_ref_no=R-1"),
    )
    .await
    .assert_body(&envelope(0, "Order status changed", "secret"));

    for (bill_id, link, status) in [
        (cancelled, &cancelled_link, "Отменён"),
        (refunded, &refunded_link, "Деньги возвращены"),
    ] {
        let page = get(&app, DEMO, link, None).await;
        let body = page.assert_html(200);
        assert!(body.contains(&format!("id=\"status\">{status}<")), "{body}");
        assert!(body.contains("id=\"closed\">Этот счёт нельзя оплатить.<"));
        assert!(!body.contains("<form"), "{body}");
        let before = app.order_details(bill_id).await;
        let left = before["bill_sum_topay"].as_str().unwrap().to_owned();
        for crafted in [
            form("pay", &left, None),
            form("pay_part", &left, Some("1000")),
            form("decline", &left, None),
        ] {
            let refused = post(&app, DEMO, link, &crafted).await;
            assert!(refused.assert_html(409).contains("нельзя оплатить"));
        }
        assert_eq!(app.order_details(bill_id).await, before);
    }
}

#[tokio::test]
async fn outdated_or_malformed_forms_pay_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (bill_id, link) = app.new_order_with_link(ORDER).await;
    enable_test_payments(&app, &link).await;
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={bill_id}&status=paid&date={EXAMPLES_TIME}&sum=1000"),
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    // The page was opened before the API recorded a payment.
    let stale = post(&app, DEMO, &link, &form("pay", "3500.00", None)).await;
    assert!(stale.assert_html(409).contains("Сумма к оплате изменилась"));
    for malformed in [
        "",
        "provider=test&outcome=pay",
        "provider=test&outcome=refund&seen=2500.00",
        "provider=card&outcome=pay&seen=2500.00",
        "provider=test&outcome=pay&seen=lots",
    ] {
        let refused = post(&app, DEMO, &link, malformed).await;
        refused.assert_html(400);
    }
    let order = app.order_details(bill_id).await;
    assert_eq!(order["bill_sum_topay"], "2500.00");
    assert_eq!(order["pay_status"], "waiting");
}

#[tokio::test]
async fn pages_are_never_cached_and_leak_no_referrer() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (_, link) = app.new_order_with_link(ORDER).await;
    for path in [link.clone(), "/bill/?id=1&crc=x".to_owned()] {
        let response = browser()
            .get(app.url(&path))
            .header("Host", DEMO)
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'"));
    }
    let put = browser()
        .put(app.url(&link))
        .header("Host", DEMO)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 405);
}
