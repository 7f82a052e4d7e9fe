//! Concurrent identical orders and the `Idempotency-Key` extension (SPEC §9.5.1, §13.1.4, §17).

use crate::helpers::{envelope, spawn_app, TestApp, EXAMPLES_TIME};
use futures_util::future::join_all;
use std::sync::atomic::Ordering;

const ORDER: &str = "bill_email=client%40example.com&goods[0][good_name]=code1";

fn created(bill_id: i64) -> String {
    format!(
        r#"{{"error_code":0,"error_text":"Order created","result":{{"bill_id":"{bill_id}"}},"hash":"d72287948e429b9fe09196a0bdab2490"}}"#
    )
}

fn duplicate(bill_id: i64) -> String {
    format!(
        r#"{{"error_code":601,"error_text":"Order already exist. His number send in result array.","result":{{"bill_id":"{bill_id}"}},"hash":"{}"}}"#,
        clickbill_protocol::sign::response_hash(
            601,
            "Order already exist. His number send in result array.",
            "secret"
        )
    )
}

const REUSED: &str = r#"{"error_code":3,"error_text":"Idempotency key reused with different parameters","hash":"3a7f657dca8af830c57eeac2008d360f"}"#;

/// The number the next new order gets, found by creating one for another buyer.
async fn next_bill_id(app: &TestApp) -> String {
    let answer = app
        .post_signed(
            "CreateOrder",
            "bill_email=probe%40example.com&goods[0][good_name]=code2",
        )
        .await;
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    json["result"]["bill_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn fifty_identical_orders_at_once_make_one_order() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let answers = join_all((0..50).map(|_| app.post_signed("CreateOrder", ORDER))).await;
    let bodies: Vec<&str> = answers.iter().map(|a| a.body.as_str()).collect();
    let created_count = bodies.iter().filter(|b| **b == created(12344)).count();
    let duplicates = bodies.iter().filter(|b| **b == duplicate(12344)).count();
    assert_eq!((created_count, duplicates), (1, 49), "{bodies:#?}");
    assert_eq!(next_bill_id(&app).await, "12345");
}

#[tokio::test]
async fn fifty_retries_with_one_key_get_the_first_answer_byte_for_byte() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let answers = join_all(
        (0..50).map(|_| app.post_signed_with_key("CreateOrder", ORDER, "order-2023-11-15-0001")),
    )
    .await;
    for answer in &answers {
        answer.assert_body(&created(12344));
    }
    // Later retries too, and under another spelling of the method name.
    app.post_signed_with_key("createorder", ORDER, "order-2023-11-15-0001")
        .await
        .assert_body(&created(12344));
    assert_eq!(next_bill_id(&app).await, "12345");
    // Without the key the same request is an ordinary duplicate.
    app.post_signed("CreateOrder", ORDER)
        .await
        .assert_body(&duplicate(12344));
}

#[tokio::test]
async fn a_key_reused_for_another_request_answers_409_and_runs_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    app.post_signed_with_key("CreateOrder", ORDER, "k1")
        .await
        .assert_body(&created(12344));
    let other_body = "bill_email=other%40example.com&goods[0][good_name]=code1";
    for (method, body) in [("CreateOrder", other_body), ("GetAllGoods", ORDER)] {
        let answer = app.post_signed_with_key(method, body, "k1").await;
        assert_eq!(answer.status, 409, "{method}");
        assert_eq!(
            answer.content_type.as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(answer.body, REUSED);
    }
    // The other buyer's order was never created.
    assert_eq!(next_bill_id(&app).await, "12345");
}

#[tokio::test]
async fn replays_keep_errors_and_reads_too() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let wrong_email = envelope(600, "Wrong email: 'bad'", "secret");
    app.post_signed_with_key("CreateOrder", "bill_email=bad", "e1")
        .await
        .assert_body(&wrong_email);
    app.post_signed_with_key("CreateOrder", "bill_email=bad", "e1")
        .await
        .assert_body(&wrong_email);

    app.post_signed("CreateOrder", ORDER)
        .await
        .assert_body(&created(12344));
    let first = app
        .post_signed_with_key("getOrderDetails", "bill_id=12344", "read")
        .await;
    app.post_signed("UpdateOrderStatus", "bill_id=12344&status=cancel")
        .await
        .assert_body(&envelope(0, "OK", "secret"));
    // The replay is the answer from before the cancellation, as stored.
    let replay = app
        .post_signed_with_key("getOrderDetails", "bill_id=12344", "read")
        .await;
    assert_eq!(replay.body, first.body);
    assert!(replay.body.contains(r#""pay_status":"waiting""#));
}

#[tokio::test]
async fn keys_belong_to_one_tenant_and_last_a_day() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    app.post_signed_with_key("CreateOrder", ORDER, "shared")
        .await
        .assert_body(&created(12344));

    // Another tenant with the same key and body is a request of its own.
    let other = app
        .client
        .post(app.url("/api/GetAllGoods"))
        .header("Host", "other.justclick.ru")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Idempotency-Key", "shared")
        .body(crate::helpers::signed("", "other", "othersecret"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert_eq!(
        other.text().await.unwrap(),
        envelope(700, "No products", "othersecret"),
        "the method ran for the other tenant, it was no 409"
    );

    // A day later the key is forgotten and the request runs again; the duplicate window has
    // passed as well, so it makes a second order.
    app.clock.set(EXAMPLES_TIME + 86_401);
    app.post_signed_with_key("CreateOrder", ORDER, "shared")
        .await
        .assert_body(&created(12345));
}

#[tokio::test]
async fn failed_authentication_and_invalid_keys_are_never_recorded() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let forged = app
        .client
        .post(app.url("/api/CreateOrder"))
        .header("Host", "demo.justclick.ru")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Idempotency-Key", "auth")
        .body(format!("{ORDER}&hash=00000000000000000000000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.text().await.unwrap(),
        envelope(4, "Incorrect hash", "secret")
    );
    app.post_signed_with_key("CreateOrder", ORDER, "auth")
        .await
        .assert_body(&created(12344));

    // A key that is not visible ASCII is ignored, as if absent: no replay, an ordinary 601.
    app.post_signed_with_key("CreateOrder", ORDER, "with space")
        .await
        .assert_body(&duplicate(12344));
    app.post_signed_with_key("CreateOrder", ORDER, "with space")
        .await
        .assert_body(&duplicate(12344));
}

#[tokio::test]
async fn a_store_that_cannot_record_the_key_runs_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    app.store.failing.store(true, Ordering::SeqCst);
    app.post_signed_with_key("CreateOrder", ORDER, "down")
        .await
        .assert_body(&envelope(602, "Error creating order", "secret"));
    app.store.failing.store(false, Ordering::SeqCst);
    app.post_signed_with_key("CreateOrder", ORDER, "down")
        .await
        .assert_body(&created(12344));
}
