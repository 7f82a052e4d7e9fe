//! The auto-cancel timer (SPEC §9.5.6, §13.1.3 `bill_timer_kill`), driven by the test clock.

use crate::helpers::{envelope, spawn_app, TestApp, EXAMPLES_TIME};
use clickbill_domain::model::{BillId, PayStatus};
use clickbill_domain::Store;
use std::time::Duration;

/// `code1` cancels unpaid orders after three days (§11.2).
const PRODUCT_DELAY: i64 = 259_200;

/// An order for `code1` at 2000.00, so that 1000.00 is a partial payment.
async fn create(app: &TestApp, email: &str, timer: &str) -> BillId {
    let body = format!(
        "bill_email={email}%40example.com&goods[0][good_name]=code1&goods[0][good_sum]=2000\
         &bill_timer_kill={timer}"
    );
    let answer = app.post_signed("CreateOrder", &body).await;
    let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let id = json["result"]["bill_id"].as_str().expect(&answer.body);
    BillId::new(id.parse().unwrap()).unwrap()
}

async fn stored(app: &TestApp, bill_id: BillId) -> Option<clickbill_domain::model::Order> {
    app.store.order(app.demo.id, bill_id).await.unwrap()
}

async fn status(app: &TestApp, bill_id: BillId) -> PayStatus {
    stored(app, bill_id).await.expect("order").pay_status
}

/// Waits until the sweep (every 50 ms in tests) has cancelled `bill_id`.
async fn until_cancelled(app: &TestApp, bill_id: BillId) {
    for _ in 0..200 {
        if status(app, bill_id).await == PayStatus::Cancel {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("order {bill_id} was not cancelled");
}

/// Gives the sweep time for several rounds, for checks that something did NOT happen.
async fn let_sweeps_run() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn due_orders_are_cancelled_once_and_others_are_left_alone() {
    let Some(mut app) = spawn_app().await else {
        return;
    };
    app.clock.set(EXAMPLES_TIME);
    let by_product = create(&app, "product", "1").await;
    let at_moment = create(&app, "moment", &(EXAMPLES_TIME + 100).to_string()).await;
    let never = create(&app, "never", "0").await;
    let prepaid = create(&app, "prepaid", "true").await;
    let paid = create(&app, "paid", "1").await;
    let deleted = create(&app, "deleted", "1").await;
    assert_eq!(
        stored(&app, by_product).await.unwrap().auto_cancel_at,
        Some(EXAMPLES_TIME + PRODUCT_DELAY)
    );
    let changed = envelope(0, "OK", "secret");
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={prepaid}&status=paid&sum=1000&date={EXAMPLES_TIME}"),
    )
    .await
    .assert_body(&changed);
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={paid}&status=paid&date={EXAMPLES_TIME}"),
    )
    .await
    .assert_body(&changed);
    app.post_signed("DeleteOrder", &format!("bill_id={deleted}"))
        .await
        .assert_body(&envelope(0, "OK", "secret"));

    // Not yet due: nothing happens.
    app.clock.set(EXAMPLES_TIME + 99);
    let_sweeps_run().await;
    assert_eq!(status(&app, at_moment).await, PayStatus::Waiting);

    app.clock.set(EXAMPLES_TIME + 100);
    until_cancelled(&app, at_moment).await;
    let cancelled = stored(&app, at_moment).await.unwrap();
    assert_eq!(
        cancelled.auto_cancel_at, None,
        "the timer is gone with the cancellation"
    );
    assert_eq!(status(&app, by_product).await, PayStatus::Waiting);

    // A restart changes nothing: no second cancellation is due, the other timers still wait.
    app.restart().await;
    let_sweeps_run().await;
    assert_eq!(stored(&app, at_moment).await.unwrap(), cancelled);
    assert_eq!(
        app.store
            .fire_due_auto_cancels(EXAMPLES_TIME + 100, 10)
            .await
            .unwrap()
            .taken,
        0,
        "no timer is left to fire"
    );
    assert_eq!(status(&app, by_product).await, PayStatus::Waiting);

    app.clock.set(EXAMPLES_TIME + PRODUCT_DELAY);
    until_cancelled(&app, by_product).await;
    let_sweeps_run().await;
    assert_eq!(status(&app, never).await, PayStatus::Waiting);
    assert_eq!(
        status(&app, prepaid).await,
        PayStatus::Waiting,
        "a partly paid order is not cancelled by its timer"
    );
    assert_eq!(status(&app, paid).await, PayStatus::Paid);
    assert_eq!(stored(&app, deleted).await, None);
    assert_eq!(
        app.store
            .fire_due_auto_cancels(EXAMPLES_TIME + PRODUCT_DELAY * 10, 10)
            .await
            .unwrap()
            .taken,
        0,
        "no timer is left to fire"
    );

    // The cancellation is an ordinary one: the order answers like any cancelled order.
    let details = app
        .post_signed("getOrderDetails", &format!("bill_id={by_product}"))
        .await;
    assert!(
        details.body.contains(r#""pay_status":"cancel""#),
        "{}",
        details.body
    );
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={by_product}&status=paid&date={EXAMPLES_TIME}"),
    )
    .await
    .assert_body(&envelope(202, "Order not paid", "secret"));
}

#[tokio::test]
async fn a_timer_that_passed_while_the_server_was_down_fires_after_start() {
    let Some(mut app) = spawn_app().await else {
        return;
    };
    app.clock.set(EXAMPLES_TIME);
    let order = create(&app, "late", &(EXAMPLES_TIME + 10).to_string()).await;
    app.stop().await;
    app.clock.set(EXAMPLES_TIME + 3_600);
    assert_eq!(status(&app, order).await, PayStatus::Waiting);
    app.restart().await;
    until_cancelled(&app, order).await;
}
