//! The bill page in a real browser: a headless Chromium opens the `link` of an order created
//! through the API and pays it with the test provider, as a buyer would.

mod driver;

// The backend and the helpers serve the API suite too; this binary uses a part of them.
#[allow(dead_code)]
#[path = "../api/backend.rs"]
mod backend;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use axum::response::Html;
use axum::routing::get;
use driver::{find, text, wait_for_url, Browser, DESKTOP, PHONE, STEP_TIMEOUT};
use fantoccini::Locator;
use helpers::{envelope, spawn_app, TestApp, EXAMPLES_TIME};
use std::time::{Duration, Instant};

/// A shop's own "thank you" page, where a paid bill sends the buyer.
async fn start_thanks_page() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the shop");
    let port = listener.local_addr().unwrap().port();
    let shop = axum::Router::new().route(
        "/thanks",
        get(|| async {
            Html(
                "<!DOCTYPE html><title>Shop</title><h1 id=\"thanks\">Thank you for your order</h1>",
            )
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, shop).await;
    });
    (port, server)
}

/// Switches `demo`'s `test_payments` on and waits until the server offers it on `link`.
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
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let page = app
            .client
            .get(app.url(link))
            .header("Host", "demo.justclick.ru")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("provider-test") {
            return;
        }
        assert!(Instant::now() < deadline, "the setting reaches the server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The address a buyer's browser opens for `link` on the test server.
fn in_browser(app: &TestApp, link: &str) -> String {
    format!("http://demo.localhost:{}{link}", app.addr.port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_pays_a_fresh_order_and_lands_on_the_success_link() {
    let Some((chromium, chromedriver)) = driver::binaries() else {
        return;
    };
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (shop_port, shop) = start_thanks_page().await;
    let success_link = format!("http://thanks.localhost:{shop_port}/thanks");
    app.post_signed(
        "UpdateGood",
        &format!(
            "good_name=code1&good_success_link={}",
            success_link.replace(':', "%3A").replace('/', "%2F")
        ),
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let (bill_id, link) = app
        .new_order_with_link(
            "bill_email=buyer%40example.com&bill_first_name=Ivan&goods[0][good_name]=code1",
        )
        .await;
    enable_test_payments(&app, &link).await;

    let browser = Browser::start(&chromium, &chromedriver, PHONE).await;
    browser
        .run("pay_in_full", |client| async move {
            client
                .goto(&format!("{}&lang=en", in_browser(&app, &link)))
                .await
                .expect("the bill opens");
            assert_eq!(text(&client, "#status").await, "Awaiting payment");
            assert_eq!(text(&client, "#left").await, "1000.00 RUB");
            let widths = client
                .execute(
                    "return [document.documentElement.scrollWidth, window.innerWidth];",
                    vec![],
                )
                .await
                .expect("the page's widths");
            assert!(
                widths[0].as_u64() <= widths[1].as_u64(),
                "the page fits a phone's width: {widths}"
            );

            find(&client, "#pay-full-button")
                .await
                .click()
                .await
                .expect("click pay");
            wait_for_url(&client, "the buyer lands on the success link", |url| {
                url == success_link
            })
            .await;
            assert_eq!(text(&client, "#thanks").await, "Thank you for your order");
            let order = app.order_details(bill_id).await;
            assert_eq!(order["pay_status"], "paid");
            assert_eq!(order["payway"], "TestPayment");

            client
                .goto(&format!("{}&lang=en", in_browser(&app, &link)))
                .await
                .expect("the bill opens again");
            assert_eq!(text(&client, "#status").await, "Paid");
            assert_eq!(text(&client, "#paid").await, "1000.00 RUB");
            assert_eq!(text(&client, "#left").await, "0.00 RUB");
            let forms = client.find_all(Locator::Css("form")).await.unwrap();
            assert!(forms.is_empty(), "a paid bill offers no payment");
        })
        .await;
    shop.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_prepays_a_part_then_declines_the_rest() {
    let Some((chromium, chromedriver)) = driver::binaries() else {
        return;
    };
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let (bill_id, link) = app
        .new_order_with_link(
            "bill_email=buyer%40example.com&goods[0][good_name]=code1&goods[1][good_name]=code2",
        )
        .await;
    enable_test_payments(&app, &link).await;

    let browser = Browser::start(&chromium, &chromedriver, DESKTOP).await;
    browser
        .run("prepay_and_decline", |client| async move {
            // No `lang`: the browser's Accept-Language (English) decides.
            client
                .goto(&in_browser(&app, &link))
                .await
                .expect("the bill opens");
            assert_eq!(text(&client, "#status").await, "Awaiting payment");
            let amount = find(&client, "#amount").await;
            assert_eq!(
                amount.prop("value").await.unwrap().as_deref(),
                Some("1000.00")
            );
            amount.clear().await.expect("clear the amount");
            amount.send_keys("1200").await.expect("type an amount");
            find(&client, "#pay-part-button")
                .await
                .click()
                .await
                .expect("click pay part");
            wait_for_url(&client, "the buyer returns to the bill", |url| {
                url.contains("notice=prepaid")
            })
            .await;
            assert_eq!(
                text(&client, "#notice").await,
                "Thank you! Your part payment was received."
            );
            assert_eq!(text(&client, "#status").await, "Partly paid");
            assert_eq!(text(&client, "#paid").await, "1200.00 RUB");
            assert_eq!(text(&client, "#left").await, "2300.00 RUB");

            find(&client, "#decline-button")
                .await
                .click()
                .await
                .expect("click decline");
            let deadline = Instant::now() + STEP_TIMEOUT;
            loop {
                let notice = text(&client, "#notice").await;
                if notice.contains("declined") {
                    assert_eq!(notice, "The payment was declined. No money was charged.");
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the page says declined: {notice}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(text(&client, "#status").await, "Partly paid");
            assert_eq!(text(&client, "#left").await, "2300.00 RUB");
            let order = app.order_details(bill_id).await;
            assert_eq!(order["pay_status"], "waiting");
            assert_eq!(order["prepayment_sum"], "1200.00");
            assert_eq!(order["bill_sum_topay"], "2300.00");

            // The language switch keeps the bill and the choice.
            find(&client, "#language")
                .await
                .click()
                .await
                .expect("switch the language");
            wait_for_url(&client, "the Russian page opens", |url| {
                url.contains("lang=ru")
            })
            .await;
            assert_eq!(text(&client, "#status").await, "Оплачен частично");
            assert!(find(&client, "#pay-part")
                .await
                .attr("action")
                .await
                .unwrap()
                .unwrap()
                .ends_with("&lang=ru"));
        })
        .await;
}
