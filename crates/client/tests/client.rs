//! The SDK against a tiny HTTP stub on 127.0.0.1: the exact bytes it sends, and what it accepts.

use clickbill_client::{
    Amount, Client, ClientError, CreateOrderOutcome, Data, GoodType, GoodUpdate, Key, NewGood,
    NewOrder, OrderGood, StatusUpdate, TimerKill,
};
use clickbill_protocol::sign::response_hash;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the stub received it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

type Reply = Box<dyn Fn(&Seen) -> (u16, Vec<u8>) + Send + Sync>;

/// An HTTP/1.1 server that records each request and answers it with `reply`, one request per
/// connection.
struct Stub {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    async fn start(reply: impl Fn(&Seen) -> (u16, Vec<u8>) + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reply: Arc<Reply> = Arc::new(Box::new(reply));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                let reply = Arc::clone(&reply);
                tokio::spawn(async move {
                    let _ = serve(stream, &log, &**reply).await;
                });
            }
        });
        Stub { addr, seen }
    }

    /// A stub that answers every request with the same status and body.
    async fn answering(status: u16, body: &str) -> Stub {
        let body = body.as_bytes().to_vec();
        Stub::start(move |_| (status, body.clone())).await
    }

    /// The base URL of tenant `demo` on this stub, under `.localhost`.
    fn url(&self) -> String {
        format!("http://demo.localhost:{}", self.addr.port())
    }

    fn client(&self) -> Client {
        Client::new(&self.url(), "demo", "secret").unwrap()
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn last(&self) -> Seen {
        self.requests().pop().expect("the stub received a request")
    }
}

