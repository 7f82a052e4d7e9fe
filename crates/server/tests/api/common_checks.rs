//! The common checks of SPEC §5.7, in their order 5 → 7 → 2 → 1 → 4.

use crate::helpers::{envelope, signed, spawn_app};

const INVALID_USER: &str = r#"{"error_code":5,"error_text":"Invalid user name","hash":"ca1d0e11a47db2f77cca68545d853090"}"#;
const SIGNED_GET_ALL_GOODS: &str = "hash=07d7c258e970b0e2fd9c7694ed0046c8";

#[tokio::test]
async fn unknown_host_is_5_signed_with_the_empty_secret() {
    let Some(app) = spawn_app().await else { return };
    for host in [
        "nobody.justclick.ru",
        "localhost",
        "localhost:8080",
        "justclick.ru",
        "demo.example.org",
        "127.0.0.1",
    ] {
        app.post_host(host, "GetAllGoods", SIGNED_GET_ALL_GOODS)
            .await
            .assert_body(INVALID_USER);
        // 5 comes before everything else, an empty body included.
        app.post_host(host, "GetAllGoods", "")
            .await
            .assert_body(INVALID_USER);
    }
}

#[tokio::test]
async fn disabled_tenant_is_7_before_the_body_and_the_hash() {
    let Some(app) = spawn_app().await else { return };
    let disabled = envelope(7, "Account disabled", "offsecret");
    for body in [
        "",
        "x=1",
        "x=1&hash=bad",
        &signed("x=1", "off", "offsecret"),
    ] {
        app.post_host("off.localhost", "GetAllGoods", body)
            .await
            .assert_body(&disabled);
    }
}

#[tokio::test]
async fn empty_parameter_set_is_2_before_the_hash() {
    let Some(app) = spawn_app().await else { return };
    let no_data = envelope(2, "No transmitted data", "secret");
    for body in ["", "&&", "[x]=1&=2", &format!("x{}=1", "[a]".repeat(65))] {
        app.post("GetAllGoods", body).await.assert_body(&no_data);
    }
    // An unsupported content type gives the empty set too, whatever the body says.
    let answer = app
        .client
        .post(app.url("/api/GetAllGoods"))
        .header("Host", "demo.justclick.ru")
        .header("Content-Type", "application/json")
        .body(SIGNED_GET_ALL_GOODS)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), no_data);
    let answer = app
        .client
        .post(app.url("/api/GetAllGoods"))
        .header("Host", "demo.justclick.ru")
        .body(SIGNED_GET_ALL_GOODS)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), no_data);
}

#[tokio::test]
async fn missing_or_empty_hash_is_1() {
    let Some(app) = spawn_app().await else { return };
    let not_transferred = envelope(1, "Not transferred hash", "secret");
    for body in [
        "bill_id=1",
        "bill_id=1&hash=",
        "bill_id=1&hash=0",
        "rpsKey=&x=1",
    ] {
        app.post("getOrderDetails", body)
            .await
            .assert_body(&not_transferred);
    }
}

#[tokio::test]
async fn wrong_hash_is_4() {
    let Some(app) = spawn_app().await else { return };
    let incorrect = r#"{"error_code":4,"error_text":"Incorrect hash","hash":"d7a07bb6e3a3ec39557fcc2849115a25"}"#;
    for body in [
        "hash=07D7C258E970B0E2FD9C7694ED0046C8",
        "hash=+07d7c258e970b0e2fd9c7694ed0046c8",
        "hash[]=07d7c258e970b0e2fd9c7694ed0046c8",
        "hash=00",
        "x=1&hash=07d7c258e970b0e2fd9c7694ed0046c8",
        // A non-PHP encoder that leaves `~` alone (§5.5).
        "lead_email=a%40example.com&lead_name=Anna+~&hash=eb6061dc7b7f820d488f6169cd41f822",
    ] {
        app.post("GetAllGoods", body).await.assert_body(incorrect);
    }
    // Another tenant's secret does not sign for demo.
    app.post("GetAllGoods", signed("", "demo", "othersecret"))
        .await
        .assert_body(incorrect);
    app.post("GetAllGoods", signed("", "other", "secret"))
        .await
        .assert_body(incorrect);
}

