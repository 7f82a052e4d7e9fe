//! Every product and order method through the Rust SDK, as an integrator's code calls them: the
//! SDK signs, the server checks, the server signs, the SDK checks.

use crate::helpers::{spawn_app, TestApp};
use clickbill_client::{
    Client, ClientError, CreateOrderOutcome, GoodType, GoodUpdate, NewGood, NewOrder, OrderGood,
    StatusUpdate,
};

fn sdk(app: &TestApp, secret: &str) -> Client {
    Client::new(
        &format!("http://demo.localhost:{}", app.addr.port()),
        "demo",
        secret,
    )
    .expect("a valid base URL")
}

fn api_code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (i64, String) {
    match result {
        Err(ClientError::Api { code, text, .. }) => (code, text),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn products_through_the_sdk() {
    let Some(app) = spawn_app().await else { return };
    let client = sdk(&app, "secret");

    let codes: Vec<String> = client
        .get_all_goods()
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.good_name)
        .collect();
    assert_eq!(codes, ["code1", "code2", "book1"]);

    let ebook = NewGood::new("sdk1", "SDK e-book", "490", GoodType::Digital);
    client.add_good(&ebook).await.unwrap();
    assert_eq!(
        api_code(client.add_good(&ebook).await),
        (301, "Product already exist".to_owned())
    );
    client
        .update_good(&GoodUpdate::new("SDK1").sum("590"))
        .await
        .unwrap();
    let goods = client.get_all_goods().await.unwrap();
    let added = goods.iter().find(|g| g.good_name == "sdk1").unwrap();
    assert_eq!(
        (added.good_sum.as_str(), added.good_type.as_str()),
        ("590.00", "0")
    );
    assert_eq!(
        api_code(
            client
                .update_good(&GoodUpdate::new("nosuch").sum("1"))
                .await
        ),
        (300, "Product not found".to_owned())
    );

    client.delete_good("sdk1").await.unwrap();
    assert_eq!(
        api_code(client.delete_good("sdk1").await),
        (302, "Failed to remove product".to_owned())
    );
}

#[tokio::test]
async fn an_order_from_creation_to_deletion_through_the_sdk() {
    let Some(app) = spawn_app().await else { return };
    let client = sdk(&app, "secret");
    let order = NewOrder::new()
        .email("Sdk.Buyer@Example.com")
        .first_name("Анна")
        .surname("Smith")
        .comment("via the SDK ~ / ok")
        .utm_source("sdk")
        .good(OrderGood::new("code1"))
        .good(OrderGood::new("code2").sum("1999.5"));

    let bill_id = match client.create_order(&order).await.unwrap() {
        CreateOrderOutcome::Created(id) => id,
        other => panic!("expected a new order, got {other:?}"),
    };
    assert_eq!(bill_id, 12344, "the first order gets first_bill_id");
    assert_eq!(
        client.create_order(&order).await.unwrap(),
        CreateOrderOutcome::Duplicate(bill_id)
    );

    let details = client.get_order_details(bill_id, true).await.unwrap();
    assert_eq!(details.id, bill_id.to_string());
    assert_eq!(details.email, "sdk.buyer@example.com");
    assert_eq!(details.first_name, "Анна");
    assert_eq!(details.comment, "via the SDK ~ / ok");
    assert_eq!(details.price, "2999.50");
    assert_eq!(details.good_count.as_deref(), Some("2"));
    assert_eq!(details.utm.as_ref().map(|u| u.source.as_str()), Some("sdk"));
    assert!(details
        .link
        .starts_with(&format!("/bill/?id={bill_id}&crc=")));

    let info = client.get_order_info(bill_id, false, true).await.unwrap();
    assert_eq!(info.payway_support_phone.as_deref(), Some(""));
    assert_eq!(info.good_count, None);

    client
        .update_order_status(
            bill_id,
            &StatusUpdate::Sent {
                date: 1_700_000_000,
                rpo: "RPO-SDK".into(),
            },
        )
        .await
        .unwrap();
    client
        .update_order_status(
            bill_id,
            &StatusUpdate::Paid {
                date: 1_700_000_500,
                sum: None,
                payway: Some("card".into()),
            },
        )
        .await
        .unwrap();
    let paid = client.get_order_details(bill_id, false).await.unwrap();
    assert_eq!(
        (
            paid.pay_status.as_str(),
            paid.paid.as_str(),
            paid.payway.as_str()
        ),
        ("paid", "1700000500", "card")
    );
    assert_eq!(paid.bill_sum_topay, "0.00");
    assert_eq!(
        (paid.delivery_status.as_str(), paid.rpo.as_str()),
        ("sent", "RPO-SDK")
    );
    assert_eq!(
        api_code(
            client
                .update_order_status(bill_id, &StatusUpdate::Cancel)
                .await
        ),
        (204, "Order status is not changed".to_owned())
    );

    client.delete_order(bill_id).await.unwrap();
    assert_eq!(
        api_code(client.get_order_details(bill_id, false).await),
        (400, "Order not found".to_owned())
    );
    assert_eq!(
        api_code(client.delete_order(bill_id).await),
        (200, "Nonexistent order".to_owned())
    );
}

#[tokio::test]
async fn order_errors_arrive_as_typed_errors() {
    let Some(app) = spawn_app().await else { return };
    let client = sdk(&app, "secret");
    let unknown = NewOrder::new()
        .email("buyer@example.com")
        .good(OrderGood::new("nosuch"));
    assert_eq!(
        api_code(client.create_order(&unknown).await),
        (604, "Product not exist: nosuch".to_owned())
    );
    let physical = NewOrder::new()
        .email("buyer@example.com")
        .good(OrderGood::new("book1"));
    assert_eq!(
        api_code(client.create_order(&physical).await),
        (605, "Not having any data for delivery products".to_owned())
    );
}

#[tokio::test]
async fn a_wrong_secret_is_caught_by_the_response_hash() {
    let Some(app) = spawn_app().await else { return };
    let client = sdk(&app, "not-the-secret");
    match client.get_all_goods().await {
        Err(ClientError::BadResponseHash { code, text, .. }) => {
            assert_eq!((code, text.as_str()), (4, "Incorrect hash"));
        }
        other => panic!("a response signed with another secret must be refused: {other:?}"),
    }
}
