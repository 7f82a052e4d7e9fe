//! The examples of SPEC §11.3, §13 and §14, replayed in document order against the fixture of
//! §11, with the recorded request bodies and the exact response bodies of the SPEC.

use crate::helpers::{history_of_11_3, spawn_app};

const OK: &str = r#"{"error_code":0,"error_text":"OK","hash":"b60bb23ab72ead13463d1205065965a5"}"#;

const CREATE_12345: &str = "bill_address=Lenina+1%2C+kv.+2&bill_city=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&bill_comment=Comment+%7E%21%2A%28%29%27&bill_email=client%40example.com&bill_first_name=%D0%98%D0%B2%D0%B0%D0%BD&bill_surname=Petrov&bill_phone=%2B77777777777&bill_tag=Tag&bill_timer_kill=1&utm%5Butm_source%5D=source&utm%5Butm_medium%5D=medium&utm%5Butm_campaign%5D=campaign&utm%5Butm_term%5D=term&goods%5B0%5D%5Bgood_name%5D=code1&goods%5B0%5D%5Bgood_sum%5D=1000&goods%5B1%5D%5Bgood_name%5D=code2&goods%5B1%5D%5Bgood_sum%5D=1999.5&bill_created=1700000000&hash=a40b3c4983c8b1b73927716674cfb9a3";

const DETAILS_12345: &str = r#"{"error_code":0,"error_text":"OK","result":{"id":"12345","first_name":"\u0418\u0432\u0430\u043d","last_name":"Petrov","middle_name":"","email":"client@example.com","phone":"+77777777777","city":"\u041c\u043e\u0441\u043a\u0432\u0430","country":"","address":"Lenina 1, kv. 2","region":"","postalcode":"","created":"1700000000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"Comment ~!*()'","domain":"","link":"\/bill\/?id=12345&crc=f88c7ebe4740db59","good_ids":["1","2"],"good_count":"2","price":"2999.50","bill_sum_topay":"2999.50","prepayment_enabled":"1","prepayment_minsum":"1000.00","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"Tag","kupon":"","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"medium","source":"source","campaign":"campaign","content":"","term":"term"},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"1000.00","price":"1000.00","pincode":"","partners":[]},{"id":"code2","title":"Video pack","sum":"1999.50","price":"2500.00","pincode":"","partners":[]}]},"hash":"b60bb23ab72ead13463d1205065965a5"}"#;

const INFO_12345: &str = r#"{"error_code":0,"error_text":"OK","result":[{"id":"12345","first_name":"\u0418\u0432\u0430\u043d","last_name":"Petrov","middle_name":"","email":"client@example.com","phone":"+77777777777","city":"\u041c\u043e\u0441\u043a\u0432\u0430","country":"","address":"Lenina 1, kv. 2","region":"","postalcode":"","created":"1700000000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"Comment ~!*()'","domain":"","link":"\/bill\/?id=12345&crc=f88c7ebe4740db59","price":"2999.50","bill_sum_topay":"2999.50","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"Tag","kupon":"","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"medium","source":"source","campaign":"campaign","content":"","term":"term"},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"1000.00","price":"1000.00","pincode":"","partners":[]},{"id":"code2","title":"Video pack","sum":"1999.50","price":"2500.00","pincode":"","partners":[]}]}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#;