async fn serve(
    mut stream: TcpStream,
    log: &Mutex<Vec<Seen>>,
    reply: &(dyn Fn(&Seen) -> (u16, Vec<u8>) + Send + Sync),
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let header_end = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = buffer[header_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let seen = Seen {
        method,
        target,
        headers,
        body,
    };
    log.lock().unwrap().push(seen.clone());
    let (status, body) = reply(&seen);
    let head = format!(
        "HTTP/1.1 {status} Stub\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await
}

/// A correctly signed envelope, as the server renders it (the text needs no JSON escaping).
fn envelope(code: i64, text: &str, result: Option<&str>, secret: &str) -> String {
    let result = result.map_or(String::new(), |r| format!(",\"result\":{r}"));
    format!(
        "{{\"error_code\":{code},\"error_text\":\"{text}\"{result},\"hash\":\"{}\"}}",
        response_hash(code, text, secret)
    )
}

/// The `getOrderDetails` answer of §13.2.
const ORDER_DETAILS: &str = r#"{"error_code":0,"error_text":"OK","result":{"id":"12345","first_name":"\u0418\u0432\u0430\u043d","last_name":"Petrov","middle_name":"","email":"client@example.com","phone":"+77777777777","city":"\u041c\u043e\u0441\u043a\u0432\u0430","country":"","address":"Lenina 1, kv. 2","region":"","postalcode":"","created":"1700000000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"Comment ~!*()'","domain":"","link":"\/bill\/?id=12345&crc=f88c7ebe4740db59","good_ids":["1","2"],"good_count":"2","price":"2999.50","bill_sum_topay":"2999.50","prepayment_enabled":"1","prepayment_minsum":"1000.00","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"Tag","kupon":"","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"medium","source":"source","campaign":"campaign","content":"","term":"term"},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"1000.00","price":"1000.00","pincode":"","partners":[]},{"id":"code2","title":"Video pack","sum":"1999.50","price":"2500.00","pincode":"","partners":[]}]},"hash":"b60bb23ab72ead13463d1205065965a5"}"#;

/// The `GetOrderInfo` answer of §13.3.
const ORDER_INFO: &str = r#"{"error_code":0,"error_text":"OK","result":[{"id":"12345","first_name":"\u0418\u0432\u0430\u043d","last_name":"Petrov","middle_name":"","email":"client@example.com","phone":"+77777777777","city":"\u041c\u043e\u0441\u043a\u0432\u0430","country":"","address":"Lenina 1, kv. 2","region":"","postalcode":"","created":"1700000000","pay_status":"waiting","paid":"0","type":"0","payway":"","comment":"Comment ~!*()'","domain":"","link":"\/bill\/?id=12345&crc=f88c7ebe4740db59","price":"2999.50","bill_sum_topay":"2999.50","is_recurrent":"0","last_payment_sum":"0.00","prepayment_sum":"0.00","tag":"Tag","kupon":"","delivery_status":"","delivery_date":"0","rpo":"","utm":{"medium":"medium","source":"source","campaign":"campaign","content":"","term":"term"},"items":[{"id":"code1","title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","sum":"1000.00","price":"1000.00","pincode":"","partners":[]},{"id":"code2","title":"Video pack","sum":"1999.50","price":"2500.00","pincode":"","partners":[]}]}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#;

/// The `GetAllGoods` answer of §14.4.
const ALL_GOODS: &str = r#"{"error_code":0,"error_text":"OK","result":[{"good_id":"1","good_name":"code1","good_title":"\u041e\u043d\u043b\u0430\u0439\u043d-\u043a\u0443\u0440\u0441","good_type":"0","good_sum":"1000.00"},{"good_id":"2","good_name":"code2","good_title":"Video pack","good_type":"0","good_sum":"2500.00"},{"good_id":"3","good_name":"book1","good_title":"Printed book","good_type":"1","good_sum":"1500.00"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#;

/// The request body of §13.1.5.
const CREATE_ORDER_BODY: &str = "bill_address=Lenina+1%2C+kv.+2&bill_city=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&bill_comment=Comment+%7E%21%2A%28%29%27&bill_email=client%40example.com&bill_first_name=%D0%98%D0%B2%D0%B0%D0%BD&bill_surname=Petrov&bill_phone=%2B77777777777&bill_tag=Tag&bill_timer_kill=1&utm%5Butm_source%5D=source&utm%5Butm_medium%5D=medium&utm%5Butm_campaign%5D=campaign&utm%5Butm_term%5D=term&goods%5B0%5D%5Bgood_name%5D=code1&goods%5B0%5D%5Bgood_sum%5D=1000&goods%5B1%5D%5Bgood_name%5D=code2&goods%5B1%5D%5Bgood_sum%5D=1999.5&bill_created=1700000000&hash=a40b3c4983c8b1b73927716674cfb9a3";

fn recorded_order() -> NewOrder {
    NewOrder::new()
        .address("Lenina 1, kv. 2")
        .city("Москва")
        .comment("Comment ~!*()'")
        .email("client@example.com")
        .first_name("Иван")
        .surname("Petrov")
        .phone("+77777777777")
        .tag("Tag")
        .timer_kill(TimerKill::ProductSetting)
        .utm_source("source")
        .utm_medium("medium")
        .utm_campaign("campaign")
        .utm_term("term")
        .good(OrderGood::new("code1").sum(1000))
        .good(OrderGood::new("code2").sum(1999.5))
        .created(1_700_000_000)
}

#[tokio::test]
async fn get_order_details_sends_the_worked_example_of_5_3() {
    let stub = Stub::answering(200, ORDER_DETAILS).await;
    let order = stub.client().get_order_details(102937, true).await.unwrap();

    let seen = stub.last();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.target, "/api/getOrderDetails");
    assert_eq!(
        seen.body_text(),
        "bill_id=102937&good_info=1&hash=4eac6352ed52a48d534d5ec421b4c5a4"
    );
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // The name, not the address, reaches the server: it selects the tenant (§3.2).
    assert_eq!(
        seen.header("host"),
        Some(format!("demo.localhost:{}", stub.addr.port()).as_str())
    );

    assert_eq!(order.id, "12345");
    assert_eq!(order.first_name, "Иван");
    assert_eq!(order.link, "/bill/?id=12345&crc=f88c7ebe4740db59");
    assert_eq!(order.good_ids, Some(vec!["1".to_owned(), "2".to_owned()]));
    assert_eq!(order.utm.as_ref().map(|u| u.term.as_str()), Some("term"));
    assert_eq!(order.items.len(), 2);
    assert_eq!(order.items[0].title, "Онлайн-курс");
    assert_eq!(order.items[1].pincode.as_deref(), Some(""));
}

#[tokio::test]
async fn create_order_sends_the_recorded_vector() {
    let stub = Stub::answering(
        200,
        r#"{"error_code":0,"error_text":"Order created","result":{"bill_id":"12345"},"hash":"d72287948e429b9fe09196a0bdab2490"}"#,
    )
    .await;
    let outcome = stub.client().create_order(&recorded_order()).await.unwrap();
    assert_eq!(outcome, CreateOrderOutcome::Created(12345));
    let seen = stub.last();
    assert_eq!(seen.target, "/api/CreateOrder");
    assert_eq!(seen.body_text(), CREATE_ORDER_BODY);
    assert_eq!(seen.header("idempotency-key"), None);
}

#[tokio::test]
async fn create_order_outcomes() {
    let stub = Stub::answering(
        200,
        r#"{"error_code":601,"error_text":"Order already exist. His number send in result array.","result":{"bill_id":"12345"},"hash":"e1aecc358582bec038d45b98bf5c8bcb"}"#,
    )
    .await;
    let order = recorded_order().idempotency_key("order-2023-11-15-0001");
    let outcome = stub.client().create_order(&order).await.unwrap();
    assert_eq!(outcome, CreateOrderOutcome::Duplicate(12345));
    assert_eq!(outcome.bill_id(), 12345);
    assert_eq!(
        stub.last().header("idempotency-key"),
        Some("order-2023-11-15-0001")
    );

    let stub = Stub::answering(
        200,
        r#"{"error_code":604,"error_text":"Product not exist: nosuch","hash":"837d47c2bfe5d79b300ee5992ed465ba"}"#,
    )
    .await;
    let order = NewOrder::new().email("client@example.com").good("nosuch");
    match stub.client().create_order(&order).await {
        Err(ClientError::Api { code, text, result }) => {
            assert_eq!(code, 604);
            assert_eq!(text, "Product not exist: nosuch");
            assert_eq!(result, None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        stub.last().body_text(),
        "bill_email=client%40example.com&goods%5B0%5D%5Bgood_name%5D=nosuch&hash=acef14ad17dc77f6e271e8d8cacd0a0c"
    );

    // A success without the documented result is not silently turned into an order number.
    let stub = Stub::answering(200, &envelope(0, "Order created", None, "secret")).await;
    assert!(matches!(
        stub.client().create_order(&order).await,
        Err(ClientError::UnexpectedResult { .. })
    ));
}

#[tokio::test]
async fn tampered_answers_are_rejected() {
    let order_created = r#"{"error_code":0,"error_text":"Order created","result":{"bill_id":"12345"},"hash":"d72287948e429b9fe09196a0bdab2490"}"#;
    let forgeries = [
        // Another text under the original hash.
        order_created.replace("Order created", "Order created!"),
        // Another code under the original hash.
        order_created.replace("\"error_code\":0", "\"error_code\":601"),
        // A hash computed with another secret.
        envelope(0, "Order created", Some(r#"{"bill_id":"1"}"#), "guess"),
        // Upper-case hex is not the digest (§5.2 step 4 applies to answers too).
        order_created.replace(
            "d72287948e429b9fe09196a0bdab2490",
            "D72287948E429B9FE09196A0BDAB2490",
        ),
    ];
    for body in forgeries {
        let stub = Stub::answering(200, &body).await;
        let client = stub.client();
        match client.create_order(&recorded_order()).await {
            Err(ClientError::BadResponseHash { body: sent, .. }) => {
                assert_eq!(sent, body.as_bytes())
            }
            other => panic!("{body}: {other:?}"),
        }
        assert!(
            matches!(
                client.call("GetAllGoods", vec![]).await,
                Err(ClientError::BadResponseHash { .. })
            ),
            "{body}"
        );
    }

    // An unsigned answer is no answer.
    let stub = Stub::answering(200, r#"{"error_code":0,"error_text":"OK"}"#).await;
    assert!(matches!(
        stub.client().delete_order(12345).await,
        Err(ClientError::BadJson { .. })
    ));
    let stub = Stub::answering(200, "<html>proxy error</html>").await;
    assert!(matches!(
        stub.client().delete_order(12345).await,
        Err(ClientError::BadJson { .. })
    ));
}

#[tokio::test]
async fn the_generic_call_returns_verified_answers_of_any_code() {
    let body = r#"{"error_code":400,"error_text":"Order not found","hash":"974fe4b56e9fba8dd2c6a45193193a0d"}"#;
    let stub = Stub::answering(200, body).await;
    let params = vec![(Key::from("bill_id"), Data::from("999999"))];
    let response = stub.client().call("getOrderDetails", params).await.unwrap();
    assert_eq!(response.error_code, 400);
    assert_eq!(response.error_text, "Order not found");
    assert_eq!(response.result, None);
    assert_eq!(response.status, 200);
    assert_eq!(response.method, "getOrderDetails");
    assert_eq!(response.body, body.as_bytes());
    assert!(!response.is_success());
    assert_eq!(
        stub.last().body_text(),
        "bill_id=999999&hash=53b09ff01355c2aa7eecf0a6ec3e78f4"
    );
    match stub.client().get_order_details(999999, false).await {
        Err(error @ ClientError::Api { .. }) => assert_eq!(error.api_code(), Some(400)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn invalid_user_name_is_signed_with_the_empty_secret() {
    let stub = Stub::answering(
        200,
        r#"{"error_code":5,"error_text":"Invalid user name","hash":"ca1d0e11a47db2f77cca68545d853090"}"#,
    )
    .await;
    match stub.client().get_all_goods().await {
        Err(ClientError::Api { code: 5, text, .. }) => assert_eq!(text, "Invalid user name"),
        other => panic!("{other:?}"),
    }
    // Only code 5 may be signed that way.
    let stub = Stub::answering(200, &envelope(0, "OK", Some("[]"), "")).await;
    assert!(matches!(
        stub.client().get_all_goods().await,
        Err(ClientError::BadResponseHash { .. })
    ));
}

#[tokio::test]
async fn other_http_statuses() {
    let unknown = r#"{"error_code":3,"error_text":"Unknown method: GetEverything","hash":"f5541399b3a240df201c43893af12c66"}"#;
    let stub = Stub::answering(404, unknown).await;
    match stub.client().call("GetEverything", vec![]).await {
        Err(error @ ClientError::HttpStatus { .. }) => {
            assert_eq!(error.api_code(), Some(3));
            let ClientError::HttpStatus {
                status, envelope, ..
            } = error
            else {
                unreachable!()
            };
            assert_eq!(status, 404);
            assert_eq!(
                envelope.unwrap().error_text,
                "Unknown method: GetEverything"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(stub.last().target, "/api/GetEverything");

    // A body that does not verify is kept, but not presented as the server's envelope.
    let stub = Stub::answering(409, &envelope(3, "forged", None, "guess")).await;
    match stub.client().call("GetAllGoods", vec![]).await {
        Err(ClientError::HttpStatus {
            status: 409,
            envelope: None,
            body,
            ..
        }) => assert!(!body.is_empty()),
        other => panic!("{other:?}"),
    }

    // The API never redirects; a redirect is reported, not followed with the signed body.
    let stub = Stub::answering(302, "").await;
    assert!(matches!(
        stub.client().delete_order(1).await,
        Err(ClientError::HttpStatus { status: 302, .. })
    ));
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn the_api_2_key_travels_instead_of_a_hash() {
    let stub = Stub::answering(200, &envelope(0, "OK", Some("[]"), "secret")).await;
    let params = vec![
        (Key::from("email"), Data::from("lead+1@example.com")),
        (Key::from("tag"), Data::from("vip")),
    ];
    let response = stub
        .client()
        .call_with_key("addtagtolead", params)
        .await
        .unwrap();
    assert_eq!(response.result, Some(serde_json::json!([])));
    let seen = stub.last();
    assert_eq!(seen.target, "/api/addtagtolead");
    assert_eq!(
        seen.body_text(),
        "email=lead%2B1%40example.com&tag=vip&rpsKey=secret"
    );
}

#[tokio::test]
async fn order_lookups_and_updates() {
    let stub = Stub::answering(200, ORDER_INFO).await;
    let order = stub
        .client()
        .get_order_info(12345, false, false)
        .await
        .unwrap();
    assert_eq!(order.id, "12345");
    assert_eq!(order.good_ids, None);
    assert_eq!(
        stub.last().body_text(),
        "bill_id=12345&hash=07104f8da0d90446813c981b4359de06"
    );
    stub.client()
        .get_order_info(12345, true, true)
        .await
        .unwrap();
    let seen = stub.last();
    assert_eq!(seen.target, "/api/GetOrderInfo");
    assert!(seen
        .body_text()
        .starts_with("bill_id=12345&good_info=1&payway_name=1&hash="));

    let stub = Stub::answering(200, &envelope(0, "OK", Some("[]"), "secret")).await;
    assert!(matches!(
        stub.client().get_order_info(12345, false, false).await,
        Err(ClientError::UnexpectedResult { .. })
    ));

    let stub = Stub::answering(
        200,
        r#"{"error_code":0,"error_text":"Order status changed","hash":"02e23135caa1cecb2b62c77328c92c03"}"#,
    )
    .await;
    let refund = StatusUpdate::Moneyback {
        ext_ref_no: "R-1".into(),
    };
    stub.client()
        .update_order_status(12344, &refund)
        .await
        .unwrap();
    let seen = stub.last();
    assert_eq!(seen.target, "/api/UpdateOrderStatus");
    assert_eq!(
        seen.body_text(),
        "bill_id=12344&status=moneyback&ext_ref_no=R-1&hash=500e69c1a1589cfe13e2373ff704c81e"
    );
    let paid = StatusUpdate::Paid {
        date: 1_700_125_200,
        sum: Some(Amount::from(1000)),
        payway: None,
    };
    stub.client()
        .update_order_status(12346, &paid)
        .await
        .unwrap();
    assert_eq!(
        stub.last().body_text(),
        "bill_id=12346&status=paid&date=1700125200&sum=1000&hash=c5dcc9fff84b78fba3114eebcc925fc8"
    );

    let stub = Stub::answering(
        200,
        r#"{"error_code":201,"error_text":"Wrong status","hash":"c82a0239c3e81afe2f5f829ad426f48a"}"#,
    )
    .await;
    assert_eq!(
        stub.client()
            .update_order_status(12345, &StatusUpdate::Cancel)
            .await
            .unwrap_err()
            .api_code(),
        Some(201)
    );

    let stub = Stub::answering(200, &envelope(0, "OK", None, "secret")).await;
    stub.client().delete_order(12345).await.unwrap();
    let seen = stub.last();
    assert_eq!(seen.target, "/api/DeleteOrder");
    assert_eq!(
        seen.body_text(),
        "bill_id=12345&hash=07104f8da0d90446813c981b4359de06"
    );
}

#[tokio::test]
async fn product_methods() {
    let stub = Stub::answering(200, &envelope(0, "OK", None, "secret")).await;
    let client = stub.client();
    client
        .add_good(&NewGood::new("code3", "E-book", 490, GoodType::Digital))
        .await
        .unwrap();
    client
        .update_good(&GoodUpdate::new("code3").sum(590))
        .await
        .unwrap();
    client.delete_good("code3").await.unwrap();
    let seen: Vec<(String, String)> = stub
        .requests()
        .iter()
        .map(|s| (s.target.clone(), s.body_text().to_owned()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "/api/AddGood".to_owned(),
                "good_name=code3&good_type=0&good_title=E-book&good_sum=490&hash=ce9ce48e5e7856f1cc4a41892a21f8a1".to_owned()
            ),
            (
                "/api/UpdateGood".to_owned(),
                "good_name=code3&good_sum=590&hash=1941bed5cd973f0f6b7bfbb44c0ce4d9".to_owned()
            ),
            (
                "/api/DeleteGood".to_owned(),
                "good_name=code3&hash=a9388ad199ca94414cb20f247bea14e6".to_owned()
            ),
        ]
    );

    let stub = Stub::answering(
        200,
        r#"{"error_code":301,"error_text":"Product already exist","hash":"442fa391ce5ec1c3bcdc73c538267e4e"}"#,
    )
    .await;
    let error = stub
        .client()
        .add_good(&NewGood::new("code3", "E-book", 490, GoodType::Digital))
        .await
        .unwrap_err();
    assert_eq!(error.api_code(), Some(301));
    assert_eq!(error.to_string(), "API error 301: Product already exist");

    let stub = Stub::answering(200, ALL_GOODS).await;
    let goods = stub.client().get_all_goods().await.unwrap();
    assert_eq!(
        goods
            .iter()
            .map(|g| (
                g.good_name.as_str(),
                g.good_type.as_str(),
                g.good_sum.as_str()
            ))
            .collect::<Vec<_>>(),
        [
            ("code1", "0", "1000.00"),
            ("code2", "0", "2500.00"),
            ("book1", "1", "1500.00")
        ]
    );
    let seen = stub.last();
    assert_eq!(seen.target, "/api/GetAllGoods");
    assert_eq!(seen.body_text(), "hash=07d7c258e970b0e2fd9c7694ed0046c8");

    let stub = Stub::answering(200, &envelope(700, "No products", None, "secret")).await;
    assert_eq!(stub.client().get_all_goods().await.unwrap(), vec![]);
}

#[tokio::test]
async fn localhost_names_resolve_to_loopback() {
    let stub = Stub::answering(200, &envelope(0, "OK", None, "secret")).await;
    let port = stub.addr.port();
    for (base, host) in [
        (
            format!("http://demo.localhost:{port}"),
            format!("demo.localhost:{port}"),
        ),
        (
            format!("http://Shop.Demo.LOCALHOST:{port}/"),
            format!("shop.demo.localhost:{port}"),
        ),
        (
            format!("http://localhost:{port}"),
            format!("localhost:{port}"),
        ),
    ] {
        let client = Client::new(&base, "demo", "secret").unwrap();
        client.delete_order(1).await.unwrap();
        assert_eq!(stub.last().header("host"), Some(host.as_str()), "{base}");
    }
    // A custom reqwest builder keeps the loopback resolution.
    let client = Client::builder(&stub.url(), "demo", "secret")
        .reqwest_builder(reqwest::Client::builder())
        .user_agent("custom/1")
        .build()
        .unwrap();
    client.delete_order(1).await.unwrap();
    assert_eq!(stub.last().header("user-agent"), Some("custom/1"));
}

#[tokio::test]
async fn limits_and_timeouts() {
    let big = envelope(
        0,
        "OK",
        Some(&format!("[\"{}\"]", "x".repeat(10_000))),
        "secret",
    );
    let stub = Stub::answering(200, &big).await;
    let client = Client::builder(&stub.url(), "demo", "secret")
        .max_response_bytes(1_000)
        .build()
        .unwrap();
    assert!(matches!(
        client.call("GetAllGoods", vec![]).await,
        Err(ClientError::ResponseTooLarge { limit: 1_000, .. })
    ));

    // A server that accepts the connection but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let client = Client::builder(&format!("http://demo.localhost:{port}"), "demo", "secret")
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    match client.delete_order(1).await {
        Err(ClientError::Transport { source, .. }) => assert!(source.is_timeout(), "{source}"),
        other => panic!("{other:?}"),
    }
    hold.abort();
}
