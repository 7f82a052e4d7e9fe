//! The tenant cache follows the store; the server stops gracefully.

use crate::helpers::{add_tenant, envelope, signed, spawn_app};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn eventually<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the condition never held");
}

#[tokio::test]
async fn tenants_added_or_changed_later_are_picked_up() {
    let Some(app) = spawn_app().await else { return };
    add_tenant(app.store.inner.as_ref(), "late", "latesecret", true).await;
    eventually(|| async {
        app.post_host(
            "late.localhost",
            "GetAllGoods",
            signed("", "late", "latesecret"),
        )
        .await
        .body
            == envelope(700, "No products", "latesecret")
    })
    .await;

    let mut demo = app.demo.clone();
    demo.enabled = false;
    clickbill_domain::Store::save_tenant(app.store.as_ref(), &demo)
        .await
        .unwrap();
    eventually(|| async {
        app.post_signed("GetAllGoods", "").await.body == envelope(7, "Account disabled", "secret")
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let Some(mut app) = spawn_app().await else {
        return;
    };
    // A keep-alive connection that sits idle must not hold the shutdown up.
    let answer = app.post_signed("GetAllGoods", "").await;
    assert!(answer.body.starts_with(r#"{"error_code":0,"#));

    // A request whose body is only half sent when the shutdown starts.
    let body = signed("bill_id=999999", "demo", "secret");
    let (first, second) = body.split_at(10);
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/getOrderDetails HTTP/1.1\r\nHost: demo.localhost\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let store = app.store.clone();
    let stopping = tokio::spawn(async move {
        app.stop().await;
        app
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.write_all(second.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.ends_with(&envelope(400, "Order not found", "secret")),
        "{answer}"
    );

    let app = stopping.await.unwrap();
    assert!(tokio::net::TcpStream::connect(app.addr).await.is_err());
    // Nothing of the server holds the store any more: the test's two handles are all.
    assert_eq!(std::sync::Arc::strong_count(&store), 2);
}

#[tokio::test]
async fn the_tenant_cache_survives_store_faults() {
    let Some(app) = spawn_app().await else { return };
    use std::sync::atomic::Ordering;
    app.store.panicking.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.store.panicking.store(false, Ordering::SeqCst);
    app.store.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.store.failing.store(false, Ordering::SeqCst);
    add_tenant(app.store.inner.as_ref(), "late", "latesecret", true).await;
    eventually(|| async {
        app.post_host(
            "late.localhost",
            "GetAllGoods",
            signed("", "late", "latesecret"),
        )
        .await
        .body
            == envelope(700, "No products", "latesecret")
    })
    .await;
}