#[tokio::test]
async fn history_of_11_3_leaves_order_12344_paid_with_partners() {
    let Some(app) = spawn_app().await else { return };
    history_of_11_3(&app).await;
    let answer = app.post_signed("getOrderDetails", "bill_id=12344").await;
    answer.assert_body(r#"{"error_code":0,"error_text":"OK","result":{"id":"12344","first_name":"Maria","last_name":"Ivanova","middle_name":"","email":"client@example.com","phone":"","city":"","country":"","address":"","region":"","postalcode":"","created":"1572678000","pay_status":"paid","paid":"1572681600","type":"0","payway":"RussianPostService","comment":"","domain":"shop.example","link":"http:\/\/shop.example\/bill\/?id=12344&crc=5a1c9153a4aafba3","price":"500.00","bill_sum_topay":"0.00","is_recurrent":"0","last_payment_sum":"500.00","prepayment_sum":"0.00","tag":"","kupon":"coupon50proc","delivery_status":"","delivery_date":"0","rpo":"","items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"500.00","price":"1000.00","pincode":"","partners":[{"partner_lvl":"1","partner_id":"17","partner_name":"anna","partner_fee":"50.00"},{"partner_lvl":"2","partner_id":"5","partner_name":"boris","partner_fee":"25.00"}]}]},"hash":"b60bb23ab72ead13463d1205065965a5"}"#);
}

#[tokio::test]
async fn examples_of_13_and_14_in_document_order() {
    let Some(app) = spawn_app().await else { return };
    history_of_11_3(&app).await;

    // §13.1.5
    app.post("CreateOrder", CREATE_12345).await.assert_body(r#"{"error_code":0,"error_text":"Order created","result":{"bill_id":"12345"},"hash":"d72287948e429b9fe09196a0bdab2490"}"#);
    app.post("CreateOrder", CREATE_12345).await.assert_body(r#"{"error_code":601,"error_text":"Order already exist. His number send in result array.","result":{"bill_id":"12345"},"hash":"e1aecc358582bec038d45b98bf5c8bcb"}"#);
    app.post(
        "CreateOrder",
        "bill_email=client%40example.com&bill_first_name=%D0%98%D0%B2%D0%B0%D0%BD&goods%5B0%5D%5Bgood_name%5D=book1&hash=a76f39ae52a6c4facbc6cac83670a73c",
    )
    .await
    .assert_body(r#"{"error_code":605,"error_text":"Not having any data for delivery products","hash":"dae5eddedbc7e8442332fcd5706f64d2"}"#);
    app.post(
        "CreateOrder",
        "bill_email=client%40example.com&goods%5B0%5D%5Bgood_name%5D=nosuch&hash=acef14ad17dc77f6e271e8d8cacd0a0c",
    )
    .await
    .assert_body(r#"{"error_code":604,"error_text":"Product not exist: nosuch","hash":"837d47c2bfe5d79b300ee5992ed465ba"}"#);
    app.post(
        "CreateOrder",
        "bill_email=client.example.com&goods%5B0%5D%5Bgood_name%5D=code1&hash=a9980ca065e1dd0be28bd3775cd2c13e",
    )
    .await
    .assert_body(r#"{"error_code":600,"error_text":"Wrong email: 'client.example.com'","hash":"45f0fa6e9d898ade36d976eec283b6d6"}"#);

    // §13.2
    app.post(
        "getOrderDetails",
        "bill_id=12345&good_info=1&hash=f780f460f995b8bd78e136e000a9c068",
    )
    .await
    .assert_body(DETAILS_12345);
    app.post(
        "getOrderDetails",
        "bill_id=999999&hash=53b09ff01355c2aa7eecf0a6ec3e78f4",
    )
    .await
    .assert_body(r#"{"error_code":400,"error_text":"Order not found","hash":"974fe4b56e9fba8dd2c6a45193193a0d"}"#);

    // §13.3
    app.post(
        "GetOrderInfo",
        "bill_id=12345&hash=07104f8da0d90446813c981b4359de06",
    )
    .await
    .assert_body(INFO_12345);

    // §13.7
    app.post(
        "UpdateOrderStatus",
        "bill_id=12345&status=sent&date=1700000000&rpo=RPO123&hash=7a138e21e0933bfc904ecd4dd537a0be",
    )
    .await
    .assert_body(OK);
    app.post(
        "UpdateOrderStatus",
        "bill_id=12345&status=cancel&date=1700000000&hash=0cb35345faceccc78a31984609cb696f",
    )
    .await
    .assert_body(OK);
    app.post(
        "UpdateOrderStatus",
        "bill_id=12345&status=shipped&hash=42f133460b6725d54b9f7c78d42d1575",
    )
    .await
    .assert_body(r#"{"error_code":201,"error_text":"Wrong status","hash":"c82a0239c3e81afe2f5f829ad426f48a"}"#);
    let details = app.post_signed("getOrderDetails", "bill_id=12345").await;
    assert!(
        details.body.contains(r#""pay_status":"cancel","#),
        "{}",
        details.body
    );
    assert!(
        details
            .body
            .contains(r#""delivery_status":"sent","delivery_date":"1700000000","rpo":"RPO123","#),
        "{}",
        details.body
    );

    // §13.8
    app.post(
        "DeleteOrder",
        "bill_id=12345&hash=07104f8da0d90446813c981b4359de06",
    )
    .await
    .assert_body(OK);
    app.post("DeleteOrder", "bill_id=&hash=7dcf8f004998caf7a00cc989e0f34936")
        .await
        .assert_body(r#"{"error_code":203,"error_text":"Order number is empty","hash":"09ed468ff92fc3f9ff3dbb510e5b6deb"}"#);
    app.post(
        "getOrderDetails",
        "bill_id=12345&good_info=1&hash=f780f460f995b8bd78e136e000a9c068",
    )
    .await
    .assert_body(r#"{"error_code":400,"error_text":"Order not found","hash":"974fe4b56e9fba8dd2c6a45193193a0d"}"#);

    // §14.1
    let add = "good_name=code3&good_type=0&good_title=E-book&good_sum=490&hash=ce9ce48e5e7856f1cc4a41892a21f8a1";
    app.post("AddGood", add).await.assert_body(OK);
    app.post("AddGood", add).await.assert_body(r#"{"error_code":301,"error_text":"Product already exist","hash":"442fa391ce5ec1c3bcdc73c538267e4e"}"#);
    // §14.2
    app.post(
        "UpdateGood",
        "good_name=code3&good_sum=590&hash=1941bed5cd973f0f6b7bfbb44c0ce4d9",
    )
    .await
    .assert_body(OK);
    let goods = app
        .post("GetAllGoods", "hash=07d7c258e970b0e2fd9c7694ed0046c8")
        .await;
    assert!(
        goods.body.contains(r#"{"good_id":"4","good_name":"code3","good_title":"E-book","good_type":"0","good_sum":"590.00"}"#),
        "{}",
        goods.body
    );
    // §14.3
    app.post(
        "DeleteGood",
        "good_name=code3&hash=a9388ad199ca94414cb20f247bea14e6",
    )
    .await
    .assert_body(OK);
    // §14.4
    app.post("GetAllGoods", "hash=07d7c258e970b0e2fd9c7694ed0046c8")
        .await
        .assert_body(r#"{"error_code":0,"error_text":"OK","result":[{"good_id":"1","good_name":"code1","good_title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","good_type":"0","good_sum":"1000.00"},{"good_id":"2","good_name":"code2","good_title":"Video pack","good_type":"0","good_sum":"2500.00"},{"good_id":"3","good_name":"book1","good_title":"Printed book","good_type":"1","good_sum":"1500.00"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#);
}

/// §13.7 *(illustration)*: refunding the paid order 12344.
#[tokio::test]
async fn moneyback_illustration_of_13_7() {
    let Some(app) = spawn_app().await else { return };
    history_of_11_3(&app).await;
    app.post(
        "UpdateOrderStatus",
        "bill_id=12344&status=moneyback&ext_ref_no=R-1&hash=500e69c1a1589cfe13e2373ff704c81e",
    )
    .await
    .assert_body(r#"{"error_code":0,"error_text":"Order status changed","hash":"02e23135caa1cecb2b62c77328c92c03"}"#);
    let details = app.post_signed("getOrderDetails", "bill_id=12344").await;
    assert!(
        details.body.contains(r#""pay_status":"moneyback","#),
        "{}",
        details.body
    );
}

/// The recorded requests of §5.4 all pass the common checks (with the fixture's history).
#[tokio::test]
async fn recorded_vectors_authenticate() {
    let Some(app) = spawn_app().await else { return };
    history_of_11_3(&app).await;
    let vectors = include_str!("../../../../testdata/vectors/real-client-requests.jsonl");
    let mut checked = 0;
    for line in vectors.lines().filter(|l| !l.trim().is_empty()) {
        let vector: serde_json::Value = serde_json::from_str(line).unwrap();
        if vector["hash_valid"] != serde_json::Value::Bool(true) {
            continue;
        }
        let method = vector["method"].as_str().unwrap();
        let body = vector["raw_body"].as_str().unwrap();
        let host = vector["host"].as_str().unwrap();
        let answer = app.post_host(host, method, body).await;
        assert_eq!(answer.status, 200, "{method}: {}", answer.body);
        for rejected in [
            "\"error_code\":1,",
            "\"error_code\":2,",
            "\"error_code\":4,",
            "\"error_code\":5,",
        ] {
            assert!(!answer.body.contains(rejected), "{method}: {}", answer.body);
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} vectors");
}