#[tokio::test]
async fn the_api_key_authenticates_any_method() {
    let Some(app) = spawn_app().await else { return };
    let answer = app.post("GetAllGoods", "rpsKey=secret").await;
    assert!(answer
        .body
        .starts_with(r#"{"error_code":0,"error_text":"OK","result":[{"good_id":"1""#));
    let answer = app
        .post("GetAllGoods", "rps_key=+secret+&hash=nonsense")
        .await;
    assert!(
        answer.body.starts_with(r#"{"error_code":0,"#),
        "{}",
        answer.body
    );
    app.post("GetAllGoods", "rpsKey=Secret")
        .await
        .assert_body(&envelope(4, "Incorrect hash", "secret"));
    // Parameters reach the method without the key.
    app.post("getOrderDetails", "bill_id=999999&rpsKey=secret")
        .await
        .assert_body(r#"{"error_code":400,"error_text":"Order not found","hash":"974fe4b56e9fba8dd2c6a45193193a0d"}"#);
}

#[tokio::test]
async fn a_body_of_only_the_hash_is_signed_over_the_empty_query() {
    let Some(app) = spawn_app().await else { return };
    let answer = app.post("GetAllGoods", SIGNED_GET_ALL_GOODS).await;
    assert!(answer
        .body
        .starts_with(r#"{"error_code":0,"error_text":"OK","result":["#));
}

#[tokio::test]
async fn custom_domains_and_any_port_select_the_tenant() {
    let Some(app) = spawn_app().await else { return };
    for host in [
        "demo.justclick.ru",
        "DEMO.JustClick.ru:443",
        "demo.localhost",
        "demo.localhost:8080",
        "demo.localhost.",
        "shop.example",
        "SHOP.EXAMPLE.:81",
    ] {
        let answer = app
            .post_host(host, "GetAllGoods", SIGNED_GET_ALL_GOODS)
            .await;
        assert!(
            answer.body.starts_with(r#"{"error_code":0,"#),
            "{host}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn tenants_are_isolated() {
    let Some(app) = spawn_app().await else { return };
    // An order of tenant `other` gets that tenant's first number, 1.
    let created = app
        .post_signed_host(
            "other.localhost",
            "other",
            "othersecret",
            "AddGood",
            "good_name=code1&good_type=0&good_title=Other&good_sum=5",
        )
        .await;
    created.assert_body(&envelope(0, "OK", "othersecret"));
    let order = app
        .post_signed_host(
            "other.localhost",
            "other",
            "othersecret",
            "CreateOrder",
            "bill_email=x%40example.com&goods[0][good_name]=code1",
        )
        .await;
    order.assert_body(&format!(
        r#"{{"error_code":0,"error_text":"Order created","result":{{"bill_id":"1"}},"hash":"{}"}}"#,
        clickbill_protocol::sign::response_hash(0, "Order created", "othersecret")
    ));
    // Neither tenant sees the other's order or catalogue.
    app.post_signed("getOrderDetails", "bill_id=1")
        .await
        .assert_body(&envelope(400, "Order not found", "secret"));
    app.post_signed("DeleteOrder", "bill_id=1")
        .await
        .assert_body(&envelope(200, "Nonexistent order", "secret"));
    app.post_signed("UpdateOrderStatus", "bill_id=1&status=cancel")
        .await
        .assert_body(&envelope(200, "Nonexistent order", "secret"));
    let created = app
        .post_signed(
            "CreateOrder",
            "bill_email=x%40example.com&goods[0][good_name]=code1",
        )
        .await;
    assert!(
        created.body.contains(r#""bill_id":"12344""#),
        "{}",
        created.body
    );
    app.post_signed_host(
        "other.localhost",
        "other",
        "othersecret",
        "getOrderDetails",
        "bill_id=12344",
    )
    .await
    .assert_body(&envelope(400, "Order not found", "othersecret"));
    let goods = app
        .post_signed_host("other.localhost", "other", "othersecret", "GetAllGoods", "")
        .await;
    assert!(goods.body.contains(r#""good_title":"Other""#));
    assert!(!goods.body.contains("code2"));
}
